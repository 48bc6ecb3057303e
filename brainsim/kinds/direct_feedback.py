"""The two kinds direct feedback alignment is made of (Nøkland 2016, NeurIPS).

- `Detached(forward)`: `Dense`/`Matrix` forward, ``y = x @ W``; backward the
  weight keeps its local update ``dL/dW = x^T g`` but no error reaches the
  source (``y = stop_gradient(x) @ W``), so credit stops crossing areas
  through the forward weights.
- `DirectFeedback()`: a projection from a hidden area to the output that
  delivers nothing forward (``y = 0``) and, backward, hands the output's
  error ``g`` to the hidden area as ``g @ (s B)^T``: ``B`` fixed and random
  (``"feedback"`` in state, drawn like a `Dense` start, ``N(0, 1 / n_src)``),
  ``s`` the param ``feedback_scale`` (never trained by default,
  `brainsim.train.NEVER_TRAINED`).

`brainsim.credit.direct_feedback_alignment` puts them in a connectome.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from brainsim.dtypes import float_dtype, param
from brainsim.kinds.base import Endpoints, Kind, signed_weight
from brainsim.kinds.dense import Dense


@dataclasses.dataclass(frozen=True)
class Detached(Kind):
    """`Dense` (or `Matrix`, as ``forward``) forward; no error back to the source."""

    forward: Kind = dataclasses.field(default_factory=Dense)

    shorthand = None  # made by brainsim.credit.direct_feedback_alignment
    plastic = False
    edge_delays = False

    def __post_init__(self):
        if not isinstance(self.forward, Dense):
            raise TypeError(f"Detached needs a Dense or Matrix forward kind, got {self.forward!r}")

    @property
    def label(self) -> str:
        return "detached " + self.forward.label

    def check(self, ends: Endpoints) -> None:
        self.forward.check(ends)

    def init(self, key, ends: Endpoints):
        return self.forward.init(key, ends)

    def apply(self, params, state, x, ends: Endpoints, t, dt):
        y = jax.lax.stop_gradient(x.reshape(-1)) @ signed_weight(params["weight"], ends.signs)
        return y.reshape(ends.dst_port.shape), state


@jax.custom_vjp
def _broadcast_back(x, b):
    """Nothing forward (zeros of ``b``'s second axis); ``g @ b^T`` back to ``x``."""
    return jnp.zeros(b.shape[1], x.dtype)


def _forward(x, b):
    return jnp.zeros(b.shape[1], x.dtype), b


def _backward(b, g):
    return g @ b.T, jnp.zeros_like(b)


_broadcast_back.defvjp(_forward, _backward)


@dataclasses.dataclass(frozen=True)
class DirectFeedback(Kind):
    """Zero forward; the target's error back to the source through fixed random ``s B``."""

    shorthand = None
    plastic = False
    edge_delays = False

    @property
    def label(self) -> str:
        return "direct feedback"

    def check(self, ends: Endpoints) -> None:
        del ends

    def init(self, key, ends: Endpoints):
        feedback = jax.random.normal(jax.random.fold_in(key, 1), (ends.n_src, ends.n_dst), float_dtype())
        return {"feedback_scale": param(1.0)}, {"feedback": feedback / np.sqrt(ends.n_src)}

    def apply(self, params, state, x, ends: Endpoints, t, dt):
        b = jax.lax.stop_gradient(params["feedback_scale"] * state["feedback"])
        return _broadcast_back(x.reshape(-1), b).reshape(ends.dst_port.shape), state
