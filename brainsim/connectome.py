"""The Connectome: regions and the projections that wire their ports.

A `Connectome` is a mutable builder. `add` and `connect` check each call at
once, so a wiring mistake raises where it is made, naming regions, ports and
shapes; `brainsim.build` then checks the graph as a whole (cycles without a
delay, required inputs left unconnected) and freezes it into a `Network`.

    brain = Connectome()
    brain.add("a", RatePopulation(n=128))
    brain.add("b", RatePopulation(n=64))
    brain.connect("a.rate", "b.input", delay=1)
    brain.connect("b.rate", "a.input", delay=2, kind="sparse", fan_in=8)
"""

from __future__ import annotations

import numbers
import re
from typing import Mapping

import numpy as np

from brainsim._src.frozen import FrozenArray
from brainsim.checks import INT32_MAX, check_int, check_real
from brainsim.errors import WiringError
from brainsim.kinds import Endpoints, make_kind
from brainsim.ports import Port
from brainsim.projection import Projection
from brainsim.region import is_frozen_dataclass

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RESERVED_NAMES = ("dt",)


class Connectome:
    """A graph of named regions joined by projections between their ports."""

    def __init__(self):
        self._regions: dict[str, object] = {}
        self._projections: list[Projection] = []
        self.node_map: dict[str, tuple[str, int | None]] = {}

    # -- reading -------------------------------------------------------------
    @property
    def regions(self) -> Mapping[str, object]:
        """Regions by name, in the order they were added."""
        return dict(self._regions)

    @property
    def projections(self) -> tuple[Projection, ...]:
        """Projections in the order they were connected."""
        return tuple(self._projections)

    def __repr__(self):
        lines = [f"Connectome({len(self._regions)} regions, {len(self._projections)} projections)"]
        lines += [f"  {name}: {region!r}" for name, region in self._regions.items()]
        lines += [f"  {_describe(p)}" for p in self._projections]
        return "\n".join(lines)

    @classmethod
    def from_matrix(cls, weights, tract_lengths=None, labels=None, **kwargs) -> "Connectome":
        """A whole-brain connectome from connectivity matrices; see `brainsim.whole_brain`."""
        from brainsim.whole_brain import from_matrix  # whole_brain builds on this module

        return from_matrix(weights, tract_lengths, labels, **kwargs)

    # -- building ------------------------------------------------------------
    def add(self, name: str, region) -> "Connectome":
        """Add ``region`` under ``name`` (an identifier); returns ``self``."""
        if not isinstance(name, str) or not _NAME.fullmatch(name):  # match() would allow "x\n"
            raise WiringError(
                f"region name {name!r} must be an identifier (letters, digits, _), "
                "since it is used in paths such as 'name.port'"
            )
        if name in RESERVED_NAMES:
            raise WiringError(f"region name {name!r} is reserved; pick another")
        if name in self._regions:
            raise WiringError(
                f"a region named {name!r} already exists "
                f"({self._regions[name]!r}); region names must be unique"
            )
        _check_region(name, region)
        self._regions[name] = region
        return self

    def connect(
        self,
        source: str,
        target: str,
        *,
        kind="dense",
        delay: int | None = None,
        ms: float | None = None,
        lag_ms=None,
        scale: float = 1.0,
        sign: int | None = None,
        weight=None,
        plasticity=None,
        **options,
    ) -> Projection:
        """Project output port ``source`` ("region.port") onto input ``target``.

        Args:
          source: ``"region.output_port"``.
          target: ``"region.input_port"``.
          kind: a `brainsim.Kind` (`bs.Dense()`, `bs.Sparse(fan_in=8)`,
            `bs.Event(p=0.02)`, ...) or its shorthand string (``"dense"``,
            ``"sparse"``, ``"one_to_one"``, ``"matrix"``, ``"identity"``,
            ``"event"``), made with the kind's own arguments from ``options``.
          delay: delay in steps (int ``>= 0``); default 0: the target at step
            ``t`` sees the source's value of step ``t - delay``. For kinds that
            allow it (dense, matrix), also a ``(n_src, n_dst)`` matrix of
            per-edge delays (each at least one step).
          ms: delay in ms instead (a number or a per-edge matrix), rounded
            to whole steps of the build ``dt``; a positive delay is at least
            one step.
          lag_ms: a conduction delay ``D`` in ms as in a delay differential
            equation, a number or a per-edge matrix (0 allowed): the target's
            step from time ``t`` to ``t + dt`` uses the source's state at
            ``t - D``. A region puts out its state at the end of a step, so
            this reads the output of step ``round(D / dt) + 1`` steps back.
          scale: scale of the initial weights.
          sign: ``+1`` or ``-1`` to constrain every weight's sign.
          weight: initial weight matrix ``(n_src, n_dst)``, source x target;
            shorthand for ``kind=bs.Matrix(weight)``.
          plasticity: a local learning rule (`brainsim.plasticity`) that
            updates this projection's weights every step.
          **options: arguments of a kind named by a string, e.g. ``fan_in=``
            for ``"sparse"``; ``p=``, ``shared_weight=``, ``spike_slots=``,
            ``synapse_delay=``, ``synapse_delay_ms=`` for ``"event"``.
        Returns:
          the new `Projection`; its ``name`` is its key in params and state.
        """
        src, src_port = self._resolve(source, "outputs", "source")
        dst, dst_port = self._resolve(target, "inputs", "target")
        kind = make_kind(kind, {k: v for k, v in {**options, "weight": weight}.items() if v is not None})
        if sign is not None and (isinstance(sign, bool) or not isinstance(sign, numbers.Integral)
                                 or sign not in (1, -1)):
            raise WiringError(f"{source} -> {target}: sign must be +1, -1 or None, got {sign!r}")
        source_signs = self._regions[src].signs(src_port)
        if sign is not None and source_signs is not None:
            raise WiringError(f"{source} already has Dale signs per unit; sign={sign} would conflict")
        scale = check_real(f"{source} -> {target}", "scale", scale, error=WiringError)
        ends = Endpoints(source, target, self._regions[src].outputs[src_port],
                         self._regions[dst].inputs[dst_port], source_signs,
                         None if sign is None else int(sign), scale)
        kind.check(ends)
        lag = lag_ms is not None
        if lag and (delay is not None or ms is not None):
            raise ends.error("give one of delay= (steps), ms= or lag_ms=")
        delay, ms = kind.source_delay(delay, lag_ms if lag else ms, ends)
        if np.ndim(delay) or np.ndim(ms):
            if not kind.edge_delays:
                raise ends.error(f"per-edge delays need kind='dense' or 'matrix', not {kind.label!r}")
            steps, delay_ms, edge_steps, edge_ms = _check_edge_delays(
                delay, ms, source, target, (ends.n_src, ends.n_dst), lag)
        else:
            (steps, delay_ms), edge_steps, edge_ms = _check_delay(delay, ms, source, target), None, None
        if src == dst and delay_ms is None and edge_ms is None and np.max(steps) == 0:
            raise ends.error(f"a region's input cannot read its own output of the same step (a cycle "
                             f"without delay); add delay=1: brain.connect('{source}', '{target}', delay=1)")
        if plasticity is not None:
            _check_plasticity(plasticity, kind, edge_steps is not None or edge_ms is not None,
                              source, target)
        proj = Projection(
            src, src_port, dst, dst_port, kind=kind, delay=steps, delay_ms=delay_ms,
            edge_delay=edge_steps, edge_delay_ms=edge_ms, lag=lag, scale=scale,
            sign=ends.sign, plasticity=plasticity,
        )
        if any(p.name == proj.name for p in self._projections):
            raise WiringError(
                f"{source} is already connected to {target}; use one projection "
                "(a projection's weights can express any sum of two)"
            )
        self._projections.append(proj)
        return proj

    def _resolve(self, path: str, side: str, role: str) -> tuple[str, str]:
        """Split ``"region.port"`` and check that both parts exist."""
        if not isinstance(path, str) or path.count(".") != 1:
            raise WiringError(f"{role} must be 'region.port', got {path!r}")
        region_name, port = path.split(".")
        if region_name not in self._regions:
            raise WiringError(
                f"unknown region {region_name!r} in {role} {path!r}; "
                f"regions are: {sorted(self._regions) or 'none yet (use add())'}"
            )
        region = self._regions[region_name]
        ports = getattr(region, side)
        if port not in ports:
            other_side = "inputs" if side == "outputs" else "outputs"
            hint = f" ({port!r} is an {other_side[:-1]})" if port in getattr(region, other_side) else ""
            raise WiringError(
                f"{role} {path!r}: region {region_name!r} has no {side[:-1]} port {port!r}{hint}; "
                f"its {side} are: {sorted(ports)}"
            )
        return region_name, port


def _check_plasticity(rule, kind, per_edge, source, target) -> None:
    from brainsim.plasticity import check_rule  # the rules know nothing of connectomes

    check_rule(rule, f"{source} -> {target}")
    if not kind.plastic or per_edge:
        raise WiringError(
            f"{source} -> {target}: plasticity needs a dense or matrix projection without "
            f"per-edge delays (got kind={kind.label!r})"
        )


def _check_region(name: str, region) -> None:
    if isinstance(region, type):
        raise WiringError(f"region {name!r} is the class {region.__name__}; add an instance, "
                          f"e.g. {region.__name__}(n=...)")
    for member in ("inputs", "outputs", "init", "step"):
        if not hasattr(region, member):
            raise WiringError(
                f"region {name!r} ({type(region).__name__}) lacks {member!r}; "
                "see brainsim.Region for the contract"
            )
    try:
        hash(region)
    except TypeError as err:
        raise WiringError(
            f"region {name!r} ({type(region).__name__}) is not hashable: declare it "
            "with @dataclasses.dataclass(frozen=True) and keep only tuples, not "
            "lists or arrays, in its fields"
        ) from err
    if not is_frozen_dataclass(region):
        raise WiringError(
            f"region {name!r} ({type(region).__name__}) must be a frozen dataclass holding only "
            "structure: declare it with @dataclasses.dataclass(frozen=True)"
        )
    both = set(region.inputs) & set(region.outputs)
    if both:
        raise WiringError(f"region {name!r}: ports {sorted(both)} are both inputs and outputs")
    for side in ("inputs", "outputs"):
        for port_name, port in getattr(region, side).items():
            if not isinstance(port, Port):
                raise WiringError(f"{name}.{port_name} must be a brainsim.Port, got {port!r}")


def _check_delay(delay, ms, source, target):
    """Validate a scalar delay; return ``(steps, ms)`` with one of them None."""
    where = f"{source} -> {target}"
    if delay is not None and ms is not None:
        raise WiringError(f"{where}: give delay= (steps) or ms=, not both")
    if ms is not None:
        return None, check_real(where, "ms (the delay in ms)", ms, 0.0, WiringError)
    delay = 0 if delay is None else delay
    check_int(where, "delay (steps; ms= takes milliseconds)", delay, minimum=0, error=WiringError)
    return int(delay), None


def _check_edge_delays(delay, ms, source, target, shape, lag=False):
    """Validate a per-edge delay matrix; return ``(delay, delay_ms, edge, edge_ms)``."""
    where = f"{source} -> {target}"
    if delay is not None and ms is not None:
        raise WiringError(f"{where}: give delay= (steps) or ms=, not both")
    given = np.asarray(delay if delay is not None else ms)
    if given.dtype == bool or not np.issubdtype(given.dtype, np.number) or np.iscomplexobj(given):
        raise WiringError(f"{where}: per-edge delays must be real numbers, got dtype {given.dtype}")
    given = given.astype(np.float64)
    if given.shape != shape:
        raise WiringError(
            f"shape mismatch: per-edge delays for {where} must have shape "
            f"{shape} (source x target), got {given.shape}"
        )
    if not np.all(np.isfinite(given)) or np.any(given < 0):
        raise WiringError(f"{where}: per-edge delays must be finite and >= 0")
    if ms is not None:
        if not lag and np.any(given == 0):
            raise WiringError(
                f"{where}: per-edge delays are read from a ring buffer, so none can be 0 ms; "
                "for conduction delays in which 0 means none, give them as lag_ms="
            )
        return None, float(given.max()), None, FrozenArray(given)
    if not np.all(given == np.round(given)):
        raise WiringError(f"{where}: delays in steps must be whole numbers (or use ms=)")
    if np.any(given < 1) or given.max() > INT32_MAX:
        raise WiringError(
            f"{where}: per-edge delays are read from a ring buffer, so each must be 1 step "
            "or more (1 is the source's output of the previous step)"
        )
    steps = given.astype(np.int32)
    return int(steps.max()), None, FrozenArray(steps), None


def _describe(p: Projection) -> str:
    delay = f"{p.delay} steps" if p.delay is not None else f"{p.delay_ms} ms"
    return f"{p.name} [{p.kind.label}, delay {delay}]"
