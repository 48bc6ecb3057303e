"""Output folders of experiments: metrics, config and provenance.

Every run folder holds ``run.json`` (experiment name, seed, config, brainsim
/ jax / numpy / Python versions, git revision when available, start time)
and ``metrics.json``, so a figure can always be traced back to what made it.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import os
import platform
import subprocess
import tempfile
from pathlib import Path
from typing import Callable

import jax
import numpy as np


def provenance() -> dict:
    """Versions, platform and git revision of the running code."""
    import brainsim

    return {
        "brainsim": brainsim.__version__,
        "jax": jax.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "backend": jax.default_backend(),
        "git_revision": _git_revision(),
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def start(out_dir: str | os.PathLike, experiment: str, config) -> Path:
    """Create ``out_dir`` and write its ``run.json``; return the folder."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    record = {"experiment": experiment, "config": dataclasses.asdict(config), **provenance()}
    write_json(out / "run.json", record)
    return out


def config_digest(config, ignore=("seed", "seeds")) -> str:
    """A short digest of a config's fields (all but ``ignore``). It names the folder where a run
    keeps the parts it has finished, so that an interrupted run resumes them and a changed config
    starts afresh."""
    fields = {k: v for k, v in dataclasses.asdict(config).items() if k not in ignore}
    return hashlib.sha1(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:12]


def cached(path: str | os.PathLike, compute: Callable[[], dict]) -> dict:
    """``compute()``, kept in ``path`` as JSON (written atomically): read back instead when the
    file is there. For the parts of a long run (one seed, one condition), so that nothing finished
    is lost when the run is interrupted. Arrays come back as lists."""
    path = Path(path)
    if path.exists():
        return json.loads(path.read_text())
    result = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, result)
    return result


def write_json(path: Path, data) -> None:
    """Write ``data`` as JSON atomically (a temporary file, then a rename)."""
    text = json.dumps(data, indent=2, sort_keys=True, default=_to_builtin) + "\n"
    atomic_write(Path(path), text.encode())


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a synced temporary file and a rename.

    The file gets the mode any new file gets (``0o666`` less the umask), not
    the ``0o600`` of a temporary file.
    """
    path = Path(path)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".tmp") as f:
        try:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), 0o666 & ~current_umask())
            os.fsync(f.fileno())
        except BaseException:
            os.unlink(f.name)
            raise
    os.replace(f.name, path)


def current_umask() -> int:
    """The process's umask (read without changing it where ``/proc`` allows)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _to_builtin(value):
    if isinstance(value, (np.generic, np.ndarray, jax.Array)):
        return np.asarray(value).tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def _git_revision() -> str | None:
    try:
        here = Path(__file__).resolve().parent
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None
