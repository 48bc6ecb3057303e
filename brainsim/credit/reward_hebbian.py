"""Reward-modulated Hebbian learning from rare exploratory kicks (Miconi 2017, eLife 6, e20899).

A recurrent rate population (one state leaf ``x``, its rate ``r = phi(x)``
at output port ``rate``) is kicked now and then: on every step after the
first ``skip``, each unit receives, with probability ``p_kick``, an extra
input drawn uniformly from ``[-kick, kick]``. No synapse is told which unit
was kicked. Each recurrent synapse ``j -> i`` instead sums over the trial a
supralinear Hebbian product of its presynaptic rate and the fluctuation of
its postsynaptic unit about a fast running average:

    dx_i(t) = x_i(t) - xbar_i(t - 1),    xbar_i(t) = a xbar_i(t - 1) + (1 - a) x_i(t)
    e_ji    = sum_t S(r_j(t - 1) dx_i(t)),    S(u) = u^3

The cube keeps the sign and lets the few large fluctuations that kicks cause
outweigh the many small ones of the network's own dynamics, so that ``e``
approximates the node-perturbation eligibility ``sum_t r_j xi_i``
(Fiete & Seung 2006) without knowing ``xi``. At the end of the trial one
scalar error ``E`` (the masked mean of a loss of the output against the
targets: no target reaches a synapse) and the running error ``Ebar_c`` of the
trial's condition ``c`` give

    dW_ji = -eta Ebar_c (E - Ebar_c) e_ji,    Ebar_c <- b Ebar_c + (1 - b) E

The rule returns ``Ebar_c (E - Ebar_c) e`` summed over the batch's trials as
the update of ``{region}.W_rec`` (zero elsewhere), so ``optax.sgd(eta)``
descends it; chain ``optax.clip(max_dw)`` for the paper's bound on each
weight change. ``shuffled=True`` pairs each trial's eligibility with another
trial's error (the control in which learning must fail).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from brainsim._src.step import advance
from brainsim.credit import rule as rules
from brainsim.errors import RunInputError
from brainsim.populations.rate import ACTIVATIONS
from brainsim.train import step_losses


class RewardHebbian(rules.Rule):
    """Miconi's reward-modulated Hebbian rule as a `brainsim.credit.Rule` (see the module docstring)."""

    name = "reward-modulated Hebbian"

    def __init__(self, net, state, *, region: str, output: str, loss: str = "mae", conditions: int = 1,
                 kick: float = 16.0, p_kick: float = 0.003, skip: int = 3, trace_decay: float = 0.05,
                 baseline_decay: float = 0.75, start_noise: float = 0.0, shuffled: bool = False):
        if region not in net.regions:
            raise RunInputError(f"reward_hebbian: no region {region!r}; regions are {sorted(net.regions)}")
        leaves = state["regions"][region]
        ports = f"{region}.rate" in net.output_ports and f"{region}.input" in net.input_ports
        if len(leaves) != 1 or not ports:
            raise RunInputError(f"reward_hebbian needs a rate population with one state leaf (its "
                                f"potential), ports input and rate; {region!r} has state {sorted(leaves)}")
        if getattr(net.regions[region], "activation", None) not in ACTIVATIONS:
            raise RunInputError(f"reward_hebbian reads rates r = phi(x): {region!r} declares no activation")
        if output not in net.output_ports:
            raise RunInputError(f"no output port {output!r}; output ports are {sorted(net.output_ports)}")
        if not (kick > 0 and 0 < p_kick <= 1 and 0 <= trace_decay < 1 and 0 <= baseline_decay < 1
                and start_noise >= 0):
            raise RunInputError("reward_hebbian needs kick > 0, 0 < p_kick <= 1, trace_decay and "
                                "baseline_decay in [0, 1), and start_noise >= 0")
        self.net, self.state, self.region, self.output = net, state, region, output
        self.loss = rules.check_loss(loss)
        self.conditions = int(conditions)
        self.kick, self.p_kick, self.skip = float(kick), float(p_kick), int(skip)
        self.trace_decay, self.baseline_decay = float(trace_decay), float(baseline_decay)
        self.shuffled = shuffled
        self.start_noise = float(start_noise)
        self.leaf = next(iter(leaves))

    def init(self, params):
        del params
        return {"baseline": jnp.zeros(self.conditions), "seen": jnp.zeros(self.conditions, bool)}

    def start(self, key):
        """A trial's start state: the rule's, with the region's potential jittered by
        ``U(-start_noise, start_noise)`` per unit."""
        x0 = self.state["regions"][self.region][self.leaf]
        jitter = self.start_noise * jax.random.uniform(key, x0.shape, x0.dtype, minval=-1.0, maxval=1.0)
        regions = {**self.state["regions"], self.region: {self.leaf: x0 + jitter}}
        return {**self.state, "regions": regions}

    def kicks(self, key, steps: int):
        """The exploratory kicks of one trial, ``(steps, n)``: mostly zeros, ``U(-kick, kick)`` on a
        fraction ``p_kick`` of unit-steps after the first ``skip`` steps (add them to the region's
        input port to replay a trial of the rule)."""
        x0 = self.state["regions"][self.region][self.leaf]
        n = x0.shape[0]
        k_size, k_when = jax.random.split(key)
        size = self.kick * jax.random.uniform(k_size, (steps, n), x0.dtype, minval=-1.0, maxval=1.0)
        kicked = jax.random.uniform(k_when, (steps, n)) < self.p_kick
        kicked = kicked & (jnp.arange(steps) >= self.skip)[:, None]
        return jnp.where(kicked, size, jnp.zeros_like(size))

    def trial(self, params, drive, key):
        """One kicked trial (start and kicks drawn from ``key`` as `start` and `kicks` draw them):
        ``(outputs (T, ...), eligibility (n, n))``, the eligibility indexed ``[pre, post]`` like
        ``W_rec``."""
        region = self.region
        k_start, k_kicks = jax.random.split(key)
        start = self.start(k_start)
        x0 = start["regions"][region][self.leaf]
        n, steps = x0.shape[0], next(iter(drive.values())).shape[0]
        kicks = self.kicks(k_kicks, steps)
        port = f"{region}.input"

        def step(carry, inputs):
            state, xbar, rate_before, eligibility = carry
            external, kick, t = inputs
            external = {**external, port: external[port] + kick if port in external else kick}
            new, signals = advance(self.net, params, state, external)
            x = new["regions"][region][self.leaf]
            hebb = (rate_before[:, None] * (x - xbar)[None, :]) ** 3
            eligibility = eligibility + jnp.where(t >= self.skip, hebb, 0.0)
            xbar = self.trace_decay * xbar + (1.0 - self.trace_decay) * x
            return (new, xbar, signals[f"{region}.rate"], eligibility), signals[self.output]

        phi = ACTIVATIONS[self.net.regions[region].activation]
        carry = (start, x0, phi(x0), jnp.zeros((n, n), x0.dtype))
        (_, _, _, eligibility), outputs = jax.lax.scan(step, carry, (drive, kicks, jnp.arange(steps)))
        return outputs, eligibility

    def errors(self, outputs, batch):
        """Each trial's scalar error: the masked mean over steps of the loss against the targets."""
        return trial_means(step_losses(self.loss, outputs, batch["targets"], 2), batch.get("mask"))

    def __call__(self, params, rule_state, batch, key):
        rules.check_batch(self.net, batch, self.output, self.loss)
        if "W_rec" not in params[self.region]:
            raise RunInputError(f"reward_hebbian trains {self.region}.W_rec, which its params lack")
        if key is None:
            raise RunInputError("reward_hebbian draws its kicks from the key: pass one (fit does)")
        size = batch["targets"].shape[0]
        condition = jnp.asarray(batch.get("condition", jnp.zeros(size, jnp.int32)))
        if condition.shape != (size,):
            raise RunInputError(f"batch['condition'] must give one condition per trial, shape ({size},), "
                                f"got {tuple(condition.shape)}")
        outputs, eligibility = jax.vmap(self.trial, in_axes=(None, 0, 0))(
            params, batch["inputs"], jax.random.split(key, size))
        error = self.errors(outputs, batch)
        if self.shuffled:
            error = error[jax.random.permutation(jax.random.fold_in(key, 2), size)]
        baseline, seen = rule_state["baseline"], rule_state["seen"]
        # a condition's first error is its own baseline (no update from an arbitrary zero)
        before = jnp.where(seen[condition], baseline[condition], error)
        weight = before * (error - before)
        update = jnp.einsum("b,bij->ij", weight, eligibility)
        updates = jax.tree.map(jnp.zeros_like, params)
        w_rec = update.astype(params[self.region]["W_rec"].dtype)
        updates[self.region] = {**updates[self.region], "W_rec": w_rec}
        for i in range(size):  # trials of one condition update its running error in turn
            c = condition[i]
            old = jnp.where(seen[c], baseline[c], error[i])
            baseline = baseline.at[c].set(self.baseline_decay * old + (1 - self.baseline_decay) * error[i])
            seen = seen.at[c].set(True)
        metrics = {"error": jnp.mean(error), "correct": self.sign_agreement(outputs, batch)}
        return jnp.mean(error), updates, {"baseline": baseline, "seen": seen}, metrics

    @staticmethod
    def sign_agreement(outputs, batch):
        """The fraction of trials whose masked-mean output has the sign of their masked-mean
        target (correct answers of a task with targets of +-1)."""
        mask = batch.get("mask")
        targets = batch["targets"].astype(outputs.dtype)
        agree = jnp.sign(trial_means(outputs, mask)) == jnp.sign(trial_means(targets, mask))
        return jnp.mean(agree.astype(outputs.dtype))


def trial_means(values, mask=None):
    """The mean over each trial's steps (axis 1) of ``values`` ``(B, T, ...)``, masked steps left out."""
    if mask is None:
        return jnp.mean(values, axis=1)
    weights = mask.astype(values.dtype).reshape(mask.shape + (1,) * (values.ndim - 2))
    return jnp.sum(values * weights, axis=1) / jnp.maximum(jnp.sum(weights, axis=1), 1.0)


def reward_hebbian(net, state, *, region: str, output: str, loss: str = "mae", conditions: int = 1,
                   kick: float = 16.0, p_kick: float = 0.003, skip: int = 3, trace_decay: float = 0.05,
                   baseline_decay: float = 0.75, start_noise: float = 0.0,
                   shuffled: bool = False) -> RewardHebbian:
    """Miconi's (2017) reward-modulated Hebbian rule for the recurrent weights of ``region``
    (see `brainsim.credit.reward_hebbian`); ``batch["condition"]`` (ints < ``conditions``) keys
    the running error; defaults are the paper's (kicks of up to 16 on 0.3% of unit-steps; the
    paper starts each trial from ``start_noise=0.1``)."""
    return RewardHebbian(net, state, region=region, output=output, loss=loss, conditions=conditions,
                         kick=kick, p_kick=p_kick, skip=skip, trace_decay=trace_decay,
                         baseline_decay=baseline_decay, start_noise=start_noise, shuffled=shuffled)
