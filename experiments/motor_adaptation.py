"""Fast cerebellar and slow cortical motor adaptation, with savings (Smith, Ghazizadeh & Shadmehr 2006; Pemberton et al. 2024).

Adaptation to a visuomotor rotation behaves as the sum of two processes: a
fast one that learns quickly and forgets, and a slow one that learns little
per trial and keeps it (the two-rate model of Smith, Ghazizadeh & Shadmehr
2006, PLoS Biol 4, e179). Here the fast process is the cerebellum, taught by
climbing fibres, and the slow one is cortex, tutored by the cerebellum's
output (Pemberton, Chadderton & Costa 2024, Nat Commun): what the cerebellum
learns is consolidated in cortex, so its share of the compensation moves
from cerebellum to cortex over prolonged exposure.

Model (`regions.cerebellar_motor_loop`, one step per step):

- ``task``: `bs.tasks.Reaching`, 8 targets on a unit circle, the target on
  screen all trial, 2 steps before the go and 10 of movement; the cursor is
  the hand rotated by ``rotation`` degrees during exposure and re-exposure
  (schedule baseline -> exposure -> washout -> re-exposure);
- ``ctx``: 100 tanh units with fixed random recurrence, reading the screen;
  its readout to the motor command starts as a skilled reacher (ridge
  regression on the task's unperturbed plan over ``fit_trials`` trials) and
  then learns slowly, ``dW = eta_cortex x (tutor dcn + error_to_cortex e)^T``;
- ``cb``: `regions.Cerebellum`, 200 granule cells expanding the cortical
  efference copy; its nuclear output adds to the command; parallel-fibre
  synapses learn fast from the inferior olive's motor error ``e`` (the
  task's corrective command minus the command sent) by normalised LMS,
  ``eta_cb``, and forget, ``forget`` per step;
- ``io``: the inferior olive, ``e = target - actual``.

Measured per trial: the endpoint error, the distance from cursor to target
at the end of the movement. Probes every ``probe_every`` trials of the first
exposure: with all learning frozen, one reach to each target with the
cerebellar output intact and one with it lesioned (its weights to motor and
to the tutor zeroed: a change of params, no rebuild); compensation is the
angle by which the hand leads the target against the rotation, and cortex's
share is the lesioned compensation over the intact one.

Control, paired (the same seed: the same cortex, granule wiring and targets):
the cerebellum lesioned from the start.

Full size (5 seeds) on 2 CPU cores: about 25 s.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import brainsim as bs
from brainsim import criteria
from regions.loops import CEREBELLAR_MOTOR_POSITIONS, cerebellar_motor_loop

CONDITIONS = ("intact", "cerebellum lesioned")
CEREBELLAR_OUTPUT = ("cb.dcn->motor.input.weight", "cb.dcn->tutor.input.weight")
LEARNING_RATES = ("ctx.rate->motor.input.eta", "cb.eta", "cb.forget")  # forgetting too: nothing changes


@dataclasses.dataclass(frozen=True)
class Config:
    """Visuomotor rotation learned by a fast cerebellum and a slow, cerebellum-tutored cortex."""

    seed: int = 0  # the first seed
    seeds: int = 5  # paired seeds seed, seed + 1, ...
    rotation: float = 30.0  # degrees
    baseline: int = 40  # trials
    exposure: int = 150
    washout: int = 40
    reexposure: int = 150
    n_cortex: int = 100
    n_granule: int = 200
    eta_cb: float = 0.1  # per step (normalised LMS)
    forget: float = 0.01  # per step: the cerebellum keeps 0.89 of its weights per trial
    eta_cortex: float = 1e-3  # per step
    tutor: float = 0.1  # weight of the cerebellar output in cortex's teacher
    error_to_cortex: float = 0.01  # weight of the motor error in cortex's teacher
    fit_trials: int = 64  # unperturbed trials for the baseline readout
    probe_every: int = 5  # trials between probes of the first exposure

    def __post_init__(self):
        for name in ("seeds", "baseline", "exposure", "washout", "reexposure", "n_cortex", "n_granule",
                     "fit_trials", "probe_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"motor-adaptation: {name} must be an int >= 1, got {value!r}")
        if self.exposure < 20 or self.reexposure < 20:
            raise ValueError("motor-adaptation: exposure and reexposure need at least 20 trials "
                             "(the halving criterion looks at trial 20)")
        if self.exposure % self.probe_every:
            raise ValueError(f"motor-adaptation: probe_every = {self.probe_every} must divide "
                             f"exposure = {self.exposure}")
        for name in ("eta_cb", "forget", "eta_cortex", "tutor", "error_to_cortex"):
            if getattr(self, name) < 0:
                raise ValueError(f"motor-adaptation: {name} must not be negative")
        if self.eta_cb >= 2:
            raise ValueError(f"motor-adaptation: eta_cb must stay below 2 for normalised LMS, got {self.eta_cb}")
        if not 0 <= self.forget < 1:
            raise ValueError(f"motor-adaptation: forget must lie in [0, 1), got {self.forget}")


def task_of(c: Config) -> bs.tasks.Reaching:
    return bs.tasks.Reaching(n_targets=8, cue_steps=2, move_steps=10, perturbation="rotation",
                             target_visible=True,
                             schedule=(("baseline", c.baseline), ("exposure", c.exposure),
                                       ("washout", c.washout), ("reexposure", c.reexposure)))


def connectome(c: Config) -> bs.Connectome:
    return cerebellar_motor_loop(task_of(c), c.n_cortex, c.n_granule, eta_cortex=c.eta_cortex,
                                 tutor=c.tutor, error_to_cortex=c.error_to_cortex)


def lesioned(params):
    """The cerebellar output cut: to motor and to cortex's teacher."""
    for path in CEREBELLAR_OUTPUT:
        params = bs.set(params, path, 0.0)
    return params


def frozen(params):
    """Every learning rate and the cerebellum's forgetting zero (a probe changes nothing)."""
    for path in LEARNING_RATES:
        params = bs.set(params, path, 0.0)
    return params


def skilled_start(c: Config, seed: int, net):
    """Params and state of a cortex that reaches well before any perturbation.

    The readout ``ctx.rate -> motor.input`` (plastic, so in state) is fitted by
    ridge regression to the task's unperturbed plan (``task.naive``) over
    ``fit_trials`` trials run with learning frozen and no rotation; the
    experiment then starts from the initial state with that readout.
    """
    params, state = net.init(jax.random.key(seed), overrides={
        "ctx.tau": 1.0, "motor.tau": 1.0, "tutor.tau": 1.0, "cb.W_md": 0.0, "cb.eta": c.eta_cb,
        "cb.forget": c.forget, "task.rotation": c.rotation})
    task = task_of(c)
    unperturbed = bs.set(frozen(params), "task.rotation", 0.0)  # the fit may run past the baseline block
    _, trace = net.run(unperturbed, state, c.fit_trials * task.trial_length,
                       record=["ctx.rate", "task.naive"])
    rates, plan = np.asarray(trace["ctx.rate"], np.float64), np.asarray(trace["task.naive"], np.float64)
    readout = np.linalg.solve(rates.T @ rates + 1e-3 * np.eye(rates.shape[1]), rates.T @ plan)
    projections = dict(state["projections"])
    weight = projections["ctx.rate->motor.input"]["weight"]
    projections["ctx.rate->motor.input"] = {**projections["ctx.rate->motor.input"],
                                            "weight": jnp.asarray(readout, weight.dtype)}
    return params, {**state, "projections": projections}


def _probe_fn(net, task):
    """Compensation (degrees) per target from a state, learning frozen."""
    targets = np.stack([np.cos(2 * np.pi * np.arange(task.n_targets) / task.n_targets),
                        np.sin(2 * np.pi * np.arange(task.n_targets) / task.n_targets)], axis=1)

    @jax.jit
    def reach(params, state):
        def one(k):
            task_state = {**state["regions"]["task"], "target": k.astype(jnp.int32),
                          "t": jnp.zeros((), jnp.int32), "hand": jnp.zeros_like(state["regions"]["task"]["hand"])}
            start = {**state, "regions": {**state["regions"], "task": task_state}}
            _, trace = net.run(frozen(params), start, task.trial_length,
                               record=["task.cursor", "task.perturbed"])
            return trace["task.cursor"], trace["task.perturbed"][-1]
        return jax.vmap(one)(jnp.arange(task.n_targets))

    def compensation(params, state, rotation):
        cursor, on = (np.asarray(a, np.float64) for a in reach(params, state))
        hand_angle = np.degrees(np.arctan2(cursor[:, -1, 1], cursor[:, -1, 0])) - rotation * on
        target_angle = np.degrees(np.arctan2(targets[:, 1], targets[:, 0]))
        lead = (target_angle - hand_angle + 180.0) % 360.0 - 180.0
        return float(lead.mean()), cursor

    return compensation


def condition(c: Config, seed: int, name: str, net) -> dict:
    """One seed, one condition: the endpoint error of every trial, and the probes."""
    task = task_of(c)
    params, state = skilled_start(c, seed, net)
    if name == "cerebellum lesioned":
        params = lesioned(params)
    T = task.trial_length
    run = jax.jit(lambda p, s, n: net.run(p, s, n * T, record=["task.cursor", "task.obs"]),
                  static_argnums=2)
    compensation = _probe_fn(net, task)
    errors, targets = [], []
    probes = {"trial": [], "intact": [], "lesioned": []}
    paths = {}

    def advance(trials):
        nonlocal state
        state, trace = run(params, state, trials)
        cursor = np.asarray(trace["task.cursor"]).reshape(trials, T, 2)
        screen = np.asarray(trace["task.obs"]).reshape(trials, T, 3)
        errors.extend(np.linalg.norm(cursor[:, -1] - screen[:, -1, :2], axis=1))
        targets.extend(screen[:, -1, :2])

    advance(c.baseline)
    for k in range(c.exposure // c.probe_every):
        advance(c.probe_every)
        intact, intact_paths = compensation(params, state, c.rotation)
        cut, cut_paths = compensation(lesioned(params), state, c.rotation)
        probes["trial"].append((k + 1) * c.probe_every)
        probes["intact"].append(intact)
        probes["lesioned"].append(cut)
        if k == 0 or k == c.exposure // c.probe_every - 1:
            paths["early" if k == 0 else "late"] = {"intact": intact_paths, "lesioned": cut_paths}
    advance(c.washout)
    advance(c.reexposure)
    return {"error": np.asarray(errors), "targets": np.asarray(targets),
            "probes": {k: np.asarray(v) for k, v in probes.items()}, "paths": paths}


def trials_to_criterion(errors, level, window=5):
    """The 1-based trial that starts the first run of ``window`` trials whose mean error is below
    ``level`` (``len(errors)`` if none)."""
    running = np.convolve(errors, np.ones(window) / window, mode="valid")
    below = np.flatnonzero(running < level)
    return int(below[0]) + 1 if below.size else len(errors)


def blocks(c: Config) -> dict:
    start = np.cumsum([0, c.baseline, c.exposure, c.washout, c.reexposure])
    return {name: slice(a, b) for name, a, b in zip(("baseline", "exposure", "washout", "reexposure"),
                                                   start[:-1], start[1:])}


def measure(c: Config, results: dict) -> dict:
    b = blocks(c)
    m = {k: [] for k in ("halving_ratio", "control_halving_ratio", "share_early", "share_late",
                         "savings_ratio", "first_trials", "re_trials", "baseline_error")}
    for run in results.values():
        for name, key in (("intact", "halving_ratio"), ("cerebellum lesioned", "control_halving_ratio")):
            exposure = run[name]["error"][b["exposure"]]
            m[key].append(exposure[15:20].mean() / exposure[:3].mean())
        intact = run["intact"]
        share = intact["probes"]["lesioned"] / intact["probes"]["intact"]
        m["share_early"].append(share[0])
        m["share_late"].append(share[-1])
        first, again = intact["error"][b["exposure"]], intact["error"][b["reexposure"]]
        level = 0.5 * first[:3].mean()
        m["first_trials"].append(trials_to_criterion(first, level))
        m["re_trials"].append(trials_to_criterion(again, level))
        m["savings_ratio"].append(m["re_trials"][-1] / m["first_trials"][-1])
        m["baseline_error"].append(intact["error"][b["baseline"]].mean())
    return m


def run(config: Config, out_dir) -> dict:
    c = config
    out = Path(out_dir)
    net = bs.build(connectome(c), dt=1.0)
    seeds = list(range(c.seed, c.seed + c.seeds))
    results = criteria.paired_runs(seeds, CONDITIONS, lambda seed, name: condition(c, seed, name, net),
                                   "motor-adaptation")
    for seed in seeds:  # paired: the control reached for the same targets
        if not np.array_equal(results[seed]["intact"]["targets"], results[seed]["cerebellum lesioned"]["targets"]):
            raise RuntimeError(f"seed {seed}: the lesioned control met other targets")
    np.savez_compressed(out / "errors.npz", **{f"{name}/seed{s}": results[s][name]["error"]
                                               for s in seeds for name in CONDITIONS})

    m = measure(c, results)
    crit = {
        "error_ratio_trials_16_20_over_onset": criteria.criterion(m["halving_ratio"], "<= 0.5"),
        "cortex_share_after_5_trials": criteria.criterion(m["share_early"], "< 0.2"),
        "cortex_share_end_of_exposure": criteria.criterion(m["share_late"], "> 0.6"),
        "savings_trials_to_criterion_ratio": criteria.criterion(m["savings_ratio"], "<= 0.7"),
        "control_lesioned_error_ratio_trials_16_20": criteria.criterion(m["control_halving_ratio"], "> 0.5"),
    }
    effects = {name: criteria.effect(values) for name, values in m.items()}
    effects["cortex_share_by_trial"] = {
        str(int(t)): criteria.effect([results[s]["intact"]["probes"]["lesioned"][i]
                                      / results[s]["intact"]["probes"]["intact"][i] for s in seeds])
        for i, t in enumerate(results[seeds[0]]["intact"]["probes"]["trial"])}
    figures(c, results, seeds, net, out)
    return {"criteria": crit, "effects": effects, "seeds": seeds}


def figures(c: Config, results, seeds, net, out: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    b = blocks(c)
    trial = np.arange(b["reexposure"].stop) + 1

    # 1. endpoint error over the schedule, with the spread over seeds
    fig, ax = plt.subplots(figsize=(11, 4), constrained_layout=True)
    for name, colour in zip(CONDITIONS, ("C0", "C3")):
        errors = np.stack([results[s][name]["error"] for s in seeds])
        ax.plot(trial, errors.mean(0), color=colour, lw=1.2, label=name)
        ax.fill_between(trial, errors.min(0), errors.max(0), color=colour, alpha=0.15, lw=0)
    for name in ("exposure", "reexposure"):
        ax.axvspan(b[name].start + 0.5, b[name].stop + 0.5, color="0.92", zorder=0)
        ax.text((b[name].start + b[name].stop) / 2, ax.get_ylim()[1] * 0.95, f"{name} ({c.rotation:g} deg)",
                ha="center", va="top", fontsize="small")
    ax.set_xlabel("trial (baseline, exposure, washout, re-exposure; targets at radius 1)")
    ax.set_ylabel(f"endpoint error (mean, range over {len(seeds)} seeds)")
    ax.legend(frameon=False, loc="center right")
    fig.savefig(out / "learning_curves.png", dpi=100)
    plt.close(fig)

    # 2. who carries the compensation: probes with the cerebellar output lesioned
    probe_trial = results[seeds[0]]["intact"]["probes"]["trial"]
    intact = np.stack([results[s]["intact"]["probes"]["intact"] for s in seeds])
    cut = np.stack([results[s]["intact"]["probes"]["lesioned"] for s in seeds])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    axes[0].plot(probe_trial, intact.mean(0), "o-", color="C0", ms=3, label="intact")
    axes[0].plot(probe_trial, cut.mean(0), "o-", color="C1", ms=3, label="cerebellar output lesioned (cortex)")
    axes[0].plot(probe_trial, (intact - cut).mean(0), "--", color="C2", label="difference (cerebellum)")
    axes[0].axhline(c.rotation, color="k", lw=0.6)
    axes[0].set_xlabel("trials of exposure")
    axes[0].set_ylabel("compensation (deg), mean over seeds")
    axes[0].legend(frameon=False, fontsize=8)
    share = cut / intact
    for row in share:
        axes[1].plot(probe_trial, row, color="0.7", lw=0.8)
    axes[1].plot(probe_trial, share.mean(0), color="C1", lw=2, label="mean over seeds")
    axes[1].axhline(0.2, color="k", lw=0.6, ls=":")
    axes[1].axhline(0.6, color="k", lw=0.6, ls=":")
    axes[1].set_xlabel("trials of exposure")
    axes[1].set_ylabel("cortex's share of the compensation")
    axes[1].set_ylim(0, 1.1)
    axes[1].legend(frameon=False)
    fig.suptitle("consolidation: the compensation moves from cerebellum to cortex")
    fig.savefig(out / "cortex_share.png", dpi=100)
    plt.close(fig)

    # 3. reaches to the 8 targets in the probes, early and late in exposure (seed 0)
    paths = results[seeds[0]]["intact"]["paths"]
    fig, axes = plt.subplots(1, 4, figsize=(15, 4), constrained_layout=True)
    circle = np.linspace(0, 2 * np.pi, 9)[:-1]
    for ax, (when, which) in zip(axes, [("early", "intact"), ("early", "lesioned"), ("late", "intact"),
                                        ("late", "lesioned")]):
        cursor = paths[when][which]
        ax.plot(np.cos(circle), np.sin(circle), "o", color="0.6", ms=8, mfc="none")
        for k in range(cursor.shape[0]):
            ax.plot(*np.concatenate([np.zeros((1, 2)), cursor[k]]).T, color="C0" if which == "intact" else "C1")
        ax.set_aspect("equal")
        trials = c.probe_every if when == "early" else c.exposure
        ax.set_title(f"after {trials} trials, cerebellum {'intact' if which == 'intact' else 'lesioned'}",
                     fontsize="small")
    axes[0].set_ylabel("cursor paths (grey: targets)")
    fig.savefig(out / "reaches.png", dpi=100)
    plt.close(fig)

    # 4. the connectome, drawn from the network that ran
    fig, ax = plt.subplots(figsize=(7, 6), constrained_layout=True)
    bs.plot.connectome(net, ax=ax, positions=CEREBELLAR_MOTOR_POSITIONS)
    ax.set_title("motor-adaptation connectome (control: cb.dcn -> motor and -> tutor zeroed)")
    fig.savefig(out / "connectome.png", dpi=100)
    plt.close(fig)
