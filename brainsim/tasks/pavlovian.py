"""Pavlovian (classical) conditioning: a cue predicts a reward.

Each trial shows a conditioned stimulus (CS, one of ``n_cues``) for
``cue_steps`` steps; ``delay_steps`` after its onset the unconditioned
stimulus (US, a reward of 1) arrives with the cue's probability
``p_reward[cue]``, whatever the agent does. A trial is an inter-trial
interval, the cue, the delay and the reward step. Probabilistic rewards
(Fiorillo, Tobler & Schultz 2003) and omissions make the prediction errors
of dopamine neurons (Schultz, Dayan & Montague 1997) visible.

Observations: the cue one-hot. Params: ``p_reward`` (n_cues,).
The ``target`` is fixation throughout (nothing is scored).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from brainsim.checks import check_int
from brainsim.dtypes import param
from brainsim.tasks.trial_task import TrialTask


class CueThenReward:
    """The trial layout shared by cue-reward tasks: ``iti_steps`` of nothing, a cue shown for
    ``cue_steps``, and the outcome ``delay_steps`` after the cue's onset (the trial's last step).

    A mixin for frozen dataclasses that declare those three fields (each keeps its own field
    order); it checks them and gives the layout's steps.
    """

    def _check_layout(self, counts=()):
        name = type(self).__name__
        for field in (*counts, "iti_steps", "cue_steps", "delay_steps"):
            check_int(name, field, getattr(self, field))
        if self.cue_steps > self.delay_steps:
            raise ValueError(f"{name}: the cue must end by the time the reward arrives "
                             "(cue_steps <= delay_steps)")

    @property
    def trial_length(self):
        return self.iti_steps + self.delay_steps + 1

    @property
    def reward_step(self) -> int:
        """Step of the trial at which the reward arrives."""
        return self.iti_steps + self.delay_steps

    def _cue_shown(self):
        """``(trial_length,)`` bool: the steps the cue is on."""
        t = jnp.arange(self.trial_length)
        return (t >= self.iti_steps) & (t < self.iti_steps + self.cue_steps)


@dataclasses.dataclass(frozen=True)
class Pavlovian(CueThenReward, TrialTask):
    """Cue -> delay -> probabilistic reward (see the module docstring)."""

    n_cues: int = 1
    iti_steps: int = 5
    cue_steps: int = 3
    delay_steps: int = 10

    def __post_init__(self):
        self._check_layout(counts=("n_cues",))

    n_actions = 2

    @property
    def n_obs(self):
        return self.n_cues

    def task_params(self):
        return {"p_reward": param(jnp.full(self.n_cues, 0.75))}

    def sample_trial(self, params, key):
        k_cue, k_reward = jax.random.split(key)
        dtype = params["p_reward"].dtype
        cue = jax.random.randint(k_cue, (), 0, self.n_cues)
        t = jnp.arange(self.trial_length)
        one_hot = jax.nn.one_hot(cue, self.n_cues, dtype=dtype)
        obs = self._cue_shown()[:, None].astype(dtype) * one_hot[None, :]
        rewarded = jax.random.bernoulli(k_reward, params["p_reward"][cue]).astype(dtype)
        reward = (t == self.reward_step).astype(dtype) * rewarded
        zeros = jnp.zeros(self.trial_length, dtype)
        return {"obs": obs, "target": jnp.zeros(self.trial_length, jnp.int32), "mask": zeros,
                "reward": reward}
