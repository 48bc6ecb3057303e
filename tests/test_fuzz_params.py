"""Property-based fuzzing of params and sweeps (issue 18, family 3; shared machinery in fuzz_support.py).

``bs.get``/``bs.set`` paths and values, ``net.init`` overrides / ``state=`` / ``history=``,
``bs.sweep`` grids, points, seeds, batches: every case clear or accepted-correct.
"""

from __future__ import annotations

import jax
import numpy as np
from fuzz_support import (
    Wrong,
    assert_family,
    close,
    fuzz,
    judge,
    keys,
    leaves_equal,
    odd_counts,
    real_arrays,
    weird,
)
from hypothesis import example, given
from hypothesis import strategies as st

import brainsim as bs

PARAMS = {}


def param_net():
    """a (3) -> b (2) with a 2-step delay, b -> a with 1 step: one projection per pair of regions."""
    if not PARAMS:
        brain = bs.Connectome()
        brain.add("a", bs.RatePopulation(n=3))
        brain.add("b", bs.RatePopulation(n=2))
        brain.connect("a.rate", "b.input", delay=2)
        brain.connect("b.rate", "a.input", delay=1)
        net = bs.build(brain, dt=1.0)
        params, state = net.init(jax.random.key(0))
        PARAMS.update(net=net, params=params, state=state, nodes=_reference_nodes(params))
    return PARAMS["net"], PARAMS["params"], PARAMS["state"]


def _reference_nodes(params):
    """Every path ``get`` should accept, by walking the dicts here (with projection shorthands)."""
    nodes = {}

    def walk(prefix, node):
        nodes[prefix] = node
        if isinstance(node, dict):
            for key, child in node.items():
                walk(f"{prefix}.{key}", child)

    for key, node in params.items():
        walk(key, node)
        if "->" in key:
            (src, dst) = key.split("->")
            for left in (src, src.split(".")[0]):
                for right in (dst, dst.split(".")[0]):
                    walk(f"{left}->{right}", node)
    return nodes


def _mutate_path(path, how, extra):
    return {"append": path + extra, "prepend": extra + path, "drop": path[:-1], "dot": path + ".",
            "double": path.replace(".", "..", 1), "upper": path.upper(), "space": path + " ",
            "same": path}[how]


VALID_PATHS = ["dt", "a", "a.tau", "a.bias", "b.tau", "b.bias", "a.rate->b.input.weight",
               "b.rate->a.input.weight", "a->b.weight", "a.rate->b.weight", "a->b.input.weight",
               "b->a", "a.rate->b.input", "b->a.input.weight"]
param_paths = st.one_of(
    st.sampled_from(VALID_PATHS), st.sampled_from(VALID_PATHS),
    st.tuples(st.sampled_from(VALID_PATHS),
              st.sampled_from(["append", "prepend", "drop", "dot", "double", "upper", "space", "same"]),
              st.sampled_from([".x", "x", "->", ".", "a.", "0"])).map(lambda a: _mutate_path(*a)),
    st.sampled_from(["", ".", "->", "a->", "->b", "a->b", "c.tau", "a->c.weight", "a.rate->a.input.weight",
                     "b.rate->b.input", "tau", "weight", "dt.x", "a.tau.0"]),
    st.text(max_size=6), st.sampled_from([None, 3, b"a.tau", ("a", "tau"), ["a.tau"]]))

set_values = st.one_of(weird, st.floats(0.5, 50), real_arrays(st.sampled_from([(), (2,), (3,), (3, 2)])), real_arrays(st.sampled_from([(), (1,), (2,), (3,), (3, 2), (2, 3), (1, 3)])),
                       st.floats(-1e39, 1e39), st.sampled_from([1e300, -1e300, 3e38, np.float64(1e39)]))


def _reference_set(leaf, value):
    """What ``bs.set`` should store: ``value`` cast to the leaf's dtype and broadcast to its shape."""
    given = np.asarray(value)
    if given.dtype.kind not in "biuf":
        raise Wrong(f"non-real value {value!r} accepted")
    with np.errstate(over="ignore"):
        cast = given.astype(np.asarray(leaf).dtype)
    if np.all(np.isfinite(given.astype(np.float64))) and not np.all(np.isfinite(cast)):
        raise Wrong(f"finite {value!r} became {cast} (overflow)")
    return np.broadcast_to(cast, np.shape(leaf))


@fuzz(200)
@given(param_paths, st.booleans(), set_values)
@example("a.tau", True, 1e300)
@example("dt.", False, None)
@example("a.", True, 1.0)
@example("a->b.weight", True, np.full((3, 2), 1e39))
def test_get_and_set(path, setting, value):
    _net, params, _state = param_net()
    nodes = PARAMS["nodes"]
    names = [repr(path), str(path)]

    def check_get(result):
        if not isinstance(path, str) or path not in nodes:
            raise Wrong(f"path {path!r} accepted")
        return leaves_equal(result, nodes[path])

    def check_set(result):
        if not isinstance(path, str) or path not in nodes or not hasattr(nodes[path], "shape"):
            raise Wrong(f"path {path!r} accepted")
        if path.split(".")[-1] == "dt" and not (np.all(np.asarray(value, np.float64) > 0)
                                                and np.asarray(value).dtype != bool):
            raise Wrong(f"dt={value!r} accepted")
        expected = _reference_set(nodes[path], value)
        close(bs.get(result, path), expected, exact=True)
        for other in bs.paths(params):  # every other leaf is untouched (the set one may go by
            if nodes[other] is not nodes[path]:  # another name: "a->b.weight" is "a.rate->...")
                leaves_equal(bs.get(result, other), nodes[other])
        leaves_equal(params, {k: nodes[k] for k in params})  # and the params given are unchanged
        return True

    if setting:
        judge("params and sweeps", lambda: bs.set(params, path, value), names, check_set)
    else:
        judge("params and sweeps", lambda: bs.get(params, path), names, check_get)


HISTORY = {}


def history_inputs(net, params, state):
    """Summed inputs of the first two steps, recorded (compiled once)."""
    _, trace = net.run(params, state, 2, record=["b.input", "a.input"])
    return trace


init_state_paths = st.one_of(st.sampled_from(["a.x", "b.x", "a", "a.tau", "x", "c.x", "a.x.y", "a..x",
                                              "b.rate"]), weird)
history_ports = st.one_of(st.sampled_from(["a.rate", "b.rate", "a.input", "c.rate", "a"]), weird)
init_values = st.one_of(weird, real_arrays(st.sampled_from([(), (1,), (2,), (3,), (2, 3), (1, 3), (1, 2),
                                                           (2, 2), (3, 3), (2, 1)])))


@st.composite
def init_call(draw):
    which = draw(st.sampled_from(["overrides", "state", "history", "container"]))
    if which == "overrides":
        return which, {"overrides": {draw(keys(param_paths)): draw(set_values)}}
    if which == "state":
        return which, {"state": {draw(keys(init_state_paths)): draw(init_values)}}
    if which == "history":
        return which, {"history": {draw(keys(history_ports)): draw(init_values)}}
    arg = draw(st.sampled_from(["overrides", "state", "history"]))
    return which, {arg: draw(st.one_of(weird, st.sampled_from([[("a.x", 1.0)], "a.x", {"a.x"}])))}


def check_init(kwargs, result):
    net, params0, state0 = param_net()
    params, state = result
    for arg in ("overrides", "state", "history"):
        given = kwargs.get(arg)
        if given is not None and not isinstance(given, dict):
            raise Wrong(f"{arg}={given!r} accepted")
    for path, value in (kwargs.get("overrides") or {}).items():
        leaves_equal(params, bs.set(params0, path, value))
        leaves_equal(state, state0)
    for path, value in (kwargs.get("state") or {}).items():
        region, _, leaf = path.partition(".")
        old = state0["regions"].get(region, {}).get(leaf) if isinstance(state0["regions"].get(region), dict) \
            else None
        if old is None or not hasattr(old, "shape"):
            raise Wrong(f"state path {path!r} accepted")
        close(state["regions"][region][leaf], _reference_set(old, value), exact=True)
    for port, value in (kwargs.get("history") or {}).items():
        length = net.buffer_lengths.get(port)
        if length is None:
            raise Wrong(f"history of {port!r} accepted")
        shape = net.output_ports[port].shape
        full = np.ndim(value) == len(shape) + 1
        past = _reference_set(np.zeros((length, *shape) if full else shape, np.float32), value)
        past = np.broadcast_to(past, (length, *shape)).astype(np.float64)
        trace = history_inputs(net, params, state)
        w_ab = np.asarray(params["a.rate->b.input"]["weight"], np.float64)
        w_ba = np.asarray(params["b.rate->a.input"]["weight"], np.float64)
        if port == "a.rate":  # delay 2: steps 0 and 1 read the past of steps -2 and -1
            close(trace["b.input"], past @ w_ab)
        else:  # delay 1: step 0 reads step -1
            close(trace["a.input"][0], past[-1] @ w_ba)
    return True


@fuzz(160)
@given(init_call())
@example(("state", {"state": {"a.x": 1e300}}))
@example(("container", {"overrides": False}))
@example(("container", {"overrides": [("a.tau", 1.0)]}))
@example(("history", {"history": {"a.rate": np.float64(1e39)}}))
def test_init_overrides_state_history(case):
    _which, kwargs = case
    net, _params, _state = param_net()
    names = list(kwargs)
    for mapping in kwargs.values():
        if isinstance(mapping, dict):
            names += [repr(k) for k in mapping] + [str(k) for k in mapping]
    judge("params and sweeps", lambda: net.init(jax.random.key(0), **kwargs), names,
          lambda result: check_init(kwargs, result))


sweep_paths = keys(st.one_of(st.sampled_from(["a.tau", "b.bias", "dt", "a->b.weight"]), param_paths))
sweep_values = st.one_of(st.lists(st.sampled_from([5.0, 10.0, 20.0, 2, np.float32(8.0), 0.5]),
                                  min_size=1, max_size=2),
                         st.lists(st.sampled_from([5.0, 10.0, 0.5]), min_size=1, max_size=2),
                         st.lists(set_values, min_size=0, max_size=2), weird)
seed_values = st.one_of(st.sampled_from([(0,), [0, 1], range(2), np.arange(2), [np.int64(3)], (7,)]),
                        st.sampled_from([(0,), [0, 1], (5,)]), weird, st.lists(weird, min_size=1, max_size=2))
batch_values = st.one_of(st.sampled_from([None, None, 1, 3, 8, np.int64(2)]), odd_counts)


@st.composite
def sweep_call(draw):
    kwargs = {}
    shape = draw(st.sampled_from(["grid", "grid2", "points", "none", "both"]))
    if shape in ("grid", "both"):
        kwargs["grid"] = {draw(sweep_paths): draw(sweep_values)}
    if shape == "grid2":
        first, second = draw(st.sampled_from([("a.tau", "b.bias"), ("b.bias", "a.tau"), ("dt", "a.tau")]))
        kwargs["grid"] = {first: draw(sweep_values), second: draw(sweep_values)}
    if shape in ("points", "both"):
        path = draw(sweep_paths)
        kwargs["points"] = draw(st.one_of(
            st.lists(st.fixed_dictionaries({path: st.sampled_from([4.0, 12.0, np.float32(3.0)])}),
                     min_size=1, max_size=3),
            st.lists(st.dictionaries(sweep_paths, set_values, max_size=2), max_size=2), weird))
    kwargs["seeds"] = draw(seed_values)
    if draw(st.integers(0, 3)) == 0:
        kwargs["batch_size"] = draw(batch_values)
    if draw(st.integers(0, 4)) == 0:
        _, params, state = param_net()
        kwargs["params"], kwargs["state"] = params, state
    return kwargs


def _swept_points(kwargs):
    """The settings a sweep should run, in order, or a Wrong for arguments it should refuse."""
    grid, points = kwargs.get("grid"), kwargs.get("points")
    if grid is not None and points is not None:
        raise Wrong("grid= and points= both accepted")
    if grid is not None:
        axes = list(grid)
        if not all(isinstance(v, (list, tuple, np.ndarray)) and len(v) for v in grid.values()):
            raise Wrong(f"grid {grid!r} accepted")
        combos = np.ndindex(*[len(grid[a]) for a in axes])
        return axes, [{a: grid[a][i] for a, i in zip(axes, combo)} for combo in combos]
    if points is not None:
        if not (isinstance(points, (list, tuple)) and points and all(isinstance(p, dict) for p in points)):
            raise Wrong(f"points {points!r} accepted")
        return ["point"], list(points)
    return ["point"], [{}]


def check_sweep(kwargs, result):
    net, params0, state0 = param_net()
    axes, settings = _swept_points(kwargs)
    seeds = [int(s) for s in kwargs["seeds"]]
    if list(result.coords) != axes + ["seed"] or list(result.coords["seed"]) != seeds:
        raise Wrong(f"coords {result.coords}")
    records = result.records["b.rate"]
    records = records.reshape(-1, len(seeds), *records.shape[len(axes) + 1:])
    if len(records) != len(settings):
        raise Wrong(f"{len(records)} points, expected {len(settings)}")
    for i, setting in enumerate(settings):
        for j, seed in enumerate(seeds):
            if "params" in kwargs:
                p = params0
                for path, value in setting.items():
                    p = bs.set(p, path, value)
                s = state0
            else:
                p, s = net.init(jax.random.key(seed), overrides=setting)
            _, trace = net.run(p, s, 2, record=["b.rate"])
            close(records[i, j], trace["b.rate"])
    return True


@fuzz(130)
@given(sweep_call())
@example({"grid": {"a.tau": [None, []]}, "seeds": (0,)})
@example({"grid": {"a.tau": [5.0]}, "seeds": np.array(0.0)})
@example({"grid": [("a.tau", [5.0])], "seeds": (0,)})
@example({"points": 3, "seeds": (0,)})
@example({"points": [{"a.tau": 4.0}, 3], "seeds": (0,)})
@example({"grid": {"a.tau": [5.0, 20.0], "b.bias": [0.0, 0.5]}, "seeds": [0, 1], "batch_size": 3})
def test_sweep(kwargs):
    net, _params, _state = param_net()
    names = [a for a in ("grid", "points", "seeds", "batch_size") if a in kwargs]
    for arg in ("grid",):
        names += [repr(k) for k in kwargs.get(arg) or {}] if isinstance(kwargs.get(arg), dict) else []
    points = kwargs.get("points")
    if isinstance(points, list):
        names += [repr(k) for pt in points if isinstance(pt, dict) for k in pt]
    judge("params and sweeps", lambda: bs.sweep(net, 2, record=["b.rate"], progress=False, **kwargs),
          names, lambda result: check_sweep(kwargs, result))


def test_zz_params_outcomes(request):
    """The params-and-sweeps row of the table (run last in this file: it reads the counters)."""
    assert_family("params and sweeps", request, [test_get_and_set, test_init_overrides_state_history,
                                                 test_sweep])
