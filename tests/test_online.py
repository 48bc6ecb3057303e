"""brainsim.online: trial-by-trial gradient learning in closed loop."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import brainsim as bs

f32 = np.float32
T = 4


def network():
    """A rate unit population driven by a constant input, read out by a linear unit."""
    brain = bs.Connectome()
    brain.add("inp", bs.RatePopulation(n=3, activation="linear"))
    brain.add("ctx", bs.RatePopulation(n=5, activation="tanh"))
    brain.add("out", bs.RatePopulation(n=1, activation="linear"))
    brain.connect("inp.rate", "ctx.input")
    brain.connect("ctx.rate", "ctx.input", delay=1, scale=0.8)
    brain.connect("ctx.rate", "out.input")
    net = bs.build(brain, dt=1.0)
    params, state = net.init(jax.random.key(0), overrides={"inp.bias": [1.0, -0.5, 0.3], "ctx.tau": 2.0,
                                                           "out.tau": 1.0})
    return net, params, state


def leaves(tree):
    """Every leaf as a numpy array (keys as their data)."""
    out = []
    for leaf in jax.tree.leaves(tree):
        if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            leaf = jax.random.key_data(leaf)
        out.append(np.asarray(leaf))
    return out


def assert_trees_close(a, b, rtol=1e-5):
    for x, y in zip(leaves(a), leaves(b), strict=True):
        np.testing.assert_allclose(x, y, rtol=rtol, atol=1e-7)


def loss(trace):
    error = trace["out.rate"][:, 0] - 0.5
    return jnp.sum(error**2), {"last": trace["out.rate"][-1, 0]}


def test_each_trial_takes_one_step_on_its_own_gradient():
    """Against a loop written out: run a trial, differentiate its loss, step by SGD, go on."""
    net, params, state = network()
    trials = bs.online.trials(net, loss, optax.sgd(0.1), steps_per_trial=T, record=["out.rate"])
    p, _, s, out = trials(params, trials.init(params), state, n=3)

    ref_p, ref_s, losses = params, state, []
    for _ in range(3):
        def trial_loss(q, start=ref_s):
            new_state, trace = net.run(q, start, T, record=["out.rate"])
            return loss(trace)[0], new_state
        (value, new_state), grads = jax.value_and_grad(trial_loss, has_aux=True)(ref_p)
        grads = {**grads, "dt": jnp.zeros_like(grads["dt"])}  # dt is never trained
        ref_p = jax.tree.map(lambda w, g: w - 0.1 * g, ref_p, grads)
        ref_s = new_state
        losses.append(value)
    np.testing.assert_allclose(out["loss"], losses, rtol=1e-5)
    assert_trees_close(p, ref_p)
    assert_trees_close(s, ref_s)
    assert out["loss"][-1] < out["loss"][0]


def test_frozen_trials_are_one_plain_run_and_change_nothing():
    net, params, state = network()
    traces = []

    def counted(trace):
        traces.append(1)  # runs only while tracing
        return loss(trace)

    trials = bs.online.trials(net, counted, optax.adam(0.1), steps_per_trial=T, record=["out.rate"])
    opt_state = trials.init(params)
    p, o, s, out = trials(params, opt_state, state, n=5, learning=0.0)
    plain, trace = net.run(params, state, 5 * T, record=["out.rate"])
    assert_trees_close(s, plain, rtol=1e-6)
    np.testing.assert_allclose(out["summary"]["last"], np.asarray(trace["out.rate"])[T - 1::T, 0], rtol=1e-6)
    for a, b in zip(leaves((p, o)), leaves((params, opt_state)), strict=True):
        np.testing.assert_array_equal(a, b)
    # learning on again: the same compiled function (learning is traced)
    before = len(traces)
    p2, *_ = trials(params, opt_state, state, n=5, learning=1.0)
    assert len(traces) == before
    readout = "ctx.rate->out.input.weight"
    assert not np.array_equal(bs.get(p2, readout), bs.get(params, readout))


def test_a_frozen_probe_survives_a_gradient_that_is_not_finite():
    net, params, state = network()

    def broken(trace):
        value, summary = loss(trace)
        return jnp.sqrt(-value), summary  # NaN, and so are its gradients

    trials = bs.online.trials(net, broken, optax.sgd(0.1), steps_per_trial=T, record=["out.rate"])
    p, *_ = trials(params, trials.init(params), state, n=2, learning=0.0)
    for a, b in zip(leaves(p), leaves(params), strict=True):
        np.testing.assert_array_equal(a, b)
    p, *_ = trials(params, trials.init(params), state, n=2, learning=1.0)
    assert np.isnan(bs.get(p, "ctx.rate->out.input.weight")).all()


def test_only_the_trainable_params_change():
    net, params, state = network()
    trials = bs.online.trials(net, loss, optax.sgd(0.1), steps_per_trial=T, record=["out.rate"],
                              trainable=["ctx.rate->out.input.weight"])
    p, *_ = trials(params, trials.init(params), state, n=3)
    for path in bs.paths(params):
        changed = not np.array_equal(bs.get(p, path), bs.get(params, path))
        assert changed == (path == "ctx.rate->out.input.weight"), path


def test_bad_arguments_are_refused():
    net, params, state = network()
    with pytest.raises(ValueError, match="steps_per_trial"):
        bs.online.trials(net, loss, optax.sgd(0.1), steps_per_trial=0, record=["out.rate"])
    with pytest.raises(ValueError, match="record"):
        bs.online.trials(net, loss, optax.sgd(0.1), steps_per_trial=T, record=[])
    trials = bs.online.trials(net, loss, optax.sgd(0.1), steps_per_trial=T, record=["out.rate"])
    with pytest.raises(ValueError, match="trials"):
        trials(params, trials.init(params), state, n=0)
    with pytest.raises(ValueError, match=">= 0"):
        trials(params, trials.init(params), state, n=1, learning=-0.5)
    with pytest.raises(ValueError, match="scalar"):
        trials(params, trials.init(params), state, n=1, learning=np.ones(2))
