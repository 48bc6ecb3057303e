"""External inputs of a run: arrays ``[T, *port_shape]`` or functions of ``t``.

An array supplies one value per step of the run. A function is called
inside the compiled loop with the absolute step index ``t`` (an int32
scalar) and must return an array of the port's shape; it is part of the
compiled program, so pass the same function object to reuse a compilation
(a fresh ``lambda`` per call compiles anew).

Drives are real numbers: bool, int and float arrays (numpy or JAX, any
precision) are accepted and cast to the network's float dtype; strings,
``None``, objects, complex numbers and dates are refused, so that nothing
is cast silently (a complex drive would lose its imaginary part).
"""

from __future__ import annotations

from typing import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from brainsim.dtypes import float_dtype
from brainsim.errors import RunInputError


def split(net, inputs: Mapping | None, steps: int):
    """Check ``inputs`` against ``net``; return ``(arrays, functions)``.

    ``arrays`` maps port paths to float arrays ``[steps, *shape]``;
    ``functions`` is a hashable tuple of ``(path, fn)`` pairs.
    """
    arrays, functions = {}, []
    for path, value in _items(net, inputs):
        shape = net.input_ports[path].shape
        if callable(value):
            _check_function(path, value, shape)
            functions.append((path, value))
            continue
        value = _as_array(path, value)
        if tuple(value.shape) != (steps, *shape):
            raise RunInputError(
                f"input for {path} has shape {tuple(value.shape)}, expected "
                f"(steps, *port_shape) = {(steps, *shape)}"
            )
        arrays[path] = value
    return arrays, tuple(functions)


def step_values(net, inputs: Mapping | None) -> dict:
    """Check the drive of one `Network.step` (one array of the port's shape per port),
    with the messages of a run; return it in the network's float dtype."""
    values = {}
    for path, value in _items(net, inputs):
        shape = net.input_ports[path].shape
        if callable(value):
            raise RunInputError(f"Network.step takes arrays; the function for {path} goes to run()")
        value = _as_array(path, value)
        if tuple(value.shape) != shape:
            raise RunInputError(
                f"input for {path} has shape {tuple(value.shape)}, but the port has shape {shape}"
            )
        values[path] = jnp.asarray(value, float_dtype())
    return values


def _items(net, inputs):
    """``inputs.items()``, checked to be a mapping over the network's input ports."""
    if inputs is None:
        return []
    if not isinstance(inputs, Mapping):
        raise RunInputError(
            f"inputs must be a dict {{'region.port': array or fn(t)}} over the input ports "
            f"{sorted(net.input_ports)}, got a {type(inputs).__name__}"
        )
    for path in inputs:
        if path not in net.input_ports:
            hint = " (that is an output port)" if path in net.output_ports else ""
            raise RunInputError(
                f"cannot drive {path!r}{hint}: inputs go to input ports, which are "
                f"{sorted(net.input_ports)}"
            )
    return list(inputs.items())


def cast(arrays: Mapping) -> dict:
    """Arrays in the default float dtype (strict promotion forbids mixing)."""
    return {path: jnp.asarray(value, float_dtype()) for path, value in arrays.items()}


def dtype_of(value):
    """The dtype ``value`` has (or would have as an array), or None if it is not array-like."""
    if hasattr(value, "dtype"):
        return value.dtype
    try:
        return np.asarray(value).dtype
    except (TypeError, ValueError, OverflowError):  # ragged, or tracers in a list
        try:
            return jnp.asarray(value).dtype
        except (TypeError, ValueError, OverflowError):
            return None


def is_real(dtype) -> bool:
    """Whether ``dtype`` holds real numbers: bool, int or float (not complex, dates, text)."""
    if dtype is None:
        return False
    return dtype == np.bool_ or jnp.issubdtype(dtype, jnp.integer) or jnp.issubdtype(dtype, jnp.floating)


def overflows(value, cast) -> bool:
    """Whether some finite number of ``value`` became inf in ``cast`` (``value`` cast to a
    narrower float, e.g. 1e300 to float32); traced values are not checked."""
    if isinstance(value, jax.core.Tracer) or isinstance(cast, jax.core.Tracer):
        return False
    if not jnp.issubdtype(cast.dtype, jnp.inexact) or bool(jnp.all(jnp.isfinite(cast))):
        return False
    given = np.asarray(value)
    if given.dtype == np.bool_ or np.issubdtype(given.dtype, np.integer):
        return True
    return bool(np.any(np.isfinite(given) & ~np.isfinite(np.asarray(cast))))


def _as_array(path, value):
    """``value`` as an array of real numbers, or a RunInputError naming ``path``."""
    if not is_real(dtype_of(value)):
        raise RunInputError(
            f"input for {path} must be an array of real numbers (or a function of t), "
            f"got {describe(value)}"
        )
    if hasattr(value, "shape"):
        return value
    try:  # on the host: jnp.asarray would overflow on ints beyond int32 (without x64)
        return np.asarray(value)
    except (TypeError, ValueError):  # tracers in a list
        return jnp.asarray(value)


def _check_function(path, fn, shape) -> None:
    try:
        out = jax.eval_shape(fn, jax.ShapeDtypeStruct((), jnp.int32))
    except Exception as err:
        raise RunInputError(f"input function for {path} failed on a step index: {err}") from err
    if not isinstance(out, jax.ShapeDtypeStruct):
        raise RunInputError(
            f"input function for {path} must return one array of shape {shape}, "
            f"got {describe(out)}"
        )
    if not is_real(out.dtype):
        raise RunInputError(
            f"input function for {path} returns dtype {out.dtype}; return real numbers "
            "(bool, int or float)"
        )
    if tuple(out.shape) != shape:
        raise RunInputError(
            f"input function for {path} returns shape {tuple(out.shape)}, "
            f"but the port has shape {shape}"
        )


def describe(value) -> str:
    """A short description of a bad value: its type, and its dtype and shape for an array."""
    if hasattr(value, "dtype") and hasattr(value, "shape"):
        if not isinstance(value, jax.core.Tracer) and np.size(value) <= 4:
            return f"{np.asarray(value).tolist()!r} (dtype {value.dtype})"
        return f"an array of dtype {value.dtype} and shape {tuple(value.shape)}"
    if isinstance(value, (list, tuple)):
        dtype = dtype_of(value)
        return f"a {type(value).__name__}" + (f" (dtype {dtype})" if dtype not in (None, np.object_) else "")
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}... ({type(value).__name__})"
