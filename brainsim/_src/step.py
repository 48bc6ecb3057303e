"""One step of a whole network: the body of the simulation loop.

For each region in execution order (zero-delay projections followed in
topological order):

1. sum, per input port, the external drive and every projection into it,
   reading this step's output for delay 0 and the ring buffer otherwise
   (event projections also advance their own ring of arrivals);
2. call the region's ``step`` with its params, state, those inputs and a
   `StepContext` whose key is ``fold_in(fold_in(run_key, t), region_index)``;

then apply the plasticity rules of plastic projections (`brainsim.plasticity`),
write this step's outputs into the ring buffers and advance ``t``.

Two options serve the online credit rules (`brainsim.credit`) and change no
value: ``isolate=True`` stops derivatives at every presynaptic read (between
regions, and within a region through `brainsim.region.presynaptic`), so that
derivatives of the step see each unit alone; ``nudge={path: delta}`` adds
``delta`` to an output port right after its region steps, a point at which
to take the derivative of what follows with respect to that port.
"""

from __future__ import annotations

from typing import Mapping

import jax
import jax.numpy as jnp

from brainsim._src import delays as delay_lines
from brainsim.dtypes import float_dtype
from brainsim.region import StepContext


def advance(net, params, state, external: Mapping[str, jax.Array], *, isolate: bool = False,
            nudge: Mapping[str, jax.Array] | None = None):
    """One step of ``net`` (the body of the simulation loop); see `Network.step` and the module
    docstring for ``isolate`` and ``nudge``."""
    t, dt = state["t"], params["dt"]
    step_key = jax.random.fold_in(state["key"], t)
    key_index = {name: i for i, name in enumerate(net.regions)}
    signals: dict[str, jax.Array] = {}
    presynaptic = {}  # what each plastic projection delivered this step
    new_projections = dict(state["projections"])
    new_regions = {}
    for name in net.order:
        region = net.regions[name]
        port_inputs = {}
        for port_name, port in region.inputs.items():
            path = f"{name}.{port_name}"
            total = external.get(path)
            for p in net.incoming[path]:
                pre = None if p.edge_delay is not None else _presynaptic(net, p, state, signals, t)
                if isolate and pre is not None:
                    pre = jax.lax.stop_gradient(pre)
                y, new_projections[p.name] = _deliver(net, p, params, state, pre, t, dt)
                if p.plasticity is not None:
                    presynaptic[p.name] = pre.reshape(-1)
                total = y if total is None else total + y
            if total is None:
                total = jnp.full(port.shape, port.default, float_dtype())
            port_inputs[port_name] = total
            signals[path] = port_inputs[port_name]
        ctx = StepContext(t=t, dt=dt, key=jax.random.fold_in(step_key, key_index[name]), isolate=isolate)
        new_regions[name], outputs = region.step(params[name], state["regions"][name], port_inputs, ctx)
        for port_name, value in outputs.items():
            path = f"{name}.{port_name}"
            signals[path] = value if not nudge or path not in nudge else value + nudge[path]
    new_delays = {
        source: delay_lines.write(buffer, signals[source], net.buffer_lengths[source], t)
        for source, buffer in state["delays"].items()
    }
    for name, x in presynaptic.items():
        new_projections[name] = _learn(net.projection[name], params[name], new_projections[name],
                                       x, signals, dt)
    new_state = {**state, "t": t + 1, "regions": new_regions, "delays": new_delays,
                 "projections": new_projections}
    return new_state, signals


def _presynaptic(net, p, state, signals, t):
    """What projection ``p`` reads from its source this step (``delay`` steps late)."""
    if p.delay == 0:
        return signals[p.source]
    return delay_lines.read(state["delays"][p.source], p.delay, net.buffer_lengths[p.source], t)


def _deliver(net, p, params, state, pre, t, dt):
    """``(y, state)`` of projection ``p``: its kind applied to the delayed source ``pre``
    (read here, one value per synapse, when the projection has per-edge delays)."""
    kind_state = state["projections"][p.name]
    kind_params = params[p.name]
    if p.plasticity is not None:  # the rule trains the weights, so they live in state
        kind_params = {**kind_params, "weight": kind_state["weight"]}
    ends = net.endpoints[p.name]
    if p.edge_delay is not None:
        pre = delay_lines.read_per_edge(state["delays"][p.source], p.edge_delay.array,
                                        net.buffer_lengths[p.source], t)
        return p.kind.apply_edges(kind_params, kind_state, pre, ends, t, dt)
    return p.kind.apply(kind_params, kind_state, pre, ends, t, dt)


def _learn(p, params, state, x, signals, dt):
    """Apply a projection's plasticity rule to its weights after the step."""
    rule = p.plasticity
    y = signals[rule.post].reshape(-1)
    m = None if rule.modulator is None else signals[rule.modulator]
    if m is not None:  # a scalar, or one value per postsynaptic unit (a row to broadcast)
        m = m.reshape(()) if m.size == 1 else m.reshape(1, -1)
    weight, rule_state = rule.update(params, state["rule"], state["weight"], x, y, m, dt)
    return {**state, "weight": weight, "rule": rule_state}
