"""A 64-setting sweep against 64 single runs in a loop.

The 5-region rate model of ``overhead.py`` is run at 64 settings (8 values
of region 0's tau x 8 values of region 2's tau), once as a Python loop of
64 compiled single runs and once as one `brainsim.sweep` (vmapped, sharded
over the available devices). Prints the times, a line ending in
``speedup=<loop time / sweep time>``, and the sweep's achieved GFLOP/s
(matrix products only) against the peak of a large float32 matmul measured
in the same run.

    python benchmarks/sweep.py [--steps 2000]
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
from overhead import EDGES, FULL_SIZES, active_start, brainsim_model

import brainsim as bs


def matmul_peak_gflops(n=2048, repeats=5) -> float:
    a = jax.random.normal(jax.random.key(0), (n, n))
    b = jax.random.normal(jax.random.key(1), (n, n))
    product = jax.jit(jnp.dot)
    product(a, b).block_until_ready()
    best = min(_timed(product, a, b) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def _timed(fn, *args):
    began = time.perf_counter()
    jax.block_until_ready(fn(*args))
    return time.perf_counter() - began


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2_000)
    args = parser.parse_args()
    net = brainsim_model()
    params, state = active_start(net)
    grid = {"r0.tau": np.linspace(5.0, 20.0, 8), "r2.tau": np.linspace(5.0, 20.0, 8)}
    settings = [(a, b) for a in grid["r0.tau"] for b in grid["r2.tau"]]
    record = dict(record=["r4.rate"], reduce="mean")

    def one(a, b):
        p = bs.set(bs.set(params, "r0.tau", a), "r2.tau", b)
        return net.run(p, state, args.steps, **record)[1]["r4.rate"]

    def swept():
        return bs.sweep(net, args.steps, grid=grid, params=params, state=state, **record)

    one(*settings[0]).block_until_ready()  # compile both before timing
    swept()
    began = time.perf_counter()
    looped = [np.asarray(one(a, b)) for a, b in settings]
    loop_s = time.perf_counter() - began
    began = time.perf_counter()
    result = swept()
    sweep_s = time.perf_counter() - began
    same = np.allclose(np.stack(looped).reshape(8, 8, -1), result.records["r4.rate"][:, :, 0],
                       rtol=1e-4, atol=1e-5)

    macs = sum(FULL_SIZES[s] * FULL_SIZES[d] for s, d in EDGES)
    gflops = 2 * macs * args.steps * len(settings) / sweep_s / 1e9
    peak = matmul_peak_gflops()
    print(f"# {jax.devices()[0].device_kind} x{len(jax.devices())}, jax {jax.__version__}, "
          f"steps={args.steps}, settings={len(settings)}")
    print(f"loop_s={loop_s:.3f} sweep_s={sweep_s:.3f} same_result={same} "
          f"speedup={loop_s / sweep_s:.2f}")
    print(f"sweep_gflops={gflops:.1f} matmul_peak_gflops={peak:.1f} "
          f"fraction_of_peak={gflops / peak:.2f}")


if __name__ == "__main__":
    main()
