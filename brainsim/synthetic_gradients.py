"""Cerebellar feedback estimation: synthetic gradients at truncation boundaries.

Truncated BPTT cuts a trial into windows of ``window`` steps and stops
gradients between them, so errors made later never reach the cortical
activity that caused them. A decoupled neural interface (Jaderberg et al.
2017) supplies what is cut: a predictor reads the cortical state ``h`` at
each boundary and estimates the gradient of all future losses with respect
to it, ``g_hat(h) ~ dL_future/dh``. Pemberton et al. (2021) and Boven et al.
(2023) proposed that the cerebellum plays this role for cortex; here the
predictor is a cerebellum-like module: a fixed sparse expansion of ``h``
into ``n_granule`` thresholded units followed by a learned linear readout
(plus a linear path from ``h``), ``g_hat = W_h^T h + W_g^T granule(h) + b``.

For window ``w`` starting from ``h_w`` (gradients stopped) and ending in
``h_{w+1}``, the cortex descends

    J_w = L_w + sg(g_hat(h_{w+1})) . h_{w+1}

(its own window loss plus the predicted future gradient), and the predictor
learns to match the bootstrapped target ``dJ_w/dh_w`` (the next window's
gradient, itself containing a prediction), like a TD learner of gradients:

    L_pred = sum_w |g_hat(h_w) - sg(dJ_w/dh_w)|^2.

`synthetic_gradient_loss` returns the scalar ``sum_w J_w + L_pred`` whose
gradient is exactly these updates; params are ``{"net": network params,
"predictor": predictor params}``. `fit_decoupled` is the training mode: it
trains any network with a region to decouple, giving the predictor several
updates per network update so that it keeps up with the changing cortex.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax
from jax.flatten_util import ravel_pytree

from brainsim.checks import check_int
from brainsim.dtypes import param
from brainsim.errors import RunInputError


def init_predictor(key, size: int, n_granule: int = 0, fan_in: int = 4):
    """Params (zero readout: no synthetic gradient at first) and fixed wiring."""
    params = {"W_h": param(jnp.zeros((size, size))), "b": param(jnp.zeros(size))}
    if n_granule:
        params["W_g"] = param(jnp.zeros((n_granule, size)))
    k_idx, k_w = jax.random.split(key)
    wiring = {
        "index": jax.lax.top_k(jax.random.uniform(k_idx, (max(n_granule, 1), size)), min(fan_in, size))[1],
        "weight": jax.random.normal(k_w, (max(n_granule, 1), min(fan_in, size))),
    }
    return params, wiring


def predict(params, wiring, h):
    """The predicted gradient of future losses with respect to ``h``."""
    g = h @ params["W_h"] + params["b"]
    if "W_g" in params:
        granule = jax.nn.relu(jnp.sum(wiring["weight"] * h[wiring["index"]], axis=1) - 0.5)
        g = g + granule @ params["W_g"]
    return g


def synthetic_gradient_loss(net, state, *, region: str, window: int, output: str, wiring,
                            use_predictor: bool = True):
    """Truncated BPTT with windows of ``window`` steps, helped by a gradient predictor.

    Args:
      net, state: the network and the state every trial starts from.
      region: the region whose state the predictor reads (the cortex).
      window: truncation window in steps (it must divide the trial length).
      output: the recorded port compared with the targets (mean squared error).
      wiring: the predictor's fixed wiring from `init_predictor`.
      use_predictor: False gives plain truncated BPTT (the control).
    Returns:
      ``loss(params, batch, key) -> (objective, {"mse": ...})`` with
      ``params = {"net": ..., "predictor": ...}`` and ``batch`` as for
      `brainsim.train.trial_loss`.
    """
    if region not in net.regions:
        raise RunInputError(f"unknown region {region!r}; regions are {sorted(net.regions)}")
    check_int("synthetic_gradient_loss", "window", window, error=RunInputError)
    _, unravel = ravel_pytree(jax.tree_util.tree_map(jnp.zeros_like, state["regions"][region]))

    def with_region(start, h):
        return {**start, "regions": {**start["regions"], region: unravel(h)}}

    def trial(params, inputs, targets, key):
        steps = targets.shape[0]
        if steps % window:
            raise RunInputError(f"window={window} must divide the trial length {steps}")
        windows = steps // window
        xs = ({p: a.reshape(windows, window, *a.shape[1:]) for p, a in inputs.items()},
              targets.reshape(windows, window, *targets.shape[1:]), jnp.arange(windows))

        def objective(net_params, start, h, drive, target, last):
            end, trace = net.run(net_params, with_region(start, h), window, inputs=drive,
                                 record=[output])
            mse = jnp.mean((trace[output] - target) ** 2)
            h_end = ravel_pytree(end["regions"][region])[0]
            g_hat = predict(params["predictor"], wiring, lax.stop_gradient(h_end))
            future = jnp.where(last | (not use_predictor), 0.0, 1.0) * lax.stop_gradient(g_hat)
            return mse * window + jnp.sum(future * h_end), (mse, end)

        def one_window(start, x):
            drive, target, w = x
            start = jax.tree_util.tree_map(
                lambda a: lax.stop_gradient(a) if jnp.issubdtype(a.dtype, jnp.inexact) else a, start)
            h = ravel_pytree(start["regions"][region])[0]
            last = w == windows - 1
            (j, (mse, end)), dh = jax.value_and_grad(objective, argnums=2, has_aux=True)(
                params["net"], start, h, drive, target, last)
            pred_loss = jnp.where(w > 0, jnp.sum(
                (predict(params["predictor"], wiring, h) - lax.stop_gradient(dh)) ** 2), 0.0)
            return end, (j, mse, pred_loss)

        start = state if key is None else {**state, "key": key}
        _, (j, mse, pred_loss) = lax.scan(one_window, start, xs)
        total = jnp.sum(j) + (jnp.sum(pred_loss) if use_predictor else 0.0)
        return total, jnp.mean(mse)

    def loss(params, batch, key=None):
        keys = None if key is None else jax.random.split(key, batch["targets"].shape[0])
        totals, mses = jax.vmap(trial, in_axes=(None, 0, 0, None if keys is None else 0))(
            params, batch["inputs"], batch["targets"], keys)
        return jnp.mean(totals), {"mse": jnp.mean(mses)}

    return loss


def fit_decoupled(net, state, params, data, steps: int, *, region: str, window: int, output: str,
                  key=None, n_granule: int = 0, predictor_steps: int = 5,
                  optimizer=None, predictor_optimizer=None, trainable=None,
                  use_predictor: bool = True, progress=None, checkpoint=None, checkpoint_every: int = 100,
                  evaluate=None, eval_every: int = 100):
    """Train a network by truncated BPTT helped by the cerebellar gradient predictor.

    Two time scales: before every update of the network, the predictor takes
    ``predictor_steps`` updates on the same batch, so that it tracks the
    changing cortex. With a single predictor step per network step the
    estimate lagged behind and made truncated BPTT worse in development runs
    (lagged-copy task, 0 of 5 seeds improved); with 5 it helped in 5 of 5.
    It runs on `brainsim.train.training_loop`, the loop of `brainsim.train.fit`:
    progress, checkpoint/resume (``checkpoint=``) and the stop at a non-finite
    loss come with it.

    Args:
      net, state, params: the network, the state trials start from, and its
        initial params.
      data: ``data(key, step) -> batch`` as for `brainsim.train.trial_loss`.
      steps: network updates.
      region, window, output: as for `synthetic_gradient_loss`.
      key: PRNG key (default ``jax.random.key(0)``); it also sets the
        predictor's fixed granule wiring.
      n_granule: size of the predictor's granule expansion (0: linear).
      predictor_steps: predictor updates per network update.
      optimizer, predictor_optimizer: optax optimisers (default Adam 1e-3 and 3e-3).
      trainable: network param paths to train (default all but ``dt``).
      use_predictor: False trains by plain truncated BPTT (the control).
      progress, checkpoint, checkpoint_every, evaluate, eval_every: as for `brainsim.train.fit`
        (``evaluate`` gets the network params).
    Returns:
      ``(params, predictor, history)`` with ``history["mse"]`` per step.
    """
    import optax

    from brainsim.train import _labels, apply_updates, training_loop

    check_int("fit_decoupled", "predictor_steps", predictor_steps, minimum=0, error=RunInputError)
    key = jax.random.key(0) if key is None else key
    k_wiring, k_data = jax.random.split(key)
    predictor, wiring = init_predictor(k_wiring, ravel_pytree(state["regions"][region])[0].size,
                                       n_granule=n_granule)
    loss = synthetic_gradient_loss(net, state, region=region, window=window, output=output,
                                   wiring=wiring, use_predictor=use_predictor)
    optimizer = optax.adam(1e-3) if optimizer is None else optimizer
    predictor_optimizer = optax.adam(3e-3) if predictor_optimizer is None else predictor_optimizer
    optimizer = optax.multi_transform({"train": optimizer, "freeze": optax.set_to_zero()},
                                      _labels(params, trainable))
    trainee = {"net": params, "predictor": predictor, "net_opt": optimizer.init(params),
               "predictor_opt": predictor_optimizer.init(predictor)}
    inner = predictor_steps if use_predictor else 0

    @jax.jit
    def update(trainee, batch, key):
        net_params = trainee["net"]

        def predictor_step(_, carry):
            predictor, predictor_state = carry
            grads = jax.grad(lambda q: loss({"net": net_params, "predictor": q}, batch, key)[0])(predictor)
            return apply_updates(predictor_optimizer, grads, predictor_state, predictor)

        predictor, predictor_state = lax.fori_loop(
            0, inner, predictor_step, (trainee["predictor"], trainee["predictor_opt"]))
        (value, aux), grads = jax.value_and_grad(
            lambda p: loss({"net": p, "predictor": predictor}, batch, key), has_aux=True)(net_params)
        net_params, net_state = apply_updates(optimizer, grads, trainee["net_opt"], net_params)
        return ({"net": net_params, "predictor": predictor, "net_opt": net_state,
                 "predictor_opt": predictor_state}, value, {"mse": aux["mse"]})

    trainee, history = training_loop(
        update, trainee, data, steps, params_of=lambda t: t["net"], key=k_data, progress=progress,
        checkpoint=checkpoint, checkpoint_every=checkpoint_every, evaluate=evaluate,
        eval_every=eval_every, desc="fit_decoupled")
    return trainee["net"], trainee["predictor"], history
