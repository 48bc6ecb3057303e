"""Limiting XLA's CPU worker threads (brainsim.cpu), checked in fresh processes."""

import os
import subprocess
import sys

import pytest

import brainsim as bs

PROBE = """
import os
import brainsim as bs, jax, jax.numpy as jnp
x = jax.jit(lambda a: (a @ a).sum())(jnp.ones((256, 256)))
cores = os.sched_getaffinity(0)
per_thread = {tid: os.sched_getaffinity(int(tid)) for tid in os.listdir("/proc/self/task")}
print(len(cores), sum(a == cores for a in per_thread.values()), len(per_thread), float(x))
"""


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs Linux CPU affinity")
def test_limiting_threads_leaves_every_thread_free_to_use_every_core():
    env = {**os.environ, "BRAINSIM_CPU_THREADS": "1", "XLA_FLAGS": ""}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    cores, unpinned, threads, value = int(out[0]), int(out[1]), int(out[2]), float(out[3])
    assert value == 256.0**3
    assert cores == len(os.sched_getaffinity(0))
    assert unpinned == threads  # no thread, XLA's included, stays pinned to the first core


def test_limiting_threads_after_jax_started_is_an_error():
    import jax

    jax.devices()
    with pytest.raises(RuntimeError, match="already started"):
        bs.cpu.limit_cpu_threads(1)
    with pytest.raises(ValueError, match="int >= 1"):
        bs.cpu.limit_cpu_threads(0)
