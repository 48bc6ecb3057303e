"""Memory and time of one gradient of a long run: BPTT, remat, truncated BPTT.

The 5-region rate model of ``overhead.py``; the loss is the squared mean
rate of the last region summed over the run. For T = 1,000 and 10,000 steps
it compiles ``jax.grad`` of the loss three ways, reads the compiled
program's temporary memory (``memory_analysis().temp_size_in_bytes``) and
times one gradient (best of ``--repeats``):

- ``bptt``: plain backpropagation through the whole scan;
- ``remat``: rematerialised segments of ``sqrt(T)`` steps (``run(remat=)``);
- ``truncated``: gradients cut every ``sqrt(T)`` steps (``run(truncate=)``).

One line per case; the remat lines end in ``memory_ratio=<BPTT / remat>``.

    python benchmarks/learning.py [--horizons 1000 10000] [--repeats 1]
"""

from __future__ import annotations

import argparse
import math
import time

import jax
import jax.numpy as jnp
from overhead import active_start, brainsim_model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--horizons", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    net = brainsim_model()
    params, state = active_start(net)
    print(f"# {jax.devices()[0].device_kind}, jax {jax.__version__}, 5-region model")
    for steps in args.horizons:
        segment = _divisor_near(steps, math.isqrt(steps))
        memory = {}
        for mode, kwargs in (("bptt", {}), ("remat", {"remat": segment}),
                             ("truncated", {"truncate": segment})):
            def loss(p, kwargs=kwargs):
                _, trace = net.run(p, state, steps, record=["r4.rate"], reduce="mean", **kwargs)
                return jnp.sum(trace["r4.rate"] ** 2)

            began = time.perf_counter()
            compiled = jax.jit(jax.grad(loss)).lower(params).compile()
            compile_s = time.perf_counter() - began
            memory[mode] = compiled.memory_analysis().temp_size_in_bytes
            best = math.inf
            for _ in range(args.repeats):
                began = time.perf_counter()
                jax.block_until_ready(compiled(params))
                best = min(best, time.perf_counter() - began)
            line = (f"mode={mode} T={steps} segment={segment if kwargs else '-'} "
                    f"temp_mb={memory[mode] / 2**20:.1f} s_per_update={best:.2f} "
                    f"compile_s={compile_s:.2f}")
            if mode == "remat":
                line += f" memory_ratio={memory['bptt'] / memory['remat']:.1f}"
            print(line, flush=True)


def _divisor_near(n: int, target: int) -> int:
    """The divisor of ``n`` closest to ``target``."""
    return min((d for d in range(1, n + 1) if n % d == 0), key=lambda d: abs(d - target))


if __name__ == "__main__":
    main()
