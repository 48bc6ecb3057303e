"""Acetylcholine as a learner's uncertainty: a learning-rate gain from the statistics of its errors.

A model of ours (no public implementation), after the proposal that the
cholinergic system tracks how reliable cortical predictions are (Yu & Dayan
2005, Neuron 46, 681) and the change-point learners whose rate rises after a
surprise and then falls as evidence accumulates (Nassar et al. 2010,
J Neurosci 30, 12366). From the error ``e`` (n) at port ``error`` it keeps
two running means of the squared error ``s = |e|^2 / n``, fast and slow
(time constants ``tau_fast`` < ``tau_slow``; bias-corrected for their zero
start as Adam's moments are), and from them the surprise

    q = fast_hat / (slow_hat + floor),

about 1 while errors are as usual. The gain ``u`` (in (0, 1]) is the
learner's uncertainty about its map: evidence shrinks it each step as in a
Kalman filter with unit prior, ``u <- u / (1 + u dt / evidence)`` (after
``k`` ms without surprise from ``u = 1``, ``u = 1 / (1 + k / evidence)``: the
1/t schedule of least squares), and a surprise resets it,

    p = sigmoid((q - threshold) / width),    u <- u + (1 - u) p.

Sent to a learner's ``lr_gain`` port it makes learning fast right after the
world changes and fine once it has been learned. `Acetylcholine` (in
`regions.neuromodulators`) is the plain surprise ratio.

Ports: input ``error`` (n); outputs ``gain`` (``u``) and ``surprise`` (``q``).
Params: ``tau_fast``, ``tau_slow``, ``evidence`` (ms), ``threshold``, ``width``,
``floor``.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from brainsim import Port, Region, check_int, param


@dataclasses.dataclass(frozen=True)
class AcetylcholineGain(Region):
    """Learning-rate gain from an ``n``-dimensional error (see the module docstring)."""

    n: int

    def __post_init__(self):
        check_int("AcetylcholineGain", "n", self.n)

    @property
    def inputs(self):
        return {"error": Port(self.n)}

    @property
    def outputs(self):
        return {"gain": Port((), "scalar"), "surprise": Port((), "scalar")}

    def init(self, key):
        params = {"tau_fast": param(10.0), "tau_slow": param(1000.0), "evidence": param(20.0),
                  "threshold": param(2.0), "width": param(0.05), "floor": param(1e-3)}
        zero, one = jnp.zeros(()), jnp.ones(())
        return params, {"fast": zero, "slow": zero, "left_fast": one, "left_slow": one, "u": one}

    def step(self, params, state, inputs, ctx):
        s = jnp.mean(inputs["error"] ** 2)
        a_fast, a_slow = ctx.dt / params["tau_fast"], ctx.dt / params["tau_slow"]
        fast = state["fast"] + a_fast * (s - state["fast"])
        slow = state["slow"] + a_slow * (s - state["slow"])
        left_fast, left_slow = state["left_fast"] * (1 - a_fast), state["left_slow"] * (1 - a_slow)
        q = (fast / (1 - left_fast)) / (slow / (1 - left_slow) + params["floor"])
        u = state["u"] / (1 + state["u"] * ctx.dt / params["evidence"])
        u = u + (1 - u) * jax.nn.sigmoid((q - params["threshold"]) / params["width"])
        new = {"fast": fast, "slow": slow, "left_fast": left_fast, "left_slow": left_slow, "u": u}
        return new, {"gain": state["u"], "surprise": q}
