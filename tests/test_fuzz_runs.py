"""Property-based fuzzing of run arguments (issue 18, family 2; shared machinery in fuzz_support.py).

``steps``, ``inputs``, ``record``, ``every``, ``reduce``, ``chunk`` of ``net.run``, checked
against the same network integrated in numpy: every case clear or accepted-correct.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from fuzz_support import (
    PORTS,
    T,
    Wrong,
    arrays,
    assert_family,
    close,
    fuzz,
    judge,
    keys,
    leaves_equal,
    odd_counts,
    real_arrays,
    run_net,
    weird,
)
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


def numpy_run(params, drive_a):
    """The same network integrated in numpy (forward Euler, as documented)."""
    p = jax.tree_util.tree_map(lambda x: np.asarray(x, np.float64), params)
    w_ab, w_ba = p["a.rate->b.input"]["weight"], p["b.rate->a.input"]["weight"]
    x_a, x_b, r_b_prev = np.zeros(3), np.zeros(2), np.zeros(2)
    out = {k: [] for k in PORTS}
    for t in range(len(drive_a)):
        i_a = drive_a[t] + r_b_prev @ w_ba
        x_a = x_a + p["dt"] / p["a"]["tau"] * (-x_a + i_a + p["a"]["bias"])
        r_a = np.tanh(x_a)
        i_b = r_a @ w_ab
        x_b = x_b + p["dt"] / p["b"]["tau"] * (-x_b + i_b + p["b"]["bias"])
        r_b = np.tanh(x_b)
        for k, v in zip(PORTS, (r_a, r_b, i_a, i_b)):
            out[k].append(v)
        r_b_prev = r_b
    return {k: np.array(v) for k, v in out.items()}


def canonical(drive):
    """Every port, every step, from the float32 drive of ``a.input`` (None: no drive)."""
    net, params, state = run_net()
    inputs = {} if drive is None else {"a.input": jnp.asarray(drive, jnp.float32)}
    return net.run(params, state, T, inputs=inputs, record=list(PORTS))


def test_canonical_run_matches_numpy():
    _net, params, _state = run_net()
    drive = np.linspace(-1, 1, T * 3).reshape(T, 3)
    _, trace = canonical(drive)
    reference = numpy_run(params, drive.astype(np.float32))
    for port in PORTS:
        close(trace[port], reference[port])


def drive_fn(t):  # one function object: compiled once
    return jnp.sin(t.astype(jnp.float32) * jnp.arange(3.0, dtype=jnp.float32))


def reduce_fn(x):
    return jnp.max(x) - x[0]


def bad_shape_fn(t):
    return jnp.zeros(4)


def raising_fn(t):
    raise ValueError("user bug")


def tuple_fn(t):
    return (jnp.zeros(3), jnp.zeros(3))


def complex_fn(t):
    return jnp.zeros(3, jnp.complex64)


def none_fn(t):
    return None


def raising_reducer(x):
    raise ValueError("user bug")


def tuple_reducer(x):
    return (x, x)


def text_reducer(x):
    return "mean"


def complex_reducer(x):
    return x.astype(jnp.complex64)


NUMPY_REDUCERS = {"mean": np.mean, "sum": np.sum, "max": np.max, "min": np.min,
                  reduce_fn: lambda x: np.max(x) - x[0]}
FUNCTIONS = {drive_fn: lambda: np.stack([np.sin(np.float32(t) * np.arange(3.0, dtype=np.float32))
                                         for t in range(T)])}

valid_drives = st.one_of(real_arrays((T, 3)), real_arrays((T, 3)).map(jnp.asarray),
                         real_arrays((T, 3)).map(lambda a: a.tolist()), st.just(drive_fn))
odd_drives = st.one_of(arrays(), weird, st.sampled_from([bad_shape_fn, raising_fn, tuple_fn, complex_fn,
                                                         none_fn, lambda: 1, print]),
                       hnp.arrays(np.float32, (T, 3), elements=st.floats(width=32)).map(jnp.asarray),
                       real_arrays((T, 3)).map(lambda a: a[None]), real_arrays((T - 1, 3)),
                       real_arrays((T, 2)))
input_keys = st.one_of(st.sampled_from(["a.input", "b.input", "a.rate", "z.input", "a", "a.input ",
                                        "b.tau"]), weird)
valid_record = st.sampled_from([(), "a.rate", ["a.rate", "b.rate"], ("b.input",), ["a.input", "a.rate"],
                                list(PORTS), None])
odd_record = st.one_of(st.sampled_from([["a.rate", "a.rate"], ["nope"], [3], "a", {"a.rate"}, 5, b"a.rate",
                                        [("a.rate",)], ["a.rate", None], "a.rate,b.rate"]), weird)
valid_reduce = st.sampled_from([None, "mean", "sum", "max", "min", reduce_fn])
odd_reduce = st.one_of(st.sampled_from(["median", "MEAN", raising_reducer, tuple_reducer, text_reducer,
                                        complex_reducer, {"zz.rate": "mean"}, {"a.rate": 3},
                                        {"a.rate": "median"}, 3, ["mean"]]), weird)


@st.composite
def run_call(draw):
    """A valid run (drive, record, every, reduce, chunk), then at most one argument mutated."""
    kwargs = {"steps": draw(st.sampled_from([T, np.int64(T), np.int32(T)]))}
    if draw(st.booleans()):
        kwargs["inputs"] = {"a.input": draw(valid_drives)}
    kwargs["record"] = draw(valid_record)
    every = draw(st.sampled_from([1, 2, np.int64(2)]))
    if every != 1:
        kwargs["every"] = every
    reduce = draw(valid_reduce)
    if reduce is not None:
        record = kwargs["record"]
        if isinstance(record, list) and record and draw(st.booleans()):
            reduce = {record[0]: reduce}
        kwargs["reduce"] = reduce
    chunk = draw(st.sampled_from([None, None, int(every), 2 * int(every), 4, 8]))
    if chunk is not None:
        kwargs["chunk"] = chunk
        kwargs["progress"] = False
    field = draw(st.sampled_from(["none", "steps", "inputs", "input key", "input value", "record", "every",
                                  "reduce", "chunk"]))
    if field == "steps":
        kwargs["steps"] = draw(st.one_of(odd_counts, st.sampled_from([None, 4.0, "4", 2**31 - 1 + 1])))
    elif field == "inputs":
        kwargs["inputs"] = draw(st.one_of(weird, st.sampled_from([[("a.input", np.zeros((T, 3)))], "a.input",
                                                                  {"a.input"}])))
    elif field == "input key":
        kwargs["inputs"] = {draw(keys(input_keys)): draw(st.one_of(valid_drives, odd_drives))}
    elif field == "input value":
        kwargs["inputs"] = {"a.input": draw(odd_drives)}
    elif field == "record":
        kwargs["record"] = draw(odd_record)
    elif field in ("every", "chunk"):
        kwargs[field] = draw(odd_counts)
        kwargs["progress"] = False
    elif field == "reduce":
        kwargs["reduce"] = draw(odd_reduce)
    return kwargs, field


def _drive_array(value):
    """The canonical float32 drive (T, 3) of a valid ``a.input`` value (array, list or function)."""
    if callable(value):
        return FUNCTIONS[value]()
    return np.asarray(value).astype(np.float32)


def check_run(kwargs, result):
    _net, _params, _state = run_net()
    final, trace = result
    inputs = kwargs.get("inputs") or {}
    if set(inputs) - {"a.input"}:
        raise Wrong(f"drives of {set(inputs)} accepted")
    steps = kwargs["steps"]
    if isinstance(steps, (bool, np.bool_)) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise Wrong(f"steps={steps!r} accepted")
    value = inputs.get("a.input")
    if int(steps) != T:  # valid only without a drive array (a function of t or nothing)
        if value is not None and not callable(value):
            raise Wrong(f"steps={steps!r} accepted with a drive of {T} steps")
        net, params, state = run_net()
        ref_state, full = net.run(params, state, int(steps), inputs={"a.input": value} if value else {},
                                  record=list(PORTS))
    else:
        ref_state, full = canonical(_drive_array(value) if inputs else None)
    record = kwargs.get("record")
    record = [] if record is None else [record] if isinstance(record, str) else list(record)
    if sorted(trace) != sorted(record):
        raise Wrong(f"trace holds {sorted(trace)}, asked {record}")
    every = int(kwargs.get("every", 1))
    reduce = kwargs.get("reduce")
    for port in record:
        expected = np.asarray(full[port])[every - 1::every]
        reducer = reduce.get(port) if isinstance(reduce, dict) else reduce
        if reducer is not None:
            expected = np.array([NUMPY_REDUCERS[reducer](row) for row in expected])
        close(trace[port], expected)
    leaves_equal(final, ref_state, exact=False)
    return True


@fuzz(320)
@given(run_call())
@example(({"steps": 4, "record": None, "reduce": {"a.rate": "mean"}}, "record"))  # found in CI
@example(({"steps": 1, "record": ()}, "steps"))  # found in CI: another length is fine without drive arrays
@example(({"steps": 3, "record": ["a.rate"], "inputs": {"a.input": drive_fn}}, "steps"))
@example(({"steps": T, "record": ["a.rate"], "reduce": raising_reducer}, "reduce"))
@example(({"steps": T, "inputs": {"a.input": 2**31}}, "input value"))
@example(({"steps": T, "record": ["a.rate"], "reduce": tuple_reducer}, "reduce"))
@example(({"steps": T, "record": ["a.rate"], "reduce": text_reducer}, "reduce"))
def test_run_arguments(case):
    kwargs, field = case
    net, params, state = run_net()
    names = {"none": [], "steps": ["steps"], "inputs": ["inputs"], "record": ["record", "cannot record"],
             "every": ["every"], "reduce": ["reduce", "reducer"], "chunk": ["chunk"]}.get(field, [])
    if field in ("input key", "input value"):
        (key, _), = kwargs["inputs"].items()
        names = ["inputs", "input", repr(key), str(key)] if field == "input key" else ["a.input"]
    judge("run arguments", lambda: net.run(params, state, **kwargs), names,
          lambda result: check_run(kwargs, result))


def test_zz_run_outcomes(request):
    """The run-arguments row of the table (run last in this file: it reads the counters)."""
    assert_family("run arguments", request, [test_run_arguments])
