"""Property-based fuzzing of wiring (issue 18, family 1; shared machinery in fuzz_support.py).

``Connectome.add``/``connect`` with generated kinds, options, delays, signs, scales and weight
matrices, and ``bs.build`` with any ``dt``: every case clear or accepted-correct.
"""

from __future__ import annotations

import dataclasses
import math
import re

import jax
import numpy as np
from fuzz_support import Wrong, arrays, assert_family, close, fuzz, judge, weird
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import brainsim as bs
from brainsim.checks import INT32_MAX

SIZES = {"a": 3, "b": 2, "c": 3, "s": 3}


def fresh_brain():
    brain = bs.Connectome()
    brain.add("a", bs.RatePopulation(n=3))
    brain.add("b", bs.RatePopulation(n=2))
    brain.add("c", bs.RatePopulation(n=3))
    brain.add("s", bs.LIFPopulation(n=3))
    return brain


def _weight(n_src, n_dst):
    return hnp.arrays(np.float64, (n_src, n_dst), elements=st.floats(-2, 2))


@st.composite
def baseline_connection(draw):
    """A valid ``connect`` call: ``(source, target, kwargs)``."""
    choice = draw(st.sampled_from(["dense", "sparse", "one_to_one", "identity", "matrix", "weight",
                                   "event", "stp", "dense_obj"]))
    source, target, kwargs = "a.rate", "b.input", {}
    if choice == "dense":
        kwargs["kind"] = "dense"
    elif choice == "dense_obj":
        kwargs["kind"] = bs.Dense()
    elif choice == "sparse":
        kwargs.update(kind="sparse", fan_in=draw(st.integers(1, 3)))
    elif choice in ("one_to_one", "identity"):
        target = "c.input"
        kwargs["kind"] = choice
    elif choice == "matrix":
        kwargs.update(kind="matrix", weight=draw(_weight(3, 2)))
    elif choice == "weight":
        kwargs["weight"] = draw(_weight(3, 2))
    elif choice == "event":
        source = "s.spike"
        kwargs.update(kind="event", p=draw(st.sampled_from([0.5, 1.0, 0.25])))
    elif choice == "stp":
        kwargs["kind"] = bs.ShortTermPlasticity(u=draw(st.sampled_from([0.2, 1.0])))
    edge = choice in ("dense", "matrix", "weight", "dense_obj")
    delay = draw(st.sampled_from(["none", "delay", "ms", "lag", "edge_delay", "edge_ms", "edge_lag"]
                                 if edge else ["none", "delay", "ms", "lag"]))
    n_src, n_dst = SIZES[source[0]], SIZES[target[0]]
    if delay == "delay":
        kwargs["delay"] = draw(st.integers(0, 3))
    elif delay == "ms":
        kwargs["ms"] = draw(st.sampled_from([0.0, 0.3, 1.0, 2.5, 4.0]))
    elif delay == "lag":
        kwargs["lag_ms"] = draw(st.sampled_from([0.0, 1.0, 2.0]))
    elif delay == "edge_delay":
        kwargs["delay"] = draw(hnp.arrays(np.int64, (n_src, n_dst), elements=st.integers(1, 3)))
    elif delay == "edge_ms":
        kwargs["ms"] = draw(hnp.arrays(np.float64, (n_src, n_dst), elements=st.floats(0.5, 3.0)))
    elif delay == "edge_lag":
        kwargs["lag_ms"] = draw(hnp.arrays(np.float64, (n_src, n_dst), elements=st.floats(0.0, 3.0)))
    if draw(st.booleans()):
        kwargs["scale"] = draw(st.floats(-3, 3))
    if choice != "identity" and draw(st.booleans()):
        kwargs["sign"] = draw(st.sampled_from([1, -1]))
    return source, target, kwargs


CONNECT_FIELDS = ["source", "target", "kind", "fan_in", "p", "delay", "ms", "lag_ms", "scale", "sign",
                  "weight", "shared_weight", "spike_slots", "synapse_delay", "plasticity", "bogus"]
paths_or_weird = st.one_of(st.sampled_from(["a.rate", "b.input", "c.input", "s.spike", "s.input",
                                            "s.v", "a.input", "b.rate", "x.rate", "a.nope", "a",
                                            "a.rate.x", "", ".", "A.rate", "a. rate"]), weird)


@st.composite
def connection(draw):
    source, target, kwargs = draw(baseline_connection())
    mutated = draw(st.lists(st.sampled_from(CONNECT_FIELDS), max_size=2, unique=True))
    for name in mutated:
        if name == "source":
            source = draw(paths_or_weird)
        elif name == "target":
            target = draw(paths_or_weird)
        elif name == "kind":
            kwargs["kind"] = draw(st.one_of(
                st.sampled_from(["dense", "sparse", "one_to_one", "matrix", "identity", "event", "stp",
                                 "Dense", "bogus", bs.Dense(), bs.Sparse(fan_in=2), bs.OneToOne(),
                                 bs.Identity(), bs.Event(p=0.5), bs.Sparse, bs.Kind]), weird))
        elif name == "weight":
            kwargs["weight"] = draw(st.one_of(arrays(), _weight(3, 2), _weight(2, 3), weird))
        elif name in ("delay", "ms", "lag_ms"):
            kwargs[name] = draw(st.one_of(weird, arrays(), hnp.arrays(
                np.float64, (3, 2), elements=st.floats(allow_nan=True, allow_infinity=True))))
        else:
            kwargs[name] = draw(weird)
    return source, target, kwargs, mutated


def _expected_steps(kwargs, dt):
    """The projection's delay in steps (and the per-edge matrix), computed here from the docs."""
    if "lag_ms" in kwargs and kwargs["lag_ms"] is not None:
        d = np.asarray(kwargs["lag_ms"], np.float64)
        return np.round(d / dt) + 1
    if "ms" in kwargs and kwargs["ms"] is not None:
        d = np.asarray(kwargs["ms"], np.float64)
        steps = np.round(d / dt)
        return np.where(d > 0, np.maximum(steps, 1), steps)
    if "delay" in kwargs and kwargs["delay"] is not None:
        return np.asarray(kwargs["delay"], np.float64)
    return np.asarray(0.0)


def check_projection(brain, proj, source, target, kwargs, dt):
    """An accepted connection, checked against what its arguments promise (a delay line too
    long to index is refused by build, naming the delay, before anything is allocated)."""
    steps = _expected_steps(kwargs, dt)
    n_src = brain.regions[proj.src].outputs[proj.src_port].size
    if np.max(steps) * n_src > INT32_MAX:
        try:
            bs.build(brain, dt=dt)
        except bs.WiringError as err:
            if "delay" in str(err):
                return True
            raise
        raise Wrong(f"a delay line of {np.max(steps):.3g} steps x {n_src} units was built")
    net = bs.build(brain, dt=dt)
    params, state = net.init(jax.random.key(1))
    p = net.projection[proj.name]
    if p.source != source or p.target != target:
        raise Wrong(f"projection {p.source} -> {p.target}, asked {source} -> {target}")
    steps = _expected_steps(kwargs, dt)
    kind = kwargs.get("kind", "dense")
    synapse = getattr(p.kind, "synapse_delay", None)
    if synapse is not None:
        if p.delay != 1:
            raise Wrong("synapse delays read the spikes of the previous step")
    elif steps.ndim:
        if p.edge_delay is None or not np.array_equal(p.edge_delay.array, steps):
            raise Wrong(f"per-edge delays {p.edge_delay} != {steps}")
        if p.delay != int(steps.max()):
            raise Wrong("delay is not the longest per-edge delay")
    elif p.delay != int(steps):
        raise Wrong(f"delay {p.delay} steps, expected {steps}")
    sign = kwargs.get("sign")
    if (p.sign is None) != (sign is None) or (sign is not None and p.sign != int(sign)):
        raise Wrong(f"sign {p.sign}, asked {sign!r}")
    scale = float(kwargs.get("scale", 1.0))
    if p.scale != scale:
        raise Wrong(f"scale {p.scale}, asked {scale}")
    weights = params[proj.name]
    for leaf in jax.tree_util.tree_leaves(weights):
        if not np.all(np.isfinite(np.asarray(leaf))):
            raise Wrong(f"finite arguments gave non-finite params {weights}")
    if kwargs.get("weight") is not None:  # weight=None is the default: no matrix
        close(weights["weight"], np.asarray(kwargs["weight"], np.float64).astype(np.float32))
    if isinstance(p.kind, bs.Sparse):
        index = np.asarray(state["projections"][proj.name]["index"])
        if index.shape != (SIZES[target[0]], p.kind.fan_in):
            raise Wrong(f"sparse index shape {index.shape}")
        if any(len(set(row)) != len(row) for row in index.tolist()) or index.min() < 0 \
                or index.max() >= SIZES[source[0]]:
            raise Wrong(f"sparse sources not distinct and in range: {index}")
    if isinstance(p.kind, bs.OneToOne) and kind == "one_to_one":
        close(weights["weight"], np.full(3, scale, np.float32))
    return True


def _connect_names(source, target, kwargs, mutated):
    names = []
    for field in mutated:
        if field == "source":
            names += ["source", repr(source), str(source)]
        elif field == "target":
            names += ["target", repr(target), str(target)]
        elif field == "kind":
            kind = kwargs["kind"]
            names += ["kind", repr(kind), getattr(kind, "__name__", None),
                      getattr(kind, "label", None) if isinstance(kind, bs.Kind) else None, "shape mismatch",
                      type(kind).__name__]
        elif field in ("delay", "ms", "lag_ms"):
            names += [field, "delays", "per-edge delays", "delay"]
        elif field == "weight":
            names += ["weight", "weight="]
        elif field == "plasticity":
            names += ["plasticity", "rule"]
        else:
            names += [field]
    return names


@fuzz(320)
@given(connection())
@example(("a.rate", "b.input", {"kind": "dense", "scale": 1e300}, ["scale"]))
@example(("a.rate", "b.input", {"weight": np.full((3, 2), 1e300)}, ["weight"]))
@example(("a.rate", "b.input", {"kind": "dense", "sign": np.bool_(True)}, ["sign"]))
@example(("a.rate", "b.input", {"kind": np.array([]), "weight": np.zeros((3, 2))}, ["kind"]))
@example(("a.rate", "b.input", {"kind": "dense", "ms": 2**31}, ["ms"]))  # found in CI: refused at build
@example(("a.rate", "b.input", {"kind": "dense", "delay": 2**31 - 1}, ["delay"]))
@example(("b.rate", "b.input", {"kind": "dense"}, ["source"]))  # found exploring seed 14: refused at connect
def test_connect(case):
    source, target, kwargs, mutated = case
    brain = fresh_brain()
    dt = 1.0

    def call():
        return brain.connect(source, target, **kwargs)

    judge("wiring", call, _connect_names(source, target, kwargs, mutated),
          lambda proj: check_projection(brain, proj, source, target, kwargs, dt))


@dataclasses.dataclass
class Loose:  # a region that is not frozen
    n: int = 1


region_values = st.sampled_from([bs.RatePopulation(n=2), bs.RatePopulation, object(), None, Loose(),
                                 "rate", bs.Dense(), bs.LIFPopulation(n=3), 3])
region_names = st.one_of(st.text(max_size=6), st.sampled_from(
    ["a", "dt", "_x", "x1", "1x", "a.b", "a b", "for", "None", "é", "x\n", "x-y", "a->b", "ok_name"]),
    st.integers(), st.none(), st.binary(max_size=3))

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@fuzz(120)
@given(region_names, region_values)
@example("x\n", bs.RatePopulation(n=2))
def test_add(name, region):
    brain = bs.Connectome()
    brain.add("a", bs.RatePopulation(n=3))

    def check(result):
        if not (isinstance(name, str) and NAME.fullmatch(name) and name not in ("dt", "a")):
            raise Wrong(f"region name {name!r} accepted")
        if result is not brain or brain.regions[name] is not region:
            raise Wrong("region not stored under its name")
        if not isinstance(region, (bs.RatePopulation, bs.LIFPopulation)):
            raise Wrong(f"{region!r} accepted as a region")
        bs.build(brain)  # and it builds
        return True

    names = [repr(name), str(name), type(region).__name__, getattr(region, "__name__", None)]
    judge("wiring", lambda: brain.add(name, region), names, check)


dt_values = st.one_of(weird, st.floats(min_value=1e-320, max_value=1e-30), st.floats(1e30, 1e308),
                      st.sampled_from([0.1, 0.25, 1.0, 2.0, np.float32(0.5), np.float64(1.0), np.int64(1)]))


@fuzz(120)
@given(dt_values, st.sampled_from(["none", "ms", "edge_ms", "lag"]))
@example(1e-300, "ms")
@example(1e300, "none")
@example(1e-45, "none")
def test_build_dt(dt, delays):
    brain = bs.Connectome()
    brain.add("a", bs.RatePopulation(n=3))
    brain.add("b", bs.RatePopulation(n=2))
    kwargs = {"none": {}, "ms": {"ms": 2.0}, "lag": {"lag_ms": 1.0},
              "edge_ms": {"ms": np.full((3, 2), 2.0)}}[delays]
    brain.connect("a.rate", "b.input", **kwargs)

    def check(net):
        if isinstance(dt, (bool, np.bool_)) or not (isinstance(dt, (int, float, np.integer, np.floating))
                                                    and math.isfinite(dt) and dt > 0):
            raise Wrong(f"dt={dt!r} accepted")
        params, _ = net.init(jax.random.key(0))
        if net.dt != float(dt):
            raise Wrong(f"net.dt {net.dt} != {dt}")
        stored = float(params["dt"])
        if not (math.isfinite(stored) and stored > 0 and math.isclose(stored, float(dt), rel_tol=1e-6)):
            raise Wrong(f"params['dt'] = {stored!r}, asked {dt!r}")
        steps = _expected_steps(kwargs, float(dt))
        if int(np.max(steps)) != net.projections[0].delay:
            raise Wrong(f"delay {net.projections[0].delay} != {steps}")
        return True

    judge("wiring", lambda: bs.build(brain, dt=dt), ["dt", "a.rate->b.input", "delay"], check)


def test_zz_wiring_outcomes(request):
    """The wiring row of the table (run last in this file: it reads the counters)."""
    assert_family("wiring", request, [test_connect, test_add, test_build_dt])
