"""Associative cortex: a cortical area whose synapses learn online to predict a teaching signal.

Each of the ``n`` units sums its ``n_in`` inputs through plastic synapses ``W``
(``(n_in, n)``, kept in ``state``: they change during a run) and a bias,

    y = W^T x + b,        e = y - target,

the prediction of a somatic teaching signal at port ``target`` by the basal
dendrites, and after every step the synapses move to reduce the error,
the dendritic-prediction rule of Urbanczik & Senn (2014, Neuron 81, 521),
which for linear units is the delta rule:

- ``rule="delta"``: normalised LMS, ``W <- W - eta dt lr_gain x e^T / (|x|^2 + 1)``
  (`brainsim.plasticity.lms_step`; stable for ``eta dt lr_gain < 2``);
- ``rule="adam"``: the same error gradient ``x e^T`` through Adam's per-synapse
  normalisation (Kingma & Ba 2015; ``optax.scale_by_adam``, betas 0.9 and 0.999),
  ``W <- W - eta dt lr_gain m_hat / (sqrt(v_hat) + 1e-8)``: the optimiser that a
  neuromodulatory gain is compared with.

``lr_gain`` (a scalar port, 1 when nothing drives it) scales every step: an
`AcetylcholineGain` sends it. The bias learns by the same rule with input 1.
Ports: inputs ``input`` (n_in), ``target`` (n), ``lr_gain``; outputs ``rate`` (y)
and ``error`` (e). Params: ``eta`` (per ms). State: ``W``, ``b`` and, for Adam,
its moments.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import optax

from brainsim import Port, Region, check_int, param, plasticity

RULES = ("delta", "adam")


@dataclasses.dataclass(frozen=True)
class AssociativeCortex(Region):
    """``n`` linear units learning ``target`` from ``n_in`` inputs online (see the module docstring)."""

    n_in: int
    n: int
    rule: str = "delta"

    def __post_init__(self):
        check_int("AssociativeCortex", "n_in", self.n_in)
        check_int("AssociativeCortex", "n", self.n)
        if self.rule not in RULES:
            raise ValueError(f"AssociativeCortex: rule must be one of {RULES}, got {self.rule!r}")

    @property
    def inputs(self):
        return {"input": Port(self.n_in), "target": Port(self.n),
                "lr_gain": Port((), "scalar", default=1.0)}

    @property
    def outputs(self):
        return {"rate": Port(self.n), "error": Port(self.n)}

    def init(self, key):
        state = {"W": jnp.zeros((self.n_in, self.n)), "b": jnp.zeros(self.n)}
        if self.rule == "adam":
            adam = optax.scale_by_adam().init(state)
            state = {**state, "count": adam.count, "mu": adam.mu, "nu": adam.nu}
        return {"eta": param(0.05 if self.rule == "delta" else 1e-3)}, state

    def step(self, params, state, inputs, ctx):
        x = inputs["input"]
        y = x @ state["W"] + state["b"]
        e = y - inputs["target"]
        rate = params["eta"] * inputs["lr_gain"]
        if self.rule == "delta":
            w = plasticity.lms_step(state["W"], x, e, rate, ctx.dt, normalised=True)
            b = state["b"] - rate * ctx.dt * e / (jnp.sum(x * x) + 1.0)
            return {**state, "W": w, "b": b}, {"rate": y, "error": e}
        grads = {"W": jnp.outer(x, e), "b": e}
        weights = {"W": state["W"], "b": state["b"]}
        adam = optax.ScaleByAdamState(count=state["count"], mu=state["mu"], nu=state["nu"])
        with jax.numpy_dtype_promotion("standard"):  # optax mixes Python floats with its int32 count
            direction, adam = optax.scale_by_adam().update(grads, adam)
        new = {k: weights[k] - rate * ctx.dt * direction[k] for k in weights}
        return {**new, "count": adam.count, "mu": adam.mu, "nu": adam.nu}, {"rate": y, "error": e}
