"""Local plasticity rules, attached to projections and applied every step.

A rule is data on a projection:

    brain.connect("ctx.rate", "str.input", plasticity=ThreeFactor(modulator="vta.rpe"))

The projection's weights then live in ``state`` (they change during a run)
and the rule's learning rate and time constants in ``params`` under the
projection's name, so they can be swept or meta-learned by gradient. After
every region has stepped, each rule sees, for its projection, the
presynaptic activity ``x`` that the projection delivered this step, the
postsynaptic activity ``y`` (the ``post`` output port; by default the target
region's output of the same shape as the target port) and, if it names one,
a modulator ``m`` (any output port, e.g. a dopamine RPE, read this step).

Rules (``W`` of shape ``(n_pre, n_post)``, ``eta`` a param):

- `Oja`: Hebbian growth with Oja's normalisation, ``dW = eta (x y^T - W diag(y^2))``;
  a linear unit's weight vector converges to the unit-norm first principal
  component of its input (Oja 1982, J Math Biol 15, 267).
- `ThreeFactor`: an eligibility trace of coincident activity,
  ``tau_e de/dt = -e + x y^T``, turned into a weight change by the
  modulator, ``dW = eta m e`` (Izhikevich 2007; Frémaux & Gerstner 2016).
- `ClimbingFibre`: supervised LTD/LTP at parallel-fibre synapses,
  ``dW = -eta x_{t-lag} m^T`` with ``m`` the climbing-fibre error (positive
  when the output was too high) and ``x_{t-lag}`` the presynaptic activity
  ``lag`` steps ago, when the output that the error judges was made (``lag=1``
  for an inferior-olive loop of one step; Marr 1969; Albus 1971).

The values given when constructing a rule (``eta=``, ``tau_e=``) are the
initial values of its params.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp

from brainsim.dtypes import param


@dataclasses.dataclass(frozen=True)
class Oja:
    """Hebbian learning with Oja's normalisation (see the module docstring)."""

    eta: float = 0.001
    post: str | None = None
    modulator = None

    def init(self, shape):
        return {"eta": param(self.eta)}, {}

    def update(self, params, state, w, x, y, m, dt):
        dw = jnp.outer(x, y) - w * (y * y)[None, :]
        return w + params["eta"] * dw, state


@dataclasses.dataclass(frozen=True)
class ThreeFactor:
    """Eligibility trace of pre x post, gated by a modulator port."""

    modulator: str
    eta: float = 0.01
    tau_e: float = 100.0
    post: str | None = None

    def init(self, shape):
        return {"eta": param(self.eta), "tau_e": param(self.tau_e)}, {"eligibility": jnp.zeros(shape)}

    def update(self, params, state, w, x, y, m, dt):
        e = state["eligibility"]
        e = e + dt / params["tau_e"] * (jnp.outer(x, y) - e)
        return w + params["eta"] * m * e, {"eligibility": e}  # m: scalar or (1, n_post)


@dataclasses.dataclass(frozen=True)
class ClimbingFibre:
    """Climbing-fibre LTD/LTP of parallel-fibre synapses by an error port."""

    modulator: str
    eta: float = 0.01
    lag: int = 1
    post: str | None = None

    def __post_init__(self):
        if not isinstance(self.lag, int) or self.lag < 0:
            raise ValueError(f"lag must be an int >= 0, got {self.lag!r}")

    def init(self, shape):
        return {"eta": param(self.eta)}, {"pre_history": jnp.zeros((self.lag, shape[0]))}

    def update(self, params, state, w, x, y, m, dt):
        history = jnp.concatenate([state["pre_history"], x[None]], axis=0)  # oldest first
        m = jnp.broadcast_to(m, (1, w.shape[1]))
        w = w - params["eta"] * history[0][:, None] * m
        return w, {"pre_history": history[1:]}


RULES = (Oja, ThreeFactor, ClimbingFibre)
