"""Two loops through cortex: a pulse echoes back after each loop's delay.

A cortical population sits in two loops built from generic rate populations:
a cerebro-cerebellar loop (ctx -> cb -> ctx) and a cortico-basal-ganglia-
thalamo-cortical loop (ctx -> bg -| th -> ctx, the bg -> th projection
inhibitory). From rest, a brief pulse drives cortex. Because every region is
silent before the pulse, the pulse's *echo* through a loop can be timed
exactly: it is the first step at which cortex differs from a control run in
which that loop's return projection is cut (weights set to zero, which needs
no recompilation). The measured echo latency must equal the loop's wired
round-trip delay.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import brainsim as bs


@dataclasses.dataclass(frozen=True)
class Config:
    """Sizes, delays (ms) and timing of the two-loop demo."""

    seed: int = 0
    dt: float = 0.5
    duration_ms: float = 1000.0
    pulse_at_ms: float = 50.0
    pulse_ms: float = 5.0
    n_ctx: int = 64
    n_cb: int = 256
    n_bg: int = 32
    n_th: int = 32
    ctx_to_cb_ms: float = 4.0
    cb_to_ctx_ms: float = 4.0
    ctx_to_bg_ms: float = 5.0
    bg_to_th_ms: float = 3.0
    th_to_ctx_ms: float = 4.0
    chunk: int = 500


LOOPS = {
    "cerebellar": ("cb.rate->ctx.input", ("ctx_to_cb_ms", "cb_to_ctx_ms")),
    "basal_ganglia": ("th.rate->ctx.input", ("ctx_to_bg_ms", "bg_to_th_ms", "th_to_ctx_ms")),
}


def connectome(c: Config) -> bs.Connectome:
    """The two-loop brain."""
    brain = bs.Connectome()
    brain.add("ctx", bs.RatePopulation(n=c.n_ctx))
    brain.add("cb", bs.RatePopulation(n=c.n_cb, activation="relu"))
    brain.add("bg", bs.RatePopulation(n=c.n_bg))
    brain.add("th", bs.RatePopulation(n=c.n_th))
    brain.connect("ctx.rate", "ctx.input", delay=1, scale=0.8)
    brain.connect("ctx.rate", "cb.input", ms=c.ctx_to_cb_ms, kind="sparse", fan_in=4, scale=2.0)
    brain.connect("cb.rate", "ctx.input", ms=c.cb_to_ctx_ms)
    brain.connect("ctx.rate", "bg.input", ms=c.ctx_to_bg_ms, scale=2.0)
    brain.connect("bg.rate", "th.input", ms=c.bg_to_th_ms, sign=-1, scale=2.0)
    brain.connect("th.rate", "ctx.input", ms=c.th_to_ctx_ms)
    return brain


def run(c: Config, out: Path) -> dict:
    net = bs.build(connectome(c), dt=c.dt)
    params, state = net.init(jax.random.key(c.seed))
    steps = int(round(c.duration_ms / c.dt))
    t0, width = int(round(c.pulse_at_ms / c.dt)), int(round(c.pulse_ms / c.dt))
    pulse = np.zeros((steps, c.n_ctx), np.float32)
    pulse[t0:t0 + width, : c.n_ctx // 2] = 2.0
    record = ["ctx.rate", "cb.rate", "bg.rate", "th.rate"]

    began = time.perf_counter()
    _, trace = net.run(params, state, steps, inputs={"ctx.input": pulse}, record=record,
                       chunk=c.chunk, progress=True, check_finite=True)
    first_run_s = time.perf_counter() - began

    metrics = {"steps": steps, "first_run_s": round(first_run_s, 3)}
    echoes = {}
    for loop, (return_path, delays) in LOOPS.items():
        cut = bs.set(params, f"{return_path}.weight", 0.0)
        _, control = net.run(cut, state, steps, inputs={"ctx.input": pulse},
                             record=["ctx.rate"], chunk=c.chunk)
        diff = np.abs(trace["ctx.rate"] - control["ctx.rate"]).max(axis=1)
        onset = int(np.flatnonzero(diff > 0)[0]) if np.any(diff > 0) else None
        wired = sum(getattr(c, d) for d in delays)
        measured = None if onset is None else (onset - t0) * c.dt
        echoes[loop] = diff
        metrics[f"{loop}_round_trip_ms"] = wired
        metrics[f"{loop}_echo_latency_ms"] = measured
    began = time.perf_counter()
    jax.block_until_ready(net.run(params, state, steps, inputs={"ctx.input": jnp.asarray(pulse)}))
    metrics["steps_per_s"] = round(steps / (time.perf_counter() - began))
    for name in ("ctx", "cb", "bg", "th"):
        metrics[f"{name}_mean_abs_rate"] = float(np.abs(trace[f"{name}.rate"]).mean())

    _figure(c, trace, echoes, t0, out / "quickstart.png")
    _summary(net, metrics)
    return metrics


def _figure(c, trace, echoes, t0, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    time_ms = np.arange(len(trace["ctx.rate"])) * c.dt
    window = time_ms < c.pulse_at_ms + 60.0
    fig, axes = plt.subplots(3, 1, figsize=(8, 9), constrained_layout=True)
    means = np.stack([np.abs(trace[f"{n}.rate"]).mean(axis=1) for n in ("ctx", "cb", "bg", "th")], 1)
    bs.plot.traces(time_ms[window], means[window], ["ctx", "cb", "bg", "th"], ax=axes[0],
                   ylabel="mean |rate|")
    axes[0].axvspan(c.pulse_at_ms, c.pulse_at_ms + c.pulse_ms, color="0.9")
    axes[0].set_title("response of each region to a 5 ms cortical pulse")
    bs.plot.heatmap(time_ms[window], trace["ctx.rate"][window], ax=axes[1], label="ctx rate")
    axes[1].set_title("cortex")
    for (loop, diff), colour in zip(echoes.items(), ("C1", "C2")):
        axes[2].semilogy(time_ms[window], np.maximum(diff[window], 1e-12), colour, label=loop)
        wired = sum(getattr(c, d) for d in LOOPS[loop][1])
        axes[2].axvline(c.pulse_at_ms + wired, color=colour, ls="--", lw=1)
    axes[2].set_xlabel("time (ms)")
    axes[2].set_ylabel("|ctx - ctx with loop cut|")
    axes[2].set_title("echo of the pulse through each loop (dashed: wired round trip)")
    axes[2].legend(frameon=False)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _summary(net, metrics):
    print(net)
    for loop in LOOPS:
        print(f"{loop:14s} loop: wired round trip {metrics[f'{loop}_round_trip_ms']:.1f} ms, "
              f"measured echo {metrics[f'{loop}_echo_latency_ms']} ms")
    rates = ", ".join(f"{n} {metrics[f'{n}_mean_abs_rate']:.3f}" for n in ("ctx", "cb", "bg", "th"))
    print(f"mean |rate|: {rates}")
    print(f"speed: {metrics['steps_per_s']} steps/s after compilation "
          f"(first run incl. compile {metrics['first_run_s']} s)")
