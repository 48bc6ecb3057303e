"""A multi-armed bandit with Bernoulli rewards.

Each step the agent pulls one arm (a one-hot ``action``) and receives reward
1 with that arm's probability ``p[arm]``, else 0 (no pull, no reward). The
observation is a constant 1 (one context); ``target`` is the one-hot of the
best arm. Params: ``p`` (n_arms,), reward probabilities.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from brainsim.dtypes import param
from brainsim.ports import Port
from brainsim.region import Region


@dataclasses.dataclass(frozen=True)
class Bandit(Region):
    """``n_arms`` Bernoulli arms (see the module docstring)."""

    n_arms: int = 2

    def __post_init__(self):
        if not isinstance(self.n_arms, int) or self.n_arms < 2:
            raise ValueError(f"Bandit needs an int n_arms >= 2, got {self.n_arms!r}")

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

    def init(self, key):
        return {"p": param(jnp.linspace(0.2, 0.8, self.n_arms))}, {}

    def step(self, params, state, inputs, ctx):
        p = jnp.sum(inputs["action"] * params["p"])
        reward = jax.random.bernoulli(ctx.key, p).astype(p.dtype)
        target = jax.nn.one_hot(jnp.argmax(params["p"]), self.n_arms, dtype=p.dtype)
        one = jnp.ones((), p.dtype)
        return state, {"obs": one[None], "reward": reward, "done": one, "target": target}
