"""A compiled model: a Connectome frozen into pure ``init``/``step``/``run``.

`build` checks the whole graph, resolves delays to steps and fixes the order
in which regions run within a step: zero-delay projections are followed in
topological order, delayed ones read ring buffers (`brainsim._src.delays`); what
one step does is in `brainsim._src.step`.

The `Network` is a frozen, hashable description: it is the static argument
of the compiled simulation, while params and state are its dynamic
arguments, so new parameter values never recompile.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
import numbers
import warnings
from typing import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from brainsim import params as param_paths
from brainsim._src import external, simulate
from brainsim._src import initial as initial_values
from brainsim._src.frozen import FrozenArray
from brainsim._src.graph import topological_order
from brainsim._src.plan import check_start
from brainsim._src.step import advance
from brainsim._src.validate import check_regions
from brainsim.checks import INT32_MAX
from brainsim.connectome import Connectome
from brainsim.dtypes import param
from brainsim.errors import RunInputError, WiringError
from brainsim.kinds import Endpoints
from brainsim.ports import Port
from brainsim.projection import Projection, init_projection


def build(connectome: Connectome, dt: float = 1.0) -> "Network":
    """Check ``connectome`` and freeze it into a `Network`.

    Args:
      connectome: the regions and projections.
      dt: integration step in ms; the initial value of ``params["dt"]`` and
        the step used to convert delays given in ``ms=``.
    Raises:
      WiringError: a cycle without delay, a required input left unconnected,
        a non-positive or non-finite ``dt``, or a region whose ``init``/``step``
        do not honour the ports it declares.
    """
    if isinstance(dt, bool) or not isinstance(dt, numbers.Real) or not math.isfinite(dt) or dt <= 0:
        raise WiringError(f"dt must be a finite number of ms > 0, got {dt!r}")
    with np.errstate(over="ignore"):
        stored = np.float32(dt)  # params are float32 unless x64
    if not np.finfo(np.float32).tiny <= stored < np.inf:
        raise WiringError(f"dt={dt!r} ms does not fit a float32 param (it would become "
                          f"{float(stored)!r}); pick a dt between 1e-38 and 1e38 ms")
    regions = tuple(connectome.regions.items())
    if not regions:
        raise WiringError("the connectome has no regions; add() some first")
    in_ms = tuple(p.name for p in connectome.projections
                  if p.delay_ms is not None or p.edge_delay_ms is not None or p.kind.at_dt(dt) != p.kind)
    projections = tuple(_resolve_delay(p, dt) for p in connectome.projections)
    projections = tuple(_resolve_plasticity(p, dict(connectome.regions)) for p in projections)
    _check_required_inputs(regions, projections)
    names = [name for name, _ in regions]
    instant = [(p.src, p.dst) for p in projections if p.delay == 0]
    order, cycle = topological_order(names, instant)
    if cycle is not None:
        raise WiringError(_cycle_message(cycle, projections))
    check_regions(regions)
    _check_delay_lines(regions, projections)
    return Network(members=regions, projections=projections, order=tuple(order), dt=float(dt),
                   delays_in_ms=in_ms)


@dataclasses.dataclass(frozen=True, eq=True)
class Network:
    """A built model. Create it with `build`; do not construct it directly.

    Attributes:
      members: ``(name, region)`` pairs in the order they were added (read
        them as the mapping `regions`, as for a `Connectome`).
      projections: projections, with delays in whole steps.
      order: region names in execution order within a step.
      dt: the ``dt`` (ms) given to `build`.
      delays_in_ms: projections whose delays were given in ms and counted in
        steps of ``dt`` (a run with another ``params["dt"]`` is refused).
    """

    members: tuple[tuple[str, object], ...]
    projections: tuple[Projection, ...]
    order: tuple[str, ...]
    dt: float
    delays_in_ms: tuple[str, ...] = ()

    # -- structure ------------------------------------------------------------
    @functools.cached_property
    def _hash(self) -> int:
        return hash((self.members, self.projections, self.order, self.dt))

    def __hash__(self) -> int:
        return self._hash

    @functools.cached_property
    def fingerprint(self) -> str:
        """A digest of the structure, stable across processes (unlike ``hash``)."""
        text = repr((self.members, self.projections, self.order, self.dt))
        return hashlib.sha256(text.encode()).hexdigest()

    @functools.cached_property
    def templates(self):
        """Abstract ``(params, state)`` (shapes and dtypes only) of `init`."""
        return jax.eval_shape(lambda: self.init(jax.random.key(0)))

    @functools.cached_property
    def regions(self) -> Mapping[str, object]:
        """Regions by name, in the order they were added (as `Connectome.regions`)."""
        return dict(self.members)

    @property
    def region(self) -> Mapping[str, object]:
        """Deprecated spelling of `regions`."""
        warnings.warn("Network.region is now Network.regions (a mapping, as Connectome.regions)",
                      DeprecationWarning, stacklevel=2)
        return self.regions

    @functools.cached_property
    def projection(self) -> Mapping[str, Projection]:
        """Projections by name."""
        return {p.name: p for p in self.projections}

    @functools.cached_property
    def input_ports(self) -> Mapping[str, Port]:
        """Every input port, by ``"region.port"`` path."""
        return {f"{n}.{p}": port for n, r in self.members for p, port in r.inputs.items()}

    @functools.cached_property
    def output_ports(self) -> Mapping[str, Port]:
        """Every output port, by ``"region.port"`` path."""
        return {f"{n}.{p}": port for n, r in self.members for p, port in r.outputs.items()}

    @functools.cached_property
    def incoming(self) -> Mapping[str, tuple[Projection, ...]]:
        """Projections into each input port (by path)."""
        into = {path: [] for path in self.input_ports}
        for p in self.projections:
            into[p.target].append(p)
        return {path: tuple(ps) for path, ps in into.items()}

    @functools.cached_property
    def buffer_lengths(self) -> Mapping[str, int]:
        """Ring-buffer length (longest delay read) of each delayed output port."""
        lengths: dict[str, int] = {}
        for p in self.projections:
            if p.delay > 0:
                lengths[p.source] = max(lengths.get(p.source, 0), p.delay)
        return lengths

    @functools.cached_property
    def endpoints(self) -> Mapping[str, Endpoints]:
        """What each projection's kind knows of its two ports, by projection name."""
        return {
            p.name: Endpoints(p.source, p.target, self.output_ports[p.source], self.input_ports[p.target],
                              self.regions[p.src].signs(p.src_port), p.sign, p.scale)
            for p in self.projections
        }

    def __repr__(self):
        return (
            f"Network(regions={list(self.regions)}, "
            f"projections={len(self.projections)}, order={list(self.order)}, dt={self.dt})"
        )

    # -- init -----------------------------------------------------------------
    def init(self, key: jax.Array, overrides: Mapping[str, object] | None = None, *,
             state: Mapping[str, object] | None = None, history: Mapping[str, object] | None = None):
        """Initial ``(params, state)``.

        Args:
          key: a typed PRNG key (``jax.random.key(seed)``); it seeds region
            and weight initialisation and the noise of the whole run.
          overrides: optional ``{"path": value}`` of params, set after
            initialisation, e.g. ``{"a.tau": 20.0, "a->b.weight": w}`` (see
            `brainsim.set`). Regions that build their state from their params
            (``init_state(key, params)``, e.g. a LIF population's ``V`` from
            ``E_L``) build it from the overridden values.
          state: optional ``{"region.leaf": value}`` of initial region state,
            e.g. ``{"a.x": 0.5}`` or ``{"n.V": v0}``; a value is broadcast to
            the leaf's shape.
          history: optional ``{"region.output": value}`` for the delay line of
            an output port that delayed projections read: what the port put
            out before step 0 (default zeros). A value of the port's shape
            fills every past step; an array ``(D, *port_shape)`` gives steps
            ``-D .. -1``, oldest first, ``D`` being the port's longest delay.
        Returns:
          ``params``: ``{"dt": ..., region: {...}, projection name: {...}}``;
          ``state``: ``{"t", "key", "regions", "projections", "delays"}``.
        """
        if not (isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key)):
            raise TypeError(
                f"init needs a typed PRNG key such as jax.random.key(0), got {key!r}"
            )
        if overrides is not None and not isinstance(overrides, Mapping):
            raise RunInputError(
                f"overrides must map parameter paths to values, e.g. {{'a.tau': 20.0}}, got "
                f"{overrides!r} ({type(overrides).__name__})"
            )
        k_regions, k_projections, k_run = jax.random.split(key, 3)
        params: dict = {"dt": param(self.dt)}
        initial: dict = {
            "t": jnp.zeros((), jnp.int32),
            "key": k_run,
            "regions": {},
            "projections": {},
        }
        region_keys = {name: jax.random.fold_in(k_regions, i) for i, name in enumerate(self.regions)}
        for name, region in self.members:
            params[name], initial["regions"][name] = region.init(region_keys[name])
        for index, p in enumerate(self.projections):
            key_p = jax.random.fold_in(k_projections, index)
            params[p.name], initial["projections"][p.name] = init_projection(p, key_p, self.endpoints[p.name])
        for path, value in (overrides or {}).items():
            params = param_paths.set(params, path, value)
        for name, region in self.members:
            if hasattr(region, "init_state"):
                initial["regions"][name] = region.init_state(region_keys[name], params[name])
        initial["regions"] = initial_values.set_region_state(initial["regions"], state)
        initial["delays"] = initial_values.delay_lines(self, history)
        return params, initial

    # -- one step -------------------------------------------------------------
    def step(self, params, state, inputs: Mapping[str, jax.Array] | None = None):
        """Advance the whole network by one step.

        Args:
          params, state: as returned by `init` (or by earlier steps).
          inputs: optional external drive, ``{"region.port": array}`` with the
            port's shape, added to what projections deliver.
        Returns:
          ``(state, signals)``; ``signals`` maps every output port path to its
          value this step, and every input port path to its summed input.
        """
        check_start(self, params, state)
        inputs = external.step_values(self, inputs)
        return advance(self, params, state, inputs)

    def run(self, params, state, steps: int, **kwargs):
        """Simulate ``steps`` steps; see `brainsim._src.simulate.run` for the arguments."""
        return simulate.run(self, params, state, steps, **kwargs)


def _resolve_delay(p: Projection, dt: float) -> Projection:
    """Convert delays given in ms (the projection's and its kind's) to whole steps of ``dt``."""
    p = dataclasses.replace(p, kind=p.kind.at_dt(dt))
    if p.edge_delay_ms is not None:
        steps = np.round(p.edge_delay_ms.array / dt) + 1 if p.lag else np.round(p.edge_delay_ms.array / dt)
        steps = _steps_in_int32(np.maximum(steps, 1), p)
        return dataclasses.replace(p, delay=int(steps.max()), edge_delay=FrozenArray(steps))
    if p.delay is not None:
        return p
    steps = round(p.delay_ms / dt) + (1 if p.lag else 0)
    if p.delay_ms > 0:
        steps = max(steps, 1)  # a real delay shorter than dt/2 is still a delay
    return dataclasses.replace(p, delay=int(_steps_in_int32(np.asarray(steps), p)))


def _steps_in_int32(steps: np.ndarray, p: Projection) -> np.ndarray:
    if np.max(steps) > INT32_MAX:
        raise WiringError(f"{p.name}: a delay of {np.max(steps):.3g} steps is more than int32 counts")
    return steps.astype(np.int32)


def _resolve_plasticity(p: Projection, regions) -> Projection:
    """Check a rule's ports and fill in its default ``post`` port."""
    rule = p.plasticity
    if rule is None:
        return p
    outputs = {f"{n}.{q}": port for n, r in regions.items() for q, port in r.outputs.items()}
    n_dst = regions[p.dst].inputs[p.dst_port].size
    post = rule.post
    if post is None:
        fits = [f"{p.dst}.{q}" for q, port in regions[p.dst].outputs.items() if port.size == n_dst]
        if len(fits) != 1:
            raise WiringError(
                f"{p.name}: cannot tell which output of {p.dst!r} is the postsynaptic activity "
                f"(candidates {fits}); give the rule post='region.port'"
            )
        post = fits[0]
    for role, path in (("post", post), ("modulator", rule.modulator)):
        if path is None:
            continue
        if path not in outputs:
            raise WiringError(
                f"{p.name}: the rule's {role} {path!r} is not an output port; outputs are "
                f"{sorted(outputs)}"
            )
    if outputs[post].size != n_dst:
        raise WiringError(
            f"{p.name}: post {post} has size {outputs[post].size}, the target port {n_dst}"
        )
    if rule.modulator is not None and outputs[rule.modulator].size not in (1, n_dst):
        raise WiringError(
            f"{p.name}: modulator {rule.modulator} must be a scalar or have the target's "
            f"size {n_dst}, got shape {outputs[rule.modulator].shape}"
        )
    return dataclasses.replace(p, plasticity=dataclasses.replace(rule, post=post))


def _check_delay_lines(regions, projections) -> None:
    """Refuse a ring buffer too long to index, before anything is allocated."""
    sizes = {f"{n}.{q}": port.size for n, r in regions for q, port in r.outputs.items()}
    longest: dict[str, int] = {}
    for p in projections:
        longest[p.source] = max(longest.get(p.source, 0), p.delay)
    for source, length in longest.items():
        if length * sizes[source] > INT32_MAX:
            raise WiringError(
                f"the delay line of {source} would hold {length:,} steps x {sizes[source]:,} units "
                f"({length * sizes[source] * 4 / 2**30:.3g} GiB); shorten the delay or coarsen dt"
            )


def _check_required_inputs(regions, projections) -> None:
    driven = {p.target for p in projections}
    for name, region in regions:
        for port_name, port in region.inputs.items():
            path = f"{name}.{port_name}"
            if port.required and path not in driven:
                raise WiringError(
                    f"required input {path} is not connected; connect an output to "
                    f"it, e.g. brain.connect('<region>.<output>', '{path}')"
                )


def _cycle_message(cycle: list[str], projections: tuple[Projection, ...]) -> str:
    hops = []
    for a, b in zip(cycle, cycle[1:]):
        p = next(p for p in projections if p.src == a and p.dst == b and p.delay == 0)
        hops.append(p)
    loop = " -> ".join(cycle)
    names = ", ".join(p.name for p in hops)
    first = hops[-1]
    return (
        f"cycle without delay: {loop} (through {names}); every loop needs at least "
        f"one projection with delay >= 1. Add delay=1 to one of them, e.g. "
        f"brain.connect('{first.source}', '{first.target}', delay=1)"
    )
