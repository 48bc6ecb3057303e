"""Projections: weighted connections from an output port to an input port.

A projection maps the presynaptic activity ``x`` of one output port, read
``delay`` steps late, to a contribution ``y`` to one input port; every
projection into the same input port is summed. *How* ``x`` becomes ``y`` is
the projection's kind, an object (`brainsim.kinds`): `Dense`, `Sparse`,
`OneToOne`, `Matrix`, `Identity`, `Event`, `ShortTermPlasticity`, or your
own subclass of `brainsim.Kind`.

Delays: a delay of ``d`` steps means that the target at step ``t`` sees what
the source put out at step ``t - d`` (0: the same step, in topological
order). A region puts out its state at the end of its step, so for the
conduction delay ``D`` of a delay differential equation (the target's step
from ``t`` to ``t + dt`` uses the source's state at ``t - D``) brainsim reads
``D / dt + 1`` steps back: give it as ``lag_ms=D``.
Kinds that allow it (`Dense`, `Matrix`) take one delay per synapse from a
``(n_src, n_dst)`` matrix: ``y_j = sum_i W[i, j] x_i(t - d[i, j])``.

Sign constraints (Dale's law): if the source port declares signs (see
`Region.signs`), or the projection is given ``sign=+1`` / ``-1``, the
effective weight is ``sign * |W|``, so every synapse keeps its sign however
the stored weight is trained.

Parameters live in ``params`` under the projection's name,
``"<src>.<port>-><dst>.<port>"`` (e.g. ``{"weight": ...}``), and its
structure (indices, rings of arrivals) in ``state["projections"]``.
"""

from __future__ import annotations

import dataclasses

from brainsim._src.frozen import FrozenArray
from brainsim.kinds import Dense, Endpoints, Kind

__all__ = ["FrozenArray", "Projection", "init_projection"]


@dataclasses.dataclass(frozen=True)
class Projection:
    """One edge of a connectome (structure only; numbers live in params).

    Attributes:
      src, src_port, dst, dst_port: region and port names of both ends.
      kind: a `brainsim.Kind` object.
      delay: delay in steps (``>= 0``), or ``None`` when given in ms; with
        per-edge delays, the longest of them.
      delay_ms: delay in ms, converted to steps by `brainsim.build`.
      edge_delay: per-edge delays in steps, ``(n_src, n_dst)`` ints ``>= 1``.
      edge_delay_ms: per-edge delays in ms, converted by `brainsim.build`.
      lag: the ms delays are conduction delays of a delay differential
        equation (``connect(lag_ms=)``): ``round(ms / dt) + 1`` steps.
      scale: scale of the initial weights (see each kind).
      sign: ``+1`` or ``-1`` to force the sign of every weight, else ``None``.
      plasticity: a local learning rule (`brainsim.plasticity`); the weights
        then live in state (``{"weight", "rule"}``) and the rule's rates in params.
    """

    src: str
    src_port: str
    dst: str
    dst_port: str
    kind: Kind = Dense()
    delay: int | None = 0
    delay_ms: float | None = None
    edge_delay: FrozenArray | None = None
    edge_delay_ms: FrozenArray | None = None
    lag: bool = False
    scale: float = 1.0
    sign: int | None = None
    plasticity: object | None = None

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


def init_projection(proj: Projection, key, ends: Endpoints):
    """Initial ``(params, state)`` of a projection; a plastic one keeps its weights in state."""
    params, state = proj.kind.init(key, ends)
    if proj.plasticity is None:
        return params, state
    rule_params, rule_state = proj.plasticity.init(params["weight"].shape)
    return rule_params, {**state, "weight": params["weight"], "rule": rule_state}
