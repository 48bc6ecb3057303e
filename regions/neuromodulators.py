"""Neuromodulatory nuclei: dopamine (VTA/SNc) and acetylcholine (basal forebrain).

**Dopamine** reports the temporal-difference reward-prediction error
(Schultz, Dayan & Montague 1997, Science 275, 1593). Each step it receives
the reward ``r_t`` (port ``reward``) and the critic's value of the current
state ``V_t`` (port ``value``) and emits

    delta_t = r_t + gamma V_t - V_{t-1},

keeping ``V_{t-1}`` in its state. An episode boundary is given either way
round: port ``done`` is 1 on the *last* step of an episode, as every task
emits it (wire ``task.done -> vta.done`` as it is, no delay), or port
``reset`` is 1 on the *first* step of the next. On that first step the
error is the *terminal* error of the episode that ended,
``delta_t = r_t - V_{t-1}``: the new state's value is not bootstrapped
across the boundary, and a reward arriving on that step is credited to the
last state of the old episode (the action that earned it was taken there). Any
plasticity rule or region that names the ``rpe`` port receives it.

With ``channels=k`` it is *distributional* (Dabney et al. 2020, Nature 577,
671): the value is a vector of ``k`` predictions, one per dopamine channel,
and channel ``i`` scales positive errors by ``alpha_plus[i]`` and negative
ones by ``alpha_minus[i]``. A critic that learns from these scaled errors
converges, in channel ``i``, to the ``tau_i``-expectile of the return
distribution, ``tau_i = alpha_plus / (alpha_plus + alpha_minus)``; equal
rates collapse every channel to the mean. The default rates spread
``tau`` evenly over (0.05, 0.95).

**Acetylcholine** signals surprise, after Yu & Dayan (2005, Neuron 46, 681):
an abrupt rise of prediction errors relative to their usual size. From the
error at port ``error`` it keeps a fast and a slow running mean of its
squared norm (time constants ``tau_fast`` < ``tau_slow``) and emits
the ratio ``q = fast / (slow + floor)``, saturating at ``max_gain``:
``ach = q / (1 + q / max_gain)``. It is about 1 when errors are as usual,
large right after the statistics change, and decays as learning catches up
or the slow mean adapts. Sent to a learner's ``lr_gain`` port, it scales learning
rates up when the world has changed. Both means start at 0, so a run begins
with ``ach`` near ``max_gain`` (everything is new) and settles within a few
``tau_slow``; start from a settled state for a neutral beginning.

Params: dopamine ``gamma`` (and ``alpha_plus``, ``alpha_minus``); ACh
``tau_fast``, ``tau_slow`` (ms), ``floor``, ``max_gain``. Ports: dopamine inputs
``reward``, ``value`` (scalar, or (k,)), ``done`` or ``reset``; output ``rpe``. ACh
input ``error`` (n); output ``ach`` (scalar).
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp

from brainsim import Port, Region, check_int, param


@dataclasses.dataclass(frozen=True)
class Dopamine(Region):
    """TD reward-prediction error, scalar or distributional (``channels``)."""

    channels: int | None = None

    def __post_init__(self):
        if self.channels is not None:
            check_int(type(self).__name__, "channels (or None)", self.channels)

    @property
    def _shape(self):
        return () if self.channels is None else (self.channels,)

    @property
    def inputs(self):
        return {
            "reward": Port((), "scalar"),
            "value": Port(self._shape, "scalar"),
            "reset": Port((), "event"),
            "done": Port((), "event"),
        }

    @property
    def outputs(self):
        return {"rpe": Port(self._shape, "scalar")}

    def init(self, key):
        params = {"gamma": param(0.98)}
        if self.channels is not None:
            tau = jnp.linspace(0.05, 0.95, self.channels)
            params.update(alpha_plus=param(tau), alpha_minus=param(1.0 - tau))
        return params, {"previous_value": jnp.zeros(self._shape), "previous_done": jnp.zeros(())}

    def step(self, params, state, inputs, ctx):
        value = inputs["value"]
        first = jnp.maximum(inputs["reset"], state["previous_done"])  # the first step of an episode
        bootstrap = params["gamma"] * (1.0 - first) * value
        delta = inputs["reward"] + bootstrap - state["previous_value"]
        if self.channels is not None:
            delta = jnp.where(delta > 0, params["alpha_plus"], params["alpha_minus"]) * delta
        return {"previous_value": value, "previous_done": inputs["done"]}, {"rpe": delta}


@dataclasses.dataclass(frozen=True)
class Acetylcholine(Region):
    """Surprise signal from an ``n``-dimensional prediction error."""

    n: int

    def __post_init__(self):
        check_int("Acetylcholine", "n", self.n)

    @property
    def inputs(self):
        return {"error": Port(self.n)}

    @property
    def outputs(self):
        return {"ach": Port((), "scalar")}

    def init(self, key):
        params = {"tau_fast": param(20.0), "tau_slow": param(2000.0), "floor": param(1e-3),
                  "max_gain": param(10.0)}
        return params, {"fast": jnp.zeros(()), "slow": jnp.zeros(())}

    def step(self, params, state, inputs, ctx):
        surprise = jnp.sum(inputs["error"] ** 2)
        fast = state["fast"] + ctx.dt / params["tau_fast"] * (surprise - state["fast"])
        slow = state["slow"] + ctx.dt / params["tau_slow"] * (surprise - state["slow"])
        ratio = fast / (slow + params["floor"])
        return {"fast": fast, "slow": slow}, {"ach": ratio / (1.0 + ratio / params["max_gain"])}
