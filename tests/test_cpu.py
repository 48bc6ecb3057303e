"""Limiting XLA's CPU worker threads (brainsim.cpu), checked in fresh processes."""

import json
import os
import subprocess
import sys

import pytest

import brainsim as bs

# XLA's CPU client computes on a pool of Eigen worker threads named "XLAEigen"
# (the thread name reads "tf_XLAEigen"); the pool is built, all its threads at
# once, when the backend starts, one thread per core the process may use then.
PROBE = """
import json, os, sys
import brainsim as bs, jax, jax.numpy as jnp
if sys.argv[1] == "call":
    assert bs.cpu.limit_cpu_threads(int(sys.argv[2])) is True
x = jax.jit(lambda a: (a @ a).sum())(jnp.ones((256, 256)))
cores = os.sched_getaffinity(0)
tasks = os.listdir("/proc/self/task")
per_thread = {tid: os.sched_getaffinity(int(tid)) for tid in tasks}
names = [open(f"/proc/self/task/{tid}/comm").read().strip() for tid in tasks]
print(json.dumps({"cores": len(cores), "unpinned": sum(a == cores for a in per_thread.values()),
                  "threads": len(per_thread), "value": float(x),
                  "xla_workers": sum("XLAEigen" in name for name in names)}))
"""


def probe(mode, limit=None):
    """Run PROBE in a fresh process: mode "env" sets BRAINSIM_CPU_THREADS, "call" calls
    limit_cpu_threads before JAX computes, "none" leaves the threads alone."""
    env = {k: v for k, v in os.environ.items() if k != bs.cpu.ENV}
    env["XLA_FLAGS"] = ""
    if mode == "env":
        env[bs.cpu.ENV] = str(limit)
    out = subprocess.run([sys.executable, "-c", PROBE, mode, str(limit)], env=env,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs Linux CPU affinity")
def test_limiting_threads_leaves_every_thread_free_to_use_every_core():
    got = probe("env", 1)
    assert got["value"] == 256.0**3
    assert got["cores"] == len(os.sched_getaffinity(0))
    assert got["unpinned"] == got["threads"]  # no thread, XLA's included, stays pinned to the first core


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs Linux CPU affinity")
@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="a limit of 1 thread shrinks nothing on 1 core")
def test_the_limit_shrinks_xla_s_worker_pool():
    cores = len(os.sched_getaffinity(0))
    free = probe("none")
    # the count the limit acts on: without it, one worker per core (2 of 2 here; >= 2 asserted
    # so that a pool sized otherwise on a large machine still counts, and a renamed pool fails)
    assert free["xla_workers"] >= 2, (cores, free)
    for mode in ("env", "call"):
        limited = probe(mode, 1)
        assert limited["value"] == 256.0**3
        assert limited["xla_workers"] == 1, (mode, limited)  # the pool the limit implies
        assert limited["threads"] < free["threads"], (mode, limited, free)
        assert limited["unpinned"] == limited["threads"]  # and every core is given back


def test_limiting_threads_after_jax_started_is_an_error():
    import jax

    jax.devices()
    with pytest.raises(RuntimeError, match="already started"):
        bs.cpu.limit_cpu_threads(1)
    with pytest.raises(ValueError, match="int >= 1"):
        bs.cpu.limit_cpu_threads(0)
