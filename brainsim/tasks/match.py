"""Delayed match / non-match to sample.

After Miconi (2017, eLife 6, e20899): a sample stimulus (one of ``n_stimuli``,
one-hot) is shown, followed by a delay with no stimulus, then a test
stimulus; in the decision epoch the agent answers *match* (action 1) if the
test equals the sample, *non-match* (action 2) otherwise, fixating (action 0)
before. With ``non_match=True`` the rewarded answers swap. The test is a
match with probability ``p_match``.

Observations: ``[fixation cue, stimulus (n_stimuli)]``. Params: ``p_match``.
Structure: epoch lengths in steps and ``n_stimuli``.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from brainsim.checks import check_int
from brainsim.dtypes import param
from brainsim.tasks.trial_task import TrialTask


@dataclasses.dataclass(frozen=True)
class DelayedMatch(TrialTask):
    """Delayed match (or non-match) to sample (see the module docstring)."""

    n_stimuli: int = 2
    sample_steps: int = 2
    delay_steps: int = 4
    test_steps: int = 2
    decision_steps: int = 1
    non_match: bool = False

    def __post_init__(self):
        check_int("DelayedMatch", "n_stimuli", self.n_stimuli, minimum=2)

    n_actions = 3

    @property
    def n_obs(self):
        return 1 + self.n_stimuli

    @property
    def trial_length(self):
        return self.sample_steps + self.delay_steps + self.test_steps + self.decision_steps

    def task_params(self):
        return {"p_match": param(0.5)}

    def sample_trial(self, params, key):
        k_sample, k_match, k_other = jax.random.split(key, 3)
        dtype = params["p_match"].dtype
        sample = jax.random.randint(k_sample, (), 0, self.n_stimuli)
        match = jax.random.bernoulli(k_match, params["p_match"])
        shift = jax.random.randint(k_other, (), 1, self.n_stimuli)  # any other stimulus
        test = jnp.where(match, sample, (sample + shift) % self.n_stimuli)
        t = jnp.arange(self.trial_length)
        test_start = self.sample_steps + self.delay_steps
        decision = t >= test_start + self.test_steps
        shown = jnp.where(t < self.sample_steps, sample, jnp.where(
            (t >= test_start) & ~decision, test, -1))
        stimulus = jax.nn.one_hot(shown, self.n_stimuli, dtype=dtype)  # -1 gives zeros
        obs = jnp.concatenate([(~decision).astype(dtype)[:, None], stimulus], axis=1)
        answer = jnp.where(match != self.non_match, 1, 2)
        target = jnp.where(decision, answer, 0).astype(jnp.int32)
        return {"obs": obs, "target": target, "mask": decision.astype(dtype)}
