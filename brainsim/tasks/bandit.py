"""Multi-armed bandits with Bernoulli rewards, fixed or resampled per episode.

Each step the agent pulls one arm (a one-hot ``action``) and receives reward
1 with that arm's probability, else 0 (no pull, no reward). With
``episode_steps`` set, the probabilities are redrawn at the start of every
episode, as in the meta-reinforcement-learning bandits of Wang et al.
(2018, Nat Neurosci 21, 860): *independent* arms draw each probability
from U(0, 1); *correlated* two-armed bandits draw ``p_1 ~ U(0, 1)`` and set
``p_2 = 1 - p_1``. Without episodes the probabilities are the param ``p``.

Observations: a constant 1 (one context); ``target``: one-hot of the best
arm; ``done``: 1 on the last step of an episode (every step without
episodes). Params: ``p`` (n_arms,).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from brainsim.checks import check_int
from brainsim.dtypes import param
from brainsim.ports import Port
from brainsim.region import Region
from brainsim.tasks.rollout import rollout_trials


@dataclasses.dataclass(frozen=True)
class Bandit(Region):
    """``n_arms`` Bernoulli arms (see the module docstring)."""

    n_arms: int = 2
    episode_steps: int | None = None
    correlated: bool = False

    def __post_init__(self):
        check_int("Bandit", "n_arms", self.n_arms, minimum=2)
        if self.correlated and self.n_arms != 2:
            raise ValueError("correlated bandits have two arms (p_2 = 1 - p_1)")
        if self.episode_steps is not None:
            check_int("Bandit", "episode_steps (or None)", self.episode_steps)

    @property
    def inputs(self):
        return {"action": Port(self.n_arms, "event")}

    @property
    def outputs(self):
        return {
            "obs": Port(1),
            "reward": Port((), "scalar"),
            "done": Port((), "event"),
            "target": Port(self.n_arms),
        }

    def trials(self, params, key, batch: int, steps: int = 100) -> dict:
        """Supervised batches: random-agent rollouts labelled by the oracle
        (see `brainsim.tasks.rollout`)."""
        return rollout_trials(self, params, key, batch, steps)

    def draw(self, key, dtype):
        """Reward probabilities of a new episode."""
        if self.correlated:
            p1 = jax.random.uniform(key, (), dtype)
            return jnp.stack([p1, 1.0 - p1])
        return jax.random.uniform(key, (self.n_arms,), dtype)

    def init(self, key):
        params = {"p": param(jnp.linspace(0.2, 0.8, self.n_arms))}
        state = {}
        if self.episode_steps is not None:
            p = self.draw(key, params["p"].dtype)
            state = {"p": p, "p_chosen": p, "t": jnp.zeros((), jnp.int32)}
        return params, state

    def step(self, params, state, inputs, ctx):
        k_reward, k_episode = jax.random.split(ctx.key)
        probabilities = params["p"] if self.episode_steps is None else state["p"]
        # the action arriving now was chosen on the previous step, under that step's arms
        chosen_under = params["p"] if self.episode_steps is None else state["p_chosen"]
        p = jnp.sum(inputs["action"] * chosen_under)
        reward = jax.random.bernoulli(k_reward, p).astype(p.dtype)
        target = jax.nn.one_hot(jnp.argmax(probabilities), self.n_arms, dtype=p.dtype)
        one = jnp.ones((), p.dtype)
        if self.episode_steps is None:
            return state, {"obs": one[None], "reward": reward, "done": one, "target": target}
        last = state["t"] == self.episode_steps - 1
        new_p = jnp.where(last, self.draw(k_episode, p.dtype), state["p"])
        new_state = {"p": new_p, "p_chosen": probabilities,
                     "t": jnp.where(last, 0, state["t"] + 1).astype(jnp.int32)}
        return new_state, {"obs": one[None], "reward": reward, "done": last.astype(p.dtype),
                           "target": target}
