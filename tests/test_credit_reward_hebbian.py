"""bs.credit.reward_hebbian (Miconi 2017): the supralinear Hebbian trace against a numpy replay of
the same kicked trial, the running error per condition, and the shuffled control."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import brainsim as bs
from brainsim.errors import RunInputError
from regions import Cortex


def network(n=5, seed=0):
    brain = bs.Connectome()
    brain.add("inp", bs.RatePopulation(2, activation="linear"))
    brain.add("ctx", Cortex(n))
    brain.add("out", bs.RatePopulation(1, activation="linear"))
    brain.connect("inp.rate", "ctx.input")
    brain.connect("ctx.rate", "out.input")
    net = bs.build(brain, dt=1.0)
    params, state = net.init(jax.random.key(seed), overrides={"ctx.tau": 4.0, "inp.tau": 1.0, "out.tau": 1.0})
    return net, params, state


def batch(size=2, steps=30, seed=0):
    rng = np.random.default_rng(seed)
    return {"inputs": {"inp.input": jnp.asarray(rng.normal(size=(size, steps, 2)), jnp.float32)},
            "targets": jnp.asarray(np.sign(rng.normal(size=(size, 1, 1))) * np.ones((size, steps, 1)),
                                   jnp.float32),
            "mask": jnp.asarray(np.arange(steps) >= steps - 10, jnp.float32)[None].repeat(size, 0),
            "condition": jnp.arange(size)}


def test_the_eligibility_is_the_summed_cubed_hebbian_product_of_a_replayed_trial():
    net, params, state = network()
    rule = bs.credit.reward_hebbian(net, state, region="ctx", output="out.rate", p_kick=0.2, kick=2.0,
                                    start_noise=0.1, trace_decay=0.3, skip=3)
    drive = {"inp.input": batch()["inputs"]["inp.input"][0]}
    key = jax.random.key(4)
    outputs, eligibility = jax.jit(rule.trial)(params, drive, key)
    # the same trial replayed through a plain run: its start and kicks, the kicks added to the input
    k_start, k_kicks = jax.random.split(key)
    start, kicks = rule.start(k_start), rule.kicks(k_kicks, 30)
    assert 0 < int(jnp.sum(kicks != 0)) < kicks.size and not jnp.any(kicks[:3])
    _, trace = net.run(params, start, 30, inputs={**drive, "ctx.input": kicks},
                       record=["ctx.rate", "out.rate"])
    np.testing.assert_allclose(outputs, trace["out.rate"], rtol=1e-5, atol=1e-6)
    rate = np.asarray(trace["ctx.rate"], np.float64)
    x = np.arctanh(rate)  # the potentials (rates stay well inside (-1, 1) here)
    x0 = np.asarray(start["regions"]["ctx"]["x"], np.float64)
    before, xbar, expected = np.tanh(x0), x0.copy(), np.zeros((5, 5))
    for t in range(30):
        if t >= 3:
            expected += (before[:, None] * (x[t] - xbar)[None, :]) ** 3
        xbar = 0.3 * xbar + 0.7 * x[t]
        before = rate[t]
    np.testing.assert_allclose(eligibility, expected, rtol=2e-3, atol=1e-7)


def test_each_condition_keeps_its_running_error_and_its_first_trial_changes_nothing():
    net, params, state = network()
    rule = bs.credit.reward_hebbian(net, state, region="ctx", output="out.rate", conditions=2,
                                    baseline_decay=0.75)
    data = batch()
    call = jax.jit(lambda p, s, k: rule(p, s, data, k))
    loss, updates, rule_state, metrics = call(params, rule.init(params), jax.random.key(0))
    assert not np.any(updates["ctx"]["W_rec"])  # no baseline yet: the first error is its own
    assert all(not np.any(leaf) for path, leaf in zip(bs.paths(updates), jax.tree.leaves(updates))
               if path != "ctx.W_rec")
    first = np.asarray(rule_state["baseline"])
    np.testing.assert_allclose(np.mean(first), loss, rtol=1e-5)
    _, updates, rule_state, _ = call(params, rule_state, jax.random.key(1))
    assert np.any(updates["ctx"]["W_rec"]) and np.all(np.isfinite(updates["ctx"]["W_rec"]))
    second = np.asarray(rule_state["baseline"])
    errors = (second - 0.75 * first) / 0.25  # each condition's new error, recovered from its baseline
    assert np.all(errors > 0) and not np.allclose(errors, first)
    assert 0.0 <= float(metrics["correct"]) <= 1.0


def test_shuffled_rewards_pair_each_trace_with_another_trials_error():
    net, params, state = network()
    data = batch(size=4)
    data["condition"] = jnp.zeros(4, jnp.int32)
    plain = bs.credit.reward_hebbian(net, state, region="ctx", output="out.rate")
    control = bs.credit.reward_hebbian(net, state, region="ctx", output="out.rate", shuffled=True)
    start = {"baseline": jnp.full(1, 0.5), "seen": jnp.ones(1, bool)}
    a = plain(params, start, data, jax.random.key(3))
    b = control(params, start, data, jax.random.key(3))
    np.testing.assert_allclose(a[0], b[0], rtol=1e-6)  # the same trials and errors, paired otherwise
    assert not np.allclose(a[1]["ctx"]["W_rec"], b[1]["ctx"]["W_rec"])


def test_reward_hebbian_trains_through_fit_and_refuses_bad_input():
    net, params, state = network()
    rule = bs.credit.reward_hebbian(net, state, region="ctx", output="out.rate", conditions=2)
    result = bs.train.fit(rule, params, optax.chain(optax.sgd(0.1), optax.clip(3e-4)),
                          lambda k, s: batch(), 3, trainable=["ctx.W_rec"], progress=False)
    assert set(result.history) >= {"loss", "error", "correct"} and result.rule_state["seen"].all()
    with pytest.raises(RunInputError, match="no region"):
        bs.credit.reward_hebbian(net, state, region="bg", output="out.rate")
    with pytest.raises(RunInputError, match="one state leaf"):
        brain = bs.Connectome().add("ctx", Cortex(3, two_compartment=True))
        other = bs.build(brain)
        bs.credit.reward_hebbian(other, other.init(jax.random.key(0))[1], region="ctx", output="ctx.rate")
    with pytest.raises(RunInputError, match="kick > 0"):
        bs.credit.reward_hebbian(net, state, region="ctx", output="out.rate", kick=0.0)
    with pytest.raises(RunInputError, match="pass one"):
        rule(params, rule.init(params), batch(), None)
    with pytest.raises(RunInputError, match="one condition per trial"):
        rule(params, rule.init(params), {**batch(), "condition": jnp.zeros(3, jnp.int32)}, jax.random.key(0))


def test_the_mean_absolute_error_loss_matches_numpy_in_trial_loss_and_the_rules():
    net, params, state = network()
    data = batch(size=3)
    outputs = jax.vmap(lambda x: net.run(params, state, 30, inputs={"inp.input": x},
                                         record=["out.rate"])[1]["out.rate"])(data["inputs"]["inp.input"])
    m = np.asarray(data["mask"])[..., None]
    expected = np.sum(np.abs(np.asarray(outputs) - np.asarray(data["targets"])) * m) / m.sum()
    loss = bs.train.trial_loss(net, state, output="out.rate", loss="mae")(params, data)
    np.testing.assert_allclose(loss, expected, rtol=1e-5)
    value, _, _, _ = bs.credit.bptt(net, state, output="out.rate", loss="mae")(params, (), data, None)
    np.testing.assert_allclose(value, expected, rtol=1e-5)
