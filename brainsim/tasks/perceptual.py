"""Perceptual decision making: which of two noisy stimuli is stronger?

The random-dots motion task as NeuroGym's ``PerceptualDecisionMaking``
frames it (after Britten et al. 1992; Roitman & Shadlen 2002). A trial has
a fixation epoch, a stimulus epoch and a decision epoch. Observations are
``[fixation cue, evidence 1, evidence 2]``; during the stimulus, evidence
``i`` is ``(1 + coh) / 2`` for the correct side and ``(1 - coh) / 2`` for the
other, plus independent Gaussian noise of std ``sigma`` per step (0.1, as
NeuroGym's default at dt = 100 ms). The coherence ``coh`` is drawn from
``coherences`` (in [0, 1]). The fixation cue is on during the fixation
epoch; the agent must fixate (action 0) until the decision epoch, then
choose 1 or 2. The defaults reproduce NeuroGym's timing at dt = 100 ms
(100 ms fixation, 2 s stimulus, 100 ms decision).

Params: ``coherences`` (the set drawn from), ``sigma``. Structure: epoch
lengths in steps.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from brainsim.checks import check_int
from brainsim.dtypes import param
from brainsim.tasks.trial_task import TrialTask


@dataclasses.dataclass(frozen=True)
class PerceptualDecision(TrialTask):
    """Two-choice evidence accumulation (see the module docstring)."""

    fixation_steps: int = 1
    stimulus_steps: int = 20
    decision_steps: int = 1

    def __post_init__(self):
        for name in ("fixation_steps", "stimulus_steps", "decision_steps"):
            check_int("PerceptualDecision", name, getattr(self, name))

    n_obs = 3
    n_actions = 3

    @property
    def trial_length(self):
        return self.fixation_steps + self.stimulus_steps + self.decision_steps

    def task_params(self):
        return {"coherences": param(jnp.array([0.0, 0.064, 0.128, 0.256, 0.512])),
                "sigma": param(0.1)}

    def sample_trial(self, params, key):
        k_side, k_coh, k_noise = jax.random.split(key, 3)
        side = jax.random.bernoulli(k_side).astype(jnp.int32)  # 0 or 1
        coh = jax.random.choice(k_coh, params["coherences"])
        t = jnp.arange(self.trial_length)
        stimulus = (t >= self.fixation_steps) & (t < self.fixation_steps + self.stimulus_steps)
        decision = t >= self.fixation_steps + self.stimulus_steps
        strength = jnp.where(jnp.arange(2) == side, (1 + coh) / 2, (1 - coh) / 2)
        noise = params["sigma"] * jax.random.normal(k_noise, (self.trial_length, 2), coh.dtype)
        evidence = stimulus[:, None].astype(coh.dtype) * (strength[None, :] + noise)
        fixation = (t < self.fixation_steps).astype(coh.dtype)[:, None]
        obs = jnp.concatenate([fixation, evidence], axis=1)
        target = jnp.where(decision, side + 1, 0).astype(jnp.int32)
        return {"obs": obs, "target": target, "mask": decision.astype(coh.dtype)}
