"""Shared machinery of the property-based fuzz suites (issue 18): tests/test_fuzz_*.py.

Four families of generated calls, one test file each, every case checked case by case:

1. wiring (test_fuzz_wiring.py): ``Connectome.add``/``connect`` with generated kinds, options,
   delays, signs, scales and weight matrices, and ``bs.build`` with any ``dt``;
2. run arguments (test_fuzz_runs.py): ``steps``, ``inputs``, ``record``, ``every``, ``reduce``, ``chunk``;
3. params and sweeps (test_fuzz_params.py): ``bs.get``/``bs.set`` paths and values, ``net.init``
   overrides / ``state=`` / ``history=``, ``bs.sweep`` grids, points, seeds, batches;
4. damaged checkpoints (test_fuzz_checkpoints.py): a saved, interrupted chunked run, its files
   deleted, truncated, garbled or its ``checkpoint.json`` edited, then resumed.

Each case ends in exactly one cell of the table (printed once at the end of the session by the
``pytest_terminal_summary`` hook in conftest.py, for the families that ran):

- ``clear``: a `brainsim.BrainsimError` whose message names what is at fault
  (the argument, port, parameter path, file or field: decided per generator);
- ``accepted-correct``: no error, and the result equals a reference computed
  independently (numpy, or the same call with a canonical equivalent input);
- ``raw``: any other exception (or a brainsim error that names nothing useful);
- ``silent``: accepted, but the result differs from the reference.

Every test asserts that no case is ``raw`` or ``silent``, and each file's last test
(`assert_family`) checks its family's row. Hypothesis runs derandomized (the same cases in
every CI run) with no example database.

Here: the outcome classification (`judge`), the counters (`TABLE`), the table, the reference
comparisons, the shared strategies of odd values and the small run network (shared by the run
and checkpoint families).
"""

from __future__ import annotations

import collections
import os
import re

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import brainsim as bs

FAMILIES = ("wiring", "run arguments", "params and sweeps", "damaged checkpoints")
CELLS = ("clear", "accepted-correct", "raw", "silent")
TABLE: dict[str, collections.Counter] = {f: collections.Counter() for f in FAMILIES}
MINIMUM = {f: 250 for f in FAMILIES}


def _draw_no_local_constants():
    """Make hypothesis draw from the fuzz strategies alone, never from constants in our modules.

    Hypothesis (6.131 on) also draws, now and then, literal constants it harvests from every
    local module imported so far (``brainsim``, ``regions``, ``experiments``, ``peers``). Which
    modules are loaded depends on the tests that ran before in the same process, and the
    constants change with any edit anywhere in the code, so the "fixed" derandomized cases
    changed with test order: CI's whole-suite runs met cases that isolated runs never did.
    Replacing the harvest with an empty set (a private hook, so this checks that it exists)
    makes the cases a function of the test's source and the seed alone; checked by
    tests/test_fuzz_harness.py. Applies to every hypothesis test in the process.
    """
    from hypothesis.internal.conjecture import providers

    if hasattr(providers, "_get_local_constants"):
        empty = providers.Constants()
        providers._get_local_constants = lambda: empty
        providers.CONSTANTS_CACHE.cache.clear()


_draw_no_local_constants()


def fuzz(n):
    """Hypothesis settings of every property here: derandomized, no database, no deadline.

    To explore beyond the fixed cases, set ``BRAINSIM_FUZZ_EXPLORE=1`` and pass
    ``--hypothesis-seed=N``: the cases then follow the seed."""
    explore = os.environ.get("BRAINSIM_FUZZ_EXPLORE") == "1"
    return settings(derandomize=not explore, max_examples=n, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck), print_blob=False)


class Wrong(AssertionError):
    """An accepted call whose result differs from the reference."""


def _names(message: str, names) -> bool:
    """Whether ``message`` mentions one of ``names`` as a whole word (not inside another name)."""
    for name in names:
        text = str(name)
        if text and re.search(r"(?<![A-Za-z0-9_])" + re.escape(text) + r"(?![A-Za-z0-9_])", message):
            return True
    return False


def judge(family: str, call, names, check):
    """Run ``call`` and put its outcome in ``family``'s row of the table.

    ``names``: strings of which a brainsim error must mention at least one;
    ``check(result)``: raises (or returns False) if an accepted result is wrong.
    Fails the example (so hypothesis shows and shrinks it) when raw or silent.
    """
    names = [n for n in names if n is not None]
    try:
        result = call()
    except bs.BrainsimError as err:
        if _names(str(err), names):
            TABLE[family]["clear"] += 1
            return "clear"
        TABLE[family]["raw"] += 1
        raise AssertionError(f"{type(err).__name__} names none of {names}: {err}") from err
    except Exception as err:
        TABLE[family]["raw"] += 1
        raise AssertionError(f"raw {type(err).__name__}: {err}") from err
    try:
        ok = check(result)
    except Exception as err:
        TABLE[family]["silent"] += 1
        raise Wrong(f"accepted but wrong: {type(err).__name__}: {err}") from err
    if ok is False:
        TABLE[family]["silent"] += 1
        raise Wrong("accepted but wrong")
    TABLE[family]["accepted-correct"] += 1
    return "accepted-correct"


def close(a, b, exact=False):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise Wrong(f"shape {a.shape} != reference {b.shape}")
    if exact:
        ok = np.array_equal(a, b, equal_nan=True)
    else:
        ok = np.allclose(a.astype(np.float64), b.astype(np.float64), rtol=1e-5, atol=1e-6, equal_nan=True)
    if not ok:
        raise Wrong(f"values differ from the reference:\n{a}\n{b}")
    return True


def leaves_equal(x, y, exact=True):
    fx, fy = jax.tree_util.tree_flatten_with_path(x)[0], jax.tree_util.tree_flatten_with_path(y)[0]
    if [p for p, _ in fx] != [p for p, _ in fy]:
        raise Wrong("tree structures differ")
    for (path, a), (_, b) in zip(fx, fy):
        if jnp.issubdtype(a.dtype, jax.dtypes.prng_key):
            a, b = jax.random.key_data(a), jax.random.key_data(b)
        try:
            close(a, b, exact=exact)
        except Wrong as err:
            raise Wrong(f"{jax.tree_util.keystr(path)}: {err}") from None
    return True


F32_MAX = float(np.finfo(np.float32).max)

# -- generic odd values ------------------------------------------------------------
DTYPES = [np.float64, np.float32, np.float16, np.int64, np.int32, np.int8, np.uint8, np.bool_,
          np.complex64, np.dtype("<U2"), np.dtype("M8[s]")]
REAL_DTYPES = [np.float64, np.float32, np.float16, np.int64, np.int32, np.int8, np.uint8, np.bool_]


def hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def keys(strategy):
    """``strategy`` limited to values that can be dict keys."""
    return strategy.filter(hashable)


def arrays(shape=None, dtypes=DTYPES, max_side=4):
    shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=max_side) if shape is None \
        else st.just(shape)
    return st.sampled_from(dtypes).flatmap(lambda d: hnp.arrays(np.dtype(d), shapes))


def real_arrays(shape, bound=10.0):
    """Finite real arrays of ``shape`` in any real dtype."""
    def of(dtype):
        dtype = np.dtype(dtype)
        if dtype.kind == "f":
            elements = st.floats(-bound, bound, width=min(64, dtype.itemsize * 8))
        elif dtype.kind == "b":
            elements = st.booleans()
        elif dtype.kind == "u":
            elements = st.integers(0, int(bound))
        else:
            elements = st.integers(-int(bound), int(bound))
        return hnp.arrays(dtype, shape, elements=elements)
    return st.sampled_from(REAL_DTYPES).flatmap(of)


NUMPY_SCALARS = [np.int64(2), np.int32(1), np.int8(-1), np.uint8(3), np.float32(1.5), np.float64(0.5),
                 np.bool_(True), np.bool_(False), np.float64("nan"), np.float32("inf"),
                 np.float16(2.0), np.complex64(1 + 0j), np.str_("1")]

weird = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 10),
    st.sampled_from([2**31 - 1, 2**31, 2**40, -2**63, 10**30, 2**64]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(NUMPY_SCALARS),
    st.text(max_size=4), st.sampled_from(["dense", "sparse", "a.rate", "b.input", "1", ""]),
    arrays(), st.lists(st.integers(-1, 3), max_size=4), st.tuples(st.integers(0, 4), st.integers(0, 4)),
    st.complex_numbers(max_magnitude=5), st.sampled_from([object(), bs.Dense(), bs.Dense, {"a": 1}, b"x"]),
)


def table_text(families=None) -> str:
    """The table of outcomes: one row per family (default: those with cases), then the sum."""
    if families is None:
        families = [f for f in FAMILIES if sum(TABLE[f].values())]
    lines = [f"{'family':22s}" + "".join(f"{c:>18s}" for c in CELLS) + f"{'total':>8s}"]
    for family in families:
        row = TABLE[family]
        lines.append(f"{family:22s}" + "".join(f"{row[c]:18d}" for c in CELLS) + f"{sum(row.values()):8d}")
    total = collections.Counter()
    for family in families:
        total.update(TABLE[family])
    lines.append(f"{'all':22s}" + "".join(f"{total[c]:18d}" for c in CELLS) + f"{sum(total.values()):8d}")
    return "\n".join(lines)


def assert_family(family: str, request, tests) -> None:
    """No raw or silent case in ``family``; at least ``MINIMUM`` cases if all its ``tests`` ran.

    Called by the last test of each family's file (it reads the counters); ``tests``: the
    family's property tests, whose selection (not a ``-k`` subset) turns the count check on.
    """
    row = TABLE[family]
    table = table_text([family])
    assert row["raw"] == 0 and row["silent"] == 0, table
    selected = {item.name for item in request.session.items if item.path == request.node.path}
    if all(test.__name__ in selected for test in tests):
        assert sum(row.values()) >= MINIMUM[family], table


# =================================================================================
# the run network (run arguments, damaged checkpoints) and odd counts (runs, sweeps)
# =================================================================================
T = 4
PORTS = ("a.rate", "b.rate", "a.input", "b.input")
RUN = {}


def run_net():
    """a (3) -> b (2) without delay, b -> a with one step: built, initialised, cached."""
    if not RUN:
        brain = bs.Connectome()
        brain.add("a", bs.RatePopulation(n=3))
        brain.add("b", bs.RatePopulation(n=2))
        brain.connect("a.rate", "b.input")
        brain.connect("b.rate", "a.input", delay=1)
        net = bs.build(brain, dt=1.0)
        params, state = net.init(jax.random.key(0))
        params = bs.set(params, "a.bias", np.array([0.1, -0.2, 0.3]))
        RUN.update(net=net, params=params, state=state)
    return RUN["net"], RUN["params"], RUN["state"]


odd_counts = st.one_of(st.sampled_from([0, -1, 3, True, False, 2.0, "2", 2**31, 2**40, np.int64(3),
                                        np.float64(2.0), np.bool_(True), -2**63]), weird)
