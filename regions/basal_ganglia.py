"""Basal ganglia: action selection by disinhibition (GPR model).

The model of Gurney, Prescott & Redgrave (2001, Biol Cybern 84, 401 and
411). The nuclei are arrays of ``n`` action channels of leaky units with
piecewise-linear outputs,

    tau da/dt = -a + u,        y = clip(a - eps, 0, 1),

driven, for channel ``i`` with salience ``c_i``, by

    D1 striatum (direct):    u = w_str c_i (1 + lambda)
    D2 striatum (indirect):  u = w_str c_i (1 - lambda)
    STN:                     u = w_stn c_i - w_gpe_stn y_GPe,i
    GPe:                     u = w_stn_gpe sum_j y_STN,j - w_d2_gpe y_D2,i
    GPi/SNr (output):        u = w_stn_gpi sum_j y_STN,j - w_d1_gpi y_D1,i - w_gpe_gpi y_GPe,i

STN projects diffusely (to every channel), the striatum and GPe focally.
GPi is tonically active and inhibits its targets (thalamus, brainstem); a
channel is *selected* when its GPi output falls (disinhibition). ``lambda``
is the dopamine level (param ``dopamine`` plus port ``da_level``): it raises
the D1 and lowers the D2 gain, and so eases selection.

Salience is the port ``salience`` plus, with ``n_cortex > 0``, a learned
cortico-striatal map ``c = salience + ctx @ W_cs`` (``W_cs`` plastic, in
state; initialised ``U(0, 2 / sqrt(n_cortex))``). It learns by a
dopamine-gated three-factor rule: an eligibility trace of pre (cortex) x
post (D1 output) activity, ``tau_e de/dt = -e + ctx y_D1^T``, times the
phasic dopamine (RPE) at port ``dopamine``,
``dW_cs = eta dt rpe e`` (`brainsim.plasticity`; ``eta`` per ms; an actor in the sense of actor-critic models,
e.g. Houk, Adams & Barto 1995). With ``bounds=(w_min, w_max)`` the weights are
kept within those hard bounds (unbounded by default): the GPR circuit selects only for
saliences of order 0.5-1.5 (above about 2 the STN saturates GPi and nothing
is selected), so a learner that runs for long needs them.

D1 activity follows salience, not selection: a channel that loses the
competition at GPi still has active D1 cells, and would learn from an RPE
that its rival earned. Port ``selected`` (n, default 1) multiplies the
eligibility's postsynaptic term, ``tau_e de/dt = -e + ctx (selected y_D1)^T``:
wire the thalamic gates it releases there (the thalamostriatal feedback of
the action taken, as actor-critic accounts of the striatum need; e.g.
Gurney, Humphries & Redgrave 2015, PLoS Biol 13, e1002034), and a channel
learns as far as its gates are open (a shut one not at all; an open gate is
about 0.88, not 1). The weights of channels not chosen relax to a resting
level, ``dW_cs/dt = -forget (1 - selected) (W_cs - w_rest)`` (the forgetting of
unchosen action values that fits rats' choices best in Ito & Doya 2009,
J Neurosci 29, 9861; ``forget`` = 0 by default).

Params (ms): ``tau`` (40 ms, i.e. GPR's k = 25/s), thresholds ``eps_*``,
weights ``w_*`` as listed above (GPR 2001 values), ``dopamine`` (0.2), and with
a cortical input ``eta``, ``tau_e``, ``forget`` (per ms), ``w_rest``. Ports:
inputs ``salience`` (n), ``cortex`` (n_cortex), ``selected`` (n, with a cortical
input), ``dopamine`` (scalar RPE), ``da_level`` (scalar);
outputs ``gpi`` (n), ``d1``, ``d2``, ``stn``, ``gpe`` (n), ``channel_salience`` (n).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from brainsim import Port, Region, check_int, check_real, param, plasticity

NUCLEI = ("d1", "d2", "stn", "gpe", "gpi")
GPR_PARAMS = {
    "tau": 40.0,
    "eps_d1": 0.2, "eps_d2": 0.2, "eps_stn": -0.25, "eps_gpe": -0.2, "eps_gpi": -0.2,
    "w_str": 1.0, "w_stn": 1.0,
    "w_gpe_stn": 1.0, "w_stn_gpe": 0.9, "w_d2_gpe": 1.0,
    "w_stn_gpi": 0.9, "w_d1_gpi": 1.0, "w_gpe_gpi": 0.3,
    "dopamine": 0.2,
}


@dataclasses.dataclass(frozen=True)
class BasalGanglia(Region):
    """``n`` action channels through the GPR circuit (see the module docstring).

    Args:
      n: number of action channels.
      n_cortex: size of a cortical input with learned salience weights (0: none).
      bounds: ``(w_min, w_max)``, hard bounds on those weights (None: unbounded).
    """

    n: int
    n_cortex: int = 0
    bounds: tuple[float, float] | None = None

    def __post_init__(self):
        check_int("BasalGanglia", "n", self.n)
        check_int("BasalGanglia", "n_cortex", self.n_cortex, minimum=0)
        if self.bounds is not None:
            if len(tuple(self.bounds)) != 2 or not self.n_cortex:
                raise ValueError(f"BasalGanglia: bounds must be (w_min, w_max) on cortical salience weights "
                                 f"(n_cortex > 0), got {self.bounds!r} with n_cortex={self.n_cortex}")
            low, high = (check_real("BasalGanglia", name, value)
                         for name, value in zip(("w_min", "w_max"), self.bounds))
            if not low < high:
                raise ValueError(f"BasalGanglia: bounds need w_min < w_max, got {self.bounds!r}")
            object.__setattr__(self, "bounds", (low, high))

    @property
    def inputs(self):
        ports = {
            "salience": Port(self.n),
            "dopamine": Port((), "scalar"),
            "da_level": Port((), "scalar"),
        }
        if self.n_cortex:
            ports["cortex"] = Port(self.n_cortex)
            ports["selected"] = Port(self.n, default=1.0)
        return ports

    @property
    def outputs(self):
        return {**{name: Port(self.n) for name in NUCLEI}, "channel_salience": Port(self.n)}

    def init(self, key):
        params = {name: param(value) for name, value in GPR_PARAMS.items()}
        state = {name: jnp.zeros(self.n) for name in NUCLEI}
        if self.n_cortex:
            params.update(eta=param(0.01), tau_e=param(100.0), forget=param(0.0), w_rest=param(0.0))
            # salience of order 0.5 for cortical rates of order 1: channels get selected
            w = jax.random.uniform(key, (self.n_cortex, self.n), maxval=2.0 / np.sqrt(self.n_cortex))
            state.update(W_cs=w, eligibility=jnp.zeros((self.n_cortex, self.n)))
        return params, state

    def step(self, params, state, inputs, ctx):
        p = params
        c = inputs["salience"]
        if self.n_cortex:
            c = c + inputs["cortex"] @ state["W_cs"]
        lam = p["dopamine"] + inputs["da_level"]
        y = {name: jnp.clip(state[name] - p[f"eps_{name}"], 0.0, 1.0) for name in NUCLEI}
        drive = {
            "d1": p["w_str"] * c * (1.0 + lam),
            "d2": p["w_str"] * c * (1.0 - lam),
            "stn": p["w_stn"] * c - p["w_gpe_stn"] * y["gpe"],
            "gpe": p["w_stn_gpe"] * jnp.sum(y["stn"]) - p["w_d2_gpe"] * y["d2"],
            "gpi": p["w_stn_gpi"] * jnp.sum(y["stn"]) - p["w_d1_gpi"] * y["d1"]
            - p["w_gpe_gpi"] * y["gpe"],
        }
        leak = ctx.dt / p["tau"]
        new_state = {name: state[name] + leak * (drive[name] - state[name]) for name in NUCLEI}
        outputs = {name: jnp.clip(new_state[name] - p[f"eps_{name}"], 0.0, 1.0) for name in NUCLEI}
        if self.n_cortex:
            trace = plasticity.eligibility_trace(state["eligibility"], inputs["cortex"],
                                                 inputs["selected"] * outputs["d1"],
                                                 ctx.dt, p["tau_e"])
            new_state["eligibility"] = trace
            w = plasticity.three_factor_step(state["W_cs"], trace, inputs["dopamine"], p["eta"], ctx.dt)
            w = w - p["forget"] * ctx.dt * (1.0 - inputs["selected"])[None, :] * (state["W_cs"] - p["w_rest"])
            new_state["W_cs"] = w if self.bounds is None else jnp.clip(w, *self.bounds)
        outputs["channel_salience"] = c
        return new_state, outputs
