"""One step of a whole network: the body of the simulation loop.

For each region in execution order (zero-delay projections followed in
topological order):

1. sum, per input port, the external drive and every projection into it,
   reading this step's output for delay 0 and the ring buffer otherwise;
2. call the region's ``step`` with its params, state, those inputs and a
   `StepContext` whose key is ``fold_in(fold_in(run_key, t), region_index)``;

then write this step's outputs into the ring buffers and advance ``t``.
"""

from __future__ import annotations

from typing import Mapping

import jax
import jax.numpy as jnp

from brainsim import delays as delay_lines
from brainsim.dtypes import float_dtype
from brainsim.projection import apply_edge_delayed, apply_projection
from brainsim.region import StepContext


def advance(net, params, state, external: Mapping[str, jax.Array]):
    """One step of ``net`` (the body of the simulation loop); see `Network.step`."""
    t, dt = state["t"], params["dt"]
    step_key = jax.random.fold_in(state["key"], t)
    key_index = {name: i for i, (name, _) in enumerate(net.regions)}
    signals: dict[str, jax.Array] = {}
    new_regions = {}
    for name in net.order:
        region = net.region[name]
        port_inputs = {}
        for port_name, port in region.inputs.items():
            path = f"{name}.{port_name}"
            total = external.get(path)
            for p in net.incoming[path]:
                if p.edge_delay is not None:
                    length = net.buffer_lengths[p.source]
                    pre = delay_lines.read_per_edge(
                        state["delays"][p.source], p.edge_delay.array, length, t
                    )
                    y = apply_edge_delayed(params[p.name], pre, port.shape, net.signs[p.name])
                else:
                    if p.delay == 0:
                        pre = signals[p.source]
                    else:
                        length = net.buffer_lengths[p.source]
                        pre = delay_lines.read(state["delays"][p.source], p.delay, length, t)
                    y = apply_projection(
                        p, params[p.name], state["projections"][p.name], pre, port.shape,
                        net.signs[p.name],
                    )
                total = y if total is None else total + y
            if total is None:
                total = jnp.full(port.shape, port.default, float_dtype())
            port_inputs[port_name] = total
            signals[path] = port_inputs[port_name]
        ctx = StepContext(t=t, dt=dt, key=jax.random.fold_in(step_key, key_index[name]))
        new_regions[name], outputs = region.step(params[name], state["regions"][name], port_inputs, ctx)
        for port_name, value in outputs.items():
            signals[f"{name}.{port_name}"] = value
    new_delays = {
        source: delay_lines.write(buffer, signals[source], net.buffer_lengths[source], t)
        for source, buffer in state["delays"].items()
    }
    new_state = {**state, "t": t + 1, "regions": new_regions, "delays": new_delays}
    return new_state, signals
