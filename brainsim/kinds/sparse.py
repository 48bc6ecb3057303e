"""`Sparse`: a fixed random fan-in per target unit.

Each target unit ``j`` receives from ``fan_in`` distinct sources
``index[j, :]`` drawn at random:

    y_j = sum_k w[j, k] x[index[j, k]],      w ~ N(0, scale^2 / fan_in)

The indices are structure, kept in ``state`` (they receive no gradient); the
weights ``(n_dst, fan_in)`` are params. Under a sign constraint each synapse
takes its source unit's sign.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from brainsim.checks import check_int
from brainsim.dtypes import float_dtype
from brainsim.errors import WiringError
from brainsim.kinds.base import Endpoints, Kind


@dataclasses.dataclass(frozen=True)
class Sparse(Kind):
    """``fan_in`` random distinct inputs per target unit (see the module docstring)."""

    fan_in: int | None = None

    shorthand = "sparse"

    def __post_init__(self):
        check_int("kind='sparse'", "fan_in", self.fan_in, error=WiringError)

    def check(self, ends: Endpoints) -> None:
        if self.fan_in > ends.n_src:
            raise ends.error(
                f"a sparse projection needs an int fan_in between 1 and the source size "
                f"{ends.n_src}, got {self.fan_in!r}"
            )

    def init(self, key, ends: Endpoints):
        k_index, k_weight = jax.random.split(key)
        # fan_in distinct sources per target: the top-k of i.i.d. uniforms is a
        # uniform random subset (for all targets at once)
        _, index = jax.lax.top_k(jax.random.uniform(k_index, (ends.n_dst, ends.n_src)), self.fan_in)
        w = jax.random.normal(k_weight, (ends.n_dst, self.fan_in), float_dtype())
        return {"weight": w * (ends.scale / np.sqrt(self.fan_in))}, {"index": index.astype(jnp.int32)}

    def apply(self, params, state, x, ends: Endpoints, t, dt):
        w, index, signs = params["weight"], state["index"], ends.signs
        if signs is not None:
            sign = jnp.asarray(signs, w.dtype)[index] if np.ndim(signs) else signs
            w = jnp.abs(w) * sign
        y = jnp.sum(w * x.reshape(-1)[index], axis=1)
        return y.reshape(ends.dst_port.shape), state
