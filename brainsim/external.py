"""External inputs of a run: arrays ``[T, *port_shape]`` or functions of ``t``.

An array supplies one value per step of the run. A function is called
inside the compiled loop with the absolute step index ``t`` (an int32
scalar) and must return an array of the port's shape; it is part of the
compiled program, so pass the same function object to reuse a compilation
(a fresh ``lambda`` per call compiles anew).
"""

from __future__ import annotations

from typing import Mapping

import jax
import jax.numpy as jnp

from brainsim.dtypes import float_dtype
from brainsim.errors import RunInputError


def split(net, inputs: Mapping | None, steps: int):
    """Check ``inputs`` against ``net``; return ``(arrays, functions)``.

    ``arrays`` maps port paths to float arrays ``[steps, *shape]``;
    ``functions`` is a hashable tuple of ``(path, fn)`` pairs.
    """
    arrays, functions = {}, []
    for path, value in (inputs or {}).items():
        if path not in net.input_ports:
            hint = " (that is an output port)" if path in net.output_ports else ""
            raise RunInputError(
                f"cannot drive {path!r}{hint}: inputs go to input ports, which are "
                f"{sorted(net.input_ports)}"
            )
        shape = net.input_ports[path].shape
        if callable(value):
            _check_function(path, value, shape)
            functions.append((path, value))
            continue
        if not hasattr(value, "shape"):
            value = jnp.asarray(value)
        if tuple(value.shape) != (steps, *shape):
            raise RunInputError(
                f"input for {path} has shape {tuple(value.shape)}, expected "
                f"(steps, *port_shape) = {(steps, *shape)}"
            )
        arrays[path] = value
    return arrays, tuple(functions)


def cast(arrays: Mapping) -> dict:
    """Arrays in the default float dtype (strict promotion forbids mixing)."""
    return {path: jnp.asarray(value, float_dtype()) for path, value in arrays.items()}


def _check_function(path, fn, shape) -> None:
    try:
        out = jax.eval_shape(fn, jax.ShapeDtypeStruct((), jnp.int32))
    except Exception as err:
        raise RunInputError(f"input function for {path} failed on a step index: {err}") from err
    if tuple(getattr(out, "shape", ())) != shape:
        raise RunInputError(
            f"input function for {path} returns shape {tuple(getattr(out, 'shape', ()))}, "
            f"but the port has shape {shape}"
        )
