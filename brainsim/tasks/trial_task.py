"""Trial-structured tasks: one definition, two faces.

A task in the manner of NeuroGym (Molano-Mazon et al. 2022) is a sequence
of epochs (fixation, stimulus, delay, decision) of fixed lengths in steps.
A subclass defines only how to draw one trial:

    sample_trial(params, key) -> {"obs": (T, n_obs), "target": (T,) int, "mask": (T,),
                                  "reward": (T,)}  # "reward" optional

``target`` is the correct action at each step (0 = fixate), ``mask`` marks
the steps that are scored (the decision epoch), and ``reward`` holds rewards
the task delivers whatever the agent does (a Pavlovian US). From it come

1. `trials` (supervised face): a batch of trials as arrays,
   ``{"inputs": (B, T, n_obs), "targets": (B, T), "mask": (B, T)}``, for
   `brainsim.train` (cross-entropy on the targets);
2. the node face (this class obeys the Region contract): trials play back
   to back; each step the task emits ``obs`` and the one-hot ``target``, and
   ``done`` = 1 on the last step of a trial. Each trial is drawn on its first
   step, with that step's key and the run's params. The agent answers an observation on the same
   step, so its ``action`` reaches the task one step later: wire it with
   ``delay=1`` (the loop task -> agent -> task needs one anyway). The task
   scores that action against the previous step's target: ``reward`` = 1 when
   they match on a scored step (plus any scheduled reward of this step), and
   ``scored`` = 1 marks such steps.

Task parameters (coherences, noise, reward probabilities) live in params;
epoch lengths are structure (they set the trial's shape).
"""

from __future__ import annotations

import abc

import jax
import jax.numpy as jnp

from brainsim.ports import Port
from brainsim.region import Region


class TrialTask(Region):
    """Base class of trial tasks; subclasses are frozen dataclasses."""

    @property
    @abc.abstractmethod
    def n_obs(self) -> int:
        """Observation size."""

    @property
    @abc.abstractmethod
    def n_actions(self) -> int:
        """Number of actions, fixation (0) included."""

    @property
    @abc.abstractmethod
    def trial_length(self) -> int:
        """Steps per trial."""

    @abc.abstractmethod
    def task_params(self) -> dict:
        """Default params of the task (arrays)."""

    @abc.abstractmethod
    def sample_trial(self, params, key) -> dict:
        """One trial: ``{"obs", "target", "mask"[, "reward"]}`` (see the module docstring)."""

    def _trial(self, params, key) -> dict:
        trial = dict(self.sample_trial(params, key))
        trial.setdefault("reward", jnp.zeros_like(trial["mask"]))
        return trial

    # -- supervised face -------------------------------------------------------
    def trials(self, params, key, batch: int) -> dict:
        """``batch`` trials as arrays: ``inputs``, ``targets``, ``mask``, ``rewards``."""
        trial = jax.vmap(lambda k: self._trial(params, k))(jax.random.split(key, batch))
        return {"inputs": trial["obs"], "targets": trial["target"], "mask": trial["mask"],
                "rewards": trial["reward"]}

    # -- node face -------------------------------------------------------------
    @property
    def inputs(self):
        return {"action": Port(self.n_actions, "event")}

    @property
    def outputs(self):
        return {
            "obs": Port(self.n_obs),
            "target": Port(self.n_actions),
            "reward": Port((), "scalar"),
            "done": Port((), "event"),
            "scored": Port((), "event"),
        }

    def init(self, key):
        params = self.task_params()
        placeholder = self._trial(params, key)  # shapes only: the first step draws the real trial
        previous = {"last_target": jnp.zeros((), jnp.int32),
                    "last_mask": jnp.zeros((), placeholder["mask"].dtype)}
        return params, {**placeholder, "t": jnp.asarray(self.trial_length, jnp.int32), **previous}

    def step(self, params, state, inputs, ctx):
        # t == trial_length means "between trials": draw the next one now, with these params
        # (only then: the draw is skipped on the other steps of a trial)
        starting = state["t"] >= self.trial_length
        current = {k: state[k] for k in ("obs", "target", "mask", "reward")}
        trial = jax.lax.cond(starting, lambda: self._trial(params, ctx.key), lambda: current)
        state = {**state, **trial}
        t = jnp.where(starting, 0, state["t"])
        obs = state["obs"][t]
        target = jax.nn.one_hot(state["target"][t], self.n_actions, dtype=obs.dtype)
        # the action arriving now answers the previous step's observation
        answered = jax.nn.one_hot(state["last_target"], self.n_actions, dtype=obs.dtype)
        scored = state["last_mask"]
        reward = scored * jnp.sum(inputs["action"] * answered) + state["reward"][t]
        last = t == self.trial_length - 1
        new_state = dict(trial)
        new_state["t"] = (t + 1).astype(jnp.int32)  # reaching trial_length: draw on the next step
        new_state["last_target"] = state["target"][t]
        new_state["last_mask"] = state["mask"][t]
        done = last.astype(obs.dtype)
        return new_state, {"obs": obs, "target": target, "reward": reward, "done": done,
                           "scored": scored}
