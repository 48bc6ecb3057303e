"""The compiled simulation loop: ``lax.scan`` over blocks of ``every`` steps.

`compiled_scan` is jitted with the network and its `brainsim._src.plan.RunPlan`
(steps, record plan, input functions, gradient cuts) static and params,
state and input arrays dynamic, so only new structure compiles anew;
`trace_count` counts compilations for tests.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from brainsim._src.step import advance
from brainsim.errors import NonFiniteError

_traces = 0


def trace_count() -> int:
    """How many times a compiled entry point (run, sweep) has been traced so far."""
    return _traces


def count_trace() -> None:
    """Note one more trace; called from the body of each jitted entry point."""
    global _traces
    _traces += 1


@dataclasses.dataclass(frozen=True)
class GradientPlan:
    """How the loop is cut for backpropagation through time.

    Attributes:
      segment: steps per segment (divides the run, a multiple of ``every``).
      remat: recompute each segment's activations in the backward pass
        (`jax.checkpoint`): memory grows with ``T / segment + segment``
        instead of ``T``.
      truncate: stop gradients at segment boundaries (truncated BPTT with
        window ``segment``); forward values are unchanged.
    """

    segment: int
    remat: bool = False
    truncate: bool = False


@functools.partial(jax.jit, static_argnames=("net", "plan", "check_finite"))
def compiled_scan(net, params, state, arrays, *, plan, check_finite=False):
    """The compiled loop: ``steps // every`` blocks of ``every`` steps, in segments
    when the plan cuts gradients; returns ``(state, records, first_bad)``."""
    count_trace()
    steps, recording, functions, gradient = plan.steps, plan.recording, plan.functions, plan.gradient
    every = recording.every
    region_names = list(net.regions)
    first_bad = jnp.full((len(region_names),), -1, jnp.int32) if check_finite else None

    def one_step(carry, drive):
        state, first_bad = carry
        drive = dict(drive)
        for path, fn in functions:
            drive[path] = jnp.asarray(fn(state["t"]), params["dt"].dtype)
        new_state, signals = advance(net, params, state, drive)
        if check_finite:
            finite = jnp.stack([_all_finite(new_state["regions"][n]) for n in region_names])
            first_bad = jnp.where((first_bad < 0) & ~finite, state["t"], first_bad)
        return (new_state, first_bad), recording.collect(signals)

    def scan_steps(carry, arrays, steps):
        """``steps`` steps, keeping the last of every block of ``every``."""
        if every == 1:
            return lax.scan(one_step, carry, arrays, length=steps)
        blocks = steps // every
        xs = {p: a.reshape(blocks, every, *a.shape[1:]) for p, a in arrays.items()}
        shapes = jax.eval_shape(lambda c, d: one_step(c, d)[1], carry,
                                {p: a[0, 0] for p, a in xs.items()})
        empty = jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)

        def block(carry, drive_block):
            def inner(inner_carry, drive):
                new_carry, kept = one_step(inner_carry[0], drive)
                return (new_carry, kept), None

            (carry, kept), _ = lax.scan(inner, (carry, empty), drive_block, length=every)
            return carry, kept

        return lax.scan(block, carry, xs, length=blocks)

    carry = (state, first_bad)
    if gradient is None:
        carry, records = scan_steps(carry, arrays, steps)
    else:
        size = gradient.segment
        segments = steps // size
        xs = {p: a.reshape(segments, size, *a.shape[1:]) for p, a in arrays.items()}

        def segment(carry, drive):
            if gradient.truncate:
                carry = (_stop_float_gradients(carry[0]), carry[1])
            return scan_steps(carry, drive, size)

        if gradient.remat:
            segment = jax.checkpoint(segment)
        carry, records = lax.scan(segment, carry, xs, length=segments)
        records = jax.tree_util.tree_map(lambda r: r.reshape(-1, *r.shape[2:]), records)
    state, first_bad = carry
    return state, records, first_bad


def _stop_float_gradients(tree):
    return jax.tree_util.tree_map(
        lambda x: lax.stop_gradient(x) if jnp.issubdtype(x.dtype, jnp.inexact) else x, tree)


def _all_finite(tree) -> jax.Array:
    leaves = [x for x in jax.tree_util.tree_leaves(tree) if jnp.issubdtype(x.dtype, jnp.inexact)]
    if not leaves:
        return jnp.asarray(True)
    return jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves]).all()


def raise_if_bad(net, first_bad) -> None:
    first_bad = np.asarray(first_bad)
    bad = [(int(t), i) for i, t in enumerate(first_bad) if t >= 0]
    if not bad:
        return
    t, i = min(bad)
    names = list(net.regions)
    name = names[i]
    others = [names[j] for _, j in sorted(bad) if j != i]
    also = f"; later also {others}" if others else ""
    raise NonFiniteError(
        f"region {name!r} ({type(net.regions[name]).__name__}) went non-finite first, "
        f"at step {t}{also}. Check its params (e.g. dt/tau) and the inputs it receives."
    )
