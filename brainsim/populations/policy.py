"""A stochastic action selector: softmax over action values.

Each step it samples one of ``n`` actions with probabilities
``p = softmax(logits / temperature)`` (logits at port ``logits``) and
outputs the choice as a one-hot vector ``action`` and the probabilities
``probs``. Sampling uses the step's key, so runs are reproducible and
vmappable over seeds. Params: ``temperature``.
"""

from __future__ import annotations

import dataclasses

import jax

from brainsim.checks import check_int
from brainsim.dtypes import param
from brainsim.ports import Port
from brainsim.region import Region


@dataclasses.dataclass(frozen=True)
class SoftmaxPolicy(Region):
    """Samples one of ``n`` actions per step (see the module docstring)."""

    n: int

    def __post_init__(self):
        check_int("SoftmaxPolicy", "n (actions)", self.n, minimum=2)

    @property
    def inputs(self):
        return {"logits": Port(self.n)}

    @property
    def outputs(self):
        return {"action": Port(self.n, "event"), "probs": Port(self.n)}

    def init(self, key):
        return {"temperature": param(1.0)}, {}

    def step(self, params, state, inputs, ctx):
        logits = inputs["logits"] / params["temperature"]
        choice = jax.random.categorical(ctx.key, logits)
        action = jax.nn.one_hot(choice, self.n, dtype=logits.dtype)
        return state, {"action": action, "probs": jax.nn.softmax(logits)}
