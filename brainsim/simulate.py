"""Running a network through time: one ``lax.scan``, or jitted chunks of it.

``run`` compiles the loop once per network structure, number of steps and
record plan; params, state and input arrays are dynamic arguments, so new
values never recompile. With ``chunk=N`` the run proceeds in jitted chunks of
``N`` steps; after each chunk the records move to host memory and a progress
bar advances. Chunked and single runs give identical results: the noise of
step ``t`` is drawn from ``fold_in(key, t)`` whatever the chunking.
"""

from __future__ import annotations

import functools
import sys

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from tqdm import tqdm

from brainsim import external, monitor
from brainsim.errors import NonFiniteError, RunInputError
from brainsim.step import advance

_traces = 0


def trace_count() -> int:
    """How many times the simulation loop has been traced (compiled) so far."""
    return _traces


def run(
    net,
    params,
    state,
    steps: int,
    *,
    inputs=None,
    record=(),
    every: int = 1,
    reduce=None,
    chunk: int | None = None,
    progress: bool | None = None,
    check_finite: bool = False,
):
    """Simulate ``net`` for ``steps`` steps from ``state``.

    Args:
      params, state: from `Network.init` (or a previous run).
      steps: number of steps (each ``params["dt"]`` ms).
      inputs: ``{"region.port": drive}``; a drive is an array of shape
        ``(steps, *port_shape)`` or a function of the step index ``t``.
      record: output or input port paths to keep (see `brainsim.monitor`).
      every: keep one step in ``every``; must divide ``steps``.
      reduce: ``"mean"``/``"sum"``/``"max"``/``"min"``, a function, or a dict
        of them by port, applied to each recorded port at each kept step.
      chunk: run in jitted chunks of this many steps (a multiple of
        ``every``), moving records to host after each; returns numpy arrays.
      progress: show a progress bar between chunks (default: when chunked
        and writing to a terminal).
      check_finite: track, per region, the first step at which its state is
        NaN or inf, and raise `NonFiniteError` naming the first such region.
    Returns:
      ``(state, trace)``: the final state, and ``{path: array}`` with arrays
      of shape ``(steps // every, ...)``, time first.
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise RunInputError(f"steps must be an int >= 1, got {steps!r}")
    steps = int(steps)
    recording = monitor.plan(net, record, every, reduce)
    if steps % every:
        raise RunInputError(f"every={every} must divide steps={steps}")
    arrays, functions = external.split(net, inputs, steps)
    traced = _is_traced((params, state, arrays))
    if check_finite and traced:
        raise RunInputError(
            "check_finite=True needs concrete values; it cannot be used under "
            "jit, vmap or grad (run once without the transformation to locate the NaN)"
        )
    if chunk is None:
        state, records, first_bad = _simulate(
            net, params, state, external.cast(arrays), steps=steps, recording=recording,
            functions=functions, check_finite=check_finite,
        )
        if check_finite:
            _raise_if_bad(net, first_bad)
        return state, records
    if traced:
        raise RunInputError(
            "chunk= moves records to host between chunks, so it cannot run under "
            "jit, vmap or grad; leave chunk=None there"
        )
    return _run_chunked(
        net, params, state, arrays, steps, chunk, recording, functions, progress, check_finite
    )


def _run_chunked(net, params, state, arrays, steps, chunk, recording, functions, progress,
                 check_finite):
    if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise RunInputError(f"chunk must be an int >= 1, got {chunk!r}")
    if chunk % recording.every:
        raise RunInputError(f"chunk={chunk} must be a multiple of every={recording.every}")
    if progress is None:
        progress = sys.stderr.isatty()
    pieces = {path: [] for path, _ in recording.entries}
    bar = tqdm(total=steps, unit="step", disable=not progress, desc="brainsim run")
    pending = None  # the previous chunk's outputs, fetched while the next one runs
    for start in range(0, steps, chunk):
        n = min(chunk, steps - start)
        # slice on the host, so that only one chunk of a long drive is on device
        part = external.cast({path: a[start:start + n] for path, a in arrays.items()})
        state, records, first_bad = _simulate(
            net, params, state, part, steps=n, recording=recording,
            functions=functions, check_finite=check_finite,
        )
        if pending is not None:
            _collect(net, pending, pieces, bar, check_finite)
        pending = (records, first_bad, n)
    _collect(net, pending, pieces, bar, check_finite)
    bar.close()
    trace = {path: np.concatenate(chunks, axis=0) for path, chunks in pieces.items()}
    return state, trace


def _collect(net, pending, pieces, bar, check_finite) -> None:
    records, first_bad, n = pending
    for path, value in jax.device_get(records).items():
        pieces[path].append(np.asarray(value))
    if check_finite:
        _raise_if_bad(net, first_bad)
    bar.update(n)


@functools.partial(
    jax.jit, static_argnames=("net", "steps", "recording", "functions", "check_finite")
)
def _simulate(net, params, state, arrays, *, steps, recording, functions, check_finite):
    """The compiled loop: ``steps // every`` blocks of ``every`` steps."""
    global _traces
    _traces += 1
    every = recording.every
    blocks = steps // every
    region_names = [name for name, _ in net.regions]
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

    carry = (state, first_bad)
    if every == 1:
        carry, records = lax.scan(one_step, carry, arrays, length=steps)
    else:
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

        carry, records = lax.scan(block, carry, xs, length=blocks)
    state, first_bad = carry
    return state, records, first_bad


def _all_finite(tree) -> jax.Array:
    leaves = [x for x in jax.tree_util.tree_leaves(tree) if jnp.issubdtype(x.dtype, jnp.inexact)]
    if not leaves:
        return jnp.asarray(True)
    return jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves]).all()


def _raise_if_bad(net, first_bad) -> None:
    first_bad = np.asarray(first_bad)
    bad = [(int(t), i) for i, t in enumerate(first_bad) if t >= 0]
    if not bad:
        return
    t, i = min(bad)
    name = net.regions[i][0]
    others = [net.regions[j][0] for _, j in sorted(bad) if j != i]
    also = f"; later also {others}" if others else ""
    raise NonFiniteError(
        f"region {name!r} ({type(net.regions[i][1]).__name__}) went non-finite first, "
        f"at step {t}{also}. Check its params (e.g. dt/tau) and the inputs it receives."
    )


def _is_traced(tree) -> bool:
    return any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves(tree))
