"""Reaching from a brief cue, with visuomotor rotation or a force field.

Centre-out reaching as studied in motor adaptation: one of ``n_targets``
targets on a circle of radius 1 is cued for ``cue_steps`` (or stays on
screen all trial, ``target_visible=True``, as in most adaptation studies),
then a go signal lasts ``move_steps`` during which the hand moves from the
centre. The
agent's ``action`` is a 2-D velocity command (per step). Two perturbations
(``perturbation``):

- ``"rotation"``: the visible cursor is the hand rotated by ``rotation``
  degrees (a visuomotor rotation, Krakauer et al. 2000);
- ``"force_field"``: a velocity-dependent curl field adds
  ``curl * (v_y, -v_x)`` to the commanded velocity (Shadmehr & Mussa-Ivaldi 1994).

The perturbation is on during the ``exposure`` and ``reexposure`` blocks of
``schedule`` and off in ``baseline`` and ``washout`` (trials counted per
block; after the schedule ends it repeats). A trial is rewarded (1 on its
last step) if the cursor ends within ``radius`` of the target.

Two faces, as for `brainsim.tasks.TrialTask`:

- `trials(params, key, batch, perturbed=False)`: inputs ``(cue x, cue y,
  go)``; targets: the hand positions of a straight line from the centre to
  the hand target that puts the cursor on the target (line drawing, as in
  Pemberton et al. 2021); mask: the movement epoch.
- the node: outputs ``obs`` (cue x, cue y, go), ``cursor`` (2), ``reward``,
  ``done``, ``perturbed``, and two reference commands for the next step,
  ``target`` (the feedback command that reaches the target, compensating the
  perturbation) and ``naive`` (the straight feedforward plan that would reach
  it without perturbation).

Params: ``rotation`` (degrees), ``curl``, ``radius``.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

from brainsim.checks import check_int
from brainsim.dtypes import param
from brainsim.ports import Port
from brainsim.region import Region

PHASES = ("baseline", "exposure", "washout", "reexposure")


@dataclasses.dataclass(frozen=True)
class Reaching(Region):
    """Centre-out reaching with a perturbation schedule (see the module docstring)."""

    n_targets: int = 8
    cue_steps: int = 2
    move_steps: int = 10
    perturbation: str = "rotation"
    schedule: tuple[tuple[str, int], ...] = (("baseline", 16), ("exposure", 32), ("washout", 16),
                                             ("reexposure", 32))
    target_visible: bool = False  # the target stays on screen for the whole trial

    def __post_init__(self):
        if self.perturbation not in ("rotation", "force_field"):
            raise ValueError(f"perturbation must be 'rotation' or 'force_field', got {self.perturbation!r}")
        for name in ("n_targets", "cue_steps", "move_steps"):
            check_int("Reaching", name, getattr(self, name))
        for phase, trials in self.schedule:
            if phase not in PHASES:
                raise ValueError(f"schedule entries are (one of {PHASES}, int >= 1), got {(phase, trials)}")
            check_int("Reaching", f"trial count for {phase!r} in schedule", trials)

    @property
    def trial_length(self) -> int:
        return self.cue_steps + self.move_steps

    @property
    def inputs(self):
        return {"action": Port(2)}

    @property
    def outputs(self):
        return {"obs": Port(3), "cursor": Port(2), "reward": Port((), "scalar"),
                "done": Port((), "event"), "perturbed": Port((), "event"), "target": Port(2),
                "naive": Port(2)}

    def task_params(self):
        return {"rotation": param(30.0), "curl": param(0.5), "radius": param(0.15)}

    # -- geometry ----------------------------------------------------------------
    def _target(self, index, dtype):
        angle = 2 * math.pi * index.astype(dtype) / self.n_targets
        return jnp.stack([jnp.cos(angle), jnp.sin(angle)])

    def _hand_goal(self, params, target, on):
        """Where the hand must end so that the cursor lands on ``target``."""
        if self.perturbation != "rotation":
            return target
        theta = -jnp.deg2rad(params["rotation"]) * on
        c, s = jnp.cos(theta), jnp.sin(theta)
        return jnp.stack([c * target[0] - s * target[1], s * target[0] + c * target[1]])

    def _cursor(self, params, hand, on):
        if self.perturbation != "rotation":
            return hand
        theta = jnp.deg2rad(params["rotation"]) * on
        c, s = jnp.cos(theta), jnp.sin(theta)
        return jnp.stack([c * hand[0] - s * hand[1], s * hand[0] + c * hand[1]])

    def _field(self, params, command, on):
        """Velocity produced by a command (the curl field adds ``curl (v_y, -v_x)``)."""
        if self.perturbation != "force_field":
            return command
        k = params["curl"] * on
        return command + k * jnp.stack([command[1], -command[0]])

    def _compensate(self, params, velocity, on):
        """The command whose field-perturbed velocity is ``velocity``."""
        if self.perturbation != "force_field":
            return velocity
        k = params["curl"] * on  # solve (I + kJ) c = v with J = [[0, 1], [-1, 0]]
        return jnp.stack([velocity[0] - k * velocity[1], velocity[1] + k * velocity[0]]) / (1 + k * k)

    def _perturbed(self, trial):
        lengths = jnp.array([n for _, n in self.schedule])
        on = jnp.array([phase in ("exposure", "reexposure") for phase, _ in self.schedule])
        position = trial % jnp.sum(lengths)
        block = jnp.sum(position >= jnp.cumsum(lengths))
        return on[block]

    # -- supervised face -----------------------------------------------------------
    def trials(self, params, key, batch: int, perturbed: bool = False) -> dict:
        """``batch`` line-drawing trials (see the module docstring)."""
        dtype = params["rotation"].dtype
        on = jnp.asarray(perturbed, dtype)
        index = jax.random.randint(key, (batch,), 0, self.n_targets)
        targets = jax.vmap(lambda i: self._target(i, dtype))(index)  # (B, 2)
        goals = jax.vmap(lambda g: self._hand_goal(params, g, on))(targets)
        t = jnp.arange(self.trial_length)
        cue = jnp.ones_like(t, dtype) if self.target_visible else (t < self.cue_steps).astype(dtype)
        # go means "command now": from the last cue step to the step before the end, as in the node
        go = ((t + 1 >= self.cue_steps) & (t < self.trial_length - 1)).astype(dtype)
        moving = (t >= self.cue_steps).astype(dtype)
        progress = jnp.clip((t - self.cue_steps + 1) / self.move_steps, 0.0, 1.0).astype(dtype)
        inputs = jnp.concatenate([cue[None, :, None] * targets[:, None, :],
                                  jnp.broadcast_to(go[None, :, None], (batch, self.trial_length, 1))],
                                 axis=2)
        hand = progress[None, :, None] * goals[:, None, :]
        return {"inputs": inputs, "targets": hand,
                "mask": jnp.broadcast_to(moving, (batch, self.trial_length))}

    # -- node face -----------------------------------------------------------------
    def init(self, key):
        params = self.task_params()
        dtype = params["rotation"].dtype
        return params, {"trial": jnp.zeros((), jnp.int32), "t": jnp.zeros((), jnp.int32),
                        "target": jax.random.randint(key, (), 0, self.n_targets),
                        "hand": jnp.zeros(2, dtype)}

    def step(self, params, state, inputs, ctx):
        dtype = params["rotation"].dtype
        t, on = state["t"], self._perturbed(state["trial"]).astype(dtype)
        moving = (t >= self.cue_steps).astype(dtype)
        hand = state["hand"] + moving * self._field(params, inputs["action"], on)
        cursor = self._cursor(params, hand, on)
        target = self._target(state["target"], dtype)
        last = t == self.trial_length - 1
        hit = jnp.linalg.norm(cursor - target) < params["radius"]
        reward = (last & hit).astype(dtype)
        # reference commands for the next step: cover the rest of the way evenly
        remaining = jnp.maximum(self.trial_length - 1 - t, 1).astype(dtype)
        goes_on = (t + 1 >= self.cue_steps).astype(dtype) * (1.0 - last.astype(dtype))
        wanted = (self._hand_goal(params, target, on) - hand) / remaining
        naive = goes_on * target / self.move_steps  # the unperturbed plan, without feedback
        ideal = goes_on * self._compensate(params, wanted, on)
        cue = 1.0 if self.target_visible else (t < self.cue_steps).astype(dtype)
        obs = jnp.concatenate([cue * target, jnp.stack([goes_on])])  # go: command now
        new_state = {
            "trial": jnp.where(last, state["trial"] + 1, state["trial"]).astype(jnp.int32),
            "t": jnp.where(last, 0, t + 1).astype(jnp.int32),
            "target": jnp.where(last, jax.random.randint(ctx.key, (), 0, self.n_targets),
                                state["target"]),
            "hand": jnp.where(last, jnp.zeros_like(hand), hand),
        }
        return new_state, {"obs": obs, "cursor": cursor, "reward": reward,
                           "done": last.astype(dtype), "perturbed": on, "target": ideal,
                           "naive": naive}
