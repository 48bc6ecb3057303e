"""NeuroGym adapter: NeuroGym's trial tasks as batches of arrays, and scoring.

NeuroGym (Molano-Mazon et al. 2022) defines many cognitive tasks as
gymnasium environments that build one trial at a time in NumPy. This
adapter draws trials offline and stacks them as arrays for a jitted
brainsim run (``pip install 'brainsim[neurogym]'``):

    env = neurogym_env("PerceptualDecisionMaking-v0", dt=100)
    batch = neurogym_trials(env, 64, seed=0)      # inputs (B, T, n_obs), targets, mask
    score = neurogym_score(net, params, state, batch, input="stim.input", output="out.rate")
    score["accuracy"], score["performance"], score["choices"]

Supported: NeuroGym's bare trial tasks with one discrete answer (an action
index) per step, the native tasks in `ANSWER_PERIODS`, or others given
``periods=``. Refused, with an error naming the task: vector ground truth
(ReachingDelayResponse, SpatialSuppressMotion), no ground truth (Bandit,
DawTwoStep, EconomicDecisionMaking), ground truth that is not an action
(Reaching1D: a target angle), and envs inside NeuroGym's wrappers (the
``perceptualdecisionmaking.*`` collection, most of ``yang19.*``).

Time: one step of the arrays is one NeuroGym ``dt`` in ms, fixed when the
env is built (``neurogym_env(name, dt=100)``; the defaults differ: 100 ms for
most tasks, 80 for ReadySetGo, MotorTiming and OneTwoThreeGo, 10 for
PulseDecisionMaking). Period durations round down to whole steps, so pick a
``dt`` that divides them. Run the network one brainsim step per NeuroGym
step; build it with ``bs.build(brain, dt=batch["dt"])`` for its time
constants and delays in ms to mean ms (with the default ``dt=1`` they count
steps of ``dt`` ms). The output at step ``k`` is read as the action at
NeuroGym time ``k * dt``, against ``gt[k]``, as NeuroGym's supervised
datasets pair them.

Scoring: ``mask`` marks the answer periods, those in which NeuroGym's own
``_step`` scores the answer (``"decision"`` for most tasks, ``"test"`` for
DelayMatchCategory, ``"production"`` for ReadySetGo...; `ANSWER_PERIODS`),
or the ``periods=`` given. Trials of different lengths are padded with zeros
at the end and masked out. Per-step accuracy flatters timing tasks, whose
answer is one "go" step among many "wait" steps; NeuroGym's performance,
got by replaying the network's actions through the env, does not.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import numbers

import jax
import jax.numpy as jnp
import numpy as np

# Where each NeuroGym 2.2 env scores the answer, read from its ``_step``.
ANSWER_PERIODS = {
    "AntiReach": ("decision",),
    "ContextDecisionMaking": ("decision",),
    "DelayComparison": ("decision",),
    "DelayMatchCategory": ("test",),
    "DelayMatchSample": ("decision",),
    "DelayMatchSampleDistractor1D": ("delay1", "test1", "delay2", "test2", "delay3", "test3"),
    "DelayPairedAssociation": ("decision",),
    "DualDelayMatchSample": ("test1", "test2"),
    "GoNogo": ("decision",),
    "HierarchicalReasoning": ("rule_target", "decision"),
    "IntervalDiscrimination": ("decision",),
    "MotorTiming": ("production",),
    "MultiSensoryIntegration": ("decision",),
    "OneTwoThreeGo": ("interval3", "response"),
    "PerceptualDecisionMaking": ("decision",),
    "PerceptualDecisionMakingDelayResponse": ("decision",),
    "PostDecisionWager": ("decision",),
    "ProbabilisticReasoning": ("decision",),
    "PulseDecisionMaking": ("decision",),
    "ReadySetGo": ("production",),
    "_DMFamily": ("decision",),  # yang19 collection
    "_DelayMatch1DResponse": ("decision",),
    "_Reach": ("decision",),
}

# Envs whose scalar ground truth is not an action the network could output.
NOT_ACTIONS = {
    "Reaching1D": "its ground truth is a target angle (cast to int), not an action",
    "Reaching1DWithSelfDistraction": "its ground truth is a target angle (cast to int), not an action",
}

_PLAIN = (dict, list, tuple, np.ndarray, numbers.Number, str, type(None))


def neurogym_env(name: str, **kwargs):
    """``neurogym.make(name, **kwargs)``, with a clear error if NeuroGym is missing."""
    try:
        import neurogym
    except ImportError:
        raise ImportError("the NeuroGym adapter needs neurogym: pip install 'brainsim[neurogym]'") from None
    return neurogym.make(name, **kwargs)


def neurogym_trials(env, batch: int, seed: int | None = 0, *, periods=None) -> dict:
    """``batch`` trials of a NeuroGym env as padded arrays.

    ``seed``: an int seeds ``env`` for the draw (the same trials for the same
    seed), then puts back its random state, so ``env`` is left as it was;
    ``None`` draws from ``env``'s own random state and advances it. Either
    way ``env``'s current trial is put back afterwards.
    ``periods``: names of the answer periods, overriding `ANSWER_PERIODS`;
    required for envs not in it.

    Returns ``{"inputs": (B, T, n_obs) float32, "targets": (B, T) int32,
    "mask": (B, T) float32 (1 on the answer periods), "lengths": (B,),
    "trials": [trial info dicts], "periods": [{name: (start, stop) step}],
    "answer_periods": tuple of names, "dt": ms per step}``, plus
    ``"env"`` and ``"snapshots"``, with which `neurogym_evaluate` replays
    the trials.
    """
    task, name = env.unwrapped, _env_name(env)
    if not hasattr(task, "new_trial"):
        raise TypeError(f"{name} is not a NeuroGym trial env (it has no new_trial)")
    wrapper = _neurogym_wrapper(env)
    if wrapper is not None:
        raise ValueError(f"{name} is wrapped by NeuroGym's {wrapper}, which changes its trials or steps; "
                         "the NeuroGym adapter draws trials from one bare task env")
    with _preserved(task, randomness=seed is not None):
        if seed is not None:
            task.seed(seed)
        drawn = _draw(task, name, batch, periods)
    return {**drawn, "dt": task.dt, "env": env}


def _draw(task, name: str, batch: int, periods) -> dict:
    """Draw ``batch`` trials from ``task`` and stack them."""
    answer, obs, targets, masks, infos, spans, snapshots = None, [], [], [], [], [], []
    for _ in range(batch):
        infos.append(task.new_trial())
        gt = _ground_truth(task, name)
        answer = answer or _answer_periods(task, name, periods)
        obs.append(np.array(task.ob, np.float32))
        targets.append(gt)
        masks.append(_mask(task, answer, name, len(gt)))
        spans.append({p: (int(task.start_ind[p]), int(task.end_ind[p])) for p in task.start_ind})
        snapshots.append(_snapshot(task))
    return {"inputs": _pad(obs, np.float32), "targets": _pad(targets, np.int32),
            "mask": _pad(masks, np.float32), "lengths": np.array([len(m) for m in masks]),
            "trials": infos, "periods": spans, "answer_periods": answer, "snapshots": snapshots}


def neurogym_score(net, params, state, batch: dict, *, input: str, output: str) -> dict:
    """Run ``net`` on a batch (``batch["inputs"]`` into port ``input``) and
    score the argmax of ``output`` as its action each step; see
    `neurogym_evaluate` for what is returned."""
    steps = batch["inputs"].shape[1]

    def one(x):
        return net.run(params, state, steps, inputs={input: x}, record=[output])[1][output]

    outputs = jax.vmap(one)(jnp.asarray(batch["inputs"]))
    return neurogym_evaluate(batch, np.asarray(jnp.argmax(outputs, axis=-1)))


def neurogym_evaluate(batch: dict, actions) -> dict:
    """Score actions ``(B, T)`` on a batch from `neurogym_trials`.

    Returns ``{"accuracy": float, "actions": (B, T) int32, "choices": (B,),
    "response_steps": (B,), "trial_performance": (B,), "performance": float}``:
    ``accuracy`` is pooled over the masked (answer) steps; the rest comes
    from replaying each trial's actions through the env's own ``_step``:
    ``choices`` is the action with which the network ended the trial (0: it
    never did), ``response_steps`` its step (-1: none), and ``performance``
    NeuroGym's own measure (``info["performance"]``), ``None`` where the env
    defines none. Without ``batch["env"]`` only the accuracy is given.
    """
    actions = np.asarray(actions, np.int32)
    mask = np.asarray(batch["mask"]) > 0
    result = {"accuracy": float((actions[mask] == np.asarray(batch["targets"])[mask]).mean()),
              "actions": actions, "choices": None, "response_steps": None,
              "trial_performance": None, "performance": None}
    if batch.get("env") is not None:
        result.update(_replay(batch, actions))
    return result


def _env_name(env) -> str:
    """The registered id of ``env`` where there is one, else its class name."""
    spec = getattr(env, "spec", None)
    return getattr(spec, "id", None) or type(env.unwrapped).__name__


@contextlib.contextmanager
def _preserved(task, randomness: bool = True):
    """Put back the env's current trial (and random state) after the block."""
    trial = _snapshot(task)
    saved = [(owner, attr, copy.deepcopy(getattr(owner, attr))) for owner, attr in _random_parts(task)]
    try:
        yield task
    finally:
        vars(task).update(trial)
        for owner, attr, value in saved if randomness else ():
            setattr(owner, attr, value)


def _random_parts(task) -> list:
    """(object, attribute) of each random generator that ``task.seed`` replaces."""
    parts = [(task, "rng"), (getattr(task, "action_space", None), "_np_random")]
    parts += [(t, "rng") for t in getattr(task, "timing", {}).values()]
    return [(owner, attr) for owner, attr in parts if hasattr(owner, attr)]


def _neurogym_wrapper(env):
    """The name of the outermost NeuroGym wrapper around ``env``, or ``None``."""
    while getattr(env, "env", None) is not None:  # a gymnasium wrapper
        if type(env).__module__.startswith("neurogym."):
            return type(env).__name__
        env = env.env
    top = getattr(env, "_top", env)  # a trial wrapper of an env given unwrapped
    return None if top is env else type(top).__name__


def _known(task, table: dict):
    """``table``'s entry for a NeuroGym env class, ``None`` for other classes."""
    cls = type(task)
    return table.get(cls.__name__) if cls.__module__.startswith("neurogym.") else None


def _ground_truth(task, name: str) -> np.ndarray:
    """The trial's ground truth, one action per step, or a clear error."""
    gt = getattr(task, "gt", None)
    if gt is None or not getattr(task, "_has_gt", True):
        raise ValueError(f"{name} defines no ground truth (gt) to score against; "
                         "the NeuroGym adapter handles tasks with one discrete answer per step")
    gt = np.asarray(gt)
    if gt.ndim > 1:
        raise ValueError(f"{name} has vector ground truth {gt.shape[1:]} per step; "
                         "the NeuroGym adapter handles tasks with one discrete answer per step")
    reason = _known(task, NOT_ACTIONS)
    n = getattr(task.action_space, "n", None)
    if reason is None and n is None:
        reason = f"its action space {task.action_space} is not discrete"
    if reason is None and not np.all((gt >= 0) & (gt < n)):
        reason = f"its ground truth {np.unique(gt)} is not all actions of {task.action_space}"
    if reason is not None:
        raise ValueError(f"{name} is not supported by the NeuroGym adapter: {reason}")
    return gt


def _answer_periods(task, name: str, periods) -> tuple:
    """The periods to score: ``periods``, else `ANSWER_PERIODS`, else an error."""
    if isinstance(periods, str):
        periods = (periods,)
    answer = tuple(periods) if periods is not None else _known(task, ANSWER_PERIODS)
    have = ", ".join(task.start_ind)
    if not answer:
        raise ValueError(f"{name} has no known answer period: pass periods=, the periods in which "
                         f"it scores the answer (its periods: {have})")
    missing = [p for p in answer if p not in task.start_ind]
    if missing:
        raise ValueError(f"{name} has no period {', '.join(missing)} (its periods: {have})")
    return answer


def _mask(task, periods: tuple, name: str, length: int) -> np.ndarray:
    """1 on the steps of ``periods`` in the current trial, else 0."""
    mask = np.zeros(length, np.float32)
    for p in periods:
        if p not in task.start_ind:
            raise ValueError(f"{name}: a trial has no period {p} (its periods: {', '.join(task.start_ind)})")
        mask[task.start_ind[p]:task.end_ind[p]] = 1.0
    return mask


def _pad(items: list, dtype) -> np.ndarray:
    """Stack arrays of different lengths, padding zeros at the end."""
    out = np.zeros((len(items), max(len(i) for i in items), *items[0].shape[1:]), dtype)
    for k, item in enumerate(items):
        out[k, : len(item)] = item
    return out


def _snapshot(task) -> dict:
    """Copies of the env's plain attributes: the state of the current trial."""
    return {k: copy.copy(v) for k, v in vars(task).items() if isinstance(v, _PLAIN)}


def _scores_performance(task) -> bool:
    """Whether the env's ``_step`` sets NeuroGym's ``performance``."""
    try:
        return "self.performance" in inspect.getsource(type(task)._step)
    except (OSError, TypeError):
        return True


def _replay_trial(task, snapshot: dict, actions) -> tuple:
    """Step one stored trial with ``actions`` as NeuroGym's ``step`` does,
    stopping where it would start a new trial; (performance, end step or -1)."""
    vars(task).update(_snapshot_copy(snapshot))
    task.t = task.t_ind = 0
    task.performance = 0
    for k, action in enumerate(actions):
        info = task._step(int(action))[4]
        task.t, task.t_ind = task.t + task.dt, task.t_ind + 1
        if info.get("new_trial", False):
            return float(task.performance), k
        if task.t + task.dt > task.tmax:
            break
    return float(task.performance), -1


def _snapshot_copy(snapshot: dict) -> dict:
    """Fresh copies of a snapshot's values, so replays leave it intact."""
    return {k: copy.copy(v) for k, v in snapshot.items()}


def _replay(batch: dict, actions: np.ndarray) -> dict:
    """Choices, response steps and NeuroGym performance of every trial."""
    task = batch["env"].unwrapped
    with _preserved(task):
        trials = zip(batch["snapshots"], actions, batch["lengths"])
        runs = [_replay_trial(task, snapshot, a[:n]) for snapshot, a, n in trials]
    performance = np.array([p for p, _ in runs])
    steps = np.array([k for _, k in runs], np.int32)
    choices = np.where(steps >= 0, actions[np.arange(len(steps)), np.maximum(steps, 0)], 0).astype(np.int32)
    scored = _scores_performance(task)
    return {"choices": choices, "response_steps": steps,
            "trial_performance": performance if scored else None,
            "performance": float(performance.mean()) if scored else None}
