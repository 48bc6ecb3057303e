"""A BOLD forward model (Balloon-Windkessel) and functional connectivity.

Neural activity ``z`` drives a vasodilatory signal ``s``, blood inflow ``f``,
venous volume ``v`` and deoxyhaemoglobin ``q`` (Friston, Mechelli, Turner &
Price 2000; the balloon of Buxton, Wong & Frank 1998), in seconds:

    ds/dt = z - kappa s - gamma (f - 1)
    df/dt = s
    tau dv/dt = f - v^(1/alpha)
    tau dq/dt = f (1 - (1 - rho)^(1/f)) / rho - v^(1/alpha) q / v
    BOLD = V0 (k1 (1 - q) + k2 (1 - q/v) + k3 (1 - v))

with the constants of Stephan, Weiskopf, Drysdale, Robinson & Friston (2007,
NeuroImage 38, 387): kappa = 0.64 /s, gamma = 0.32 /s, tau = 2 s, alpha =
0.32, rho (E0) = 0.4, V0 = 0.04, and k1 = 4.3 theta0 rho TE, k2 = epsilon r0
rho TE, k3 = 1 - epsilon with theta0 = 40.3 /s, r0 = 25 /s, TE = 0.04 s,
epsilon = 1. At rest (z = 0) the state is s = 0, f = v = q = 1 and the
signal 0. The response to a brief pulse peaks after about 4.5 s and
undershoots after (tested). The signal is a fraction (x 100 for percent).

`bold` integrates with forward Euler at the run's ``dt`` (a `jax.lax.scan`:
differentiable, vmappable) and samples every ``tr_ms``;
`functional_connectivity` gives Pearson correlations and their Fisher z;
`fc_sc_correlation` compares the upper triangles of FC and SC.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

_THETA0, _R0, _TE, _EPSILON, _E0 = 40.3, 25.0, 0.04, 1.0, 0.4
HAEMODYNAMICS = {"kappa": 0.64, "gamma": 0.32, "tau": 2.0, "alpha": 0.32, "rho": _E0, "V0": 0.04,
                 "k1": 4.3 * _THETA0 * _E0 * _TE, "k2": _EPSILON * _R0 * _E0 * _TE, "k3": 1.0 - _EPSILON}


def bold(activity, dt_ms: float, tr_ms: float | None = None, constants=None) -> jax.Array:
    """The BOLD signal of ``activity`` (time first, any trailing shape), sampled every ``tr_ms``.

    ``dt_ms``: the step of ``activity`` in ms (keep it at or below about 10 ms for Euler);
    ``constants``: overrides of `HAEMODYNAMICS`.
    """
    z = jnp.asarray(activity)
    if z.ndim == 0 or z.shape[0] == 0:
        raise ValueError(f"bold needs activity with time first, got shape {z.shape}")
    if not (isinstance(dt_ms, (int, float, np.floating)) and 0 < dt_ms <= 50):
        raise ValueError(f"bold: dt_ms must be a step in ms in (0, 50], got {dt_ms!r}")
    every = 1
    if tr_ms is not None:
        every = int(round(tr_ms / dt_ms))
        if every < 1 or abs(every * dt_ms - tr_ms) > 1e-6 * tr_ms:
            raise ValueError(f"bold: tr_ms ({tr_ms}) must be a whole number of steps of {dt_ms} ms")
    c = {**HAEMODYNAMICS, **(constants or {})}
    unknown = sorted(set(c) - set(HAEMODYNAMICS))
    if unknown:
        raise ValueError(f"bold: unknown constants {unknown}; known: {sorted(HAEMODYNAMICS)}")
    h = dt_ms / 1000.0
    log_rest = np.log(1.0 - c["rho"])

    def extraction_times_flow(f):  # f (1 - (1 - rho)^(1/f))
        return -f * jnp.expm1(log_rest / f)

    at_rest = extraction_times_flow(jnp.ones((), z.dtype))

    # the state is kept as deviations from rest (s, f - 1, v - 1, q - 1): in float32 the
    # increments of a step (1e-8 at dt = 0.1 ms) would be lost beside f, v, q ~ 1
    def step(x, zt):
        s, df, dv, dq = x
        outflow = jnp.expm1(jnp.log1p(dv) / c["alpha"])  # v^(1/alpha) - 1
        inflow = (extraction_times_flow(1.0 + df) - at_rest) / c["rho"]  # f E(f) / rho - 1
        leaving = (outflow + dq + outflow * dq - dv) / (1.0 + dv)  # v^(1/alpha) q / v - 1
        s2 = s + h * (zt - c["kappa"] * s - c["gamma"] * df)
        df2 = jnp.maximum(df + h * s, -0.999)
        dv2 = jnp.maximum(dv + h * (df - outflow) / c["tau"], -0.999)
        dq2 = jnp.maximum(dq + h * (inflow - leaving) / c["tau"], -0.999)
        y = c["V0"] * (-c["k1"] * dq2 + c["k2"] * (dv2 - dq2) / (1.0 + dv2) - c["k3"] * dv2)
        return (s2, df2, dv2, dq2), y

    zero = jnp.zeros(z.shape[1:], z.dtype)
    _, y = jax.lax.scan(step, (zero, zero, zero, zero), z)
    return y[every - 1::every]


def functional_connectivity(signals) -> dict:
    """Pearson correlations between the columns of ``signals`` (time x regions) and their
    Fisher z (``arctanh``, the diagonal set to 0)."""
    x = np.asarray(signals, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 3:
        raise ValueError(f"functional_connectivity needs (time >= 3, regions), got shape {x.shape}")
    r = np.corrcoef(x.T)
    z = np.arctanh(np.clip(r, -0.999999, 0.999999))
    np.fill_diagonal(z, 0.0)
    return {"r": r, "z": z}


def fc_sc_correlation(fc, sc) -> float:
    """Pearson correlation of the upper triangles (off the diagonal) of FC and SC."""
    fc, sc = np.asarray(fc, dtype=np.float64), np.asarray(sc, dtype=np.float64)
    if fc.shape != sc.shape or fc.ndim != 2 or fc.shape[0] != fc.shape[1]:
        raise ValueError(f"FC and SC must be square and of one shape, got {fc.shape} and {sc.shape}")
    upper = np.triu_indices(fc.shape[0], k=1)
    return float(np.corrcoef(fc[upper], sc[upper])[0, 1])
