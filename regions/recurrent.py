"""A gated recurrent cortex: flax's LSTM or GRU cell as a region.

Prefrontal models of meta-reinforcement learning (Wang et al. 2018, Nat
Neurosci 21, 860) and of cerebellar feedback to cortex (Pemberton et al.
2021) use a gated recurrent network as cortex. The gates are flax's
(`flax.linen.OptimizedLSTMCell`, Hochreiter & Schmidhuber 1997;
`flax.linen.GRUCell`, Cho et al. 2014), not written again here:

    LSTM:  i, f, o = sigmoid(W x + U h + b),  g = tanh(W_g x + U_g h + b_g),
           c' = f c + i g,  h' = o tanh(c')
    GRU:   r, z = sigmoid(W x + U h + b),  n = tanh(W_n x + b_n + r (U_n h + b_n')),
           h' = (1 - z) n + z h

One step of the network is one step of the cell (``dt`` does not enter: it
is a discrete-time model, one update per step). The cell's weights sit in
this region's params under flax's names (``pfc.ii.kernel``, ``pfc.hf.bias``,
...) and train with `brainsim.train.fit` like any other param; its carry
(``c`` and ``h``, or ``h``) is state.

Ports: inputs ``input`` (n_in) and ``reset`` (event: 1 clears the carry
before the step, at the start of an episode); output ``rate`` (n), the
hidden state ``h'``.
"""

from __future__ import annotations

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp

from brainsim import Port, Region, check_int, param

CELLS = ("lstm", "gru")


def _float():
    """The dtype params are kept in (float32, or float64 under x64)."""
    return param(0.0).dtype


@dataclasses.dataclass(frozen=True)
class RecurrentCortex(Region):
    """``n`` gated recurrent units (``cell`` = "lstm" or "gru") reading ``n_in`` inputs."""

    n: int
    n_in: int
    cell: str = "lstm"

    def __post_init__(self):
        check_int("RecurrentCortex", "n", self.n)
        check_int("RecurrentCortex", "n_in", self.n_in)
        if self.cell not in CELLS:
            raise ValueError(f"RecurrentCortex cell must be one of {CELLS}, got {self.cell!r}")

    @property
    def _cell(self):
        dtype = _float()
        if self.cell == "lstm":
            return nn.OptimizedLSTMCell(features=self.n, dtype=dtype, param_dtype=dtype)
        return nn.GRUCell(features=self.n, dtype=dtype, param_dtype=dtype)

    @property
    def inputs(self):
        return {"input": Port(self.n_in), "reset": Port((), "event")}

    @property
    def outputs(self):
        return {"rate": Port(self.n)}

    def _zero_carry(self):
        h = jnp.zeros(self.n, _float())
        return {"c": h, "h": h} if self.cell == "lstm" else {"h": h}

    def init(self, key):
        carry = self._zero_carry()
        variables = self._cell.init(key, self._as_flax(carry), jnp.zeros(self.n_in, _float()))
        return jax.tree_util.tree_map(jnp.asarray, dict(variables["params"])), carry

    def _as_flax(self, carry):
        return (carry["c"], carry["h"]) if self.cell == "lstm" else carry["h"]

    def step(self, params, state, inputs, ctx):
        keep = 1.0 - inputs["reset"]
        carry = jax.tree_util.tree_map(lambda a: a * keep, state)
        new, h = self._cell.apply({"params": params}, self._as_flax(carry), inputs["input"])
        state = {"c": new[0], "h": new[1]} if self.cell == "lstm" else {"h": new}
        return state, {"rate": h}
