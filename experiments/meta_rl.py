"""Prefrontal cortex as a meta-reinforcement-learning system (Wang et al. 2018).

Wang, Kurth-Nelson, Kumaran, Tirumala, Soyer, Leibo, Hassabis & Botvinick
(2018, Nat Neurosci 21, 860): a recurrent prefrontal network that sees its
previous action and reward, trained slowly by a dopamine-like reward
prediction error over many tasks of one family, learns a fast learning
algorithm of its own. With the weights frozen, its activity alone then
learns each new task: it finds the better arm of a new bandit within a few
trials, and on the two-step task it behaves model-based.

Model (one connectome per task family):

- ``task``: `bs.tasks.Bandit` (two arms, ``p2 = 1 - p1``, new arms every
  episode of ``trials`` pulls) or `bs.tasks.TwoStep` in Wang et al.'s
  version (``reversals=True``: the second-stage states pay 0.9 and 0.1 and
  swap with probability 0.025 per trial);
- ``pfc``: `regions.RecurrentCortex`, an LSTM of ``n`` units reading the
  previous action (one-hot, one step late), the reward that just arrived,
  and for the two-step task the state shown;
- ``policy``: `bs.SoftmaxPolicy` on a readout of ``pfc.rate``; ``value``: a
  linear readout of ``pfc.rate`` (the critic).

Training: `bs.rl.actor_critic_loss` (A2C: the critic's value as baseline,
the advantage playing dopamine's role), ``episodes`` episodes per update,
each from its own start (``state=lambda key: net.init(key)[1]``: a new task),
Adam with a cosine-decayed rate and clipped gradients, ``updates`` updates;
then the weights are frozen.

Measured with frozen weights on ``eval_episodes`` new episodes:

- bandits: P(best arm) over trials 10-100 on arms at least 0.3 apart; the
  expected cumulative regret against Thompson sampling (independent
  Beta(1, 1) priors) on the same arms; the untrained network (control);
- two-step: the probability of repeating the first-stage choice after
  rewarded or unrewarded, common or rare trials; the model-based signature
  is the reward x transition interaction, (stay | rewarded, common) -
  (stay | rewarded, rare) - (stay | unrewarded, common) + (stay |
  unrewarded, rare), with a 95% bootstrap interval over episodes.

Full size (5 seeds, 4,000 updates per family) on 2 CPU cores: about 4 min
(no GPU was at hand to time). The learning rate 3e-3 was chosen after 1e-3
left seed 1's bandit network and seed 4's two-step network stuck near
chance; on seeds 5-9, never used to choose it, all criteria hold except
regret in seed 9 (1.61x Thompson; 0.83x on the mean).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import numpy as np
import optax
from tqdm.auto import tqdm

import brainsim as bs
from brainsim import criteria
from regions import RecurrentCortex

TRAINABLE = ["pfc", "pfc.rate->policy.logits", "pfc.rate->value.input", "value.bias"]


@dataclasses.dataclass(frozen=True)
class Config:
    """An LSTM prefrontal cortex meta-trained by A2C on bandits and on the two-step task."""

    seed: int = 0  # the first seed
    seeds: int = 5
    n: int = 48
    trials: int = 100  # bandit pulls per episode; two-step trials per episode
    updates: int = 4000  # A2C updates per task family
    episodes: int = 16  # episodes per update
    lr: float = 3e-3  # chosen on seeds 1 and 4 (1e-3 left them stuck); see the module docstring
    gamma: float = 0.9
    entropy_weight: float = 0.05
    value_weight: float = 0.05
    eval_episodes: int = 500
    bootstrap: int = 2000

    def __post_init__(self):
        for name in ("seeds", "n", "trials", "updates", "episodes", "eval_episodes", "bootstrap"):
            if getattr(self, name) < 1:
                raise ValueError(f"meta-rl: {name} must be at least 1, got {getattr(self, name)}")
        if self.trials < 11:
            raise ValueError("meta-rl: trials must be at least 11 (P(best arm) is read over trials 10-100)")
        if not (self.lr > 0 and 0 < self.gamma < 1):
            raise ValueError("meta-rl: lr must be positive and gamma in (0, 1)")


def connectome(c: Config, family: str) -> bs.Connectome:
    """task <-> pfc (LSTM) -> policy and value; pfc reads its previous action and the reward."""
    if family == "bandit":
        task, n_obs = bs.tasks.Bandit(n_arms=2, episode_steps=c.trials, correlated=True), 0
    else:
        task, n_obs = bs.tasks.TwoStep(reversals=True), 3
    n_in = n_obs + 3  # (state shown,) previous action (2), reward
    brain = bs.Connectome().add("task", task).add("pfc", RecurrentCortex(c.n, n_in=n_in))
    brain.add("policy", bs.SoftmaxPolicy(2)).add("value", bs.RatePopulation(n=1, activation="linear"))
    brain.connect("pfc.rate", "policy.logits", scale=0.1)
    brain.connect("pfc.rate", "value.input", scale=0.1)
    brain.connect("policy.action", "task.action", kind="identity", delay=1)
    embed = np.eye(n_in, dtype=np.float32)
    brain.connect("policy.action", "pfc.input", weight=embed[n_obs:n_obs + 2], delay=1)
    brain.connect("task.reward", "pfc.input", weight=embed[n_obs + 2:])
    if n_obs:
        brain.connect("task.obs", "pfc.input", weight=embed[:n_obs])
    return brain


def steps_of(c: Config, family: str) -> int:
    return c.trials if family == "bandit" else 2 * c.trials  # a two-step trial takes two steps


def train(c: Config, net, family: str, seed: int):
    """A2C over new tasks; returns the trained params and the learning curve (mean reward)."""
    params, _ = net.init(jax.random.key(seed), overrides={"value.tau": 1.0})  # value: a linear readout

    def fresh(key):
        return net.init(key)[1]

    loss = bs.rl.actor_critic_loss(
        net, fresh, steps_of(c, family), probs="policy.probs", action="policy.action", reward="task.reward",
        value="value.rate", done="task.done" if family == "bandit" else None, episodes=c.episodes,
        gamma=c.gamma, value_weight=c.value_weight, entropy_weight=c.entropy_weight, reward_delay=1)
    optimiser = optax.chain(optax.clip_by_global_norm(1.0),
                            optax.adam(optax.cosine_decay_schedule(c.lr, c.updates, alpha=0.1)))
    result = bs.train.fit(loss, params, optimiser, lambda key, step: None, steps=c.updates,
                          log_every=max(1, c.updates // 50), key=jax.random.key(10_000 + seed),
                          trainable=TRAINABLE, progress=False)
    return result.params, result.history


def episodes(c: Config, net, params, family: str, seed: int, record):
    """``eval_episodes`` new episodes with frozen weights: their starts and records."""
    def one(key):
        start_key, run_key = jax.random.split(key)
        start = net.init(start_key)[1]
        _, trace = net.run(params, {**start, "key": run_key}, steps_of(c, family), record=record)
        return start, trace

    starts, traces = jax.jit(jax.vmap(one))(jax.random.split(jax.random.key(20_000 + seed), c.eval_episodes))
    return starts, {k: np.asarray(v) for k, v in traces.items()}


def bandit_measures(c: Config, net, params, seed: int) -> dict:
    starts, trace = episodes(c, net, params, "bandit", seed, ["policy.action"])
    p = np.asarray(starts["regions"]["task"]["p"])  # (episodes, 2)
    action = trace["policy.action"]  # (episodes, trials, 2): the pull chosen at each trial
    best = p.argmax(axis=1)
    easy = np.abs(p[:, 0] - p[:, 1]) >= 0.3
    chose_best = action.argmax(-1) == best[:, None]
    regret = (p.max(axis=1)[:, None] - np.sum(action * p[:, None, :], axis=-1)).sum(axis=1)
    thompson = thompson_regret(p, c.trials, np.random.default_rng(seed))
    return {"p_best": float(chose_best[easy][:, 9:].mean()), "regret": float(regret.mean()),
            "thompson": float(thompson.mean()), "curve": chose_best[easy].mean(axis=0)}


def thompson_regret(p, trials: int, rng) -> np.ndarray:
    """Expected cumulative regret of Thompson sampling (Beta(1, 1) per arm) on arms ``p``."""
    wins, losses = np.ones_like(p), np.ones_like(p)
    regret = np.zeros(len(p))
    rows = np.arange(len(p))
    for _ in range(trials):
        arm = rng.beta(wins, losses).argmax(axis=1)
        reward = rng.random(len(p)) < p[rows, arm]
        wins[rows, arm] += reward
        losses[rows, arm] += ~reward
        regret += p.max(axis=1) - p[rows, arm]
    return regret


def stay_table(obs, action, common, reward):
    """Per trial of each episode: first-stage choice, common transition, reward, and stay."""
    first = obs[:, :, 0] > 0.5  # steps showing state A: a first-stage choice is made there
    rows = []
    for e in range(obs.shape[0]):
        steps = np.flatnonzero(first[e])
        steps = steps[steps + 2 < obs.shape[1]]
        choice = action[e, steps].argmax(-1)
        was_common = common[e, steps + 1] > 0.5
        won = reward[e, steps + 2] > 0.5
        # the next first-stage choice is made on the step the reward arrives (A shows again)
        next_choice = action[e, steps + 2].argmax(-1)
        rows.append(np.stack([was_common, won, choice == next_choice], axis=1))
    return rows


def interaction(rows) -> tuple[float, dict]:
    table = np.concatenate(rows)
    cells = {}
    for won in (True, False):
        for was_common in (True, False):
            pick = (table[:, 1] == won) & (table[:, 0] == was_common)
            cells[("rewarded" if won else "unrewarded", "common" if was_common else "rare")] = \
                float(table[pick, 2].mean()) if pick.any() else float("nan")
    value = (cells["rewarded", "common"] - cells["rewarded", "rare"]
             - cells["unrewarded", "common"] + cells["unrewarded", "rare"])
    return value, cells


def two_step_measures(c: Config, net, params, seed: int) -> dict:
    _, trace = episodes(c, net, params, "two_step", seed,
                        ["task.obs", "policy.action", "task.common", "task.reward"])
    rows = stay_table(trace["task.obs"], trace["policy.action"], trace["task.common"], trace["task.reward"])
    value, cells = interaction(rows)
    rng = np.random.default_rng(seed)
    boot = [interaction([rows[i] for i in rng.integers(0, len(rows), len(rows))])[0] for _ in range(c.bootstrap)]
    return {"interaction": value, "ci95": [float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))],
            "stay": cells}


def run(config: Config, out_dir) -> dict:
    c = config
    out = Path(out_dir)
    nets = {family: bs.build(connectome(c, family)) for family in ("bandit", "two_step")}
    seeds = list(range(c.seed, c.seed + c.seeds))
    results = {}
    with tqdm(total=2 * len(seeds), desc="meta-rl", unit="training") as bar:
        for seed in seeds:
            untrained, _ = nets["bandit"].init(jax.random.key(seed), overrides={"value.tau": 1.0})
            bandit_params, bandit_history = train(c, nets["bandit"], "bandit", seed)
            bar.update(1)
            two_step_params, two_step_history = train(c, nets["two_step"], "two_step", seed)
            bar.update(1)
            results[seed] = {
                "bandit": bandit_measures(c, nets["bandit"], bandit_params, seed),
                "untrained": bandit_measures(c, nets["bandit"], untrained, seed),
                "two_step": two_step_measures(c, nets["two_step"], two_step_params, seed),
                "history": {"bandit": bandit_history, "two_step": two_step_history},
            }
    r = [results[s] for s in seeds]
    crit = {
        "p_best_arm_trials_10_100_frozen": criteria.criterion([x["bandit"]["p_best"] for x in r], ">= 0.85",
                                                              every_seed=True),
        "regret_over_thompson": criteria.criterion([x["bandit"]["regret"] / x["bandit"]["thompson"] for x in r],
                                                   "<= 1.2", every_seed=True),
        "control_untrained_p_best_minus_chance": criteria.criterion(
            [abs(x["untrained"]["p_best"] - 0.5) for x in r], "< 0.05", every_seed=True),
        "two_step_interaction_ci95_low": criteria.criterion([x["two_step"]["ci95"][0] for x in r], "> 0",
                                                            every_seed=True),
    }
    effects = {
        "two_step_interaction": criteria.effect([x["two_step"]["interaction"] for x in r]),
        "regret": criteria.effect([x["bandit"]["regret"] for x in r]),
        "thompson_regret": criteria.effect([x["bandit"]["thompson"] for x in r]),
        "stay_probabilities": {f"{a}, {b}": criteria.effect([x["two_step"]["stay"][a, b] for x in r])
                               for a in ("rewarded", "unrewarded") for b in ("common", "rare")},
    }
    figures(c, results, seeds, nets, out)
    return {"criteria": crit, "effects": effects, "seeds": seeds}


def figures(c: Config, results, seeds, nets, out: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), constrained_layout=True)
    for family, colour in (("bandit", "C0"), ("two_step", "C2")):
        curves = np.stack([results[s]["history"][family]["mean_reward"] for s in seeds])
        steps = results[seeds[0]]["history"][family]["step"]
        axes[0].plot(steps, curves.mean(0), color=colour, label=family)
        axes[0].fill_between(steps, curves.min(0), curves.max(0), color=colour, alpha=0.2, lw=0)
    axes[0].set_xlabel("A2C update")
    axes[0].set_ylabel(f"reward per step (mean and range over {len(seeds)} seeds)")
    axes[0].set_title("slow learning: the weights")
    axes[0].legend(frameon=False)
    trials = np.arange(1, c.trials + 1)
    for name, colour, label in (("bandit", "C0", "meta-trained, frozen"), ("untrained", "C7", "untrained")):
        curves = np.stack([results[s][name]["curve"] for s in seeds])
        axes[1].plot(trials, curves.mean(0), color=colour, label=label)
        axes[1].fill_between(trials, curves.min(0), curves.max(0), color=colour, alpha=0.2, lw=0)
    axes[1].axhline(0.85, color="0.5", ls="--", lw=0.7)
    axes[1].axvline(10, color="0.5", ls=":", lw=0.7)
    axes[1].set_xlabel("trial of a new bandit (|p1 - p2| >= 0.3)")
    axes[1].set_ylabel("P(best arm)")
    axes[1].set_title("fast learning: the activity (weights frozen)")
    axes[1].legend(frameon=False)
    labels = [("rewarded", "common"), ("rewarded", "rare"), ("unrewarded", "common"), ("unrewarded", "rare")]
    stays = np.array([[results[s]["two_step"]["stay"][k] for k in labels] for s in seeds])
    x = np.array([0, 1, 3, 4])
    axes[2].bar(x, stays.mean(0), color=["C0", "C1", "C0", "C1"], yerr=stays.std(0), capsize=3)
    axes[2].set_xticks(x, [f"{a}\n{b}" for a, b in labels])
    axes[2].set_ylim(0, 1)
    axes[2].set_ylabel("P(repeat the first-stage choice)")
    axes[2].set_title("two-step, weights frozen: model-based")
    fig.savefig(out / "meta_rl.png", dpi=100)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(12, 5), constrained_layout=True)
    for ax, family in zip(axes, ("bandit", "two_step")):
        bs.plot.connectome(nets[family], ax=ax)
        ax.set_title(f"meta-rl connectome: {family}")
    fig.savefig(out / "connectome.png", dpi=100)
    plt.close(fig)
