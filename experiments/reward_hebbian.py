"""Reward-modulated Hebbian learning of delayed non-match-to-sample in a recurrent cortex (Miconi 2017).

After Miconi (2017, eLife 6, e20899): a chaotic rate network (`Cortex` of
``n`` = 200 tanh units, g = 1.5, tau = 30 ms, dt = 1 ms) sees two input
channels through fixed random weights (uniform in [-1, 1]). Each trial shows
stimulus 1 (channel A or B) for 200 ms, a 200 ms delay, stimulus 2 for
200 ms, and 400 ms more; over the last 200 ms unit 0's rate must be +0.98
if the two stimuli differed and -0.98 if they were the same. Nothing else
tells the network what it should have done: at the end of each trial one
scalar error (the mean absolute deviation of unit 0 from its target over
the response period) drives `bs.credit.reward_hebbian` on the recurrent
weights, from rare exploratory kicks of single units and a supralinear
Hebbian trace, against a running error kept per trial type. No gradient,
no target signal.

Measured per seed: the fraction of correct trials (the response has the
target's sign) over training, and over the last 400 of ``trials``; the
control pairs each trial's trace with another trial's error (the rewards
shuffled across trials), which must keep it at chance; a linear decoder of
stimulus 1 from the rates late in the delay (trained on half of new kicked
trials, tested on the other half); and the trial-averaged population
trajectories of the four stimulus pairs in their first two principal
components.

Deviations from the paper: the four trial types make one batch, so the
weights change once per four trials (the sum of the four updates, then the
clip); no units are clamped as biases.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm.auto import tqdm

import brainsim as bs
from brainsim import check_int, criteria, run_folders
from regions import Cortex

PAIRS = ("AA", "AB", "BA", "BB")  # stimulus 1, stimulus 2; AB and BA are non-matches
CHANCE = 0.5
POSITIONS = {"inp": (0.0, 0.0), "ctx": (1.0, 0.0), "out": (2.0, 0.0)}


@dataclasses.dataclass(frozen=True)
class Config:
    """Miconi (2017): node perturbation with a Hebbian trace learns delayed non-match-to-sample."""

    seed: int = 0
    seeds: int = 5
    n: int = 200
    g: float = 1.5
    tau: float = 30.0  # ms
    trials: int = 3000  # per seed, in batches of the four trial types
    stimulus_ms: int = 200
    delay_ms: int = 200
    response_ms: int = 200  # the last part of the trial, scored
    trial_ms: int = 1000
    eta: float = 0.1
    max_dw: float = 3e-4
    kick: float = 16.0
    p_kick: float = 0.003
    start_noise: float = 0.1  # each trial starts from x ~ U(-0.1, 0.1)
    decoder_trials: int = 40  # kicked trials per pair for the decoder and the trajectories
    window: int = 400  # trials: the final accuracy is measured over the last ones

    def __post_init__(self):
        for name in ("seeds", "n", "trials", "stimulus_ms", "delay_ms", "response_ms", "trial_ms",
                     "decoder_trials", "window"):
            check_int("reward-hebbian", name, getattr(self, name))
        check_int("reward-hebbian", "seed", self.seed, minimum=0)
        if self.trials % 4 or self.window % 4 or self.window > self.trials:
            raise ValueError("reward-hebbian: trials and window are multiples of 4 (one batch holds the four "
                             "trial types) and window <= trials")
        if 2 * self.stimulus_ms + self.delay_ms + self.response_ms > self.trial_ms:
            raise ValueError("reward-hebbian: stimulus 1, the delay, stimulus 2 and the response period must "
                             "fit in trial_ms")


def connectome(c: Config) -> bs.Connectome:
    """inp (two stimulus channels) -> ctx (the recurrent network) -> out (a copy of unit 0)."""
    brain = bs.Connectome()
    brain.add("inp", bs.RatePopulation(2, activation="linear"))
    brain.add("ctx", Cortex(c.n))
    brain.add("out", bs.RatePopulation(1, activation="linear"))
    brain.connect("inp.rate", "ctx.input")
    brain.connect("ctx.rate", "out.input")
    return brain


def start(c: Config, seed: int):
    """``(net, params, state)``: W_rec ~ N(0, g^2 / n), input weights U(-1, 1), out = unit 0."""
    net = bs.build(connectome(c), dt=1.0)
    params, state = net.init(jax.random.key(seed),
                             overrides={"ctx.tau": c.tau, "inp.tau": 1.0, "out.tau": 1.0})
    k_rec, k_in = jax.random.split(jax.random.fold_in(jax.random.key(seed), 1))
    params = bs.set(params, "ctx.W_rec", c.g / np.sqrt(c.n) * jax.random.normal(k_rec, (c.n, c.n)))
    params = bs.set(params, "inp.rate->ctx.input.weight",
                    jax.random.uniform(k_in, (2, c.n), minval=-1, maxval=1))
    params = bs.set(params, "ctx.rate->out.input.weight", jnp.zeros((c.n, 1)).at[0, 0].set(1.0))
    return net, params, state


def trials(c: Config) -> dict:
    """The four trial types as one batch: inputs (4, T, 2), targets (4, T, 1), the response mask."""
    t = np.arange(c.trial_ms)
    first = (t < c.stimulus_ms)
    second = (t >= c.stimulus_ms + c.delay_ms) & (t < 2 * c.stimulus_ms + c.delay_ms)
    inputs = np.zeros((4, c.trial_ms, 2), np.float32)
    for i, pair in enumerate(PAIRS):
        inputs[i, first, "AB".index(pair[0])] = 1.0
        inputs[i, second, "AB".index(pair[1])] = 1.0
    answer = np.array([-0.98 if pair[0] == pair[1] else 0.98 for pair in PAIRS], np.float32)
    targets = np.broadcast_to(answer[:, None, None], (4, c.trial_ms, 1)).copy()
    mask = np.broadcast_to(t >= c.trial_ms - c.response_ms, (4, c.trial_ms)).astype(np.float32)
    return {"inputs": {"inp.input": jnp.asarray(inputs)}, "targets": jnp.asarray(targets),
            "mask": jnp.asarray(mask), "condition": jnp.arange(4)}


def rule_of(c: Config, net, state, shuffled: bool = False):
    return bs.credit.reward_hebbian(net, state, region="ctx", output="out.rate", loss="mae", conditions=4,
                                    kick=c.kick, p_kick=c.p_kick, start_noise=c.start_noise,
                                    shuffled=shuffled)


def train(c: Config, seed: int, shuffled: bool = False, checkpoint=None) -> dict:
    """Train one seed; the fraction correct of every batch of four trials, and the final params.
    The control meets the same kicks and starts as the trained network (the same key)."""
    net, params, state = start(c, seed)
    rule = rule_of(c, net, state, shuffled)
    batch = trials(c)
    optimiser = optax.chain(optax.sgd(c.eta), optax.clip(c.max_dw))
    result = bs.train.fit(rule, params, optimiser, lambda key, step: batch, c.trials // 4,
                          key=jax.random.fold_in(jax.random.key(seed), 2), trainable=["ctx.W_rec"],
                          progress=False, checkpoint=checkpoint, checkpoint_every=100)
    correct = np.asarray(result.history["correct"])
    return {"params": result.params, "correct": correct, "error": np.asarray(result.history["error"]),
            "final": float(correct[-c.window // 4:].mean()), "net": net, "state": state, "rule": rule}


def kicked_rates(c: Config, trained: dict, seed: int):
    """``(rates (4, K, T, n), responses (4, K))`` of ``c.decoder_trials`` new kicked trials per pair."""
    net, rule, params = trained["net"], trained["rule"], trained["params"]
    batch = trials(c)

    def one(drive, key):
        k_start, k_kicks = jax.random.split(key)
        kicks = rule.kicks(k_kicks, c.trial_ms)
        _, trace = net.run(params, rule.start(k_start), c.trial_ms,
                           inputs={"inp.input": drive, "ctx.input": kicks}, record=["ctx.rate", "out.rate"])
        return trace["ctx.rate"], trace["out.rate"][:, 0]

    keys = jax.random.split(jax.random.fold_in(jax.random.key(seed), 99), (4, c.decoder_trials))
    drives = jnp.broadcast_to(batch["inputs"]["inp.input"][:, None], (4, c.decoder_trials, c.trial_ms, 2))
    rates, out = jax.jit(jax.vmap(jax.vmap(one)))(drives, keys)
    response = out[..., c.trial_ms - c.response_ms:].mean(-1)
    return np.asarray(rates), np.asarray(response)


def decode_first_stimulus(c: Config, rates: np.ndarray, start: int | None = None, width: int = 100) -> float:
    """Held-out accuracy of a least-squares linear decoder of stimulus 1 (A or B) from the mean rate
    over ``width`` ms from ``start`` (default: the last 100 ms of the delay); trained on even
    trials, tested on odd ones."""
    start = c.stimulus_ms + c.delay_ms - width if start is None else start
    features = rates[:, :, start:start + width].mean(2)  # (4, K, n)
    label = np.array([1.0 if pair[0] == "B" else -1.0 for pair in PAIRS])
    x = np.concatenate([features.reshape(-1, c.n), np.ones((features.size // c.n, 1))], 1)
    y = np.repeat(label, c.decoder_trials)
    train_rows = np.tile(np.arange(c.decoder_trials) % 2 == 0, 4)
    w, *_ = np.linalg.lstsq(x[train_rows], y[train_rows], rcond=1e-6)
    return float(np.mean(np.sign(x[~train_rows] @ w) == y[~train_rows]))


def decoding_curve(c: Config, rates: np.ndarray, width: int = 100) -> np.ndarray:
    """`decode_first_stimulus` in consecutive bins of ``width`` ms over the whole trial."""
    return np.array([decode_first_stimulus(c, rates, start, width) for start in range(0, c.trial_ms, width)])


def trajectories(rates: np.ndarray, dims: int = 2):
    """Trial-averaged trajectories of the four pairs projected on their first ``dims`` principal
    components: ``(4, T, dims)`` and the variance each explains."""
    mean = rates.mean(1)  # (4, T, n)
    flat = mean.reshape(-1, mean.shape[-1])
    centred = flat - flat.mean(0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    explained = s ** 2 / np.sum(s ** 2)
    return (centred @ vt[:dims].T).reshape(mean.shape[0], mean.shape[1], dims), explained[:dims]


def run(config: Config, out_dir) -> dict:
    c = config
    out = Path(out_dir)
    seeds = list(range(c.seed, c.seed + c.seeds))
    learned, shuffled, decoded, responses, curves = {}, {}, {}, {}, {}
    example = None
    with tqdm(total=2 * len(seeds), desc="reward-hebbian", unit="training") as bar:
        for seed in seeds:
            saved = out / "checkpoints" / run_folders.config_digest(c)
            learned[seed] = train(c, seed, checkpoint=saved / f"seed{seed}")
            bar.update(1)
            shuffled[seed] = train(c, seed, shuffled=True, checkpoint=saved / f"seed{seed}_shuffled")
            bar.update(1)
            rates, response = kicked_rates(c, learned[seed], seed)
            decoded[seed] = decode_first_stimulus(c, rates)
            net, untrained, _ = start(c, seed)
            naive, _ = kicked_rates(c, {**learned[seed], "params": untrained}, seed)
            curves[seed] = {"trained": decoding_curve(c, rates), "untrained": decoding_curve(c, naive)}
            answer = np.array([-1.0 if p[0] == p[1] else 1.0 for p in PAIRS])
            responses[seed] = float(np.mean(np.sign(response) == answer[:, None]))
            if example is None:
                example = rates
    crit = {
        "accuracy_last_trials_within_budget": criteria.criterion([learned[s]["final"] for s in seeds],
                                                                 ">= 0.9"),
        "control_shuffled_rewards_accuracy_minus_chance": criteria.criterion(
            abs(np.mean([shuffled[s]["final"] for s in seeds]) - CHANCE), "< 0.1"),
        "decoder_stimulus_1_from_delay_rates": criteria.criterion([decoded[s] for s in seeds], "> 0.9"),
    }
    first = {s: first_trial_reaching(learned[s]["correct"], 0.9) for s in seeds}
    effects = {
        "accuracy_last_trials": criteria.effect([learned[s]["final"] for s in seeds]),
        "accuracy_last_trials_shuffled": criteria.effect([shuffled[s]["final"] for s in seeds]),
        "accuracy_new_kicked_trials": criteria.effect([responses[s] for s in seeds]),
        "trials_to_90_percent": {str(s): first[s] for s in seeds},
        "control_shuffled_rewards_accuracy": criteria.effect([shuffled[s]["final"] for s in seeds]),
        "decoder_stimulus_1_untrained_network": criteria.effect(
            [curves[s]["untrained"][(c.stimulus_ms + c.delay_ms) // 100 - 1] for s in seeds]),
        "decoder_by_100ms_bin": {kind: np.mean([curves[s][kind] for s in seeds], 0).tolist()
                                 for kind in ("trained", "untrained")},
    }
    figures(c, learned, shuffled, example, curves, seeds, out)
    return {"criteria": crit, "effects": effects, "seeds": seeds}


def first_trial_reaching(correct: np.ndarray, level: float, window: int = 25) -> int | None:
    """The first trial after which the fraction correct over ``window`` batches stays >= ``level``
    for the rest of training (None if it never does)."""
    running = np.convolve(correct, np.ones(window) / window, mode="valid")
    below = np.flatnonzero(running < level)
    end = below[-1] + 1 if below.size else 0
    return None if end >= running.size else int(4 * (end + window))


def figures(c: Config, learned, shuffled, example, curves, seeds, out: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(19, 4.8), constrained_layout=True)
    window = 25  # batches of four trials
    for runs, colour, label in ((learned, "C0", "reward-modulated Hebbian"),
                                (shuffled, "C7", "rewards shuffled across trials")):
        correct = np.stack([np.convolve(runs[s]["correct"], np.ones(window) / window, mode="valid")
                            for s in seeds])
        trial = 4 * (np.arange(correct.shape[1]) + window)
        axes[0].plot(trial, correct.mean(0), color=colour, label=label)
        axes[0].fill_between(trial, correct.min(0), correct.max(0), color=colour, alpha=0.2, lw=0)
    axes[0].axhline(0.9, color="0.5", ls="--", lw=0.7)
    axes[0].axhline(CHANCE, color="0.5", lw=0.7)
    axes[0].set_xlabel("trial")
    axes[0].set_ylabel(f"fraction correct (last {4 * window} trials; mean, range of {len(seeds)} seeds)")
    axes[0].set_title("delayed non-match-to-sample from a scalar error")
    axes[0].legend(frameon=False)
    paths, explained = trajectories(example)
    marks = {"stimulus 1 ends": c.stimulus_ms, "stimulus 2 starts": c.stimulus_ms + c.delay_ms,
             "response starts": c.trial_ms - c.response_ms}
    for i, pair in enumerate(PAIRS):
        line, = axes[1].plot(paths[i, :, 0], paths[i, :, 1], label=f"{pair[0]} then {pair[1]}")
        for j, (name, t) in enumerate(marks.items()):
            axes[1].plot(*paths[i, t], marker="osD"[j], color=line.get_color(), ms=6,
                         label=name if i == 0 else None, mfc="white" if i else line.get_color())
    axes[1].set_xlabel(f"PC 1 ({100 * explained[0]:.0f}% of variance)")
    axes[1].set_ylabel(f"PC 2 ({100 * explained[1]:.0f}% of variance)")
    axes[1].set_title(f"trained network, seed {seeds[0]}: trial-averaged trajectories")
    axes[1].legend(frameon=False, fontsize=8)
    centres = np.arange(0, c.trial_ms, 100) + 50
    for kind, colour in (("trained", "C0"), ("untrained", "C7")):
        values = np.stack([curves[s][kind] for s in seeds])
        axes[2].plot(centres, values.mean(0), marker="o", color=colour, label=f"{kind} network")
        axes[2].fill_between(centres, values.min(0), values.max(0), color=colour, alpha=0.2, lw=0)
    for name, t in marks.items():
        axes[2].axvline(t, color="0.6", lw=0.7, ls=":")
    axes[2].axhline(CHANCE, color="0.5", lw=0.7)
    axes[2].set_xlabel("time in the trial (ms; dotted: stimulus 1 ends, stimulus 2 starts, response)")
    axes[2].set_ylabel("held-out accuracy decoding stimulus 1")
    axes[2].set_title("what the rates keep of stimulus 1 (linear decoder, 100 ms bins)")
    axes[2].set_ylim(0.3, 1.05)
    axes[2].legend(frameon=False)
    fig.savefig(out / "reward_hebbian.png", dpi=100)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 3), constrained_layout=True)
    bs.plot.connectome(connectome(c), ax=ax, positions=POSITIONS)
    ax.set_title("reward-hebbian connectome (ctx.W_rec learns; the readout copies unit 0)")
    fig.savefig(out / "connectome.png", dpi=100)
    plt.close(fig)
