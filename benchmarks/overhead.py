"""Framework overhead: brainsim against the same equations hand-written.

The model: 5 leaky tanh rate regions of 256/512/1024/512/256 units and 15
dense projections with one-step delays (a self-projection on each region,
the forward and backward chain 0-1-2-3-4, and 0 <-> 4):

    x_i += dt / tau_i * (-x_i + sum_j r_j(t-1) @ W_ji + b_i),   r_i = tanh(x_i)

It runs for ``--steps`` steps at batch 1 and vmapped over 64 settings (each
with its own tau per region, shared weights). Both versions get identical
params and initial state; the hand-written one is a single fused
``lax.scan``. For each case it prints one line ending in
``ratio=<brainsim time / hand-written time>`` (best of ``--repeats``), with
the compile times (``jit(...).lower(...).compile()``).

    python benchmarks/overhead.py [--steps 10000] [--batch 64] [--repeats 3] [--shrink 1]
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

import brainsim as bs

FULL_SIZES = (256, 512, 1024, 512, 256)
SIZES = FULL_SIZES
EDGES = (
    [(i, i) for i in range(5)]
    + [(i, i + 1) for i in range(4)]
    + [(i + 1, i) for i in range(4)]
    + [(0, 4), (4, 0)]
)


def brainsim_model():
    brain = bs.Connectome()
    for i, n in enumerate(SIZES):
        brain.add(f"r{i}", bs.RatePopulation(n=n))
    for src, dst in EDGES:
        brain.connect(f"r{src}.rate", f"r{dst}.input", delay=1, scale=0.5)
    return bs.build(brain, dt=1.0)


def active_start(net):
    """Params and state with random biases and membrane values, so activity is rich."""
    params, state = net.init(jax.random.key(0))
    for i, n in enumerate(SIZES):
        params = bs.set(params, f"r{i}.bias", jax.random.normal(jax.random.key(i), (n,)) * 0.5)
        state["regions"][f"r{i}"]["x"] = jax.random.normal(jax.random.key(10 + i), (n,))
    return params, state


def hand_written(weights, steps):
    """The same network as one fused scan over (x_i, r_i(t-1))."""

    def run(taus, biases, dt, xs):
        def step(carry, _):
            xs, rs = carry
            new_xs = []
            for i in range(5):
                drive = biases[i]
                for (src, dst), w in zip(EDGES, weights):
                    if dst == i:
                        drive = drive + rs[src] @ w
                new_xs.append(xs[i] + dt / taus[i] * (-xs[i] + drive))
            return (new_xs, [jnp.tanh(x) for x in new_xs]), None

        rs = [jnp.zeros_like(x) for x in xs]
        (xs, _), _ = jax.lax.scan(step, (xs, rs), None, length=steps)
        return xs

    return run


def timed(fn, *args):
    """Wall time of one call (compiled already) and its result."""
    began = time.perf_counter()
    result = jax.block_until_ready(fn(*args))
    return time.perf_counter() - began, result


def compile_timed(fn, *args):
    began = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    return compiled, time.perf_counter() - began


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--shrink", type=int, default=1,
                        help="divide every region's size by this (small nets expose per-step cost)")
    args = parser.parse_args()
    global SIZES
    SIZES = tuple(n // args.shrink for n in FULL_SIZES)

    net = brainsim_model()
    params, state = active_start(net)
    weights = [params[f"r{s}.rate->r{d}.input"]["weight"] for s, d in EDGES]
    hand = hand_written(weights, args.steps)
    taus = [params[f"r{i}"]["tau"] for i in range(5)]
    biases = [params[f"r{i}"]["bias"] for i in range(5)]
    xs = [state["regions"][f"r{i}"]["x"] for i in range(5)]

    def framework(taus, params, state):
        for i, tau in enumerate(taus):
            params = bs.set(params, f"r{i}.tau", tau)
        final, _ = net.run(params, state, args.steps)
        return [final["regions"][f"r{i}"]["x"] for i in range(5)]

    def by_hand(taus, params, state):
        return hand(taus, biases, params["dt"], xs)

    batched_taus = [t * jnp.linspace(0.5, 2.0, args.batch) for t in taus]
    cases = {
        "batch1": (framework, by_hand, taus),
        f"vmap{args.batch}": (
            jax.vmap(framework, in_axes=(0, None, None)),
            jax.vmap(by_hand, in_axes=(0, None, None)),
            batched_taus,
        ),
    }
    print(f"# {jax.devices()[0].device_kind}, jax {jax.__version__}, steps={args.steps}, sizes={SIZES}")
    for case, (fw, hw, tau_arg) in cases.items():
        fw_c, fw_compile = compile_timed(fw, tau_arg, params, state)
        hw_c, hw_compile = compile_timed(hw, tau_arg, params, state)
        fw_s = hw_s = np.inf
        for _ in range(args.repeats):  # interleaved, so drifts hit both alike
            seconds, fw_out = timed(fw_c, tau_arg, params, state)
            fw_s = min(fw_s, seconds)
            seconds, hw_out = timed(hw_c, tau_arg, params, state)
            hw_s = min(hw_s, seconds)
        same = all(np.allclose(a, b, rtol=1e-4, atol=1e-5) for a, b in zip(fw_out, hw_out))
        print(
            f"case={case} steps={args.steps} same_result={same} brainsim_s={fw_s:.3f} "
            f"hand_s={hw_s:.3f} compile_s={fw_compile:.2f} hand_compile_s={hw_compile:.2f} "
            f"ratio={fw_s / hw_s:.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
