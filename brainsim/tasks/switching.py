"""A context-switching task family for continual learning.

Each trial shows one of ``n_stimuli`` stimuli (one-hot) for
``stimulus_steps`` and then asks for a response (actions 1..n_stimuli;
0 = fixate). The correct response depends on the context:

- ``"pro"``: stimulus ``i`` -> response ``i``;
- ``"anti"``: stimulus ``i`` -> response ``n - 1 - i`` (the mirror map);
- ``"reversal"``: stimulus ``i`` -> response ``i + 1 mod n`` (a shifted map).

Contexts come in blocks of ``block_trials`` trials following ``schedule``
(names of ``contexts``), which may return to earlier contexts, so that a
learner is tested for interference and for retention of old maps (e.g.
pro/anti saccades; reversal learning). With ``cued=True`` the context is
shown as a one-hot cue; otherwise it must be inferred from feedback. As in
`brainsim.tasks.TrialTask`, the action reaches the task one step late
(``delay=1``) and is scored against the previous step's target.

`trials(params, key, batch, context=name)` gives supervised trials of one
context, for training on blocks in sequence.
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

MAPS = ("pro", "anti", "reversal")


@dataclasses.dataclass(frozen=True)
class ContextSwitching(Region):
    """Blocks of conflicting stimulus-response maps (see the module docstring)."""

    n_stimuli: int = 2
    stimulus_steps: int = 2
    block_trials: int = 20
    schedule: tuple[str, ...] = ("pro", "anti", "pro", "reversal", "anti")
    cued: bool = True

    def __post_init__(self):
        unknown = set(self.schedule) - set(MAPS)
        if unknown or not self.schedule:
            raise ValueError(f"schedule must name contexts from {MAPS}, got {self.schedule}")
        for name, least in (("n_stimuli", 2), ("stimulus_steps", 1), ("block_trials", 1)):
            check_int("ContextSwitching", name, getattr(self, name), minimum=least)

    @property
    def n_actions(self) -> int:
        return self.n_stimuli + 1

    @property
    def trial_length(self) -> int:
        return self.stimulus_steps + 1

    @property
    def inputs(self):
        return {"action": Port(self.n_actions, "event")}

    @property
    def outputs(self):
        n_obs = 1 + self.n_stimuli + (len(MAPS) if self.cued else 0)
        return {"obs": Port(n_obs), "target": Port(self.n_actions), "reward": Port((), "scalar"),
                "done": Port((), "event"), "scored": Port((), "event"), "context": Port((), "event")}

    def response(self, stimulus, context):
        """The correct action (1-based) for a stimulus in a context (index into MAPS)."""
        n = self.n_stimuli
        return 1 + jnp.select([context == 0, context == 1],
                              [stimulus, n - 1 - stimulus], (stimulus + 1) % n)

    def _context(self, trial):
        order = jnp.array([MAPS.index(name) for name in self.schedule])
        return order[(trial // self.block_trials) % len(self.schedule)]

    def _observe(self, stimulus, context, t, dtype):
        deciding = t >= self.stimulus_steps
        parts = [jnp.stack([(~deciding).astype(dtype)]),
                 (~deciding).astype(dtype) * jax.nn.one_hot(stimulus, self.n_stimuli, dtype=dtype)]
        if self.cued:
            parts.append(jax.nn.one_hot(context, len(MAPS), dtype=dtype))
        return jnp.concatenate(parts)

    def trials(self, params, key, batch: int, context: str = "pro") -> dict:
        """``batch`` supervised trials of one context."""
        if context not in MAPS:
            raise ValueError(f"unknown context {context!r}; choose from {MAPS}")
        dtype = params["reward"].dtype
        c = jnp.asarray(MAPS.index(context))
        stimuli = jax.random.randint(key, (batch,), 0, self.n_stimuli)
        t = jnp.arange(self.trial_length)
        obs = jax.vmap(lambda s: jax.vmap(lambda step: self._observe(s, c, step, dtype))(t))(stimuli)
        deciding = t >= self.stimulus_steps
        targets = jnp.where(deciding[None, :], self.response(stimuli, c)[:, None], 0).astype(jnp.int32)
        return {"inputs": obs, "targets": targets,
                "mask": jnp.broadcast_to(deciding.astype(dtype), (batch, self.trial_length))}

    def rollouts(self, params, key, batch: int, steps: int = 100) -> dict:
        """Supervised batches across the block schedule: random-agent rollouts
        labelled by the oracle (see `brainsim.tasks.rollout`)."""
        return rollout_trials(self, params, key, batch, steps)

    def init(self, key):
        return {"reward": param(1.0)}, {
            "trial": jnp.zeros((), jnp.int32), "t": jnp.zeros((), jnp.int32),
            "stimulus": jax.random.randint(key, (), 0, self.n_stimuli),
            "last_target": jnp.zeros((), jnp.int32), "last_scored": jnp.zeros((), jnp.float32)}

    def step(self, params, state, inputs, ctx):
        dtype = params["reward"].dtype
        t, context = state["t"], self._context(state["trial"])
        answered = jax.nn.one_hot(state["last_target"], self.n_actions, dtype=dtype)
        reward = state["last_scored"].astype(dtype) * params["reward"] * jnp.sum(inputs["action"] * answered)
        deciding = t >= self.stimulus_steps
        correct = jnp.where(deciding, self.response(state["stimulus"], context), 0).astype(jnp.int32)
        last = t == self.trial_length - 1
        new_state = {
            "trial": jnp.where(last, state["trial"] + 1, state["trial"]).astype(jnp.int32),
            "t": jnp.where(last, 0, t + 1).astype(jnp.int32),
            "stimulus": jnp.where(last, jax.random.randint(ctx.key, (), 0, self.n_stimuli),
                                  state["stimulus"]),
            "last_target": correct,
            "last_scored": deciding.astype(jnp.float32),
        }
        return new_state, {
            "obs": self._observe(state["stimulus"], context, t, dtype),
            "target": jax.nn.one_hot(correct, self.n_actions, dtype=dtype),
            "reward": reward, "done": last.astype(dtype), "scored": deciding.astype(dtype),
            "context": context.astype(dtype),
        }
