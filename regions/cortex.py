"""Cortex: a leaky rate RNN with thalamic gain control and apical dendrites.

Each of the ``n`` units integrates its feedforward input ``I`` (the summed
projections into port ``input``), recurrent input (its own recurrent
weights, plus lateral input from other areas at port ``recurrent``) and a
bias:

    tau dx/dt = -x + g * (W_rec^T r + L) + I + g_A * v_A + bias,    r = phi(x)

- ``g`` is the multiplicative gain at port ``gain`` (one per unit, 1 when
  nothing drives it). Thalamic control of cortical computation acts here:
  a thalamic pattern scales the recurrent drive each unit receives, which
  changes the effective connectivity without touching ``W_rec``
  (Rikhye, Gilra & Halassa 2018, Nat Neurosci 21, 1753; Wang & Halassa
  2021, Neuron 109, 2411 for the thalamic "control" view).
- With ``two_compartment=True`` each unit has an apical dendrite ``v_A``
  fed only by port ``apical`` (top-down or cerebellar feedback), kept apart
  from basal input and coupled to the soma with conductance ``g_A``:
  ``tau_A dv_A/dt = -v_A + apical``. This is the segregated-dendrite unit of
  Guerguiev, Lillicrap & Richards (2017, eLife 6, e22901) and Sacramento et
  al. (2018, NeurIPS), used to carry feedback for credit assignment.
- With ``exc_fraction`` set, the first units are excitatory and the rest
  inhibitory, and every recurrent and outgoing weight keeps its
  presynaptic sign (Dale's law): ``W_eff = |W| * sign(pre)``.

``W_rec`` is initialised ``N(0, g0^2 / n)`` with ``g0 = 1.5`` (a chaotic rate
network, Sompolinsky, Crisanti & Sommers 1988); with Dale's law the
magnitudes of inhibitory rows are scaled so E and I inputs balance on average.

Params: ``tau`` (ms), ``W_rec`` (n, n), ``bias`` (n,), and with apical dendrites
``tau_A`` (ms), ``g_A``. Ports: inputs ``input``, ``recurrent`` (``L``,
gain-modulated like ``W_rec``), ``gain`` (default 1), ``apical``
(two-compartment only); outputs ``rate`` and, with apical dendrites,
``apical_potential``.

`SpikingCortex` is the LIF variant with the same ports.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from brainsim import (
    ACTIVATIONS,
    Port,
    Region,
    check_exc_fraction,
    check_int,
    dale_signs,
    param,
    presynaptic,
    signed_weight,
)


def recurrent_weights(key, n: int, exc_fraction: float | None, scale: float) -> jax.Array:
    """``(n, n)`` recurrent weights, ``N(0, scale^2 / n)``; with Dale's law,
    magnitudes whose inhibitory rows are scaled so mean E and I input balance."""
    w = jax.random.normal(key, (n, n)) * (scale / np.sqrt(n))
    if exc_fraction is None:
        return w
    n_exc = int(round(exc_fraction * n))
    balance = np.where(np.arange(n) < n_exc, 1.0, n_exc / max(n - n_exc, 1))
    return jnp.abs(w) * jnp.asarray(balance[:, None], w.dtype)


@dataclasses.dataclass(frozen=True)
class Cortex(Region):
    """A cortical area of ``n`` rate units (see the module docstring).

    Args:
      n: number of units.
      activation: ``"tanh"`` or ``"relu"`` (or any `RatePopulation` activation).
      exc_fraction: Dale's law with this fraction of excitatory units.
      two_compartment: give every unit an apical dendrite (port ``apical``).
    """

    n: int
    activation: str = "tanh"
    exc_fraction: float | None = None
    two_compartment: bool = False
    unit_local = True  # its recurrent weights read `presynaptic` rates (see `brainsim.Region`)

    def __post_init__(self):
        check_int("Cortex", "n", self.n)
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; choose from {sorted(ACTIVATIONS)}")
        check_exc_fraction(self.exc_fraction)

    @property
    def inputs(self):
        ports = {"input": Port(self.n), "recurrent": Port(self.n), "gain": Port(self.n, default=1.0)}
        if self.two_compartment:
            ports["apical"] = Port(self.n)
        return ports

    @property
    def outputs(self):
        ports = {"rate": Port(self.n)}
        if self.two_compartment:
            ports["apical_potential"] = Port(self.n)
        return ports

    def signs(self, port):
        return dale_signs(self.n, self.exc_fraction) if port == "rate" else None

    def init(self, key):
        w = recurrent_weights(key, self.n, self.exc_fraction, 1.5)
        params = {"tau": param(10.0), "W_rec": param(w), "bias": param(jnp.zeros(self.n))}
        state = {"x": jnp.zeros(self.n)}
        if self.two_compartment:
            params.update(tau_A=param(10.0), g_A=param(1.0))
            state["v_A"] = jnp.zeros(self.n)
        return params, state

    def step(self, params, state, inputs, ctx):
        phi = ACTIVATIONS[self.activation]
        x = state["x"]
        r = phi(x)
        w = signed_weight(params["W_rec"], self.signs("rate"))
        recurrent = presynaptic(r, ctx) @ w + inputs["recurrent"]
        drive = inputs["gain"] * recurrent + inputs["input"] + params["bias"]
        new_state = {}
        outputs = {}
        if self.two_compartment:
            v_a = state["v_A"] + ctx.dt / params["tau_A"] * (-state["v_A"] + inputs["apical"])
            drive = drive + params["g_A"] * v_a
            new_state["v_A"] = v_a
            outputs["apical_potential"] = v_a
        x = x + ctx.dt / params["tau"] * (-x + drive)
        new_state["x"] = x
        outputs["rate"] = phi(x)
        return new_state, outputs


@dataclasses.dataclass(frozen=True)
class SpikingCortex(Region):
    """A cortical area of ``n`` LIF neurons with recurrent synapses.

    The neurons are `brainsim.LIFPopulation` units with current synapses;
    recurrent spikes of the previous step add ``g * (W_rec^T s + L)`` (pA) to
    the synaptic current, ``g`` being the thalamic gain at port ``gain`` and
    ``L`` lateral input at port ``recurrent``, as in `Cortex`. Port
    ``input`` adds synaptic current (pA) from other areas.
    Output ``rate`` is the spike train filtered with ``tau_rate`` (Hz).

    Params: those of `LIFPopulation` plus ``W_rec`` (pA, (n, n)) and
    ``tau_rate`` (ms). Ports: inputs ``input``, ``recurrent``, ``gain``;
    outputs ``spike``, ``rate``, ``v``.
    """

    n: int
    exc_fraction: float | None = 0.8
    unit_local = True  # its recurrent weights read `presynaptic` spikes (see `brainsim.Region`)

    def __post_init__(self):
        check_int("SpikingCortex", "n", self.n)
        check_exc_fraction(self.exc_fraction)

    @property
    def _neurons(self):
        from brainsim import LIFPopulation

        return LIFPopulation(self.n, random_init=True)

    @property
    def inputs(self):
        return {"input": Port(self.n, "spike"), "recurrent": Port(self.n, "spike"),
                "gain": Port(self.n, default=1.0)}

    @property
    def outputs(self):
        return {"spike": Port(self.n, "spike"), "rate": Port(self.n), "v": Port(self.n)}

    def signs(self, port):
        return dale_signs(self.n, self.exc_fraction) if port in ("spike", "rate") else None

    def init(self, key):
        k_lif, k_w = jax.random.split(key)
        params, state = self._neurons.init(k_lif)
        w = recurrent_weights(k_w, self.n, self.exc_fraction, 40.0)
        params.update(W_rec=param(w), tau_rate=param(50.0))
        state.update(spike=jnp.zeros(self.n), rate=jnp.zeros(self.n))
        return params, state

    def step(self, params, state, inputs, ctx):
        w = signed_weight(params["W_rec"], self.signs("spike"))
        recurrent = inputs["gain"] * (presynaptic(state["spike"], ctx) @ w + inputs["recurrent"])
        lif_state = {k: state[k] for k in ("V", "refractory", "I_syn")}
        lif_inputs = {"input": inputs["input"] + recurrent, "current": jnp.zeros(self.n, w.dtype)}
        lif_state, out = self._neurons.step(params, lif_state, lif_inputs, ctx)
        decay = jnp.exp(-ctx.dt / params["tau_rate"])
        rate = state["rate"] * decay + out["spike"] * (1000.0 / params["tau_rate"])
        new_state = {**lif_state, "spike": out["spike"], "rate": rate}
        return new_state, {"spike": out["spike"], "rate": rate, "v": out["v"]}
