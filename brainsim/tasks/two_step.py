"""The two-step task: model-based and model-free choices (Daw et al. 2011).

Each trial has two stages. In stage 1 (state A) the agent picks action 1 or
2; action 1 leads to state B and action 2 to state C with the *common*
probability ``p_common`` (0.7), and to the other state otherwise (*rare*).
In stage 2 the agent picks action 1 or 2 again and is rewarded with that
option's probability. The four reward probabilities drift independently as
Gaussian random walks (std ``drift`` per trial) reflected into
[0.25, 0.75] (Daw, Gershman, Seymour, Dayan & Dolan 2011, Neuron 69, 1204).

With ``reversals=True`` the second stage is the version of Wang et al. (2018,
Nat Neurosci 21, 860) instead: one of B and C is rewarded with probability
``p_high`` (0.9) whatever the action, the other with ``1 - p_high``, and
they swap with probability ``p_switch`` (0.025) after each trial; the
model-based signature is then large, which is what meta-learning needs to
find.

Steps alternate between the stages; as in `brainsim.tasks.TrialTask` the
agent answers an observation on the same step and its action reaches the
task one step later (wire it with ``delay=1``). Observations: one-hot of the
state (A, B, C). Outputs also ``common`` (1 on the stage-2 step after a
common transition), ``target`` (the best action now: in stage 2 the better
option; in stage 1 the action whose common state holds the best option),
``done`` (1 when a trial's reward is delivered). Params: ``p_common``,
``drift`` (or, with reversals, ``p_high`` and ``p_switch``).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from brainsim.dtypes import param
from brainsim.ports import Port
from brainsim.region import Region
from brainsim.tasks.rollout import rollout_trials


@dataclasses.dataclass(frozen=True)
class TwoStep(Region):
    """The two-step task (see the module docstring)."""

    reversals: bool = False

    @property
    def inputs(self):
        return {"action": Port(2, "event")}

    @property
    def outputs(self):
        return {"obs": Port(3), "reward": Port((), "scalar"), "done": Port((), "event"),
                "common": Port((), "event"), "target": Port(2)}

    def trials(self, params, key, batch: int, steps: int = 100) -> dict:
        """Supervised batches: random-agent rollouts labelled by the oracle
        (see `brainsim.tasks.rollout`)."""
        return rollout_trials(self, params, key, batch, steps)

    def __post_init__(self):
        if not isinstance(self.reversals, bool):
            raise ValueError(f"TwoStep reversals must be True or False, got {self.reversals!r}")

    def init(self, key):
        if self.reversals:
            params = {"p_common": param(0.7), "p_high": param(0.9), "p_switch": param(0.025)}
            high_is_b = jax.random.bernoulli(key)
            p_b = jnp.where(high_is_b, params["p_high"], 1.0 - params["p_high"])
            p_reward = jnp.stack([jnp.full(2, p_b), jnp.full(2, 1.0 - p_b)])
        else:
            params = {"p_common": param(0.7), "drift": param(0.025)}
            p_reward = jax.random.uniform(key, (2, 2), params["p_common"].dtype, 0.25, 0.75)
        return params, {
            "stage": jnp.zeros((), jnp.int32),  # the stage last shown (0: A)
            "second": jnp.zeros((), jnp.int32),  # 0 for B, 1 for C
            "p_reward": p_reward,
        }

    def step(self, params, state, inputs, ctx):
        k_transition, k_reward, k_drift = jax.random.split(ctx.key, 3)
        p_reward, dtype = state["p_reward"], state["p_reward"].dtype
        choice = jnp.argmax(inputs["action"])
        acted = jnp.sum(inputs["action"]) > 0  # no action: nothing happens, the same state shows
        answered_stage_1 = acted & (state["stage"] == 0)
        answered_stage_2 = acted & (state["stage"] == 1)
        # stage-1 answer: move to B or C; stage-2 answer: reward, drift, back to A
        common = jax.random.bernoulli(k_transition, params["p_common"])
        second = jnp.where(common, choice, 1 - choice).astype(jnp.int32)
        p = jnp.sum(inputs["action"] * p_reward[state["second"]])  # no action, no reward
        won = jax.random.bernoulli(k_reward, p).astype(dtype)
        reward = jnp.where(answered_stage_2, won, jnp.zeros((), dtype))
        if self.reversals:  # B and C swap their reward probabilities now and then
            drifted = jnp.where(jax.random.bernoulli(k_drift, params["p_switch"]), p_reward[::-1], p_reward)
        else:
            drifted = p_reward + params["drift"] * jax.random.normal(k_drift, (2, 2), dtype)
            drifted = jnp.where(drifted > 0.75, 1.5 - drifted, drifted)  # reflect into [0.25, 0.75]
            drifted = jnp.where(drifted < 0.25, 0.5 - drifted, drifted)
        stage = jnp.where(answered_stage_1, 1, jnp.where(answered_stage_2, 0, state["stage"]))
        new_state = {
            "stage": stage.astype(jnp.int32),
            "second": jnp.where(answered_stage_1, second, state["second"]),
            "p_reward": jnp.where(answered_stage_2, drifted, p_reward),
        }
        shown = jnp.where(new_state["stage"] == 1, 1 + new_state["second"], 0)
        obs = jax.nn.one_hot(shown, 3, dtype=dtype)
        best_second = jnp.argmax(new_state["p_reward"][new_state["second"]])
        best_first = jnp.argmax(jnp.max(new_state["p_reward"], axis=1))  # common route to the best state
        target = jax.nn.one_hot(jnp.where(new_state["stage"] == 1, best_second, best_first), 2,
                                dtype=dtype)
        done = answered_stage_2.astype(dtype)
        common_out = (answered_stage_1 & common).astype(dtype)
        return new_state, {"obs": obs, "reward": reward, "done": done, "common": common_out,
                           "target": target}
