"""The NeuroGym adapter, and agreement of brainsim's tasks with NeuroGym's."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import brainsim as bs
from brainsim.tasks import ContextDecision, PerceptualDecision
from brainsim.tasks.neurogym import neurogym_env, neurogym_score, neurogym_trials

pytest.importorskip("neurogym")
N = 2000


def test_adapter_gives_padded_batches_of_two_neurogym_tasks():
    for name in ("PerceptualDecisionMaking-v0", "GoNogo-v0"):
        batch = neurogym_trials(neurogym_env(name, dt=100), 16, seed=1)
        B, T, n_obs = batch["inputs"].shape
        assert B == 16 and batch["targets"].shape == (16, T) and batch["mask"].shape == (16, T)
        assert batch["inputs"].dtype == np.float32 and batch["targets"].dtype == np.int32
        assert batch["mask"].sum(axis=1).min() >= 1  # every trial has a scored epoch
        assert np.all(batch["lengths"] <= T)


def perceptual_pair(key):
    env = neurogym_env("PerceptualDecisionMaking-v0", dt=100)
    theirs = neurogym_trials(env, N, seed=0)
    task = PerceptualDecision()
    params = bs.set(task.task_params(), "coherences", jnp.asarray(env.unwrapped.cohs) / 100.0)
    params = bs.set(params, "sigma", env.unwrapped.sigma)
    ours = jax.tree_util.tree_map(np.asarray, task.trials(params, key, N))
    return task, theirs, ours


def test_perceptual_decision_agrees_with_neurogym(key):
    task, theirs, ours = perceptual_pair(key)
    # timing of epochs: the same trial length, fixation cue and scored steps
    assert theirs["inputs"].shape[1:] == ours["inputs"].shape[1:]
    np.testing.assert_array_equal(theirs["inputs"][:, :, 0].mean(0), ours["inputs"][:, :, 0].mean(0))
    np.testing.assert_array_equal(theirs["mask"].mean(0), ours["mask"].mean(0))
    # target labels: the same classes, balanced, zero outside the decision
    for batch in (theirs, ours):
        final = batch["targets"][:, -1]
        assert set(np.unique(final)) == {1, 2} and abs((final == 1).mean() - 0.5) < 0.05
        assert np.all(batch["targets"][:, :-1] == 0)
    # input means by coherence: the evidence for the correct side
    stimulus = slice(task.fixation_steps, task.fixation_steps + task.stimulus_steps)
    coherences = [trial["coh"] / 100.0 for trial in theirs["trials"]]

    def evidence(batch):
        side = batch["targets"][:, -1] - 1
        means = batch["inputs"][:, stimulus, 1:3].mean(axis=1)
        return means[np.arange(N), side], means[np.arange(N), 1 - side]

    theirs_correct, theirs_wrong = evidence(theirs)
    ours_correct, ours_wrong = evidence(ours)
    for c in sorted(set(coherences)):
        pick = np.isclose(coherences, c)
        assert theirs_correct[pick].mean() == pytest.approx(0.5 + c / 2, abs=0.01)
        assert theirs_wrong[pick].mean() == pytest.approx(0.5 - c / 2, abs=0.01)
    # ours, pooled over the same coherence set
    assert ours_correct.mean() == pytest.approx(theirs_correct.mean(), abs=0.01)
    assert ours_wrong.mean() == pytest.approx(theirs_wrong.mean(), abs=0.01)
    spread = theirs["inputs"][:, stimulus, 1:3].std()  # noise plus coherence spread
    assert ours["inputs"][:, stimulus, 1:3].std() == pytest.approx(spread, rel=0.05)


def test_context_decision_agrees_with_neurogym(key):
    env = neurogym_env("ContextDecisionMaking-v0", dt=100, use_expl_context=True, timing={"delay": 0})
    theirs = neurogym_trials(env, N, seed=0)
    task = ContextDecision()
    ours = jax.tree_util.tree_map(np.asarray, task.trials(task.task_params(), key, N))
    assert theirs["inputs"].shape[1:] == ours["inputs"].shape[1:]
    for channel in (0, 5, 6):  # fixation and the two context cues: the same epochs and means
        np.testing.assert_allclose(theirs["inputs"][:, :, channel].mean(0),
                                   ours["inputs"][:, :, channel].mean(0), atol=0.05)
    np.testing.assert_array_equal(theirs["mask"].mean(0), ours["mask"].mean(0))
    stimulus = slice(task.fixation_steps, task.fixation_steps + task.stimulus_steps)

    def statistics(batch):
        x = batch["inputs"][:, stimulus].mean(axis=1)
        context = batch["inputs"][:, 0, 5:7].argmax(axis=1)
        choice = batch["targets"][:, -1]
        relevant = np.where(context == 0, x[:, 1] - x[:, 2], x[:, 3] - x[:, 4])
        agree = ((relevant > 0) == (choice == 1)).mean()  # the cued stream predicts the label
        return np.abs(x[:, 1] - x[:, 2]).mean(), np.abs(x[:, 3] - x[:, 4]).mean(), agree, (choice == 1).mean()

    for a, b in zip(statistics(theirs), statistics(ours)):
        assert a == pytest.approx(b, abs=0.03)


def test_a_brainsim_network_trained_on_neurogym_trials_scores_on_them():
    from regions import Cortex

    env = neurogym_env("PerceptualDecisionMaking-v0", dt=100)
    brain = bs.Connectome()
    brain.add("stim", bs.RatePopulation(n=3, activation="linear"))
    brain.add("ctx", Cortex(32))
    brain.add("out", bs.RatePopulation(n=3, activation="linear"))
    brain.connect("stim.rate", "ctx.input", scale=2.0)
    brain.connect("ctx.rate", "out.input", scale=0.3)
    net = bs.build(brain)
    params, state = net.init(jax.random.key(0), overrides={"stim.tau": 1.0, "out.tau": 1.0})
    loss = bs.train.trial_loss(net, state, output="out.rate", loss="cross_entropy")
    batches = [neurogym_trials(env, 32, seed=s) for s in range(20)]

    def data(key, step):
        b = batches[step % len(batches)]
        return {"inputs": {"stim.input": jnp.asarray(b["inputs"])}, "targets": jnp.asarray(b["targets"]),
                "mask": jnp.asarray(b["mask"])}

    result = bs.train.fit(loss, params, optax.adam(5e-3), data, steps=300,
                          trainable=["ctx", "stim.rate->ctx.input", "ctx.rate->out.input"])
    test = neurogym_trials(env, 300, seed=99)
    before = neurogym_score(net, params, state, test, input="stim.input", output="out.rate")
    after = neurogym_score(net, result.params, state, test, input="stim.input", output="out.rate")
    assert before < 0.6 and after > 0.75  # chance 0.5; an ideal observer gets about 0.9
