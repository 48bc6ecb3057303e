"""Cerebellum: granule expansion, Purkinje cells taught by climbing fibres.

The Marr-Albus-Ito circuit, one step per time step (fast relative to the
cortical loops it serves):

- granule cells expand the mossy-fibre input ``m`` (n_mossy) into a much
  larger, sparse code: each granule cell sums ``fan_in`` (about 4) random
  mossy fibres with fixed positive weights and fires above a threshold,
  ``g = relu(W_mg^T m - theta)``; few inputs per cell maximise the
  dimensionality of the code (Litwin-Kumar et al. 2017, Neuron 93, 1153);
  ``theta`` is set per cell at a quantile of its input distribution under
  unit-variance mossy input, so a ``coding_level`` fraction of cells is
  active;
- Purkinje cells read the parallel fibres, ``p = W_pf^T g`` (n_out);
- deep cerebellar nuclei (DCN) are excited by mossy collaterals (fixed
  positive weights, ``U(0, 1) / sqrt(n_mossy)``) and inhibited by Purkinje
  cells: ``dcn = W_md^T m + bias - p``;
- climbing fibres from the inferior olive carry an error ``e`` (port
  ``climbing``, n_out), positive when the DCN output should rise. Parallel
  fibre synapses that were active when the error was made are depressed
  (LTD), or potentiated for negative errors (LTP), by the normalised
  least-mean-squares rule ``W_pf += -eta dt lr_gain g_prev e^T / (|g_prev|^2 + 1)``
  (`brainsim.plasticity.lms_step`; ``eta`` per ms); the normalisation makes
  learning stable for ``eta dt lr_gain < 2`` whatever the size of the granule code. ``g_prev`` is
  the granule code of the previous step, matching an error that reaches the
  cerebellum one step after the output it judges (an inferior-olive loop of
  delay 1).

The learning-rate gain at port ``lr_gain`` (1 when nothing drives it) lets a
neuromodulator such as acetylcholine scale plasticity.

Forgetting: with ``forget`` > 0 (per ms) the parallel-fibre weights also
decay towards zero, ``W_pf *= 1 - forget dt``, each step, the retention of
the fast process in the two-rate model of motor adaptation (Smith,
Ghazizadeh & Shadmehr 2006, PLoS Biol 4, e179). The default 0 keeps what is
learned.

Params: ``eta``, ``forget``, ``W_md`` (n_mossy, n_out), ``bias`` (n_out,), ``theta``
(n_granule,). State: ``W_pf`` (plastic), granule wiring, ``g_prev``.
Ports: inputs ``mossy``, ``climbing``, ``lr_gain``; outputs ``dcn``,
``purkinje``, ``granule``.
"""

from __future__ import annotations

import dataclasses
import statistics

import jax
import jax.numpy as jnp
import numpy as np

from brainsim import Port, Region, check_int, param, plasticity


@dataclasses.dataclass(frozen=True)
class Cerebellum(Region):
    """A cerebellar module (see the module docstring).

    Args:
      n_mossy: mossy fibres (input size).
      n_granule: granule cells (the expansion).
      n_out: Purkinje cells = DCN cells = climbing fibres (output size).
      fan_in: mossy fibres per granule cell.
      coding_level: fraction of granule cells active for typical input.
    """

    n_mossy: int
    n_granule: int
    n_out: int
    fan_in: int = 4
    coding_level: float = 0.1

    def __post_init__(self):
        for name in ("n_mossy", "n_granule", "n_out", "fan_in"):
            check_int("Cerebellum", name, getattr(self, name))
        if self.fan_in > self.n_mossy:
            raise ValueError(f"fan_in={self.fan_in} exceeds n_mossy={self.n_mossy}")
        if not 0.0 < self.coding_level < 1.0:
            raise ValueError(f"coding_level must lie in (0, 1), got {self.coding_level}")

    @property
    def inputs(self):
        return {
            "mossy": Port(self.n_mossy),
            "climbing": Port(self.n_out),
            "lr_gain": Port((), "scalar", default=1.0),
        }

    @property
    def outputs(self):
        return {
            "dcn": Port(self.n_out),
            "purkinje": Port(self.n_out),
            "granule": Port(self.n_granule),
        }

    def init(self, key):
        k_idx, k_w, k_md = jax.random.split(key, 3)
        _, index = jax.lax.top_k(jax.random.uniform(k_idx, (self.n_granule, self.n_mossy)),
                                 self.fan_in)
        w_mg = jax.random.uniform(k_w, (self.n_granule, self.fan_in), minval=0.5, maxval=1.5)
        # With unit-variance mossy input a granule cell's input is N(0, sum w^2):
        # this threshold leaves `coding_level` of the cells active.
        z = statistics.NormalDist().inv_cdf(1.0 - self.coding_level)
        theta = z * jnp.sqrt(jnp.sum(w_mg**2, axis=1))
        params = {
            "eta": param(0.05),
            "forget": param(0.0),
            "theta": param(theta),
            "W_md": param(jax.random.uniform(k_md, (self.n_mossy, self.n_out))
                          / np.sqrt(self.n_mossy)),
            "bias": param(jnp.zeros(self.n_out)),
        }
        state = {
            "index": index.astype(jnp.int32),
            "W_mg": w_mg,
            "W_pf": jnp.zeros((self.n_granule, self.n_out)),
            "g_prev": jnp.zeros(self.n_granule),
        }
        return params, state

    def step(self, params, state, inputs, ctx):
        m = inputs["mossy"]
        g = jax.nn.relu(jnp.sum(state["W_mg"] * m[state["index"]], axis=1) - params["theta"])
        g_prev = state["g_prev"]
        kept = state["W_pf"] * (1.0 - params["forget"] * ctx.dt)
        w_pf = plasticity.lms_step(kept, g_prev, inputs["climbing"],
                                   params["eta"] * inputs["lr_gain"], ctx.dt, normalised=True)
        p = g @ w_pf
        dcn = m @ params["W_md"] + params["bias"] - p
        new_state = {**state, "W_pf": w_pf, "g_prev": g}
        return new_state, {"dcn": dcn, "purkinje": p, "granule": g}


@dataclasses.dataclass(frozen=True)
class InferiorOlive(Region):
    """Inferior olive: the error ``e = target - actual`` sent up climbing fibres.

    Ports: inputs ``target``, ``actual`` (n); output ``error`` (n).
    """

    n: int

    @property
    def inputs(self):
        return {"target": Port(self.n), "actual": Port(self.n)}

    @property
    def outputs(self):
        return {"error": Port(self.n)}

    def init(self, key):
        return {}, {}

    def step(self, params, state, inputs, ctx):
        return state, {"error": inputs["target"] - inputs["actual"]}


def participation_ratio(activity: np.ndarray) -> float:
    """Dimensionality ``(sum l)^2 / sum l^2`` of the covariance eigenvalues ``l``
    of ``activity`` (time x units); Gao & Ganguli (2015) and Litwin-Kumar et al. (2017)."""
    eigenvalues = np.linalg.eigvalsh(np.cov(np.asarray(activity, np.float64).T))
    eigenvalues = np.clip(eigenvalues, 0.0, None)
    return float(eigenvalues.sum() ** 2 / np.sum(eigenvalues**2))
