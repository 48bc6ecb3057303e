"""Gradient training: optax updates of a loss over network runs.

    result = bs.train.fit(loss, params, optax.adam(1e-2), data, steps=500,
                          trainable=["ctx", "ctx.rate->out.input"])
    result.params, result.history["loss"]

`fit` compiles one update (loss, gradient, optimiser step) and calls it on a
fresh batch each step: ``data(key, step)`` returns a batch (or ``data`` is an
iterable of batches). It logs the loss, shows a progress bar, evaluates
``evaluate(params, key)`` every ``eval_every`` steps, checkpoints params and
optimiser state (``checkpoint=``, resumable), and stops with
`NonFiniteError` when the loss stops being finite, keeping the last finite
params on the error. ``trainable`` (param paths or top-level names) freezes
everything else by `optax.multi_transform`.

`trial_loss` builds the usual supervised loss: a batch of trials
(inputs ``(B, T, ...)`` per port, targets and mask ``(B, T, ...)``) runs as a
vmapped `Network.run` from a given state, and the recorded output is
compared with the targets (masked mean squared error or cross-entropy).
Long trials take ``remat=`` and ``truncate=`` (see `brainsim._src.simulate.run`).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from brainsim import checkpoint as checkpoints
from brainsim import params as param_paths
from brainsim._src.progress import progress_bar
from brainsim.checks import check_int
from brainsim.errors import NonFiniteError, RunInputError


@dataclasses.dataclass
class FitResult:
    """What `fit` returns: final params and optimiser state, and the history.

    ``history`` holds lists ``step``/``loss`` (every ``log_every`` steps) and
    ``eval_step``/``eval`` (every ``eval_every`` steps); ``rule_state`` is the
    state of a credit-assignment rule (`brainsim.credit.Rule`), if one trained.
    """

    params: dict
    opt_state: object
    history: dict
    rule_state: object = None


def fit(
    loss: Callable,
    params,
    optimizer: optax.GradientTransformation,
    data: Callable | Iterable,
    steps: int,
    *,
    key: jax.Array | None = None,
    trainable: Sequence[str] | None = None,
    evaluate: Callable | None = None,
    eval_every: int = 100,
    log_every: int = 1,
    progress: bool | None = None,
    checkpoint=None,
    checkpoint_every: int = 100,
    opt_state=None,
    rule_state=None,
) -> FitResult:
    """Minimise ``loss(params, batch, key)`` (a scalar) over ``steps`` updates.

    Args:
      loss: the loss; it may return ``(value, aux)``, aux is ignored. Or a
        credit-assignment rule (`brainsim.credit.Rule`: ``bptt``, ``eprop``,
        ``rflo``, ``node_perturbation``), whose updates then stand in for the
        gradient, and ``result.rule_state`` holds the rule's own state.
      params: initial params (e.g. from `Network.init`).
      optimizer: any optax transformation.
      data: ``data(key, step) -> batch`` or an iterable of batches.
      steps: number of updates.
      key: PRNG key for data and loss (default ``jax.random.key(0)``).
      trainable: param paths (``"ctx"``, ``"ctx.W_rec"``) to train; the rest
        stay fixed. Default: every param but the integration step ``dt``
        and the scales of fixed feedback (`NEVER_TRAINED`; name them to
        train them too).
      evaluate: ``evaluate(params, key) -> float``, logged every ``eval_every``.
      log_every: record the loss every this many steps.
      progress: progress bar (default: on a terminal).
      checkpoint: folder to save params, optimiser state and step every
        ``checkpoint_every`` steps; an existing checkpoint there is resumed.
      opt_state, rule_state: carry on from a previous `fit` (its result's
        ``opt_state`` and ``rule_state``, same optimiser and ``trainable``)
        instead of starting the optimiser (and the rule) afresh, so that a
        training can run in pieces with measurements between them.
    Raises:
      NonFiniteError: the loss became NaN or inf; ``err.params`` holds the
        last params with a finite loss, ``err.step`` the failing step.
    """
    from brainsim.credit.rule import Rule

    check_int("fit", "steps", steps, error=RunInputError)
    optimizer = masked(optimizer, params, trainable)
    opt_state = optimizer.init(params) if opt_state is None else opt_state
    if isinstance(loss, Rule):
        update = _rule_update_fn(loss, optimizer)
        trainee = (params, opt_state, loss.init(params) if rule_state is None else rule_state)
    else:
        if rule_state is not None:
            raise RunInputError("rule_state= is the state of a credit-assignment rule; this loss is not one")
        update, trainee = _update_fn(loss, optimizer), (params, opt_state)
    trainee, history = training_loop(
        update, trainee, data, steps,
        params_of=lambda trainee: trainee[0], key=key, evaluate=evaluate, eval_every=eval_every,
        log_every=log_every, progress=progress, checkpoint=checkpoint,
        checkpoint_every=checkpoint_every)
    return FitResult(params=trainee[0], opt_state=trainee[1], history=history,
                     rule_state=trainee[2] if len(trainee) > 2 else None)


def training_loop(update: Callable, trainee, data: Callable | Iterable, steps: int, *,
                  params_of: Callable, key: jax.Array | None = None, evaluate: Callable | None = None,
                  eval_every: int = 100, log_every: int = 1, progress: bool | None = None,
                  checkpoint=None, checkpoint_every: int = 100, desc: str = "fit"):
    """The host loop of every training mode (`fit`, `brainsim.synthetic_gradients.fit_decoupled`).

    ``update(trainee, batch, key) -> (trainee, loss, metrics)`` is one jitted
    step on ``trainee``, any pytree holding the params and optimiser states;
    ``params_of(trainee)`` picks the params. The loop draws batches, logs the
    loss and every scalar in ``metrics`` (in ``history[name]``), evaluates,
    checkpoints ``trainee`` and resumes it from an existing checkpoint, shows a
    progress bar, and stops with `NonFiniteError` at a non-finite loss, with
    the last params whose loss was finite on the error. Returns
    ``(trainee, history)``.
    """
    check_int("fit", "steps", steps, error=RunInputError)
    key = jax.random.key(0) if key is None else key
    start = 0
    history = {"step": [], "loss": [], "eval_step": [], "eval": []}
    if checkpoint is not None and checkpoints.exists(checkpoint):
        trainee, meta = checkpoints.load(checkpoint, like=trainee)
        start, history = int(meta["step"]), meta["history"]
    batches = None if callable(data) else iter(data)
    for _ in range(start if batches is not None else 0):  # a resumed run skips used batches
        next(batches)
    bar = progress_bar(steps, desc, show=progress, initial=start)
    last_good = params_of(trainee)  # params whose loss was finite (the initial ones, until a step succeeds)
    for step in range(start, steps):
        k_data, k_loss, k_eval = jax.random.split(jax.random.fold_in(key, step), 3)
        batch = data(k_data, step) if batches is None else next(batches)
        new_trainee, value, metrics = update(trainee, batch, k_loss)
        value = float(value)
        if not np.isfinite(value):
            bar.close()
            last = history["loss"][-1] if history["loss"] else None
            error = NonFiniteError(
                f"the loss became {value} at step {step} (last logged finite loss: {last}); "
                "lower the learning rate, clip gradients (optax.clip_by_global_norm) or check "
                "the run with check_finite=True. The last finite params are on this error's "
                "`.params`."
            )
            error.params, error.step = last_good, step
            raise error
        last_good = params_of(trainee)
        trainee = new_trainee
        if step % log_every == 0 or step == steps - 1:
            history["step"].append(step)
            history["loss"].append(value)
            for name, metric in metrics.items():
                history.setdefault(name, []).append(float(metric))
            bar.set_postfix(loss=f"{value:.4g}")
        if evaluate is not None and (step % eval_every == 0 or step == steps - 1):
            history["eval_step"].append(step)
            history["eval"].append(float(evaluate(params_of(trainee), k_eval)))
        if checkpoint is not None and ((step + 1) % checkpoint_every == 0 or step == steps - 1):
            checkpoints.save(checkpoint, trainee, {"step": step + 1, "history": history}, step=step + 1)
        bar.update(1)
    bar.close()
    return trainee, history


def _update_fn(loss, optimizer):
    def loss_and_metrics(params, batch, key):
        value = loss(params, batch, key)
        return (value[0], dict(value[1])) if isinstance(value, tuple) else (value, {})

    @jax.jit
    def update(trainee, batch, key):
        params, opt_state = trainee
        (value, metrics), grads = jax.value_and_grad(loss_and_metrics, has_aux=True)(params, batch, key)
        return apply_updates(optimizer, grads, opt_state, params), value, metrics

    return update


def _rule_update_fn(rule, optimizer):
    @jax.jit
    def update(trainee, batch, key):
        params, opt_state, rule_state = trainee
        value, grads, rule_state, metrics = rule(params, rule_state, batch, key)
        params, opt_state = apply_updates(optimizer, grads, opt_state, params)
        return (params, opt_state, rule_state), value, metrics

    return update


def apply_updates(optimizer, grads, opt_state, params):
    """``(params, opt_state)`` after one optax step on ``grads``."""
    # optax mixes Python floats with int32 step counts, which a user's strict
    # dtype-promotion setting would refuse inside the optimiser
    with jax.numpy_dtype_promotion("standard"):
        updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state


NEVER_TRAINED = ("dt", "feedback_scale")
"""Leaves frozen unless named in ``trainable``: the time step, and the scale of a credit rule's fixed
feedback (`brainsim.kinds.FeedbackAligned`), which weight decay would otherwise shrink away."""


def masked(optimizer, params, trainable: Sequence[str] | None) -> optax.GradientTransformation:
    """``optimizer`` on the ``trainable`` params (see `fit`), zero updates for the rest."""
    return optax.multi_transform({"train": optimizer, "freeze": optax.set_to_zero()},
                                 _labels(params, trainable))


def _labels(params, trainable: Sequence[str] | None):
    """``"train"``/``"freeze"`` per leaf, from the trainable paths (default: all but `NEVER_TRAINED`)."""
    if trainable is None:
        return jax.tree_util.tree_map_with_path(
            lambda key_path, _: "freeze" if key_path and param_paths._key_name(key_path[-1]) in NEVER_TRAINED
            else "train",
            params)
    if isinstance(trainable, str):
        trainable = [trainable]
    for path in trainable:
        param_paths.get(params, path)  # a clear error for an unknown path
    resolved = [tuple(param_paths._resolve(params, path)) for path in trainable]

    def label(key_path, _):
        keys = tuple(param_paths._key_name(k) for k in key_path)
        chosen = any(keys[: len(r)] == r for r in resolved)  # whole keys, not string prefixes
        return "train" if chosen else "freeze"

    return jax.tree_util.tree_map_with_path(label, params)


LOSSES = ("mse", "mae", "cross_entropy")


def step_losses(loss: str, outputs, targets, leading: int):
    """The loss of each step: the squared (``"mse"``) or absolute (``"mae"``) error averaged over
    the port's units, or the cross-entropy of logits against integer classes, for outputs whose
    first ``leading`` axes index steps (and trials); shared by `trial_loss` and every rule of
    `brainsim.credit`."""
    if loss == "mse":
        return jnp.mean((outputs - targets) ** 2, axis=tuple(range(leading, outputs.ndim)))
    if loss == "mae":
        return jnp.mean(jnp.abs(outputs - targets), axis=tuple(range(leading, outputs.ndim)))
    return optax.softmax_cross_entropy_with_integer_labels(outputs, targets)


def trial_loss(
    net,
    state,
    *,
    output: str,
    loss: str = "mse",
    remat: int | None = None,
    truncate: int | None = None,
) -> Callable:
    """A supervised loss over a batch of trials of ``net``.

    Args:
      net: the network; state: the state every trial starts from.
      output: the recorded port compared with the targets (logits for
        ``loss="cross_entropy"``, whose targets are integer class labels).
      loss: ``"mse"``, ``"mae"`` or ``"cross_entropy"``.
      remat, truncate: passed to `Network.run`.
    Returns:
      ``loss_fn(params, batch, key)``; ``batch`` is ``{"inputs": {port:
      (B, T, ...)}, "targets": (B, T, ...), "mask": (B, T)}`` (mask optional).
      The key (split per trial) sets each trial's noise; without one, every
      trial runs with ``state``'s own key.
    """
    if loss not in LOSSES:
        raise RunInputError(f"loss must be one of {LOSSES}, got {loss!r}")

    def one_trial(params, inputs, key, steps):
        start = state if key is None else {**state, "key": key}
        _, trace = net.run(params, start, steps, inputs=inputs, record=[output],
                           remat=remat, truncate=truncate)
        return trace[output]

    def loss_fn(params, batch: Mapping, key=None):
        targets = batch["targets"]
        if not batch.get("inputs"):
            raise RunInputError("batch['inputs'] must map input ports to (B, T, ...) arrays")
        size, steps = targets.shape[0], targets.shape[1]
        keys = None if key is None else jax.random.split(key, size)  # fresh noise per trial
        outputs = jax.vmap(lambda i, k: one_trial(params, i, k, steps),
                           in_axes=(0, None if keys is None else 0))(batch["inputs"], keys)
        expected = outputs.shape[:-1] if loss == "cross_entropy" else outputs.shape
        if tuple(targets.shape) != tuple(expected):
            raise RunInputError(
                f"targets have shape {tuple(targets.shape)} but {output} gives {tuple(outputs.shape)}"
                + (" (cross-entropy targets are class indices, (B, T))" if loss == "cross_entropy" else "")
            )
        per_step = step_losses(loss, outputs, targets, leading=2)
        mask = batch.get("mask")
        if mask is None:
            return jnp.mean(per_step)
        return jnp.sum(per_step * mask) / jnp.maximum(jnp.sum(mask), 1.0)

    return loss_fn
