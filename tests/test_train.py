"""Gradient training: remat and truncated BPTT, fit, a task learned."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import two_loop
from jax.test_util import check_grads

import brainsim as bs
from regions.cortex import Cortex


def loss_of(net, state, steps, **kwargs):
    drive = jnp.ones((steps, net.input_ports["a.input"].size))

    def loss(params):
        _, trace = net.run(params, state, steps, inputs={"a.input": drive}, record=["b.rate"], **kwargs)
        return jnp.sum(jnp.sin(trace["b.rate"]))

    return loss


def flat(tree):
    return np.concatenate([np.ravel(x) for x in jax.tree_util.tree_leaves(tree)])


def test_remat_gradients_equal_plain_bptt_and_finite_differences(key, x64):
    net = bs.build(two_loop(n_a=4, n_b=3))
    params, state = net.init(key)
    plain = jax.grad(loss_of(net, state, 24))(params)
    remat = jax.grad(loss_of(net, state, 24, remat=6))(params)
    np.testing.assert_allclose(flat(remat), flat(plain), rtol=1e-10, atol=1e-12)
    check_grads(loss_of(net, state, 24, remat=6), (params,), order=1, modes=["rev"])
    # and remat= is not ignored: the gradient recomputes its segments (a checkpoint in the jaxpr)
    assert checkpoints(jax.make_jaxpr(jax.grad(loss_of(net, state, 24, remat=6)))(params)) > 0
    assert checkpoints(jax.make_jaxpr(jax.grad(loss_of(net, state, 24)))(params)) == 0
    assert checkpoints(jax.make_jaxpr(jax.grad(loss_of(net, state, 24, truncate=6)))(params)) == 0


def checkpoints(closed_jaxpr):
    """How many remat (`jax.checkpoint`) primitives a jaxpr holds, nested jaxprs included."""
    from jax.extend import core as jex_core

    def count(jaxpr):
        found = 0
        for eqn in jaxpr.eqns:
            found += "remat" in eqn.primitive.name or "checkpoint" in eqn.primitive.name
            for value in eqn.params.values():
                for sub in value if isinstance(value, (tuple, list)) else [value]:
                    if isinstance(sub, jex_core.ClosedJaxpr):
                        found += count(sub.jaxpr)
                    elif isinstance(sub, jex_core.Jaxpr):
                        found += count(sub)
        return found

    return count(closed_jaxpr.jaxpr)


def gradient_temp_bytes(net, params, state, steps, **kwargs):
    """Scratch memory of the compiled gradient of a run's final state (no records kept)."""

    def loss(p, drive):
        final, _ = net.run(p, state, steps, inputs={"a.input": drive}, **kwargs)
        return sum(jnp.sum(jnp.sin(x)) for x in jax.tree_util.tree_leaves(final["regions"]))

    drive = jnp.ones((steps, net.input_ports["a.input"].size))  # an argument, not a constant
    compiled = jax.jit(jax.grad(loss)).lower(params, drive).compile()
    return compiled.memory_analysis().temp_size_in_bytes


def test_remat_gradient_memory_grows_like_the_square_root_of_the_run():
    """The README's "gradient memory ~ sqrt(T)": with remat=~sqrt(T) the backward pass keeps one
    state per segment plus one segment's steps, T/remat + remat states, instead of T."""
    net = bs.build(two_loop(n_a=64, n_b=64))
    params, state = net.init(jax.random.key(0))
    plain = {T: gradient_temp_bytes(net, params, state, T) for T in (400, 1600)}
    remat = {T: gradient_temp_bytes(net, params, state, T, remat=seg) for T, seg in ((400, 20), (1600, 40))}
    assert plain[1600] / plain[400] > 3.8  # plain BPTT: linear in T
    assert remat[1600] / remat[400] < 2.2  # T/remat + remat doubles when T quadruples
    assert remat[1600] < 0.1 * plain[1600]


def test_truncation_at_or_beyond_the_horizon_is_full_bptt(key, x64):
    net = bs.build(two_loop(n_a=4, n_b=3))
    params, state = net.init(key)
    full = flat(jax.grad(loss_of(net, state, 24))(params))
    np.testing.assert_array_equal(flat(jax.grad(loss_of(net, state, 24, truncate=24))(params)), full)
    np.testing.assert_array_equal(flat(jax.grad(loss_of(net, state, 24, truncate=100))(params)), full)
    short = flat(jax.grad(loss_of(net, state, 24, truncate=4))(params))
    assert not np.allclose(short, full)
    # truncation changes gradients, never the forward run
    assert loss_of(net, state, 24, truncate=4)(params) == loss_of(net, state, 24)(params)


def test_truncated_gradient_is_the_sum_of_windowed_gradients(key, x64):
    """With window k, the gradient equals the sum over windows of each window's
    gradient taken from a stopped state."""
    net = bs.build(two_loop(n_a=4, n_b=3))
    params, state = net.init(key)
    drive = jnp.ones((12, 4))
    truncated = flat(jax.grad(loss_of(net, state, 12, truncate=4))(params))
    starts = [state]
    for _ in range(2):
        starts.append(net.run(params, starts[-1], 4, inputs={"a.input": drive[:4]})[0])

    def window_loss(p, start):
        _, trace = net.run(p, start, 4, inputs={"a.input": drive[:4]}, record=["b.rate"])
        return jnp.sum(jnp.sin(trace["b.rate"]))

    summed = sum(flat(jax.grad(window_loss)(params, s)) for s in starts)
    np.testing.assert_allclose(truncated, summed, rtol=1e-10, atol=1e-12)


def sine_task():
    brain = bs.Connectome()
    brain.add("ctx", Cortex(64))
    brain.add("out", bs.RatePopulation(n=1, activation="linear"))
    brain.add("cue", bs.RatePopulation(n=2, activation="linear"))
    brain.connect("cue.rate", "ctx.input")
    brain.connect("ctx.rate", "out.input", scale=0.1)
    net = bs.build(brain, dt=1.0)
    params, state = net.init(jax.random.key(0),
                             overrides={"out.tau": 1.0, "cue.tau": 1.0, "ctx.tau": 5.0})
    steps, batch = 100, 16

    def data(key, step):
        fast = jax.random.bernoulli(key, 0.5, (batch,))
        period = jnp.where(fast, 25.0, 50.0)
        t = jnp.arange(steps, dtype=jnp.float32)
        targets = jnp.sin(2 * jnp.pi * t[None, :] / period[:, None])[..., None]
        cue = jax.nn.one_hot(fast.astype(jnp.int32), 2)[:, None, :] * jnp.ones((batch, steps, 2))
        return {"inputs": {"cue.input": cue}, "targets": targets}

    return net, params, state, data


def test_an_rnn_learns_to_generate_two_sines_on_cue():
    net, params, state, data = sine_task()
    loss = bs.train.trial_loss(net, state, output="out.rate")
    test_batch = data(jax.random.key(99), 0)
    before = float(loss(params, test_batch))
    result = bs.train.fit(loss, params, optax.adam(3e-3), data, steps=300, log_every=10,
                          trainable=["ctx", "ctx.rate->out.input", "cue.rate->ctx.input"],
                          evaluate=lambda p, k: loss(p, test_batch), eval_every=100)
    after = result.history["eval"][-1]
    assert before > 0.4 and after < 0.01  # targets have variance 0.5
    assert len(result.history["loss"]) == 31
    # frozen params did not move
    np.testing.assert_array_equal(result.params["out"]["tau"], params["out"]["tau"])
    np.testing.assert_array_equal(result.params["dt"], params["dt"])


def test_fit_logs_the_metrics_a_loss_returns():
    params = {"w": jnp.array(0.0)}

    def loss(p, batch, key):
        gap = p["w"] - 3.0
        return gap**2, {"gap": gap}

    result = bs.train.fit(loss, params, optax.sgd(0.1), lambda k, s: None, steps=30, log_every=10)
    assert result.history["step"] == [0, 10, 20, 29]
    # the gap before each logged update: w_k = 3 - 3 * 0.8^k under sgd(0.1) on (w - 3)^2
    np.testing.assert_allclose(result.history["gap"], [-3.0 * 0.8**k for k in (0, 10, 20, 29)], rtol=1e-4)
    np.testing.assert_allclose(result.history["loss"], np.square(result.history["gap"]), rtol=1e-4)


def test_fit_stops_on_a_non_finite_loss_with_the_last_good_params():
    params = {"w": jnp.array(1.0)}

    def exploding(p, batch, key):
        return jnp.where(p["w"] > 1.5, jnp.nan, (p["w"] - 10.0) ** 2)

    with pytest.raises(bs.NonFiniteError, match="loss became nan at step") as info:
        bs.train.fit(exploding, params, optax.sgd(0.01), lambda k, s: None, steps=100)
    assert float(info.value.params["w"]) <= 1.5
    assert info.value.step > 0


def test_training_resumes_from_its_checkpoint(tmp_path):
    net, params, state, data = sine_task()
    loss = bs.train.trial_loss(net, state, output="out.rate")
    opt = optax.adam(3e-3)
    whole = bs.train.fit(loss, params, opt, data, steps=20)
    bs.train.fit(loss, params, opt, data, steps=10, checkpoint=tmp_path, checkpoint_every=5)
    resumed = bs.train.fit(loss, params, opt, data, steps=20, checkpoint=tmp_path)
    for a, b in zip(jax.tree_util.tree_leaves(whole.params), jax.tree_util.tree_leaves(resumed.params)):
        np.testing.assert_array_equal(a, b)


def test_unknown_trainable_path_is_named():
    net, params, state, data = sine_task()
    loss = bs.train.trial_loss(net, state, output="out.rate")
    with pytest.raises(bs.ParamPathError, match="ctxx"):
        bs.train.fit(loss, params, optax.adam(1e-3), data, steps=1, trainable=["ctxx"])


def test_trainable_region_does_not_train_projections_leaving_it():
    net, params, state, data = sine_task()
    loss = bs.train.trial_loss(net, state, output="out.rate")
    result = bs.train.fit(loss, params, optax.adam(1e-2), data, steps=5, trainable=["ctx"])
    assert not np.array_equal(result.params["ctx"]["W_rec"], params["ctx"]["W_rec"])
    np.testing.assert_array_equal(result.params["ctx.rate->out.input"]["weight"],
                                  params["ctx.rate->out.input"]["weight"])


def test_trial_loss_draws_fresh_noise_from_its_key():
    brain = bs.Connectome()
    brain.add("a", bs.RatePopulation(n=3, noise=True))
    net = bs.build(brain)
    params, state = net.init(jax.random.key(0))
    batch = {"inputs": {"a.input": jnp.zeros((4, 30, 3))}, "targets": jnp.zeros((4, 30, 3))}
    loss = bs.train.trial_loss(net, state, output="a.rate")
    assert float(loss(params, batch, jax.random.key(1))) != float(loss(params, batch, jax.random.key(2)))
    with pytest.raises(bs.RunInputError, match=r"targets have shape \(4, 30, 2\)"):
        loss(params, {**batch, "targets": jnp.zeros((4, 30, 2))})


def test_resuming_with_iterable_data_skips_the_used_batches(tmp_path):
    def batches():
        return ({"x": jnp.asarray(float(i))} for i in range(1, 100))

    def loss(p, batch, key):
        return (p["w"] - batch["x"]) ** 2

    params = {"w": jnp.asarray(0.0)}
    whole = bs.train.fit(loss, params, optax.sgd(0.1), batches(), steps=6)
    bs.train.fit(loss, params, optax.sgd(0.1), batches(), steps=3, checkpoint=tmp_path, checkpoint_every=3)
    resumed = bs.train.fit(loss, params, optax.sgd(0.1), batches(), steps=6, checkpoint=tmp_path)
    assert float(resumed.params["w"]) == pytest.approx(float(whole.params["w"]))
    assert resumed.history["step"] == whole.history["step"]
