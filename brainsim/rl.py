"""Policy-gradient reinforcement learning with the task inside the loop.

`actor_critic_loss` builds the advantage actor-critic (A2C) loss of a closed
loop: a network whose policy region samples actions, a task region that
turns them into rewards, and optionally a value readout, all in one run.
For each of ``episodes`` parallel episodes (the run's noise, hence the
sampled actions, differ by key) it records the action probabilities
``pi_t``, the sampled one-hot actions ``a_t``, the rewards ``r_t`` and
values ``V_t``, computes discounted returns
``G_t = r_t + gamma G_{t+1}`` (restarting after ``done``), and returns

    L = -mean(log pi_t(a_t) * sg(G_t - V_t)) + c_V mean((G_t - V_t)^2)
        - c_H mean(H(pi_t)),

``sg`` stopping gradients (Williams 1992 for REINFORCE; Mnih et al. 2016 for
A2C). Without a value port the baseline is the batch mean return
(REINFORCE with baseline). The gradient flows through the probabilities
and the value, through every recurrent step of the policy network, so the
same loss trains recurrent policies for meta-RL (Wang et al. 2018).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax


def discounted_returns(rewards, gamma, done=None):
    """``G_t = r_t + gamma (1 - done_t) G_{t+1}`` along the first axis."""
    continues = jnp.ones_like(rewards) if done is None else 1.0 - done

    def back(g_next, inputs):
        r, c = inputs
        g = r + gamma * c * g_next
        return g, g

    _, returns = lax.scan(back, jnp.zeros_like(rewards[0]), (rewards, continues), reverse=True)
    return returns


def actor_critic_loss(net, state, steps: int, *, probs: str, action: str, reward: str,
                      value: str | None = None, done: str | None = None, episodes: int = 8,
                      gamma: float = 0.9, value_weight: float = 0.5,
                      entropy_weight: float = 0.01, inputs=None, reward_delay: int = 0):
    """The A2C (or, without ``value``, REINFORCE) loss of a closed-loop run.

    Args:
      net, state: the network (policy, task, ...) and the state episodes start from; or a
        function ``key -> state`` that gives each episode its own start, e.g. a task with
        new arms (``lambda key: net.init(key)[1]``) for meta-reinforcement learning, where
        every episode of the batch must meet another task.
      steps: steps per episode.
      probs, action, reward: the ports of the policy's probabilities, its
        sampled one-hot action, and the task's reward.
      value: the port of the critic's value estimate (scalar or size 1).
      done: the task's episode-end port, where returns restart.
      episodes: episodes per loss evaluation, run in parallel (vmap).
      gamma, value_weight, entropy_weight: discount and loss weights.
      inputs: external inputs shared by every episode (as in `Network.run`).
      reward_delay: steps between an action and the reward it earns (1 when
        the action reaches the task through a ``delay=1`` projection, as with
        `brainsim.tasks.TrialTask`); rewards are shifted back onto the steps
        of the actions that earned them.
    Returns:
      ``loss(params, batch, key) -> (loss, metrics)``, usable with
      `brainsim.train.fit` (``batch`` is ignored; ``key`` draws the episodes).
    """
    record = [probs, action, reward] + [p for p in (value, done) if p is not None]

    def episode(params, key):
        if callable(state):
            start_key, key = jax.random.split(key)
            start = state(start_key)
        else:
            start = state
        _, trace = net.run(params, {**start, "key": key}, steps, inputs=inputs, record=record)
        return trace

    def loss(params, batch=None, key=None):
        key = jax.random.key(0) if key is None else key
        traces = jax.vmap(episode, in_axes=(None, 0))(params, jax.random.split(key, episodes))
        p, a = traces[probs], traces[action]
        r = traces[reward].reshape(episodes, steps)
        if reward_delay:
            r = jnp.concatenate([r[:, reward_delay:], jnp.zeros_like(r[:, :reward_delay])], axis=1)
        d = None if done is None else traces[done].reshape(episodes, steps)
        returns = jax.vmap(lambda r_, d_: discounted_returns(r_, gamma, d_),
                           in_axes=(0, None if d is None else 0))(r, d)
        if value is None:
            v = jnp.mean(returns, axis=0, keepdims=True) * jnp.ones_like(returns)
        else:
            v = traces[value].reshape(episodes, steps)
        advantage = lax.stop_gradient(returns) - v
        log_pi = jnp.log(jnp.sum(p * a, axis=-1) + 1e-8)
        entropy = -jnp.sum(p * jnp.log(p + 1e-8), axis=-1)
        policy_loss = -jnp.mean(log_pi * lax.stop_gradient(advantage))
        value_loss = jnp.mean(advantage**2) if value is not None else jnp.zeros(())
        total = policy_loss + value_weight * value_loss - entropy_weight * jnp.mean(entropy)
        return total, {"mean_reward": jnp.mean(r), "policy_loss": policy_loss}

    return loss
