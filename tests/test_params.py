"""Reading and writing parameters by readable path."""

import jax.numpy as jnp
import numpy as np
import pytest
from helpers import two_loop

import brainsim as bs


@pytest.fixture
def params(key):
    return bs.build(two_loop()).init(key)[0]


def test_get_by_region_and_projection_paths(params):
    assert bs.get(params, "a.tau") is params["a"]["tau"]
    w = params["a.rate->b.input"]["weight"]
    assert bs.get(params, "a.rate->b.input.weight") is w
    assert bs.get(params, "a->b.weight") is w  # short form: one projection joins a to b
    assert bs.get(params, "dt") is params["dt"]


def test_set_returns_new_params_and_keeps_dtype(params):
    new = bs.set(params, "a.tau", 25)
    assert float(new["a"]["tau"]) == 25.0
    assert new["a"]["tau"].dtype == params["a"]["tau"].dtype
    assert float(params["a"]["tau"]) == 10.0  # the original is untouched
    assert new["b"] is params["b"]


def test_set_broadcasts_scalars_and_refuses_wrong_shapes(params):
    new = bs.set(params, "a.bias", 0.5)
    np.testing.assert_array_equal(new["a"]["bias"], np.full(6, 0.5))
    with pytest.raises(bs.ParamPathError, match=r"shape \(3,\).*\(6,\)"):
        bs.set(params, "a.bias", jnp.zeros(3))


def test_unknown_path_lists_valid_paths(params):
    with pytest.raises(bs.ParamPathError, match=r"'a\.taux'.*a\.tau"):
        bs.get(params, "a.taux")
    with pytest.raises(bs.ParamPathError, match="no region 'zz'"):
        bs.get(params, "zz.tau")
    with pytest.raises(bs.ParamPathError, match="no projection matches"):
        bs.get(params, "b->b.weight")


def test_ambiguous_short_projection_path(key):
    brain = bs.Connectome()
    brain.add("a", bs.LIFPopulation(n=3, synapse="conductance"))
    brain.add("b", bs.LIFPopulation(n=3, synapse="conductance"))
    brain.connect("a.spike", "b.exc", delay=1)
    brain.connect("a.spike", "b.inh", delay=1)
    params, _ = bs.build(brain).init(key)
    with pytest.raises(bs.ParamPathError, match="ambiguous"):
        bs.get(params, "a->b.weight")
    assert bs.get(params, "a->b.inh.weight").shape == (3, 3)


def test_paths_lists_every_leaf(params):
    assert set(bs.paths(params)) == {
        "dt", "a.tau", "a.bias", "b.tau", "b.bias",
        "a.rate->b.input.weight", "b.rate->a.input.weight",
    }


def test_init_overrides(key):
    net = bs.build(two_loop())
    params, _ = net.init(key, overrides={"a.tau": 3.0, "dt": 0.1})
    assert float(params["a"]["tau"]) == 3.0
    assert float(params["dt"]) == pytest.approx(0.1)
