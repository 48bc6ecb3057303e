"""Trial tasks: both faces, statistics, oracle and random agents, closed loop."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainsim as bs
from brainsim.tasks import DelayedMatch, PerceptualDecision

TASKS = {
    "perceptual": PerceptualDecision(),
    "match": DelayedMatch(),
    "non_match": DelayedMatch(n_stimuli=4, non_match=True),
}


@pytest.mark.parametrize("name", list(TASKS))
def test_trial_shapes_and_dtypes(name, key):
    task = TASKS[name]
    batch = task.trials(task.task_params(), key, 16)
    T = task.trial_length
    chex.assert_shape(batch["inputs"], (16, T, task.n_obs))
    chex.assert_shape([batch["targets"], batch["mask"]], (16, T))
    chex.assert_type(batch["inputs"], jnp.float32)
    chex.assert_type(batch["targets"], jnp.int32)
    assert np.all((np.asarray(batch["targets"]) == 0) | (np.asarray(batch["mask"]) == 1))


def test_perceptual_evidence_means_follow_the_coherence(key):
    task = PerceptualDecision()
    params = bs.set(task.task_params(), "coherences", jnp.array([0.5, 0.5, 0.5, 0.5, 0.5]))
    batch = task.trials(params, key, 4000)
    stimulus = slice(task.fixation_steps, task.fixation_steps + task.stimulus_steps)
    evidence = np.asarray(batch["inputs"])[:, stimulus, 1:].mean(axis=1)  # (B, 2)
    side = np.asarray(batch["targets"])[:, -1] - 1
    correct = evidence[np.arange(4000), side].mean()
    wrong = evidence[np.arange(4000), 1 - side].mean()
    assert correct == pytest.approx(0.75, abs=0.01) and wrong == pytest.approx(0.25, abs=0.01)
    assert abs(side.mean() - 0.5) < 3 * 0.5 / np.sqrt(4000)  # balanced within sampling error
    assert np.all(np.asarray(batch["inputs"])[:, -1, 0] == 0)  # fixation cue off at decision


def test_match_frequency_equals_p_match(key):
    task = DelayedMatch()
    params = bs.set(task.task_params(), "p_match", 0.3)
    batch = task.trials(params, key, 4000)
    match = np.asarray(batch["targets"])[:, -1] == 1
    assert abs(match.mean() - 0.3) < 3 * np.sqrt(0.3 * 0.7 / 4000)
    obs = np.asarray(batch["inputs"])
    sample = obs[:, 0, 1:].argmax(axis=1)
    test = obs[:, task.sample_steps + task.delay_steps, 1:].argmax(axis=1)
    np.testing.assert_array_equal(sample == test, match)
    assert np.all(obs[:, task.sample_steps:task.sample_steps + task.delay_steps, 1:] == 0)  # the delay


def closed_loop(task, oracle):
    brain = bs.Connectome()
    brain.add("task", task)
    brain.add("policy", bs.SoftmaxPolicy(task.n_actions))
    brain.add("brain", bs.RatePopulation(n=8))
    brain.connect("task.obs", "brain.input", delay=1)
    if oracle:  # an agent that knows the answer
        brain.connect("task.target", "policy.logits", kind="one_to_one", scale=50.0)
    brain.connect("policy.action", "task.action", kind="identity", delay=1)
    return bs.build(brain)


@pytest.mark.parametrize("name", list(TASKS))
def test_oracle_scores_the_maximum_and_a_random_agent_chance(name, key):
    task = TASKS[name]
    record = ["task.reward", "task.scored", "task.done", "brain.rate"]
    for oracle, expected in ((True, 1.0), (False, 1.0 / task.n_actions)):
        net = closed_loop(task, oracle)
        params, state = net.init(key)
        _, trace = net.run(params, state, 1000, record=record, check_finite=True)
        scored = np.asarray(trace["task.scored"]) > 0
        accuracy = np.asarray(trace["task.reward"])[scored].mean()
        tolerance = 0.01 if oracle else 4 * np.sqrt(expected * (1 - expected) / scored.sum())
        assert abs(accuracy - expected) < tolerance
        assert np.asarray(trace["task.done"]).sum() == 1000 // task.trial_length


@pytest.mark.parametrize("name", list(TASKS))
def test_vmap_over_seeds_gives_different_episodes(name):
    task = TASKS[name]
    net = closed_loop(task, oracle=False)

    def episode(key):
        params, state = net.init(key)
        return net.run(params, state, 60, record=["task.obs"])[1]["task.obs"]

    observations = jax.vmap(episode)(jax.random.split(jax.random.key(0), 8))
    flat = np.asarray(observations).reshape(8, -1)
    assert len({row.tobytes() for row in flat}) == 8


def test_an_rnn_learns_delayed_match_from_the_supervised_face():
    import optax

    from regions import Cortex

    task = DelayedMatch()
    brain = bs.Connectome()
    brain.add("stim", bs.RatePopulation(n=task.n_obs, activation="linear"))
    brain.add("ctx", Cortex(48))
    brain.add("out", bs.RatePopulation(n=task.n_actions, activation="linear"))
    brain.connect("stim.rate", "ctx.input", scale=2.0)
    brain.connect("ctx.rate", "out.input", scale=0.3)
    net = bs.build(brain)
    params, state = net.init(jax.random.key(0), overrides={"stim.tau": 1.0, "out.tau": 1.0,
                                                          "ctx.tau": 2.0})
    loss = bs.train.trial_loss(net, state, output="out.rate", loss="cross_entropy")

    def data(key, step):
        batch = task.trials(task.task_params(), key, 32)
        return {"inputs": {"stim.input": batch["inputs"]}, "targets": batch["targets"],
                "mask": jnp.ones_like(batch["mask"])}

    result = bs.train.fit(loss, params, optax.adam(3e-3), data, steps=300,
                          trainable=["ctx", "stim.rate->ctx.input", "ctx.rate->out.input"])
    test = task.trials(task.task_params(), jax.random.key(99), 500)

    def answers(p):
        logits = jax.vmap(lambda x: net.run(p, state, task.trial_length, inputs={"stim.input": x},
                                            record=["out.rate"])[1]["out.rate"])(test["inputs"])
        return np.asarray(jnp.argmax(logits[:, -1], axis=-1))

    correct = np.asarray(test["targets"])[:, -1]
    assert (answers(result.params) == correct).mean() > 0.95
    assert (answers(params) == correct).mean() < 0.7
