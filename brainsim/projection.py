"""Projections: weighted connections from an output port to an input port.

A projection maps the presynaptic activity ``x`` of one output port (read
``delay`` steps late) to a contribution ``y`` to one input port; every
projection into the same input port is summed. Ports of any shape are
flattened to vectors of ``size`` elements for the weighted kinds.

Kinds:

- ``"dense"``: ``y = x @ W``, ``W`` of shape ``(n_src, n_dst)``, initialised
  ``N(0, scale^2 / n_src)``.
- ``"sparse"``: each target unit ``j`` receives from ``fan_in`` distinct
  sources ``idx[j, :]`` drawn at random: ``y_j = sum_k w[j, k] x[idx[j, k]]``;
  ``w`` initialised ``N(0, scale^2 / fan_in)``. The indices are structure, kept
  in ``state`` (they receive no gradient).
- ``"one_to_one"``: ``y = w * x`` elementwise, ``w`` initialised to ``scale``;
  both ports must have the same shape.
- ``"matrix"``: like ``"dense"`` but initialised to a given matrix.
- ``"identity"``: ``y = x``, no weights; both ports must have the same shape.
- ``"event"``: for spiking sources. Each (pre, post) pair is connected with
  probability ``p``; every synapse starts at weight ``scale`` (one weight per
  synapse, or one shared by all with ``shared_weight=True``). Delivery is
  event-driven (`brainsim.events`): the cost of a step follows the spikes
  that occur, and memory follows the synapse count. Targets (and per-synapse
  delays) are structure, kept in ``state``. With ``synapse_delay=(lo, hi)``
  steps, each synapse gets its own delay drawn uniformly from ``lo..hi``, and
  spikes wait in a ring buffer of arrivals until they are due.

Per-edge delays: a ``"dense"`` or ``"matrix"`` projection may take a matrix
of delays ``d[i, j]`` (steps, or ms converted at build), one per synapse,
as in whole-brain models where tract lengths set conduction delays:
``y_j = sum_i W[i, j] x_i(t - d[i, j])``. Every per-edge delay is at least
one step (a zero entry is read as one step).

Sign constraints (Dale's law): if the source port declares signs (see
`Region.signs`), or the projection is given ``sign=+1`` / ``-1``, the
effective weight is ``sign * |W|``, so every synapse keeps its sign however
the stored weight is trained.

Weights live in ``params`` under the projection's name,
``"<src>.<port>-><dst>.<port>"``, as ``{"weight": ...}``.
"""

from __future__ import annotations

import dataclasses
import hashlib

import jax
import jax.numpy as jnp
import numpy as np

from brainsim import connectivity, events
from brainsim.dtypes import float_dtype

KINDS = ("dense", "sparse", "one_to_one", "matrix", "identity", "event")


class FrozenArray:
    """A read-only numpy array that is hashable (by content), for use in specs."""

    def __init__(self, array):
        self.array = np.array(array, copy=True)
        self.array.flags.writeable = False
        digest = hashlib.sha1(self.array.tobytes()).hexdigest()
        self._key = (self.array.shape, str(self.array.dtype), digest)

    def __hash__(self):
        return hash(self._key)

    def __eq__(self, other):
        return isinstance(other, FrozenArray) and self._key == other._key

    def __repr__(self):
        return f"FrozenArray(shape={self.array.shape}, dtype={self.array.dtype}, sha1={self._key[2]})"


@dataclasses.dataclass(frozen=True)
class Projection:
    """One edge of a connectome (structure only; weights live in params).

    Attributes:
      src, src_port, dst, dst_port: region and port names of both ends.
      kind: one of `KINDS`.
      delay: delay in steps (``>= 0``), or ``None`` when given in ms; with
        per-edge delays, the longest of them.
      delay_ms: delay in ms, converted to steps by `brainsim.build`.
      edge_delay: per-edge delays in steps, ``(n_src, n_dst)`` ints ``>= 1``.
      edge_delay_ms: per-edge delays in ms, converted by `brainsim.build`.
      plasticity: a rule of `brainsim.plasticity`; the weights then live in
        state (``{"weight", "rule"}``) and the rule's rates in params.
      fan_in: inputs per target unit (``"sparse"`` only).
      scale: scale of the initial weights (see the kinds above).
      sign: ``+1`` or ``-1`` to force the sign of every weight, else ``None``.
      matrix: the initial weights of a ``"matrix"`` projection.
      p: connection probability of an ``"event"`` projection.
      shared_weight: one weight for all synapses of an ``"event"`` projection.
      spike_slots: spikes delivered per chunk by an ``"event"`` projection
        (default `brainsim.events.default_slots`); more spikes in a step
        cost more chunks, never a lost spike.
      synapse_delay: ``(lo, hi)`` per-synapse delays in steps (``"event"``).
      synapse_delay_ms: the same in ms, converted by `brainsim.build`.
    """

    src: str
    src_port: str
    dst: str
    dst_port: str
    kind: str = "dense"
    delay: int | None = 0
    delay_ms: float | None = None
    fan_in: int | None = None
    scale: float = 1.0
    sign: int | None = None
    matrix: FrozenArray | None = None
    edge_delay: FrozenArray | None = None
    edge_delay_ms: FrozenArray | None = None
    plasticity: object | None = None
    p: float | None = None
    shared_weight: bool = False
    spike_slots: int | None = None
    synapse_delay: tuple[int, int] | None = None
    synapse_delay_ms: tuple[float, float] | None = None

    @property
    def name(self) -> str:
        """Canonical name, also the key of this projection in params and state."""
        return f"{self.src}.{self.src_port}->{self.dst}.{self.dst_port}"

    @property
    def source(self) -> str:
        return f"{self.src}.{self.src_port}"

    @property
    def target(self) -> str:
        return f"{self.dst}.{self.dst_port}"


def init_projection(proj: Projection, key, n_src: int, n_dst: int):
    """Initial ``(params, state)`` of a projection between ports of these sizes."""
    params, state = _init_weights(proj, key, n_src, n_dst)
    if proj.plasticity is None:
        return params, state
    rule_params, rule_state = proj.plasticity.init(params["weight"].shape)
    return rule_params, {**state, "weight": params["weight"], "rule": rule_state}


def _init_weights(proj: Projection, key, n_src: int, n_dst: int):
    dtype = float_dtype()
    if proj.kind == "dense":
        w = jax.random.normal(key, (n_src, n_dst), dtype) * (proj.scale / np.sqrt(n_src))
        return {"weight": w}, {}
    if proj.kind == "matrix":
        return {"weight": jnp.asarray(proj.matrix.array, dtype)}, {}
    if proj.kind == "one_to_one":
        return {"weight": jnp.full((n_dst,), proj.scale, dtype)}, {}
    if proj.kind == "sparse":
        k_idx, k_w = jax.random.split(key)
        # fan_in distinct sources per target: the top-k of i.i.d. uniforms
        # is a uniform random subset (done for all targets at once).
        _, index = jax.lax.top_k(jax.random.uniform(k_idx, (n_dst, n_src)), proj.fan_in)
        w = jax.random.normal(k_w, (n_dst, proj.fan_in), dtype) * (
            proj.scale / np.sqrt(proj.fan_in)
        )
        return {"weight": w}, {"index": index.astype(jnp.int32)}
    if proj.kind == "identity":
        return {}, {}
    if proj.kind == "event":
        return _init_event(proj, key, n_src, n_dst, dtype)
    raise AssertionError(f"unhandled projection kind {proj.kind!r}")


def _init_event(proj: Projection, key, n_src: int, n_dst: int, dtype):
    k_targets, k_delays = jax.random.split(key)
    targets = connectivity.bernoulli_targets(k_targets, n_src, n_dst, proj.p)
    shape = () if proj.shared_weight else targets.shape
    state = {"targets": targets}
    if proj.synapse_delay is not None:
        low, high = proj.synapse_delay
        if high * n_dst >= 2**31:
            raise ValueError(
                f"{proj.name}: a ring of {high} steps x {n_dst} targets exceeds int32 indexing; "
                "shorten the longest delay or split the target population"
            )
        state["delay"] = connectivity.uniform_delays(k_delays, targets.shape, low, high)
        state["arrivals"] = jnp.zeros((high, n_dst), dtype)
    return {"weight": jnp.full(shape, proj.scale, dtype)}, state


def event_slots(proj: Projection, n_src: int) -> int:
    """Spike slots per delivery chunk of an event projection (at most one per neuron)."""
    slots = proj.spike_slots if proj.spike_slots is not None else events.default_slots(n_src)
    return min(slots, n_src)


def apply_event_projection(proj: Projection, params, state, x, t, dst_shape, signs):
    """Deliver spikes ``x`` along an ``"event"`` projection at step ``t``.

    Returns ``(y, state)``: the contribution to the target port and the
    projection's state (its ring buffer of arrivals advances when it has
    per-synapse delays).
    """
    flat = x.reshape(-1)
    n_src, n_dst = flat.shape[0], int(np.prod(dst_shape))
    w = params["weight"]
    row_sign = None
    if signs is not None:
        row_sign = jnp.asarray(np.broadcast_to(np.asarray(signs, np.float64), (n_src,)), w.dtype)
    slots = event_slots(proj, n_src)
    if proj.synapse_delay is None:
        into = jnp.zeros((n_dst,), w.dtype)
        y = events.deliver(into, flat, w, state["targets"], None, t, row_sign, n_dst, 0, slots)
        return y.reshape(dst_shape), state
    ring = state["arrivals"]
    length = ring.shape[0]
    t_emit = t - proj.delay
    arrivals = events.deliver(ring.reshape(-1), flat, w, state["targets"], state["delay"], t_emit,
                              row_sign, n_dst, length, slots).reshape(length, n_dst)
    slot = t % length
    y = jax.lax.dynamic_index_in_dim(arrivals, slot, keepdims=False)
    arrivals = jax.lax.dynamic_update_index_in_dim(arrivals, jnp.zeros_like(y), slot, 0)
    return y.reshape(dst_shape), {**state, "arrivals": arrivals}


def effective_signs(proj: Projection, source_signs: np.ndarray | None) -> np.ndarray | float | None:
    """The sign constraint on ``proj``'s weights, per source unit or global, or None."""
    if source_signs is not None:
        return source_signs
    if proj.sign is not None:
        return float(proj.sign)
    return None


def signed_weight(w, signs):
    """``sign * |w|`` for a weight matrix ``(n_src, ...)``; ``w`` when unsigned."""
    if signs is None:
        return w
    if np.ndim(signs) == 0:
        return jnp.abs(w) * signs
    return jnp.abs(w) * jnp.asarray(signs, w.dtype).reshape(-1, *([1] * (w.ndim - 1)))


def apply_edge_delayed(params, x_edges, dst_shape, signs):
    """Contribution of per-edge delayed activity ``x_edges[i, j] = x_i(t - d[i, j])``."""
    w = signed_weight(params["weight"], signs)
    return jnp.sum(w * x_edges, axis=0).reshape(dst_shape)


def apply_projection(proj: Projection, params, state, x, dst_shape, signs):
    """Contribution of presynaptic activity ``x`` to the target port.

    Args:
      proj: the projection spec.
      params, state: this projection's entries of the network params/state.
      x: presynaptic activity, the source port's shape.
      dst_shape: shape of the target port.
      signs: the result of `effective_signs` (static numpy or float or None).
    """
    if proj.kind == "identity":
        return x
    flat = x.reshape(-1)
    w = state["weight"] if proj.plasticity is not None else params["weight"]
    if proj.kind in ("dense", "matrix"):
        y = flat @ signed_weight(w, signs)
    elif proj.kind == "sparse":
        index = state["index"]
        if signs is not None:
            sign = jnp.asarray(signs, w.dtype)[index] if np.ndim(signs) else signs
            w = jnp.abs(w) * sign
        y = jnp.sum(w * flat[index], axis=1)
    else:  # one_to_one
        y = signed_weight(w, signs) * flat
    return y.reshape(dst_shape)
