"""Dopamine neurons signal a temporal-difference reward-prediction error (Schultz, Dayan & Montague 1997).

The classic recordings: a reward that comes unpredicted makes dopamine
neurons burst; once a cue reliably predicts it, the burst moves to the cue
and the reward itself leaves them silent; when the predicted reward is
omitted they pause exactly when it was due (Schultz, Dayan & Montague 1997,
Science 275, 1593). With a cue for each reward probability (Fiorillo,
Tobler & Schultz 2003, Science 299, 1898) the cue response grows with the
probability p and the response to the delivered reward shrinks as 1 - p.

Model (one connectome; steps of ``dt`` ms):

- ``task``: `bs.tasks.Pavlovian`, five cues, cue k rewarded (r = 1) with
  probability ``P_REWARD[k]`` = 0, .25, .5, .75, 1, ``delay_steps`` after its
  onset; trials follow each other after a fixed inter-trial interval;
- ``tb``: `regions.TemporalBasis`, the complete serial compound of Schultz,
  Dayan & Montague: one unit per cue and per step since its onset, spanning
  the cue-reward interval (``delay_steps + 1`` units per cue);
- ``critic`` (striatum): `regions.Critic`, value ``V_t = w . x_t``, trained
  by normalised LMS on the dopamine signal, ``w += eta dt delta x / (|x|^2 + 1)``;
- ``vta``: `regions.Dopamine`, ``delta_t = r_t + gamma V_t - V_{t-1}``, with
  no bootstrap across the end of a trial (``task.done -> vta.done``).

With a delay of D steps the learned values are ``V = gamma^k p`` k steps
before the reward, so after training the cue evokes ``gamma^D p`` (0.905 for
p = 1 at the default gamma = 0.995 per 50-ms step and D = 20, a 1-s
interval) and a delivered reward ``1 - p``.

Protocol, for each seed: ``trials`` trials at the learning rate ``eta``, then
``fine_trials`` at ``eta_fine`` (the smaller rate averages out the noise of
probabilistic rewards in the learned values); then probes with the critic
frozen (``eta = 0``): ``probe_trials`` trials with every reward delivered and
as many with every reward omitted. All RPEs are in units of r.

Controls (paired: the same seed gives the same cues and rewards):

- ``frozen critic``: the same network with ``eta = 0`` throughout (no
  corticostriatal plasticity): the burst must stay at the reward (with
  ``w = 0`` the RPE is the reward itself, so this checks the wiring rather
  than the theory);
- ``no basis``: the cue wired straight to the critic, the obvious wiring; it
  is visible only while on, so nothing spans the interval: no cue burst.

Full size (5 seeds) on 2 CPU cores: under 30 s (12 s alone).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import brainsim as bs
from brainsim import criteria
from regions.loops import TD_CONDITIONING_POSITIONS, td_conditioning

P_REWARD = (0.0, 0.25, 0.5, 0.75, 1.0)
CONDITIONS = ("td", "frozen critic", "no basis")


@dataclasses.dataclass(frozen=True)
class Config:
    """Pavlovian conditioning with five reward probabilities, a temporal basis, a TD critic and dopamine."""

    seed: int = 0  # the first seed
    seeds: int = 5  # paired seeds seed, seed + 1, ...
    dt: float = 50.0  # ms per step
    iti_steps: int = 10  # inter-trial interval (0.5 s)
    cue_steps: int = 4  # the cue is shown this long (0.2 s)
    delay_steps: int = 20  # cue onset to reward (1 s)
    gamma: float = 0.995  # discount per step
    trials: int = 3000  # at eta
    fine_trials: int = 3000  # then at eta_fine
    eta: float = 0.004  # per ms (eta dt = 0.2)
    eta_fine: float = 0.0004  # per ms
    probe_trials: int = 100  # delivered, then as many omitted, critic frozen

    def __post_init__(self):
        for name in ("seeds", "iti_steps", "cue_steps", "delay_steps", "trials", "probe_trials"):
            if getattr(self, name) < 1:
                raise ValueError(f"dopamine-td: {name} must be at least 1, got {getattr(self, name)}")
        if self.fine_trials < 0 or self.eta < 0 or self.eta_fine < 0:
            raise ValueError("dopamine-td: fine_trials, eta and eta_fine must not be negative")
        if self.eta * self.dt >= 2 or self.eta_fine * self.dt >= 2:
            raise ValueError(f"dopamine-td: eta dt must stay below 2 for normalised LMS to be "
                             f"stable; got eta dt = {self.eta * self.dt}")
        if not 0 < self.gamma <= 1:
            raise ValueError(f"dopamine-td: gamma must be in (0, 1], got {self.gamma}")


def task_of(c: Config) -> bs.tasks.Pavlovian:
    return bs.tasks.Pavlovian(n_cues=len(P_REWARD), iti_steps=c.iti_steps, cue_steps=c.cue_steps,
                              delay_steps=c.delay_steps)


def connectome(c: Config, basis: bool = True) -> bs.Connectome:
    """task -> (temporal basis) -> critic -> dopamine, and dopamine back to the critic."""
    return td_conditioning(task_of(c), span=c.delay_steps + 1, basis=basis)


def _trials(net, params, state, c: Config, n: int):
    """``n`` trials from ``state``: the final state, RPE (n, L), cue (n,) and rewarded (n,)."""
    task = task_of(c)
    length = task.trial_length
    state, trace = net.run(params, state, n * length, record=["vta.rpe", "task.obs", "task.reward"])
    rpe = np.asarray(trace["vta.rpe"]).reshape(n, length)
    cue = np.asarray(trace["task.obs"]).reshape(n, length, task.n_cues)[:, task.iti_steps].argmax(-1)
    rewarded = np.asarray(trace["task.reward"]).reshape(n, length)[:, task.reward_step] > 0
    return state, rpe, cue, rewarded


def _by_cue(rpe, cue):
    """Mean RPE time course of each cue's trials, (n_cues, L); NaN for a cue never shown."""
    return np.stack([rpe[cue == k].mean(axis=0) if np.any(cue == k) else np.full(rpe.shape[1], np.nan)
                     for k in range(len(P_REWARD))])


def condition(c: Config, seed: int, name: str, nets: dict) -> dict:
    """Train one condition from ``seed`` and probe it with the critic frozen."""
    net = nets["no basis" if name == "no basis" else "basis"]
    eta, eta_fine = (0.0, 0.0) if name == "frozen critic" else (c.eta, c.eta_fine)
    overrides = {"task.p_reward": jnp.asarray(P_REWARD), "critic.eta": eta, "vta.gamma": c.gamma}
    params, state = net.init(jax.random.key(seed), overrides=overrides)
    state, rpe, cue, rewarded = _trials(net, params, state, c, c.trials)
    if c.fine_trials:
        state, rpe2, cue2, rewarded2 = _trials(net, bs.set(params, "critic.eta", eta_fine), state, c,
                                               c.fine_trials)
        rpe, cue, rewarded = (np.concatenate(x) for x in ((rpe, rpe2), (cue, cue2), (rewarded, rewarded2)))
    frozen = bs.set(params, "critic.eta", 0.0)
    probes = {}
    for probe, p in (("delivered", 1.0), ("omitted", 0.0)):
        at_p = bs.set(frozen, "task.p_reward", jnp.full(len(P_REWARD), p))
        _, probe_rpe, probe_cue, _ = _trials(net, at_p, state, c, c.probe_trials)
        probes[probe] = _by_cue(probe_rpe, probe_cue)
    return {"rpe": rpe, "cue": cue, "rewarded": rewarded, **probes}


def _r_squared(y, reference):
    """1 - SS_res / SS_tot of ``y`` about the line ``reference`` itself (nothing fitted)."""
    y, reference = np.asarray(y), np.asarray(reference)
    return float(1 - ((y - reference) ** 2).sum() / ((reference - reference.mean()) ** 2).sum())


def measure(c: Config, results: dict) -> dict:
    """Per-seed measurements of every criterion, from the probes of each condition."""
    task = task_of(c)
    onset, due = task.iti_steps, task.reward_step
    sure = P_REWARD.index(1.0)
    p = np.asarray(P_REWARD)
    m = {k: [] for k in ("cue_rpe", "reward_rpe", "omission_dip", "omission_offset", "monotonic",
                         "r2", "elsewhere", "frozen_cue", "frozen_reward", "nobasis_cue", "nobasis_reward")}
    for run in results.values():
        delivered, omitted = run["td"]["delivered"], run["td"]["omitted"]
        m["cue_rpe"].append(delivered[sure, onset])
        m["reward_rpe"].append(abs(delivered[sure, due]))
        m["omission_dip"].append(omitted[sure, due])
        m["omission_offset"].append(abs(int(np.argmin(omitted[sure])) - due))
        m["monotonic"].append(np.diff(delivered[:, onset]).min())
        m["r2"].append(_r_squared(delivered[:, due], 1 - p))
        m["elsewhere"].append(np.abs(np.delete(delivered[sure], [onset, due])).max())
        for control, key in (("frozen critic", "frozen"), ("no basis", "nobasis")):
            m[f"{key}_cue"].append(run[control]["delivered"][sure, onset])
            m[f"{key}_reward"].append(run[control]["delivered"][sure, due])
    return m


def run(config: Config, out_dir) -> dict:
    c = config
    out = Path(out_dir)
    nets = {"basis": bs.build(connectome(c, basis=True), dt=c.dt),
            "no basis": bs.build(connectome(c, basis=False), dt=c.dt)}
    seeds = list(range(c.seed, c.seed + c.seeds))
    results = criteria.paired_runs(seeds, CONDITIONS, lambda seed, name: condition(c, seed, name, nets),
                                   "dopamine-td")
    for seed in seeds:  # paired: the controls met the same cues and rewards
        first = results[seed]["td"]
        for name in CONDITIONS[1:]:
            other = results[seed][name]
            if not (np.array_equal(first["cue"], other["cue"]) and
                    np.array_equal(first["rewarded"], other["rewarded"])):
                raise RuntimeError(f"seed {seed}: the {name} control saw other trials than td")

    m = measure(c, results)
    crit = {
        "cue_rpe_after_training": criteria.criterion(m["cue_rpe"], ">= 0.8", every_seed=True),
        "abs_reward_rpe_after_training": criteria.criterion(m["reward_rpe"], "<= 0.1", every_seed=True),
        "omission_dip": criteria.criterion(m["omission_dip"], "<= -0.7", every_seed=True),
        "omission_dip_offset_steps": criteria.criterion(m["omission_offset"], "<= 0", every_seed=True),
        "cue_rpe_min_increase_with_p": criteria.criterion(m["monotonic"], "> 0", every_seed=True),
        "reward_rpe_vs_1_minus_p_r2": criteria.criterion(m["r2"], "> 0.95", every_seed=True),
        "control_frozen_critic_cue_rpe": criteria.criterion(m["frozen_cue"], "< 0.1", every_seed=True),
        "control_frozen_critic_reward_rpe": criteria.criterion(m["frozen_reward"], "> 0.9", every_seed=True),
        "control_no_basis_cue_rpe": criteria.criterion(m["nobasis_cue"], "< 0.1", every_seed=True),
        "control_no_basis_reward_rpe": criteria.criterion(m["nobasis_reward"], "> 0.9", every_seed=True),
    }
    task = task_of(c)
    probes = np.stack([results[s]["td"]["delivered"] for s in seeds])
    effects = {
        "cue_rpe_by_p": {str(p): criteria.effect(probes[:, k, task.iti_steps]) for k, p in enumerate(P_REWARD)},
        "reward_rpe_by_p": {str(p): criteria.effect(probes[:, k, task.reward_step])
                            for k, p in enumerate(P_REWARD)},
        "max_abs_rpe_elsewhere_p1": criteria.effect(m["elsewhere"]),
        "cue_rpe_expected_p1": c.gamma ** c.delay_steps,
        "trials_to_transfer_p1": criteria.effect([_transfer_trial(results[s]["td"], task) for s in seeds]),
    }
    figures(c, results, seeds, nets["basis"], out)
    return {"criteria": crit, "effects": effects, "seeds": seeds, "p_reward": list(P_REWARD)}


def _transfer_trial(run, task, window=20):
    """The first trial of the p = 1 cue from which, over ``window`` trials, the cue's mean RPE
    exceeds the reward's (the burst has moved); counted in that cue's trials."""
    sure = run["rpe"][run["cue"] == P_REWARD.index(1.0)]
    cue = np.convolve(sure[:, task.iti_steps], np.ones(window) / window, mode="valid")
    reward = np.convolve(sure[:, task.reward_step], np.ones(window) / window, mode="valid")
    moved = np.flatnonzero(cue > reward)
    return float(moved[0]) if moved.size else float("nan")


def figures(c: Config, results, seeds, net, out: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    task = task_of(c)
    sure = P_REWARD.index(1.0)
    t_s = (np.arange(task.trial_length) - task.iti_steps) * c.dt / 1000  # time from cue onset
    first = results[seeds[0]]

    # 1. the RPE raster across learning, trials of the p = 1 cue, as in the classic recordings
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.5), sharey=True, constrained_layout=True)
    for ax, name in zip(axes, CONDITIONS):
        run = first[name]
        rows = run["rpe"][run["cue"] == sure]
        image = ax.imshow(rows, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest",
                          extent=(t_s[0] - c.dt / 2000, t_s[-1] + c.dt / 2000, len(rows), 0))
        switch = np.sum(run["cue"][: c.trials] == sure)
        ax.axhline(switch, color="k", lw=0.8, ls="--")
        ax.axvline(0, color="0.4", lw=0.6)
        ax.axvline(t_s[task.reward_step], color="0.4", lw=0.6)
        ax.set_title(f"{name} (seed {seeds[0]})")
        ax.set_xlabel("time from cue onset (s)")
    axes[0].set_ylabel("trial of the p = 1 cue (dashed: eta -> eta_fine)")
    fig.colorbar(image, ax=axes, label="RPE (units of r)", shrink=0.8)
    fig.suptitle("dopamine RPE across learning: cue at 0 s, reward at the second line")
    fig.savefig(out / "rpe_raster.png", dpi=100)
    plt.close(fig)

    # 2. learning curves with the spread over seeds
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True, constrained_layout=True)
    for name, colour, style in zip(CONDITIONS, ("C0", "C1", "C2"), ("-", "--", ":")):
        for ax, step, what in ((axes[0], task.iti_steps, "cue"), (axes[1], task.reward_step, "reward")):
            curves = []
            for s in seeds:
                run = results[s][name]
                values = run["rpe"][run["cue"] == sure][:, step]
                bins = len(values) // 20
                curves.append(values[: bins * 20].reshape(bins, 20).mean(axis=1))
            length = min(len(v) for v in curves)
            curves = np.stack([v[:length] for v in curves])
            x = (np.arange(length) + 0.5) * 20
            ax.plot(x, curves.mean(0), color=colour, ls=style, lw=1.8, label=name)
            ax.fill_between(x, curves.min(0), curves.max(0), color=colour, alpha=0.2, lw=0)
            ax.set_title(f"RPE at the {what} (p = 1 cue)")
            ax.set_xlabel("trial of the p = 1 cue")
    axes[0].set_ylabel(f"RPE (units of r), mean and range over {len(seeds)} seeds")
    axes[0].legend(frameon=False, title="the two controls overlap")
    fig.savefig(out / "learning_curves.png", dpi=100)
    plt.close(fig)

    # 3. reward probability (Fiorillo et al. 2003) and omission
    delivered = np.stack([results[s]["td"]["delivered"] for s in seeds])
    omitted = np.stack([results[s]["td"]["omitted"] for s in seeds])
    p = np.asarray(P_REWARD)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4), constrained_layout=True)
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(p)))
    for k, colour in enumerate(colours):
        axes[0].plot(t_s, delivered[:, k].mean(0), color=colour, label=f"p = {p[k]}")
        axes[2].plot(t_s, omitted[:, k].mean(0), color=colour, label=f"p = {p[k]}")
    for ax, title in ((axes[0], "reward delivered"), (axes[2], "reward omitted")):
        ax.set_title(f"probe trials, critic frozen: {title}")
        ax.set_xlabel("time from cue onset (s)")
        ax.set_ylabel("RPE (units of r)")
    axes[0].legend(frameon=False, fontsize=8)
    for values, label, colour in ((delivered[:, :, task.iti_steps], "at the cue", "C0"),
                                  (delivered[:, :, task.reward_step], "at the delivered reward", "C3")):
        axes[1].errorbar(p, values.mean(0), yerr=values.std(0), fmt="o", color=colour, label=label, capsize=3)
    axes[1].plot(p, 1 - p, "C3--", lw=1, label="1 - p")
    axes[1].plot(p, c.gamma ** c.delay_steps * p, "C0--", lw=1, label="gamma^D p")
    axes[1].set_xlabel("reward probability p of the cue")
    axes[1].set_ylabel("RPE (units of r)")
    axes[1].set_title("cue and reward responses against p")
    axes[1].legend(frameon=False, fontsize=8)
    fig.savefig(out / "reward_probability.png", dpi=100)
    plt.close(fig)

    # 4. the connectome, drawn from the network that ran
    fig, ax = plt.subplots(figsize=(6, 5), constrained_layout=True)
    bs.plot.connectome(net, ax=ax, positions=TD_CONDITIONING_POSITIONS)
    ax.set_title("dopamine-td connectome (no basis control: task.obs -> critic.features)")
    fig.savefig(out / "connectome.png", dpi=100)
    plt.close(fig)
