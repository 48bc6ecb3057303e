"""Running a network through time: one ``lax.scan``, or jitted chunks of it.

``run`` compiles the loop once per network structure, number of steps and
record plan; params, state and input arrays are dynamic arguments, so new
values never recompile. With ``chunk=N`` the run proceeds in jitted chunks of
``N`` steps; after each chunk the records move to host memory and a progress
bar advances. Chunked and single runs give identical results: the noise of
step ``t`` is drawn from ``fold_in(key, t)`` whatever the chunking.
"""

from __future__ import annotations

import jax
import numpy as np

from brainsim import external, monitor
from brainsim.chunked import run_chunked
from brainsim.errors import RunInputError
from brainsim.loop import GradientPlan, raise_if_bad, simulate
from brainsim.region import check_int
from brainsim.validate import check_fits


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
    checkpoint=None,
    resume=None,
    remat: int | None = None,
    truncate: int | None = None,
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
      checkpoint: a folder; with ``chunk=``, save the state after every
        chunk and write the records there as memory-mapped ``.npy`` files
        (see `brainsim.chunked`).
      resume: a checkpoint folder of an interrupted run of this same call;
        the run continues after its last completed chunk.
      remat: for gradients through long runs: recompute activations in
        segments of this many steps in the backward pass, so that memory
        grows like ``steps / remat + remat`` rather than ``steps``.
      truncate: truncated BPTT: gradients stop every this many steps (the
        forward run is unchanged). With ``remat`` too, both must be equal.
    Returns:
      ``(state, trace)``: the final state, and ``{path: array}`` with arrays
      of shape ``(steps // every, ...)``, time first (read-only memory maps
      when ``checkpoint`` is given).
    """
    check_int("run", "steps", steps, error=RunInputError)
    steps = int(steps)
    recording = monitor.plan(net, record, every, reduce)
    if steps % every:
        raise RunInputError(f"every={every} must divide steps={steps}")
    arrays, functions = external.split(net, inputs, steps)
    check_fits(net, params, state)
    traced = _is_traced((params, state, arrays))
    if check_finite and traced:
        raise RunInputError(
            "check_finite=True needs concrete values; it cannot be used under "
            "jit, vmap or grad (run once without the transformation to locate the NaN)"
        )
    if chunk is None and (checkpoint is not None or resume is not None):
        raise RunInputError("checkpoint= and resume= need chunk=: state is saved between chunks")
    gradient = _gradient_plan(remat, truncate, steps, every)
    if chunk is None:
        state, records, first_bad = simulate(
            net, params, state, external.cast(arrays), steps=steps, recording=recording,
            functions=functions, check_finite=check_finite, gradient=gradient,
        )
        if check_finite:
            raise_if_bad(net, first_bad)
        return state, records
    if gradient is not None:
        raise RunInputError("remat= and truncate= shape gradients of one scan; leave chunk=None")
    if traced:
        raise RunInputError(
            "chunk= moves records to host between chunks, so it cannot run under "
            "jit, vmap or grad; leave chunk=None there"
        )
    return run_chunked(
        net, params, state, arrays, steps, chunk, recording, functions, progress=progress,
        check_finite=check_finite, checkpoint=checkpoint, resume=resume,
    )


def _gradient_plan(remat, truncate, steps, every):
    if remat is None and truncate is None:
        return None
    if remat is not None and truncate is not None and remat != truncate:
        raise RunInputError(f"remat={remat} and truncate={truncate} must be equal when both are given")
    segment = remat if remat is not None else truncate
    if isinstance(segment, bool) or not isinstance(segment, (int, np.integer)) or segment < 1:
        raise RunInputError(f"remat/truncate must be an int >= 1, got {segment!r}")
    segment = min(int(segment), steps)
    if steps % segment or segment % every:
        raise RunInputError(
            f"the gradient segment ({segment} steps) must divide steps={steps} and be a "
            f"multiple of every={every}"
        )
    return GradientPlan(segment=segment, remat=remat is not None, truncate=truncate is not None)


def _is_traced(tree) -> bool:
    return any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves(tree))
