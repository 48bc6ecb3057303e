"""Default dtypes for params and state.

Parameters must be *strongly* typed arrays: a weakly typed scalar (what
``jnp.asarray(10.0)`` returns) and a strongly typed one of the same value hash
differently in jit's cache, so swapping one for the other would recompile.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def float_dtype():
    """float32, or float64 when ``jax_enable_x64`` is on."""
    return jnp.result_type(float)


def param(value) -> jax.Array:
    """A strongly typed float array holding ``value`` (scalar or array-like)."""
    return jnp.asarray(value, dtype=float_dtype())
