"""Thalamus: relay gated by the basal ganglia, and control of cortical gain.

Relay nuclei pass their driver input (sensory or cortical, port ``driver``)
to cortex only when the basal ganglia release them: GPi/SNr output at port
``inhibition`` (one value per relay unit or per channel, broadcast) closes a
gate,

    gate = sigmoid(k (theta - inhibition)),
    tau dx/dt = -x + gate * driver + bias,   r = relu(x),

so tonic GPi activity keeps the relay shut and its pause (disinhibition)
opens it, as in the basal-ganglia gating of thalamo-cortical loops
(e.g. Gurney et al. 2001; Frank 2005).

In control mode (``n_gain > 0``) the thalamic activity also sets a
multiplicative gain on each of ``n_gain`` cortical units, output ``gain``
``= relu(1 + W_g^T r)``, to be projected with ``kind="identity"`` onto a
`regions.cortex.Cortex`'s ``gain`` port. Selecting a different thalamic
pattern then scales the cortex's recurrent drive differently and switches
the computation the same cortical weights perform (Rikhye, Gilra & Halassa
2018, Nat Neurosci 21, 1753; Wang & Halassa 2021, Neuron 109, 2411).

`control_patterns` builds ``W_g`` for a set of patterns: each channel's relay
block, when fully open (rates 1), sets the gain to that channel's 0/1 mask,
and with every block shut the gain is 1 everywhere.

Params: ``tau`` (ms), ``k``, ``theta`` (gate), ``bias`` (n,), and in control
mode ``W_g`` (n, n_gain). Ports: inputs ``driver`` (n), ``inhibition``
(n_inhibition); outputs ``rate`` (n), ``gate`` (n) and ``gain`` (n_gain).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from brainsim import Port, Region, check_int, param


@dataclasses.dataclass(frozen=True)
class Thalamus(Region):
    """``n`` relay units (see the module docstring).

    Args:
      n: relay units.
      n_inhibition: size of the inhibitory (GPi) input; it must divide ``n``;
        each inhibitory unit gates a block of ``n // n_inhibition`` relay
        units (one block per action channel). Default: ``n``.
      n_gain: cortical units whose gain the thalamus controls (0: relay only).
    """

    n: int
    n_inhibition: int | None = None
    n_gain: int = 0

    def __post_init__(self):
        check_int("Thalamus", "n", self.n)
        if self.n % self._n_inhibition:
            raise ValueError(f"n_inhibition={self._n_inhibition} must divide n={self.n}")

    @property
    def _n_inhibition(self) -> int:
        return self.n if self.n_inhibition is None else self.n_inhibition

    @property
    def inputs(self):
        return {"driver": Port(self.n), "inhibition": Port(self._n_inhibition)}

    @property
    def outputs(self):
        ports = {"rate": Port(self.n), "gate": Port(self.n)}
        if self.n_gain:
            ports["gain"] = Port(self.n_gain)
        return ports

    def init(self, key):
        params = {"tau": param(5.0), "k": param(40.0), "theta": param(0.05),
                  "bias": param(jnp.zeros(self.n))}
        if self.n_gain:
            params["W_g"] = param(jax.random.normal(key, (self.n, self.n_gain)) / np.sqrt(self.n))
        return params, {"x": jnp.zeros(self.n)}

    def step(self, params, state, inputs, ctx):
        inhibition = jnp.repeat(inputs["inhibition"], self.n // self._n_inhibition)
        gate = jax.nn.sigmoid(params["k"] * (params["theta"] - inhibition))
        x = state["x"] + ctx.dt / params["tau"] * (
            -state["x"] + gate * inputs["driver"] + params["bias"])
        r = jax.nn.relu(x)
        outputs = {"rate": r, "gate": gate}
        if self.n_gain:
            outputs["gain"] = jax.nn.relu(1.0 + r @ params["W_g"])
        return {"x": x}, outputs


def control_patterns(masks, per_channel: int) -> np.ndarray:
    """``W_g`` (channels * per_channel, n_gain) for one gain pattern per channel.

    ``masks`` (channels, n_gain) of 0/1: with channel ``k``'s relay block at
    rate 1 and the others at 0, ``gain = relu(1 + r W_g) = masks[k]``; each
    row of block ``k`` is ``(masks[k] - 1) / per_channel``.
    """
    masks = np.asarray(masks, np.float64)
    if masks.ndim != 2 or not np.all((masks == 0) | (masks == 1)):
        raise ValueError(f"control_patterns: masks must be a (channels, n_gain) array of 0/1, got shape "
                         f"{masks.shape}")
    check_int("control_patterns", "per_channel", per_channel)
    return np.repeat((masks - 1.0) / per_channel, per_channel, axis=0).astype(np.float32)
