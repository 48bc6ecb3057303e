"""What a run records: ports, decimation and reductions, declared as data.

``record=["a.rate", "b.input"]`` names output ports (their value) or input
ports (their summed input). ``every=k`` keeps one step in ``k`` (the last of
each block of ``k``). ``reduce`` shrinks each recorded array per step:
``"mean"``, ``"sum"``, ``"max"``, ``"min"`` over all units, or any function
of the port's array; give one reducer for all ports or a dict by port.
Nothing that was not asked for is kept, and records are time-major:
``trace["a.rate"]`` has shape ``(steps // every, *port_shape)``.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Mapping

import jax
import jax.numpy as jnp

from brainsim.checks import check_int
from brainsim.dtypes import float_dtype
from brainsim.errors import RunInputError

REDUCERS: dict[str, Callable] = {
    "mean": jnp.mean,
    "sum": jnp.sum,
    "max": jnp.max,
    "min": jnp.min,
}


@dataclasses.dataclass(frozen=True)
class Recording:
    """A validated, hashable record plan: ``(path, reducer)`` pairs and a stride."""

    entries: tuple[tuple[str, str | Callable | None], ...]
    every: int

    def collect(self, signals: Mapping) -> dict:
        """The recorded values of one step, from all of that step's signals."""
        out = {}
        for path, reducer in self.entries:
            value = signals[path]
            if reducer is not None:
                value = (REDUCERS[reducer] if isinstance(reducer, str) else reducer)(value)
            out[path] = value
        return out


def plan(net, record, every: int, reduce) -> Recording:
    """Check the record arguments of a run against ``net``; return a `Recording`."""
    check_int("run", "every", every, error=RunInputError)
    record = _paths(record)
    known = {**net.input_ports, **net.output_ports}
    for path in record:
        if path not in known:
            raise RunInputError(
                f"cannot record {path!r}: no such port. Recordable ports are "
                f"outputs {sorted(net.output_ports)} and inputs {sorted(net.input_ports)}"
            )
    if len(set(record)) != len(record):
        raise RunInputError(f"record names a port twice: {record}")
    reducers = _reducers(record, reduce)
    for path, reducer in reducers.items():
        if callable(reducer):
            _check_reducer(path, reducer, known[path].shape)
    return Recording(tuple((path, reducers[path]) for path in record), int(every))


def _check_reducer(path: str, reducer, shape) -> None:
    """Trace a reduce function abstractly on the port's array: it must return one real array."""
    from brainsim._src.external import describe, is_real  # external is a sibling, not a parent

    try:
        out = jax.eval_shape(reducer, jax.ShapeDtypeStruct(shape, float_dtype()))
    except Exception as err:
        raise RunInputError(f"reduce function for {path} failed on an array of shape {shape}: "
                            f"{type(err).__name__}: {err}") from err
    if not isinstance(out, jax.ShapeDtypeStruct) or not is_real(out.dtype):
        raise RunInputError(
            f"reduce function for {path} must return one array of real numbers, got {describe(out)}"
        )


def _paths(record) -> list[str]:
    """``record`` as a list of port paths: a string, or a list or tuple of strings."""
    if record is None:
        return []
    if isinstance(record, str):
        return [record]
    if not isinstance(record, (list, tuple)):
        raise RunInputError(
            f"record must be a list of port paths such as record=['a.rate'], got {record!r}"
        )
    for path in record:
        if not isinstance(path, str):
            raise RunInputError(
                f"record must hold port paths ('region.port' strings), got {path!r} in {record!r}"
            )
    return list(record)


def _reducers(record: list[str], reduce) -> dict:
    """The reducer (a name, a function or None) of each recorded port."""
    if reduce is None or isinstance(reduce, str) or callable(reduce):
        reducers = {path: reduce for path in record}
    elif isinstance(reduce, Mapping):
        extra = set(reduce) - set(record)
        if extra:
            raise RunInputError(f"reduce names ports that are not recorded (record= does not list them): "
                                f"{sorted(extra)}")
        reducers = {path: reduce.get(path) for path in record}
    else:
        raise RunInputError(f"reduce must be a name, a function or a dict, got {reduce!r}")
    for path, reducer in reducers.items():
        if reducer is not None and not isinstance(reducer, str) and not callable(reducer):
            raise RunInputError(
                f"reduce for {path} must be a name or a function, got {reducer!r}"
            )
        if isinstance(reducer, str) and reducer not in REDUCERS:
            raise RunInputError(
                f"unknown reducer {reducer!r} for {path}; use one of {sorted(REDUCERS)} "
                "or a function"
            )
    return reducers
