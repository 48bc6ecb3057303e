"""Projection kinds, sparse structure and sign constraints (Dale's law)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainsim as bs


def one_hop(kind="dense", src=None, dst=None, **connect):
    """src -> dst with a zero-delay projection, both linear with tau = dt."""
    brain = bs.Connectome()
    brain.add("src", src or bs.RatePopulation(n=6, activation="linear"))
    brain.add("dst", dst or bs.RatePopulation(n=5, activation="linear"))
    brain.connect("src.rate", "dst.input", kind=kind, **connect)
    return bs.build(brain)


def contribution(net, params, state, x):
    """The input that dst receives when src's rate is x."""
    params = bs.set(params, "src.tau", 1.0)
    _, signals = net.step(params, state, {"src.input": x})
    return np.asarray(signals["dst.input"])


def test_dense_is_a_matrix_product(key):
    net = one_hop()
    params, state = net.init(key)
    x = jnp.arange(6.0)
    w = np.asarray(bs.get(params, "src->dst.weight"))
    assert w.shape == (6, 5)
    np.testing.assert_allclose(contribution(net, params, state, x), np.arange(6.0) @ w, rtol=1e-5)


def test_sparse_has_fixed_distinct_fan_in(key):
    net = one_hop("sparse", fan_in=3)
    params, state = net.init(key)
    index = np.asarray(state["projections"]["src.rate->dst.input"]["index"])
    assert index.shape == (5, 3)
    assert all(len(set(row)) == 3 for row in index)
    assert index.min() >= 0 and index.max() < 6
    w = np.asarray(bs.get(params, "src->dst.weight"))
    dense = np.zeros((6, 5))
    for j in range(5):
        dense[index[j], j] = w[j]
    x = jax.random.normal(key, (6,))
    np.testing.assert_allclose(contribution(net, params, state, x), np.asarray(x) @ dense,
                               rtol=1e-5, atol=1e-6)


def test_sparse_connectivity_differs_between_seeds():
    net = one_hop("sparse", fan_in=2)
    a = net.init(jax.random.key(1))[1]["projections"]["src.rate->dst.input"]["index"]
    b = net.init(jax.random.key(2))[1]["projections"]["src.rate->dst.input"]["index"]
    assert not np.array_equal(a, b)


def test_one_to_one_and_identity(key):
    pop = bs.RatePopulation(n=4, activation="linear")
    net = one_hop("one_to_one", src=pop, dst=pop, scale=2.0)
    params, state = net.init(key)
    x = jnp.array([1.0, -2.0, 3.0, 0.5])
    np.testing.assert_allclose(contribution(net, params, state, x), 2 * x)
    net = one_hop("identity", src=pop, dst=pop)
    params, state = net.init(key)
    assert params["src.rate->dst.input"] == {}
    np.testing.assert_allclose(contribution(net, params, state, x), x)


def test_matrix_projection_starts_from_the_given_weights(key):
    m = np.arange(30.0).reshape(6, 5) / 30
    net = one_hop(weight=m)
    params, state = net.init(key)
    np.testing.assert_allclose(bs.get(params, "src->dst.weight"), m, rtol=1e-6)
    x = jnp.ones(6)
    np.testing.assert_allclose(contribution(net, params, state, x), np.ones(6) @ m, rtol=1e-5)


@pytest.mark.parametrize("kind, extra", [("dense", {}), ("sparse", {"fan_in": 4})])
def test_dale_signs_hold_whatever_the_stored_weights(key, kind, extra):
    src = bs.RatePopulation(n=6, activation="linear", exc_fraction=0.5)  # 3 E, 3 I
    net = one_hop(kind, src=src, **extra)
    params, state = net.init(key)
    # store weights of random sign, as training might
    w = bs.get(params, "src->dst.weight")
    params = bs.set(params, "src->dst.weight", w * jnp.sign(jax.random.normal(key, w.shape)))
    excitatory_only = jnp.array([1.0, 1, 1, 0, 0, 0])
    inhibitory_only = jnp.array([0.0, 0, 0, 1, 1, 1])
    assert np.all(contribution(net, params, state, excitatory_only) >= 0)
    assert np.all(contribution(net, params, state, inhibitory_only) <= 0)


def test_projection_sign(key):
    net = one_hop(sign=-1)
    params, state = net.init(key)
    assert np.all(contribution(net, params, state, jnp.ones(6)) < 0)


def test_sign_conflicting_with_dale_is_refused():
    brain = bs.Connectome()
    brain.add("e", bs.RatePopulation(n=4, exc_fraction=0.75))
    with pytest.raises(bs.WiringError, match="Dale"):
        brain.connect("e.rate", "e.input", sign=1, delay=1)
