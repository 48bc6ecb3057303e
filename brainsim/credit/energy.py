"""Energy-based credit: predictive coding and prospective configuration.

Both see a feedforward stack of rate areas (regions `RatePopulation`, joined
by zero-delay projections) as a chain of predictions. Every area ``l`` holds
a value ``x_l`` (its units' potential) and predicts it from the areas that
project to it, ``mu_l = sum_p W_p^T phi(x_p) + b_l`` (the projections' own
kinds, signs and scales), so that ``eps_l = x_l - mu_l`` are its
prediction-error units. The energy

    F(x) = sum_l |eps_l|^2 / 2

is lowered by moving the values (inference: ``x <- x - gamma dF/dx``, each
area seeing only its own error and the errors it causes above,
``dF/dx_l = eps_l - phi'(x_l) * sum W eps_above``), with the input areas
clamped to their drive, and then each weight changes by the local product
of an error and a presynaptic rate, ``dW_p = -eta phi(x_pre) eps_post^T``
(``dF/dW``, returned as the update).

- **predictive coding** (Rao & Ballard 1999; Whittington & Bogacz 2017,
  Neural Comput 29, 1229): the output is only nudged towards the target,
  ``F + beta * loss``; the update ``dF/dW / beta`` tends to the backprop
  gradient of the loss as ``beta -> 0``.
- **prospective configuration** (Song et al. 2024, Nat Neurosci 27, 348):
  the output is clamped to the target and the values settle to equilibrium
  before any weight changes, so that the update moves the network towards
  the activity it would have after learning, rather than following the
  gradient; this is claimed to interfere less with what was learned before.

Each (trial, step) of a batch is one sample of the stack's feedforward map
(every area with ``tau = dt``, so that one step of the network computes it:
the rule refuses other values when it can see them, outside ``jit``); the
update is the samples' weighted sum with the weights of the masked mean loss.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from brainsim._src.graph import topological_order
from brainsim.credit import rule as rules
from brainsim.errors import RunInputError
from brainsim.populations.rate import ACTIVATIONS, RatePopulation


class EnergyRule(rules.Rule):
    """Predictive coding or prospective configuration (see the module docstring)."""

    def __init__(self, method: str, net, state, *, output: str, loss: str = "mse", nudge: float = 0.01,
                 inference_steps: int = 100, inference_rate: float = 0.1):
        self.method, self.net, self.state, self.output = method, net, state, output
        self.name = "predictive coding" if method == "pc" else "prospective configuration"
        self.loss = rules.check_loss(loss)
        if output not in net.output_ports:
            raise RunInputError(f"{self.name}: no output port {output!r}; output ports are "
                                f"{sorted(net.output_ports)}")
        self.out_region = output.split(".")[0]
        if method == "pcf" and (loss != "mse" or net.regions[self.out_region].activation != "linear"):
            raise RunInputError("prospective configuration clamps the output to the target: it needs a "
                                "linear output region and loss='mse'")
        if method == "pc" and not nudge > 0:
            raise RunInputError(f"predictive coding needs nudge > 0, got {nudge!r}")
        if inference_steps < 1 or not inference_rate > 0:
            raise RunInputError("inference_steps must be >= 1 and inference_rate > 0")
        self.nudge, self.inference_steps = float(nudge), int(inference_steps)
        self.rate = float(inference_rate)
        self._check_stack()

    def _check_stack(self):
        net = self.net
        odd = {n: type(r).__name__ for n, r in net.regions.items() if not isinstance(r, RatePopulation)}
        if odd:
            raise RunInputError(f"{self.name} sees a feedforward stack of RatePopulation areas; "
                                f"{odd} are not")
        late = [p.name for p in net.projections if p.delay != 0 or p.edge_delay is not None
                or p.plasticity is not None]
        if late:
            raise RunInputError(f"{self.name} needs zero-delay projections without plasticity; "
                                f"{late} are not")
        order, cycle = topological_order(list(net.regions), [(p.src, p.dst) for p in net.projections])
        if cycle is not None:
            raise RunInputError(f"{self.name} needs a feedforward stack; {cycle} form a loop")
        self.order = tuple(order)
        self.inputs_of = {r: [p for p in net.projections if p.dst == r] for r in order}
        self.free = tuple(r for r in order if self.inputs_of[r])  # areas with a prediction to meet
        if self.out_region not in self.free:
            raise RunInputError(f"{self.name}: the output region {self.out_region!r} receives no projection")

    # -- the energy ----------------------------------------------------------
    def _prediction(self, params, values, region, drive):
        """``mu`` of ``region`` from the values of the areas that project to it."""
        total = drive.get(f"{region}.input", 0.0) + params[region]["bias"]
        for p in self.inputs_of[region]:
            pre = ACTIVATIONS[self.net.regions[p.src].activation](values[p.src])
            kind_state = self.state["projections"][p.name]
            y, _ = p.kind.apply(params[p.name], kind_state, pre, self.net.endpoints[p.name], 0, params["dt"])
            total = total + y
        return total

    def _clamped(self, params, drive):
        """The values of the input areas (no projection into them): their drive and bias."""
        return {r: drive.get(f"{r}.input", jnp.zeros(self.net.regions[r].n)) + params[r]["bias"]
                for r in self.order if not self.inputs_of[r]}

    def energy(self, params, free_values, drive, target=None):
        """``F`` (plus ``nudge * loss`` for predictive coding) of one sample."""
        values = {**self._clamped(params, drive), **free_values}
        if self.method == "pcf":
            values[self.out_region] = target
        total = 0.0
        for r in self.free:
            eps = values[r] - self._prediction(params, values, r, drive)
            total = total + 0.5 * jnp.sum(eps ** 2)
        if self.method == "pc" and target is not None:
            y = ACTIVATIONS[self.net.regions[self.out_region].activation](values[self.out_region])
            total = total + self.nudge * rules.step_loss(self.loss, y, target, 1.0)
        return total

    def feedforward(self, params, drive):
        """The values with every error zero: the network's ordinary output."""
        values = self._clamped(params, drive)
        for r in self.free:
            values[r] = self._prediction(params, values, r, drive)
        return values

    def infer(self, params, drive, target):
        """The free values after ``inference_steps`` steps of ``x <- x - rate dF/dx``, from the
        feedforward pass."""
        values = self.feedforward(params, drive)
        free = {r: values[r] for r in self.free if not (self.method == "pcf" and r == self.out_region)}
        grad = jax.grad(lambda v: self.energy(params, v, drive, target))

        def relax(_, v):
            return jax.tree.map(lambda x, g: x - self.rate * g, v, grad(v))

        return jax.lax.fori_loop(0, self.inference_steps, relax, free)

    # -- one update ------------------------------------------------------------
    def _check_one_step(self, params):
        """Every area's ``tau`` equals ``dt`` (checked when the params are concrete)."""
        try:
            dt = float(params["dt"])
            taus = {r: float(params[r]["tau"]) for r in self.order}
        except jax.errors.ConcretizationTypeError:
            return
        off = {r: tau for r, tau in taus.items() if abs(tau - dt) > 1e-6 * dt}
        if off:
            raise RunInputError(f"{self.name} sees each area as one step of the stack: set tau = dt = "
                                f"{dt} ms (overrides={{'{next(iter(off))}.tau': {dt}, ...}}); {off} differ")

    def __call__(self, params, rule_state, batch, key):
        del key
        self._check_one_step(params)
        rules.check_batch(self.net, batch, self.output, self.loss)
        mask, norm = rules.loss_mask(batch)
        targets = batch["targets"]
        size, steps = targets.shape[:2]
        weights = (jnp.ones((size, steps), jnp.float32) if mask is None else mask) / norm
        inputs = {k: v.reshape((size * steps, *v.shape[2:])) for k, v in (batch.get("inputs") or {}).items()}
        flat_targets = targets.reshape((size * steps, *targets.shape[2:]))

        def sample(drive, target, weight):
            values = self.feedforward(params, drive)
            phi = ACTIVATIONS[self.net.regions[self.out_region].activation]
            loss = weight * rules.step_loss(self.loss, phi(values[self.out_region]), target, 1.0)
            settled = jax.lax.stop_gradient(self.infer(params, drive, target))
            clamp = target if self.method == "pcf" else None
            update = jax.grad(lambda p: self.energy(p, settled, drive, clamp))(params)
            scale = weight / (self.nudge if self.method == "pc" else 1.0)
            return loss, jax.tree.map(lambda u: scale * u, update)

        loss, updates = jax.vmap(sample)(inputs, flat_targets, weights.reshape(-1))
        updates = jax.tree.map(lambda u, p: jnp.sum(u, axis=0).astype(jnp.result_type(p)), updates, params)
        updates["dt"] = jnp.zeros_like(params["dt"])
        return jnp.sum(loss), updates, rule_state, {}


def predictive_coding(net, state, *, output: str, loss: str = "mse", nudge: float = 0.01,
                      inference_steps: int = 100, inference_rate: float = 0.1) -> EnergyRule:
    """Predictive coding (Whittington & Bogacz 2017) as a `brainsim.credit.Rule`: inference with
    the output nudged by ``nudge * loss``, then ``dF/dW / nudge`` (see `brainsim.credit.energy`)."""
    return EnergyRule("pc", net, state, output=output, loss=loss, nudge=nudge,
                      inference_steps=inference_steps, inference_rate=inference_rate)


def prospective_configuration(net, state, *, output: str, inference_steps: int = 100,
                              inference_rate: float = 0.1) -> EnergyRule:
    """Prospective configuration (Song et al. 2024) as a `brainsim.credit.Rule`: the output clamped
    to the target, the values settled, then ``dF/dW`` (see `brainsim.credit.energy`)."""
    return EnergyRule("pcf", net, state, output=output, loss="mse", inference_steps=inference_steps,
                      inference_rate=inference_rate)
