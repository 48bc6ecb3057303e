"""The NeuroGym adapter, and agreement of brainsim's tasks with NeuroGym's."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import brainsim as bs
from brainsim.tasks import ContextDecision, PerceptualDecision
from brainsim.tasks.neurogym import neurogym_env, neurogym_evaluate, neurogym_score, neurogym_trials

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
    before = neurogym_score(net, params, state, test, input="stim.input", output="out.rate")["accuracy"]
    after = neurogym_score(net, result.params, state, test, input="stim.input", output="out.rate")["accuracy"]
    assert before < 0.6 and after > 0.75  # chance 0.5; an ideal observer gets about 0.9


def fixed_choice_net(n_obs, n_actions, action):
    """A network whose output is largest on ``action`` at every step."""
    brain = bs.Connectome()
    brain.add("stim", bs.RatePopulation(n=n_obs, activation="linear"))
    brain.add("out", bs.RatePopulation(n=n_actions, activation="linear"))
    brain.connect("stim.rate", "out.input", scale=0.0)
    net = bs.build(brain)
    bias = jnp.zeros(n_actions).at[action].set(1.0)
    params, state = net.init(jax.random.key(0), overrides={"out.tau": 1.0, "out.bias": bias})
    return net, params, state


def score_fixed(name, action, batch=200):
    env = neurogym_env(name)
    trials = neurogym_trials(env, batch, seed=0)
    net, params, state = fixed_choice_net(trials["inputs"].shape[-1], env.action_space.n, action)
    return trials, neurogym_score(net, params, state, trials, input="stim.input", output="out.rate")


def test_a_network_that_never_answers_scores_zero_where_neurogym_scores():
    trials, score = score_fixed("DelayMatchCategory-v0", 0)  # its answer period is "test", not "decision"
    assert trials["answer_periods"] == ("test",)
    assert score["accuracy"] == 0.0 and score["performance"] == 0.0  # every step while scored expects 1 or 2
    assert np.all(score["choices"] == 0) and np.all(score["response_steps"] == -1)
    trials, score = score_fixed("ReadySetGo-v0", 0)  # one "go" step in "production": accuracy flatters
    assert trials["answer_periods"] == ("production",)
    assert score["performance"] == 0.0 and np.all(score["choices"] == 0)
    assert score["trial_performance"].shape == (200,)


def test_a_network_with_one_fixed_answer_scores_at_chance():
    trials, score = score_fixed("DelayMatchCategory-v0", 1)  # match or non-match, balanced
    assert score["accuracy"] == pytest.approx(0.5, abs=0.1)
    assert score["performance"] == pytest.approx(0.5, abs=0.1)
    assert np.all(score["choices"] == 1)
    test_start = np.array([periods["test"][0] for periods in trials["periods"]])
    np.testing.assert_array_equal(score["response_steps"], test_start)  # answered as soon as asked
    trials, score = score_fixed("ReadySetGo-v0", 1)  # "go" at once: far too early
    assert score["performance"] == 0.0 and np.all(score["choices"] == 1)


def test_the_mask_covers_exactly_the_answer_periods():
    for name, periods in [("DelayMatchCategory-v0", ("test",)), ("ReadySetGo-v0", ("production",)),
                          ("DualDelayMatchSample-v0", ("test1", "test2")),
                          ("PerceptualDecisionMaking-v0", ("decision",))]:
        batch = neurogym_trials(neurogym_env(name), 32, seed=2)
        assert batch["answer_periods"] == periods
        for mask, spans, length in zip(batch["mask"], batch["periods"], batch["lengths"]):
            expected = np.zeros_like(mask)
            for p in periods:
                expected[slice(*spans[p])] = 1.0
            np.testing.assert_array_equal(mask, expected)
            assert expected[:length].sum() > 0 and not mask[length:].any()


def test_periods_can_be_named_and_must_exist_for_unknown_envs():
    from neurogym.envs.native.perceptualdecisionmaking import PerceptualDecisionMaking

    class Mine(PerceptualDecisionMaking):  # not NeuroGym's own class: its answer period is not known
        pass

    with pytest.raises(ValueError, match=r"Mine has no known answer period: pass periods=.*fixation, stim"):
        neurogym_trials(Mine(), 4)
    batch = neurogym_trials(Mine(), 4, periods="decision")
    assert batch["answer_periods"] == ("decision",) and batch["mask"].sum() > 0
    with pytest.raises(ValueError, match="no period answer"):
        neurogym_trials(neurogym_env("GoNogo-v0"), 4, periods=["answer"])
    wide = neurogym_trials(neurogym_env("GoNogo-v0"), 4, periods=["delay", "decision"])
    assert wide["mask"].sum() > neurogym_trials(neurogym_env("GoNogo-v0"), 4)["mask"].sum()


def test_per_trial_choices_and_performance_of_a_perfect_answerer():
    batch = neurogym_trials(neurogym_env("PerceptualDecisionMaking-v0", dt=100), 64, seed=3)
    score = neurogym_evaluate(batch, batch["targets"])
    truth = np.array([trial["ground_truth"] for trial in batch["trials"]]) + 1  # sides 0, 1 are actions 1, 2
    np.testing.assert_array_equal(score["choices"], truth)
    assert score["accuracy"] == 1.0 and score["performance"] == 1.0
    np.testing.assert_array_equal(score["trial_performance"], np.ones(64))
    wrong = neurogym_evaluate(batch, np.where(batch["mask"] > 0, 3 - batch["targets"], 0))
    np.testing.assert_array_equal(wrong["choices"], 3 - truth)
    assert wrong["accuracy"] == 0.0 and wrong["performance"] == 0.0


@pytest.mark.parametrize("name", ["DelayMatchCategory-v0", "ReadySetGo-v0", "DualDelayMatchSample-v0",
                                  "HierarchicalReasoning-v0"])
def test_performance_is_what_neurogym_reports_stepping_the_same_actions(name):
    env = neurogym_env(name)
    batch = neurogym_trials(env, 60, seed=4)
    rng = np.random.default_rng(0)
    shape = batch["targets"].shape
    guesses = rng.integers(0, env.action_space.n, shape) * (rng.random(shape) < 0.2)  # mostly wait
    actions = np.where(rng.random(shape) < 0.5, batch["targets"], guesses)
    score = neurogym_evaluate(batch, actions)
    task = env.unwrapped
    task.seed(4)
    task.new_trial()
    task.performance = 0  # as NeuroGym's step leaves it at the start of every later trial
    theirs = []
    for trial_actions, length in zip(actions, batch["lengths"]):
        for k in range(length):
            info = task.step(int(trial_actions[k]))[4]
            if info["new_trial"]:
                break
        theirs.append(info["performance"])
    np.testing.assert_allclose(score["trial_performance"], theirs)


def test_neurogym_trials_leaves_the_env_it_is_given_as_it_was():
    env = neurogym_env("ReadySetGo-v0")  # its timing draws from env.rng
    task = env.unwrapped
    task.seed(7)
    task.new_trial()
    def rng_state():
        _, keys, position, *_ = task.rng.get_state()
        return keys.tobytes(), position

    before, gt = rng_state(), task.gt.copy()
    a = neurogym_trials(env, 8, seed=1)
    assert rng_state() == before and np.array_equal(task.gt, gt)
    b = neurogym_trials(env, 8, seed=1)
    np.testing.assert_array_equal(a["inputs"], b["inputs"])  # a seed gives the same trials
    c = neurogym_trials(env, 8, seed=None)  # None draws from the env's own state, and advances it
    d = neurogym_trials(env, 8, seed=None)
    assert rng_state() != before and np.array_equal(task.gt, gt)
    assert [t["measure"] for t in c["trials"]] != [t["measure"] for t in d["trials"]]
    assert a["dt"] == task.dt == 80  # one array step is one NeuroGym dt, in ms


def test_tasks_the_adapter_cannot_score_are_refused_by_name():
    refused = {"ReachingDelayResponse-v0": r"ReachingDelayResponse-v0 has vector ground truth \(2,\)",
               "SpatialSuppressMotion-v0": r"SpatialSuppressMotion-v0 has vector ground truth \(4,\)",
               "Reaching1D-v0": "Reaching1D-v0 is not supported.*target angle",
               "Bandit-v0": "Bandit-v0 defines no ground truth",
               "yang19.go-v0": "yang19.go-v0 is wrapped by NeuroGym's ScheduleEnvs"}
    for name, message in refused.items():
        with pytest.raises(ValueError, match=message):
            neurogym_trials(neurogym_env(name), 2)
