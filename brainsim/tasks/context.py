"""Context-dependent integration: report one of two evidence streams.

After Mante, Sussillo, Shenoy & Newsome (2013, Nature 503, 78): two noisy
stimuli, motion and colour, are shown together, each favouring choice 1 or
2 with its own coherence; a context cue says which one to report. The same
inputs must be integrated or ignored depending on context.

Observations: ``[fixation, motion 1, motion 2, colour 1, colour 2,
context motion, context colour]`` (NeuroGym's ``ContextDecisionMaking``
layout, with explicit context). Each stream is built as in
`PerceptualDecision`; the fixation cue is on during the fixation epoch and
the context cue throughout. The defaults reproduce NeuroGym's timing at
dt = 100 ms with no delay (300 ms fixation, 700 ms stimulus, 100 ms
decision) and its coherences (5, 15, 50 %). Params: ``coherences``, ``sigma``.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from brainsim.dtypes import param
from brainsim.tasks.trial_task import TrialTask


@dataclasses.dataclass(frozen=True)
class ContextDecision(TrialTask):
    """Context-dependent choice between two evidence streams."""

    fixation_steps: int = 3
    stimulus_steps: int = 7
    decision_steps: int = 1

    n_obs = 7
    n_actions = 3

    @property
    def trial_length(self):
        return self.fixation_steps + self.stimulus_steps + self.decision_steps

    def task_params(self):
        return {"coherences": param(jnp.array([0.05, 0.15, 0.5])), "sigma": param(0.1)}

    def sample_trial(self, params, key):
        k_ctx, k_side, k_coh, k_noise = jax.random.split(key, 4)
        dtype = params["sigma"].dtype
        context = jax.random.bernoulli(k_ctx).astype(jnp.int32)  # 0 motion, 1 colour
        sides = jax.random.bernoulli(k_side, 0.5, (2,)).astype(jnp.int32)
        coh = jax.random.choice(k_coh, params["coherences"], (2,))
        t = jnp.arange(self.trial_length)
        stimulus = (t >= self.fixation_steps) & (t < self.fixation_steps + self.stimulus_steps)
        decision = t >= self.fixation_steps + self.stimulus_steps
        channel = jnp.arange(2)
        strength = jnp.where(channel[None, :] == sides[:, None],
                             (1 + coh[:, None]) / 2, (1 - coh[:, None]) / 2).reshape(4)
        noise = params["sigma"] * jax.random.normal(k_noise, (self.trial_length, 4), dtype)
        evidence = stimulus[:, None].astype(dtype) * (strength[None, :] + noise)
        fixation = (t < self.fixation_steps).astype(dtype)[:, None]
        cue = jnp.broadcast_to(jax.nn.one_hot(context, 2, dtype=dtype), (self.trial_length, 2))
        obs = jnp.concatenate([fixation, evidence, cue], axis=1)
        target = jnp.where(decision, sides[context] + 1, 0).astype(jnp.int32)
        return {"obs": obs, "target": target, "mask": decision.astype(dtype)}
