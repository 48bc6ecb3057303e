"""The one progress bar of long runs, sweeps and training: tqdm, between compiled calls.

A bar is shown when asked (``progress=True``), or by default when standard
error is a terminal; it never enters a compiled function (that would break
under vmap and recompile).
"""

from __future__ import annotations

import sys

from tqdm import tqdm


def progress_bar(total: int, desc: str, unit: str = "step", show: bool | None = None,
                 initial: int = 0) -> tqdm:
    """A tqdm bar of ``total`` units; ``show=None`` means: on a terminal."""
    enabled = sys.stderr.isatty() if show is None else bool(show)
    return tqdm(total=total, initial=initial, desc=f"brainsim {desc}", unit=unit, disable=not enabled)
