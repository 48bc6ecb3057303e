"""Node perturbation: learning from a scalar reward alone (Fiete & Seung 2006, PRL 97, 048104).

Every step, noise ``xi_t ~ N(0, sigma^2)`` is added to the summed input of the
perturbed ports (``ports``: the units' synaptic drive). A weight ``w`` onto a
perturbed unit keeps the eligibility ``e = sum_t xi_t dI_t/dw`` (for a dense
projection, the presynaptic activity times the unit's own perturbation), and
at the end of the trial its update is

    dw = -eta (R - R_bar) e / sigma^2,

with ``R`` the trial's reward and ``R_bar`` a baseline. Because the noise is
independent of everything else, ``E[(R - R_bar) xi_t] / sigma^2 = dR/dI_t`` to
first order, so the expected update follows the reward gradient exactly
(the estimator is unbiased as ``sigma -> 0``) while no unit ever sees a target
or an error. Its variance grows with the number of perturbed units, which
is why it learns slowly. Miconi (2017, eLife 6, e20899) makes the same rule
work without knowing the perturbation, from a supralinear Hebbian trace.

The reward is ``-loss`` of the trial (targets as for every rule), or the sum
over the trial of a recorded port (``reward="task.reward"``), a task in the
loop with no target at all. The baseline is ``"unperturbed"`` (the same trial
run once without noise) or ``"running"`` (an average of past rewards that
decays by ``baseline_decay`` per batch, kept in the rule's state).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from brainsim._src.step import advance
from brainsim.credit import rule as rules
from brainsim.errors import RunInputError

BASELINES = ("unperturbed", "running")


class NodePerturbation(rules.Rule):
    """Node perturbation as a `brainsim.credit.Rule` (see the module docstring)."""

    name = "node perturbation"

    def __init__(self, net, state, *, output: str | None = None, loss: str = "mse", reward: str | None = None,
                 steps: int | None = None, ports=None, sigma: float = 0.1, baseline: str = "unperturbed",
                 baseline_decay: float = 0.9):
        if (output is None) == (reward is None):
            raise RunInputError("node_perturbation needs either output= (a loss against targets) or "
                                "reward= (a recorded port summed over the trial), not both")
        if baseline not in BASELINES:
            raise RunInputError(f"baseline must be one of {BASELINES}, got {baseline!r}")
        if not sigma > 0:
            raise RunInputError(f"sigma must be > 0, got {sigma!r}")
        if not 0 <= baseline_decay < 1:
            raise RunInputError(f"baseline_decay must be in [0, 1), got {baseline_decay!r}")
        self.net, self.state, self.output, self.reward, self.steps = net, state, output, reward, steps
        self.loss = rules.check_loss(loss)
        self.sigma, self.baseline, self.decay = float(sigma), baseline, float(baseline_decay)
        watched = output if reward is None else reward
        if watched not in net.output_ports:
            raise RunInputError(f"no output port {watched!r}; output ports are {sorted(net.output_ports)}")
        if ports is None:  # every input port that a projection drives
            ports = sorted({p.target for p in net.projections if p.plasticity is None})
        ports = [ports] if isinstance(ports, str) else list(ports)
        unknown = [p for p in ports if p not in net.input_ports]
        if unknown or not ports:
            raise RunInputError(f"node_perturbation: perturbed ports {unknown or ports} are not input ports "
                                f"of the network; input ports are {sorted(net.input_ports)}")
        self.ports = tuple(ports)

    def init(self, params):
        del params
        return {"baseline": jnp.zeros(()), "seen": jnp.zeros((), jnp.int32)}

    def __call__(self, params, rule_state, batch, key):
        if key is None:
            raise RunInputError("node_perturbation draws its perturbations from the key; pass one")
        if self.reward is None:
            size, steps = rules.check_batch(self.net, batch, self.output, self.loss)
            mask, norm = rules.loss_mask(batch)
            targets = batch["targets"]
        else:
            inputs = batch.get("inputs") or {}
            sizes = {v.shape[0] for v in inputs.values()}
            size = sizes.pop() if sizes else int(batch.get("trials", 1))
            steps = next(iter(inputs.values())).shape[1] if inputs else self.steps
            if steps is None:
                raise RunInputError("node_perturbation with a reward port and no inputs needs steps=")
            mask, norm = None, jnp.float32(1.0)
            targets = jnp.zeros((size, steps))
        inputs = batch.get("inputs") or {}
        keys = jax.random.split(key, size)
        trial = lambda i, t, m, k: self._trial(params, i, t, m, norm, k, steps)  # noqa: E731
        loss, clean, eligibility = jax.vmap(trial, in_axes=(0, 0, None if mask is None else 0, 0))(
            inputs, targets, mask, keys)
        rewards = -loss * (size if self.reward is None else 1.0)  # a trial's loss, not its share
        if self.baseline == "unperturbed":
            base = -clean * (size if self.reward is None else 1.0)
            new_state = rule_state
        else:
            old = jnp.where(rule_state["seen"] > 0, rule_state["baseline"], jnp.mean(rewards))
            base = jnp.broadcast_to(old, rewards.shape)
            new_state = {"baseline": self.decay * old + (1 - self.decay) * jnp.mean(rewards),
                         "seen": rule_state["seen"] + 1}
        advantage = (rewards - base) / (self.sigma ** 2 * size)
        updates = jax.tree.map(lambda e: -jnp.tensordot(advantage, e, axes=1).astype(e.dtype), eligibility)
        if self.reward is not None:
            value = -jnp.mean(rewards)
        else:
            value = jnp.sum(clean if self.baseline == "unperturbed" else loss)
        return value, updates, new_state, {"reward": jnp.mean(rewards)}

    def _trial(self, params, inputs, targets, mask, norm, key, steps):
        k_run, k_noise = jax.random.split(key)
        start = {**self.state, "key": k_run}
        watched = self.output if self.reward is None else self.reward
        zero = jax.tree.map(jnp.zeros_like, params)

        def score(signals, target, weight):
            if self.reward is not None:
                return -jnp.sum(signals[watched])
            return rules.step_loss(self.loss, signals[watched], target, weight)

        def body(carry, _):  # inputs are indexed, not scanned over: nothing of length T is made
            state, noisy_state, eligibility, loss, clean = carry
            t = noisy_state["t"] - start["t"]
            drive = {path: value[t] for path, value in inputs.items()}
            target, weight = targets[t], rules.step_weight(mask, t, norm)
            xi = {p: self.sigma * jax.random.normal(jax.random.fold_in(jax.random.fold_in(k_noise, t), i),
                                                    self.net.input_ports[p].shape)
                  for i, p in enumerate(self.ports)}
            noisy = {**drive, **{p: drive[p] + xi[p] if p in drive else xi[p] for p in self.ports}}

            def delivered(p):
                new, signals = advance(self.net, p, noisy_state, noisy, isolate=True)
                return {port: signals[port] for port in self.ports}, (new, signals)

            _, pull, (noisy_state, signals) = jax.vjp(delivered, params, has_aux=True)
            eligibility = jax.tree.map(jnp.add, eligibility, pull(xi)[0])
            loss = loss + score(signals, target, weight)
            if self.baseline == "unperturbed":
                state, clean_signals = advance(self.net, params, state, drive)
                clean = clean + score(clean_signals, target, weight)
            return (state, noisy_state, eligibility, loss, clean), None

        zero_loss = jnp.zeros((), jnp.float32)
        carry = (start, start, zero, zero_loss, zero_loss)
        (_, _, eligibility, loss, clean), _ = jax.lax.scan(body, carry, None, length=steps)
        return loss, clean, eligibility


def node_perturbation(net, state, *, output: str | None = None, loss: str = "mse", reward: str | None = None,
                      steps: int | None = None, ports=None, sigma: float = 0.1, baseline: str = "unperturbed",
                      baseline_decay: float = 0.9) -> NodePerturbation:
    """Node perturbation (Fiete & Seung 2006) as a `brainsim.credit.Rule`.

    Args:
      net, state: the network and the state each trial starts from.
      output, loss: the loss against the batch's targets (reward = -loss), or
      reward: an output port whose sum over the trial is the reward (no targets).
      steps: the trial length when a reward port runs without inputs.
      ports: the input ports whose drive is perturbed (default: every one a projection drives).
      sigma: the perturbations' standard deviation.
      baseline: ``"unperturbed"`` or ``"running"`` (decay ``baseline_decay`` per batch).
    """
    return NodePerturbation(net, state, output=output, loss=loss, reward=reward, steps=steps, ports=ports,
                            sigma=sigma, baseline=baseline, baseline_decay=baseline_decay)
