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

import math
import numbers
import re
from typing import Mapping

import numpy as np

from brainsim.connectivity import MIN_P
from brainsim.errors import WiringError
from brainsim.ports import Port
from brainsim.projection import KINDS, FrozenArray, Projection

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
        if not isinstance(name, str) or not _NAME.match(name):
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
        kind: str = "dense",
        delay: int | None = None,
        ms: float | None = None,
        fan_in: int | None = None,
        scale: float = 1.0,
        sign: int | None = None,
        weight=None,
        plasticity=None,
        p: float | None = None,
        shared_weight: bool = False,
        spike_slots: int | None = None,
        synapse_delay: tuple[int, int] | None = None,
        synapse_delay_ms: tuple[float, float] | None = None,
    ) -> Projection:
        """Project output port ``source`` ("region.port") onto input ``target``.

        Args:
          source: ``"region.output_port"``.
          target: ``"region.input_port"``.
          kind: ``"dense"``, ``"sparse"``, ``"one_to_one"``, ``"matrix"``,
            ``"identity"`` or ``"event"`` (see `brainsim.projection`).
          delay: delay in steps (int ``>= 0``); default 0. For ``"dense"`` and
            ``"matrix"`` projections, also a ``(n_src, n_dst)`` matrix of
            per-edge delays (each at least one step).
          ms: delay in ms instead (a number or a per-edge matrix), rounded
            to whole steps of the build ``dt``; a positive delay is at least
            one step.
          fan_in: inputs per target unit, for ``kind="sparse"``.
          scale: scale of the initial weights.
          sign: ``+1`` or ``-1`` to constrain every weight's sign.
          weight: initial weight matrix ``(n_src, n_dst)``; implies
            ``kind="matrix"``.
          plasticity: a local learning rule (`brainsim.plasticity`) that
            updates this projection's weights every step.
          p: connection probability of each (pre, post) pair, for
            ``kind="event"`` (event-driven spiking projections).
          shared_weight: ``kind="event"`` only: one weight for all synapses.
          spike_slots: ``kind="event"`` only: spikes delivered per chunk.
          synapse_delay: ``kind="event"`` only: ``(lo, hi)``, each synapse's
            delay drawn uniformly from ``lo..hi`` steps (``lo >= 1``).
          synapse_delay_ms: the same in ms, rounded to whole steps (at least 1).
        Returns:
          the new `Projection`; its ``name`` is its key in params and state.
        """
        src, src_port = self._resolve(source, "outputs", "source")
        dst, dst_port = self._resolve(target, "inputs", "target")
        src_shape = self._regions[src].outputs[src_port].shape
        dst_shape = self._regions[dst].inputs[dst_port].shape
        if weight is not None:
            if kind not in ("dense", "matrix"):
                raise WiringError(f"weight= goes with kind='matrix', not kind={kind!r}")
            kind = "matrix"
        if kind not in KINDS:
            raise WiringError(f"unknown projection kind {kind!r}; choose from {KINDS}")
        matrix = _check_shapes(kind, source, src_shape, target, dst_shape, fan_in, weight)
        event = dict(p=p, shared_weight=shared_weight, spike_slots=spike_slots,
                     synapse_delay=synapse_delay, synapse_delay_ms=synapse_delay_ms)
        event = _check_event(kind, event, delay, ms, source, target)
        if event.get("synapse_delay") or event.get("synapse_delay_ms"):
            delay = 1  # the spikes of the last step; each synapse then adds its own wait
        if np.ndim(delay) or np.ndim(ms):
            steps, delay_ms, edge_steps, edge_ms = _check_edge_delays(
                delay, ms, kind, source, target, (int(np.prod(src_shape)), int(np.prod(dst_shape)))
            )
        else:
            (steps, delay_ms), edge_steps, edge_ms = _check_delay(delay, ms, source, target), None, None
        if sign not in (None, 1, -1):
            raise WiringError(f"sign must be +1, -1 or None, got {sign!r}")
        if sign is not None and self._regions[src].signs(src_port) is not None:
            raise WiringError(
                f"{source} already has Dale signs per unit; sign={sign} would conflict"
            )
        if kind == "identity" and sign is not None:
            raise WiringError("an identity projection has no weights to constrain with sign=")
        if kind == "identity" and self._regions[src].signs(src_port) is not None:
            raise WiringError(
                f"{source} has Dale signs, which an identity projection would ignore; use "
                "kind='one_to_one' (it keeps each unit's sign)"
            )
        if not (isinstance(scale, numbers.Real) and math.isfinite(scale)):
            raise WiringError(f"scale must be a finite number, got {scale!r}")
        if plasticity is not None:
            _check_plasticity(plasticity, kind, edge_steps is not None or edge_ms is not None,
                              source, target)
        proj = Projection(
            src, src_port, dst, dst_port, kind=kind, delay=steps, delay_ms=delay_ms,
            fan_in=fan_in, scale=float(scale), sign=sign, matrix=matrix,
            edge_delay=edge_steps, edge_delay_ms=edge_ms, plasticity=plasticity, **event,
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
                f"region {region_name!r} has no {side[:-1]} port {port!r}{hint}; "
                f"its {side} are: {sorted(ports)}"
            )
        return region_name, port


def _check_plasticity(rule, kind, per_edge, source, target) -> None:
    from brainsim.plasticity import RULES  # the rules know nothing of connectomes

    if not isinstance(rule, RULES):
        raise WiringError(
            f"{source} -> {target}: plasticity must be one of "
            f"{[r.__name__ for r in RULES]} from brainsim.plasticity, got {rule!r}"
        )
    if kind not in ("dense", "matrix") or per_edge:
        raise WiringError(
            f"{source} -> {target}: plasticity needs a dense or matrix projection without "
            f"per-edge delays (got kind={kind!r})"
        )


def _check_event(kind, event, delay, ms, source, target) -> dict:
    """Validate the arguments of an event-driven projection; return the fields to set."""
    given = {k: v for k, v in event.items() if v is not None and v is not False}
    if kind != "event":
        if given:
            raise WiringError(f"{source} -> {target}: {sorted(given)} go with kind='event', not {kind!r}")
        return {}
    p = event["p"]
    if not (isinstance(p, numbers.Real) and MIN_P <= p <= 1.0):
        raise WiringError(f"{source} -> {target}: kind='event' needs a connection probability "
                          f"p in [{MIN_P:g}, 1], got p={p!r}")
    slots = event["spike_slots"]
    if slots is not None and (not isinstance(slots, numbers.Integral) or slots < 1):
        raise WiringError(f"{source} -> {target}: spike_slots must be an int >= 1, got {slots!r}")
    fields = {"p": float(p), "shared_weight": bool(event["shared_weight"]), "spike_slots": slots}
    steps, in_ms = event["synapse_delay"], event["synapse_delay_ms"]
    if steps is not None and in_ms is not None:
        raise WiringError(f"{source} -> {target}: give synapse_delay= (steps) or synapse_delay_ms=, "
                          "not both")
    for name, bounds, minimum in (("synapse_delay", steps, 1), ("synapse_delay_ms", in_ms, 0)):
        if bounds is None:
            continue
        if delay is not None or ms is not None:
            raise WiringError(f"{source} -> {target}: {name}= sets each synapse's whole delay; "
                              "drop delay=/ms=")
        ok = (isinstance(bounds, tuple) and len(bounds) == 2
              and all(isinstance(b, numbers.Real) and math.isfinite(b) for b in bounds)
              and minimum <= bounds[0] <= bounds[1])
        if name == "synapse_delay" and ok:
            ok = all(float(b).is_integer() for b in bounds)
        if not ok:
            raise WiringError(f"{source} -> {target}: {name} must be a tuple (lo, hi) with "
                              f"{minimum} <= lo <= hi{' in whole steps' if minimum else ''}, got {bounds!r}")
        fields[name] = tuple(int(b) if name == "synapse_delay" else float(b) for b in bounds)
    return fields


def _check_region(name: str, region) -> None:
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
    both = set(region.inputs) & set(region.outputs)
    if both:
        raise WiringError(f"region {name!r}: ports {sorted(both)} are both inputs and outputs")
    for side in ("inputs", "outputs"):
        for port_name, port in getattr(region, side).items():
            if not isinstance(port, Port):
                raise WiringError(f"{name}.{port_name} must be a brainsim.Port, got {port!r}")


def _check_delay(delay, ms, source, target):
    if delay is not None and ms is not None:
        raise WiringError(f"{source} -> {target}: give delay= (steps) or ms=, not both")
    if ms is not None:
        if not (isinstance(ms, numbers.Real) and math.isfinite(ms) and ms >= 0):
            raise WiringError(f"{source} -> {target}: ms must be finite and >= 0, got {ms!r}")
        return None, float(ms)
    delay = 0 if delay is None else delay
    whole_float = isinstance(delay, numbers.Real) and not isinstance(delay, numbers.Integral)
    if whole_float and float(delay).is_integer():
        delay = int(delay)
    if not isinstance(delay, numbers.Integral) or isinstance(delay, bool) or delay < 0:
        raise WiringError(
            f"{source} -> {target}: delay must be a whole number of steps >= 0, "
            f"got {delay!r} (use ms= for a delay in milliseconds)"
        )
    return int(delay), None


def _check_edge_delays(delay, ms, kind, source, target, shape):
    """Validate a per-edge delay matrix; return ``(delay, delay_ms, edge, edge_ms)``."""
    if delay is not None and ms is not None:
        raise WiringError(f"{source} -> {target}: give delay= (steps) or ms=, not both")
    if kind not in ("dense", "matrix"):
        raise WiringError(f"{source} -> {target}: per-edge delays need kind='dense' or 'matrix'")
    given = np.asarray(delay if delay is not None else ms, dtype=np.float64)
    if given.shape != shape:
        raise WiringError(
            f"shape mismatch: per-edge delays for {source} -> {target} must have shape "
            f"{shape}, got {given.shape}"
        )
    if not np.all(np.isfinite(given)) or np.any(given < 0):
        raise WiringError(f"{source} -> {target}: per-edge delays must be finite and >= 0")
    if ms is not None:
        return None, float(given.max()), None, FrozenArray(given)
    if not np.all(given == np.round(given)):
        raise WiringError(f"{source} -> {target}: delays in steps must be whole numbers (or use ms=)")
    steps = np.maximum(given, 1).astype(np.int32)
    return int(steps.max()), None, FrozenArray(steps), None


def _check_shapes(kind, source, src_shape, target, dst_shape, fan_in, weight):
    n_src, n_dst = int(np.prod(src_shape)), int(np.prod(dst_shape))
    if kind in ("one_to_one", "identity") and src_shape != dst_shape:
        raise WiringError(
            f"shape mismatch: a {kind} projection needs equal shapes, but "
            f"{source} has shape {src_shape} and {target} has shape {dst_shape}"
        )
    if kind == "sparse":
        if not isinstance(fan_in, (int, np.integer)) or not 1 <= fan_in <= n_src:
            raise WiringError(
                f"{source} -> {target}: a sparse projection needs an int fan_in "
                f"between 1 and the source size {n_src}, got {fan_in!r}"
            )
    elif fan_in is not None:
        raise WiringError(f"fan_in= goes with kind='sparse', not kind={kind!r}")
    if kind == "matrix":
        if weight is None:
            raise WiringError(f"{source} -> {target}: kind='matrix' needs weight=")
        weight = np.asarray(weight)
        if weight.shape != (n_src, n_dst):
            raise WiringError(
                f"shape mismatch: weight for {source} (size {n_src}) -> {target} "
                f"(size {n_dst}) must have shape {(n_src, n_dst)}, got {weight.shape}"
            )
        if not np.all(np.isfinite(weight)):
            raise WiringError(f"{source} -> {target}: weight holds NaN or inf")
        return FrozenArray(weight.astype(np.float64))
    return None


def _describe(p: Projection) -> str:
    delay = f"{p.delay} steps" if p.delay is not None else f"{p.delay_ms} ms"
    return f"{p.name} [{p.kind}, delay {delay}]"
