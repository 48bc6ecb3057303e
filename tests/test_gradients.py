"""Gradients through runs agree with finite differences (float64)."""

import jax
import jax.numpy as jnp
import numpy as np
from helpers import two_loop
from jax.test_util import check_grads

import brainsim as bs


def test_check_grads_through_a_delayed_loop(key, x64):
    net = bs.build(two_loop(n_a=4, n_b=3))
    params, state = net.init(key)
    assert params["a"]["tau"].dtype == jnp.float64
    drive = jax.random.normal(key, (12, 4), jnp.float64)

    def loss(trainable):
        p = {**params, **trainable}
        _, trace = net.run(p, state, 12, inputs={"a.input": drive}, record=["b.rate"])
        return jnp.sum(trace["b.rate"] ** 2)

    trainable = {
        "a": params["a"],
        "a.rate->b.input": params["a.rate->b.input"],
        "b.rate->a.input": params["b.rate->a.input"],  # the sparse return path
    }
    check_grads(loss, (trainable,), order=2, modes=["fwd", "rev"])


def test_gradient_reaches_through_the_delay_to_the_source(key, x64):
    """The delayed b -> a projection carries gradient back into b's params."""
    net = bs.build(two_loop(n_a=4, n_b=3))
    params, state = net.init(key)
    drive = jnp.ones((10, 4), jnp.float64)

    def loss(b_bias):
        p = bs.set(params, "b.bias", b_bias)
        return jnp.sum(net.run(p, state, 10, inputs={"a.input": drive}, record=["a.rate"])[1]["a.rate"])

    grad = jax.grad(loss)(params["b"]["bias"])
    assert np.all(np.abs(grad) > 0)
    check_grads(loss, (params["b"]["bias"],), order=1, modes=["rev"])


def test_dt_is_differentiable(key, x64):
    net = bs.build(two_loop(n_a=4, n_b=3))
    params, state = net.init(key)
    drive = jnp.ones((8, 4), jnp.float64)

    def loss(dt):
        p = bs.set(params, "dt", dt)
        return jnp.sum(net.run(p, state, 8, inputs={"a.input": drive}, record=["b.rate"])[1]["b.rate"])

    check_grads(loss, (jnp.asarray(0.5),), order=1, modes=["fwd", "rev"])
