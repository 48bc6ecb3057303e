"""The interface every credit-assignment rule shares, and exact BPTT as one of them.

A rule turns params, a batch of trials and a key into a loss and an update
shaped like the params, which optax consumes like a gradient:

    rule = bs.credit.eprop(net, state, output="out.rate")     # or bptt, rflo, ...
    result = bs.train.fit(rule, params, optax.adam(1e-3), data, steps=500)

so that switching rule is one argument. A rule may carry state of its own
between updates (a reward baseline): ``rule.init(params)`` gives it, and

    loss, updates, rule_state, metrics = rule(params, rule_state, batch, key)

The batch is the one `brainsim.train.trial_loss` takes: ``{"inputs": {port:
(B, T, ...)}, "targets": (B, T, ...), "mask": (B, T)}`` (mask optional), and
the loss is the same masked mean over trials and steps (``"mse"`` or
``"cross_entropy"`` on the recorded ``output``), so rules compare on one axis.
"""

from __future__ import annotations

import abc
from typing import Mapping

import jax
import jax.numpy as jnp

from brainsim import train
from brainsim._src import external
from brainsim.errors import RunInputError

LOSSES = train.LOSSES


class Rule(abc.ABC):
    """A training mode (see the module docstring). Subclasses set ``name`` and implement
    ``__call__``; ``init`` defaults to no state."""

    name = "rule"

    def init(self, params):
        """The rule's own state before the first update (default: none)."""
        del params
        return ()

    @abc.abstractmethod
    def __call__(self, params, rule_state, batch: Mapping, key):
        """``(loss, updates, rule_state, metrics)`` for one batch; ``updates`` has the params'
        structure and points uphill, like a gradient."""


class BPTT(Rule):
    """Exact gradients by backpropagation through time, the reference of every comparison;
    ``truncate=`` stops them every that many steps (truncated BPTT), ``remat=`` trades
    compute for memory (see `brainsim.train.trial_loss`)."""

    def __init__(self, net, state, *, output: str, loss: str = "mse", truncate: int | None = None,
                 remat: int | None = None):
        self.loss_fn = train.trial_loss(net, state, output=output, loss=loss, truncate=truncate, remat=remat)
        self.name = "bptt" if truncate is None else f"bptt (truncated at {truncate})"

    def __call__(self, params, rule_state, batch, key):
        value, grads = jax.value_and_grad(self.loss_fn)(params, batch, key)
        return value, grads, rule_state, {}


def bptt(net, state, *, output: str, loss: str = "mse", truncate: int | None = None,
         remat: int | None = None) -> BPTT:
    """Exact (or, with ``truncate``, truncated) BPTT as a `Rule`."""
    return BPTT(net, state, output=output, loss=loss, truncate=truncate, remat=remat)


def check_loss(loss: str) -> str:
    if loss not in LOSSES:
        raise RunInputError(f"loss must be one of {LOSSES}, got {loss!r}")
    return loss


def check_batch(net, batch: Mapping, output: str, loss: str) -> tuple[int, int]:
    """``(trials, steps)`` of a batch, after checking it against ``net`` with a run's messages."""
    if not isinstance(batch, Mapping) or "targets" not in batch:
        raise RunInputError("a batch is {'inputs': {port: (B, T, ...)}, 'targets': (B, T, ...), "
                            "'mask': (B, T)}; it has no 'targets'")
    targets = batch["targets"]
    if targets.ndim < 2:
        raise RunInputError(f"targets must be (B, T, ...), got shape {tuple(targets.shape)}")
    size, steps = targets.shape[:2]
    inputs = batch.get("inputs") or {}
    for path, value in inputs.items():
        if callable(value) or getattr(value, "ndim", 0) < 2 or value.shape[0] != size:
            raise RunInputError(f"batch['inputs'][{path!r}] must be an array (B, T, ...) with B = {size} "
                                "trials, like the targets")
    external.split(net, {path: value[0] for path, value in inputs.items()}, steps)
    y_shape = net.output_ports[output].shape if output in net.output_ports else None
    if y_shape is None:
        raise RunInputError(f"no output port {output!r}; output ports are {sorted(net.output_ports)}")
    expected = (size, steps, *y_shape[:-1]) if loss == "cross_entropy" else (size, steps, *y_shape)
    if tuple(targets.shape) != expected:
        raise RunInputError(f"targets have shape {tuple(targets.shape)} but {output} needs {expected}"
                            + (" (cross-entropy targets are class indices)" if loss == "cross_entropy" else ""))
    mask = batch.get("mask")
    if mask is not None and tuple(mask.shape) != (size, steps):
        raise RunInputError(f"mask has shape {tuple(mask.shape)}, expected (B, T) = {(size, steps)}")
    return int(size), int(steps)


def loss_mask(batch: Mapping):
    """``(mask, norm)``: the batch's ``(B, T)`` mask (None without one) and the number it sums
    to; step ``t`` of a trial weighs ``mask[t] / norm`` in the batch's loss (the masked mean
    of `brainsim.train.trial_loss`), computed step by step so nothing of length T is made."""
    mask = batch.get("mask")
    if mask is None:
        size, steps = batch["targets"].shape[:2]
        return None, jnp.float32(size * steps)
    mask = jnp.asarray(mask, jnp.float32)
    return mask, jnp.maximum(jnp.sum(mask), 1.0)


def step_weight(mask_row, t, norm):
    """The weight of step ``t`` of one trial (see `loss_mask`)."""
    return (1.0 if mask_row is None else mask_row[t]) / norm


def step_loss(loss: str, y, target, weight):
    """One step's share of the loss: ``weight`` times `brainsim.train.step_losses` of that step."""
    return weight * train.step_losses(loss, y, target, leading=0)
