"""Stuart-Landau (Hopf normal form) oscillators: a neural-mass node model.

Each of the ``n`` nodes is a point ``z = x + i y`` obeying the normal form of
a supercritical Hopf bifurcation, as used for whole-brain models by Deco et
al. (2017, Sci Rep 7, 3095):

    dx/dt = (a - x^2 - y^2) x - omega y + G I_x + sigma eta_x
    dy/dt = (a - x^2 - y^2) y + omega x + G I_y + sigma eta_y

For ``a < 0`` a node is a damped oscillator driven by noise; for ``a > 0`` it
oscillates with amplitude ``sqrt(a)`` at angular frequency ``omega``. ``I_x``/``I_y`` arrive at ports
``x_in``/``y_in`` (the delayed, weighted activity of other nodes) and ``G``
is a global coupling gain, a param so that it can be swept. The coupling
here is additive, ``G sum_j C_ij x_j``; Deco et al. use the diffusive form
``G sum_j C_ij (x_j - x_i)``, which is the same plus a self-term
``-G s_i x_i`` with ``s_i = sum_j C_ij``: set ``a_i <- a_i - G s_i`` (and the
same for ``y``) to reproduce it. Integrated by
Euler-Maruyama, ``sigma sqrt(dt) eta`` with ``eta ~ N(0, 1)``.

Params (time in ms): ``a`` (1/ms, per node), ``omega`` (rad/ms, per node;
default 10 Hz = 0.0628 rad/ms), ``G`` (scalar), ``sigma`` (1/sqrt(ms)).
Ports: inputs ``x_in``, ``y_in`` (n,); outputs ``x``, ``y`` (n,).
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

from brainsim.checks import check_int
from brainsim.dtypes import param
from brainsim.ports import Port
from brainsim.region import Region


@dataclasses.dataclass(frozen=True)
class HopfPopulation(Region):
    """``n`` Stuart-Landau oscillators (see the module docstring)."""

    n: int

    def __post_init__(self):
        check_int("HopfPopulation", "n", self.n)

    @property
    def inputs(self):
        return {"x_in": Port(self.n), "y_in": Port(self.n)}

    @property
    def outputs(self):
        return {"x": Port(self.n), "y": Port(self.n)}

    def init(self, key):
        params = {
            "a": param(jnp.full(self.n, -0.02)),
            "omega": param(jnp.full(self.n, 2 * math.pi * 10.0 / 1000.0)),
            "G": param(1.0),
            "sigma": param(0.02),
        }
        z = 0.1 * jax.random.normal(key, (2, self.n))
        return params, {"x": z[0], "y": z[1]}

    def step(self, params, state, inputs, ctx):
        x, y, dt = state["x"], state["y"], ctx.dt
        a, omega, G = params["a"], params["omega"], params["G"]
        radial = a - x * x - y * y
        dx = radial * x - omega * y + G * inputs["x_in"]
        dy = radial * y + omega * x + G * inputs["y_in"]
        eta = jax.random.normal(ctx.key, (2, self.n), x.dtype)
        noise = params["sigma"] * jnp.sqrt(dt)
        x = x + dt * dx + noise * eta[0]
        y = y + dt * dy + noise * eta[1]
        return {"x": x, "y": y}, {"x": x, "y": y}
