"""A run checked before it is compiled: the one preparation of run, sweep, step and fit.

The chain reads: `plan` checks and prepares (here), `brainsim._src.scan` is the
compiled scan, `brainsim._src.step` its body. A `RunPlan` holds what the compiled
scan takes as static structure (steps, what to record, input functions, how
gradients are cut); the input arrays it checks are returned beside it
(`brainsim._src.external.cast` turns them into the network's float dtype).
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from brainsim._src import external, monitor
from brainsim._src.scan import GradientPlan
from brainsim._src.validate import check_fits
from brainsim.checks import check_int
from brainsim.errors import RunInputError


@dataclasses.dataclass(frozen=True)
class RunPlan:
    """What one compiled run does (hashable: the static arguments of the scan).

    Attributes:
      steps: steps of the run.
      recording: what to keep (`brainsim._src.monitor.Recording`).
      functions: ``(path, fn)`` input functions of the step index.
      gradient: how backpropagation through time is cut, or None.
    """

    steps: int
    recording: monitor.Recording
    functions: tuple
    gradient: GradientPlan | None = None


def plan(net, steps, *, inputs=None, record=(), every=1, reduce=None, remat=None, truncate=None,
         where: str = "run") -> tuple[RunPlan, dict]:
    """Check a run's arguments against ``net``; return the plan and the input arrays (as
    given, on the host if they were: a chunked run moves one chunk at a time to the device)."""
    check_int(where, "steps", steps, error=RunInputError)
    steps = int(steps)
    recording = monitor.plan(net, record, every, reduce)
    if steps % recording.every:
        raise RunInputError(f"every={recording.every} must divide steps={steps}")
    arrays, functions = external.split(net, inputs, steps)
    gradient = gradient_plan(remat, truncate, steps, recording.every)
    return RunPlan(steps, recording, functions, gradient), arrays


def check_start(net, params, state) -> None:
    """Params and state fit ``net`` (named leaf by leaf), and ``dt`` fits its delays."""
    check_fits(net, params, state)
    check_dt(net, params)


def check_dt(net, params) -> None:
    """Refuse a concrete ``params["dt"]`` that is not a positive finite number, or that
    differs from the build's ``dt`` when delays were given in ms (their steps were
    counted with the build's ``dt``)."""
    dt = params["dt"]
    if isinstance(dt, jax.core.Tracer):
        return
    value = float(np.asarray(dt))
    if not (np.isfinite(value) and value > 0):
        raise RunInputError(f"params['dt'] must be a finite number of ms > 0, got {value!r}")
    if value != net.dt and net.delays_in_ms:
        raise RunInputError(
            f"params['dt'] = {value:g} ms differs from the dt = {net.dt:g} ms of bs.build, but "
            f"delays given in ms ({', '.join(net.delays_in_ms)}) were counted in steps of "
            f"{net.dt:g} ms; rebuild with bs.build(brain, dt={value:g}) instead"
        )


def gradient_plan(remat, truncate, steps: int, every: int) -> GradientPlan | None:
    """How gradients are cut (``remat=``/``truncate=`` segments), checked."""
    if remat is None and truncate is None:
        return None
    if remat is not None and truncate is not None and remat != truncate:
        raise RunInputError(f"remat={remat} and truncate={truncate} must be equal when both are given")
    segment = remat if remat is not None else truncate
    check_int("run", "remat/truncate", segment, error=RunInputError)
    segment = min(int(segment), steps)
    if steps % segment or segment % every:
        raise RunInputError(
            f"the gradient segment ({segment} steps) must divide steps={steps} and be a "
            f"multiple of every={every}"
        )
    return GradientPlan(segment=segment, remat=remat is not None, truncate=truncate is not None)


def is_traced(tree) -> bool:
    """Whether any leaf of ``tree`` is a tracer (the call runs under jit, vmap or grad)."""
    return any(isinstance(x, jax.core.Tracer) for x in jax.tree_util.tree_leaves(tree))
