"""Sign vectors for populations that obey Dale's law."""

from __future__ import annotations

import numpy as np


def dale_signs(n: int, exc_fraction: float | None) -> np.ndarray | None:
    """Signs of ``n`` units: the first ``round(exc_fraction * n)`` are +1, the rest -1.

    Returns ``None`` when ``exc_fraction`` is ``None`` (no sign constraint).
    """
    if exc_fraction is None:
        return None
    n_exc = int(round(exc_fraction * n))
    signs = -np.ones(n, dtype=np.float32)
    signs[:n_exc] = 1.0
    return signs


def check_exc_fraction(exc_fraction: float | None) -> None:
    """Raise a clear error unless ``exc_fraction`` is None or in [0, 1]."""
    if exc_fraction is not None and not 0.0 <= exc_fraction <= 1.0:
        raise ValueError(f"exc_fraction must lie in [0, 1], got {exc_fraction}")
