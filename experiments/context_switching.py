"""Basal ganglia select thalamic control patterns for cortex (Wang & Halassa 2021; Rikhye et al. 2018).

Two contexts with conflicting stimulus-response maps (`bs.tasks.ContextSwitching`,
``pro`` and ``anti`` over 6 stimuli) alternate in blocks, A, B, A, B, with no
cue: the context must be inferred from the outcomes. A cortex that learns
both maps in the same weights overwrites A while it learns B (catastrophic
interference). Thalamic control avoids it: the mediodorsal thalamus sets a
pattern of gains over cortex, which selects the subnetwork that computes, so
a context learned under its own pattern survives the other's learning, and a
return to a seen context needs only the old pattern back, not relearning
(Rikhye, Gilra & Halassa 2018, Nat Neurosci 21, 1753; Wang & Halassa 2021,
Neuron 109, 2411). Here the basal ganglia choose the pattern, and dopamine
makes them change it when a pattern stops paying.

Model (`regions.thalamic_context_loop`, dt = 10 ms, 5 steps a trial):

- ``ctx``: 256 tanh units, learning slowly online: after each trial one SGD
  step (``lr``, gradient norm clipped at ``clip``) on the cross-entropy of the
  response, truncated at the trial's start (`brainsim.online`). All its
  synaptic input (sensory and recurrent) is scaled by the thalamic gain;
- ``th``: 2 control patterns, each a random 0/1 mask over cortex that keeps
  ``active_fraction`` of the units (independent masks, so they overlap);
- ``bg``: 2 channels, GPR circuit; channel ``k``'s salience is a learned
  weight ``w_k`` from a tonic unit, plus exploration noise, plus ``latch``
  times its own thalamic gate (the loop holds a selection); the winner's GPi
  pause opens its thalamic block; the chosen channel's weight learns from
  dopamine and the others' relax to ``w_rest`` (over ``forget_trials``),
  ``dw_k/dt = eta_bg g_k rpe e_k - (1 - g_k) (w_k - w_rest) / tau_forget``,
  ``g_k`` its gate, clipped to ``[w_min, w_max]``;
- ``critic``/``vta``: the critic reads the thalamic relay, so the RPE of a
  trial's reward is ``r - V(pattern)``. When the context switches, the chosen
  pattern stops paying what it used to, its weight falls until the other
  channel takes over, and a new pattern, expected to pay little, is not
  punished while cortex learns under it.

Conditions, paired (same seed: same cortex, masks, stimuli):

- ``thalamic control``: as above;
- ``cortex only``: the thalamic gain cut (``th.W_g`` = 0, gain 1 everywhere):
  the same RNN trained the same way;
- ``selection lesioned``: the striatum's dopamine-gated learning cut
  (``bg.eta`` = 0), so the basal ganglia keep their first pattern and cortex
  learns both contexts under it (control (c)).

Measures (accuracy is the probability of the correct response at the
decision, averaged over trials; learning frozen in every probe):

- (a) after block B, accuracy on A with A's pattern held (the channel
  selected most in the last 50 trials of the first A block) and, for cortex
  only, on A; the same probe at the end of the first A block, for the drop;
- (b) on each return to a seen context (blocks 3 and 4), with cortical
  learning frozen (basal ganglia still learning), the trials until the mean
  accuracy of 5 consecutive trials first reaches 0.9, the slower of the two
  returns per seed; the speed-up is the cortex-only baseline's trials to the
  same level (its learning on) over these, both averaged over the returns;
- (c) selection lesioned: the trials to the same level on each return with
  cortical learning on (with it frozen nothing could change, so that would
  hold by construction), the slower return per seed, in every seed.

Full size (5 seeds, 15 runs of 1,600 trials) on 2 CPU cores: about 25 s.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

import brainsim as bs
from brainsim import check_int, check_real, criteria
from regions.loops import THALAMIC_CONTEXT_POSITIONS, thalamic_context_loop
from regions.thalamus import control_patterns

CONDITIONS = ("thalamic control", "cortex only", "selection lesioned")
TRAINABLE = ("ctx.W_rec", "task.obs->ctx.recurrent.weight", "ctx.rate->policy.logits.weight")
DT = 10.0
RECORD = ("policy.probs", "task.target", "task.scored", "th.gate", "bg.channel_salience")
WINDOW = 5  # trials whose mean accuracy must reach the recovery level
LEVEL = 0.9


@dataclasses.dataclass(frozen=True)
class Config:
    """Uncued pro/anti blocks learned by a slow cortex under basal-ganglia-selected thalamic patterns."""

    seed: int = 0  # the first seed
    seeds: int = 5  # paired seeds seed, seed + 1, ...
    n_cortex: int = 256
    per_channel: int = 4  # thalamic relay units per pattern
    active_fraction: float = 0.5  # of cortical units kept by each pattern
    n_stimuli: int = 6
    block_trials: int = 400
    blocks: int = 4  # A, B, A, B, ...
    lr: float = 0.02  # cortical SGD step per trial
    clip: float = 1.0  # gradient norm
    eta_bg: float = 0.007  # per ms
    w_min: float = 0.3  # cortico-striatal weight bounds (GPR selects cleanly in this range)
    w_max: float = 0.9
    w_rest: float = 0.7  # where the weight of a channel not chosen relaxes to
    forget_trials: float = 200.0  # the time constant of that relaxation, in trials
    noise: float = 0.05  # striatal exploration noise (sd), breaks ties
    latch: float = 0.2  # thalamostriatal feedback: the salience a selected channel adds to itself
    eta_critic: float = 0.002  # per ms
    recovery_probe: int = 100  # trials of each frozen return probe
    probe_trials: int = 40  # trials of each accuracy probe

    def __post_init__(self):
        check_int("context-switching", "seed", self.seed, minimum=0)
        for name in ("seeds", "n_cortex", "per_channel", "n_stimuli", "block_trials", "recovery_probe",
                     "probe_trials"):
            check_int("context-switching", name, getattr(self, name))
        check_int("context-switching", "blocks (A, B and a return to A at least)", self.blocks, minimum=3)
        if self.block_trials < 60:
            raise ValueError("context-switching: block_trials must be at least 60 (A's pattern is read "
                             "from the last 50 trials of the first block)")
        if self.recovery_probe < 20 + WINDOW or self.probe_trials < 5:
            raise ValueError("context-switching: recovery_probe must be at least 25 and probe_trials "
                             "at least 5")
        if not 0 < self.active_fraction <= 1:
            raise ValueError(f"context-switching: active_fraction must lie in (0, 1], "
                             f"got {self.active_fraction}")
        for name in ("lr", "clip", "eta_bg", "noise", "eta_critic", "latch", "w_min"):
            check_real("context-switching", name, getattr(self, name), minimum=0.0)
        check_real("context-switching", "forget_trials", self.forget_trials, minimum=0.0, strict=True)
        if not self.w_min <= self.w_rest < self.w_max:
            raise ValueError(f"context-switching: need w_min <= w_rest < w_max, got {self.w_min}, "
                             f"{self.w_rest}, {self.w_max}")


def task_of(c: Config) -> bs.tasks.ContextSwitching:
    return bs.tasks.ContextSwitching(n_stimuli=c.n_stimuli, stimulus_steps=4, block_trials=c.block_trials,
                                     schedule=("pro", "anti"), cued=False)


def connectome(c: Config) -> bs.Connectome:
    return thalamic_context_loop(task_of(c), n_cortex=c.n_cortex, channels=2, per_channel=c.per_channel,
                                 latch=c.latch, bounds=(c.w_min, c.w_max))


def masks_of(c: Config, seed: int) -> np.ndarray:
    rng = np.random.default_rng([seed, 1])
    return (rng.random((2, c.n_cortex)) < c.active_fraction).astype(np.float32)


def with_region_state(state, region: str, **leaves):
    """``state`` with some of ``region``'s state leaves replaced (cast to their dtype and shape)."""
    old = state["regions"][region]
    new = {**old, **{k: jnp.asarray(v, old[k].dtype).reshape(old[k].shape) for k, v in leaves.items()}}
    return {**state, "regions": {**state["regions"], region: new}}


def with_bg_weights(state, w):
    return with_region_state(state, "bg", W_cs=w)


def with_trial(state, trial: int):
    """The task moved to ``trial`` of its schedule, at the trial's first step."""
    return with_region_state(state, "task", trial=trial, t=0)


def start(c: Config, seed: int, name: str, net):
    """Params and state of one condition; the first pattern is chosen at random (the seed)."""
    params, state = net.init(jax.random.key(seed), overrides={
        "tonic.bias": 1.0, "tonic.tau": DT, "th.tau": DT, "vta.gamma": 1.0,
        "th.W_g": control_patterns(masks_of(c, seed), c.per_channel),
        "bg.eta": c.eta_bg, "bg.w_rest": c.w_rest,
        "bg.forget": 1.0 / (c.forget_trials * DT * task_of(c).trial_length),
        "noise.tau": 100.0, "noise.sigma": c.noise, "critic.eta": c.eta_critic})
    first = np.random.default_rng([seed, 2]).integers(2)
    state = with_bg_weights(state, np.where(np.arange(2) == first, c.w_max, c.w_rest))
    if name == "cortex only":
        params = bs.set(params, "th.W_g", 0.0)
    elif name == "selection lesioned":
        params = bs.set(params, "bg.eta", 0.0)
    return params, state


def trial_loss(trace):
    """Cross-entropy of the response at the decision; per trial, P(correct) and the channel gates."""
    p_correct = jnp.sum(trace["policy.probs"] * trace["task.target"], axis=-1)
    loss = -jnp.sum(trace["task.scored"] * jnp.log(p_correct + 1e-7))
    gates = trace["th.gate"][-1].reshape(2, -1).mean(-1)
    return loss, {"accuracy": p_correct[-1], "gates": gates, "salience": trace["bg.channel_salience"][-1]}


def learner(c: Config, net):
    optimiser = optax.chain(optax.clip_by_global_norm(c.clip), optax.sgd(c.lr))
    return bs.online.trials(net, trial_loss, optimiser, steps_per_trial=task_of(c).trial_length,
                            record=RECORD, trainable=TRAINABLE)


def frozen_selection(params):
    """No learning anywhere and no exploration: a probe of one fixed pattern."""
    for path in ("bg.eta", "bg.forget", "critic.eta", "noise.sigma"):
        params = bs.set(params, path, 0.0)
    return params


def probe_accuracy(c: Config, trials, params, opt_state, state, context_trial: int, pattern: int | None):
    """Mean accuracy in the context of ``context_trial``, cortex frozen, with ``pattern`` held (or the
    basal ganglia's current choice, ``None``), and the mean gate of that pattern; the first 2 trials
    (settling) are left out."""
    p = params
    if pattern is not None:
        p = frozen_selection(params)
        state = with_bg_weights(state, np.where(np.arange(2) == pattern, c.w_max, c.w_rest))
    *_, out = trials(p, opt_state, with_trial(state, context_trial), n=c.probe_trials, learning=0.0)
    gates = np.asarray(out["summary"]["gates"])[2:]
    return (float(np.mean(np.asarray(out["summary"]["accuracy"])[2:])),
            float(gates[:, pattern].mean()) if pattern is not None else float("nan"))


def trials_to_recover(accuracy) -> int:
    """The 1-based trial that ends the first run of ``WINDOW`` trials with mean accuracy >= ``LEVEL``
    (``len(accuracy) + 1`` if none)."""
    running = np.convolve(accuracy, np.ones(WINDOW) / WINDOW, mode="valid")
    above = np.flatnonzero(running >= LEVEL)
    return int(above[0]) + WINDOW if above.size else len(accuracy) + 1


def condition(c: Config, seed: int, name: str, net, trials) -> dict:
    """One seed, one condition: the block schedule, the frozen returns and the probe of A after B."""
    params, state = start(c, seed, name, net)
    opt_state = trials.init(params)
    accuracy, gates, salience, returns, probes = [], [], [], [], {}
    for block in range(c.blocks):
        if block >= 2:  # a return to a seen context: can it be recovered without cortical learning?
            *_, out = trials(params, opt_state, state, n=c.recovery_probe, learning=0.0)
            returns.append(np.asarray(out["summary"]["accuracy"]))
        params, opt_state, state, out = trials(params, opt_state, state, n=c.block_trials, learning=1.0)
        accuracy.append(np.asarray(out["summary"]["accuracy"]))
        gates.append(np.asarray(out["summary"]["gates"]))
        salience.append(np.asarray(out["summary"]["salience"]))
        if block <= 1:  # A's accuracy with A's pattern, once learned and once B has been learned after it
            pattern_a = None if name == "cortex only" else int(np.argmax(gates[0][-50:].mean(0)))
            probes["a_after_a" if block == 0 else "a_after_b"] = probe_accuracy(
                c, trials, params, opt_state, state, 0, pattern_a)
    return {"accuracy": np.concatenate(accuracy), "gates": np.concatenate(gates),
            "salience": np.concatenate(salience), "returns": np.stack(returns), **probes}


def measure(c: Config, results: dict) -> dict:
    """Per seed: the probes of A, the recovery on each return (the slower of the returns, and their
    mean for the speed-up), and the accuracy each model reaches in its blocks."""
    m = {k: [] for k in ("a_after_a", "a_after_b", "control_a_after_a", "control_a_after_b", "a_pattern_gate",
                         "frozen_recovery_trials", "frozen_recovery_trials_mean", "baseline_recovery_trials",
                         "recovery_speedup", "lesioned_recovery_trials", "lesioned_frozen_recovery_trials",
                         "learning_recovery_trials", "b_learned", "control_b_learned", "final_block_accuracy",
                         "control_final_block_accuracy")}

    def returns_of(accuracy):  # trials to recover in each block that returns to a seen context
        return [trials_to_recover(accuracy[b * c.block_trials:(b + 1) * c.block_trials])
                for b in range(2, c.blocks)]

    def end_of_block(accuracy, block):
        return accuracy[(block + 1) * c.block_trials - 50:(block + 1) * c.block_trials].mean()

    for run in results.values():
        thalamic, cortex, lesioned = (run[name] for name in CONDITIONS)
        m["a_after_a"].append(thalamic["a_after_a"][0])
        m["a_after_b"].append(thalamic["a_after_b"][0])
        m["a_pattern_gate"].append(thalamic["a_after_b"][1])
        m["control_a_after_a"].append(cortex["a_after_a"][0])
        m["control_a_after_b"].append(cortex["a_after_b"][0])
        frozen = [trials_to_recover(r) for r in thalamic["returns"]]
        baseline = returns_of(cortex["accuracy"])
        m["frozen_recovery_trials"].append(max(frozen))
        m["frozen_recovery_trials_mean"].append(np.mean(frozen))
        m["baseline_recovery_trials"].append(np.mean(baseline))
        m["recovery_speedup"].append(np.mean(baseline) / np.mean(frozen))
        m["lesioned_recovery_trials"].append(max(returns_of(lesioned["accuracy"])))
        m["lesioned_frozen_recovery_trials"].append(max(trials_to_recover(r) for r in lesioned["returns"]))
        m["learning_recovery_trials"].append(max(returns_of(thalamic["accuracy"])))
        m["b_learned"].append(end_of_block(thalamic["accuracy"], 1))
        m["control_b_learned"].append(end_of_block(cortex["accuracy"], 1))
        m["final_block_accuracy"].append(thalamic["accuracy"][-50:].mean())
        m["control_final_block_accuracy"].append(cortex["accuracy"][-50:].mean())
    return m


def run(config: Config, out_dir) -> dict:
    c = config
    out = Path(out_dir)
    net = bs.build(connectome(c), dt=DT)
    trials = learner(c, net)
    seeds = list(range(c.seed, c.seed + c.seeds))
    def one(seed, name):
        return condition(c, seed, name, net, trials)

    results = criteria.paired_runs(seeds, CONDITIONS, one, "context-switching")
    np.savez_compressed(out / "accuracy.npz", **{f"{name}/seed{s}/{key}": results[s][name][key]
                                                 for s in seeds for name in CONDITIONS
                                                 for key in ("accuracy", "gates", "salience", "returns")})
    m = measure(c, results)
    crit = {
        "a_accuracy_after_b_with_a_pattern": criteria.criterion(m["a_after_b"], ">= 0.85"),
        "cortex_only_a_accuracy_after_b": criteria.criterion(m["control_a_after_b"], "<= 0.6"),
        "return_trials_to_90pct_cortex_frozen_slower_return": criteria.criterion(m["frozen_recovery_trials"],
                                                                                 "<= 20"),
        "return_speedup_over_cortex_only": criteria.criterion(m["recovery_speedup"], ">= 5"),
        "control_selection_lesioned_return_trials_cortex_learning":
            criteria.criterion(m["lesioned_recovery_trials"], "> 20", every_seed=True),
    }
    effects = {name: criteria.effect(values) for name, values in m.items()}
    figures(c, results, seeds, net, out)
    return {"criteria": crit, "effects": effects, "seeds": seeds}


def figures(c: Config, results, seeds, net, out: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = c.blocks * c.block_trials
    trial = np.arange(1, n + 1)
    smooth = np.ones(10) / 10

    def shade(ax):
        for b in range(c.blocks):
            if b % 2:
                ax.axvspan(b * c.block_trials + 0.5, (b + 1) * c.block_trials + 0.5, color="0.93", zorder=0)
            ax.text((b + 0.5) * c.block_trials, 1.04, "AB"[b % 2], ha="center", fontsize="small")

    # 1. accuracy over the schedule, with the spread over seeds
    fig, ax = plt.subplots(figsize=(11, 4), constrained_layout=True)
    for name, colour in zip(CONDITIONS, ("C0", "C3", "C2")):
        acc = np.stack([np.convolve(results[s][name]["accuracy"], smooth, mode="same") for s in seeds])
        ax.plot(trial, acc.mean(0), color=colour, lw=1.2, label=name)
        ax.fill_between(trial, acc.min(0), acc.max(0), color=colour, alpha=0.12, lw=0)
    shade(ax)
    ax.set_ylim(-0.02, 1.1)
    ax.set_xlabel("trial (blocks of pro (A) and anti (B), uncued)")
    ax.set_ylabel(f"P(correct), 10-trial mean; range over {len(seeds)} seeds")
    ax.legend(frameon=False, loc="lower right", fontsize="small")
    fig.savefig(out / "learning_curves.png", dpi=100)
    plt.close(fig)

    # 2. which pattern the basal ganglia select, trial by trial (thalamic control)
    fig, axes = plt.subplots(2, 1, figsize=(11, 4.5), constrained_layout=True, sharex=True)
    chosen = np.stack([np.where(results[s]["thalamic control"]["gates"].max(1) > 0.5,
                                results[s]["thalamic control"]["gates"].argmax(1), -1) for s in seeds])
    axes[0].imshow(chosen, aspect="auto", interpolation="nearest", cmap=plt.matplotlib.colors.ListedColormap(
        ["0.85", "C1", "C4"]), vmin=-1, vmax=1, extent=(0.5, n + 0.5, len(seeds) - 0.5, -0.5))
    axes[0].set_yticks(range(len(seeds)), [f"seed {s}" for s in seeds], fontsize="small")
    axes[0].set_title("selected pattern (orange: 1, purple: 2, grey: none open)", fontsize="small")
    salience = results[seeds[0]]["thalamic control"]["salience"]
    for k, colour in enumerate(("C1", "C4")):
        axes[1].plot(trial, salience[:, k], color=colour, lw=0.8, label=f"pattern {k + 1}")
    axes[1].set_ylabel(f"striatal salience, seed {seeds[0]}")
    axes[1].set_xlabel("trial")
    axes[1].legend(frameon=False, fontsize="small")
    fig.savefig(out / "selection.png", dpi=100)
    plt.close(fig)

    # 3. returns to a seen context: the frozen cortex under the basal ganglia's choice, and relearning
    fig, ax = plt.subplots(figsize=(7, 4), constrained_layout=True)
    first = np.arange(1, c.recovery_probe + 1)

    def relearning(name):
        return np.stack([np.mean([results[s][name]["accuracy"][b * c.block_trials:][:c.recovery_probe]
                                  for b in range(2, c.blocks)], axis=0) for s in seeds])

    for acc, colour, style, label in (
            (np.stack([results[s]["thalamic control"]["returns"].mean(0) for s in seeds]), "C0", "-",
             "thalamic control, cortex frozen"),
            (relearning("cortex only"), "C3", "-", "cortex only, learning"),
            (relearning("selection lesioned"), "C2", "-", "selection lesioned, learning"),
            (np.stack([results[s]["selection lesioned"]["returns"].mean(0) for s in seeds]), "C2", ":",
             "selection lesioned, cortex frozen")):
        ax.plot(first, acc.mean(0), color=colour, ls=style, label=label)
        if style == "-":
            ax.fill_between(first, acc.min(0), acc.max(0), color=colour, alpha=0.12, lw=0)
    ax.axhline(LEVEL, color="k", lw=0.6, ls=":")
    ax.axvline(20, color="k", lw=0.6, ls=":")
    ax.set_xlabel("trials after the return to a seen context")
    ax.set_ylabel("P(correct), mean and range over seeds")
    ax.legend(frameon=False, fontsize="small")
    fig.savefig(out / "recovery.png", dpi=100)
    plt.close(fig)

    # 4. the connectome, drawn from the network that ran
    fig, ax = plt.subplots(figsize=(9, 7), constrained_layout=True)
    bs.plot.connectome(net, ax=ax, positions=THALAMIC_CONTEXT_POSITIONS)
    ax.set_title("context-switching connectome (controls: th.W_g = 0; bg.eta = 0)")
    fig.savefig(out / "connectome.png", dpi=100)
    plt.close(fig)
