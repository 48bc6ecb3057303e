"""brainsim.analysis.reward_signals: peri-event responses, against loops written here."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainsim as bs
from brainsim.analysis import align, event_steps, responses_by_event


def test_event_steps_are_rising_edges():
    cue = np.array([0, 1, 1, 0, 0, 1, 0, 1, 1, 1])
    np.testing.assert_array_equal(event_steps(cue), [1, 5, 7])
    two = np.zeros((6, 2))
    two[0, 0] = two[1, 1] = two[4, 1] = 1  # cue 0 then cue 1 at once: one onset
    np.testing.assert_array_equal(event_steps(two), [0, 4])


def test_align_matches_a_loop_and_pads_with_nan():
    rng = np.random.default_rng(0)
    trace = rng.normal(size=(30, 3))
    steps = np.array([0, 7, 28])
    segments = align(trace, steps, before=2, after=3)
    assert segments.shape == (3, 6, 3)
    for k, s in enumerate(steps):
        for j, o in enumerate(range(-2, 4)):
            if 0 <= s + o < 30:
                np.testing.assert_array_equal(segments[k, j], trace[s + o])
            else:
                assert np.all(np.isnan(segments[k, j]))


def test_align_with_no_events_is_empty():
    assert align(np.zeros((5, 2)), [], 1, 2).shape == (0, 4, 2)


def test_responses_by_event_on_a_scripted_record():
    T, delay = 40, 4
    cue, reward, rpe = np.zeros(T), np.zeros(T), np.zeros(T)
    for onset, rewarded in ((5, True), (15, False), (25, True)):
        cue[onset:onset + 2] = 1
        rpe[onset] = 0.6
        if rewarded:
            reward[onset + delay] = 1.0
            rpe[onset + delay] = 0.4
        else:
            rpe[onset + delay] = -0.6
    out = responses_by_event(rpe, cue, reward, delay=delay, before=1, after=1)
    assert out["n"] == {"cue": 3, "reward": 2, "omission": 1}
    np.testing.assert_allclose(out["cue"], [0, 0.6, 0])
    np.testing.assert_allclose(out["reward"], [0, 0.4, 0])
    np.testing.assert_allclose(out["omission"], [0, -0.6, 0])
    np.testing.assert_array_equal(out["offsets"], [-1, 0, 1])


def test_it_reads_a_trained_conditioning_run():
    """Pavlovian, p = 0.5, a temporal basis, a critic and dopamine: after training the aligned
    responses are TD's: about p at the cue (gamma = 1), 1 - V at rewards and -V at omissions,
    V the frozen value just before the reward (so the two differ by exactly the reward, 1)."""
    from regions import td_conditioning

    task = bs.tasks.Pavlovian(n_cues=1, iti_steps=5, cue_steps=2, delay_steps=8)
    net = bs.build(td_conditioning(task, span=task.delay_steps + 1))
    params, state = net.init(jax.random.key(0), overrides={"task.p_reward": jnp.array([0.5]),
                                                           "critic.eta": 0.2, "vta.gamma": 1.0})
    state, _ = net.run(params, state, 1500 * task.trial_length)
    frozen = bs.set(params, "critic.eta", 0.0)
    _, trace = net.run(frozen, state, 400 * task.trial_length, record=["vta.rpe", "task.obs", "task.reward"])
    out = responses_by_event(trace["vta.rpe"], trace["task.obs"], trace["task.reward"], delay=task.delay_steps)
    zero = list(out["offsets"]).index(0)
    assert out["cue"][zero] == pytest.approx(0.5, abs=0.15)  # p, up to learning noise
    assert out["omission"][zero] == pytest.approx(-0.5, abs=0.15)
    assert out["reward"][zero] - out["omission"][zero] == pytest.approx(1.0, abs=1e-5)
    assert np.abs(np.delete(out["cue"], zero)).max() < 0.01  # around the cue: nothing (measured 0.002)
    assert out["n"]["reward"] + out["n"]["omission"] == out["n"]["cue"] == 400


@pytest.mark.parametrize("call, message", [
    (lambda: align(np.zeros(5), [1.5], 1, 1), "int steps"),
    (lambda: align(np.zeros(5), [1], -1, 1), "before"),
    (lambda: event_steps(np.zeros((0,))), "T > 0"),
    (lambda: responses_by_event(np.zeros(5), np.zeros(4), np.zeros(5), delay=1), "time axis"),
    (lambda: responses_by_event(np.zeros(5), np.zeros(5), np.zeros(5), delay=-2), "delay"),
    (lambda: responses_by_event(np.zeros(5), np.zeros(5), np.zeros(5), delay=1.0), "delay"),
])
def test_bad_inputs_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
