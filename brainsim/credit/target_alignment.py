"""How straight an update moves a network's output at its target (Song et al. 2024, Nat Neurosci 27, 348).

    target alignment = cos(y(w - lr u) - y(w), t - y(w))

over every sample of a batch together: 1 when the step ``-lr u`` moves the
outputs straight at their targets, 0 when it moves them sideways. Backprop
descends the loss, but with many layers changing at once its output change
strays from the target direction; prospective configuration, which first
infers the activity that the target implies, is claimed to keep it aligned,
and the more so the deeper the network (Song et al. 2024, Fig. 2).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from brainsim.errors import RunInputError


def outputs(net, state, params, batch, output: str):
    """The recorded ``output`` of every trial of ``batch`` run from ``state``: ``(B, T, ...)``."""
    inputs = batch.get("inputs") or {}
    steps = batch["targets"].shape[1]

    def one(drive):
        return net.run(params, state, steps, inputs=drive, record=[output])[1][output]

    return jax.vmap(one)(inputs)


def target_alignment(net, state, params, update, batch, *, output: str, lr: float = 1e-3) -> float:
    """The cosine between the change of ``output`` after the step ``params - lr * update`` and
    the direction from the output to the batch's targets (mse targets; masked steps left out)."""
    if not lr > 0:
        raise RunInputError(f"target_alignment needs lr > 0, got {lr!r}")
    before = outputs(net, state, params, batch, output)
    if before.shape != batch["targets"].shape:
        raise RunInputError(f"target_alignment compares {output} {tuple(before.shape)} with targets of the "
                            f"same shape, got {tuple(batch['targets'].shape)}")
    stepped = jax.tree.map(lambda p, u: p - lr * u, params, update)
    after = outputs(net, state, stepped, batch, output)
    change, wanted = after - before, batch["targets"] - before
    mask = batch.get("mask")
    if mask is not None:
        m = jnp.reshape(mask, mask.shape + (1,) * (change.ndim - 2)).astype(change.dtype)
        change, wanted = change * m, wanted * m
    denominator = jnp.linalg.norm(change) * jnp.linalg.norm(wanted)
    return float(jnp.sum(change * wanted) / jnp.maximum(denominator, 1e-30))
