"""Local plasticity rules on projections."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import brainsim as bs
from brainsim.plasticity import ClimbingFibre, Oja, ThreeFactor
from regions import Critic, Dopamine


def oja_net(eta=0.002):
    brain = bs.Connectome()
    brain.add("src", bs.RatePopulation(n=3, activation="linear"))
    brain.add("out", bs.RatePopulation(n=1, activation="linear"))
    brain.connect("src.rate", "out.input", plasticity=Oja(eta=eta), scale=0.1)
    net = bs.build(brain)
    params, state = net.init(jax.random.key(0), overrides={"src.tau": 1.0, "out.tau": 1.0})
    return net, params, state


def correlated_inputs(steps, seed=0):
    covariance = np.array([[3.0, 1.0, 0.5], [1.0, 2.0, 0.3], [0.5, 0.3, 1.0]])
    samples = np.random.default_rng(seed).normal(size=(steps, 3)) @ np.linalg.cholesky(covariance).T
    return samples.astype(np.float32), np.linalg.eigh(covariance)[1][:, -1]


def test_oja_finds_the_first_principal_component_with_bounded_norm():
    net, params, state = oja_net()
    inputs, pc1 = correlated_inputs(20_000)
    final, _ = net.run(params, state, 20_000, inputs={"src.input": inputs}, chunk=5_000)
    w = np.asarray(final["projections"]["src.rate->out.input"]["weight"])[:, 0]
    assert np.linalg.norm(w) == pytest.approx(1.0, abs=0.02)
    assert abs(w @ pc1) / np.linalg.norm(w) > 0.999
    # the norm stays bounded throughout, from a larger start too
    big = {**state, "projections": {"src.rate->out.input": {
        **state["projections"]["src.rate->out.input"], "weight": jnp.full((3, 1), 3.0)}}}
    final, _ = net.run(params, big, 5_000, inputs={"src.input": inputs[:5_000]})
    assert np.linalg.norm(final["projections"]["src.rate->out.input"]["weight"]) < 1.05


def test_weights_live_in_state_and_rates_in_params():
    net, params, state = oja_net()
    assert set(params["src.rate->out.input"]) == {"eta"}
    assert set(state["projections"]["src.rate->out.input"]) == {"weight", "rule"}
    assert bs.get(params, "src->out.eta").dtype == jnp.float32


def test_a_zero_modulator_changes_no_weight():
    brain = bs.Connectome()
    brain.add("pre", bs.RatePopulation(n=4, activation="linear"))
    brain.add("post", bs.RatePopulation(n=3, activation="linear"))
    brain.add("silent", bs.RatePopulation(n=1, activation="linear"))  # never driven: always 0
    brain.connect("pre.rate", "post.input", plasticity=ThreeFactor(modulator="silent.rate", eta=1.0))
    net = bs.build(brain)
    params, state = net.init(jax.random.key(0), overrides={"pre.tau": 1.0})
    drive = jnp.asarray(np.random.default_rng(0).normal(size=(200, 4)), jnp.float32)
    final, _ = net.run(params, state, 200, inputs={"pre.input": drive})
    before = state["projections"]["pre.rate->post.input"]
    after = final["projections"]["pre.rate->post.input"]
    np.testing.assert_array_equal(after["weight"], before["weight"])
    assert float(jnp.abs(after["rule"]["eligibility"]).sum()) > 0  # the trace itself did build up


def bandit_agent(eta):
    brain = bs.Connectome()
    brain.add("ctx", bs.RatePopulation(n=1, activation="linear"))
    brain.add("policy", bs.SoftmaxPolicy(2))
    brain.add("task", bs.tasks.Bandit(2))
    brain.add("critic", Critic(1))
    brain.add("vta", Dopamine())
    rule = ThreeFactor(modulator="vta.rpe", post="policy.action", eta=eta, tau_e=1.0)
    brain.connect("ctx.rate", "policy.logits", scale=0.0, plasticity=rule)
    brain.connect("policy.action", "task.action", kind="identity")
    brain.connect("task.reward", "vta.reward", kind="identity")
    brain.connect("ctx.rate", "critic.features", kind="identity")
    brain.connect("critic.value", "vta.value", kind="identity")
    brain.connect("vta.rpe", "critic.rpe", kind="identity", delay=1)
    return bs.build(brain)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reward_modulated_learning_solves_a_two_armed_bandit(seed):
    net = bandit_agent(eta=0.2)
    overrides = {"ctx.tau": 1.0, "ctx.bias": 1.0, "vta.gamma": 0.0, "task.p": [0.8, 0.2]}
    params, state = net.init(jax.random.key(seed), overrides=overrides)
    _, trace = net.run(params, state, 3000, record=["policy.action"])
    assert np.asarray(trace["policy.action"])[-500:, 0].mean() > 0.9  # the better arm
    frozen = bs.set(params, "ctx->policy.eta", 0.0)  # control: no dopamine-gated learning
    _, trace = net.run(frozen, state, 3000, record=["policy.action"])
    assert abs(np.asarray(trace["policy.action"])[-500:, 0].mean() - 0.5) < 0.1


def test_climbing_fibre_rule_learns_a_linear_map():
    brain = bs.Connectome()
    brain.add("pf", bs.RatePopulation(n=20, activation="linear"))
    brain.add("pc", bs.RatePopulation(n=3, activation="linear"))
    brain.add("error", bs.RatePopulation(n=3, activation="linear"))  # carries actual - target
    rule = ClimbingFibre(modulator="error.rate", eta=0.02, lag=0)  # the error of this very step
    brain.connect("pf.rate", "pc.input", scale=0.0, plasticity=rule)
    brain.connect("pc.rate", "error.input", kind="identity")
    net = bs.build(brain)
    params, state = net.init(jax.random.key(0), overrides={"pf.tau": 1.0, "pc.tau": 1.0,
                                                          "error.tau": 1.0})
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 20)).astype(np.float32)
    target = (x @ rng.normal(size=(20, 3)) / np.sqrt(20)).astype(np.float32)
    _, trace = net.run(params, state, 4000, inputs={"pf.input": x, "error.input": -target},
                       record=["error.rate"])
    error = np.asarray(trace["error.rate"])
    assert (error[-300:] ** 2).mean() < 0.05 * (target**2).mean()


def test_gradients_flow_through_a_plastic_run(x64):
    net, params, state = oja_net(eta=0.01)
    inputs, _ = correlated_inputs(30)

    def loss(learning):
        p = {**params, "src.rate->out.input": learning}
        final, trace = net.run(p, state, 30, inputs={"src.input": jnp.asarray(inputs)}, record=["out.rate"])
        weight = final["projections"]["src.rate->out.input"]["weight"]
        return jnp.sum(trace["out.rate"] ** 2) + jnp.sum(weight)

    # the loss curves steeply in eta: a finer finite-difference step keeps its truncation error small
    check_grads(loss, (params["src.rate->out.input"],), order=1, modes=["fwd", "rev"], eps=1e-6)
    assert abs(float(jax.grad(loss)(params["src.rate->out.input"])["eta"])) > 0  # meta-learnable


def test_bad_rules_are_refused():
    brain = bs.Connectome()
    brain.add("a", bs.RatePopulation(n=3))
    brain.add("b", bs.RatePopulation(n=3))
    with pytest.raises(bs.WiringError, match="dense or matrix"):
        brain.connect("a.rate", "b.input", kind="one_to_one", plasticity=Oja())
    with pytest.raises(bs.WiringError, match="plasticity must be a rule"):
        brain.connect("a.rate", "b.input", plasticity="hebb")
    brain.connect("a.rate", "b.input", plasticity=ThreeFactor(modulator="vta.rpe"))
    with pytest.raises(bs.WiringError, match="modulator 'vta.rpe' is not an output port"):
        bs.build(brain)
