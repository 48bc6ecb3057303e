"""Hippocampus: a predictive map (successor representation) learned by TD.

The successor representation (SR; Dayan 1993, Neural Comput 5, 613) of a
state ``s`` is the expected discounted future occupancy of every state
``s'``: ``M[s, s'] = E[sum_t gamma^t 1(s_t = s') | s_0 = s]``; for a policy
with transition matrix ``T``, ``M = (I - gamma T)^-1``. Stachenfeld,
Botvinick & Gershman (2017, Nat Neurosci 20, 1643) proposed that place
cells encode columns of ``M``: a "place field" ``M[:, s']`` then skews
backwards, against the usual direction of travel.

The region receives the current state as a place-cell vector ``phi``
(port ``place``, e.g. one-hot) and learns ``M`` online by temporal
differences between the previous and the current step:

    delta = phi_prev + gamma * phi @ M - phi_prev @ M
    M += alpha * lr_gain * outer(phi_prev, delta)

It outputs the SR features ``sr = phi @ M`` and the value ``V = sr . R``
against the reward vector ``R`` (params), which can itself be learned
elsewhere or set by the user. Steps where port ``reset`` is 1 (an episode
boundary) skip the update, so no transition is learned across episodes.

With ``ca3=True`` a CA3-like autoassociative memory completes partial
cues: patterns stored with the Hebbian rule ``W = sum_k p_k p_k^T / n``
(Hopfield 1982) in state, recalled by ``x <- tanh(beta W x + cue)``; output
``ca3``. ``reset`` also clears ``x``, so a new cue starts a fresh recall.
Port ``store`` (1 on steps to store the current cue) writes the pattern
``sign(cue)``.

Params: ``gamma``, ``alpha``, ``R`` (n,), and with CA3 ``beta``.
Ports: inputs ``place`` (n), ``reset``, ``lr_gain`` (scalars); with CA3
also ``cue`` (n), ``store`` (scalar). Outputs ``sr`` (n), ``value``
(scalar), with CA3 ``ca3`` (n).
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp

from brainsim import Port, Region, check_int, param


@dataclasses.dataclass(frozen=True)
class Hippocampus(Region):
    """A successor-representation map over ``n`` states (see the module docstring)."""

    n: int
    ca3: bool = False

    def __post_init__(self):
        check_int("Hippocampus", "n", self.n)

    @property
    def inputs(self):
        ports = {
            "place": Port(self.n),
            "reset": Port((), "event"),
            "lr_gain": Port((), "scalar", default=1.0),
        }
        if self.ca3:
            ports.update(cue=Port(self.n), store=Port((), "event"))
        return ports

    @property
    def outputs(self):
        ports = {"sr": Port(self.n), "value": Port((), "scalar")}
        if self.ca3:
            ports["ca3"] = Port(self.n)
        return ports

    def init(self, key):
        params = {"gamma": param(0.9), "alpha": param(0.1), "R": param(jnp.zeros(self.n))}
        state = {"M": jnp.eye(self.n), "phi_prev": jnp.zeros(self.n)}
        if self.ca3:
            params["beta"] = param(2.0)
            state.update(W_ca3=jnp.zeros((self.n, self.n)), x_ca3=jnp.zeros(self.n))
        return params, state

    def step(self, params, state, inputs, ctx):
        phi, phi_prev, M = inputs["place"], state["phi_prev"], state["M"]
        delta = phi_prev + params["gamma"] * (phi @ M) - phi_prev @ M
        learn = params["alpha"] * inputs["lr_gain"] * (1.0 - inputs["reset"])
        M = M + learn * jnp.outer(phi_prev, delta)
        sr = phi @ M
        new_state = {**state, "M": M, "phi_prev": phi}
        outputs = {"sr": sr, "value": sr @ params["R"]}
        if self.ca3:
            pattern = jnp.sign(inputs["cue"])
            w = state["W_ca3"] + inputs["store"] * (
                jnp.outer(pattern, pattern) - jnp.diag(pattern * pattern)) / self.n
            x_prev = state["x_ca3"] * (1.0 - inputs["reset"])
            x = jnp.tanh(params["beta"] * (x_prev @ w) + inputs["cue"])
            new_state.update(W_ca3=w, x_ca3=x)
            outputs["ca3"] = x
        return new_state, outputs
