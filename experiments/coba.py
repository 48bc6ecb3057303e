"""COBA: the Vogels & Abbott (2005) balanced network of conductance-based LIF neurons.

The benchmark network of Brette et al. (2007, J Comput Neurosci 23, 349),
as in the Brian2 and BrainPy examples: ``N`` LIF neurons, 80% excitatory,
each pair connected with probability ``p`` (0.02 at N = 4,000, i.e. 80
inputs per neuron; at other sizes ``p = 80 / N`` keeps that in-degree, so the
dynamics stay the same and the cost grows linearly with N).

Neurons (`brainsim.LIFPopulation`, conductance synapses, its defaults):
``tau_m = C / g_L = 200 pF / 10 nS = 20 ms``, ``E_L = V_reset = -60 mV``,
``V_th = -50 mV``, 5 ms refractory, ``E_e = 0 mV``, ``E_i = -80 mV``,
``tau_e = 5 ms``, ``tau_i = 10 ms``, and a constant background current of
200 pA (20 mV across the leak). An excitatory spike raises its targets'
``g_e`` by ``we = 0.6 g_L = 6 nS``; an inhibitory one raises ``g_i`` by
``wi = 6.7 g_L = 67 nS``. (The Brian2 and BrainPy examples state 0.6 and 6.7
in units of the leak conductance; they are 6 nS and 67 nS at ``g_L = 10 nS``.)
Initial ``V ~ N(-55, 5^2) mV``; ``dt = 0.1 ms``. Spikes travel along
event-driven projections (``kind="event"``), one step late, as in Brian2.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import brainsim as bs
from brainsim import connectivity, spikes

IN_DEGREE = 80  # expected inputs per neuron (p = 0.02 at N = 4,000)
G_LEAK = 10.0  # nS


@dataclasses.dataclass(frozen=True)
class Config:
    """Size, duration and weights of the COBA network."""

    seed: int = 0
    n: int = 4000
    duration_ms: float = 1000.0
    dt: float = 0.1
    we: float = 0.6  # in units of g_L
    wi: float = 6.7  # in units of g_L
    background_mV: float = 20.0
    cpu_threads: int = 1  # XLA CPU worker threads (0: XLA's default); see brainsim.cpu


def connectome(n: int, we: float = 0.6, wi: float = 6.7) -> bs.Connectome:
    """The COBA network of ``n`` neurons: populations ``E`` and ``I``, four event projections."""
    n_exc = int(round(0.8 * n))
    p = min(1.0, IN_DEGREE / n)
    brain = bs.Connectome()
    brain.add("E", bs.LIFPopulation(n=n_exc, synapse="conductance"))
    brain.add("I", bs.LIFPopulation(n=n - n_exc, synapse="conductance"))
    for src, port, w in (("E", "exc", we), ("I", "inh", wi)):
        for dst in ("E", "I"):
            brain.connect(f"{src}.spike", f"{dst}.{port}", kind="event", p=p, delay=1,
                          scale=w * G_LEAK, shared_weight=True)
    return brain


def init(net, seed: int, background_mV: float = 20.0):
    """Params and state of a COBA network: background current, ``V ~ N(-55, 5^2)``."""
    params, state = net.init(jax.random.key(seed))
    k_e, k_i = jax.random.split(jax.random.key(seed + 1_000_003))
    for name, k in (("E", k_e), ("I", k_i)):
        n = net.regions[name].n
        params = bs.set(params, f"{name}.bias", jnp.full((n,), background_mV * G_LEAK))
        v0 = -55.0 + 5.0 * jax.random.normal(k, (n,))
        state["regions"][name] = {**state["regions"][name], "V": v0}
    return params, state


def pairs(net, state) -> tuple[np.ndarray, np.ndarray]:
    """Every synapse as global ``(pre, post)`` indices (E first, then I), for peer simulators."""
    n_exc = net.regions["E"].n
    offset = {"E": 0, "I": n_exc}
    pre, post = [], []
    for p in net.projections:
        a, b = connectivity.to_pairs(state["projections"][p.name]["targets"], net.regions[p.dst].n)
        pre.append(a + offset[p.src])
        post.append(b + offset[p.dst])
    return np.concatenate(pre), np.concatenate(post)


def initial_v(state) -> np.ndarray:
    """Initial membrane potentials in global order (E then I)."""
    return np.concatenate([np.asarray(state["regions"][r]["V"]) for r in ("E", "I")])


def statistics(neuron, time_ms, n_exc: int, n: int, duration_ms: float) -> dict:
    """Rates (Hz), E/I rate ratio and mean ISI CV of a run, from global spike indices."""
    neuron, time_ms = np.asarray(neuron), np.asarray(time_ms)
    exc = neuron < n_exc
    rate_e = spikes.mean_rate(neuron[exc], n_exc, duration_ms)
    rate_i = spikes.mean_rate(neuron[~exc], n - n_exc, duration_ms)
    return {
        "rate_hz": spikes.mean_rate(neuron, n, duration_ms),
        "rate_e_hz": rate_e,
        "rate_i_hz": rate_i,
        "ei_ratio": rate_e / rate_i if rate_i > 0 else float("nan"),
        "isi_cv": spikes.isi_cv(neuron, time_ms),
    }


def simulate(c: Config):
    """Run the network; return ``(neuron, time_ms)`` of every spike, timings and the network."""
    net = bs.build(connectome(c.n, c.we, c.wi), dt=c.dt)
    params, state = init(net, c.seed, c.background_mV)
    steps = int(round(c.duration_ms / c.dt))
    as_bool = {"E.spike": lambda s: s > 0, "I.spike": lambda s: s > 0}
    began = time.perf_counter()
    _, trace = net.run(params, state, steps, record=["E.spike", "I.spike"], reduce=as_bool)
    jax.block_until_ready(trace)
    wall = time.perf_counter() - began
    raster = np.concatenate([np.asarray(trace["E.spike"]), np.asarray(trace["I.spike"])], axis=1)
    # Brian2 stamps a spike with the time at the start of its step: step k at k * dt
    neuron, time_ms = spikes.times_from_raster(raster, c.dt)
    return neuron, time_ms, {"wall_s": wall, "net": net, "state": state}


def run(c: Config, out: Path) -> dict:
    import matplotlib.pyplot as plt
    from jax._src import xla_bridge

    if c.cpu_threads and not xla_bridge.backends_are_initialized():
        bs.cpu.limit_cpu_threads(c.cpu_threads)

    neuron, time_ms, info = simulate(c)
    n_exc = info["net"].regions["E"].n
    metrics = statistics(neuron, time_ms, n_exc, c.n, c.duration_ms)
    metrics.update(n=c.n, synapses=int(len(pairs(info["net"], info["state"])[0])),
                   wall_s_incl_compile=round(info["wall_s"], 3))
    fig, (raster_ax, rate_ax) = plt.subplots(2, 1, figsize=(8, 5), sharex=True,
                                             gridspec_kw={"height_ratios": [3, 1]})
    shown = (neuron < 320) | ((neuron >= n_exc) & (neuron < n_exc + 80))  # 320 E and 80 I cells
    row = np.where(neuron < n_exc, neuron, neuron - n_exc + 320)[shown]
    colour = np.where(neuron[shown] < n_exc, "tab:red", "tab:blue")
    raster_ax.scatter(time_ms[shown], row, s=0.5, c=colour)
    raster_ax.set_ylabel("neuron (320 E, 80 I)")
    raster_ax.set_title(f"COBA, N = {c.n}: {metrics['rate_e_hz']:.1f} Hz (E), "
                        f"{metrics['rate_i_hz']:.1f} Hz (I), ISI CV {metrics['isi_cv']:.2f}")
    bins = np.arange(0.0, c.duration_ms + 1.0, 1.0)
    rate_ax.plot(bins[:-1], np.histogram(time_ms, bins)[0] / c.n / 1e-3, lw=0.8)
    rate_ax.set_xlabel("time (ms)")
    rate_ax.set_ylabel("rate (Hz)")
    fig.tight_layout()
    fig.savefig(out / "coba_raster.png", dpi=120)
    plt.close(fig)
    return metrics
