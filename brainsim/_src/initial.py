"""Setting where a run starts: region state by path, and the past of delay lines.

    params, state = net.init(key, state={"a.x": 0.5}, history={"a.rate": r0})

A region's state leaf is named ``"region.leaf"`` (nested leaves with more
dots). The history of an output port is what it put out before step 0, which
is what delayed projections read during the first steps; without it a delay
line reads zeros. See `brainsim._src.delays` for the ring-buffer layout.
"""

from __future__ import annotations

from typing import Mapping

import jax.numpy as jnp
import numpy as np

from brainsim._src import delays
from brainsim._src.external import describe, overflows
from brainsim.dtypes import float_dtype
from brainsim.errors import RunInputError


def set_region_state(regions: dict, values: Mapping[str, object] | None) -> dict:
    """``regions`` (``state["regions"]``) with the leaves named in ``values`` replaced."""
    if values is None:
        return regions
    if not isinstance(values, Mapping):
        raise RunInputError(f"state= must map 'region.leaf' paths to values, got {type(values).__name__}")
    regions = dict(regions)
    for path, value in values.items():
        keys = path.split(".") if isinstance(path, str) else []
        if len(keys) < 2 or keys[0] not in regions:
            raise RunInputError(f"state= path {path!r} must be 'region.leaf'; regions are {sorted(regions)}")
        regions[keys[0]] = _replace(regions[keys[0]], keys[1:], value, path)
    return regions


def _replace(node, keys, value, path):
    if not isinstance(node, dict) or keys[0] not in node:
        found = sorted(node) if isinstance(node, dict) else []
        raise RunInputError(f"state= path {path!r}: no {keys[0]!r} there (found {found})")
    if len(keys) > 1:
        return {**node, keys[0]: _replace(node[keys[0]], keys[1:], value, path)}
    old = node[keys[0]]
    return {**node, keys[0]: _fit(value, old.shape, old.dtype, f"state= {path!r}")}


def _fit(value, shape, dtype, where):
    """``value`` as an array of ``shape`` and ``dtype``, or a clear error."""
    array = np.asarray(value) if not hasattr(value, "shape") else value
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool) or np.iscomplexobj(array):
        raise RunInputError(f"{where}: needs real numbers, got {value!r}")
    cast = jnp.asarray(array, dtype)
    if overflows(array, cast):
        raise RunInputError(f"{where}: {describe(value)} overflows {jnp.dtype(dtype)} to inf")
    try:
        return jnp.broadcast_to(cast, shape)
    except ValueError:
        raise RunInputError(f"{where}: a value of shape {np.shape(array)} does not fit shape {shape}") from None


def delay_lines(net, history: Mapping[str, object] | None) -> dict:
    """The initial ring buffer of every delayed output port, zeros unless ``history`` says."""
    history = {} if history is None else history
    if not isinstance(history, Mapping):
        raise RunInputError(f"history= must map output ports to values, got {type(history).__name__}")
    unknown = sorted(set(history) - set(net.buffer_lengths))
    if unknown:
        raise RunInputError(
            f"history= names {unknown}, which no delayed projection reads; ports with delay lines "
            f"are {sorted(net.buffer_lengths)}"
        )
    lines = {}
    for source, length in net.buffer_lengths.items():
        shape = net.output_ports[source].shape
        buffer = delays.init_buffer(shape, length, float_dtype())
        if source in history:
            value = history[source]
            full = np.ndim(value) == len(shape) + 1
            value = _fit(value, (length, *shape) if full else shape, float_dtype(), f"history= {source!r}")
            buffer = jnp.broadcast_to(value, (length, *shape)).reshape(buffer.shape)
        lines[source] = buffer
    return lines
