"""Whole-brain Hopf model on a TVB connectivity: FC against SC, with delays.

76 Stuart-Landau oscillators (10 Hz, just below the Hopf bifurcation, noise
driven) are coupled through the 76-region macaque-based connectivity that
the tvb-data package ships, with conduction delays from tract length /
speed (Deco et al. 2017 style model; TVB's data). Functional connectivity
(FC, correlation of the nodes' x over time) is compared with structural
connectivity (SC, the weights) by the Pearson correlation of their upper
triangles, in three conditions with paired seeds:

- realistic conduction (``speed`` mm/ms, 3 m/s by default);
- near-instantaneous conduction (1,000 m/s): delays removed;
- control: the same dynamics on a node-shuffled SC, whose FC must not
  correlate with the true SC.

At 10 Hz a few tens of ms of delay scramble the oscillators' phases, so
delays are expected to weaken the FC-SC correlation.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import numpy as np

import brainsim as bs
from brainsim.datasets import load_tvb_connectivity


@dataclasses.dataclass(frozen=True)
class Config:
    """Connectivity, node dynamics and duration of the whole-brain run."""

    seed: int = 0
    connectivity: str = "connectivity_76"
    dt: float = 1.0
    duration_ms: float = 60_000.0
    transient_ms: float = 5_000.0
    every: int = 5
    speed: float = 3.0
    bifurcation: float = -0.02
    coupling: float = 0.9  # G as a fraction of the stability limit |a| / lambda_max(W)
    chunk: int = 10_000


def simulate(c: Config, weights, lengths, labels, speed) -> np.ndarray:
    """x of every node, ``(time, node)``, after the transient."""
    # TVB's matrices are target x source; brainsim's are source x target
    net = bs.build(bs.Connectome.from_matrix(weights.T, lengths.T, labels, speed=speed), dt=c.dt)
    lam = float(np.max(np.real(np.linalg.eigvals(weights))))
    overrides = {"nodes.a": c.bifurcation, "nodes.G": c.coupling * abs(c.bifurcation) / lam}
    key = jax.random.key(c.seed)
    start = net.init(key, overrides)[1]["regions"]["nodes"]
    # the delay lines start from the initial state, as if the nodes had sat there (not from zeros)
    params, state = net.init(key, overrides, history={"nodes.x": start["x"], "nodes.y": start["y"]})
    steps = int(round(c.duration_ms / c.dt)) // c.every * c.every
    chunk = max(c.every, c.chunk // c.every * c.every)
    _, trace = net.run(params, state, steps, record=["nodes.x"], every=c.every, chunk=chunk,
                       check_finite=True)
    skip = int(round(c.transient_ms / c.dt)) // c.every
    return np.asarray(trace["nodes.x"])[skip:]


def fc_sc_correlation(x, sc) -> tuple[np.ndarray, float]:
    fc = np.corrcoef(x.T)
    upper = np.triu_indices_from(sc, 1)
    return fc, float(np.corrcoef(fc[upper], sc[upper])[0, 1])


def run(c: Config, out: Path) -> dict:
    conn = load_tvb_connectivity(c.connectivity)
    sc = conn.weights / conn.weights.max()
    order = np.random.default_rng(c.seed).permutation(len(sc))
    shuffled = sc[np.ix_(order, order)]
    conditions = {
        "delays": (sc, c.speed),
        "no_delays": (sc, 1000.0),
        "shuffled_sc": (shuffled, c.speed),
    }
    metrics, fcs = {}, {}
    for name, (weights, speed) in conditions.items():
        x = simulate(c, weights, conn.tract_lengths, conn.labels, speed)
        fcs[name], metrics[f"r_fc_sc_{name}"] = fc_sc_correlation(x, sc)
    delays = conn.tract_lengths[sc > 0] / c.speed
    metrics["mean_delay_ms"] = float(delays.mean())
    metrics["max_delay_ms"] = float(delays.max())
    _figure(sc, fcs, metrics, out / "whole_brain.png")
    for name in conditions:
        print(f"FC-SC correlation, {name:12s}: r = {metrics[f'r_fc_sc_{name}']:.3f}")
    print(f"delays: mean {metrics['mean_delay_ms']:.1f} ms, max {metrics['max_delay_ms']:.1f} ms")
    return metrics


def _figure(sc, fcs, metrics, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(13, 8), constrained_layout=True)
    image = axes[0, 0].imshow(sc, cmap="magma")
    fig.colorbar(image, ax=axes[0, 0])
    axes[0, 0].set_title("SC (weights, normalised)")
    off_diagonal = [fcs[name] - np.eye(len(sc)) for name in ("delays", "no_delays")]
    limit = max(np.abs(fc).max() for fc in off_diagonal)
    for ax, name, fc in zip(axes[0, 1:], ("delays", "no_delays"), off_diagonal):
        image = ax.imshow(fc, cmap="RdBu_r", vmin=-limit, vmax=limit)
        fig.colorbar(image, ax=ax)
        ax.set_title(f"FC, {name.replace('_', ' ')} (r = {metrics[f'r_fc_sc_{name}']:.2f})")
    upper = np.triu_indices_from(sc, 1)
    for ax, name in zip(axes[1], ("delays", "no_delays", "shuffled_sc")):
        ax.scatter(sc[upper], fcs[name][upper], s=3, alpha=0.4)
        ax.set_xlabel("SC weight")
        ax.set_ylabel("FC")
        ax.set_title(f"{name.replace('_', ' ')}: r = {metrics[f'r_fc_sc_{name}']:.2f}")
    fig.savefig(path, dpi=100)
    plt.close(fig)
