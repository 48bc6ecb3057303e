"""A temporal basis: features that span the time since each cue began.

A TD critic can only predict a reward from something in its state that is
still there when the reward comes. A cue visible for a few steps leaves
nothing behind, so wire cues through a temporal basis before the critic:

- ``kind="csc"``: the complete serial compound (Sutton & Barto 1990; Schultz,
  Dayan & Montague 1997). One unit per cue and per step since its onset,
  ``x[c, k] = 1`` exactly ``k`` steps after cue ``c`` came on (``k < n_basis``).
  Exact timing, no generalisation between delays: the textbook account of
  the dopamine burst moving from reward to cue, and of the dip at omission
  at the precise time the reward was due.
- ``kind="microstimulus"`` (Ludvig, Sutton & Kehoe 2008, Neural Comput 20,
  3034): a memory trace ``y = exp(-s / tau)`` of the time ``s`` (ms) since
  onset, read by ``n_basis`` Gaussian microstimuli centred on ``mu_i = i /
  n_basis`` of the trace's height,

      x[c, i] = y * exp(-(y - mu_i)^2 / (2 sigma^2)) / sqrt(2 pi),

  which peak later and wider the smaller ``mu_i``. Timing blurs with delay,
  as in animals; use it where generalisation across delays matters (variable
  intervals, the shape of anticipatory responses).

Size the basis to the interval it must span (cue onset to reward): a basis
that outlasts the trial lets a fixed inter-trial interval predict the next
cue, and the burst then leaves the cue too (correct TD, but not the classic
experiment, whose intervals vary).

A cue's onset is its rising edge (input above 0.5 after a step at or below
0.5); a new onset restarts the cue's clock. Before any onset the features
are zero. Params: ``tau`` (ms, microstimulus trace; 333 ms is LSK's decay of
0.985 per 5-ms step), ``sigma``. Ports: input ``cue`` (n_cues); output
``features`` (n_cues * n_basis), cue-major.
"""

from __future__ import annotations

import dataclasses
import math

import jax.numpy as jnp

from brainsim import Port, Region, check_int, param

KINDS = ("csc", "microstimulus")


@dataclasses.dataclass(frozen=True)
class TemporalBasis(Region):
    """Complete serial compound or microstimulus features of the time since each cue's onset."""

    n_cues: int
    n_basis: int = 20
    kind: str = "csc"

    def __post_init__(self):
        check_int("TemporalBasis", "n_cues", self.n_cues)
        check_int("TemporalBasis", "n_basis", self.n_basis)
        if self.kind not in KINDS:
            raise ValueError(f"TemporalBasis kind must be one of {KINDS}, got {self.kind!r}")

    @property
    def inputs(self):
        return {"cue": Port(self.n_cues)}

    @property
    def outputs(self):
        return {"features": Port(self.n_cues * self.n_basis)}

    def init(self, key):
        params = {"tau": param(333.0), "sigma": param(0.08)} if self.kind == "microstimulus" else {}
        state = {"since": jnp.full((self.n_cues,), -1, jnp.int32),  # steps since onset; -1: none yet
                 "previous": jnp.zeros((self.n_cues,))}
        return params, state

    def step(self, params, state, inputs, ctx):
        cue = inputs["cue"]
        onset = (cue > 0.5) & (state["previous"] <= 0.5)
        since = jnp.where(onset, 0, jnp.where(state["since"] >= 0, state["since"] + 1, -1))
        if self.kind == "csc":
            features = (since[:, None] == jnp.arange(self.n_basis)[None, :]).astype(cue.dtype)
        else:
            elapsed = since.astype(cue.dtype) * ctx.dt  # ms since onset
            trace = jnp.where(since >= 0, jnp.exp(-elapsed / params["tau"]), 0.0)[:, None]
            centres = jnp.arange(1, self.n_basis + 1, dtype=cue.dtype)[None, :] / self.n_basis
            bump = jnp.exp(-((trace - centres) ** 2) / (2 * params["sigma"] ** 2))
            features = trace * bump / math.sqrt(2 * math.pi)
        return {"since": since, "previous": cue}, {"features": features.reshape(-1)}
