"""Figures for the questions users ask of a run.

Every function takes numpy arrays (time first), draws on ``ax`` (a new axes
when ``None``) and returns the axes, so panels compose into any figure.
"""

from __future__ import annotations

import numpy as np


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def traces(time_ms, values, labels=None, ax=None, ylabel="activity"):
    """Line plot of one or more signals over time.

    Args:
      time_ms: ``(T,)`` times in ms.
      values: ``(T,)`` or ``(T, k)`` signals.
      labels: ``k`` legend labels.
    """
    ax = _axes(ax)
    values = np.asarray(values).reshape(len(time_ms), -1)
    for i in range(values.shape[1]):
        ax.plot(time_ms, values[:, i], label=None if labels is None else labels[i], lw=1.2)
    if labels is not None:
        ax.legend(frameon=False, fontsize="small")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(ylabel)
    return ax


def heatmap(time_ms, rates, ax=None, label="rate", cmap="viridis"):
    """Units x time image of a ``(T, N)`` activity array, with a colorbar."""
    ax = _axes(ax)
    rates = np.asarray(rates)
    image = ax.imshow(
        rates.T, aspect="auto", origin="lower", cmap=cmap, interpolation="nearest",
        extent=(float(time_ms[0]), float(time_ms[-1]), -0.5, rates.shape[1] - 0.5),
    )
    ax.figure.colorbar(image, ax=ax, label=label)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("unit")
    return ax


def raster(times_ms, ids, ax=None, size=2.0):
    """Spike raster from ``(times_ms, ids)`` pairs of equal length."""
    ax = _axes(ax)
    ax.scatter(np.asarray(times_ms), np.asarray(ids), s=size, marker="|", color="k")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron")
    return ax
