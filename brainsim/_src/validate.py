"""Build-time checks that a region honours the ports it declares.

Each region's ``init`` and ``step`` are traced abstractly (`jax.eval_shape`,
no computation) with zero inputs of the declared shapes, so a region that
returns the wrong outputs or changes the structure of its state is reported
by name at build time instead of deep inside an XLA trace.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from brainsim._src.trees import describe, difference
from brainsim.dtypes import float_dtype
from brainsim.errors import RunInputError, WiringError
from brainsim.region import StepContext


def check_regions(regions) -> None:
    """Raise `WiringError` for the first region whose init/step break its contract."""
    key = jax.ShapeDtypeStruct((), jax.random.key(0).dtype)
    for name, region in regions:
        label = f"region {name!r} ({type(region).__name__})"
        try:
            params, state = jax.eval_shape(region.init, key)
        except Exception as err:  # a region's own bug: say whose it is
            raise WiringError(f"{label}: init(key) failed: {err}") from err
        inputs = {
            port_name: jax.ShapeDtypeStruct(port.shape, float_dtype())
            for port_name, port in region.inputs.items()
        }
        ctx = StepContext(
            t=jax.ShapeDtypeStruct((), jnp.int32),
            dt=jax.ShapeDtypeStruct((), float_dtype()),
            key=key,
        )
        try:
            new_state, outputs = jax.eval_shape(region.step, params, state, inputs, ctx)
        except Exception as err:
            raise WiringError(
                f"{label}: step() failed on zero inputs of the declared shapes "
                f"{ {k: v.shape for k, v in inputs.items()} }: {err}"
            ) from err
        _check_outputs(label, region, outputs)
        _check_state(label, state, new_state)


def _check_outputs(label, region, outputs) -> None:
    declared = region.outputs
    if not isinstance(outputs, dict) or set(outputs) != set(declared):
        got = sorted(outputs) if isinstance(outputs, dict) else type(outputs).__name__
        raise WiringError(
            f"{label}: step() must return one output per declared port "
            f"{sorted(declared)}, returned {got}"
        )
    for port_name, port in declared.items():
        if tuple(outputs[port_name].shape) != port.shape:
            raise WiringError(
                f"{label}: output {port_name!r} has shape {tuple(outputs[port_name].shape)} "
                f"but its Port declares {port.shape}"
            )


def _check_state(label, before, after) -> None:
    def describe(tree):
        return jax.tree_util.tree_map(lambda x: (tuple(x.shape), str(x.dtype)), tree)

    if jax.tree_util.tree_structure(before) != jax.tree_util.tree_structure(after) or (
        describe(before) != describe(after)
    ):
        raise WiringError(
            f"{label}: step() must return state with the same structure, shapes and "
            f"dtypes as init(); init gave {describe(before)}, step gave {describe(after)}"
        )


def check_fits(net, params, state) -> None:
    """Raise `RunInputError` unless params and state have the network's structure.

    Shapes and tree structure are compared (dtypes may differ with x64), so
    a state from another network, or params missing an entry, is reported
    by path instead of failing deep inside the compiled loop.
    """
    params_template, state_template = net.templates
    for name, given, template in (("params", params, params_template),
                                  ("state", state, state_template)):
        found, expected = describe(given, dtypes=False), describe(template, dtypes=False)
        if found != expected:
            raise RunInputError(
                f"{name} do not fit this network ({net!r}): "
                + difference(found, expected, f"given {name}", "network")
            )
