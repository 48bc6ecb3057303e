"""The criteria of a reproduction: measured per seed, held against the published target.

Every experiment's ``metrics.json`` keeps each criterion of its issue under
``"criteria"`` in one form (shared/EXPERIMENTS.md)::

    {"value": 0.91, "target": ">= 0.8", "pass": true, "seeds": [0.90, 0.93, ...], "spread": 0.01}

``value`` is the mean over seeds (or the one value of a criterion measured
once), ``spread`` their standard deviation, and ``pass`` compares ``value``
with ``target``: a comparison (``>=``, ``<=``, ``>``, ``<``) and a finite
number; with ``every_seed`` each seed must meet it. A criterion that came
out NaN fails. Effect sizes without a target go
under ``"effects"`` as `effect` (mean, std, a 95% t-interval, the seeds).
"""

from __future__ import annotations

import math
import operator

import numpy as np

COMPARISONS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}

# two-sided 95% Student t quantiles by degrees of freedom (1-10); beyond, the normal's 1.96
_T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228)


def parse_target(target: str) -> tuple[str, float]:
    """``">= 0.8"`` -> ``(">=", 0.8)``; a clear ValueError for anything else."""
    if isinstance(target, str):
        text = target.strip()
        for symbol in sorted(COMPARISONS, key=len, reverse=True):
            if text.startswith(symbol):
                try:
                    bound = float(text[len(symbol):])
                except ValueError:
                    break
                if math.isfinite(bound):
                    return symbol, bound
                break
    raise ValueError(f"a criterion's target is a comparison and a number, such as '>= 0.8' or "
                     f"'< 0.1'; got {target!r}")


def criterion(per_seed, target: str, every_seed: bool = False) -> dict:
    """A criterion measured on each seed (a list) or once (a number), against ``target``.

    ``every_seed``: pass only if each seed meets the target (for properties that must hold in
    every run, such as a monotonic curve), not just their mean; recorded as ``"every_seed"``.
    """
    symbol, bound = parse_target(target)
    values = np.atleast_1d(np.asarray(per_seed, dtype=np.float64))
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"a criterion needs one value per seed; got shape {values.shape}")
    value = float(values.mean())
    judged = values if every_seed else np.array([value])
    passed = not np.any(np.isnan(judged)) and bool(np.all(COMPARISONS[symbol](judged, bound)))
    out = {"value": value, "target": target, "pass": passed}
    if every_seed:
        out["every_seed"] = True
    if values.size > 1:
        out.update(seeds=values.tolist(), spread=float(values.std(ddof=1)))
    return out


def effect(per_seed) -> dict:
    """Mean, standard deviation and 95% t-interval of an effect over seeds."""
    values = np.asarray(per_seed, dtype=np.float64).ravel()
    mean = float(values.mean())
    if values.size < 2:
        return {"mean": mean, "seeds": values.tolist()}
    std = float(values.std(ddof=1))
    dof = values.size - 1
    half = (_T95[dof - 1] if dof <= len(_T95) else 1.96) * std / math.sqrt(values.size)
    return {"mean": mean, "std": std, "ci95": [mean - half, mean + half], "seeds": values.tolist()}


def table(criteria: dict) -> str:
    """The criteria as a plain-text table: name, value (± spread), target, pass."""
    width = max([len(name) for name in criteria] + [9])
    lines = [f"{'criterion':{width}s}  {'value':>17s}  {'target':>10s}  pass"]
    for name, c in criteria.items():
        spread = f" ± {c['spread']:.3f}" if "spread" in c else ""
        lines.append(f"{name:{width}s}  {c['value']:>8.3f}{spread:>9s}  {c['target']:>10s}  "
                     f"{'yes' if c['pass'] else 'NO'}")
    passed = sum(bool(c["pass"]) for c in criteria.values())
    lines.append(f"{passed} of {len(criteria)} criteria met")
    return "\n".join(lines)


def paired_runs(seeds, conditions, run, desc: str) -> dict:
    """``{seed: {condition: run(seed, condition)}}``, every condition on every seed, with one progress
    bar naming the run in progress.

    Pairing is the caller's: ``run`` must give a condition and its controls the same seeded
    start (network, trials) so that their difference on a seed is the effect.
    """
    from tqdm.auto import tqdm

    seeds, conditions = list(seeds), list(conditions)
    if not seeds or not conditions:
        raise ValueError(f"{desc}: paired runs need at least one seed and one condition")
    results = {}
    with tqdm(total=len(seeds) * len(conditions), desc=desc, unit="run") as bar:
        for seed in seeds:
            results[seed] = {}
            for name in conditions:
                bar.set_postfix_str(f"seed {seed}: {name}")
                results[seed][name] = run(seed, name)
                bar.update(1)
    return results
