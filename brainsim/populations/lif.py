"""A leaky integrate-and-fire (LIF) population.

Membrane equation, in physical units (mV, ms, pF, nS, pA):

    C dV/dt = g_L (E_L - V) + I_syn + I_bias + I_ext

with one of two synapse models, chosen by ``synapse``:

- ``"current"``: ``tau_syn dI_syn/dt = -I_syn``; each step the summed input
  at port ``input`` (pA) is added to ``I_syn``. ``V`` is then integrated
  exactly over the step (a linear system), as Brian2's ``method='exact'``.
- ``"conductance"``: ``I_syn = g_e (E_e - V) + g_i (E_i - V)`` with
  ``tau_e dg_e/dt = -g_e`` and ``tau_i dg_i/dt = -g_i``; each step the inputs
  at ports ``exc`` and ``inh`` (nS) are added to ``g_e`` and ``g_i``. ``V``
  is integrated by exponential Euler (exact while the conductances are held
  for the step), as Brian2's ``method='exponential_euler'``.

The order within a step is Brian2's: the spikes that arrive are added to the
synaptic variables, ``V`` is integrated with them, the synaptic variables
decay, then threshold, reset and refractoriness follow. ``V`` stays at
``V_reset`` while refractory.

When ``V`` crosses ``V_th`` the unit spikes, ``V`` is reset to ``V_reset`` and
held there for the refractory period ``t_ref``. With ``adaptive=True`` (ALIF,
as in the long short-term memory spiking networks of Bellec et al. 2018)
the threshold rises after each spike and relaxes back,
``V_th_eff = V_th + beta_a * a`` with ``tau_a da/dt = -a`` and ``a += 1`` per
spike, which gives spike-frequency adaptation and a slow memory. Decays are
integrated exactly (``x *= exp(-dt / tau)``). The spike is
`brainsim.surrogate.spike`, so gradients flow through spiking runs.

Defaults follow the COBA network of Vogels & Abbott (2005, J Neurosci 25,
10786) as used in the Brian2 and BrainPy examples: ``C = 200 pF``,
``g_L = 10 nS`` (``tau_m = 20 ms``), ``E_L = V_reset = -60 mV``,
``V_th = -50 mV``, ``t_ref = 5 ms``, ``tau_e = 5 ms``, ``tau_i = 10 ms``,
``E_e = 0 mV``, ``E_i = -80 mV``.

Ports: inputs ``input`` (current synapses) or ``exc``/``inh`` (conductance
synapses), and ``current`` (external current, pA); outputs ``spike`` (0/1
floats) and ``v`` (membrane potential, mV).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from brainsim.checks import check_int
from brainsim.dtypes import param
from brainsim.populations.dale import check_exc_fraction, dale_signs
from brainsim.ports import Port
from brainsim.region import Region
from brainsim.surrogate import spike

SYNAPSES = ("current", "conductance")


@dataclasses.dataclass(frozen=True)
class LIFPopulation(Region):
    """``n`` LIF neurons (see the module docstring for the equations).

    Args:
      n: number of neurons.
      synapse: ``"current"`` or ``"conductance"``.
      exc_fraction: as in `RatePopulation`: Dale signs for outgoing spikes.
      random_init: start ``V`` uniformly between ``V_reset`` and ``V_th``
        (drawn from the init key) instead of at ``E_L``.
      adaptive: an adaptive threshold (ALIF); params ``tau_a`` (ms) and
        ``beta_a`` (mV per unit of adaptation).
      detach_reset: let no gradient flow through the reset (``V -> V_reset``
        counts as a constant jump in the backward pass). Through the reset,
        each step spent near threshold multiplies the backpropagated
        gradient by about ``V_reset - V_th`` times the surrogate's peak, and
        gradients explode over long runs; detaching it is the usual remedy
        (Zenke & Vogels 2021, Neural Computation 33, 899).
    """

    n: int
    synapse: str = "current"
    exc_fraction: float | None = None
    random_init: bool = False
    adaptive: bool = False
    detach_reset: bool = True
    unit_local = True  # each neuron sees only its own state and input (see `brainsim.Region`)

    def __post_init__(self):
        check_int("LIFPopulation", "n", self.n)
        if self.synapse not in SYNAPSES:
            raise ValueError(f"synapse must be one of {SYNAPSES}, got {self.synapse!r}")
        check_exc_fraction(self.exc_fraction)

    @property
    def inputs(self):
        if self.synapse == "current":
            synaptic = {"input": Port(self.n, "spike")}
        else:
            synaptic = {"exc": Port(self.n, "spike"), "inh": Port(self.n, "spike")}
        return {**synaptic, "current": Port(self.n)}

    @property
    def outputs(self):
        return {"spike": Port(self.n, "spike"), "v": Port(self.n)}

    def signs(self, port: str) -> np.ndarray | None:
        return dale_signs(self.n, self.exc_fraction) if port == "spike" else None

    def init(self, key):
        params = {
            "C": param(200.0),  # pF
            "g_L": param(10.0),  # nS
            "E_L": param(-60.0),  # mV
            "V_th": param(-50.0),  # mV
            "V_reset": param(-60.0),  # mV
            "t_ref": param(5.0),  # ms
            "bias": jnp.zeros(self.n),  # pA
            "beta": param(1.0),  # 1/mV, surrogate sharpness
        }
        if self.synapse == "current":
            params["tau_syn"] = param(5.0)  # ms
        else:
            params.update(tau_e=param(5.0), tau_i=param(10.0), E_e=param(0.0), E_i=param(-80.0))
        if self.adaptive:
            params.update(tau_a=param(200.0), beta_a=param(2.0))
        return params, self.init_state(key, params)

    def init_state(self, key, params):
        """``V`` at ``E_L`` (or uniform between ``V_reset`` and ``V_th`` with
        ``random_init``), no synaptic input, not refractory, no adaptation."""
        if self.random_init:
            v = jax.random.uniform(key, (self.n,), params["V_th"].dtype)
            v = params["V_reset"] + v * (params["V_th"] - params["V_reset"])
        else:
            v = jnp.broadcast_to(params["E_L"], (self.n,))
        zeros = jnp.zeros(self.n)
        synapses = {"I_syn": zeros} if self.synapse == "current" else {"g_e": zeros, "g_i": zeros}
        state = {"V": v, "refractory": zeros, **synapses}
        if self.adaptive:
            state["a"] = zeros
        return state

    def step(self, params, state, inputs, ctx):
        p, dt, V = params, ctx.dt, state["V"]
        I_const = p["bias"] + inputs["current"]
        if self.synapse == "current":
            I_syn = state["I_syn"] + inputs["input"]
            V_free = _current_lif_update(V, I_syn, I_const, p, dt)
            new_synapses = {"I_syn": I_syn * jnp.exp(-dt / p["tau_syn"])}
        else:
            g_e = state["g_e"] + inputs["exc"]
            g_i = state["g_i"] + inputs["inh"]
            g_total = p["g_L"] + g_e + g_i
            V_inf = (p["g_L"] * p["E_L"] + g_e * p["E_e"] + g_i * p["E_i"] + I_const) / g_total
            V_free = V_inf + (V - V_inf) * jnp.exp(-dt * g_total / p["C"])
            new_synapses = {"g_e": g_e * jnp.exp(-dt / p["tau_e"]), "g_i": g_i * jnp.exp(-dt / p["tau_i"])}
        # the time left in the refractory period once this step is done: V is frozen for
        # the steps that end inside it (t_ref / dt - 1 of them, as in Brian2)
        refractory_left = jnp.maximum(state["refractory"] - dt, 0.0)
        free = refractory_left < 0.5 * dt  # robust to rounding of t_ref / dt
        V = jnp.where(free, V_free, p["V_reset"])
        threshold = p["V_th"] + (p["beta_a"] * state["a"] if self.adaptive else 0.0)
        s = spike(V - threshold, p["beta"])
        jump = jax.lax.stop_gradient(s) if self.detach_reset else s
        V = V + jump * (p["V_reset"] - V)
        refractory = jnp.where(s > 0, p["t_ref"], refractory_left)
        new_state = {"V": V, "refractory": refractory, **new_synapses}
        if self.adaptive:
            new_state["a"] = state["a"] * jnp.exp(-dt / p["tau_a"]) + s
        return new_state, {"spike": s, "v": V}


def _current_lif_update(V, I_syn, I_const, p, dt):
    """Exact ``V(t + dt)`` of ``C dV/dt = g_L (E_L - V) + I_syn e^(-s/tau_syn) + I_const``.

    With ``tau_m = C / g_L`` and ``V_inf = E_L + I_const / g_L``:
    ``V(dt) = V_inf + (V - V_inf) e^(-dt/tau_m) + A (e^(-dt/tau_syn) - e^(-dt/tau_m))``,
    ``A = (I_syn / C) / (1/tau_m - 1/tau_syn)``; when the two time constants
    coincide the last term tends to ``(I_syn / C) dt e^(-dt/tau_m)``.
    """
    rate_m, rate_s = p["g_L"] / p["C"], 1.0 / p["tau_syn"]
    decay_m = jnp.exp(-dt * rate_m)
    gap = rate_m - rate_s
    # (e^(-dt/tau_syn) - e^(-dt/tau_m)) / gap, written with expm1 so that it keeps its
    # precision as the time constants approach each other
    close = jnp.abs(gap) * dt < 1e-6
    safe_gap = jnp.where(close, 1.0, gap)
    kernel = decay_m * jnp.where(close, dt, jnp.expm1(dt * safe_gap) / safe_gap)
    V_inf = p["E_L"] + I_const / p["g_L"]
    return V_inf + (V - V_inf) * decay_m + (I_syn / p["C"]) * kernel
