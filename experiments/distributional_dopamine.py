"""Dopamine neurons learn the distribution of rewards, not only its mean (Dabney et al. 2020).

Dabney, Kurth-Nelson, Uchida, Starkweather, Hassabis, Munos & Botvinick
(2020, Nature 577, 671) found that dopamine neurons scale positive and
negative prediction errors differently, each by its own ratio, and that
their reversal points (the reward at which a neuron's response flips sign)
spread out accordingly: optimistic neurons reverse at large rewards,
pessimistic ones at small. Distributional TD explains it: a channel that
weighs positive errors by ``alpha+`` and negative ones by ``alpha-`` learns
the ``tau``-expectile of the reward, ``tau = alpha+ / (alpha+ + alpha-)``, so
the population holds the whole distribution, which can be decoded back.

Model (`regions.td_conditioning` with ``channels``; steps of ``dt`` ms):
`bs.tasks.VariableReward`, a cue followed by 0.1, 0.3, 1.2, 2.5, 5, 10 or
20 ul of juice with the frequencies of the paper's variable-magnitude task,
-> `regions.TemporalBasis` (complete serial compound) -> `regions.Critic`
with one value per channel -> `regions.Dopamine(channels)`, whose channel i
reports ``alpha+_i delta_i`` or ``alpha-_i delta_i`` with ``delta_i = r +
gamma V_i' - V_i`` (``gamma = 1``: nothing is discounted within a trial).
Channels have ``tau_i`` evenly spaced in [0.05, 0.95], ``alpha+ = tau``,
``alpha- = 1 - tau``.

Protocol, for each seed: ``trials`` trials at ``eta``, then ``fine_trials``
at ``eta_fine``; then probes with the critic frozen, one trial for each
magnitude of a fine grid over the reward range (0 to 20 ul, ``probe_points``
magnitudes): a channel's reversal point is where its response to the
delivered reward crosses zero (linear interpolation on the grid).

Measured: reversal points against the analytic expectiles of the reward
distribution (solved here by bisection of ``tau E[(R - e)+] = (1 - tau)
E[(e - R)+]``); Spearman correlation of asymmetry and reversal point; and the
paper's imputation: the set of samples whose expectiles best match the
(tau, reversal point) pairs (minimising the squared expectile conditions
with optax from several starts), compared with the true distribution in
Wasserstein-1 distance, against a point mass at the mean.

Control (paired seeds: the same rewards): symmetric scaling (``alpha+ =
alpha- = 0.5`` for every channel): every channel learns the mean, so the
reversal points collapse (the channels are then identical, so their spread is
zero by construction; the control's own test is that decoding its reversal
points, read as if they were expectiles, loses the distribution).

Full size (5 seeds) on 2 CPU cores: about 20 s.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

import brainsim as bs
from brainsim import criteria
from brainsim.tasks.variable_reward import DABNEY_MAGNITUDES, DABNEY_PROBABILITIES
from regions.loops import TD_CONDITIONING_POSITIONS, td_conditioning

MAGNITUDES = np.asarray(DABNEY_MAGNITUDES)
PROBABILITIES = np.asarray(DABNEY_PROBABILITIES) / np.sum(DABNEY_PROBABILITIES)
CONDITIONS = ("asymmetric", "symmetric")


@dataclasses.dataclass(frozen=True)
class Config:
    """A variable-magnitude reward learned by 40 dopamine channels with asymmetric scaling."""

    seed: int = 0  # the first seed
    seeds: int = 5  # paired seeds seed, seed + 1, ...
    channels: int = 40
    dt: float = 50.0  # ms per step
    iti_steps: int = 5
    cue_steps: int = 2
    delay_steps: int = 5  # cue onset to reward
    trials: int = 3000  # at eta
    fine_trials: int = 20000  # then at eta_fine
    eta: float = 0.004  # per ms (eta dt = 0.2)
    eta_fine: float = 0.0002  # per ms (eta dt = 0.01)
    probe_points: int = 201  # magnitudes probed over [0, 20] ul
    decode_samples: int = 100
    decode_starts: int = 16
    decode_steps: int = 10000
    decode_lr: float = 0.2  # Adam, decaying on a cosine to 0

    def __post_init__(self):
        for name in ("seeds", "channels", "iti_steps", "cue_steps", "delay_steps", "trials",
                     "decode_samples", "decode_starts", "decode_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"distributional-dopamine: {name} must be at least 1, "
                                 f"got {getattr(self, name)}")
        if self.channels < 3 or self.probe_points < 3:
            raise ValueError("distributional-dopamine: channels and probe_points must be at least 3")
        if self.fine_trials < 0 or not (0 <= self.eta * self.dt < 2 and 0 <= self.eta_fine * self.dt < 2):
            raise ValueError("distributional-dopamine: fine_trials must not be negative and eta dt, "
                             "eta_fine dt must lie in [0, 2) for normalised LMS to be stable")


def task_of(c: Config) -> bs.tasks.VariableReward:
    return bs.tasks.VariableReward(n_magnitudes=len(MAGNITUDES), iti_steps=c.iti_steps,
                                   cue_steps=c.cue_steps, delay_steps=c.delay_steps)


def asymmetries(c: Config) -> np.ndarray:
    """tau_i = alpha+ / (alpha+ + alpha-) of each channel."""
    return np.linspace(0.05, 0.95, c.channels)


# -- the reward distribution and its expectiles ------------------------------------------
def expectile(tau: float, values=MAGNITUDES, weights=PROBABILITIES) -> float:
    """The tau-expectile e of a discrete distribution: tau E[(R - e)+] = (1 - tau) E[(e - R)+]."""
    lo, hi = float(np.min(values)), float(np.max(values))
    for _ in range(200):
        e = (lo + hi) / 2
        excess = tau * np.sum(weights * np.maximum(values - e, 0)) - (1 - tau) * np.sum(
            weights * np.maximum(e - values, 0))
        lo, hi = (e, hi) if excess > 0 else (lo, e)
    return (lo + hi) / 2


def wasserstein_1(x, wx, y, wy) -> float:
    """W1 between two discrete distributions on the line: the area between their CDFs."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    wx, wy = np.asarray(wx, float) / np.sum(wx), np.asarray(wy, float) / np.sum(wy)
    points = np.union1d(x, y)
    fx = np.array([wx[x <= p].sum() for p in points])
    fy = np.array([wy[y <= p].sum() for p in points])
    return float(np.sum(np.abs(fx - fy)[:-1] * np.diff(points)))


def spearman(a, b) -> float:
    """Spearman's rank correlation (ties get their mean rank; NaN if either holds a NaN)."""
    if np.any(np.isnan(np.asarray(a, float))) or np.any(np.isnan(np.asarray(b, float))):
        return float("nan")

    def ranks(v):
        v = np.asarray(v, float)
        order = np.argsort(v, kind="stable")
        r = np.empty(len(v))
        r[order] = np.arange(len(v))
        for value in np.unique(v):
            r[v == value] = r[v == value].mean()
        return r
    return float(np.corrcoef(ranks(a), ranks(b))[0, 1])


def impute(taus, points, c: Config, key) -> np.ndarray:
    """Samples whose expectiles at ``taus`` best match ``points`` (Dabney et al.'s imputation).

    Minimises ``sum_i (mean_j w_ij (z_j - e_i))^2`` with ``w_ij = tau_i`` where ``z_j > e_i`` and
    ``1 - tau_i`` elsewhere (the expectile condition of each channel), over ``z`` kept in the
    reward range, by Adam (``decode_lr`` decaying on a cosine over ``decode_steps``) from
    ``decode_starts`` random starts; the best start wins. The descent must converge: 3,000 steps
    at a fixed 0.05 from 8 starts stopped at a loss of 0.02 and a decoded W1 of 1.03 ul from exact
    expectiles; the default reaches 2e-4 and 0.29 ul.
    """
    taus, points = jnp.asarray(taus), jnp.asarray(points)
    low, high = float(MAGNITUDES.min()), float(MAGNITUDES.max())

    def loss(z):
        weight = jnp.where(z[None, :] > points[:, None], taus[:, None], 1 - taus[:, None])
        return jnp.sum(jnp.mean(weight * (z[None, :] - points[:, None]), axis=1) ** 2)

    optimiser = optax.adam(optax.cosine_decay_schedule(c.decode_lr, c.decode_steps))

    def descend(z):
        def step(carry, _):
            z, opt = carry
            updates, opt = optimiser.update(jax.grad(loss)(z), opt)
            return (jnp.clip(optax.apply_updates(z, updates), low, high), opt), None
        (z, _), _ = jax.lax.scan(step, (z, optimiser.init(z)), None, length=c.decode_steps)
        return z, loss(z)

    starts = jax.random.uniform(key, (c.decode_starts, c.decode_samples), minval=low, maxval=high)
    with jax.numpy_dtype_promotion("standard"):  # optax mixes its int32 step count with floats
        z, losses = jax.jit(jax.vmap(descend))(starts)
    return np.sort(np.asarray(z[int(jnp.argmin(losses))]))


# -- one condition -------------------------------------------------------------------------
def condition(c: Config, seed: int, name: str, net) -> dict:
    """Train one condition from ``seed``; probe its reversal points with the critic frozen."""
    task = task_of(c)
    length = task.trial_length
    tau = asymmetries(c) if name == "asymmetric" else np.full(c.channels, 0.5)
    overrides = {"vta.gamma": 1.0, "vta.alpha_plus": jnp.asarray(tau), "vta.alpha_minus": jnp.asarray(1 - tau)}
    params, state = net.init(jax.random.key(seed), overrides=overrides)
    before_reward = task.reward_step - 1  # the value the reward is compared with
    values, rewards = [], []
    for eta, trials in ((c.eta, c.trials), (c.eta_fine, c.fine_trials)):
        if not trials:
            continue
        state, trace = net.run(bs.set(params, "critic.eta", eta), state, trials * length,
                               record=["critic.value", "task.reward"])
        values.append(np.asarray(trace["critic.value"]).reshape(trials, length, c.channels)[:, before_reward])
        rewards.append(np.asarray(trace["task.reward"]).reshape(trials, length)[:, task.reward_step])
    grid = np.linspace(0.0, float(MAGNITUDES.max()), c.probe_points)
    frozen = bs.set(bs.set(params, "critic.eta", 0.0), "task.probabilities", jnp.eye(len(MAGNITUDES))[0])
    responses = []
    for m in grid:  # one probe trial per magnitude; new params values do not recompile
        probe = bs.set(frozen, "task.magnitudes", jnp.full(len(MAGNITUDES), m))
        _, trace = net.run(probe, state, length, record=["vta.rpe"])
        responses.append(np.asarray(trace["vta.rpe"])[task.reward_step])
    responses = np.stack(responses)  # (grid, channels)
    return {"values": np.concatenate(values), "rewards": np.concatenate(rewards), "grid": grid,
            "responses": responses, "reversal": reversal_points(grid, responses), "tau": tau}


def reversal_points(grid, responses) -> np.ndarray:
    """Where each channel's response to the reward crosses zero from below (NaN if it never does)."""
    out = np.full(responses.shape[1], np.nan)
    for i in range(responses.shape[1]):
        r = responses[:, i]
        k = np.flatnonzero((r[:-1] < 0) & (r[1:] >= 0))
        if k.size:
            k = k[0]
            out[i] = grid[k] + (0 - r[k]) / (r[k + 1] - r[k]) * (grid[k + 1] - grid[k])
    return out


def run(config: Config, out_dir) -> dict:
    c = config
    out = Path(out_dir)
    task = task_of(c)
    net = bs.build(td_conditioning(task, span=c.delay_steps + 1, channels=c.channels), dt=c.dt)
    seeds = list(range(c.seed, c.seed + c.seeds))
    results = criteria.paired_runs(seeds, CONDITIONS, lambda seed, name: condition(c, seed, name, net),
                                   "distributional-dopamine")
    for seed in seeds:  # paired: the symmetric control saw the same rewards
        if not np.array_equal(results[seed]["asymmetric"]["rewards"], results[seed]["symmetric"]["rewards"]):
            raise RuntimeError(f"seed {seed}: the symmetric control saw other rewards")
    taus = asymmetries(c)
    expected = np.array([expectile(t) for t in taus])
    span = float(MAGNITUDES.max() - MAGNITUDES.min())
    mean = float(np.sum(MAGNITUDES * PROBABILITIES))
    w1_mean = wasserstein_1([mean], [1.0], MAGNITUDES, PROBABILITIES)
    m = {k: [] for k in ("error", "spearman", "gain", "w1", "spread", "control_spread", "control_gain",
                         "control_mean_error")}
    decoded = {}
    for seed in seeds:
        rev = results[seed]["asymmetric"]["reversal"]
        m["error"].append(np.nanmax(np.abs(rev - expected)) / span if np.all(np.isfinite(rev)) else np.nan)
        m["spearman"].append(spearman(taus, rev))
        decoded[seed] = impute(taus, rev, c, jax.random.key(seed))
        w1 = wasserstein_1(decoded[seed], np.ones(c.decode_samples), MAGNITUDES, PROBABILITIES)
        m["w1"].append(w1)
        m["gain"].append(w1_mean / w1)
        m["spread"].append((np.nanmax(rev) - np.nanmin(rev)) / span)
        control = results[seed]["symmetric"]["reversal"]
        m["control_spread"].append((np.max(control) - np.min(control)) / span
                                   if np.all(np.isfinite(control)) else np.nan)
        # the control decoded the same way: the distribution must be lost, not just the spread
        control_decoded = impute(taus, control, c, jax.random.key(seed))
        m["control_gain"].append(w1_mean / wasserstein_1(control_decoded, np.ones(c.decode_samples),
                                                         MAGNITUDES, PROBABILITIES))
        m["control_mean_error"].append(float(np.max(np.abs(control - mean))) / span)
    crit = {
        "reversal_max_error_frac_of_range": criteria.criterion(m["error"], "<= 0.03", every_seed=True),
        "spearman_asymmetry_reversal": criteria.criterion(m["spearman"], ">= 0.95", every_seed=True),
        "decoded_w1_gain_over_mean": criteria.criterion(m["gain"], ">= 4", every_seed=True),
        "control_symmetric_reversal_spread_frac": criteria.criterion(m["control_spread"], "< 0.02",
                                                                      every_seed=True),
        "control_symmetric_decoded_w1_gain": criteria.criterion(m["control_gain"], "< 4", every_seed=True),
    }
    effects = {
        "reversal_spread_frac_of_range": criteria.effect(m["spread"]),
        "control_reversal_max_distance_from_mean_frac": criteria.effect(m["control_mean_error"]),
        "decoded_w1_ul": criteria.effect(m["w1"]),
        "mean_point_mass_w1_ul": w1_mean,
        "reward_mean_ul": mean,
        "expectiles_ul": {f"{t:.3f}": float(e) for t, e in zip(taus, expected)},
    }
    figures(c, results, seeds, decoded, expected, net, out)
    return {"criteria": crit, "effects": effects, "seeds": seeds}


def figures(c: Config, results, seeds, decoded, expected, net, out: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    taus = asymmetries(c)
    colours = plt.cm.coolwarm(np.linspace(0, 1, c.channels))
    first = results[seeds[0]]["asymmetric"]

    # 1. responses against magnitude, and reversal points against asymmetry (Dabney Fig. 2-3)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
    for i in np.unique(np.linspace(0, c.channels - 1, 10).astype(int)):
        axes[0].plot(first["grid"], first["responses"][:, i], color=colours[i], lw=1)
    axes[0].axhline(0, color="0.5", lw=0.6)
    for mag in MAGNITUDES:
        axes[0].axvline(mag, color="0.85", lw=0.6, zorder=0)
    axes[0].set_xlabel("delivered reward (ul)")
    axes[0].set_ylabel("RPE of the channel (ul)")
    axes[0].set_title(f"probe responses, critic frozen (seed {seeds[0]}; blue pessimistic, red optimistic)")
    for seed in seeds:
        axes[1].plot(taus, results[seed]["asymmetric"]["reversal"], "o", ms=3, color="C0", alpha=0.5)
        axes[1].plot(taus, results[seed]["symmetric"]["reversal"], "s", ms=3, color="C1", alpha=0.5)
    axes[1].plot(taus, expected, "k-", lw=1, label="analytic expectiles")
    axes[1].plot([], [], "o", color="C0", label="asymmetric channels (each seed)")
    axes[1].plot([], [], "s", color="C1", label="symmetric control: all at the mean")
    axes[1].set_xlabel("asymmetry tau = alpha+ / (alpha+ + alpha-)")
    axes[1].set_ylabel("reversal point (ul)")
    axes[1].set_title("reversal points follow the expectiles")
    axes[1].legend(frameon=False, fontsize=8)
    fig.savefig(out / "reversal_points.png", dpi=100)
    plt.close(fig)

    # 2. learning: each channel's value before the reward over trials
    fig, ax = plt.subplots(figsize=(9, 4.5), constrained_layout=True)
    trials = np.arange(len(first["values"]))
    step = max(1, len(trials) // 400)
    for i in np.unique(np.linspace(0, c.channels - 1, 8).astype(int)):
        curves = np.stack([results[s]["asymmetric"]["values"][::step, i] for s in seeds])
        ax.plot(trials[::step], curves.mean(0), color=colours[i], lw=1)
        ax.fill_between(trials[::step], curves.min(0), curves.max(0), color=colours[i], alpha=0.2, lw=0)
        ax.axhline(expected[i], color=colours[i], ls="--", lw=0.7)
    ax.axvline(c.trials, color="k", lw=0.6, ls=":")
    ax.set_xlabel("trial (dotted: eta -> eta_fine)")
    ax.set_ylabel("value before the reward (ul)")
    ax.set_title(f"channels converge to their expectiles (dashed); mean and range over {len(seeds)} seeds")
    fig.savefig(out / "learning_curves.png", dpi=100)
    plt.close(fig)

    # 3. the decoded distribution
    fig, axes = plt.subplots(1, 2, figsize=(12, 4), constrained_layout=True)
    bins = np.linspace(0, MAGNITUDES.max(), 41)
    axes[0].hist(np.concatenate([decoded[s] for s in seeds]), bins=bins, density=True, color="C0", alpha=0.6,
                 label=f"decoded from reversal points ({len(seeds)} seeds)")
    axes[0].stem(MAGNITUDES, PROBABILITIES / np.diff(bins)[0], linefmt="k-", markerfmt="ko", basefmt=" ",
                 label="true distribution")
    axes[0].set_xlabel("reward (ul)")
    axes[0].set_ylabel("density")
    axes[0].legend(frameon=False, fontsize=8)
    axes[0].set_title("imputed reward distribution")
    x = np.linspace(0, MAGNITUDES.max(), 400)
    axes[1].step(x, [PROBABILITIES[MAGNITUDES <= v].sum() for v in x], "k", where="post", label="true")
    for s in seeds:
        axes[1].step(x, [(decoded[s] <= v).mean() for v in x], color="C0", alpha=0.5, where="post")
    mean = float(np.sum(MAGNITUDES * PROBABILITIES))
    axes[1].step(x, (x >= mean).astype(float), "C3--", where="post", label="point mass at the mean")
    axes[1].plot([], [], color="C0", label="decoded (each seed)")
    axes[1].set_xlabel("reward (ul)")
    axes[1].set_ylabel("cumulative probability")
    axes[1].legend(frameon=False, fontsize=8)
    axes[1].set_title("CDFs: W1 is the area between them")
    fig.savefig(out / "decoding.png", dpi=100)
    plt.close(fig)

    # 4. the connectome, drawn from the network that ran
    fig, ax = plt.subplots(figsize=(6, 5), constrained_layout=True)
    bs.plot.connectome(net, ax=ax, positions=TD_CONDITIONING_POSITIONS)
    ax.set_title(f"distributional-dopamine connectome ({c.channels} channels)")
    fig.savefig(out / "connectome.png", dpi=100)
    plt.close(fig)
