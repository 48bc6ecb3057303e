"""Figures for the questions users ask of a run.

Every function takes numpy arrays (time first), draws on ``ax`` (a new axes
when ``None``) and returns the axes, so panels compose into any figure.
"""

from __future__ import annotations

import collections

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


def connectome(brain, ax=None, positions=None, dt=None):
    """Regions as nodes, projections as arrows labelled with their kind and delay.

    Drawn from the model itself, so the diagram of an experiment is always the
    model that ran. ``brain`` is a `Connectome` (delays as given, in ms or
    steps) or a built `Network` (delays in steps, shown in ms with its ``dt``
    or the ``dt`` given). Nodes sit on a circle unless ``positions`` maps
    region names to ``(x, y)``; arrows between the same two regions bend apart,
    and a projection of a region onto itself is a loop above it.
    """
    import matplotlib.patches as patches

    ax = _axes(ax)
    names = list(brain.regions)
    if positions is None:
        angle = np.pi / 2 - 2 * np.pi * np.arange(len(names)) / max(len(names), 1)
        positions = {n: (np.cos(a), np.sin(a)) for n, a in zip(names, angle)}
    missing = sorted(set(names) - set(positions))
    if missing:
        raise ValueError(f"positions lacks regions {missing}")
    step_ms = dt if dt is not None else getattr(brain, "dt", None)
    pairs = collections.Counter((p.src, p.dst) for p in brain.projections)
    seen = collections.Counter()
    for p in brain.projections:
        label = f"{p.kind.label}, {_delay_label(p, step_ms)}"
        if pairs[p.src, p.dst] > 1:  # several projections between the same two regions: name the ports
            label = f"{p.src_port} -> {p.dst_port}: {label}"
        nth = seen[p.src, p.dst]
        seen[p.src, p.dst] += 1
        (x0, y0), (x1, y1) = positions[p.src], positions[p.dst]
        if p.src == p.dst:
            ax.add_patch(patches.Arc((x0, y0 + 0.16), 0.22, 0.22, theta1=-60, theta2=240, lw=1.0))
            ax.annotate(label, (x0, y0 + 0.3 + 0.1 * nth), ha="center", fontsize="x-small")
            continue
        bend = 0.15 + 0.3 * nth  # the n-th arrow of a pair bends further out
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops=dict(arrowstyle="-|>", lw=1.0, shrinkA=14, shrinkB=14,
                                    connectionstyle=f"arc3,rad={bend}"))
        # the label sits beside the bent arrow's middle, on the side it bends to (arc3 puts
        # its control point at the middle plus rad * (dy, -dx))
        mx, my = (x0 + x1) / 2, (y0 + y1) / 2
        nx, ny = y1 - y0, x0 - x1
        ax.annotate(label, (mx + bend * 0.55 * nx, my + bend * 0.55 * ny), ha="center", va="center",
                    fontsize="x-small")
    for name in names:
        x, y = positions[name]
        ax.annotate(name, (x, y), ha="center", va="center", fontsize="small",
                    bbox=dict(boxstyle="round", fc="white", ec="0.3"))
    xs, ys = np.array([positions[n] for n in names]).T if names else (np.zeros(1), np.zeros(1))
    ax.set_xlim(xs.min() - 0.5, xs.max() + 0.5)
    ax.set_ylim(ys.min() - 0.5, ys.max() + 0.6)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def _delay_label(p, step_ms) -> str:
    """A projection's delay as text: ms if known, steps otherwise (the longest for per-edge)."""
    per_edge = p.edge_delay is not None or p.edge_delay_ms is not None
    prefix = "<= " if per_edge else ""
    if p.delay_ms is not None and p.delay is None:
        kind = "lag " if p.lag else ""
        return f"{kind}{prefix}{p.delay_ms:g} ms"
    if step_ms is not None:
        return f"{prefix}{p.delay} steps ({p.delay * step_ms:g} ms)" if p.delay != 1 else \
            f"{prefix}1 step ({step_ms:g} ms)"
    return f"{prefix}{p.delay} step" + ("" if p.delay == 1 else "s")
