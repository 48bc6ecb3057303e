"""Acetylcholine adapts cortical learning to the statistics of errors (a model of ours).

The proposal: the cholinergic system tracks how well cortex predicts, much as
adaptive optimisers track gradient statistics, and scales cortical learning
rates by it: learning is fast when the world has just changed and fine once
it has been learned, and a cholinergic deficit slows learning. No public
implementation exists; the model and criteria are ours.

Model (one step = one trial, dt = 1):

- ``inp`` shows ``x ~ N(0, I)`` (``n_in`` inputs); ``ctx`` (`regions.AssociativeCortex`,
  ``n_out`` linear units) predicts the target ``y = W*^T x + noise`` and learns
  by the normalised delta rule at rate ``eta * lr_gain``;
- ``ach`` (`regions.AcetylcholineGain`) reads ctx's error and sends its gain
  (the learner's uncertainty: it shrinks as ``1 / (1 + t / evidence)`` and is reset
  when the fast running squared error exceeds ``threshold`` times the slow one)
  to ``ctx.lr_gain``, one trial late.

The world: ``W*`` is redrawn (entries ``N(0, 1 / n_in)``) at the start of each of
``blocks`` blocks, unannounced; after the last block a random ``perturbed_fraction``
of ctx's synapses are kicked by ``N(0, (perturbation / sqrt(n_in))^2)`` and it
recovers on the same map. A learner "reaches criterion" at the first trial
where its test error ``|W - W*|^2 / |W*|^2`` (exact for these inputs; read
every ``chunk`` trials) is below ``criterion``.

Conditions, paired (each seed: the same stream, the same kick):

- ``ACh``: as above, ``eta`` = ``eta_ach``;
- ``fixed``: gain 1, each rate in ``fixed_rates``; the best is the one fastest to
  criterion in the first block (tuned once, on the first block only);
- ``Adam``: the same network with `AssociativeCortex(rule="adam")`, each rate in
  ``adam_rates``, the best chosen the same way;
- ``lesioned``: the ACh projection cut and the gain held at the intact run's
  mean gain (the prediction of a cholinergic lesion: same average rate, no
  adaptation).

Criteria (per seed, trials summed over the changes, blocks 2..``blocks``):
(a) ACh / best fixed <= 0.67; (b) ACh / best Adam <= 1.5; (c) recovery after the
kick: best fixed / ACh >= 1.5; (d) the lesion loses (a) (lesioned / best fixed
> 0.67) and (c) (best fixed / lesioned < 1.5).
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

import brainsim as bs
from brainsim import check_int, criteria
from regions import AcetylcholineGain, AssociativeCortex

POSITIONS = {"inp": (0.0, 0.0), "ctx": (1.0, 0.0), "ach": (1.0, -1.0)}
GAIN = "ach.gain->ctx.lr_gain.weight"


@dataclasses.dataclass(frozen=True)
class Config:
    """A cortex learning maps that change unannounced, with and without an acetylcholine gain."""

    seed: int = 0
    seeds: int = 5
    n_in: int = 20
    n_out: int = 4
    blocks: int = 4
    block_trials: int = 3000
    recovery_trials: int = 3000
    noise: float = 0.5
    criterion: float = 0.01
    perturbed_fraction: float = 0.2
    perturbation: float = 2.0
    eta_ach: float = 1.0
    fixed_rates: tuple = (0.03, 0.04, 0.05, 0.06, 0.08, 0.1, 0.12)
    adam_rates: tuple = (0.001, 0.002, 0.003, 0.005)
    evidence: float = 20.0
    threshold: float = 2.0
    chunk: int = 10  # trials between readings of the test error

    def __post_init__(self):
        for name in ("seeds", "n_in", "n_out", "blocks", "block_trials", "recovery_trials", "chunk"):
            check_int("ach-adaptive", name, getattr(self, name))
        check_int("ach-adaptive", "seed", self.seed, minimum=0)
        if self.blocks < 2:
            raise ValueError("ach-adaptive: blocks must be >= 2 (the criteria are measured after changes)")
        if self.block_trials % self.chunk or self.recovery_trials % self.chunk:
            raise ValueError("ach-adaptive: block_trials and recovery_trials must be multiples of chunk")
        if not 0.0 < self.perturbed_fraction <= 1.0:
            raise ValueError("ach-adaptive: perturbed_fraction must lie in (0, 1]")
        if not self.fixed_rates or not self.adam_rates:
            raise ValueError("ach-adaptive: fixed_rates and adam_rates need at least one rate each")

    @property
    def trials(self) -> int:
        return self.blocks * self.block_trials + self.recovery_trials


def connectome(c: Config, rule: str = "delta") -> bs.Connectome:
    """inp -> ctx (learns the map) -> ach (reads its error) -> ctx.lr_gain, one trial late."""
    brain = bs.Connectome()
    brain.add("inp", bs.RatePopulation(c.n_in, activation="linear"))
    brain.add("ctx", AssociativeCortex(c.n_in, c.n_out, rule=rule))
    brain.add("ach", AcetylcholineGain(c.n_out))
    brain.connect("inp.rate", "ctx.input", kind="identity")
    brain.connect("ctx.error", "ach.error", kind="identity")
    brain.connect("ach.gain", "ctx.lr_gain", kind="one_to_one", delay=1)
    return brain


def world(c: Config, seed: int) -> dict:
    """Inputs, targets, the true map of every chunk and the kick to ctx's synapses."""
    rng = np.random.default_rng(seed)
    maps = rng.normal(size=(c.blocks, c.n_in, c.n_out)) / np.sqrt(c.n_in)
    per_trial = np.concatenate([np.repeat(maps, c.block_trials, 0),
                                np.repeat(maps[-1:], c.recovery_trials, 0)])
    x = rng.normal(size=(c.trials, c.n_in))
    y = np.einsum("ti,tio->to", x, per_trial) + c.noise * rng.normal(size=(c.trials, c.n_out))
    kicked = rng.random((c.n_in, c.n_out)) < c.perturbed_fraction
    kick = kicked * rng.normal(size=(c.n_in, c.n_out)) * c.perturbation / np.sqrt(c.n_in)
    f32 = lambda a: jnp.asarray(a, jnp.float32)  # noqa: E731
    return {"x": f32(x), "y": f32(y), "maps": f32(per_trial[c.chunk - 1::c.chunk]), "kick": f32(kick)}


def events(c: Config) -> list[int]:
    """Trials at which something changes: the block starts after the first, and the kick."""
    return [b * c.block_trials for b in range(1, c.blocks)] + [c.blocks * c.block_trials]


@functools.lru_cache(maxsize=4)
def simulator(c: Config, rule: str):
    """A jitted ``(params, lr_gain (T,), w) -> (test error per chunk, ach gain per trial)``, built and
    compiled once per config and rule (every seed and rate reuses it)."""
    net = bs.build(connectome(c, rule), dt=1.0)
    params, state = net.init(jax.random.key(0), overrides={"inp.tau": 1.0, "ach.evidence": c.evidence,
                                                          "ach.threshold": c.threshold})
    kick_chunk = c.blocks * c.block_trials // c.chunk

    def simulate(params, lr_gain, w):
        def one(state, chunk):
            i, x, y, gain, target = chunk
            regions = state["regions"]
            kicked = regions["ctx"]["W"] + jnp.where(i == kick_chunk, w["kick"], 0.0)
            state = {**state, "regions": {**regions, "ctx": {**regions["ctx"], "W": kicked}}}
            state, trace = net.run(params, state, c.chunk, record=["ach.gain"],
                                   inputs={"inp.input": x, "ctx.target": y, "ctx.lr_gain": gain})
            ctx = state["regions"]["ctx"]
            error = (jnp.sum((ctx["W"] - target) ** 2) + jnp.sum(ctx["b"] ** 2)) / jnp.sum(target ** 2)
            return state, (error, trace["ach.gain"])

        n = c.trials // c.chunk
        shaped = lambda a: a.reshape(n, c.chunk, *a.shape[1:])  # noqa: E731
        _, (error, gain) = jax.lax.scan(one, state, (jnp.arange(n), shaped(w["x"]), shaped(w["y"]),
                                                     shaped(lr_gain), w["maps"]))
        return error, gain.reshape(-1)

    return params, jax.jit(simulate)


def trials_to_criterion(c: Config, error: np.ndarray) -> np.ndarray:
    """Trials from the start of each block (and from the kick) to the first reading below
    ``criterion``; the segment's length when it never gets there."""
    starts = [0, *events(c)]
    ends = [*events(c), c.trials]
    out = []
    for start, end in zip(starts, ends):
        below = np.flatnonzero(error[start // c.chunk:end // c.chunk] < c.criterion)
        out.append((below[0] + 1) * c.chunk if below.size else end - start)
    return np.array(out)


def conditions(c: Config, seed: int) -> dict:
    """Every condition's test-error curve and trials to criterion on one seed's world."""
    w = world(c, seed)
    params, run = simulator(c, "delta")
    ones, zeros = jnp.ones(c.trials), jnp.zeros(c.trials)
    out = {}

    def rate(p, eta, gain_weight):
        return bs.set(bs.set(p, "ctx.eta", eta), GAIN, jnp.full((1,), gain_weight))

    error, gain = run(rate(params, c.eta_ach, 1.0), zeros, w)
    out["ACh"] = {"error": np.asarray(error), "gain": np.asarray(gain)}
    mean_gain = float(np.mean(gain))
    error, _ = run(rate(params, c.eta_ach, 0.0), jnp.full(c.trials, mean_gain), w)
    out["lesioned"] = {"error": np.asarray(error), "gain": mean_gain}
    for name, rule, rates in (("fixed", "delta", c.fixed_rates), ("Adam", "adam", c.adam_rates)):
        p, sim = (params, run) if rule == "delta" else simulator(c, rule)
        curves = [np.asarray(sim(rate(p, eta, 0.0), ones, w)[0]) for eta in rates]
        first = [trials_to_criterion(c, e)[0] for e in curves]
        best = int(np.argmin(first))
        out[name] = {"error": curves[best], "rate": float(rates[best]), "first_block": first}
    for cond in out.values():
        cond["trials"] = trials_to_criterion(c, cond["error"])
    return out


def run(config: Config, out_dir) -> dict:
    c = config
    out = Path(out_dir)
    seeds = list(range(c.seed, c.seed + c.seeds))
    results = {}
    for seed in tqdm(seeds, desc="ach-adaptive", unit="seed"):
        results[seed] = conditions(c, seed)
    changes = slice(1, c.blocks)

    def over_changes(a, b):
        return [float(results[s][a]["trials"][changes].sum() / results[s][b]["trials"][changes].sum())
                for s in seeds]

    def recovery(a, b):  # how many times faster a recovers from the kick than b
        return [float(results[s][b]["trials"][-1] / results[s][a]["trials"][-1]) for s in seeds]

    crit = {
        "a_trials_after_changes_ach_over_best_fixed": criteria.criterion(over_changes("ACh", "fixed"),
                                                                         "<= 0.67"),
        "b_trials_after_changes_ach_over_adam": criteria.criterion(over_changes("ACh", "Adam"), "<= 1.5"),
        "c_recovery_after_perturbation_speedup_over_fixed": criteria.criterion(recovery("ACh", "fixed"),
                                                                               ">= 1.5"),
        "d_lesioned_trials_after_changes_over_best_fixed": criteria.criterion(
            over_changes("lesioned", "fixed"), "> 0.67"),
        "d_lesioned_recovery_speedup_over_fixed": criteria.criterion(recovery("lesioned", "fixed"), "< 1.5"),
    }
    per_change = {name: [[float(results[s][name]["trials"][k] / results[s]["fixed"]["trials"][k])
                          for k in range(1, c.blocks)] for s in seeds] for name in ("ACh", "lesioned")}
    effects = {
        "trials_to_criterion": {name: {str(s): results[s][name]["trials"].tolist() for s in seeds}
                                for name in ("ACh", "fixed", "Adam", "lesioned")},
        "ach_over_fixed_each_change": per_change["ACh"],
        "ach_over_fixed_worst_change": criteria.effect([max(r) for r in per_change["ACh"]]),
        "lesioned_over_fixed_each_change": per_change["lesioned"],
        "best_fixed_rate": {str(s): results[s]["fixed"]["rate"] for s in seeds},
        "best_adam_rate": {str(s): results[s]["Adam"]["rate"] for s in seeds},
        "lesioned_gain": criteria.effect([results[s]["lesioned"]["gain"] for s in seeds]),
        "events_at_trial": events(c),
    }
    figures(c, results, seeds, out)
    return {"criteria": crit, "effects": effects, "seeds": seeds}


def figures(c: Config, results, seeds, out: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 1, figsize=(13, 8), sharex=True, constrained_layout=True)
    trial = np.arange(c.trials)
    example = results[seeds[0]]
    axes[0].plot(trial, example["ACh"]["gain"], color="C3", lw=0.8, label="ACh gain (seed %d)" % seeds[0])
    axes[0].axhline(example["lesioned"]["gain"], color="C7", ls="--", lw=1, label="lesioned: its mean")
    axes[0].set_yscale("log")
    axes[0].set_ylabel("ACh gain on the cortical learning rate")
    axes[0].set_title("acetylcholine over trials (dotted: unannounced changes of the map; dash-dot: a kick "
                      "to 20% of the synapses)")
    readings = (np.arange(c.trials // c.chunk) + 1) * c.chunk
    for name, colour in (("ACh", "C3"), ("fixed", "C0"), ("Adam", "C2"), ("lesioned", "C7")):
        curves = np.stack([results[s][name]["error"] for s in seeds])
        median = np.median(curves, 0)
        axes[1].plot(readings, median, color=colour, lw=1, label=name)
        axes[1].fill_between(readings, curves.min(0), curves.max(0), color=colour, alpha=0.15, lw=0)
    axes[1].axhline(c.criterion, color="k", lw=0.7, label="criterion")
    axes[1].set_yscale("log")
    axes[1].set_ylabel(f"test error |W - W*|^2 / |W*|^2 (median, range of {len(seeds)} seeds)")
    axes[1].set_xlabel("trial")
    axes[1].legend(frameon=False, ncol=5)
    axes[0].legend(frameon=False)
    for ax in axes:
        for k, t in enumerate(events(c)):
            ax.axvline(t, color="0.4", lw=0.8, ls=":" if k < c.blocks - 1 else "-.")
    fig.savefig(out / "ach_adaptive.png", dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4), constrained_layout=True)
    bs.plot.connectome(connectome(c), ax=ax, positions=POSITIONS)
    ax.set_title("ach-adaptive connectome (ctx's synapses learn; ach scales their rate)")
    fig.savefig(out / "connectome.png", dpi=100)
    plt.close(fig)
