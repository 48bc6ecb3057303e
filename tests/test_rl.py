"""Reinforcement learning with the task inside the loop."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import brainsim as bs
from regions import Cortex, Dopamine


def test_dopamine_rpe_equals_the_td_error_computed_by_hand(key):
    net = bs.build(bs.Connectome().add("vta", Dopamine()))
    params, state = net.init(key, overrides={"vta.gamma": 0.9})
    rng = np.random.default_rng(0)
    steps = 50
    values = rng.normal(size=steps).astype(np.float32)
    rewards = (rng.random(steps) < 0.3).astype(np.float32)
    resets = np.zeros(steps, np.float32)
    resets[[0, 20, 35]] = 1.0
    _, trace = net.run(params, state, steps, record=["vta.rpe"], inputs={
        "vta.value": values, "vta.reward": rewards, "vta.reset": resets})
    expected = []
    for t in range(steps):
        previous = values[t - 1] if t > 0 else 0.0
        bootstrap = 0.0 if resets[t] else 0.9 * values[t]  # no bootstrapping across episodes
        expected.append(rewards[t] + bootstrap - previous)
    np.testing.assert_allclose(trace["vta.rpe"], expected, rtol=1e-5, atol=1e-6)


def test_discounted_returns_restart_after_done():
    rewards = jnp.array([1.0, 0.0, 2.0, 1.0, 0.0])
    done = jnp.array([0.0, 1.0, 0.0, 0.0, 1.0])
    returns = bs.rl.discounted_returns(rewards, 0.5, done)
    np.testing.assert_allclose(returns, [1.0, 0.0, 2.5, 1.0, 0.0])


def recurrent_bandit_agent():
    brain = bs.Connectome()
    brain.add("ctx", Cortex(32))
    brain.add("policy", bs.SoftmaxPolicy(2))
    brain.add("value", bs.RatePopulation(n=1, activation="linear"))
    brain.add("task", bs.tasks.Bandit(2))
    brain.connect("task.obs", "ctx.input", delay=1)
    brain.connect("task.reward", "ctx.input", delay=1)  # the last reward, as in meta-RL
    brain.connect("ctx.rate", "policy.logits", scale=0.1)
    brain.connect("ctx.rate", "value.input", scale=0.1)
    brain.connect("policy.action", "task.action", kind="identity")
    net = bs.build(brain)
    params, state = net.init(jax.random.key(0), overrides={"value.tau": 1.0, "task.p": [0.2, 0.8]})
    return net, params, state


def better_arm_rate(net, params, state, seed):
    _, trace = net.run(params, {**state, "key": jax.random.key(seed)}, 400, record=["policy.action"])
    return float(jnp.mean(trace["policy.action"][:, 1]))


def test_a2c_trains_a_recurrent_policy_on_a_bandit():
    net, params, state = recurrent_bandit_agent()
    loss = bs.rl.actor_critic_loss(net, state, 40, probs="policy.probs", action="policy.action",
                                   reward="task.reward", value="value.rate", episodes=16)
    agent = ["ctx", "value", "ctx.rate->policy.logits", "ctx.rate->value.input",
             "task.obs->ctx.input", "task.reward->ctx.input"]
    result = bs.train.fit(loss, params, optax.adam(1e-2), lambda k, s: None, steps=150,
                          trainable=agent, log_every=10)
    before = np.mean([better_arm_rate(net, params, state, s) for s in range(3)])
    after = np.mean([better_arm_rate(net, result.params, state, s) for s in range(3)])
    assert abs(before - 0.5) < 0.15  # untrained: near chance
    assert after > 0.9  # trained: the better arm, a wide margin over chance
    np.testing.assert_array_equal(result.params["task"]["p"], params["task"]["p"])  # the world is fixed


def test_a_state_function_gives_each_episode_its_own_task():
    """A policy that always pulls arm 0 earns that arm's p: one fixed start means one p for all
    256 episodes; starts drawn per episode (meta-RL) average p over the task family, E[p] = 0.5
    (within 4 standard errors, 4 x 0.29 / 16)."""
    task = bs.tasks.Bandit(n_arms=2, episode_steps=50, correlated=True)
    brain = bs.Connectome().add("task", task).add("policy", bs.SoftmaxPolicy(2))
    brain.connect("policy.action", "task.action", kind="identity", delay=1)
    net = bs.build(brain)
    params, state = net.init(jax.random.key(3))
    inputs = {"policy.logits": np.tile(np.float32([20.0, 0.0]), (50, 1))}
    fixed_p = float(state["regions"]["task"]["p"][0])
    kwargs = dict(probs="policy.probs", action="policy.action", reward="task.reward", episodes=256,
                  inputs=inputs, reward_delay=1)
    fixed = bs.rl.actor_critic_loss(net, state, 50, **kwargs)(params, None, jax.random.key(0))[1]
    fresh = bs.rl.actor_critic_loss(net, lambda k: net.init(k)[1], 50, **kwargs)(params, None, jax.random.key(0))[1]
    assert abs(fixed_p - 0.5) > 0.15
    assert float(fixed["mean_reward"]) * 50 / 49 == pytest.approx(fixed_p, abs=0.03)  # the last reward is shifted out
    assert float(fresh["mean_reward"]) * 50 / 49 == pytest.approx(0.5, abs=0.075)


def test_no_value_leaks_across_episode_boundaries(key):
    """Episodes in state A never see reward; those in state B do. A must stay at 0."""
    from regions import Critic

    brain = bs.Connectome()
    brain.add("critic", Critic(2))
    brain.add("vta", Dopamine())
    brain.connect("critic.value", "vta.value", kind="identity")
    brain.connect("vta.rpe", "critic.rpe", kind="identity", delay=1)
    net = bs.build(brain)
    params, state = net.init(key, overrides={"critic.eta": 0.3, "vta.gamma": 0.9})
    episodes, length = 100, 5
    features = np.zeros((2 * episodes * length, 2), np.float32)
    rewards = np.zeros(2 * episodes * length, np.float32)
    resets = np.zeros(2 * episodes * length, np.float32)
    for k in range(2 * episodes):
        start = k * length
        resets[start] = 1.0
        features[start:start + length, k % 2] = 1.0  # A episodes, then B, alternating
        if k % 2:
            rewards[start + 2] = 1.0  # B is rewarded inside its episode
    final, _ = net.run(params, state, len(rewards), inputs={
        "critic.features": features, "vta.reward": rewards, "vta.reset": resets})
    w = np.asarray(final["regions"]["critic"]["w"])
    assert abs(w[0]) < 0.02 and w[1] > 0.1
