"""A temporal basis spans the time since a cue began (complete serial compound, microstimuli)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainsim as bs
from regions import TemporalBasis


def features(kind, cues, n_basis=8, dt=1.0, **overrides):
    brain = bs.Connectome().add("tb", TemporalBasis(n_cues=cues.shape[1], n_basis=n_basis, kind=kind))
    net = bs.build(brain, dt=dt)
    params, state = net.init(jax.random.key(0), overrides={f"tb.{k}": v for k, v in overrides.items()})
    _, trace = net.run(params, state, cues.shape[0], inputs={"tb.cue": jnp.asarray(cues)},
                       record=["tb.features"])
    return np.asarray(trace["tb.features"]).reshape(cues.shape[0], cues.shape[1], n_basis)


def test_the_serial_compound_marks_each_step_since_onset():
    cues = np.zeros((30, 2), np.float32)
    cues[5:7, 0] = 1.0    # cue 0: a 2-step pulse at step 5
    cues[12:13, 1] = 1.0  # cue 1: at step 12
    cues[20:21, 0] = 1.0  # cue 0 again: its clock restarts
    x = features("csc", cues)
    assert np.all(x[:5] == 0) and np.all(x[:12, 1] == 0)
    for t in range(5, 13):
        np.testing.assert_array_equal(x[t, 0], np.eye(8)[t - 5])
    assert np.all(x[13:20, 0] == 0)  # past the basis: nothing
    for t in range(20, 28):
        np.testing.assert_array_equal(x[t, 0], np.eye(8)[t - 20])
    for t in range(12, 20):
        np.testing.assert_array_equal(x[t, 1], np.eye(8)[t - 12])


def test_microstimuli_peak_later_and_wider_the_smaller_their_centre():
    cues = np.zeros((600, 1), np.float32)
    cues[0, 0] = 1.0
    x = features("microstimulus", cues, n_basis=10, dt=5.0)[:, 0]  # LSK 2008: 5-ms steps
    peaks = x.argmax(axis=0)
    assert np.all(np.diff(peaks[::-1]) > 0)  # mu = 1.0 peaks first, mu = 0.1 last
    above_half = (x >= x.max(axis=0) / 2).sum(axis=0)
    assert np.all(np.diff(above_half[::-1][:8]) >= 0) and above_half[1] > 3 * above_half[9]
    # at its peak, microstimulus i reads a trace near its centre mu_i = i / 10
    trace = np.exp(-peaks * 5.0 / 333.0)
    np.testing.assert_allclose(trace[3:], np.arange(4, 11) / 10, atol=0.03)
    expected = trace[5] * np.exp(-(trace[5] - 0.6) ** 2 / (2 * 0.08**2)) / np.sqrt(2 * np.pi)
    np.testing.assert_allclose(x[peaks[5], 5], expected, rtol=1e-4)


def test_a_new_trace_time_constant_does_not_recompile():
    cues = np.zeros((300, 1), np.float32)
    cues[0, 0] = 1.0
    features("microstimulus", cues, n_basis=10, tau=100.0)
    before = bs.trace_count()
    slow = features("microstimulus", cues, n_basis=10, tau=400.0)
    fast = features("microstimulus", cues, n_basis=10, tau=50.0)
    assert bs.trace_count() == before
    # microstimulus 6 (centre 0.6) peaks where the trace y falls to about 0.6 (exactly where
    # y (y - 0.6) = sigma^2): at t = tau ln(1 / y)
    y = (0.6 + np.sqrt(0.6**2 + 4 * 0.08**2)) / 2
    assert slow[:, 0].argmax(axis=0)[5] == round(400 * np.log(1 / y))
    assert fast[:, 0].argmax(axis=0)[5] == round(50 * np.log(1 / y))


@pytest.mark.parametrize("bad", [dict(n_cues=0), dict(n_cues=2, n_basis=True), dict(n_cues=2, kind="tdl")])
def test_bad_bases_are_refused(bad):
    with pytest.raises(ValueError, match="TemporalBasis"):
        TemporalBasis(**bad)


def conditioning(basis: bool):
    """Pavlovian cue -> (temporal basis) -> critic -> dopamine, with the episode boundary
    wired as every task emits it (task.done -> vta.done, no delay)."""
    from regions import Critic, Dopamine

    task = bs.tasks.Pavlovian(n_cues=1, iti_steps=5, cue_steps=3, delay_steps=10)
    span = task.delay_steps + 1  # cue onset to reward; longer, and a fixed ITI would predict the cue
    brain = bs.Connectome().add("task", task).add("critic", Critic(span if basis else 1)).add("vta", Dopamine())
    if basis:
        brain.add("tb", TemporalBasis(n_cues=1, n_basis=span))
        brain.connect("task.obs", "tb.cue", kind="identity")
        brain.connect("tb.features", "critic.features", kind="identity")
    else:  # the obvious wiring: the cue itself, seen only while it is on
        brain.connect("task.obs", "critic.features", kind="identity")
    brain.connect("task.reward", "vta.reward", kind="identity")
    brain.connect("task.done", "vta.done", kind="identity")
    brain.connect("critic.value", "vta.value", kind="identity")
    brain.connect("vta.rpe", "critic.rpe", kind="identity", delay=1)
    net = bs.build(brain)
    params, state = net.init(jax.random.key(0), overrides={"task.p_reward": 1.0, "critic.eta": 0.5})
    trials = 400
    _, trace = net.run(params, state, trials * task.trial_length, record=["vta.rpe"])
    rpe = np.asarray(trace["vta.rpe"]).reshape(trials, task.trial_length)
    return rpe, task


def test_a_temporal_basis_moves_the_dopamine_burst_from_reward_to_cue():
    rpe, task = conditioning(basis=True)
    cue, reward = task.iti_steps, task.reward_step
    assert rpe[0, reward] == pytest.approx(1.0) and abs(rpe[0, cue]) < 1e-6  # naive: burst at reward
    late = rpe[-50:]
    assert late[:, cue].mean() > 0.8 and np.abs(late[:, reward]).max() < 0.1  # trained: burst at cue
    assert np.abs(np.delete(late, [cue], axis=1)).max() < 0.1  # and nowhere else
    control, _ = conditioning(basis=False)  # without it nothing spans the cue-reward interval
    assert abs(control[-50:, cue].mean()) < 0.05 and control[-50:, reward].mean() > 0.9
