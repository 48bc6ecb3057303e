"""`Event`: event-driven delivery of spikes over random sparse synapses.

Each (pre, post) pair is connected with probability ``p``; every synapse
starts at weight ``scale`` (one weight per synapse, or one shared by all
with ``shared_weight=True``). Delivery (`brainsim.events`) adds a spiking
neuron's weights to its targets' inputs, so the cost of a step follows the
spikes that occur and memory follows the synapse count. Targets (and
per-synapse delays) are structure, kept in ``state``.

With ``synapse_delay=(lo, hi)`` steps (or ``synapse_delay_ms=``), each
synapse gets its own delay drawn uniformly from ``lo..hi``: a spike of step
``t`` over a synapse of delay ``d`` reaches the target at step ``t + d``. The
spikes wait in a ring buffer of arrivals, in state, until they are due.
"""

from __future__ import annotations

import dataclasses
import math
import numbers

import jax
import jax.numpy as jnp
import numpy as np

from brainsim import connectivity, events
from brainsim.checks import check_int
from brainsim.dtypes import float_dtype
from brainsim.errors import WiringError
from brainsim.kinds.base import Endpoints, Kind

WHERE = "kind='event'"


@dataclasses.dataclass(frozen=True)
class Event(Kind):
    """Bernoulli(``p``) synapses from a spiking port, delivered event by event.

    Args:
      p: connection probability of each (pre, post) pair.
      shared_weight: one weight for all synapses (else one per synapse).
      spike_slots: spikes delivered per chunk (default
        `brainsim.events.default_slots`); more spikes in a step cost more
        chunks, never a lost spike.
      synapse_delay: ``(lo, hi)`` per-synapse delays in steps, ``1 <= lo <= hi``.
      synapse_delay_ms: the same in ms, rounded to whole steps (at least 1) at build.
    """

    p: float | None = None
    shared_weight: bool = False
    spike_slots: int | None = None
    synapse_delay: tuple[int, int] | None = None
    synapse_delay_ms: tuple[float, float] | None = None

    shorthand = "event"

    def __post_init__(self):
        p = self.p
        if isinstance(p, bool) or not (isinstance(p, numbers.Real) and connectivity.MIN_P <= p <= 1.0):
            raise WiringError(f"{WHERE} needs a connection probability p in "
                              f"[{connectivity.MIN_P:g}, 1], got p={p!r}")
        object.__setattr__(self, "p", float(p))
        if not isinstance(self.shared_weight, (bool, np.bool_)):
            raise WiringError(f"{WHERE}: shared_weight must be True or False, got {self.shared_weight!r}")
        object.__setattr__(self, "shared_weight", bool(self.shared_weight))
        if self.spike_slots is not None:
            check_int(WHERE, "spike_slots", self.spike_slots, error=WiringError)
        if self.synapse_delay is not None and self.synapse_delay_ms is not None:
            raise WiringError(f"{WHERE}: give synapse_delay= (steps) or synapse_delay_ms=, not both")
        if self.synapse_delay is not None:
            object.__setattr__(self, "synapse_delay", _bounds("synapse_delay", self.synapse_delay, 1))
        if self.synapse_delay_ms is not None:
            object.__setattr__(self, "synapse_delay_ms",
                               _bounds("synapse_delay_ms", self.synapse_delay_ms, 0))

    @property
    def has_synapse_delays(self) -> bool:
        return self.synapse_delay is not None or self.synapse_delay_ms is not None

    def check(self, ends: Endpoints) -> None:
        if ends.src_port.kind != "spike":
            raise ends.error(
                f"{WHERE} delivers spikes, but {ends.source} carries {ends.src_port.kind!r} "
                "values; connect a spike port, or use kind='dense' or 'sparse'"
            )

    def source_delay(self, delay, ms, ends: Endpoints):
        if not self.has_synapse_delays:
            return delay, ms
        if delay is not None or ms is not None:
            raise ends.error("synapse_delay= sets each synapse's whole delay; drop delay=/ms=")
        return 1, None  # the spikes of the last step; each synapse then adds its own wait

    def at_dt(self, dt: float) -> "Event":
        if self.synapse_delay_ms is None:
            return self
        low, high = (max(int(round(d / dt)), 1) for d in self.synapse_delay_ms)
        return dataclasses.replace(self, synapse_delay=(low, high), synapse_delay_ms=None)

    def slots(self, n_src: int) -> int:
        """Spike slots per delivery chunk (at most one per neuron)."""
        slots = self.spike_slots if self.spike_slots is not None else events.default_slots(n_src)
        return min(slots, n_src)

    def init(self, key, ends: Endpoints):
        dtype = float_dtype()
        k_targets, k_delays = jax.random.split(key)
        targets = connectivity.bernoulli_targets(k_targets, ends.n_src, ends.n_dst, self.p)
        state = {"targets": targets}
        if self.synapse_delay is not None:
            low, high = self.synapse_delay
            if high * ends.n_dst >= 2**31:
                raise ends.error(
                    f"a ring of {high} steps x {ends.n_dst} targets exceeds int32 indexing; "
                    "shorten the longest delay or split the target population"
                )
            state["delay"] = connectivity.uniform_delays(k_delays, targets.shape, low, high)
            state["arrivals"] = jnp.zeros((high, ends.n_dst), dtype)
        shape = () if self.shared_weight else targets.shape
        return {"weight": jnp.full(shape, ends.scale, dtype)}, state

    def apply(self, params, state, x, ends: Endpoints, t, dt):
        """Deliver spikes ``x``; with per-synapse delays the ring of arrivals advances."""
        flat = x.reshape(-1)
        n_src, n_dst = ends.n_src, ends.n_dst
        w = params["weight"]
        row_sign = None
        if ends.signs is not None:
            row_sign = jnp.asarray(np.broadcast_to(np.asarray(ends.signs, np.float64), (n_src,)), w.dtype)
        slots = self.slots(n_src)
        if self.synapse_delay is None:
            into = jnp.zeros((n_dst,), w.dtype)
            y = events.deliver(into, flat, w, state["targets"], None, t, row_sign, n_dst, 0, slots)
            return y.reshape(ends.dst_port.shape), state
        ring = state["arrivals"]
        length = ring.shape[0]
        t_emit = t - 1  # read one step late (see source_delay)
        arrivals = events.deliver(ring.reshape(-1), flat, w, state["targets"], state["delay"], t_emit,
                                  row_sign, n_dst, length, slots).reshape(length, n_dst)
        slot = t % length
        y = jax.lax.dynamic_index_in_dim(arrivals, slot, keepdims=False)
        arrivals = jax.lax.dynamic_update_index_in_dim(arrivals, jnp.zeros_like(y), slot, 0)
        return y.reshape(ends.dst_port.shape), {**state, "arrivals": arrivals}


def _bounds(name: str, bounds, minimum: int) -> tuple:
    """Check ``(lo, hi)`` delay bounds; whole steps when ``minimum`` is 1."""
    ok = (isinstance(bounds, tuple) and len(bounds) == 2
          and all(isinstance(b, numbers.Real) and not isinstance(b, bool) and math.isfinite(b)
                  for b in bounds)
          and minimum <= bounds[0] <= bounds[1])
    if ok and minimum:
        ok = all(float(b).is_integer() for b in bounds)
    if not ok:
        raise WiringError(f"{WHERE}: {name} must be a tuple (lo, hi) with {minimum} <= lo <= hi"
                          f"{' in whole steps' if minimum else ''}, got {bounds!r}")
    return tuple(int(b) if minimum else float(b) for b in bounds)
