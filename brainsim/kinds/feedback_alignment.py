"""A dense projection whose error travels back through fixed random weights (feedback alignment).

Forward it is `Dense`/`Matrix`, ``y = x @ W``. Backward, exact backprop would
send the target's error ``g`` to the source as ``g @ W^T``; feedback
alignment sends ``g @ (s B)^T`` instead, ``B`` a fixed random matrix of W's
shape and ``s`` the param ``feedback_scale`` (Lillicrap, Cownden, Tweed &
Akerman 2016, Nat Commun 7, 13276). The weight's own update keeps its local
form, ``dL/dW = x^T g``, so learning needs no synapse to know another's
weight; the forward weights come to align with ``B`` as they learn.

``B`` lives in state (``"feedback"``: seeded, never trained) and is drawn like
a `Dense` start, ``N(0, scale^2 / n_src)`` (also for a `Matrix` forward, whose
given start may be larger or smaller: set ``feedback_scale`` to match).
``feedback_scale`` is left out of training by default
(`brainsim.train.NEVER_TRAINED`); `brainsim.credit.plain` drops it from a
params or gradient tree. With ``symmetric=True`` the
error goes back through ``W`` itself: exact backprop, the reference a test
compares with. Per-edge delays and local plasticity rules are not supported
(use `Dense` there).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from brainsim.dtypes import float_dtype, param
from brainsim.kinds.base import Endpoints, Kind, signed_weight
from brainsim.kinds.dense import Dense


@jax.custom_vjp
def aligned_matmul(x, w, b):
    """``x @ w`` forward; the error reaches ``x`` through ``b`` instead of ``w``."""
    return x @ w


def _forward(x, w, b):
    return x @ w, (x, b)


def _backward(residuals, g):
    x, b = residuals
    return g @ b.T, jnp.outer(x, g), jnp.zeros_like(b)


aligned_matmul.defvjp(_forward, _backward)


@dataclasses.dataclass(frozen=True)
class FeedbackAligned(Kind):
    """`Dense` (or `Matrix`, as ``forward``) forward; fixed random feedback backward."""

    forward: Kind = dataclasses.field(default_factory=Dense)
    symmetric: bool = False

    shorthand = None  # made by brainsim.credit.feedback_alignment, or as FeedbackAligned(forward)
    plastic = False
    edge_delays = False

    def __post_init__(self):
        if not isinstance(self.forward, Dense):
            raise TypeError(f"FeedbackAligned needs a Dense or Matrix forward kind, got {self.forward!r}")

    @property
    def label(self) -> str:
        return "feedback-aligned " + self.forward.label

    def check(self, ends: Endpoints) -> None:
        self.forward.check(ends)

    def init(self, key, ends: Endpoints):
        params, state = self.forward.init(key, ends)  # the very start the plain projection would get
        feedback_key = jax.random.fold_in(key, 1)
        feedback = jax.random.normal(feedback_key, (ends.n_src, ends.n_dst), float_dtype())
        return ({**params, "feedback_scale": param(1.0)},
                {**state, "feedback": feedback * (ends.scale / np.sqrt(ends.n_src))})

    def apply(self, params, state, x, ends: Endpoints, t, dt):
        w = signed_weight(params["weight"], ends.signs)
        b = w if self.symmetric else params["feedback_scale"] * state["feedback"]
        y = aligned_matmul(x.reshape(-1), w, jax.lax.stop_gradient(b))
        return y.reshape(ends.dst_port.shape), state
