"""Bad arguments raise a brainsim error naming the argument, port or path (issue 18).

Each family checks the error class and that the message names what was
wrong, and that good values of the same kind still give the right result.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainsim as bs

STEPS = 6


@pytest.fixture(scope="module")
def net():
    """ctx (3 units) -> zz (2 units), one delayed dense projection."""
    brain = bs.Connectome()
    brain.add("ctx", bs.RatePopulation(n=3))
    brain.add("zz", bs.RatePopulation(n=2))
    brain.connect("ctx.rate", "zz.input", delay=1)
    return bs.build(brain)


@pytest.fixture(scope="module")
def start(net):
    return net.init(jax.random.key(0))


def _run(net, start, **kwargs):
    params, state = start
    return net.run(params, state, STEPS, **kwargs)


# -- inputs of a run -----------------------------------------------------------
T = (STEPS, 3)


@pytest.mark.parametrize("inputs, match", [
    ([np.zeros(T)], r"inputs must be a dict.*got a list"),
    (np.zeros(T), r"inputs must be a dict.*got a ndarray"),
    ("ctx.input", r"inputs must be a dict.*got a str"),
    ({"ctx.input": "hello"}, r"input for ctx\.input.*real numbers.*'hello'"),
    ({"ctx.input": None}, r"input for ctx\.input.*real numbers.*None"),
    ({"ctx.input": np.ones(T) * 1j}, r"input for ctx\.input.*dtype complex128"),
    ({"ctx.input": np.zeros(T, "datetime64[s]")}, r"input for ctx\.input.*datetime64"),
    ({"ctx.input": np.full(T, "1.0")}, r"input for ctx\.input.*<U3"),
    ({"ctx.input": np.full(T, None)}, r"input for ctx\.input.*dtype object"),
    ({"ctx.input": lambda t: None}, r"function for ctx\.input.*one array.*None"),
    ({"ctx.input": lambda t: (1.0, 2.0, 3.0)}, r"function for ctx\.input.*one array.*tuple"),
    ({"ctx.input": lambda t: jnp.full(3, 1j)}, r"function for ctx\.input.*complex64"),
    ({"ctx.input": lambda t: "x"}, r"function for ctx\.input failed"),
])
def test_bad_inputs_name_the_argument_or_port(net, start, inputs, match):
    with pytest.raises(bs.RunInputError, match=match):
        _run(net, start, inputs=inputs, record=["zz.rate"])


def test_real_inputs_of_any_precision_are_accepted(net, start):
    drive = np.linspace(-1, 1, STEPS * 3).reshape(T)
    reference = _run(net, start, inputs={"ctx.input": drive.astype(np.float32)}, record=["zz.rate"])[1]
    as_jax = jnp.asarray(drive, jnp.float32)
    for same in (drive, drive.tolist(), as_jax, lambda t: as_jax[t]):
        trace = _run(net, start, inputs={"ctx.input": same}, record=["zz.rate"])[1]
        np.testing.assert_array_equal(trace["zz.rate"], reference["zz.rate"])
    counts = np.arange(STEPS * 3).reshape(T) % 3
    as_float = _run(net, start, inputs={"ctx.input": counts.astype(np.float32)}, record=["zz.rate"])[1]
    for same in (counts, counts.astype(np.uint8), counts.astype(np.int64), counts.tolist(),
                 lambda t: jnp.asarray(counts, jnp.int32)[t]):
        trace = _run(net, start, inputs={"ctx.input": same}, record=["zz.rate"])[1]
        np.testing.assert_array_equal(trace["zz.rate"], as_float["zz.rate"])
    spikes = np.eye(3, dtype=bool)[np.arange(STEPS) % 3]
    trace = _run(net, start, inputs={"ctx.input": spikes}, record=["zz.rate"])[1]
    expected = _run(net, start, inputs={"ctx.input": spikes.astype(np.float32)}, record=["zz.rate"])[1]
    np.testing.assert_array_equal(trace["zz.rate"], expected["zz.rate"])


# -- counts --------------------------------------------------------------------
@pytest.mark.parametrize("call, match", [
    (lambda net, start: _steps(net, start, 2**40), r"steps=1099511627776 exceeds 2,147,483,647"),
    (lambda net, start: _steps(net, start, np.int64(2**31)), r"steps=.*2147483648.* exceeds"),
    (lambda net, start: _steps(net, start, 2.0), r"int steps, got 2\.0"),
    (lambda net, start: bs.sweep(net, 2**40), r"sweep: steps=1099511627776 exceeds"),
    (lambda net, start: _run(net, start, every=2**40), r"every=1099511627776 exceeds"),
    (lambda net, start: bs.sweep(net, STEPS, batch_size=True), r"batch_size, got True"),
])
def test_counts_are_checked_against_int32(net, start, call, match):
    with pytest.raises(bs.RunInputError, match=match):
        call(net, start)


def _steps(net, start, steps):
    params, state = start
    return net.run(params, state, steps)


def test_numpy_int_counts_are_accepted(net, start):
    params, state = start
    plain = net.run(params, state, STEPS, every=2, record=["zz.rate"])[1]
    numpy = net.run(params, state, np.int64(STEPS), every=np.int32(2), record=["zz.rate"])[1]
    np.testing.assert_array_equal(numpy["zz.rate"], plain["zz.rate"])
    assert numpy["zz.rate"].shape == (STEPS // 2, 2)


# -- ports ---------------------------------------------------------------------
@pytest.mark.parametrize("shape, match", [
    (2.5, r"Port shape .* got 2\.5 \(float\)"),
    (True, r"Port shape .* got True \(bool\)"),
    (None, r"Port shape .* got None"),
    ("3", r"Port shape .* got '3' \(str\)"),
    ((2, True), r"Port\(shape=\(2, True\)\).*got True"),
    ((2, 2.0), r"Port\(shape=\(2, 2\.0\)\).*got 2\.0"),
    ((3, 0), r"Port\(shape=\(3, 0\)\).*positive"),
    (2**40, r"Port\(shape=1099511627776\).*exceeds"),
])
def test_port_refuses_bad_shapes(shape, match):
    with pytest.raises(ValueError, match=match):
        bs.Port(shape)


def test_port_accepts_int_like_shapes():
    assert bs.Port(np.int64(3)).shape == (3,)
    assert bs.Port([2, np.int32(3)]).shape == (2, 3)
    assert bs.Port(()).shape == ()
    assert all(type(d) is int for d in bs.Port((np.int64(2), 3)).shape)


# -- parameter values ----------------------------------------------------------
@pytest.mark.parametrize("path, value, match", [
    ("ctx.tau", "ten", r"'ctx\.tau' to 'ten'.*real numbers"),
    ("ctx.tau", None, r"'ctx\.tau' to None"),
    ("ctx.tau", 1j, r"'ctx\.tau' to 1j"),
    ("ctx.bias", np.ones(3) * 1j, r"'ctx\.bias' to .*complex128"),
    ("ctx.bias", [["a", "b", "c"]], r"'ctx\.bias' to a list \(dtype <U1\)"),
    ("ctx.bias", ["1.0", "2.0", "3.0"], r"'ctx\.bias' to a list \(dtype <U3\)"),
    ("dt", 0, r"'dt' to 0: dt must be a finite number of ms > 0"),
    ("dt", -1.0, r"'dt' to -1\.0: dt must be"),
    ("dt", float("nan"), r"'dt' to nan: dt must be"),
    ("dt", np.inf, r"'dt' to inf: dt must be"),
    ("dt", np.array(0.0), r"'dt' to 0\.0 \(dtype float64\): dt must be"),
    ("dt", True, r"'dt' to True: dt must be"),
])
def test_set_refuses_values_naming_the_path(start, path, value, match):
    with pytest.raises(bs.ParamPathError, match=match):
        bs.set(start[0], path, value)


def test_set_accepts_real_values_and_traced_dt(net, start):
    params = start[0]
    assert bs.set(params, "dt", np.float64(0.5))["dt"].dtype == params["dt"].dtype
    assert float(bs.set(params, "dt", 0.25)["dt"]) == 0.25
    bias = bs.set(params, "ctx.bias", np.array([1, 2, 3]))["ctx"]["bias"]
    np.testing.assert_array_equal(bias, np.array([1.0, 2.0, 3.0], np.float32))
    assert bias.dtype == params["ctx"]["bias"].dtype
    traced = jax.jit(lambda dt: bs.set(params, "dt", dt)["dt"])(0.0)  # not checked under a tracer
    assert float(traced) == 0.0
    assert float(jax.grad(lambda tau: bs.set(params, "ctx.tau", tau)["ctx"]["tau"] * 2)(3.0)) == 2.0
    with pytest.raises(bs.RunInputError, match=r"swept value: cannot set 'dt' to 0\.0"):
        bs.sweep(net, STEPS, grid={"dt": [1.0, 0.0]})
    with pytest.raises(bs.RunInputError, match=r"swept value: cannot set 'ctx\.tau' to 'ten'"):
        bs.sweep(net, STEPS, grid={"ctx.tau": ["ten", "eleven"]})
    with pytest.raises(bs.ParamPathError, match=r"'dt' to 0"):
        net.init(jax.random.key(0), overrides={"dt": 0})


# -- sweep seeds ---------------------------------------------------------------
@pytest.mark.parametrize("seeds, match", [
    (3, r"seeds must be a non-empty list of ints, such as seeds=range\(3\).*got 3"),
    (None, r"seeds=range\(3\).*got None"),
    ("ab", r"seeds=range\(3\).*got 'ab'"),
    ([], r"seeds must be a non-empty list.*got \[\]"),
    ([0, 1.5], r"seeds\[1\], got 1\.5"),
    ([True], r"seeds\[0\], got True"),
    ([-1], r"int >= 0 seeds\[0\], got -1"),
    ([2**40], r"seeds\[0\]=1099511627776 exceeds"),
])
def test_sweep_refuses_bad_seeds(net, seeds, match):
    with pytest.raises(bs.RunInputError, match=match):
        bs.sweep(net, STEPS, seeds=seeds, record=["zz.rate"])


def test_sweep_accepts_seed_arrays(net):
    plain = bs.sweep(net, STEPS, seeds=[0, 1], record=["zz.rate"])
    for seeds in (range(2), np.arange(2), jnp.arange(2), (np.int32(0), np.int64(1))):
        result = bs.sweep(net, STEPS, seeds=seeds, record=["zz.rate"])
        np.testing.assert_array_equal(result.coords["seed"], [0, 1])
        np.testing.assert_array_equal(result.records["zz.rate"], plain.records["zz.rate"])


# -- projection paths ----------------------------------------------------------
@pytest.mark.parametrize("tree, path, match", [
    (False, "ctx.rate->xx.input.weight",
     r"'ctx\.rate->xx\.input\.weight': no projection matches.*"
     r"projection paths: ctx\.rate->zz\.input\.weight"),
    (False, "zz->ctx.weight", r"'zz->ctx\.weight': no projection matches.*ctx\.rate->zz\.input\.weight"),
    (True, "net.ctx.rate->xx.input.weight",
     r"in 'net': .*'ctx\.rate->xx\.input\.weight': no projection matches.*ctx\.rate->zz\.input\.weight"),
])
def test_unknown_projection_path_lists_projection_paths(start, tree, path, match):
    params = {"net": start[0], "other": {"x": jnp.zeros(())}} if tree else start[0]
    with pytest.raises(bs.ParamPathError, match=match) as caught:
        bs.get(params, path)
    assert "valid paths: bias, tau" not in str(caught.value)


def test_projection_paths_resolve_flat_and_nested(start):
    params = start[0]
    weight = params["ctx.rate->zz.input"]["weight"]
    for tree, path in ((params, "ctx.rate->zz.input.weight"), (params, "ctx->zz.weight"),
                       ({"net": params}, "net.ctx.rate->zz.input.weight"),
                       ({"net": params}, "net.ctx->zz.weight")):
        assert bs.get(tree, path) is weight


# -- record, every, reduce -----------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    ({"record": 3}, r"record must be a list of port paths.*got 3"),
    ({"record": {"zz.rate": 1}}, r"record must be a list of port paths.*got \{'zz\.rate': 1\}"),
    ({"record": [3]}, r"record must hold port paths.*got 3"),
    ({"record": [["zz.rate"]]}, r"record must hold port paths.*got \['zz\.rate'\]"),
    ({"every": True}, r"int every, got True"),
    ({"every": 2.0}, r"int every, got 2\.0"),
    ({"every": 0}, r"int every, got 0"),
    ({"record": ["zz.rate"], "reduce": "median"}, r"unknown reducer 'median' for zz\.rate"),
    ({"record": ["zz.rate"], "reduce": 3}, r"reduce must be a name, a function or a dict, got 3"),
    ({"record": ["zz.rate"], "reduce": {"zz.rate": 3}},
     r"reduce for zz\.rate must be a name or a function, got 3"),
    ({"record": ["zz.rate"], "reduce": {"zz.rate": "median"}}, r"unknown reducer 'median' for zz\.rate"),
])
def test_bad_record_arguments(net, start, kwargs, match):
    with pytest.raises(bs.RunInputError, match=match):
        _run(net, start, **kwargs)


def test_good_record_arguments(net, start):
    full = _run(net, start, record=["zz.rate", "ctx.rate"])[1]
    as_tuple = _run(net, start, record=("zz.rate", "ctx.rate"), every=np.int64(3),
                    reduce={"zz.rate": "mean", "ctx.rate": None})[1]
    np.testing.assert_allclose(as_tuple["zz.rate"], full["zz.rate"][2::3].mean(axis=1), rtol=1e-6)
    np.testing.assert_array_equal(as_tuple["ctx.rate"], full["ctx.rate"][2::3])
    assert list(_run(net, start, record="zz.rate")[1]) == ["zz.rate"]
    assert _run(net, start, record=None)[1] == {}
