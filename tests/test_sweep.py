"""Sweeps over parameter grids and seeds: vmap, slices, device sharding."""

import jax
import numpy as np
import pytest
from helpers import noisy_loop, two_loop

import brainsim as bs
from brainsim import sweeps as sweep_module

GRID = {"a.tau": [2.0, 5.0, 10.0], "a.sigma": [0.1, 0.5]}


@pytest.fixture(scope="module")
def net():
    return bs.build(noisy_loop())


def test_sweep_is_labelled_and_equals_single_runs(net):
    result = bs.sweep(net, 40, grid=GRID, seeds=[0, 7], record=["out.rate", "a.rate"],
                      reduce={"a.rate": "mean"})
    assert list(result.coords) == ["a.tau", "a.sigma", "seed"]
    assert result.records["out.rate"].shape == (3, 2, 2, 40, 2)
    assert result.records["a.rate"].shape == (3, 2, 2, 40)
    for i, tau in enumerate(GRID["a.tau"]):
        for j, sigma in enumerate(GRID["a.sigma"]):
            for k, seed in enumerate([0, 7]):
                params, state = net.init(jax.random.key(seed))
                params = bs.set(bs.set(params, "a.tau", tau), "a.sigma", sigma)
                _, trace = net.run(params, state, 40, record=["out.rate"])
                np.testing.assert_allclose(result.records["out.rate"][i, j, k], trace["out.rate"],
                                           rtol=1e-5, atol=1e-6)


def test_sharded_over_8_devices_equals_the_unsharded_sweep(net, monkeypatch):
    assert len(jax.devices()) == 8  # conftest forces 8 CPU devices
    seen = []
    gather = sweep_module._gather
    monkeypatch.setattr(sweep_module, "_gather", lambda x: seen.append(x.sharding) or gather(x))
    sharded = bs.sweep(net, 30, grid=GRID, seeds=range(3), record=["out.rate"])
    assert all(len(s.device_set) == 8 for s in seen)
    single = bs.sweep(net, 30, grid=GRID, seeds=range(3), record=["out.rate"],
                      devices=jax.devices()[:1])
    np.testing.assert_array_equal(sharded.records["out.rate"], single.records["out.rate"])


def test_slices_compile_once_and_equal_one_batch(net):
    whole = bs.sweep(net, 30, grid=GRID, seeds=range(3), record=["out.rate"])
    before = bs.trace_count()
    sliced = bs.sweep(net, 30, grid=GRID, seeds=range(3), record=["out.rate"], batch_size=8)
    assert bs.trace_count() == before + 1  # 18 points in 3 padded slices of 8: one trace
    np.testing.assert_array_equal(sliced.records["out.rate"], whole.records["out.rate"])


def test_points_and_given_params(net, key):
    params, state = net.init(key)
    points = [{"a.tau": 3.0, "out.bias": [1.0, -1.0]}, {"a.tau": 8.0, "out.bias": 0.5}]
    result = bs.sweep(net, 20, points=points, seeds=[1], params=params, state=state,
                      record=["out.rate"])
    assert list(result.coords) == ["point", "seed"]
    assert result.records["out.rate"].shape == (2, 1, 20, 2)
    for i, point in enumerate(points):  # each point equals a run from the given params
        p = params
        for path, value in point.items():
            p = bs.set(p, path, value)
        run_state = {**state, "key": jax.random.fold_in(jax.random.key(1), 1)}
        _, trace = net.run(p, run_state, 20, record=["out.rate"])
        np.testing.assert_allclose(result.records["out.rate"][i, 0], trace["out.rate"], rtol=1e-5,
                                   atol=1e-6)


def test_seeds_change_weights_and_noise(net):
    result = bs.sweep(net, 20, seeds=[0, 1], record=["out.rate"])
    assert result.records["out.rate"].shape == (1, 2, 20, 2)
    assert not np.allclose(result.records["out.rate"][0, 0], result.records["out.rate"][0, 1])


def test_sweep_errors_name_the_problem():
    net = bs.build(two_loop())
    with pytest.raises(bs.ParamPathError, match="a.taux"):
        bs.sweep(net, 10, grid={"a.taux": [1.0]})
    with pytest.raises(bs.RunInputError, match=r"shape \(2,\).*\(6,\)"):
        bs.sweep(net, 10, grid={"a.bias": [[1.0, 2.0]]})
    with pytest.raises(bs.RunInputError, match="not both"):
        bs.sweep(net, 10, grid={"a.tau": [1.0]}, points=[{"a.tau": 1.0}])
    with pytest.raises(bs.RunInputError, match="seeds"):
        bs.sweep(net, 10, seeds=[])
    with pytest.raises(bs.RunInputError, match="seeds"):
        bs.sweep(net, 10, seeds=[0.7, 1.9])
    with pytest.raises(bs.RunInputError, match="steps"):
        bs.sweep(net, 0)
    with pytest.raises(bs.RunInputError, match="batch_size"):
        bs.sweep(net, 10, batch_size=0)
    with pytest.raises(bs.RunInputError, match="devices"):
        bs.sweep(net, 10, devices=[])
    params, state = net.init(jax.random.key(0))
    with pytest.raises(bs.RunInputError, match="together"):
        bs.sweep(net, 10, params=params)


def test_to_xarray(net):
    xarray = pytest.importorskip("xarray")
    result = bs.sweep(net, 10, grid={"a.tau": [2.0, 4.0]}, seeds=[0, 1, 2], record=["out.rate"])
    dataset = result.to_xarray()
    assert isinstance(dataset, xarray.Dataset)
    assert dataset["out.rate"].dims[:4] == ("a.tau", "seed", "time", "out.rate_dim1")
    np.testing.assert_array_equal(dataset["out.rate"].sel({"a.tau": 4.0, "seed": 2}).values,
                                  result.records["out.rate"][1, 2])
