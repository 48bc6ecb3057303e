"""Running a network through time: one ``lax.scan``, or jitted chunks of it.

The chain: `brainsim._src.plan` checks the call, `brainsim._src.scan` is the compiled
scan (`brainsim._src.chunked` drives it chunk by chunk), `brainsim._src.step` its body.

``run`` compiles the loop once per network structure, number of steps and
record plan; params, state and input arrays are dynamic arguments, so new
values never recompile. With ``chunk=N`` the run proceeds in jitted chunks of
``N`` steps; after each chunk the records move to host memory and a progress
bar advances. Chunked and single runs give identical results: the noise of
step ``t`` is drawn from ``fold_in(key, t)`` whatever the chunking.
"""

from __future__ import annotations

from brainsim._src import external
from brainsim._src.chunked import run_chunked
from brainsim._src.plan import check_start, is_traced, plan
from brainsim._src.scan import compiled_scan, raise_if_bad
from brainsim.errors import RunInputError


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
      record: output or input port paths to keep (see `brainsim._src.monitor`).
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
        (see `brainsim._src.chunked`).
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
    run_plan, arrays = plan(net, steps, inputs=inputs, record=record, every=every, reduce=reduce,
                            remat=remat, truncate=truncate)
    check_start(net, params, state)
    traced = is_traced((params, state, arrays))
    if check_finite and traced:
        raise RunInputError(
            "check_finite=True needs concrete values; it cannot be used under "
            "jit, vmap or grad (run once without the transformation to locate the NaN)"
        )
    if chunk is None and (checkpoint is not None or resume is not None):
        raise RunInputError("checkpoint= and resume= need chunk=: state is saved between chunks")
    if chunk is None:
        state, records, first_bad = compiled_scan(net, params, state, external.cast(arrays),
                                                  plan=run_plan, check_finite=check_finite)
        if check_finite:
            raise_if_bad(net, first_bad)
        return state, records
    if run_plan.gradient is not None:
        raise RunInputError("remat= and truncate= shape gradients of one scan; leave chunk=None")
    if traced:
        raise RunInputError(
            "chunk= moves records to host between chunks, so it cannot run under "
            "jit, vmap or grad; leave chunk=None there"
        )
    return run_chunked(net, params, state, arrays, run_plan, chunk, progress=progress,
                       check_finite=check_finite, checkpoint=checkpoint, resume=resume)
