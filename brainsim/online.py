"""Online gradient learning, trial by trial, with the task in the loop.

`bs.train.fit` trains on batches of independent trials. A learner that lives
through one long stream of trials (a block schedule, a changing world) needs
the other way round: one trial runs in closed loop from wherever the last
one left the network, the trial's loss is read from its records, and one
optimiser step follows before the next trial starts,

    state_{n+1}, trace_n = run(params_n, state_n, T)
    params_{n+1} = params_n + learning * optimiser(grad loss(trace_n))

so the gradient is truncated at trial boundaries (state carries over, its
gradient does not) and everything else in the network (plastic weights in
state, neuromodulators, the task's schedule) goes on as in a plain run.
``learning`` (a scalar >= 0, traced: changing it compiles nothing) scales
each update; at 0 the trained params and the optimiser's state stay exactly
as they were (even where a gradient is not finite), for a probe.

    trials = bs.online.trials(net, loss, optax.sgd(0.05), steps_per_trial=5,
                              record=["policy.probs", "task.target"], trainable=["ctx"])
    params, opt_state, state, out = trials(params, opt_state, state, n=300, learning=1.0)
    out["loss"]  # (n,)

``loss(trace)`` maps the recorded ports of one trial (arrays ``(T, ...)``) to
``(loss, summary)``: a scalar and any pytree kept per trial.
"""

from __future__ import annotations

from functools import partial
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import optax

from brainsim.checks import check_int
from brainsim.train import masked


def trials(net, loss: Callable, optimiser: optax.GradientTransformation, *, steps_per_trial: int,
           record: Sequence[str], trainable: Sequence[str] | None = None):
    """A jitted function ``(params, opt_state, state, n, learning) -> (params, opt_state, state, out)``
    that runs ``n`` trials (static) of ``steps_per_trial`` steps, each followed by one update.

    ``out`` holds ``"loss"`` ``(n,)`` and ``"summary"`` (the loss's second output, stacked).
    Only the ``trainable`` params change (param paths or top-level names; default all but
    ``brainsim.train.NEVER_TRAINED``). ``init(params)`` on the returned function gives the optimiser's state.
    """
    check_int("online.trials", "steps_per_trial", steps_per_trial)
    record = list(record)
    if not record:
        raise ValueError("online.trials: record at least one port, the loss is computed from the records")

    def one(carry, _, learning):
        params, opt_state, state = carry

        def trial_loss(p):
            new_state, trace = net.run(p, state, steps_per_trial, record=record)
            value, summary = loss(trace)
            return value, (new_state, summary)

        (value, (new_state, summary)), grads = jax.value_and_grad(trial_loss, has_aux=True)(params)
        with jax.numpy_dtype_promotion("standard"):  # optax mixes Python floats with int32 counts
            updates, new_opt = masked(optimiser, params, trainable).update(grads, opt_state, params)
        stepped = optax.apply_updates(params, jax.tree.map(lambda u: learning.astype(u.dtype) * u, updates))

        def where_learning(new, old):
            return jax.tree.map(lambda a, b: jnp.where(learning > 0, a, b), new, old)

        return ((where_learning(stepped, params), where_learning(new_opt, opt_state), new_state),
                {"loss": value, "summary": summary})

    @partial(jax.jit, static_argnames="n")
    def scan_trials(params, opt_state, state, n: int, learning):
        (params, opt_state, state), out = jax.lax.scan(
            partial(one, learning=learning), (params, opt_state, state), None, length=n)
        return params, opt_state, state, out

    def run_trials(params, opt_state, state, n: int, learning=1.0):
        check_int("online.trials", "n (trials)", n)
        if jnp.ndim(learning) != 0:
            raise ValueError(f"online.trials: learning must be a scalar, got shape {jnp.shape(learning)}")
        if not isinstance(learning, jax.core.Tracer) and not float(learning) >= 0:
            raise ValueError(f"online.trials: learning must be >= 0 (0 freezes), got {learning!r}")
        return scan_trials(params, opt_state, state, n, jnp.asarray(learning, jnp.result_type(float)))

    run_trials.init = lambda params: masked(optimiser, params, trainable).init(params)
    return run_trials
