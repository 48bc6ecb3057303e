"""Memory and time per update of every credit-assignment rule on a long trial.

The three-area cortical hierarchy of ``experiments/credit_hierarchy.py``
(32 tanh units per area, feedforward and feedback projections with delays, a
linear readout, cross-entropy at every step) receives a random input for
T = 1,000 and 10,000 steps. For each rule it compiles one update (the rule's
call on a batch of ``--batch`` trials), reads the compiled program's
temporary memory (``memory_analysis().temp_size_in_bytes``) and times the
update (best of ``--repeats``). e-prop and RFLO carry their eligibility
traces forward, so their memory must not grow with T; BPTT and the rules
built on it (feedback alignment, DFA) keep every step; truncated BPTT and
synthetic gradients keep one window.

One line per rule and T; the T = 10,000 line ends in ``memory_growth=<temp(10,000) / temp(1,000)>``.

    python benchmarks/credit_rules.py [--horizons 1000 10000] [--batch 4] [--repeats 2]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import jax

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from experiments import credit_hierarchy as ch  # noqa: E402


def batch_of(c: ch.Config, steps: int, size: int) -> dict:
    task = ch.task_of(c)
    key = jax.random.key(0)
    return {"inputs": {"inp.input": jax.random.normal(key, (size, steps, task.n_obs))},
            "targets": jax.random.randint(jax.random.fold_in(key, 1), (size, steps), 0, task.n_actions)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--horizons", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--rules", default=",".join(ch.TEMPORAL_RULES))
    args = parser.parse_args()
    print(f"# {jax.devices()[0].device_kind}, jax {jax.__version__}, credit-hierarchy network, "
          f"batch {args.batch}")
    for name in args.rules.split(","):
        memory = {}
        for steps in args.horizons:
            c = ch.Config(window=_divisor_near(steps, 100))
            net, params, state, rule = ch.rule_of(c, name, 0)
            data = batch_of(c, steps, args.batch)
            rule_state = rule.init(params)
            began = time.perf_counter()
            compiled = jax.jit(lambda p, rs, d, k: rule(p, rs, d, k)[1]).lower(
                params, rule_state, data, jax.random.key(1)).compile()
            compile_s = time.perf_counter() - began
            analysis = compiled.memory_analysis()
            memory[steps] = analysis.temp_size_in_bytes if analysis is not None else math.nan
            best = math.inf
            for _ in range(args.repeats):
                began = time.perf_counter()
                jax.block_until_ready(compiled(params, rule_state, data, jax.random.key(1)))
                best = min(best, time.perf_counter() - began)
            line = (f"rule={name.replace(' ', '_')} T={steps} temp_mb={memory[steps] / 2**20:.2f} "
                    f"s_per_update={best:.3f} us_per_step={1e6 * best / steps:.1f} compile_s={compile_s:.2f}")
            if steps != args.horizons[0]:
                line += f" memory_growth={memory[steps] / memory[args.horizons[0]]:.2f}"
            print(line, flush=True)


def _divisor_near(n: int, target: int) -> int:
    """The divisor of ``n`` closest to ``target`` (the truncation window)."""
    return min((d for d in range(1, n + 1) if n % d == 0), key=lambda d: abs(d - target))


if __name__ == "__main__":
    main()
