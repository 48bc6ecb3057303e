"""Cerebellar feedback estimation: synthetic gradients at truncation boundaries.

Truncated BPTT cuts a trial into windows of ``window`` steps and stops
gradients between them, so errors made later never reach the cortical
activity that caused them. A decoupled neural interface (Jaderberg et al.
2017) supplies what is cut: a predictor reads the cortical state ``h`` at
each boundary and estimates the gradient of all future losses with respect
to it, ``g_hat(h) ~ dL_future/dh``. Pemberton et al. (2021) and Boven et al.
(2023) proposed that the cerebellum plays this role for cortex; here the
predictor is a cerebellum-like module, either a fixed sparse expansion of
``h`` into ``n_granule`` thresholded units followed by a learned linear
readout (plus a linear path from ``h``), ``g_hat = W_h^T h + W_g^T granule(h) + b``,
or, as in those papers, a feedforward network with ReLU hidden layers
(``hidden=(400, 400)``).

For window ``w`` starting from ``h_w`` (gradients stopped) and ending in
``h_{w+1}``, the cortex descends

    J_w = L_w + s sg(g_hat(h_{w+1})) . h_{w+1}

(its own window loss plus the predicted future gradient, scaled by ``s``,
``scale``), and the predictor
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


def init_predictor(key, size: int, n_granule: int = 0, fan_in: int = 4, hidden: tuple[int, ...] = ()):
    """Params (zero readout: no synthetic gradient at first) and fixed wiring.

    Two forms of predictor:

    - ``hidden=()`` (default): the linear path plus an optional fixed sparse
      granule expansion, ``g_hat = W_h^T h + W_g^T granule(h) + b``;
    - ``hidden=(400, 400)``: a feedforward network with ReLU hidden layers, as
      the cerebellum of Pemberton et al. (2021) and Boven et al. (2023) (two
      layers of 400), ``a_0 = h, a_k = relu(W_k^T a_{k-1} + b_k)``,
      ``g_hat = W_out^T a_K + b_out``; hidden weights He-normal, the output
      layer zero.
    """
    if not isinstance(hidden, (tuple, list)):
        raise RunInputError(f"init_predictor: hidden is a sequence of layer widths such as (400, 400), "
                            f"got {hidden!r}")
    hidden = tuple(hidden)
    for width in hidden:
        check_int("init_predictor", "each hidden layer width", width, error=RunInputError)
    if hidden and n_granule:
        raise RunInputError("init_predictor: give either hidden layers or a granule expansion, not both")
    k_idx, k_w = jax.random.split(key)
    k_layers = jax.random.fold_in(key, 1)
    if hidden:
        layers, widths = [], (size,) + hidden
        for k, (n_in, n_out) in zip(jax.random.split(k_layers, len(hidden)), zip(widths, widths[1:])):
            layers.append({"W": param(jax.random.normal(k, (n_in, n_out)) * jnp.sqrt(2.0 / n_in)),
                           "b": param(jnp.zeros(n_out))})
        params = {"layers": layers, "W_out": param(jnp.zeros((hidden[-1], size))),
                  "b": param(jnp.zeros(size))}
    else:
        params = {"W_h": param(jnp.zeros((size, size))), "b": param(jnp.zeros(size))}
        if n_granule:
            params["W_g"] = param(jnp.zeros((n_granule, size)))
    wiring = {
        "index": jax.lax.top_k(jax.random.uniform(k_idx, (max(n_granule, 1), size)), min(fan_in, size))[1],
        "weight": jax.random.normal(k_w, (max(n_granule, 1), min(fan_in, size))),
    }
    return params, wiring


def predict(params, wiring, h):
    """The predicted gradient of future losses with respect to ``h``."""
    if "layers" in params:
        a = h
        for layer in params["layers"]:
            a = jax.nn.relu(a @ layer["W"] + layer["b"])
        return a @ params["W_out"] + params["b"]
    g = h @ params["W_h"] + params["b"]
    if "W_g" in params:
        granule = jax.nn.relu(jnp.sum(wiring["weight"] * h[wiring["index"]], axis=1) - 0.5)
        g = g + granule @ params["W_g"]
    return g


def synthetic_gradient_loss(net, state, *, region: str, window: int, output: str, wiring,
                            use_predictor: bool = True, scale: float = 1.0, loss: str = "mse"):
    """Truncated BPTT with windows of ``window`` steps, helped by a gradient predictor.

    Args:
      net, state: the network and the state every trial starts from.
      region: the region whose state the predictor reads (the cortex).
      window: truncation window in steps (it must divide the trial length).
      output: the recorded port compared with the targets (mean squared error,
        over the steps where ``batch["mask"]`` is 1 if the batch has a mask:
        feedback that arrives only on some steps).
      wiring: the predictor's fixed wiring from `init_predictor`.
      use_predictor: False gives plain truncated BPTT (the control).
      scale: factor on the synthetic gradient where it enters the cortex's
        objective, ``J_w = L_w + scale sg(g_hat) . h``; since the predictor's
        target ``dJ_w/dh_w`` holds the next prediction times ``scale``, it also
        discounts the bootstrapped future (Jaderberg et al. 2017 and the
        cerebellar models use 0.1).
      loss: ``"mse"`` or ``"cross_entropy"`` (logits at ``output``, integer
        class targets ``(B, T)``); the aux value ``"mse"`` is then the masked
        mean cross-entropy.
    Returns:
      ``loss(params, batch, key=None, gain=1.0) -> (objective, {"mse": ...})``
      with ``params = {"net": ..., "predictor": ...}`` and ``batch`` as for
      `brainsim.train.trial_loss`. ``gain`` (traced: changing it does not
      recompile) multiplies the predictor's output; 0 lesions the cerebellum.
    """
    from brainsim.train import LOSSES, step_losses

    if region not in net.regions:
        raise RunInputError(f"unknown region {region!r}; regions are {sorted(net.regions)}")
    if loss not in LOSSES:
        raise RunInputError(f"loss must be one of {LOSSES}, got {loss!r}")
    check_int("synthetic_gradient_loss", "window", window, error=RunInputError)
    _, unravel = ravel_pytree(jax.tree_util.tree_map(jnp.zeros_like, state["regions"][region]))

    def with_region(start, h):
        return {**start, "regions": {**start["regions"], region: unravel(h)}}

    def trial(params, gain, inputs, targets, mask, key):
        steps = targets.shape[0]
        if steps % window:
            raise RunInputError(f"window={window} must divide the trial length {steps}")
        windows = steps // window
        xs = ({p: a.reshape(windows, window, *a.shape[1:]) for p, a in inputs.items()},
              targets.reshape(windows, window, *targets.shape[1:]), mask.reshape(windows, window),
              jnp.arange(windows))

        def objective(net_params, start, h, drive, target, weight, last):
            end, trace = net.run(net_params, with_region(start, h), window, inputs=drive,
                                 record=[output])
            sse = jnp.sum(weight * step_losses(loss, trace[output], target, leading=1))
            if not use_predictor:
                return sse, (sse, end)
            h_end = ravel_pytree(end["regions"][region])[0]
            g_hat = gain * predict(params["predictor"], wiring, lax.stop_gradient(h_end))
            future = jnp.where(last, 0.0, scale) * lax.stop_gradient(g_hat)
            return sse + jnp.sum(future * h_end), (sse, end)

        def one_window(start, x):
            drive, target, weight, w = x
            start = jax.tree_util.tree_map(
                lambda a: lax.stop_gradient(a) if jnp.issubdtype(a.dtype, jnp.inexact) else a, start)
            h = ravel_pytree(start["regions"][region])[0]
            (j, (sse, end)), dh = jax.value_and_grad(objective, argnums=2, has_aux=True)(
                params["net"], start, h, drive, target, weight, w == windows - 1)
            return end, (j, sse, h, dh)

        start = state if key is None else {**state, "key": key}
        _, (j, sse, h, dh) = lax.scan(one_window, start, xs)
        total = jnp.sum(j)
        if use_predictor and windows > 1:  # the predictor learns dJ_w/dh_w at each boundary, in one batch
            predicted = jax.vmap(lambda x: predict(params["predictor"], wiring, x))(h[1:])
            total = total + jnp.sum((predicted - lax.stop_gradient(dh[1:])) ** 2)
        return total, jnp.sum(sse), jnp.sum(mask)

    def loss_fn(params, batch, key=None, gain=1.0):
        targets = batch["targets"]
        mask = batch.get("mask")
        mask = jnp.ones(targets.shape[:2], targets.dtype) if mask is None else mask
        if tuple(mask.shape) != tuple(targets.shape[:2]):
            raise RunInputError(f"batch['mask'] has shape {tuple(mask.shape)}; it must be (B, T) = "
                                f"{tuple(targets.shape[:2])}")
        keys = None if key is None else jax.random.split(key, targets.shape[0])
        totals, sse, scored = jax.vmap(trial, in_axes=(None, None, 0, 0, 0, None if keys is None else 0))(
            params, gain, batch["inputs"], targets, mask, keys)
        return jnp.mean(totals), {"mse": jnp.sum(sse) / jnp.maximum(jnp.sum(scored), 1.0)}

    return loss_fn


def fit_decoupled(net, state, params, data, steps: int, *, region: str, window: int, output: str,
                  key=None, n_granule: int = 0, hidden: tuple[int, ...] = (), scale: float = 1.0,
                  predictor_steps: int = 5, joint: bool = False, optimizer=None, predictor_optimizer=None,
                  trainable=None,
                  use_predictor: bool = True, ablate_at: int | None = None, progress=None,
                  checkpoint=None, checkpoint_every: int = 100, evaluate=None, eval_every: int = 100):
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
      data: ``data(key, step) -> batch`` as for `brainsim.train.trial_loss`
        (a ``"mask"`` limits the loss to the steps with feedback).
      steps: network updates.
      region, window, output, scale: as for `synthetic_gradient_loss`.
      key: PRNG key (default ``jax.random.key(0)``); it also sets the
        predictor's initial weights and fixed granule wiring.
      n_granule, hidden: the predictor's form (see `init_predictor`).
      predictor_steps: predictor updates per network update.
      joint: instead, update the predictor and the network together from one
        pass over the batch (``predictor_steps`` is then unused), as the
        authors' code does with one optimiser for both; half the cost of
        ``predictor_steps=1``. The two gradients do not mix: the predictor's
        output enters the cortex's objective through a stop-gradient, and its
        target is a stop-gradient.
      optimizer, predictor_optimizer: optax optimisers (default Adam 1e-3 and 3e-3).
      trainable: network param paths to train (default all but ``dt`` and fixed feedback scales).
      use_predictor: False trains by plain truncated BPTT (the control).
      ablate_at: lesion the cerebellum from this update on: its output is
        zero and it stops learning, so training goes on by plain truncated BPTT
        with the same optimiser state (a mid-training ablation). The logged
        ``loss`` still holds the frozen predictor's error; ``history["mse"]``
        compares across conditions.
      progress, checkpoint, checkpoint_every, evaluate, eval_every: as for `brainsim.train.fit`
        (``evaluate`` gets the network params).
    Returns:
      ``(params, predictor, history)`` with ``history["mse"]`` per step.
    """
    import optax

    from brainsim.train import apply_updates, masked, training_loop

    check_int("fit_decoupled", "predictor_steps", predictor_steps, minimum=0, error=RunInputError)
    if ablate_at is not None:
        check_int("fit_decoupled", "ablate_at", ablate_at, minimum=0, error=RunInputError)
    key = jax.random.key(0) if key is None else key
    k_wiring, k_data = jax.random.split(key)
    predictor, wiring = init_predictor(k_wiring, ravel_pytree(state["regions"][region])[0].size,
                                       n_granule=n_granule, hidden=hidden)
    def loss_of(state, wiring):
        return synthetic_gradient_loss(net, state, region=region, window=window, output=output,
                                       wiring=wiring, use_predictor=use_predictor, scale=scale)

    loss_of(state, wiring)  # a bad region or window is refused here, before any compilation
    optimizer = optax.adam(1e-3) if optimizer is None else optimizer
    predictor_optimizer = optax.adam(3e-3) if predictor_optimizer is None else predictor_optimizer
    optimizer = masked(optimizer, params, trainable)
    trainee = {"net": params, "predictor": predictor, "net_opt": optimizer.init(params),
               "predictor_opt": predictor_optimizer.init(predictor), "step": jnp.zeros((), jnp.int32)}
    inner = predictor_steps if use_predictor and not joint else 0
    joint = joint and use_predictor
    lesion_from = jnp.iinfo(jnp.int32).max if ablate_at is None else ablate_at

    # state and wiring are arguments, not constants of the program, so that runs that differ only
    # in seed compile to the same program (and JAX's compilation cache can serve them)
    @jax.jit
    def update(trainee, batch, key, state, wiring):
        loss = loss_of(state, wiring)
        net_params = trainee["net"]
        intact = trainee["step"] < lesion_from
        gain = intact.astype(jax.tree_util.tree_leaves(trainee["predictor"])[0].dtype)

        def predictor_step(_, carry):
            predictor, predictor_state = carry
            grads = jax.grad(lambda q: loss({"net": net_params, "predictor": q}, batch, key)[0])(predictor)
            new = apply_updates(predictor_optimizer, grads, predictor_state, predictor)
            return jax.tree_util.tree_map(lambda n, o: jnp.where(intact, n, o), new, carry)

        predictor, predictor_state = lax.fori_loop(
            0, inner, predictor_step, (trainee["predictor"], trainee["predictor_opt"]))
        if joint:
            (value, aux), (grads, predictor_grads) = jax.value_and_grad(
                lambda p, q: loss({"net": p, "predictor": q}, batch, key, gain), argnums=(0, 1),
                has_aux=True)(net_params, predictor)
            learned = apply_updates(predictor_optimizer, predictor_grads, predictor_state, predictor)
            predictor, predictor_state = jax.tree_util.tree_map(
                lambda n, o: jnp.where(intact, n, o), learned, (predictor, predictor_state))
        else:
            (value, aux), grads = jax.value_and_grad(
                lambda p: loss({"net": p, "predictor": predictor}, batch, key, gain),
                has_aux=True)(net_params)
        net_params, net_state = apply_updates(optimizer, grads, trainee["net_opt"], net_params)
        return ({"net": net_params, "predictor": predictor, "net_opt": net_state,
                 "predictor_opt": predictor_state, "step": trainee["step"] + 1}, value, {"mse": aux["mse"]})

    trainee, history = training_loop(
        lambda t, b, k: update(t, b, k, state, wiring), trainee, data, steps,
        params_of=lambda t: t["net"], key=k_data, progress=progress,
        checkpoint=checkpoint, checkpoint_every=checkpoint_every, evaluate=evaluate,
        eval_every=eval_every, desc="fit_decoupled")
    return trainee["net"], trainee["predictor"], history
