"""Credit assignment across a cortical hierarchy: every rule of `bs.credit` against BPTT.

A hierarchy of three cortical areas (sensory -> association -> prefrontal,
each a `Cortex` of ``n`` tanh units with its own recurrence; feedforward
projections one step late, feedback projections two steps late, dt = 10 ms,
tau = 50 ms) reads a delayed match-to-sample task (`bs.tasks.DelayedMatch`,
after Miconi 2017: a sample of 40 ms must be held across a 60 ms delay and
compared with a test of 40 ms; the answer is due in the next 40 ms) through
a trainable input projection and answers through a linear readout of the
prefrontal area. Match or non-match is the parity of sample and test: no
answer is linear in the stimuli, so a rule must find the hidden
nonlinearity before its error tells it anything (the loss sits at log 2
until then). From the same initial weights, paired
over seeds, it learns by each rule:

- ``bptt``: exact gradients, the reference; ``truncated bptt`` (windows of
  ``window`` steps) and ``synthetic gradients`` (the same windows with a
  cerebellum-like predictor of the cut gradient at the prefrontal state);
- ``feedback alignment`` (Lillicrap et al. 2016) and ``direct feedback
  alignment`` (Nøkland 2016): random feedback between areas, BPTT within;
- ``e-prop`` (Bellec et al. 2020) and ``rflo`` (Murray 2019): forward
  eligibility traces and random feedback of the readout error to every
  area, no backward pass at all;
- ``node perturbation`` (Fiete & Seung 2006): noise in every area's input and
  the trial's reward (minus the noiseless trial's), no error signal.

Measured per rule: the learning curve and the final accuracy (at the
decision steps, on held-out trials), the cosine between the rule's update
and the BPTT gradient per area over training (on a fixed probe batch, at the
rule's own weights), and a control with the targets shuffled across the
trials of each batch, which must leave every rule at chance.

Predictive coding and prospective configuration are defined here on
feedforward stacks (their energy is that of one sample's static map), so
they are compared where they apply (`bs.credit.energy`):

- target alignment (Song et al. 2024): the cosine between the change of the
  output after one update and the direction to the target, for one sample
  at a time, with 2 and 4 hidden areas, against backprop;
- interference: a stack learns association A (8 input patterns to random
  targets), then association B whose inputs share half of A's components;
  the fraction of A's learned improvement lost while learning B, per rule;
  and the angle between each rule's update and the backprop gradient over
  the hidden areas, at the start and after learning A (on B's errors):
  feedback alignment's forward weights come to align with its feedback in a
  stack as in Lillicrap et al. (2016), which its recurrent run above need not show.

Memory and time per update at T = 1,000 and 10,000: ``benchmarks/credit_rules.py``.
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
from brainsim.credit.target_alignment import outputs
from regions import Cortex

DT = 10.0
AREAS = ("sen", "asc", "pfc")
TEMPORAL_RULES = ("bptt", "truncated bptt", "synthetic gradients", "feedback alignment",
                  "direct feedback alignment", "e-prop", "rflo", "node perturbation")
FEEDFORWARD_RULES = ("bptt", "feedback alignment", "predictive coding", "prospective configuration")
CHANCE = 0.5  # match or non-match, equally likely
POSITIONS = {"inp": (0.0, 0.0), "sen": (1.0, 0.0), "asc": (2.0, 0.0), "pfc": (3.0, 0.0), "out": (4.0, 0.0)}


@dataclasses.dataclass(frozen=True)
class Config:
    """Every credit-assignment rule against BPTT in a three-area cortical hierarchy."""

    seed: int = 0
    seeds: int = 5
    n: int = 32  # units per area
    n_stimuli: int = 2
    epoch_steps: int = 4  # of the task's sample, test and decision epochs
    delay_steps: int = 6  # of the task (60 ms)
    feedforward_delay: int = 1  # steps
    feedback_delay: int = 2
    g_rec: float = 1.5  # recurrent gain of each area at the start (W_rec ~ N(0, g^2 / n))
    tau: float = 50.0  # ms, of every area
    batch: int = 32
    updates: int = 600
    lr: float = 3e-3  # Adam, every rule
    window: int = 6  # truncated BPTT and synthetic gradients: steps per window
    sigma: float = 0.1  # node perturbation
    measure_every: int = 100
    eval_trials: int = 512
    samples: int = 16  # target alignment: single samples per seed and depth
    stack_width: int = 16  # units per hidden area of the feedforward stacks
    patterns: int = 8  # per association (interference)
    interference_hidden: int = 2  # hidden areas of the interference stack
    interference_updates: int = 300  # per association, plain SGD
    interference_lr: float = 0.05
    inference_steps: int = 200  # predictive coding and prospective configuration
    nudge: float = 0.1  # of predictive coding's output
    rules: str = ",".join(TEMPORAL_RULES)  # on the temporal task, comma-separated

    def __post_init__(self):
        for name in ("seeds", "n", "batch", "updates", "window", "measure_every", "eval_trials", "samples",
                     "stack_width", "patterns", "interference_hidden", "interference_updates",
                     "inference_steps", "epoch_steps", "delay_steps", "feedforward_delay", "feedback_delay"):
            check_int("credit-hierarchy", name, getattr(self, name))
        check_int("credit-hierarchy", "seed", self.seed, minimum=0)
        check_int("credit-hierarchy", "n_stimuli", self.n_stimuli, minimum=2)
        unknown = [r for r in rules_of(self) if r not in TEMPORAL_RULES]
        if unknown or not rules_of(self):
            raise ValueError(f"credit-hierarchy: unknown rules {unknown}; rules are "
                             f"{', '.join(TEMPORAL_RULES)}")
        if self.updates % self.measure_every:
            raise ValueError("credit-hierarchy: measure_every must divide updates")


def task_of(c: Config) -> bs.tasks.DelayedMatch:
    return bs.tasks.DelayedMatch(n_stimuli=c.n_stimuli, sample_steps=c.epoch_steps, delay_steps=c.delay_steps,
                                 test_steps=c.epoch_steps, decision_steps=c.epoch_steps)


def hierarchy(c: Config) -> bs.Connectome:
    """inp (the task's observations) -> sen <-> asc <-> pfc -> out, delays in steps."""
    task = task_of(c)
    brain = bs.Connectome()
    brain.add("inp", bs.RatePopulation(task.n_obs, activation="linear"))
    for area in AREAS:
        brain.add(area, Cortex(c.n))
    brain.add("out", bs.RatePopulation(task.n_actions, activation="linear"))
    brain.connect("inp.rate", "sen.input")
    for low, high in zip(AREAS, AREAS[1:]):
        brain.connect(f"{low}.rate", f"{high}.input", delay=c.feedforward_delay)
        brain.connect(f"{high}.rate", f"{low}.input", delay=c.feedback_delay, scale=0.5)
    brain.connect("pfc.rate", "out.input")
    return brain


def overrides(c: Config) -> dict:
    return {"inp.tau": DT, "out.tau": DT, **{f"{a}.tau": c.tau for a in AREAS}}


def start(c: Config, seed: int, brain: bs.Connectome):
    """``(net, params, state)`` of ``brain`` from the seed's plain start (shared by every rule)."""
    plain = bs.build(hierarchy(c), dt=DT)
    params, state = plain.init(jax.random.key(seed), overrides=overrides(c))
    for area in AREAS:
        params = bs.set(params, f"{area}.W_rec", bs.get(params, f"{area}.W_rec") * (c.g_rec / 1.5))
    if brain is None:
        return plain, params, state
    net = bs.build(brain, dt=DT)
    own, own_state = net.init(jax.random.key(seed), overrides=overrides(c))
    for path in bs.paths(params):  # the same forward start; the rule's feedback stays its own
        own = bs.set(own, path, bs.get(params, path))
    return net, own, own_state


TRAINED = ("sen", "asc", "pfc", "out")


def rule_of(c: Config, name: str, seed: int):
    """``(net, params, state, rule)`` for rule ``name``; `bs.credit.plain` maps the rule's update
    to the plain network's params."""
    brain = None
    if name == "feedback alignment":
        brain = bs.credit.feedback_alignment(hierarchy(c))
    elif name == "direct feedback alignment":
        brain = bs.credit.direct_feedback_alignment(hierarchy(c), "out")
    net, params, state = start(c, seed, brain)
    key = jax.random.fold_in(jax.random.key(seed), 7)
    common = {"output": "out.rate", "loss": "cross_entropy"}  # the readout's rates are the logits
    if name in ("bptt", "feedback alignment", "direct feedback alignment"):
        rule = bs.credit.bptt(net, state, **common)
    elif name == "truncated bptt":
        rule = bs.credit.bptt(net, state, truncate=c.window, **common)
    elif name == "synthetic gradients":
        rule = bs.credit.synthetic_gradients(net, state, region="pfc", window=c.window, key=key, **common)
    elif name == "e-prop":
        rule = bs.credit.eprop(net, state, regions=TRAINED, key=key, **common)
    elif name == "rflo":
        rule = bs.credit.rflo(net, state, regions=TRAINED, key=key, **common)
    elif name == "node perturbation":
        rule = bs.credit.node_perturbation(net, state, sigma=c.sigma, **common)
    else:
        raise ValueError(f"credit-hierarchy: unknown rule {name!r}; rules are {TEMPORAL_RULES}")
    return net, params, state, rule


FIXED = (*bs.train.NEVER_TRAINED, "tau")


def trainable(params) -> list[str]:
    """What every rule trains: the weights and biases (the time constants stay, as e-prop, RFLO
    and node perturbation leave scalars alone; feedback matrices are state)."""
    return [p for p in bs.paths(params) if p.split(".")[-1] not in FIXED]


def weights_only(update):
    """``update`` with its time-constant (and feedback-scale) leaves zeroed."""
    return jax.tree_util.tree_map_with_path(
        lambda path, u: jnp.zeros_like(u) if getattr(path[-1], "key", None) in FIXED else u, update)


# -- the temporal task -----------------------------------------------------------
def batch_of(c: Config, key, size: int, shuffled: bool = False) -> dict:
    """``size`` trials: observations, answers and the decision-epoch mask; ``shuffled`` pairs each
    trial's observations with another trial's answers (the control)."""
    task = task_of(c)
    k_trials, k_shuffle = jax.random.split(key)
    trials = task.trials(task.task_params(), k_trials, size)
    targets = trials["targets"]
    if shuffled:
        order = jax.random.permutation(k_shuffle, size)
        targets, mask = targets[order], trials["mask"][order]
    else:
        mask = trials["mask"]
    return {"inputs": {"inp.input": trials["inputs"]}, "targets": targets, "mask": mask}


def accuracy(logits, trials) -> float:
    """The fraction of decision steps whose largest output (``logits``, ``(B, T, actions)``) is
    the right answer."""
    chosen = jnp.argmax(logits, axis=-1)
    mask = trials["mask"]
    return float(jnp.sum((chosen == trials["targets"]).astype(mask.dtype) * mask) / jnp.sum(mask))


def area_of(path: str) -> str | None:
    """The area a param acts on: its own params and the projections into it."""
    head = path.split("->")[1] if "->" in path else path
    area = head.split(".")[0]
    return area if area in AREAS + ("out",) else None


def area_cosines(update, gradient) -> dict:
    """``{area: cos}`` of the update and the gradient over each area's params, over the three
    cortical areas together (``"hidden"``, below the readout) and over all (``"all"``)."""
    groups: dict = {}
    for path in bs.paths(gradient):
        area = area_of(path)
        if area is None or path.endswith((".tau", "dt")):
            continue
        u, g = np.ravel(bs.get(update, path)), np.ravel(bs.get(gradient, path))
        for key in (area, "all") if area == "out" else (area, "hidden", "all"):
            dot, uu, gg = groups.get(key, (0.0, 0.0, 0.0))
            groups[key] = (dot + float(u @ g), uu + float(u @ u), gg + float(g @ g))
    return {k: dot / np.sqrt(uu * gg) if uu > 0 and gg > 0 else 0.0 for k, (dot, uu, gg) in groups.items()}


def train(c: Config, seed: int, name: str, shuffled: bool = False) -> dict:
    """One rule from the seed's start: loss history, accuracy and alignment every
    ``measure_every`` updates, and the final accuracy."""
    if task_of(c).trial_length % c.window:
        raise ValueError(f"credit-hierarchy: window ({c.window} steps) must divide the trial "
                         f"({task_of(c).trial_length} steps)")
    net, params, state, rule = rule_of(c, name, seed)
    plain = bs.credit.plain
    reference_net, _, reference_state = start(c, seed, None)
    exact = bs.credit.bptt(reference_net, reference_state, output="out.rate", loss="cross_entropy")
    key = jax.random.key(seed)
    held_out = batch_of(c, jax.random.fold_in(key, 1), c.eval_trials)
    probe = batch_of(c, jax.random.fold_in(key, 2), c.batch)
    predict = jax.jit(lambda p: outputs(net, state, p, held_out, "out.rate"))  # compiled once
    rule_update = jax.jit(lambda p, rs: rule(p, rs, probe, jax.random.key(3))[1])
    exact_update = jax.jit(lambda p: exact(p, (), probe, jax.random.key(3))[1])
    log = {"step": [], "accuracy": [], "alignment": []}

    def measure(step, p, rule_state):
        log["step"].append(step)
        log["accuracy"].append(accuracy(predict(p), held_out))
        if not shuffled:
            log["alignment"].append(area_cosines(plain(rule_update(p, rule_state)), exact_update(plain(p))))

    def data(k, step):
        return batch_of(c, jax.random.fold_in(k, step), c.batch, shuffled)

    optimiser = bs.train.masked(optax.adam(c.lr), params, trainable(params))

    @jax.jit
    def update(params, opt_state, rule_state, k, step):
        noise = jax.random.fold_in(k, 1_000_000 + step)
        value, grads, rule_state, _ = rule(params, rule_state, data(k, step), noise)
        params, opt_state = bs.train.apply_updates(optimiser, grads, opt_state, params)
        return params, opt_state, rule_state, value

    opt_state, rule_state = optimiser.init(params), rule.init(params)
    measure(0, params, rule_state)
    losses = []
    for step in range(c.updates):
        params, opt_state, rule_state, value = update(params, opt_state, rule_state,
                                                      jax.random.fold_in(key, 100), step)
        losses.append(value)
        if (step + 1) % c.measure_every == 0:
            measure(step + 1, params, rule_state)
    losses = np.asarray(jax.device_get(losses))
    if not np.all(np.isfinite(losses)):
        raise bs.NonFiniteError(f"credit-hierarchy: {name} (seed {seed}) lost finite values; lower lr")
    return {"loss": losses, "step": np.asarray(log["step"]),
            "accuracy": np.asarray(log["accuracy"]), "alignment": log["alignment"],
            "final_accuracy": log["accuracy"][-1]}


# -- feedforward stacks: target alignment and interference -----------------------
STACK_IN, STACK_OUT = 8, 4


def stack_brain(c: Config, hidden: int) -> bs.Connectome:
    """inp -> h0 -> ... -> h{hidden-1} -> out: tanh areas of ``c.stack_width`` units, one step each."""
    names = ["inp", *[f"h{i}" for i in range(hidden)], "out"]
    brain = bs.Connectome()
    for name in names:
        size = {"inp": STACK_IN, "out": STACK_OUT}.get(name, c.stack_width)
        brain.add(name, bs.RatePopulation(size, activation="linear" if name in ("inp", "out") else "tanh"))
    for low, high in zip(names, names[1:]):
        brain.connect(f"{low}.rate", f"{high}.input", scale=1.5)
    return brain


def stack_start(c: Config, hidden: int, seed: int, feedback: bool = False):
    """``(net, params, state)`` of a stack from the seed's start; ``feedback``: random feedback
    (the forward weights equal to the plain stack's)."""
    brain = stack_brain(c, hidden)
    plain = bs.build(brain, dt=1.0)
    tau = {f"{name}.tau": 1.0 for name in plain.regions}
    params, state = plain.init(jax.random.key(seed), overrides=tau)
    if not feedback:
        return plain, params, state
    net = bs.build(bs.credit.feedback_alignment(brain), dt=1.0)
    own, own_state = net.init(jax.random.key(seed), overrides=tau)
    for path in bs.paths(params):
        own = bs.set(own, path, bs.get(params, path))
    return net, own, own_state


def stack_rule(c: Config, name: str, net, state):
    if name in ("bptt", "feedback alignment"):
        return bs.credit.bptt(net, state, output="out.rate")
    if name == "predictive coding":
        return bs.credit.predictive_coding(net, state, output="out.rate", nudge=c.nudge,
                                           inference_steps=c.inference_steps)
    if name == "prospective configuration":
        return bs.credit.prospective_configuration(net, state, output="out.rate",
                                                   inference_steps=c.inference_steps)
    raise ValueError(f"credit-hierarchy: unknown feedforward rule {name!r}; rules are {FEEDFORWARD_RULES}")


def samples(key, size: int, targets=None) -> dict:
    """``size`` one-step samples: N(0, 1) inputs and (unless given) N(0, 1) targets."""
    k_in, k_out = jax.random.split(key)
    x = jax.random.normal(k_in, (size, 1, STACK_IN))
    y = jax.random.normal(k_out, (size, 1, STACK_OUT)) if targets is None else targets
    return {"inputs": {"inp.input": x}, "targets": y}


def target_alignments(c: Config, hidden: int, seed: int) -> dict:
    """Mean target alignment of one backprop and one prospective-configuration step on the weights
    (each update scaled to unit norm) over ``c.samples`` single samples."""
    net, params, state = stack_start(c, hidden, seed)
    rules = {name: stack_rule(c, name, net, state) for name in ("bptt", "prospective configuration")}
    updates = {name: jax.jit(lambda p, b, r=rule: r(p, (), b, None)[1]) for name, rule in rules.items()}
    out = {name: [] for name in rules}
    for i in range(c.samples):
        batch = samples(jax.random.fold_in(jax.random.key(seed), 10_000 + i), 1)
        for name, update in updates.items():
            u = weights_only(update(params, batch))
            norm = jnp.sqrt(sum(jnp.sum(x ** 2) for x in jax.tree.leaves(u)))
            u = jax.tree.map(lambda x: x / norm, u)
            out[name].append(bs.credit.target_alignment(net, state, params, u, batch, output="out.rate"))
    return {name: float(np.mean(v)) for name, v in out.items()}


def associations(c: Config, seed: int) -> tuple[dict, dict]:
    """Association A (``c.patterns`` inputs to random targets) and B, whose inputs keep half of
    the components of A's (the same patterns' first half) with new second halves and targets."""
    key = jax.random.fold_in(jax.random.key(seed), 20_000)
    k_a, k_b = jax.random.split(key)
    a = samples(k_a, c.patterns)
    b = samples(k_b, c.patterns)
    half = STACK_IN // 2
    shared = jnp.concatenate([a["inputs"]["inp.input"][..., :half], b["inputs"]["inp.input"][..., half:]], -1)
    return a, {**b, "inputs": {"inp.input": shared}}


def interference(c: Config, seed: int, name: str) -> dict:
    """Learn A, then B, by rule ``name``; A's loss before, after A and after B, and the fraction of
    the learned improvement on A that learning B takes away."""
    net, params, state = stack_start(c, c.interference_hidden, seed, feedback=name == "feedback alignment")
    rule = stack_rule(c, name, net, state)
    plain, _, plain_state = stack_start(c, c.interference_hidden, seed)
    loss_of = jax.jit(lambda p, batch: bs.train.trial_loss(plain, plain_state, output="out.rate")(p, batch))
    a, b = associations(c, seed)
    optimiser = bs.train.masked(optax.sgd(c.interference_lr), params, trainable(params))

    @jax.jit
    def step(params, opt_state, batch):
        _, update, _, _ = rule(params, (), batch, None)
        return bs.train.apply_updates(optimiser, update, opt_state, params)

    def learn(params, batch):
        opt_state = optimiser.init(params)
        for _ in range(c.interference_updates):
            params, opt_state = step(params, opt_state, batch)
        return params

    def a_loss(p):
        return float(loss_of(bs.credit.plain(p), a))

    gradient = jax.jit(jax.grad(loss_of))
    update_of = jax.jit(lambda p, batch: rule(p, (), batch, None)[1])

    def hidden_angle(p, batch):
        """The angle between the rule's update and the backprop gradient over the hidden areas'
        params (the projections into them and their biases)."""
        u, g = bs.credit.plain(update_of(p, batch)), gradient(bs.credit.plain(p), batch)
        hidden = [q for q in trainable(g) if (q.split("->")[-1] if "->" in q else q).startswith("h")]
        u = np.concatenate([np.ravel(bs.get(u, q)) for q in hidden])
        g = np.concatenate([np.ravel(bs.get(g, q)) for q in hidden])
        return angle(float(u @ g / (np.linalg.norm(u) * np.linalg.norm(g) + 1e-30)))

    before, angle_start = a_loss(params), hidden_angle(params, a)
    params = learn(params, a)
    after_a, angle_after_a = a_loss(params), hidden_angle(params, b)  # on the new association's errors
    params = learn(params, b)
    after_b = a_loss(params)
    return {"before": before, "after_a": after_a, "after_b": after_b,
            "b_learned": float(loss_of(bs.credit.plain(params), b)),
            "forgotten": (after_b - after_a) / max(before - after_a, 1e-12),
            "angle_to_bp_start_deg": angle_start, "angle_to_bp_after_a_deg": angle_after_a}


# -- the experiment ----------------------------------------------------------------
def rules_of(c: Config) -> list[str]:
    return [name.strip() for name in c.rules.split(",")]


def angle(cosine: float) -> float:
    return float(np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0))))


def run(config: Config, out_dir) -> dict:
    c = config
    out = Path(out_dir)
    seeds = list(range(c.seed, c.seed + c.seeds))
    names = rules_of(c)
    trained: dict = {name: {} for name in names}
    shuffled: dict = {name: {} for name in names}
    with tqdm(total=2 * len(names) * len(seeds) + 3 * len(seeds), desc="credit-hierarchy",
              unit="run") as bar:
        saved = out / "results" / run_folders.config_digest(c, ignore=("seed", "seeds", "rules"))
        for seed in seeds:
            for name in names:
                bar.set_postfix_str(f"seed {seed}, {name}")
                for runs, control in ((trained, False), (shuffled, True)):
                    where = saved / f"{slug(name)}{'_shuffled' if control else ''}_seed{seed}.json"
                    runs[name][seed] = run_folders.cached(where, lambda: train(c, seed, name, control))
                    bar.update(1)
        depths = {}
        for hidden in (2, 4):
            depths[hidden] = []
            for seed in seeds:
                depths[hidden].append(target_alignments(c, hidden, seed))
                bar.update(1)
        forgetting = {name: [] for name in FEEDFORWARD_RULES}
        for seed in seeds:
            for name in FEEDFORWARD_RULES:
                forgetting[name].append(interference(c, seed, name))
            bar.update(1)

    def final(name, runs=trained):
        return np.array([runs[name][s]["final_accuracy"] for s in seeds])

    crit = {}
    if "bptt" in names:
        reference = final("bptt")
        for name in names:
            if name not in ("bptt", "node perturbation"):
                crit[f"{slug(name)}_accuracy_over_bptt"] = criteria.criterion(final(name) / reference,
                                                                              ">= 0.8")
    if "node perturbation" in names:
        crit["node_perturbation_accuracy_above_chance"] = criteria.criterion(
            final("node perturbation") - CHANCE, "> 0.05")
    for name in names:
        crit[f"control_shuffled_{slug(name)}_distance_from_chance"] = criteria.criterion(
            np.abs(final(name, shuffled) - CHANCE), "< 0.1", every_seed=True)
    if "feedback alignment" in names and "bptt" in names:
        crit["feedback_alignment_angle_after_training_deg"] = criteria.criterion(
            [angle(trained["feedback alignment"][s]["alignment"][-1]["hidden"]) for s in seeds], "< 60")
    gap = {h: np.array([d["prospective configuration"] - d["bptt"] for d in depths[h]]) for h in depths}
    crit["target_alignment_pcf_minus_bp_2_areas"] = criteria.criterion(gap[2], "> 0")
    crit["target_alignment_pcf_minus_bp_4_areas"] = criteria.criterion(gap[4], "> 0")
    crit["target_alignment_gap_growth_4_minus_2_areas"] = criteria.criterion(gap[4] - gap[2], "> 0")

    effects = {
        "final_accuracy": {name: criteria.effect(final(name)) for name in names},
        "final_accuracy_shuffled": {name: criteria.effect(final(name, shuffled)) for name in names},
        "angle_to_bptt_after_training_deg": {
            name: {area: criteria.effect([angle(trained[name][s]["alignment"][-1][area]) for s in seeds])
                   for area in (*AREAS, "out", "hidden")}
            for name in names},
        "target_alignment": {f"{h}_areas": {rule: criteria.effect([d[rule] for d in depths[h]])
                                            for rule in depths[h][0]} for h in depths},
        "interference_fraction_forgotten": {name: criteria.effect([f["forgotten"] for f in forgetting[name]])
                                            for name in FEEDFORWARD_RULES},
        "stack_angle_to_bp_hidden_deg": {
            name: {when: criteria.effect([f[f"angle_to_bp_{when}_deg"] for f in forgetting[name]])
                   for when in ("start", "after_a")} for name in FEEDFORWARD_RULES},
        "interference_loss_b_after_learning": {
            name: criteria.effect([f["b_learned"] for f in forgetting[name]]) for name in FEEDFORWARD_RULES},
    }
    figures(c, trained, shuffled, depths, forgetting, seeds, out)
    return {"criteria": crit, "effects": effects, "seeds": seeds}


def slug(name: str) -> str:
    return name.replace(" ", "_").replace("-", "")


def figures(c: Config, trained, shuffled, depths, forgetting, seeds, out: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = rules_of(c)
    colours = {name: f"C{i}" for i, name in enumerate(names)}
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.8), constrained_layout=True)
    for name in names:
        steps = trained[name][seeds[0]]["step"]
        curves = np.stack([trained[name][s]["accuracy"] for s in seeds])
        axes[0].plot(steps, curves.mean(0), color=colours[name], label=name)
        axes[0].fill_between(steps, curves.min(0), curves.max(0), color=colours[name], alpha=0.15, lw=0)
        control = np.stack([shuffled[name][s]["accuracy"] for s in seeds]).mean(0)
        axes[0].plot(steps, control, color=colours[name], ls=":", lw=0.8)
        if name != "bptt":
            hidden = np.array([[angle(a["hidden"]) for a in trained[name][s]["alignment"]] for s in seeds])
            axes[1].plot(steps, hidden.mean(0), color=colours[name], label=name)
    axes[0].axhline(CHANCE, color="0.5", lw=0.7)
    axes[0].set_xlabel("update")
    axes[0].set_ylabel(f"accuracy at the decision (mean, range of {len(seeds)} seeds)")
    axes[0].set_title("delayed match-to-sample; dotted: targets shuffled")
    axes[0].legend(frameon=False, fontsize=8)
    axes[1].axhline(60, color="0.5", ls="--", lw=0.7)
    axes[1].axhline(90, color="0.5", lw=0.7)
    axes[1].set_xlabel("update")
    axes[1].set_ylabel("angle to the BPTT gradient, cortical areas (deg)")
    axes[1].set_title("alignment with the exact gradient over training")
    x = np.arange(len(names))
    mean = [np.mean([trained[n][s]["final_accuracy"] for s in seeds]) for n in names]
    control = [np.mean([shuffled[n][s]["final_accuracy"] for s in seeds]) for n in names]
    axes[2].bar(x - 0.2, mean, 0.4, color=[colours[n] for n in names], label="trained")
    axes[2].bar(x + 0.2, control, 0.4, color="0.7", label="targets shuffled")
    axes[2].axhline(CHANCE, color="0.3", lw=0.7)
    axes[2].set_xticks(x, names, fontsize=8, rotation=30, ha="right")
    axes[2].set_ylabel("final accuracy")
    axes[2].set_ylim(0, 1.05)
    axes[2].legend(frameon=False)
    fig.savefig(out / "credit_hierarchy.png", dpi=100)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
    hidden = sorted(depths)
    for i, rule in enumerate(("bptt", "prospective configuration")):
        values = np.array([[d[rule] for d in depths[h]] for h in hidden])
        axes[0].errorbar(np.array(hidden) + 0.1 * i, values.mean(1), yerr=values.std(1), marker="o",
                         capsize=3, label=rule)
    axes[0].set_xticks(hidden, [f"{h} hidden areas" for h in hidden])
    axes[0].set_ylabel("target alignment: cos(output change, target - output)")
    axes[0].set_title("one update on one sample (Song et al. 2024)")
    axes[0].legend(frameon=False)
    x = np.arange(len(FEEDFORWARD_RULES))
    for j, (key, label) in enumerate((("after_a", "A after learning A"), ("after_b", "A after learning B"),
                                      ("b_learned", "B after learning B"))):
        values = [np.mean([f[key] for f in forgetting[n]]) for n in FEEDFORWARD_RULES]
        axes[1].bar(x + 0.27 * (j - 1), values, 0.27, label=label)
    axes[1].set_xticks(x, [n.replace(" ", "\n", 1) for n in FEEDFORWARD_RULES], fontsize=8)
    axes[1].set_ylabel("mean squared error")
    axes[1].set_title("interference: association B shares half of A's inputs")
    axes[1].legend(frameon=False)
    fig.savefig(out / "feedforward.png", dpi=100)
    plt.close(fig)

    fig, axes = plt.subplots(2, 1, figsize=(13, 6), constrained_layout=True)
    bs.plot.connectome(hierarchy(c), ax=axes[0], positions=POSITIONS)
    axes[0].set_title("credit-hierarchy connectome (delays in steps of 10 ms)")
    bs.plot.connectome(bs.credit.feedback_alignment(hierarchy(c)), ax=axes[1], positions=POSITIONS)
    axes[1].set_title("the same with random feedback (feedback alignment)")
    fig.savefig(out / "connectome.png", dpi=100)
    plt.close(fig)
