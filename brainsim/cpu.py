"""How many threads XLA's CPU backend computes with.

XLA runs a compiled program on a pool of worker threads, one per core it may
use, and spreads independent operations of a step over them. For the many
small operations of a spiking network's step, handing work between threads
costs more than it saves: on a 2-core CPU, the COBA benchmark runs about 1.8x
faster with one worker thread. JAX sizes the pool from the process's CPU
affinity when its backend starts, and offers no setting for it, so
`limit_cpu_threads` narrows the affinity just while the backend starts and
then gives every thread all cores again (the pool keeps its size; Python,
numpy and other libraries keep every core).

Call it before anything computes with JAX, or set ``BRAINSIM_CPU_THREADS=1``
in the environment before importing brainsim (which then starts JAX's
backends at import: call ``jax.distributed.initialize()`` before that, if at
all). Large dense work (big matrix products in training) gains from more
threads: leave it unset there.
"""

from __future__ import annotations

import os
import warnings

ENV = "BRAINSIM_CPU_THREADS"


def limit_cpu_threads(threads: int = 1) -> bool:
    """Start JAX's backends with at most ``threads`` CPU worker threads.

    Returns True if the limit took effect, False where the platform cannot
    set CPU affinity (then a warning says so). Raises RuntimeError if JAX's
    backends have already started, since the pool then exists already.
    """
    import jax
    from jax._src import xla_bridge

    from brainsim.checks import check_int

    check_int("limit_cpu_threads", "threads", threads)
    if xla_bridge.backends_are_initialized():
        raise RuntimeError(
            "JAX's backends have already started; call limit_cpu_threads() (or set "
            f"{ENV}) before the first JAX computation"
        )
    if not hasattr(os, "sched_setaffinity"):
        warnings.warn("this platform cannot set CPU affinity; XLA keeps its default threads", stacklevel=2)
        return False
    cores = os.sched_getaffinity(0)
    os.sched_setaffinity(0, set(sorted(cores)[:threads]))
    try:
        jax.devices()  # starts the backends, sizing the CPU pool from the narrowed affinity
    finally:
        _restore_affinity(cores)
    return True


def _restore_affinity(cores) -> None:
    """Give every thread of the process, the pool's new ones included, all ``cores`` again."""
    try:
        threads = [int(tid) for tid in os.listdir("/proc/self/task")]
    except OSError:  # no /proc: at least this thread
        threads = [0]
    for tid in threads:
        try:
            os.sched_setaffinity(tid, cores)
        except OSError:  # a thread that has ended meanwhile
            pass


def apply_environment() -> None:
    """Honour ``BRAINSIM_CPU_THREADS`` if it is set and JAX has not started."""
    value = os.environ.get(ENV)
    if not value:
        return
    from jax._src import xla_bridge

    if not xla_bridge.backends_are_initialized():
        limit_cpu_threads(int(value))


apply_environment()
