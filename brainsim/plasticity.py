"""Local plasticity: the shared maths, and rules attached to projections.

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

**The rule protocol.** A rule is any frozen dataclass with the fields
``post`` and ``modulator`` (an output port path, or None) and two methods,

    init(shape) -> (params, state)                 # shape: the weights' (n_pre, n_post)
    update(params, state, w, x, y, m, dt) -> (w, state)

checked by `check_rule` when the projection is connected. ``m`` is a scalar
or a ``(1, n_post)`` row.

**Units.** Every learning rate ``eta`` is per ms: a step of ``dt`` ms changes
the weights by ``eta * dt`` times the rule's drive, so a rule learns at the
same speed in simulated time whatever ``dt``; trace time constants are in ms.

The maths (``W`` of shape ``(n_pre, n_post)``), as functions that the rules
below and the regions that learn inside themselves (basal ganglia, critic,
cerebellum) share:

- `eligibility_trace`: ``tau_e de/dt = -e + x y^T`` (forward Euler, stable for ``dt < tau_e``);
- `three_factor_step`: ``dW = eta dt m e`` (Izhikevich 2007; Frémaux & Gerstner 2016);
- `oja_step`: ``dW = eta dt (x y^T - W diag(y^2))``; a linear unit's weight
  vector converges to the unit-norm first principal component of its input
  (Oja 1982, J Math Biol 15, 267);
- `lms_step`: the delta rule ``dW = -eta dt x e^T`` for an error ``e``
  (positive when the output was too high), optionally normalised by
  ``|x|^2 + 1`` so that ``eta dt`` is dimensionless and learning is stable
  for ``eta dt < 2`` whatever the number of inputs (normalised LMS; Widrow &
  Hoff 1960). Climbing-fibre LTD/LTP at parallel-fibre synapses is this rule
  (Marr 1969; Albus 1971), and so is a TD critic with ``e = -delta``.

The values given when constructing a rule (``eta=``, ``tau_e=``) are the
initial values of its params.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp

from brainsim.checks import check_int
from brainsim.dtypes import param
from brainsim.errors import WiringError


# -- the shared maths ----------------------------------------------------------
def eligibility_trace(e, x, y, dt, tau_e):
    """One step of ``tau_e de/dt = -e + x y^T`` (``x``: pre, ``y``: post)."""
    return e + (dt / tau_e) * (jnp.outer(x, y) - e)


def three_factor_step(w, e, m, eta, dt):
    """``W + eta dt m e``: the trace ``e`` turned into a weight change by modulator ``m``."""
    return w + eta * dt * m * e


def oja_step(w, x, y, eta, dt):
    """``W + eta dt (x y^T - W diag(y^2))``: Hebbian growth with Oja's normalisation."""
    return w + eta * dt * (jnp.outer(x, y) - w * (y * y)[None, :])


def lms_step(w, x, error, eta, dt, normalised: bool = False):
    """``W - eta dt x error^T`` (divided by ``|x|^2 + 1`` when ``normalised``).

    ``error`` may have any trailing shape (``W`` is ``(len(x), *error.shape)``)."""
    step = jnp.tensordot(x, error, axes=0)
    if normalised:
        step = step / (jnp.sum(x * x) + 1.0)
    return w - eta * dt * step


# -- the protocol --------------------------------------------------------------
def check_rule(rule, where: str) -> None:
    """Raise a `WiringError` naming what ``rule`` lacks of the rule protocol."""
    if not (dataclasses.is_dataclass(rule) and not isinstance(rule, type)
            and rule.__dataclass_params__.frozen):
        raise WiringError(f"{where}: plasticity must be a rule, a frozen dataclass such as "
                          f"brainsim.plasticity.Oja(), got {rule!r}")
    missing = [m for m in ("init", "update") if not callable(getattr(rule, m, None))]
    fields = {f.name for f in dataclasses.fields(rule)}
    missing += [f for f in ("post", "modulator") if f not in fields]
    if missing:
        raise WiringError(f"{where}: plasticity rule {type(rule).__name__} lacks {missing}; a rule has "
                          "fields post and modulator and methods init(shape) and update(...)")
    for role in ("post", "modulator"):
        path = getattr(rule, role)
        if path is not None and not (isinstance(path, str) and path.count(".") == 1):
            raise WiringError(f"{where}: the rule's {role} must be 'region.port' or None, got {path!r}")
    try:
        hash(rule)
    except TypeError as err:
        raise WiringError(f"{where}: plasticity rule {rule!r} is not hashable; keep tuples, "
                          "not lists or arrays, in its fields") from err


# -- rules for projections -------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Oja:
    """Hebbian learning with Oja's normalisation (`oja_step`); ``eta`` per ms."""

    eta: float = 0.001
    post: str | None = None
    modulator: None = None

    def init(self, shape):
        return {"eta": param(self.eta)}, {}

    def update(self, params, state, w, x, y, m, dt):
        return oja_step(w, x, y, params["eta"], dt), state


@dataclasses.dataclass(frozen=True)
class ThreeFactor:
    """Eligibility trace of pre x post (`eligibility_trace`), gated by a modulator
    port (`three_factor_step`); ``eta`` per ms, ``tau_e`` in ms."""

    modulator: str
    eta: float = 0.01
    tau_e: float = 100.0
    post: str | None = None

    def init(self, shape):
        return {"eta": param(self.eta), "tau_e": param(self.tau_e)}, {"eligibility": jnp.zeros(shape)}

    def update(self, params, state, w, x, y, m, dt):
        e = eligibility_trace(state["eligibility"], x, y, dt, params["tau_e"])
        return three_factor_step(w, e, m, params["eta"], dt), {"eligibility": e}


@dataclasses.dataclass(frozen=True)
class ClimbingFibre:
    """Climbing-fibre LTD/LTP of parallel-fibre synapses by an error port (`lms_step`).

    The error judges the output made ``lag`` steps ago, so it pairs with the
    presynaptic activity of then (``lag=1`` for an inferior-olive loop of one
    step); ``eta`` per ms."""

    modulator: str
    eta: float = 0.01
    lag: int = 1
    post: str | None = None

    def __post_init__(self):
        check_int("ClimbingFibre", "lag", self.lag, minimum=0)

    def init(self, shape):
        return {"eta": param(self.eta)}, {"pre_history": jnp.zeros((self.lag, shape[0]))}

    def update(self, params, state, w, x, y, m, dt):
        history = jnp.concatenate([state["pre_history"], x[None]], axis=0)  # oldest first
        error = jnp.broadcast_to(m, (1, w.shape[1]))[0]
        return lms_step(w, history[0], error, params["eta"], dt), {"pre_history": history[1:]}
