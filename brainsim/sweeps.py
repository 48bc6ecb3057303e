"""Parameter and seed sweeps: one compiled, vmapped, device-sharded run.

    result = bs.sweep(net, steps=2_000, grid={"a.tau": [5.0, 10.0, 20.0]},
                      seeds=range(4), record=["b.rate"], reduce="mean")
    result.records["b.rate"].shape        # (3, 4, 2000): tau x seed x time
    result.coords                         # {"a.tau": array([5, 10, 20]), "seed": ...}

Each point of the sweep is a run from ``net.init(jax.random.key(seed))``
(or from given ``params``/``state``, with the seed setting the run's noise)
with the swept params set by path (`brainsim.set`). All points are stacked
on one batch axis, run by ``jax.vmap`` of the same compiled program, and that
axis is sharded over ``devices`` (all of them by default) with
``jax.make_mesh`` + ``NamedSharding``. Batches too large for memory run in
slices of ``batch_size`` points, padded to one shape so they compile once.

Several hosts: call ``jax.distributed.initialize()`` first in every process
(see the README's "Scaling out"); ``jax.devices()`` then lists every host's
devices, each process feeds and gathers its shards, and the same code runs.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from typing import Iterable, Mapping, Sequence

import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

from brainsim import params as param_paths
from brainsim._src import external
from brainsim._src.plan import check_dt, check_start, plan
from brainsim._src.progress import progress_bar
from brainsim._src.scan import compiled_scan, count_trace
from brainsim.checks import check_int
from brainsim.errors import ParamPathError, RunInputError


@dataclasses.dataclass(frozen=True)
class SweepResult:
    """Records of a sweep, labelled by the swept values.

    Attributes:
      records: ``{port: array}`` of shape ``(*axis_lengths, *record_shape)``,
        one axis per entry of ``coords`` in order, then time and units.
      coords: ``{axis name: values}``: each grid path (or ``"point"`` for a
        list of points), then ``"seed"``.
    """

    records: dict[str, np.ndarray]
    coords: dict[str, np.ndarray]

    def to_xarray(self):
        """The records as an ``xarray.Dataset`` (needs ``pip install 'brainsim[sweeps]'``)."""
        try:
            import xarray
        except ImportError:
            raise ImportError("to_xarray needs xarray: pip install 'brainsim[sweeps]'") from None
        variables = {}
        for port, values in self.records.items():
            extra = [f"{port}_dim{i}" for i in range(values.ndim - len(self.coords))]
            extra[:1] = ["time"] if extra else []
            variables[port] = (list(self.coords) + extra, values)
        coords = {k: v if np.ndim(v) == 1 else np.arange(len(v)) for k, v in self.coords.items()}
        return xarray.Dataset(variables, coords=coords)


def sweep(
    net,
    steps: int,
    *,
    grid: Mapping[str, Sequence] | None = None,
    points: Sequence[Mapping[str, object]] | None = None,
    seeds: Sequence[int] = (0,),
    params=None,
    state=None,
    inputs=None,
    record=(),
    every: int = 1,
    reduce=None,
    batch_size: int | None = None,
    devices: Sequence | None = None,
    progress: bool | None = None,
) -> SweepResult:
    """Run ``net`` at every combination of swept values and seeds.

    Args:
      net: a built `Network`.
      steps: steps per run.
      grid: ``{path: values}``; the sweep covers their Cartesian product.
      points: instead of ``grid``, a list of ``{path: value}`` settings.
      seeds: ints; each seeds ``net.init`` (or only the noise when ``params``
        and ``state`` are given).
      params, state: start every point from these (give both) instead of
        ``net.init(key(seed))``; the seed then sets only the run's noise.
      inputs, record, every, reduce: as in `brainsim._src.simulate.run`; inputs
        are shared by all points.
      batch_size: points per compiled call (rounded up to a multiple of the
        device count); default all at once.
      devices: devices to shard over (default ``jax.devices()``).
      progress: progress bar over slices (default: on a terminal, >1 slice).
    """
    run_plan, arrays = plan(net, steps, inputs=inputs, record=record, every=every, reduce=reduce,
                            where="sweep")
    seeds = _seeds(seeds)
    if (params is None) != (state is None):
        raise RunInputError(
            "give params= and state= together (sparse wiring lives in state, its weights in "
            "params, so mixing them with a fresh init would pair weights with other wiring)"
        )
    if batch_size is not None:
        check_int("sweep", "batch_size", batch_size, error=RunInputError)
    if params is not None:
        check_start(net, params, state)
    axes, settings = _settings(grid, points)
    template = jax.eval_shape(net.init, jax.random.key(0))[0] if params is None else params
    values = _stack_values(template, settings)
    for dt in values.get("dt", ()):
        check_dt(net, {"dt": dt})
    arrays = external.cast(arrays)

    n_settings, n_seeds = len(settings), len(seeds)
    total = n_settings * n_seeds
    batch_seeds = np.tile(seeds, n_settings)
    batch_values = {p: np.repeat(v, n_seeds, axis=0) for p, v in values.items()}

    devices = list(jax.devices() if devices is None else devices)
    if not devices:
        raise RunInputError("devices is empty; pass at least one device (default: jax.devices())")
    mesh = jax.make_mesh((len(devices),), ("batch",), devices=devices,
                         axis_types=(jax.sharding.AxisType.Auto,))
    sharding = NamedSharding(mesh, PartitionSpec("batch"))
    size = total if batch_size is None else min(batch_size, total)
    size = math.ceil(size / len(devices)) * len(devices)
    slices = math.ceil(total / size)
    show = (slices > 1) if progress is None else progress
    pieces = []
    bar = progress_bar(slices, "sweep", unit="slice", show=show)
    for start in range(0, total, size):
        index = np.minimum(np.arange(start, start + size), total - 1)  # pad with the last point
        out = _run_batch(
            net, run_plan, tuple(values), params is None,
            _shard(batch_seeds[index].astype(np.int32), sharding),
            {p: _shard(v[index], sharding) for p, v in batch_values.items()},
            params, state, arrays,
        )
        pieces.append({p: _gather(x)[: total - start] for p, x in out.items()})
        bar.update(1)
    bar.close()
    records = {p: np.concatenate([piece[p] for piece in pieces])[:total] for p in pieces[0]}
    shape = [len(v) for v in axes.values()] + [n_seeds]
    records = {p: x.reshape(*shape, *x.shape[1:]) for p, x in records.items()}
    return SweepResult(records=records, coords={**axes, "seed": seeds})


@functools.partial(jax.jit, static_argnames=("net", "run_plan", "paths", "init_params"))
def _run_batch(net, run_plan, paths, init_params, seeds, values, params, state, arrays):
    count_trace()

    def one(seed, setting):
        key = jax.random.key(seed)
        fresh_params, fresh_state = net.init(key)
        p, s = (fresh_params, fresh_state) if init_params else (
            params, {**state, "key": jax.random.fold_in(key, 1)})
        for path in paths:
            p = param_paths.set(p, path, setting[path])
        _, records, _ = compiled_scan(net, p, s, arrays, plan=run_plan)
        return records

    return jax.vmap(one)(seeds, values)


def _seeds(seeds) -> np.ndarray:
    """``seeds`` as a 1-d int array: a non-empty iterable of ints in ``[0, 2**31)``."""
    if (isinstance(seeds, (str, bytes, Mapping)) or not isinstance(seeds, Iterable)
            or (isinstance(seeds, (np.ndarray, jax.Array)) and seeds.ndim != 1)):
        raise RunInputError(
            f"seeds must be a non-empty list of ints, such as seeds=range(3) or seeds=[0, 7]; "
            f"got {seeds!r}"
        )
    seeds = [s.item() if isinstance(s, (np.generic, jax.Array)) and np.ndim(s) == 0 else s
             for s in seeds]
    if not seeds:
        raise RunInputError("seeds must be a non-empty list of ints, such as seeds=range(3); got []")
    for i, seed in enumerate(seeds):
        check_int("sweep", f"seeds[{i}]", seed, minimum=0, error=RunInputError)
    return np.asarray(seeds, dtype=np.int64)


def _settings(grid, points):
    if (grid is None) == (points is None):
        if grid is None:
            return {"point": np.arange(1)}, [{}]
        raise RunInputError("give grid= or points=, not both")
    if grid is not None:
        if not isinstance(grid, Mapping):
            raise RunInputError(f"grid must be a dict {{path: list of values}}, got {external.describe(grid)}")
        values = {path: _grid_values(path, v) for path, v in grid.items()}
        if not values:
            raise RunInputError("grid is empty; give at least one {path: values} entry (or leave it out)")
        combos = itertools.product(*[range(len(v)) for v in values.values()])
        settings = [{p: values[p][i] for p, i in zip(values, combo)} for combo in combos]
        return {path: _coordinate(v) for path, v in values.items()}, settings
    if isinstance(points, (str, bytes, Mapping)) or not isinstance(points, (Sequence, np.ndarray)):
        raise RunInputError(f"points must be a list of {{path: value}} dicts, got {external.describe(points)}")
    points = list(points)
    if not points or not all(isinstance(pt, Mapping) for pt in points) or any(
            set(pt) != set(points[0]) for pt in points):
        raise RunInputError("points must be a non-empty list of dicts with the same paths")
    return {"point": np.arange(len(points))}, points


def _grid_values(path, values) -> list:
    """The values swept along one grid axis: a non-empty list, tuple, range or array."""
    if isinstance(values, (np.ndarray, jax.Array)) and values.ndim:
        values = list(values)
    if not isinstance(values, (list, tuple, range)) or len(values) == 0:
        raise RunInputError(f"grid values for {path!r} must be a non-empty list, got "
                            f"{external.describe(values)}")
    return list(values)


def _coordinate(values: list) -> np.ndarray:
    """The coordinate of a grid axis: its values as one array (objects if they do not stack)."""
    try:
        return np.asarray(values)
    except (TypeError, ValueError):
        coordinate = np.empty(len(values), dtype=object)
        coordinate[:] = values
        return coordinate


def _stack_values(template, settings):
    """``{path: (n_settings, *param_shape)}`` arrays, checked against the params."""
    stacked = {}
    for path in settings[0]:
        leaf = param_paths.get(template, path)  # raises a ParamPathError listing valid paths
        if not hasattr(leaf, "shape"):
            raise RunInputError(f"{path!r} names a group of params; sweep one array at a time")
        stacked[path] = np.stack([_swept(template, path, s[path]) for s in settings])
    return stacked


def _swept(template, path: str, value) -> np.ndarray:
    """One swept value, cast and broadcast to its param (`brainsim.params.fitted`)."""
    try:
        return np.asarray(param_paths.fitted(template, path, value))
    except ParamPathError as err:
        raise RunInputError(f"bad swept value: {err}") from None


def _shard(array: np.ndarray, sharding: NamedSharding) -> jax.Array:
    """A global array from identical host copies; each process supplies its shards."""
    return jax.make_array_from_callback(array.shape, sharding, lambda index: array[index])


def _gather(x: jax.Array) -> np.ndarray:
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(x, tiled=True))
    return np.asarray(x)
