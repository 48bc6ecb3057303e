"""The projection-kind protocol: what a kind of connection must provide.

A kind is a small frozen dataclass, like an optax transform: it holds only
structure (fan-in, connection probability, a fixed matrix), checks its own
arguments when made and against the two ports when connected, builds its
params and state, and applies itself in every step. The engine calls these
methods and nothing else, so a new kind (short-term plasticity, gap
junctions) is one subclass in one file:

    @dataclasses.dataclass(frozen=True)
    class Gain(bs.Kind):
        def check(self, ends):
            ends.require_equal_shapes(self)
        def init(self, key, ends):
            return {"gain": bs.param(1.0)}, {}
        def apply(self, params, state, x, ends, t, dt):
            return params["gain"] * x, state

    brain.connect("a.rate", "b.input", kind=Gain())

Weights are stored source x target, ``(n_src, n_dst)``, wherever a kind has
a matrix; ports of any shape are flattened to vectors of ``size`` elements.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from brainsim.errors import WiringError
from brainsim.ports import Port


@dataclasses.dataclass(frozen=True, eq=False)
class Endpoints:
    """The static facts of one connection that a kind checks and uses.

    Attributes:
      source, target: ``"region.port"`` paths of both ends.
      src_port, dst_port: the two `Port` declarations.
      source_signs: Dale signs (+1/-1) of the source units, or None.
      sign: the projection's own sign constraint (+1, -1) or None.
      scale: the scale of the initial weights given to ``connect``.
    """

    source: str
    target: str
    src_port: Port
    dst_port: Port
    source_signs: np.ndarray | None = None
    sign: int | None = None
    scale: float = 1.0

    @property
    def n_src(self) -> int:
        return self.src_port.size

    @property
    def n_dst(self) -> int:
        return self.dst_port.size

    @functools.cached_property
    def signs(self) -> np.ndarray | float | None:
        """The sign constraint on the weights: per source unit, global, or None."""
        if self.source_signs is not None:
            return self.source_signs
        return None if self.sign is None else float(self.sign)

    def error(self, message: str) -> WiringError:
        """A `WiringError` that names this connection."""
        return WiringError(f"{self.source} -> {self.target}: {message}")

    def require_equal_shapes(self, kind: "Kind") -> None:
        """Refuse ports of different shapes (for elementwise kinds)."""
        if self.src_port.shape != self.dst_port.shape:
            raise WiringError(
                f"shape mismatch: a {kind.label} projection needs equal shapes, but "
                f"{self.source} has shape {self.src_port.shape} and {self.target} has shape "
                f"{self.dst_port.shape}"
            )


@dataclasses.dataclass(frozen=True)
class Kind(abc.ABC):
    """Base class of projection kinds; subclass it as a frozen dataclass.

    Class attributes:
      shorthand: the string that names the kind in ``connect(kind=...)``.
      plastic: whether a local plasticity rule may train its weights
        (a ``(n_src, n_dst)`` matrix ``"weight"`` applied as ``x @ W``).
      edge_delays: whether it accepts one delay per synapse from a matrix.
    """

    shorthand: ClassVar[str | None] = None
    plastic: ClassVar[bool] = False
    edge_delays: ClassVar[bool] = False

    @property
    def label(self) -> str:
        """A short name for messages and diagrams."""
        return self.shorthand or type(self).__name__

    def check(self, ends: Endpoints) -> None:
        """Raise a `WiringError` if the kind cannot join these ports."""

    def source_delay(self, delay, ms, ends: Endpoints):
        """The delay (steps, ms) at which the source is read, from what ``connect`` got."""
        return delay, ms

    def at_dt(self, dt: float) -> "Kind":
        """The kind with any times in ms converted to steps of ``dt`` (at build)."""
        return self

    @abc.abstractmethod
    def init(self, key: jax.Array, ends: Endpoints) -> tuple[dict, dict]:
        """Initial ``(params, state)``: numbers to train in params, structure in state."""

    @abc.abstractmethod
    def apply(self, params, state, x, ends: Endpoints, t, dt):
        """``(y, state)``: the contribution of source activity ``x`` (the source
        port's shape) to the target port (its shape) at step ``t`` (``dt`` in ms)."""

    def apply_edges(self, params, state, x_edges, ends: Endpoints, t, dt):
        """Like `apply` with per-edge delayed activity ``x_edges[i, j] = x_i(t - d[i, j])``;
        only kinds with ``edge_delays = True`` are given it."""
        raise TypeError(f"{type(self).__name__} takes no per-edge delays")


def signed_weight(w, signs):
    """``sign * |w|`` for weights ``(n_src, ...)``; ``w`` when unsigned.

    Dale's law: every synapse keeps its presynaptic unit's sign however the
    stored weight is trained."""
    if signs is None:
        return w
    if np.ndim(signs) == 0:
        return jnp.abs(w) * signs
    return jnp.abs(w) * jnp.asarray(signs, w.dtype).reshape(-1, *([1] * (w.ndim - 1)))
