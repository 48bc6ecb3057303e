"""Statistics of spike trains: rates, inter-spike intervals, their variability.

Spike trains are given as ``(neuron, time_ms)`` pairs, the format peer
simulators such as Brian2 return; `times_from_raster` converts a recorded
``(steps, n)`` 0/1 raster of a brainsim run into it.
"""

from __future__ import annotations

import numpy as np


def times_from_raster(raster, dt: float, t0: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """``(neuron, time_ms)`` of every spike of a ``(steps, n)`` raster; step ``k`` is at ``t0 + k dt``."""
    step, neuron = np.nonzero(np.asarray(raster))
    order = np.lexsort((step, neuron))
    return neuron[order], t0 + step[order] * dt


def mean_rate(neuron, n: int, duration_ms: float) -> float:
    """Mean firing rate (Hz) of ``n`` neurons over ``duration_ms``."""
    return len(np.asarray(neuron)) / n / (duration_ms / 1000.0)


def isi_cv(neuron, time_ms, min_spikes: int = 3) -> float:
    """Mean over neurons of the coefficient of variation of inter-spike intervals.

    ``CV = std(ISI) / mean(ISI)`` per neuron with at least ``min_spikes``
    spikes (so at least two intervals); NaN when no neuron qualifies.
    """
    neuron, time_ms = np.asarray(neuron), np.asarray(time_ms, np.float64)
    order = np.lexsort((time_ms, neuron))
    neuron, time_ms = neuron[order], time_ms[order]
    same = neuron[1:] == neuron[:-1]
    isi, owner = np.diff(time_ms)[same], neuron[1:][same]
    counts = np.bincount(owner)
    keep = counts >= min_spikes - 1
    if not keep.any():
        return float("nan")
    total = np.bincount(owner, isi, minlength=len(counts))
    square = np.bincount(owner, isi * isi, minlength=len(counts))
    mean = total[keep] / counts[keep]
    var = square[keep] / counts[keep] - mean * mean
    return float(np.mean(np.sqrt(np.maximum(var, 0.0)) / mean))
