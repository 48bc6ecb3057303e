"""A leaky rate population.

Each of the ``n`` units integrates its summed input ``I`` with time
constant ``tau`` and emits a rate through a static nonlinearity ``phi``:

    tau dx/dt = -x + I + b,        r = phi(x),

integrated with the forward Euler step ``x += a (-x + I + b)``, ``a = dt / tau``.
With ``noise=True`` an Ornstein-Uhlenbeck term ``+ sigma sqrt(a (2 - a)) xi``,
``xi ~ N(0, 1)``, is added; that scale makes the stationary standard deviation
of ``x`` without input exactly ``sigma`` for any ``dt`` (it tends to the
continuous-time ``sigma sqrt(2 dt / tau)`` as ``dt -> 0``). This is the
standard rate network of e.g. Sussillo & Abbott (2009, Neuron 63, 544).

Params: ``tau`` (ms, scalar), ``bias`` ``b`` (shape ``(n,)``), ``sigma`` (same
units as ``x``, scalar; only with ``noise=True``).
Ports: input ``input`` (n,); output ``rate`` (n,).
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

ACTIVATIONS = {
    "tanh": jnp.tanh,
    "relu": jax.nn.relu,
    "sigmoid": jax.nn.sigmoid,
    "linear": lambda x: x,
}


@dataclasses.dataclass(frozen=True)
class RatePopulation(Region):
    """``n`` leaky rate units (see the module docstring for the equations).

    Args:
      n: number of units.
      activation: ``"tanh"``, ``"relu"``, ``"sigmoid"`` or ``"linear"``.
      exc_fraction: if set, the first ``round(exc_fraction * n)`` units are
        excitatory and the rest inhibitory; every projection out of ``rate``
        then keeps those signs (Dale's law).
      noise: add Ornstein-Uhlenbeck noise of standard deviation ``sigma``.
    """

    n: int
    activation: str = "tanh"
    exc_fraction: float | None = None
    noise: bool = False
    unit_local = True  # each unit sees only its own state and input (see `brainsim.Region`)

    def __post_init__(self):
        check_int("RatePopulation", "n", self.n)
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {self.activation!r}; choose from {sorted(ACTIVATIONS)}"
            )
        check_exc_fraction(self.exc_fraction)

    @property
    def inputs(self):
        return {"input": Port(self.n)}

    @property
    def outputs(self):
        return {"rate": Port(self.n)}

    def signs(self, port: str) -> np.ndarray | None:
        return dale_signs(self.n, self.exc_fraction)

    def init(self, key):
        del key
        params = {"tau": param(10.0), "bias": jnp.zeros(self.n)}
        if self.noise:
            params["sigma"] = param(0.1)
        return params, {"x": jnp.zeros(self.n)}

    def step(self, params, state, inputs, ctx):
        x = state["x"]
        leak = ctx.dt / params["tau"]
        x = x + leak * (-x + inputs["input"] + params["bias"])
        if self.noise:
            xi = jax.random.normal(ctx.key, x.shape, x.dtype)
            x = x + params["sigma"] * jnp.sqrt(leak * (2.0 - leak)) * xi
        return {"x": x}, {"rate": ACTIVATIONS[self.activation](x)}
