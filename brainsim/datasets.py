"""Structural connectivities in The Virtual Brain's zip format.

A TVB connectivity zip holds ``weights.txt`` and ``tract_lengths.txt``
(``N x N``, row = target node, lengths in mm), ``centres.txt`` (a label and
x, y, z per node) and optionally ``cortical.txt`` (1 for cortical nodes). The
``tvb-data`` package (``pip install brainsim[tvb]``) ships several, e.g.
``connectivity_76`` (Kötter & Wanke regions), ``connectivity_96`` and
``connectivity_192``, which include thalamic (``TM-*``) and basal-ganglia
(``BG-*``) nodes.
"""

from __future__ import annotations

import dataclasses
import io
import zipfile
from pathlib import Path

import numpy as np


@dataclasses.dataclass(frozen=True)
class Connectivity:
    """A structural connectivity as TVB stores it: ``weights[i, j]`` from node ``j``
    to node ``i`` (row = target), the transpose of brainsim's source x target;
    `connectome` turns it the right way round."""

    weights: np.ndarray
    tract_lengths: np.ndarray  # mm
    labels: tuple[str, ...]
    centres: np.ndarray  # (N, 3), mm
    cortical: np.ndarray  # (N,) bool

    def connectome(self, **kwargs):
        """`brainsim.Connectome.from_matrix` of these nodes (weights and lengths
        transposed to source x target); ``kwargs`` go to ``from_matrix``."""
        from brainsim.whole_brain import from_matrix

        return from_matrix(self.weights.T, self.tract_lengths.T, self.labels, **kwargs)


def load_tvb_connectivity(name_or_path: str | Path = "connectivity_76") -> Connectivity:
    """Load a TVB connectivity zip, by file path or by name from ``tvb-data``."""
    path = Path(name_or_path)
    if path.suffix != ".zip":
        path = _tvb_data_file(str(name_or_path))
    if not path.exists():
        raise FileNotFoundError(f"no connectivity zip at {path}")
    with zipfile.ZipFile(path) as archive:
        files = {Path(name).name: name for name in archive.namelist()}
        missing = {"weights.txt", "tract_lengths.txt", "centres.txt"} - set(files)
        if missing:
            raise ValueError(f"{path} is not a TVB connectivity: it lacks {sorted(missing)}")

        def text(name):
            return archive.read(files[name]).decode()

        weights = np.loadtxt(io.StringIO(text("weights.txt")))
        lengths = np.loadtxt(io.StringIO(text("tract_lengths.txt")))
        rows = [line.split() for line in text("centres.txt").splitlines() if line.strip()]
        cortical = (
            np.loadtxt(io.StringIO(text("cortical.txt"))).astype(bool)
            if "cortical.txt" in files else np.ones(len(rows), bool)
        )
    n = len(rows)
    if weights.shape != (n, n) or lengths.shape != (n, n):
        raise ValueError(
            f"{path}: {n} centres but weights {weights.shape} and tract lengths {lengths.shape}"
        )
    return Connectivity(
        weights=weights,
        tract_lengths=lengths,
        labels=tuple(r[0] for r in rows),
        centres=np.array([[float(v) for v in r[1:4]] for r in rows]),
        cortical=cortical,
    )


def _tvb_data_file(name: str) -> Path:
    try:
        import tvb_data.connectivity as shipped
    except ImportError:
        raise ImportError(
            f"loading {name!r} by name needs the tvb-data package: pip install 'brainsim[tvb]'"
        ) from None
    return Path(shipped.__file__).parent / f"{name}.zip"
