"""Synthetic gradients (decoupled neural interfaces) as a credit-assignment rule.

Truncated BPTT in windows of ``window`` steps, with a cerebellum-like
predictor of the gradient that the truncation cuts, read from the cortical
state at each boundary (Jaderberg et al. 2017; Pemberton et al. 2021; the
equations are in `brainsim.synthetic_gradients`). As a `brainsim.credit.Rule`
the predictor is the rule's own state: every call first gives it
``predictor_steps`` updates on the batch (its own optax optimiser), then
returns the network's update, scaled like the gradient of the batch's masked
mean loss (squared error or cross-entropy) so that it compares with `bptt`
on one axis.
"""

from __future__ import annotations

import jax
from jax.flatten_util import ravel_pytree

from brainsim import synthetic_gradients as sg
from brainsim.checks import check_int
from brainsim.credit import rule as rules
from brainsim.errors import RunInputError


class SyntheticGradients(rules.Rule):
    """Truncated BPTT helped by a learned gradient predictor (see the module docstring)."""

    def __init__(self, net, state, *, region: str, window: int, output: str, key=None, n_granule: int = 0,
                 hidden: tuple[int, ...] = (), scale: float = 1.0, predictor_steps: int = 5,
                 predictor_optimizer=None, use_predictor: bool = True, loss: str = "mse"):
        import optax

        if region not in net.regions:
            raise RunInputError(f"unknown region {region!r}; regions are {sorted(net.regions)}")
        check_int("synthetic_gradients", "predictor_steps", predictor_steps, minimum=0, error=RunInputError)
        self.net, self.state, self.output, self.loss_kind = net, state, output, rules.check_loss(loss)
        self.predictor_steps = predictor_steps if use_predictor else 0
        self.optimizer = optax.adam(3e-3) if predictor_optimizer is None else predictor_optimizer
        self.key = jax.random.key(0) if key is None else key
        size = ravel_pytree(state["regions"][region])[0].size
        self.n_granule, self.hidden, self.size = n_granule, tuple(hidden), size
        _, self.wiring = sg.init_predictor(self.key, size, n_granule=n_granule, hidden=hidden)
        self.loss = sg.synthetic_gradient_loss(net, state, region=region, window=window, output=output,
                                               wiring=self.wiring, use_predictor=use_predictor, scale=scale,
                                               loss=loss)
        self.name = (f"synthetic gradients (window {window})" if use_predictor
                     else f"bptt (truncated at {window})")

    def init(self, params):
        del params
        predictor, _ = sg.init_predictor(self.key, self.size, n_granule=self.n_granule, hidden=self.hidden)
        return {"predictor": predictor, "predictor_opt": self.optimizer.init(predictor)}

    def __call__(self, params, rule_state, batch, key):
        from brainsim.train import apply_updates

        rules.check_batch(self.net, batch, self.output, self.loss_kind)

        def predictor_step(_, carry):
            predictor, opt_state = carry
            grads = jax.grad(lambda q: self.loss({"net": params, "predictor": q}, batch, key)[0])(predictor)
            return apply_updates(self.optimizer, grads, opt_state, predictor)

        predictor, opt_state = jax.lax.fori_loop(
            0, self.predictor_steps, predictor_step, (rule_state["predictor"], rule_state["predictor_opt"]))
        (_, aux), grads = jax.value_and_grad(
            lambda p: self.loss({"net": p, "predictor": predictor}, batch, key), has_aux=True)(params)
        mask, norm = rules.loss_mask(batch)
        per_trial = batch["targets"].shape[0] / norm  # the objective sums steps and averages trials
        grads = jax.tree.map(lambda g: (g * per_trial).astype(g.dtype), grads)
        return aux["mse"], grads, {"predictor": predictor, "predictor_opt": opt_state}, {}


def synthetic_gradients(net, state, *, region: str, window: int, output: str, key=None, n_granule: int = 0,
                        hidden: tuple[int, ...] = (), scale: float = 1.0, predictor_steps: int = 5,
                        predictor_optimizer=None, use_predictor: bool = True,
                        loss: str = "mse") -> SyntheticGradients:
    """Synthetic gradients as a `brainsim.credit.Rule` (arguments as
    `brainsim.synthetic_gradients.fit_decoupled`; ``use_predictor=False`` is truncated BPTT)."""
    return SyntheticGradients(net, state, region=region, window=window, output=output, key=key,
                              n_granule=n_granule, hidden=hidden, scale=scale,
                              predictor_steps=predictor_steps, predictor_optimizer=predictor_optimizer,
                              use_predictor=use_predictor, loss=loss)
