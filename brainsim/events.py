"""Event-driven delivery of spikes along sparse projections.

Each step, a spiking projection adds the weight of every synapse of every
neuron that spiked to that synapse's target:

    y[targets[i, f]] += w[i, f] * x[i]        for every i with x[i] != 0

(``x`` is the presynaptic spike vector, 0/1 floats). The work follows the
spikes: the indices of up to ``slots`` spiking neurons are found with one
``top_k`` over ``|x|`` (the only step linear in ``n_src``), and a ``while_loop``
gathers and scatters the target rows of those that spiked, a few rows
(`chunk_rows`) per iteration, so that a quiet step costs little. Never is a
spike dropped: if more than ``slots`` neurons spike in a step (a burst), a
second ``top_k`` takes up to ``slots`` more; a larger burst is listed once
(``nonzero``) and delivered ``slots`` rows at a time. The cost grows with the
burst and the result stays exact.

With per-synapse delays the values go into a ring buffer of arrivals, row
``(t_emit + d[i, f]) mod D`` for a spike emitted at step ``t_emit`` over a
synapse of delay ``d`` steps (``1 <= d <= D``).

Gradients: `deliver` has a custom VJP. The backward pass is the transpose of
the delivery over all synapses (a gather of the output's cotangent at every
synapse's target), because the surrogate derivative of a spike is non-zero
for neurons that did not spike; its cost is linear in the synapse count, not
in ``n_src * n_dst``.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from jax import lax


def default_slots(n_src: int) -> int:
    """Spike slots per delivery: a power of two near ``n_src / 128`` (32 at
    ``n_src = 4000``, enough for about 80 Hz at ``dt = 0.1`` ms), at least 8."""
    return min(n_src, max(8, 2 ** math.ceil(math.log2(max(n_src / 128, 1)))))


def _weight_rows(w, index, signed: bool):
    """Weights of the synapses of rows ``index``: ``(k, max_out)`` or a scalar."""
    rows = w if w.ndim == 0 else w[index]
    return jnp.abs(rows) if signed else rows


def _flat_index(rows, delay_rows, t_emit, n_dst: int, ring: int):
    """Where each synapse's value lands in the flattened output; padding goes past the end."""
    size = n_dst * max(ring, 1)
    if delay_rows is None:
        return jnp.where(rows < n_dst, rows, size)
    slot = (t_emit + delay_rows) % ring
    return jnp.where(rows < n_dst, slot * n_dst + rows, size)


MIN_CHUNK = 4  # rows scattered per loop iteration, at least


def chunk_rows(slots: int) -> int:
    """Rows scattered per iteration: 4, or an eighth of the slots for large populations
    (so that a step of ordinary activity needs only a few iterations)."""
    return min(slots, max(MIN_CHUNK, slots // 8))


def _event_forward(into, x, w, targets, delays, t_emit, row_sign, n_dst, ring, slots):
    signed = row_sign is not None
    into, x, w = jnp.asarray(into), jnp.asarray(x), jnp.asarray(w)
    magnitude = jnp.abs(x)
    count = jnp.sum(magnitude > 0)

    def scatter_rows(acc, size, index):
        """Add the synapses of rows ``index`` (activity ``size``, sorted, > 0 first)."""
        gain = size * jnp.sign(x[index])
        gain = gain if row_sign is None else gain * row_sign[index]
        values = _weight_rows(w, index, signed) * gain[:, None]
        delay_rows = None if delays is None else delays[index]
        flat = _flat_index(targets[index], delay_rows, t_emit, n_dst, ring)
        values = jnp.broadcast_to(values, flat.shape)
        return acc.at[flat.reshape(-1)].add(values.reshape(-1), mode="drop")

    top_size, top_index = lax.top_k(magnitude, slots)  # the (up to) `slots` active rows come first
    chunk = chunk_rows(slots)
    padding = -(-slots // chunk) * chunk - slots  # zero-activity rows that complete the last chunk
    size, index = jnp.pad(top_size, (0, padding)), jnp.pad(top_index, (0, padding))

    def next_rows(carry):
        """Scatter the next `chunk` rows of this step's spikes."""
        acc, start = carry
        rows = lax.dynamic_slice_in_dim(index, start, chunk)
        return scatter_rows(acc, lax.dynamic_slice_in_dim(size, start, chunk), rows), start + chunk

    if jax.default_backend() == "cpu":
        active = jnp.minimum(count, slots)
        acc = lax.while_loop(lambda c: c[1] < active, next_rows, (into, jnp.zeros((), count.dtype)))[0]
    else:  # on accelerators a loop costs a round trip to the host per iteration: scatter every slot
        acc = scatter_rows(into, top_size, top_index)
    if slots >= x.shape[0]:  # one slot per neuron: nothing can be left over
        return acc

    def burst(acc):
        """More spikes than slots: one more top_k if that catches the rest, else list them
        once and deliver them `slots` rows at a time."""
        remaining = magnitude.at[top_index].set(0.0)
        left = count - slots

        def second_chunk(acc):
            return scatter_rows(acc, *lax.top_k(remaining, slots))

        def listed(acc):
            (order,) = jnp.nonzero(remaining > 0, size=x.shape[0], fill_value=0)
            position = jnp.arange(x.shape[0])
            size = jnp.where(position < left, remaining[order], 0.0)  # the fill entries carry nothing
            # a tail of empty rows, so that no chunk's slice is clamped back over delivered rows
            order, size = jnp.pad(order, (0, slots)), jnp.pad(size, (0, slots))

            def next_chunk(carry):
                acc, start = carry
                rows = lax.dynamic_slice_in_dim(order, start, slots)
                return scatter_rows(acc, lax.dynamic_slice_in_dim(size, start, slots), rows), start + slots

            return lax.while_loop(lambda c: c[1] < left, next_chunk, (acc, jnp.zeros((), count.dtype)))[0]

        return lax.cond(left <= slots, second_chunk, listed, acc)

    return lax.cond(count > slots, burst, lambda acc: acc, acc)


def _all_synapses(into, x, w, targets, delays, t_emit, row_sign, n_dst, ring):
    """The same delivery over every synapse, spikes or not (the transpose for the VJP)."""
    signed = row_sign is not None
    gain = x if row_sign is None else x * row_sign
    values = (jnp.abs(w) if signed else w) * gain[:, None]
    flat = _flat_index(targets, delays, t_emit, n_dst, ring)
    values = jnp.broadcast_to(values, flat.shape)
    return into.at[flat.reshape(-1)].add(values.reshape(-1), mode="drop")


@functools.partial(jax.custom_vjp, nondiff_argnums=(7, 8, 9))
def deliver(into, x, w, targets, delays, t_emit, row_sign, n_dst, ring, slots):
    """``into`` plus the delivery of spikes ``x`` (see the module docstring).

    Args:
      into: flat accumulator, ``(n_dst,)`` or ``(ring * n_dst,)`` for a ring
        buffer of arrivals.
      x: presynaptic activity ``(n_src,)``; only its non-zero entries count.
      w: weights, a scalar (shared by all synapses) or ``(n_src, max_out)``.
      targets: ``(n_src, max_out)`` int32 targets, padded with ``n_dst``.
      delays: ``(n_src, max_out)`` int32 delays in steps, or None.
      t_emit: the step at which ``x`` was emitted (used with delays).
      row_sign: ``(n_src,)`` signs (Dale's law; weights enter as ``sign * |w|``)
        or None for unsigned weights.
      n_dst, ring, slots: static sizes (ring is 0 without delays).
    """
    return _event_forward(into, x, w, targets, delays, t_emit, row_sign, n_dst, ring, slots)


def _deliver_fwd(into, x, w, targets, delays, t_emit, row_sign, n_dst, ring, slots):
    y = _event_forward(into, x, w, targets, delays, t_emit, row_sign, n_dst, ring, slots)
    return y, (into, x, w, targets, delays, t_emit, row_sign)


def _deliver_bwd(n_dst, ring, slots, residuals, cotangent):
    into, x, w, targets, delays, t_emit, row_sign = residuals

    def dense(into, x, w):
        return _all_synapses(into, x, w, targets, delays, t_emit, row_sign, n_dst, ring)

    _, vjp = jax.vjp(dense, into, x, w)
    d_into, dx, dw = vjp(cotangent)
    return d_into, dx, dw, None, None, None, None


deliver.defvjp(_deliver_fwd, _deliver_bwd)


def deliver_reference(into, x, w, targets, delays, t_emit, row_sign, n_dst, ring):
    """`deliver` computed over every synapse (slow; for tests and gradients)."""
    return _all_synapses(into, x, w, targets, delays, t_emit, row_sign, n_dst, ring)
