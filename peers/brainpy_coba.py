"""The COBA network (Vogels & Abbott 2005, as in the Brian2/BrainPy benchmarks) in BrainPy.

The same network as :mod:`peers.brian2_coba`, step for step in Brian2's order::

    taum dv/dt = (El - v) + ge (Ee - v) + gi (Ei - v) + I_b     (v frozen while refractory)
    dge/dt = -ge / taue,   dgi/dt = -gi / taui

One step from t to t + dt: v by exponential Euler (``bp.odeint(method="exp_auto")``) with ge, gi
at t, skipped for neurons still refractory (fewer than 5 ms / dt steps since their last spike);
ge, gi decay exactly; v > -50 mV spikes, v = -60 mV; then each spike adds we = 0.6 (excitatory
source) or wi = 6.7 (inhibitory) to ge / gi of its targets through BrainPy's event-driven CSR
product (``bm.event.csrmv``), acting from the next step on. The loop is ``bm.for_loop`` inside
``bm.jit`` on the CPU. Numbers are BrainPy's default float (``bm.float_``, float32 unless
changed with ``bm.set(float_=...)``).

BrainPy is imported lazily; install it with ``pip install brainsim[peers]``. Its CPU event-driven
kernels need numba.
"""

from __future__ import annotations

import time

import numpy as np

from peers.brian2_coba import (
    EE_MV,
    EI_MV,
    EL_MV,
    IB_MV,
    REFRACTORY_MS,
    TAUE_MS,
    TAUI_MS,
    TAUM_MS,
    VRESET_MV,
    VTH_MV,
    WE,
    WI,
    _check_network,
)

_NO_BRAINPY = (
    "brainpy is not installed: the peer simulators are optional, install them with "
    "`pip install brainsim[peers]`"
)


def require() -> None:
    """Raise ImportError (naming the ``peers`` extra) unless brainpy can be imported."""
    _import_brainpy()


def _import_brainpy():
    try:
        import brainpy
        import brainpy.math
    except ModuleNotFoundError as e:
        if e.name and e.name.split(".")[0] == "brainpy":
            raise ImportError(_NO_BRAINPY) from e
        raise
    import importlib.util

    if importlib.util.find_spec("numba") is None:
        raise ImportError(
            "numba is not installed: BrainPy's CPU event-driven kernels need it; "
            "install the peers with `pip install brainsim[peers]`"
        )
    return brainpy, brainpy.math


def _csr(pre, post, lo, hi):
    """CSR rows for sources lo..hi-1 (row r = neuron lo + r), columns = targets."""
    sel = (pre >= lo) & (pre < hi)
    rows, cols = pre[sel] - lo, post[sel]
    order = np.argsort(rows, kind="stable")
    indptr = np.zeros(hi - lo + 1, np.int32)
    np.cumsum(np.bincount(rows, minlength=hi - lo), out=indptr[1:])
    return cols[order].astype(np.int32), indptr


def _make_net(bp, bm, pre, post, v0, n_exc, dt_ms):
    n = v0.size
    ref_steps = round(REFRACTORY_MS / dt_ms)
    ind_e, ptr_e = _csr(pre, post, 0, n_exc)
    ind_i, ptr_i = _csr(pre, post, n_exc, n)
    decay_e = float(np.exp(-dt_ms / TAUE_MS))
    decay_i = float(np.exp(-dt_ms / TAUI_MS))

    class Coba(bp.DynamicalSystem):
        def __init__(self):
            super().__init__()
            self.v = bm.Variable(bm.asarray(v0, dtype=bm.float_))
            self.ge = bm.Variable(bm.zeros(n, dtype=bm.float_))
            self.gi = bm.Variable(bm.zeros(n, dtype=bm.float_))
            self.last = bm.Variable(bm.full(n, -(2**30), dtype=bm.int32))  # step of the last spike
            # the targets go in as arguments of the jitted loop rather than as constants baked into
            # the program; the row pointers must stay concrete (brainevent sizes its kernels by them)
            self.conn = (bm.asarray(ind_e), bm.asarray(ind_i))
            self.ptr_e, self.ptr_i = bm.asarray(ptr_e), bm.asarray(ptr_i)
            self.integral = bp.odeint(self.dv, method="exp_auto")

        @staticmethod
        def dv(v, t, ge, gi):
            return ((EL_MV - v) + ge * (EE_MV - v) + gi * (EI_MV - v) + IB_MV) / TAUM_MS

        def reset_state(self, *args, **kwargs):
            self.v.value = bm.asarray(v0, dtype=bm.float_)
            self.ge.value = bm.zeros(n, dtype=bm.float_)
            self.gi.value = bm.zeros(n, dtype=bm.float_)
            self.last.value = bm.full(n, -(2**30), dtype=bm.int32)

        def update(self, i, conn):
            ind_e_, ind_i_ = conn
            active = (i - self.last.value) >= ref_steps
            v_new = self.integral(self.v.value, i * dt_ms, self.ge.value, self.gi.value, dt=dt_ms)
            v_new = bm.where(active, v_new, self.v.value)
            spike = (v_new > VTH_MV) & active
            self.last.value = bm.where(spike, i, self.last.value)
            self.v.value = bm.where(spike, VRESET_MV, v_new)
            ge = self.ge.value * decay_e
            gi = self.gi.value * decay_i
            if ind_e.size:
                ge = ge + bm.event.csrmv(
                    WE, ind_e_, self.ptr_e, spike[:n_exc], shape=(n_exc, n), transpose=True
                )
            if ind_i.size:
                gi = gi + bm.event.csrmv(
                    WI, ind_i_, self.ptr_i, spike[n_exc:], shape=(n - n_exc, n), transpose=True
                )
            self.ge.value = ge
            self.gi.value = gi
            return spike

    return Coba()


def run_coba(pre, post, v0, n_exc, duration_ms, *, dt_ms=0.1, mode="jit", record_spikes=True) -> dict:
    """Run the COBA network in BrainPy (JIT, CPU) for ``duration_ms``; return spikes and timings.

    pre, post: int arrays, one entry per synapse (pre < n_exc: excitatory). v0: initial v (mV),
    one per neuron; ge = gi = 0, nobody refractory. mode: only "jit".

    The jitted loop runs twice from the same initial state: ``compile_s`` is the first call's
    extra time (tracing and XLA compilation), ``run_s`` the second call's time, whose spikes are
    returned. ``build_s``: making the BrainPy objects. Spikes are stamped with the start of the
    step that produced them, as in Brian2. ``record_spikes=False`` returns empty spike arrays and
    skips the (steps x N) spike matrix the loop otherwise stacks.
    """
    if mode != "jit":
        raise ValueError(f"mode must be 'jit', got {mode!r}")
    bp, bm = _import_brainpy()
    pre, post, v0, _ = _check_network(pre, post, v0, n_exc)
    n_steps = round(duration_ms / dt_ms)
    import jax

    with jax.default_device(jax.devices("cpu")[0]):
        t0 = time.perf_counter()
        net = _make_net(bp, bm, pre, post, v0, n_exc, dt_ms)

        def loop(steps, conn):
            def body(i):
                spike = net.update(i, conn)
                return spike if record_spikes else bm.sum(spike)

            return bm.for_loop(body, steps, progress_bar=False)

        run = bm.jit(loop)
        steps = bm.arange(n_steps, dtype=bm.int32)
        t1 = time.perf_counter()
        _block(run(steps, net.conn))
        t2 = time.perf_counter()
        net.reset_state()
        _block(net.v.value)
        t3 = time.perf_counter()
        out = _block(run(steps, net.conn))
        t4 = time.perf_counter()
    if record_spikes:
        step_idx, spike_i = np.nonzero(np.asarray(out))
        spike_i = spike_i.astype(np.int64)
        spike_t = step_idx * dt_ms
    else:
        spike_i, spike_t = np.zeros(0, np.int64), np.zeros(0, np.float64)
    return {
        "spike_i": spike_i,
        "spike_t_ms": spike_t,
        "build_s": t1 - t0,
        "compile_s": (t2 - t1) - (t4 - t3),
        "run_s": t4 - t3,
    }


def _block(x):
    import jax

    x = x.value if hasattr(x, "value") else x
    return jax.block_until_ready(x)
