"""The COBA network (Vogels & Abbott 2005, as in the Brian2/BrainPy benchmarks) in Brian2.

One index space of N neurons: 0..n_exc-1 excitatory, n_exc..N-1 inhibitory. Per neuron::

    taum dv/dt = (El - v) + ge (Ee - v) + gi (Ei - v) + I_b     (v frozen while refractory)
    dge/dt = -ge / taue,   dgi/dt = -gi / taui                   (in units of the leak conductance)

taum = 20 ms, El = -60 mV, Ee = 0 mV, Ei = -80 mV, I_b = 20 mV, taue = 5 ms, taui = 10 ms;
spike when v > -50 mV, then v = -60 mV and 5 ms refractory. A spike of excitatory neuron i
adds we = 0.6 to ge of each target, an inhibitory one adds wi = 6.7 to gi; the jump lands after
the step's integration, so it acts from the next step on. v is integrated with exponential Euler
(exact for ge, gi). Connectivity (``pre``, ``post``) and ``v0`` are given.

Brian2 is imported lazily; install it with ``pip install brainsim[peers]``.
"""

from __future__ import annotations

import shutil
import tempfile
import time

import numpy as np

TAUM_MS = 20.0
TAUE_MS = 5.0
TAUI_MS = 10.0
EL_MV = -60.0
EE_MV = 0.0
EI_MV = -80.0
IB_MV = 20.0
VTH_MV = -50.0
VRESET_MV = -60.0
REFRACTORY_MS = 5.0
WE = 0.6
WI = 6.7

MODES = ("runtime", "cpp_standalone")

_NO_BRIAN2 = (
    "brian2 is not installed: the peer simulators are optional, install them with "
    "`pip install brainsim[peers]`"
)


def require() -> None:
    """Raise ImportError (naming the ``peers`` extra) unless brian2 can be imported."""
    _import_brian2()


def _import_brian2():
    """Import brian2 (with :func:`_ptp_fix` under numpy >= 2.4), or raise an ImportError naming the extra."""
    import importlib.util
    import sys

    if "brian2" in sys.modules:
        return sys.modules["brian2"]
    try:
        if importlib.util.find_spec("brian2") is None:
            raise ImportError(_NO_BRIAN2)
        if not hasattr(np.ndarray, "ptp"):
            _ptp_fix()
        import brian2
    except ModuleNotFoundError as e:
        if e.name and e.name.split(".")[0] == "brian2":
            raise ImportError(_NO_BRIAN2) from e
        raise
    return brian2


def _ptp_fix():
    """Let brian2 < 2.10 import under numpy >= 2.4.

    brian2 2.9.0 (the newest release for Python 3.11) reads ``np.ndarray.ptp`` while defining
    ``Quantity``; numpy 2.4 removed that method. brian2 2.10 skips the line when the method is
    missing; this does the same by loading ``brian2.units.fundamentalunits`` from its source with
    that one line guarded (a source without the line is run as it is). Only that module is
    affected; numpy is not touched.
    """
    import importlib.abc
    import importlib.machinery
    import importlib.util
    import sys

    target = "brian2.units.fundamentalunits"
    old = "\n    ptp = wrap_function_keep_dimensions(np.ndarray.ptp)\n"  # at class level, unguarded

    class _Loader(importlib.abc.Loader):
        def __init__(self, origin):
            self.origin = origin

        def create_module(self, spec):
            return None

        def exec_module(self, module):
            with open(self.origin, encoding="utf-8") as f:
                src = f.read()
            src = src.replace(old, '\n    if hasattr(np.ndarray, "ptp"):\n    ' + old[1:])
            exec(compile(src, self.origin, "exec"), module.__dict__)  # noqa: S102 - brian2's own source

    class _Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target_=None):
            if name != target:
                return None
            spec = importlib.machinery.PathFinder.find_spec(name, path)
            if spec is None or spec.origin is None:
                return None
            return importlib.util.spec_from_file_location(name, spec.origin, loader=_Loader(spec.origin))

    finder = _Finder()
    sys.meta_path.insert(0, finder)
    try:
        import brian2  # noqa: F401
    finally:
        sys.meta_path.remove(finder)


def _check_network(pre, post, v0, n_exc):
    pre = np.asarray(pre, dtype=np.int64).ravel()
    post = np.asarray(post, dtype=np.int64).ravel()
    v0 = np.asarray(v0, dtype=np.float64).ravel()
    n = v0.size
    if pre.shape != post.shape:
        raise ValueError(f"pre and post must have the same length, got {pre.size} and {post.size}")
    if not 0 <= n_exc <= n:
        raise ValueError(f"n_exc must be in 0..{n}, got {n_exc}")
    if pre.size and (pre.min() < 0 or pre.max() >= n or post.min() < 0 or post.max() >= n):
        raise ValueError(f"pre and post must index neurons 0..{n - 1}")
    return pre, post, v0, n


def _build_coba(b2, pre, post, v0, n_exc, dt_ms, record_spikes):
    """Make the Brian2 objects (on whatever device is active); return (network, spike monitor)."""
    ms, mV = b2.ms, b2.mV
    n = v0.size
    # fixed names keep the generated code, and so Cython's cache key, the same from call to call
    clock = b2.Clock(dt=dt_ms * ms, name="coba_clock")
    ns = {
        "taum": TAUM_MS * ms,
        "taue": TAUE_MS * ms,
        "taui": TAUI_MS * ms,
        "El": EL_MV * mV,
        "Ee": EE_MV * mV,
        "Ei": EI_MV * mV,
        "I_b": IB_MV * mV,
        "v_th": VTH_MV * mV,
        "v_reset": VRESET_MV * mV,
        "we": WE,
        "wi": WI,
    }
    eqs = """
    dv/dt = ((El - v) + ge*(Ee - v) + gi*(Ei - v) + I_b) / taum : volt (unless refractory)
    dge/dt = -ge / taue : 1
    dgi/dt = -gi / taui : 1
    """
    group = b2.NeuronGroup(
        n,
        eqs,
        threshold="v > v_th",
        reset="v = v_reset",
        refractory=REFRACTORY_MS * ms,
        method="exponential_euler",
        namespace=ns,
        clock=clock,
        name="coba",
    )
    group.v = v0 * mV
    objects = [group]
    exc = pre < n_exc
    for name, sel, lo, hi, code in (
        ("exc", exc, 0, n_exc, "ge_post += we"),
        ("inh", ~exc, n_exc, n, "gi_post += wi"),
    ):
        if not sel.any():
            continue
        source = b2.Subgroup(group, lo, hi, name=f"coba_{name}")
        syn = b2.Synapses(source, group, on_pre=code, namespace=ns, clock=clock, name=f"syn_{name}")
        syn.connect(i=pre[sel] - lo, j=post[sel])
        objects.append(syn)
    mon = None
    if record_spikes:
        mon = b2.SpikeMonitor(group, name="spikes")
        objects.append(mon)
    return b2.Network(*objects), mon


def run_coba(
    pre,
    post,
    v0,
    n_exc,
    duration_ms,
    *,
    dt_ms=0.1,
    mode="runtime",
    record_spikes=True,
    build_dir=None,
    keep_build_dir=False,
) -> dict:
    """Run the COBA network in Brian2 for ``duration_ms`` and return its spikes and timings.

    pre, post: int arrays, one entry per synapse (pre < n_exc: excitatory). v0: initial v (mV),
    one per neuron; ge = gi = 0, nobody refractory. mode: "runtime" (Cython code generation) or
    "cpp_standalone" (single-threaded C++, built in a fresh temporary directory that is removed
    afterwards unless ``keep_build_dir``; ``build_dir`` picks its parent).

    Returns ``spike_i`` (neuron index), ``spike_t_ms`` (Brian2 stamps a spike with the start of
    the step that produced it), ``build_s`` (making the Brian2 objects), ``compile_s`` (code
    generation and compilation; Cython's cache in ~/.cython/brian_extensions makes it short
    after the first call), ``run_s`` (the simulation loop alone, as Brian2 times it) and, for
    cpp_standalone, ``binary_s`` (wall time of the generated binary, which adds loading the
    arrays and writing the results to ``run_s``).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    b2 = _import_brian2()
    pre, post, v0, _ = _check_network(pre, post, v0, n_exc)
    if mode == "runtime":
        return _run_runtime(b2, pre, post, v0, n_exc, duration_ms, dt_ms, record_spikes)
    return _run_standalone(
        b2, pre, post, v0, n_exc, duration_ms, dt_ms, record_spikes, build_dir, keep_build_dir
    )


def _spikes(b2, mon):
    if mon is None:
        return np.zeros(0, np.int64), np.zeros(0, np.float64)
    return np.asarray(mon.i[:], dtype=np.int64), np.asarray(mon.t[:] / b2.ms, dtype=np.float64)


def _run_runtime(b2, pre, post, v0, n_exc, duration_ms, dt_ms, record_spikes):
    old_target = b2.prefs.codegen.target
    b2.prefs.codegen.target = "cython"
    try:
        t0 = time.perf_counter()
        net, mon = _build_coba(b2, pre, post, v0, n_exc, dt_ms, record_spikes)
        t1 = time.perf_counter()
        net.run(duration_ms * b2.ms, namespace={})
        t2 = time.perf_counter()
        run_s = float(b2.device._last_run_time)  # the main loop only, after code generation
        spike_i, spike_t = _spikes(b2, mon)
    finally:
        b2.prefs.codegen.target = old_target
    return {
        "spike_i": spike_i,
        "spike_t_ms": spike_t,
        "build_s": t1 - t0,
        "compile_s": (t2 - t1) - run_s,
        "run_s": run_s,
    }


def _run_standalone(b2, pre, post, v0, n_exc, duration_ms, dt_ms, record_spikes, build_dir, keep_build_dir):
    previous = b2.get_device()
    old_threads = b2.prefs.devices.cpp_standalone.openmp_threads
    directory = tempfile.mkdtemp(prefix="brainsim_brian2_", dir=build_dir)
    b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
    b2.prefs.devices.cpp_standalone.openmp_threads = 0  # single-threaded
    device = b2.get_device()
    try:
        t0 = time.perf_counter()
        net, mon = _build_coba(b2, pre, post, v0, n_exc, dt_ms, record_spikes)
        net.run(duration_ms * b2.ms, namespace={})  # only records the run in standalone mode
        t1 = time.perf_counter()
        device.build(directory=directory, compile=True, run=False, with_output=False)
        t2 = time.perf_counter()
        device.run(directory=directory, with_output=False)
        run_s = float(device._last_run_time)  # written by the binary: its simulation loop alone
        binary_s = float(device.timers["run_binary"])
        spike_i, spike_t = _spikes(b2, mon)
    finally:
        b2.prefs.devices.cpp_standalone.openmp_threads = old_threads
        device.reinit()
        b2.set_device(previous, build_on_run=getattr(previous, "build_on_run", True))
        if not keep_build_dir:
            shutil.rmtree(directory, ignore_errors=True)
    return {
        "spike_i": spike_i,
        "spike_t_ms": spike_t,
        "build_s": t1 - t0,
        "compile_s": t2 - t1,
        "run_s": run_s,
        "binary_s": binary_s,
        **({"build_dir": directory} if keep_build_dir else {}),
    }


def run_single_lif(
    I_b_mV,
    duration_ms,
    dt_ms=0.1,
    input_spike_times_ms=(),
    w_mV=2.0,
    tau_syn_ms=5.0,
    *,
    v0_mV=EL_MV,
    codegen_target="numpy",
) -> np.ndarray:
    """Spike times (ms) of ONE current-based LIF neuron in Brian2 (method='exact')::

        taum dv/dt = (El - v) + I_b + I_syn     (v frozen while refractory)
        dI_syn/dt = -I_syn / tau_syn

    taum = 20 ms, El = -60 mV, threshold v > -50 mV, reset -60 mV, refractory 5 ms, v(0) = v0_mV.
    I_b_mV: constant drive (mV, i.e. current times membrane resistance). Each input spike (times in
    ms, from a SpikeGeneratorGroup, so rounded to the dt grid) adds w_mV (mV) to I_syn, which acts
    from the next step on. Several input spikes may share a step. codegen_target: Brian2 target for
    this small model ("numpy" needs no compiler; "cython" works too).
    """
    b2 = _import_brian2()
    ms, mV = b2.ms, b2.mV
    times = np.asarray(input_spike_times_ms, dtype=np.float64).ravel()
    if times.size and (times.min() < 0 or not np.all(np.isfinite(times))):
        raise ValueError("input_spike_times_ms must be finite and >= 0")
    old_target = b2.prefs.codegen.target
    b2.prefs.codegen.target = codegen_target
    try:
        clock = b2.Clock(dt=dt_ms * ms, name="lif_clock")
        ns = {
            "taum": TAUM_MS * ms,
            "El": EL_MV * mV,
            "I_b": I_b_mV * mV,
            "tau_syn": tau_syn_ms * ms,
            "w": w_mV * mV,
            "v_th": VTH_MV * mV,
            "v_reset": VRESET_MV * mV,
        }
        eqs = """
        dv/dt = ((El - v) + I_b + I_syn) / taum : volt (unless refractory)
        dI_syn/dt = -I_syn / tau_syn : volt
        """
        neuron = b2.NeuronGroup(
            1,
            eqs,
            threshold="v > v_th",
            reset="v = v_reset",
            refractory=REFRACTORY_MS * ms,
            method="exact",
            namespace=ns,
            clock=clock,
            name="lif",
        )
        neuron.v = v0_mV * mV
        mon = b2.SpikeMonitor(neuron, name="lif_spikes")
        objects = [neuron, mon]
        if times.size:
            # a generator neuron fires at most once per step: spikes sharing a step go to separate ones
            steps = np.round(times / dt_ms).astype(np.int64)
            order = np.argsort(steps, kind="stable")
            s = steps[order]
            first = np.searchsorted(s, s)  # index of the first spike in each spike's step
            idx = np.empty_like(steps)
            idx[order] = np.arange(s.size) - first
            gen = b2.SpikeGeneratorGroup(
                int(idx.max()) + 1, idx, steps * dt_ms * ms, clock=clock, name="lif_input"
            )
            syn = b2.Synapses(
                gen, neuron, on_pre="I_syn_post += w", namespace=ns, clock=clock, name="lif_syn"
            )
            syn.connect()
            objects += [gen, syn]
        b2.Network(*objects).run(duration_ms * ms, namespace={})
        return np.asarray(mon.t[:] / ms, dtype=np.float64)
    finally:
        b2.prefs.codegen.target = old_target
