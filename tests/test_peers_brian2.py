"""brainsim against Brian2, a simulator no one here wrote (extra ``brainsim[peers]``).

The COBA network is built in both from the same connectivity and initial
state; over 1 s their population statistics must agree (mean rate within
10%, ISI CV within 15%, E/I rate ratio within 10%). A single current-based
LIF neuron must spike at the times of Brian2's exact integration, to within
one step.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainsim as bs
from experiments import coba
from peers import brian2_coba

pytestmark = pytest.mark.slow

DT = 0.1
G_LEAK = 10.0  # nS: a current of g_L * x pA moves V by x mV at steady state


def relative_difference(a, b):
    return abs(a - b) / abs(b)


def test_coba_statistics_match_brian2():
    n, duration = 4000, 1000.0
    neuron, time_ms, info = coba.simulate(coba.Config(n=n, duration_ms=duration, seed=3))
    net, state = info["net"], info["state"]
    pre, post = coba.pairs(net, state)
    n_exc = net.regions["E"].n
    theirs = brian2_coba.run_coba(pre, post, coba.initial_v(state), n_exc, duration,
                                  mode="cpp_standalone")
    ours = coba.statistics(neuron, time_ms, n_exc, n, duration)
    brian = coba.statistics(theirs["spike_i"], theirs["spike_t_ms"], n_exc, n, duration)
    print("brainsim", ours, "\nbrian2  ", brian)
    assert 5.0 < brian["rate_hz"] < 60.0  # the network is in its asynchronous irregular regime
    assert relative_difference(ours["rate_hz"], brian["rate_hz"]) < 0.10
    assert relative_difference(ours["isi_cv"], brian["isi_cv"]) < 0.15
    assert relative_difference(ours["ei_ratio"], brian["ei_ratio"]) < 0.10
    # before chaos amplifies rounding differences, the very same spikes occur
    early_ours = {(i, round(t / DT)) for i, t in zip(neuron, time_ms) if t < 20.0}
    early_brian = {(i, round(t / DT)) for i, t in zip(theirs["spike_i"], theirs["spike_t_ms"]) if t < 20.0}
    assert len(early_ours) > 500
    assert len(early_ours ^ early_brian) <= 0.01 * len(early_brian)


def single_lif_spike_times(I_b_mV, duration, input_times=(), w_mV=0.0):
    """Spike times (ms) of one current-based brainsim LIF neuron, in Brian2's units."""
    brain = bs.Connectome()
    brain.add("n", bs.LIFPopulation(n=1, synapse="current"))
    net = bs.build(brain, dt=DT)
    params, state = net.init(jax.random.key(0))
    params = bs.set(params, "n.bias", jnp.full((1,), I_b_mV * G_LEAK))
    steps = int(round(duration / DT))
    drive = np.zeros((steps, 1), np.float32)
    for t in input_times:  # Brian2 adds the jump after step k's update: it acts from step k + 1
        k = int(round(t / DT)) + 1
        if k < steps:
            drive[k, 0] += w_mV * G_LEAK
    _, trace = net.run(params, state, steps, inputs={"n.input": jnp.asarray(drive)}, record=["n.spike"])
    return np.flatnonzero(np.asarray(trace["n.spike"])[:, 0]) * DT


@pytest.mark.parametrize(
    "I_b_mV, input_times, w_mV",
    [
        (20.0, (), 0.0),  # tonic firing: ISI 18.8 ms
        (12.0, (), 0.0),  # closer to rheobase (10 mV): a long, sensitive approach to threshold
        # subthreshold drive, spikes only from inputs
        (8.0, (5.0, 7.3, 7.3, 20.1, 33.3, 34.0, 60.0, 61.2, 62.4, 90.0, 120.4), 15.0),
    ],
)
def test_single_neuron_spike_times_match_brian2_exact_integration(I_b_mV, input_times, w_mV):
    duration = 150.0
    theirs = brian2_coba.run_single_lif(I_b_mV, duration, DT, input_times, w_mV=w_mV)
    ours = single_lif_spike_times(I_b_mV, duration, input_times, w_mV)
    assert len(theirs) >= 3
    assert len(ours) == len(theirs)
    np.testing.assert_allclose(ours, theirs, atol=DT + 1e-9)
