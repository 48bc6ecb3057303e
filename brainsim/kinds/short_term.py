"""`ShortTermPlasticity`: depressing and facilitating synapses (Tsodyks & Markram).

Each presynaptic unit has a fraction ``R`` of available resources and a
utilisation ``u`` (Tsodyks & Markram 1997, PNAS 94, 719; facilitation as in
Tsodyks, Pawelzik & Markram 1998, Neural Comput 10, 821). At a spike,
utilisation first jumps, then the spike releases ``u+ R`` of the resources:

    u+ = u + U (1 - u)              efficacy = u+ R          R <- R - u+ R

and between spikes both relax exactly over each step of ``dt`` ms,

    u <- u+ exp(-dt / tau_facil)     R <- 1 - (1 - R) exp(-dt / tau_rec).

The source activity ``x`` (spikes: the count in this step, 0 or 1) reaches
the wrapped kind scaled by its efficacy, ``x * u+ R``, so any kind (`Dense`,
`Sparse`, `Event`, ...) becomes depressing (large ``U``, long ``tau_rec``) or
facilitating (small ``U``, long ``tau_facil``). Under regular spikes every
``T`` ms the efficacy settles at ``u+_ss R_ss`` with

    u+_ss = U / (1 - (1 - U) e^{-T/tau_facil})
    R_ss  = (1 - e^{-T/tau_rec}) / (1 - (1 - u+_ss) e^{-T/tau_rec}).

``U`` (param ``"u"``), ``tau_rec`` and ``tau_facil`` (ms) are params, so they
can be swept or fitted; ``u`` and ``R`` start at 0 and 1 (a rested synapse).
A ``tau_facil`` of 0 means no facilitation (``u+ = U`` at every spike).
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp

from brainsim.checks import check_real
from brainsim.dtypes import float_dtype, param
from brainsim.errors import WiringError
from brainsim.kinds.base import Endpoints, Kind
from brainsim.kinds.dense import Dense


@dataclasses.dataclass(frozen=True)
class ShortTermPlasticity(Kind):
    """Tsodyks-Markram dynamics on the presynaptic side of ``inner`` (default `Dense`).

    Args:
      inner: the kind that delivers the scaled activity (not plastic itself).
      u: initial value of the utilisation increment ``U``, in (0, 1].
      tau_rec: initial recovery time constant of resources (ms, > 0).
      tau_facil: initial facilitation time constant (ms, >= 0; 0: none).
    """

    inner: Kind = Dense()
    u: float = 0.5
    tau_rec: float = 800.0
    tau_facil: float = 0.0

    shorthand = "stp"

    def __post_init__(self):
        if not isinstance(self.inner, Kind) or isinstance(self.inner, ShortTermPlasticity):
            raise WiringError(f"ShortTermPlasticity needs another brainsim.Kind as inner, got {self.inner!r}")
        where = "ShortTermPlasticity"
        u = check_real(where, "u", self.u, 0.0, WiringError, strict=True)
        if u > 1:
            raise WiringError(f"{where} needs u in (0, 1], got {u!r}")
        check_real(where, "tau_rec", self.tau_rec, 0.0, WiringError, strict=True)
        check_real(where, "tau_facil", self.tau_facil, 0.0, WiringError)

    @property
    def label(self) -> str:
        return f"stp({self.inner.label})"

    def check(self, ends: Endpoints) -> None:
        self.inner.check(ends)

    def source_delay(self, delay, ms, ends: Endpoints):
        return self.inner.source_delay(delay, ms, ends)

    def at_dt(self, dt: float) -> "ShortTermPlasticity":
        return dataclasses.replace(self, inner=self.inner.at_dt(dt))

    def init(self, key, ends: Endpoints):
        params, state = self.inner.init(key, ends)
        params = {**params, "u": param(self.u), "tau_rec": param(self.tau_rec),
                  "tau_facil": param(self.tau_facil)}
        n = ends.n_src
        state = {**state, "utilisation": jnp.zeros((n,), float_dtype()),
                 "resources": jnp.ones((n,), float_dtype())}
        return params, state

    def apply(self, params, state, x, ends: Endpoints, t, dt):
        flat = x.reshape(-1)
        big_u, u, r = params["u"], state["utilisation"], state["resources"]
        u_plus = u + big_u * (1.0 - u) * flat
        efficacy = u_plus * r
        scaled = (flat * efficacy).reshape(x.shape)
        inner_params = {k: v for k, v in params.items() if k not in ("u", "tau_rec", "tau_facil")}
        inner_state = {k: v for k, v in state.items() if k not in ("utilisation", "resources")}
        y, inner_state = self.inner.apply(inner_params, inner_state, scaled, ends, t, dt)
        released = r - efficacy * flat
        facilitation = jnp.where(params["tau_facil"] > 0,
                                 jnp.exp(-dt / jnp.where(params["tau_facil"] > 0, params["tau_facil"], 1.0)),
                                 0.0)
        new_u = u_plus * facilitation
        new_r = 1.0 - (1.0 - released) * jnp.exp(-dt / params["tau_rec"])
        return y, {**inner_state, "utilisation": new_u, "resources": new_r}
