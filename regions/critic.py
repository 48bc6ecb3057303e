"""A linear TD critic: the value of the current state from its features.

``V_t = w . phi_t`` (one weight vector per channel for a distributional
critic), learned from the reward-prediction error that a `Dopamine` region
computes from these very values (Sutton 1988; Schultz, Dayan & Montague
1997). The error reaches the critic ``rpe_delay`` steps after the step it
was computed in (the wiring delay that breaks the critic -> dopamine ->
critic loop; at least 1), and it concerns the transition *into* that step,
so the critic updates the features of the state before it:

    w += eta dt * delta_{t-d} * phi_{t-d-1} / (|phi_{t-d-1}|^2 + 1)

(the critic keeps the last ``d + 1`` feature vectors for this). This is
normalised LMS (`brainsim.plasticity.lms_step`): ``eta`` is per ms like every
learning rate, and learning is stable for ``eta dt < 2`` however many
features there are.

``rpe_delay`` must equal the wiring delay (in steps) of the projection that
brings the RPE; the critic cannot see its wiring, so a mismatch pairs errors
with the wrong features.

Params: ``eta``. Ports: inputs ``features`` (n), ``rpe`` (scalar or
(channels,)); output ``value`` (same shape as ``rpe``).
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp

from brainsim import Port, Region, check_int, param, plasticity


@dataclasses.dataclass(frozen=True)
class Critic(Region):
    """Linear value of ``n_features`` features (see the module docstring)."""

    n_features: int
    channels: int | None = None
    rpe_delay: int = 1

    def __post_init__(self):
        check_int("Critic", "n_features", self.n_features)
        check_int("Critic", "rpe_delay", self.rpe_delay)

    @property
    def _shape(self):
        return () if self.channels is None else (self.channels,)

    @property
    def inputs(self):
        return {"features": Port(self.n_features), "rpe": Port(self._shape, "scalar")}

    @property
    def outputs(self):
        return {"value": Port(self._shape, "scalar")}

    def init(self, key):
        return {"eta": param(0.1)}, {
            "w": jnp.zeros((self.n_features, *self._shape)),
            "history": jnp.zeros((self.rpe_delay + 1, self.n_features)),
        }

    def step(self, params, state, inputs, ctx):
        earliest = state["history"][0]  # phi_{t-d-1}
        # TD learning is normalised LMS on the error -delta (brainsim.plasticity.lms_step)
        w = plasticity.lms_step(state["w"], earliest, -inputs["rpe"], params["eta"], ctx.dt, normalised=True)
        phi = inputs["features"]
        history = jnp.concatenate([state["history"][1:], phi[None]], axis=0)
        return {"w": w, "history": history}, {"value": phi @ w}
