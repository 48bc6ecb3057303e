"""COBA speed: brainsim against a hand-written scan, BrainPy and Brian2.

The network is `experiments.coba` (Vogels & Abbott 2005; 80% excitatory, 80
expected inputs per neuron, i.e. p = 0.02 at N = 4,000; dt = 0.1 ms). Every
tool gets the same connectivity and initial membrane potentials, generated
once per size by brainsim. For each tool and size it prints

    tool=<name> N=<n> s_per_sim_s=<x> compile_s=<y> rate_hz=<r>

where ``s_per_sim_s`` is wall time per simulated second of the simulation
proper (``(time of a 2T run - time of a T run) / T``, which removes set-up
costs that do not grow with T) and ``compile_s`` is the one-off cost before
the first step (JAX tracing and XLA compilation; Brian2 code generation and
C++/Cython compilation). Then the ratios against brainsim, and the time to
build 1.3M synapses, and brainsim's cost at N = 4,000 against its firing rate
(set by the inhibitory weight; silent without background drive). Tools not
installed are reported as skipped (``pip install -e ".[peers]"`` adds them).

    python benchmarks/coba.py [--sizes 1000,4000,16000,64000] [--duration-ms 1000]
                              [--tools brainsim,handwritten,brainpy,brian2_runtime,brian2_standalone]

Brian2 standalone runs single-threaded; JAX (brainsim and BrainPy) runs with
``--threads`` XLA worker threads (default 1, see `brainsim.cpu`).
"""

from __future__ import annotations

import argparse
import importlib
import time

import jax
import jax.numpy as jnp
import numpy as np

import brainsim as bs
from brainsim import connectivity, events
from experiments import coba

TOOLS = ("brainsim", "handwritten", "brainpy", "brian2_runtime", "brian2_standalone")


def time_brainsim(n: int, duration_ms: float, seed: int = 0, background_mV: float = 20.0, wi: float = 6.7):
    """Seconds per simulated second and compile seconds of the brainsim COBA network."""
    net = bs.build(coba.connectome(n, wi=wi), dt=0.1)
    params, state = coba.init(net, seed, background_mV)
    steps = int(round(duration_ms / 0.1))

    def go(k):
        began = time.perf_counter()
        final, trace = net.run(params, state, k * steps, record=["E.spike", "I.spike"], reduce="sum")
        jax.block_until_ready((final, trace))
        return time.perf_counter() - began, trace

    first, _ = go(1)
    short, trace = go(1)
    first_2, _ = go(2)
    long, _ = go(2)
    spikes = float(trace["E.spike"].sum() + trace["I.spike"].sum())
    per_sim_s = (long - short) / (duration_ms / 1000.0)
    return per_sim_s, first - short, spikes / n / (duration_ms / 1000.0)


def hand_written_scan(n: int, duration_ms: float, seed: int = 0):
    """The same network as one fused scan over a single population (no engine)."""
    net = bs.build(coba.connectome(n), dt=0.1)
    params, state = coba.init(net, seed)
    pre, post = coba.pairs(net, state)
    v0 = coba.initial_v(state)
    n_exc = net.regions["E"].n
    rows = {}
    for name, keep in (("exc", pre < n_exc), ("inh", pre >= n_exc)):
        src = pre[keep] - (0 if name == "exc" else n_exc)
        n_src = n_exc if name == "exc" else n - n_exc
        width = int(np.bincount(src, minlength=n_src).max())
        table = np.full((n_src, width), n, np.int32)
        order = np.argsort(src, kind="stable")
        src_sorted, post_sorted = src[order], post[keep][order]
        start = np.searchsorted(src_sorted, np.arange(n_src))
        column = np.arange(len(src_sorted)) - start[src_sorted]
        table[src_sorted, column] = post_sorted
        rows[name] = jnp.asarray(table)
    dt, decay_e, decay_i = 0.1, np.exp(-0.1 / 5.0), np.exp(-0.1 / 10.0)
    we, wi = jnp.float32(0.6), jnp.float32(6.7)  # in units of g_L

    def step(carry, _):
        v, ge, gi, ref, s = carry
        ge = ge + events.deliver(jnp.zeros(n), s[:n_exc], we, rows["exc"], None, 0, None, n, 0,
                                 events.default_slots(n_exc))
        gi = gi + events.deliver(jnp.zeros(n), s[n_exc:], wi, rows["inh"], None, 0, None, n, 0,
                                 events.default_slots(n - n_exc))
        g_total = 1.0 + ge + gi
        v_inf = (-60.0 + ge * 0.0 + gi * -80.0 + 20.0) / g_total
        v_free = v_inf + (v - v_inf) * jnp.exp(-dt * g_total / 20.0)
        v = jnp.where(ref < 0.05, v_free, -60.0)
        s = (v > -50.0).astype(jnp.float32)
        v = jnp.where(s > 0, -60.0, v)
        ref = jnp.where(s > 0, 5.0, jnp.maximum(ref - dt, 0.0))
        return (v, ge * decay_e, gi * decay_i, ref, s), s.sum()

    @jax.jit
    def simulate(v0, steps_dummy):
        init = (v0, jnp.zeros(n), jnp.zeros(n), jnp.zeros(n), jnp.zeros(n))
        return jax.lax.scan(step, init, steps_dummy)[1]

    steps = int(round(duration_ms / dt))
    v0 = jnp.asarray(v0, jnp.float32)

    def go(k):
        began = time.perf_counter()
        counts = jax.block_until_ready(simulate(v0, jnp.zeros(k * steps)))
        return time.perf_counter() - began, counts

    first, _ = go(1)
    short, counts = go(1)
    go(2)
    long, _ = go(2)
    rate = float(counts.sum()) / n / (duration_ms / 1e3)
    return (long - short) / (duration_ms / 1000.0), first - short, rate


def time_peer(tool: str, n: int, duration_ms: float, seed: int = 0):
    """Run a peer simulator on brainsim's connectivity; ``None`` if it is not installed."""
    module_name, mode = {
        "brainpy": ("peers.brainpy_coba", None),
        "brian2_runtime": ("peers.brian2_coba", "runtime"),
        "brian2_standalone": ("peers.brian2_coba", "cpp_standalone"),
    }[tool]
    try:
        module = importlib.import_module(module_name)
        module.require()
    except ImportError as err:
        print(f"tool={tool} N={n} skipped ({err})")
        return None
    net = bs.build(coba.connectome(n), dt=0.1)
    _, state = coba.init(net, seed)
    pre, post = coba.pairs(net, state)
    v0 = coba.initial_v(state)
    n_exc = net.regions["E"].n
    kwargs = {"record_spikes": n <= 16000, **({} if mode is None else {"mode": mode})}
    short = module.run_coba(pre, post, v0, n_exc, duration_ms, **kwargs)
    long = module.run_coba(pre, post, v0, n_exc, 2 * duration_ms, **kwargs)
    rate = len(long["spike_i"]) / n / (2 * duration_ms / 1000.0) if kwargs["record_spikes"] else float("nan")
    return (long["run_s"] - short["run_s"]) / (duration_ms / 1000.0), long["compile_s"], rate


def time_synapse_build(n: int = 8000, p: float = 0.02) -> tuple[float, int]:
    """Seconds to build ``n x n`` Bernoulli(p) connectivity (1.28M synapses by default)."""
    connectivity.bernoulli_targets(jax.random.key(1), 64, 64, 0.1).block_until_ready()  # JAX start-up
    began = time.perf_counter()
    targets = connectivity.bernoulli_targets(jax.random.key(0), n, n, p).block_until_ready()
    return time.perf_counter() - began, connectivity.synapse_count(targets, n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,4000,16000,64000")
    parser.add_argument("--duration-ms", type=float, default=1000.0)
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--threads", type=int, default=1,
                        help="XLA CPU worker threads for brainsim and BrainPy (0: XLA's default)")
    args = parser.parse_args()
    if args.threads:
        bs.cpu.limit_cpu_threads(args.threads)
    sizes = [int(s) for s in args.sizes.split(",")]
    tools = args.tools.split(",")
    unknown = set(tools) - set(TOOLS)
    if unknown:
        raise SystemExit(f"unknown tools {sorted(unknown)}; choose from {TOOLS}")
    threads = args.threads or "default"
    print(f"# device: {jax.devices()[0].device_kind}, XLA CPU threads: {threads}, "
          f"sim {args.duration_ms:g} ms per timed run")
    results = {}
    for n in sizes:
        for tool in tools:
            if tool == "brainsim":
                got = time_brainsim(n, args.duration_ms)
            elif tool == "handwritten":
                got = hand_written_scan(n, args.duration_ms)
            else:
                got = time_peer(tool, n, args.duration_ms)
            if got is None:
                continue
            per, compile_s, rate = got
            results[tool, n] = per
            print(f"tool={tool} N={n} s_per_sim_s={per:.4f} compile_s={compile_s:.3f} rate_hz={rate:.2f}",
                  flush=True)
    for n in sizes:
        mine = results.get(("brainsim", n))
        for tool in tools:
            if tool != "brainsim" and mine and (tool, n) in results:
                print(f"ratio N={n} {tool}/brainsim={results[tool, n] / mine:.2f}")
    if "brainsim" in tools:
        # cost against activity at N = 4,000: weaker inhibition raises the rate; without
        # background drive the network falls silent, which shows the fixed cost of a step
        for background, wi in ((0.0, 6.7), (20.0, 6.7), (20.0, 4.0), (20.0, 3.0), (20.0, 2.0)):
            per, _, rate = time_brainsim(4000, args.duration_ms, background_mV=background, wi=wi)
            print(f"activity tool=brainsim N=4000 background_mV={background:g} wi={wi:g} rate_hz={rate:.2f} "
                  f"s_per_sim_s={per:.4f}", flush=True)
    seconds, count = time_synapse_build()
    print(f"build synapses={count} seconds={seconds:.3f}")


if __name__ == "__main__":
    main()
