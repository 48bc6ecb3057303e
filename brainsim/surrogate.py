"""Spikes with a surrogate gradient.

The forward pass is the Heaviside step ``s = H(v)`` (a spike when the
membrane potential crosses threshold, ``v = V - V_th > 0``). Its true
derivative is zero almost everywhere, so gradient training replaces it in
the backward pass by the derivative of a fast sigmoid,

    ds/dv ~= 1 / (1 + beta |v|)^2,

the SuperSpike surrogate of Zenke & Ganguli (2018, Neural Computation 30,
1514). ``beta`` (1/mV) sets how sharply the pseudo-derivative peaks.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


@jax.custom_jvp
def spike(v: jax.Array, beta: jax.Array) -> jax.Array:
    """Return ``1.0`` where ``v > 0`` and ``0.0`` elsewhere, in ``v``'s dtype.

    Args:
      v: distance to threshold, ``V - V_th`` (mV), any shape.
      beta: surrogate sharpness (1/mV), scalar; receives no gradient.
    """
    del beta
    return (v > 0).astype(v.dtype)


@spike.defjvp
def _spike_jvp(primals, tangents):
    v, beta = primals
    v_dot, _ = tangents
    surrogate = 1.0 / jnp.square(1.0 + beta * jnp.abs(v))
    return spike(v, beta), surrogate * v_dot
