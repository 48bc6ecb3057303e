"""Synthetic gradients at truncation boundaries (cerebellar feedback estimation)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import brainsim as bs
from brainsim import synthetic_gradients as synthetic
from regions import Cortex

STEPS, BATCH = 20, 32


def input_cortex_readout(source: str, n_in: int):
    """source (linear, n_in) -> cortex (32) -> a linear readout."""
    brain = bs.Connectome()
    brain.add(source, bs.RatePopulation(n=n_in, activation="linear"))
    brain.add("ctx", Cortex(32))
    brain.add("out", bs.RatePopulation(n=1, activation="linear"))
    brain.connect(f"{source}.rate", "ctx.input")
    brain.connect("ctx.rate", "out.input", scale=0.3)
    return bs.build(brain, dt=1.0)


def delayed_cue_task():
    net = input_cortex_readout("cue", 2)
    params, state = net.init(jax.random.key(0), overrides={"cue.tau": 1.0, "out.tau": 1.0,
                                                          "ctx.tau": 2.0})
    params = bs.set(params, "ctx.W_rec", bs.get(params, "ctx.W_rec") * 0.6)

    def data(key, step):
        sign = jax.random.bernoulli(key, 0.5, (BATCH,))
        cue = jnp.zeros((BATCH, STEPS, 2)).at[:, 0, :].set(jax.nn.one_hot(sign.astype(jnp.int32), 2))
        late = (jnp.arange(STEPS) >= STEPS - 2)[None, :, None].astype(jnp.float32)
        target = jnp.where(sign, 1.0, -1.0)[:, None, None] * late
        return {"inputs": {"cue.input": cue}, "targets": target.astype(jnp.float32)}

    return net, params, state, data


def test_without_a_predictor_it_is_exactly_truncated_bptt():
    net, params, state, data = delayed_cue_task()
    predictor, wiring = synthetic.init_predictor(jax.random.key(1), 32)
    batch = data(jax.random.key(2), 0)
    control = synthetic.synthetic_gradient_loss(net, state, region="ctx", window=1, output="out.rate",
                                                wiring=wiring, use_predictor=False)
    truncated = bs.train.trial_loss(net, state, output="out.rate", truncate=1)
    g_control = jax.grad(lambda p: control({"net": p, "predictor": predictor}, batch)[0])(params)
    g_truncated = jax.grad(lambda p: truncated(p, batch) * STEPS)(params)  # mean -> sum over steps
    for a, b in zip(jax.tree_util.tree_leaves(g_control), jax.tree_util.tree_leaves(g_truncated)):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=1e-6)


def test_the_cerebellar_predictor_learns_the_future_gradient():
    net, params, state, data = delayed_cue_task()
    predictor, wiring = synthetic.init_predictor(jax.random.key(1), 32)
    loss = synthetic.synthetic_gradient_loss(net, state, region="ctx", window=1, output="out.rate",
                                             wiring=wiring)
    labels = {"net": jax.tree_util.tree_map(lambda _: "frozen", params),
              "predictor": jax.tree_util.tree_map(lambda _: "learn", predictor)}
    optimizer = optax.multi_transform({"frozen": optax.set_to_zero(), "learn": optax.adam(1e-3)}, labels)
    trained = bs.train.fit(loss, {"net": params, "predictor": predictor}, optimizer, data,
                           steps=1500).params["predictor"]

    # the true gradient of all future losses with respect to the cortical state at step 5
    batch = data(jax.random.key(7), 0)
    drive = batch["inputs"]["cue.input"][0]
    target = batch["targets"][0]
    middle, _ = net.run(params, state, 5, inputs={"cue.input": drive[:5]})

    def future_loss(h):
        start = {**middle, "regions": {**middle["regions"], "ctx": {"x": h}}}
        _, trace = net.run(params, start, STEPS - 5, inputs={"cue.input": drive[5:]}, record=["out.rate"])
        return jnp.sum(jnp.mean((trace["out.rate"] - target[5:]) ** 2, axis=1))

    h = middle["regions"]["ctx"]["x"]
    true = np.asarray(jax.grad(future_loss)(h))
    predicted = np.asarray(synthetic.predict(trained, wiring, h))
    untrained = np.asarray(synthetic.predict(predictor, wiring, h))
    assert np.all(untrained == 0.0)
    assert np.corrcoef(true, predicted)[0, 1] > 0.8
    assert 0.5 < np.linalg.norm(predicted) / np.linalg.norm(true) < 2.0


LAG = 3


def lagged_copy_task():
    """Output the input of three steps ago: credit must cross truncation boundaries."""
    net = input_cortex_readout("inp", 1)

    def data(key, step):
        x = jax.random.normal(key, (BATCH, STEPS, 1))
        y = jnp.concatenate([jnp.zeros((BATCH, LAG, 1)), x[:, :-LAG]], axis=1)
        return {"inputs": {"inp.input": x}, "targets": y}

    return net, data


@functools.cache  # each (seed, window, condition) trains once per session
def validation_error(seed, window, use_predictor):
    net, data = lagged_copy_task()
    params, state = net.init(jax.random.key(seed), overrides={"inp.tau": 1.0, "out.tau": 1.0,
                                                             "ctx.tau": 2.0})
    params = bs.set(params, "ctx.W_rec", bs.get(params, "ctx.W_rec") * 0.6)
    trained, _, _ = synthetic.fit_decoupled(
        net, state, params, data, 600, region="ctx", window=window, output="out.rate",
        key=jax.random.key(seed + 5), use_predictor=use_predictor,
        trainable=["ctx", "inp.rate->ctx.input", "ctx.rate->out.input"])
    validation = bs.train.trial_loss(net, state, output="out.rate")
    return float(validation(trained, data(jax.random.key(1234), 0)))


# Seeds 0-4 were used to choose fit_decoupled's predictor_steps=5; these are held out.
HELD_OUT = range(5, 10)


def test_the_cerebellum_helps_truncated_bptt_and_not_full_bptt():
    seeds = HELD_OUT
    truncated = [validation_error(s, 1, False) for s in seeds]
    helped = [validation_error(s, 1, True) for s in seeds]
    assert sum(h < t for h, t in zip(helped, truncated)) >= 4, (helped, truncated)  # paired, window 1
    # Near full BPTT, nothing much to add. (A window of STEPS would compare a run with itself: one
    # window has no boundary, so the predictor is never trained nor used.) With window 10 the
    # trial is cut once; truncated BPTT then reaches about the error of full BPTT, and the
    # predictor, trained and used at that one boundary, neither helps nor harms much.
    full = [validation_error(s, 10, False) for s in seeds]
    full_helped = [validation_error(s, 10, True) for s in seeds]
    assert all(a != b for a, b in zip(full_helped, full))  # the predictor did act
    for a, b in zip(full_helped, full):
        assert 0.8 <= a / b <= 1.25, (full_helped, full)  # with little truncated, little to add
    # and what it adds shrinks as less is truncated
    assert np.mean(np.divide(helped, truncated)) < 0.8 * np.mean(np.divide(full_helped, full))


def test_fit_decoupled_runs_on_the_training_loop_of_fit(tmp_path):
    """Checkpoint and resume come from the shared loop: 6 steps equal 3 + 3 resumed."""
    net, data = lagged_copy_task()
    params, state = net.init(jax.random.key(0))
    kwargs = dict(region="ctx", window=2, output="out.rate", key=jax.random.key(3), progress=False)
    whole, predictor, history = synthetic.fit_decoupled(net, state, params, data, 6, **kwargs)
    synthetic.fit_decoupled(net, state, params, data, 3, checkpoint=tmp_path, checkpoint_every=1, **kwargs)
    resumed, resumed_predictor, resumed_history = synthetic.fit_decoupled(
        net, state, params, data, 6, checkpoint=tmp_path, checkpoint_every=1, **kwargs)
    assert len(history["mse"]) == 6 and resumed_history["mse"] == history["mse"]
    for a, b in zip(jax.tree_util.tree_leaves((whole, predictor)),
                    jax.tree_util.tree_leaves((resumed, resumed_predictor))):
        np.testing.assert_array_equal(a, b)


def test_fit_decoupled_stops_at_a_non_finite_loss():
    net, data = lagged_copy_task()
    params, state = net.init(jax.random.key(0))
    bad = bs.set(params, "ctx.W_rec", jnp.full_like(bs.get(params, "ctx.W_rec"), jnp.nan))
    with pytest.raises(bs.NonFiniteError, match="step 0"):
        synthetic.fit_decoupled(net, state, bad, data, 3, region="ctx", window=2, output="out.rate",
                                progress=False)


def test_the_old_module_name_says_what_to_use():
    import importlib
    import sys

    sys.modules.pop("brainsim.synthetic", None)
    with pytest.warns(DeprecationWarning, match="brainsim.synthetic_gradients"):
        importlib.import_module("brainsim.synthetic")


def test_with_a_mask_only_the_steps_with_feedback_count():
    """Sparse feedback: without a predictor the loss is truncated BPTT on the masked steps only."""
    net, params, state, data = delayed_cue_task()
    _, wiring = synthetic.init_predictor(jax.random.key(1), 32)
    batch = data(jax.random.key(2), 0)
    mask = jnp.broadcast_to((jnp.arange(STEPS) % 2 == 0).astype(jnp.float32), (BATCH, STEPS))
    batch = {**batch, "targets": batch["targets"] + 0.5, "mask": mask}
    control = synthetic.synthetic_gradient_loss(net, state, region="ctx", window=1, output="out.rate",
                                                wiring=wiring, use_predictor=False)
    truncated = bs.train.trial_loss(net, state, output="out.rate", truncate=1)
    predictor, _ = synthetic.init_predictor(jax.random.key(1), 32)
    value, metrics = control({"net": params, "predictor": predictor}, batch)
    np.testing.assert_allclose(metrics["mse"], truncated(params, batch), rtol=1e-5)
    np.testing.assert_allclose(value, truncated(params, batch) * STEPS / 2, rtol=1e-5)
    g_control = jax.grad(lambda p: control({"net": p, "predictor": predictor}, batch)[0])(params)
    g_truncated = jax.grad(lambda p: truncated(p, batch) * STEPS / 2)(params)
    for a, b in zip(jax.tree_util.tree_leaves(g_control), jax.tree_util.tree_leaves(g_truncated)):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=1e-6)
    with pytest.raises(bs.RunInputError, match="mask"):
        control({"net": params, "predictor": predictor}, {**batch, "mask": mask[:, :5]})


def test_the_two_layer_cerebellum_is_a_relu_network_with_a_zero_readout():
    predictor, wiring = synthetic.init_predictor(jax.random.key(0), 6, hidden=(16, 12))
    assert [layer["W"].shape for layer in predictor["layers"]] == [(6, 16), (16, 12)]
    h = jax.random.normal(jax.random.key(1), (6,))
    np.testing.assert_array_equal(synthetic.predict(predictor, wiring, h), np.zeros(6))
    rng = np.random.default_rng(0)
    trained = jax.tree_util.tree_map(lambda a: jnp.asarray(rng.normal(size=a.shape), a.dtype), predictor)
    a = np.asarray(h, np.float64)
    for layer in trained["layers"]:  # the same network in numpy
        a = np.maximum(a @ np.asarray(layer["W"], np.float64) + np.asarray(layer["b"], np.float64), 0.0)
    expected = a @ np.asarray(trained["W_out"], np.float64) + np.asarray(trained["b"], np.float64)
    np.testing.assert_allclose(synthetic.predict(trained, wiring, h), expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(bs.RunInputError, match="not both"):
        synthetic.init_predictor(jax.random.key(0), 6, hidden=(4,), n_granule=8)
    with pytest.raises(bs.RunInputError, match="hidden layer"):
        synthetic.init_predictor(jax.random.key(0), 6, hidden=(0,))
    with pytest.raises(bs.RunInputError, match="sequence of layer widths"):
        synthetic.init_predictor(jax.random.key(0), 6, hidden=400)


def _fit(steps, **kwargs):
    net, data = lagged_copy_task()
    params, state = net.init(jax.random.key(0))
    return synthetic.fit_decoupled(net, state, params, data, steps, region="ctx", window=2,
                                   output="out.rate", key=jax.random.key(3), progress=False,
                                   hidden=(16, 16), **kwargs)


def test_a_cerebellum_ablated_from_the_start_is_plain_truncated_bptt():
    ablated, predictor, _ = _fit(4, joint=True, ablate_at=0)
    plain, _, _ = _fit(4, use_predictor=False)
    for a, b in zip(jax.tree_util.tree_leaves(ablated), jax.tree_util.tree_leaves(plain)):
        np.testing.assert_array_equal(a, b)
    assert all(np.all(np.asarray(w) == 0) for w in (predictor["W_out"], predictor["b"]))  # never learned


def test_a_mid_training_ablation_freezes_the_cerebellum_and_changes_what_cortex_learns():
    early, early_predictor, _ = _fit(3, joint=True)
    intact, _, _ = _fit(6, joint=True)
    ablated, ablated_predictor, _ = _fit(6, joint=True, ablate_at=3)
    assert np.any(np.asarray(early_predictor["W_out"]) != 0)  # it learned before the lesion ...
    for a, b in zip(jax.tree_util.tree_leaves(ablated_predictor), jax.tree_util.tree_leaves(early_predictor)):
        np.testing.assert_array_equal(a, b)  # ... and nothing after
    differs = [not np.array_equal(a, b) for a, b in zip(jax.tree_util.tree_leaves(ablated),
                                                         jax.tree_util.tree_leaves(intact))]
    assert any(differs)
    with pytest.raises(bs.RunInputError, match="ablate_at"):
        _fit(1, ablate_at=-1)

