"""Delay lines as ring buffers kept in the simulation state.

Each output port that feeds a delayed projection keeps its last ``D``
values, where ``D`` is the longest delay (in steps) read from it. At step
``t`` the value written at step ``t - d`` sits in slot ``(t - d) mod D``; the
value of step ``t`` then overwrites slot ``t mod D``. Before any value is
written the buffer reads zeros. Being plain arrays in state, delay lines are
differentiable, vmappable and checkpointable. A one-step delay (``D = 1``) is
held as the previous value itself, with no slot arithmetic.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax


def init_buffer(shape: tuple[int, ...], length: int, dtype) -> jax.Array:
    """Zeros for a delay line of ``length`` steps of arrays of ``shape``."""
    return jnp.zeros(shape if length == 1 else (length, *shape), dtype)


def read(buffer: jax.Array, delay: int, length: int, t: jax.Array) -> jax.Array:
    """The value written ``delay`` steps before step ``t`` (``1 <= delay <= length``)."""
    if length == 1:
        return buffer
    return lax.dynamic_index_in_dim(buffer, (t - delay) % length, keepdims=False)


def write(buffer: jax.Array, value: jax.Array, length: int, t: jax.Array) -> jax.Array:
    """Store the value of step ``t``."""
    value = value.astype(buffer.dtype)
    if length == 1:
        return value
    return lax.dynamic_update_index_in_dim(buffer, value, t % length, 0)


def read_per_edge(buffer: jax.Array, delays, length: int, t: jax.Array) -> jax.Array:
    """Values ``x_i(t - d[i, j])`` for a ``(n_src, n_dst)`` int matrix of delays >= 1.

    ``buffer`` holds ``(length, n_src)`` (or ``(n_src,)`` when ``length == 1``).
    """
    if length == 1:
        return jnp.broadcast_to(buffer.reshape(-1, 1), delays.shape)
    slots = (t - jnp.asarray(delays, jnp.int32)) % length
    sources = jnp.broadcast_to(jnp.arange(delays.shape[0])[:, None], slots.shape)
    return buffer.reshape(length, -1)[slots, sources]
