"""Unit-to-unit projections between ports of equal shape.

- `OneToOne`: ``y = w * x`` elementwise, ``w`` (one weight per unit) starting at ``scale``;
- `Identity`: ``y = x``, no weights, no sign constraint (use `OneToOne` to keep Dale signs).
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp

from brainsim.dtypes import float_dtype
from brainsim.kinds.base import Endpoints, Kind, signed_weight


@dataclasses.dataclass(frozen=True)
class OneToOne(Kind):
    """Unit ``i`` of the source to unit ``i`` of the target, weight ``w_i``."""

    shorthand = "one_to_one"

    def check(self, ends: Endpoints) -> None:
        ends.require_equal_shapes(self)

    def init(self, key, ends: Endpoints):
        return {"weight": jnp.full((ends.n_dst,), ends.scale, float_dtype())}, {}

    def apply(self, params, state, x, ends: Endpoints, t, dt):
        y = signed_weight(params["weight"], ends.signs) * x.reshape(-1)
        return y.reshape(ends.dst_port.shape), state


@dataclasses.dataclass(frozen=True)
class Identity(Kind):
    """The source's value itself."""

    shorthand = "identity"

    def check(self, ends: Endpoints) -> None:
        ends.require_equal_shapes(self)
        if ends.sign is not None:
            raise ends.error("an identity projection has no weights to constrain with sign=")
        if ends.source_signs is not None:
            raise ends.error(
                f"{ends.source} has Dale signs, which an identity projection would ignore; use "
                "kind='one_to_one' (it keeps each unit's sign)"
            )

    def init(self, key, ends: Endpoints):
        return {}, {}

    def apply(self, params, state, x, ends: Endpoints, t, dt):
        return x, state
