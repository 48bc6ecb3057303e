"""Trial tasks: both faces, statistics, oracle and random agents, closed loop."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainsim as bs
from brainsim.tasks import ContextDecision, DelayedMatch, Pavlovian, PerceptualDecision, VariableReward

SCORED = {
    "perceptual": PerceptualDecision(),
    "context": ContextDecision(),
    "match": DelayedMatch(),
    "non_match": DelayedMatch(n_stimuli=4, non_match=True),
}
TASKS = {**SCORED, "pavlovian": Pavlovian(n_cues=2), "variable_reward": VariableReward()}


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


@pytest.mark.parametrize("name", list(SCORED))
def test_oracle_scores_the_maximum_and_a_random_agent_chance(name, key):
    task = SCORED[name]
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


def test_context_decides_which_stream_is_reported(key):
    task = ContextDecision()
    params = bs.set(bs.set(task.task_params(), "coherences", jnp.full(3, 0.6)), "sigma", 0.0)
    batch = task.trials(params, key, 3000)
    obs = np.asarray(batch["inputs"])
    stimulus = slice(task.fixation_steps, task.fixation_steps + task.stimulus_steps)
    motion = obs[:, stimulus, 1:3].mean(axis=1).argmax(axis=1)
    colour = obs[:, stimulus, 3:5].mean(axis=1).argmax(axis=1)
    context = obs[:, 0, 5:7].argmax(axis=1)
    choice = np.asarray(batch["targets"])[:, -1] - 1
    reported = np.where(context == 0, motion, colour)
    assert (reported == choice).mean() == 1.0  # noiseless evidence: the cued stream decides
    ignored = np.where(context == 0, colour, motion)
    assert abs((ignored == choice).mean() - 0.5) < 0.05  # the other stream is irrelevant


def test_pavlovian_rewards_follow_the_cue_probability_whatever_the_agent_does(key):
    task = Pavlovian(n_cues=2)
    params = bs.set(task.task_params(), "p_reward", jnp.array([0.25, 0.9]))
    batch = task.trials(params, key, 4000)
    cue = np.asarray(batch["inputs"])[:, task.iti_steps].argmax(axis=1)
    rewarded = np.asarray(batch["rewards"])[:, task.reward_step]
    for c, p in ((0, 0.25), (1, 0.9)):
        n = (cue == c).sum()
        assert abs(rewarded[cue == c].mean() - p) < 4 * np.sqrt(p * (1 - p) / n)
    assert np.asarray(batch["rewards"]).sum() == rewarded.sum()  # only at the reward step
    net = closed_loop(task, oracle=False)
    params_net, state = net.init(key)
    params_net = bs.set(params_net, "task.p_reward", jnp.array([1.0, 1.0]))
    _, trace = net.run(params_net, state, 10 * task.trial_length, record=["task.reward"])
    assert np.asarray(trace["task.reward"]).sum() == 10  # one reward per trial, unconditionally


def test_variable_reward_magnitudes_follow_their_probabilities(key):
    task = VariableReward()
    batch = task.trials(task.task_params(), key, 20_000)
    rewards = np.asarray(batch["rewards"])
    assert np.all(np.delete(rewards, task.reward_step, axis=1) == 0)  # only at the reward step
    given = rewards[:, task.reward_step]
    magnitudes = np.asarray(bs.tasks.variable_reward.DABNEY_MAGNITUDES)
    assert np.all(np.isin(given, magnitudes.astype(np.float32)))
    p = np.asarray(bs.tasks.variable_reward.DABNEY_PROBABILITIES)
    p = p / p.sum()
    counts = np.array([(given == np.float32(m)).sum() for m in magnitudes])
    assert np.all(np.abs(counts / 20_000 - p) < 4 * np.sqrt(p * (1 - p) / 20_000))
    cue = np.asarray(batch["inputs"])[0, :, 0]
    assert cue.tolist() == [0] * task.iti_steps + [1] * task.cue_steps + [0] * (task.delay_steps - task.cue_steps + 1)
    probe = bs.set(bs.set(task.task_params(), "probabilities", jnp.eye(7)[3]), "magnitudes", jnp.full(7, 4.2))
    assert np.all(np.asarray(task.trials(probe, key, 50)["rewards"])[:, task.reward_step] == np.float32(4.2))


def agent_loop(task, n_actions, oracle):
    brain = bs.Connectome()
    brain.add("task", task)
    brain.add("policy", bs.SoftmaxPolicy(n_actions))
    if oracle:
        brain.connect("task.target", "policy.logits", kind="one_to_one", scale=50.0)
    brain.connect("policy.action", "task.action", kind="identity", delay=1)
    return bs.build(brain)


def test_bandit_episodes_redraw_correlated_arms(key):
    task = bs.tasks.Bandit(2, episode_steps=50, correlated=True)
    net = agent_loop(task, 2, oracle=True)
    params, state = net.init(key)
    final, trace = net.run(params, state, 5000, record=["task.target", "task.done", "task.reward"])
    assert np.asarray(trace["task.done"]).sum() == 100
    p = np.asarray(final["regions"]["task"]["p"])
    assert p.sum() == pytest.approx(1.0)
    best = np.asarray(trace["task.target"]).argmax(axis=1).reshape(100, 50)
    assert np.all(best == best[:, :1])  # one best arm per episode...
    assert 0.3 < best[:, 0].mean() < 0.7  # ...redrawn across episodes
    # an oracle earns E[max(p, 1 - p)] = 0.75 with p ~ U(0, 1); chance earns 0.5
    assert abs(np.asarray(trace["task.reward"]).mean() - 0.75) < 0.03


def test_two_step_transitions_and_agents(key):
    task = bs.tasks.TwoStep()
    for oracle in (False, True):
        net = agent_loop(task, 2, oracle)
        params, state = net.init(key)
        _, trace = net.run(params, state, 8000,
                           record=["task.obs", "task.common", "task.reward", "task.done"])
        obs = np.asarray(trace["task.obs"]).argmax(axis=1)
        assert np.all(obs[0::2] == 0) and np.all(obs[1::2] > 0)  # stages alternate
        common = np.asarray(trace["task.common"])[1::2]
        assert abs(common.mean() - 0.7) < 4 * np.sqrt(0.21 / len(common))
        rewards = np.asarray(trace["task.reward"])[np.asarray(trace["task.done"]) > 0]
        if oracle:
            assert rewards.mean() > 0.6  # a model-based oracle beats chance by far
        else:
            assert abs(rewards.mean() - 0.5) < 0.05  # chance: the mean reward probability


@pytest.mark.parametrize("world", [bs.tasks.GridWorld(), bs.tasks.LinearTrack(8)],
                         ids=["grid", "track"])
def test_navigation_oracle_takes_shortest_paths_and_random_walks_do_not(world, key):
    moves = len(world.moves)
    lengths = {}
    for oracle in (True, False):
        net = agent_loop(world, moves, oracle)
        params, state = net.init(key)
        _, trace = net.run(params, state, 3000, record=["task.done", "task.obs"], check_finite=True)
        done = np.flatnonzero(np.asarray(trace["task.done"]))
        lengths[oracle] = np.diff(np.concatenate([[-1], done]))[1:]  # steps per episode
    shortest = world.shortest_path(world._tables["start"])
    assert np.all(lengths[True] == shortest)
    assert lengths[False].mean() > 2 * shortest


def test_walls_block_moves(key):
    world = bs.tasks.GridWorld(layout=("#####", "#S.G#", "#####"))
    net = bs.build(bs.Connectome().add("task", world))
    params, state = net.init(key)
    north = np.zeros((3, 4), np.float32)
    north[:, 0] = 1.0  # keep walking into the northern wall
    _, trace = net.run(params, state, 3, inputs={"task.action": north}, record=["task.position"])
    np.testing.assert_array_equal(trace["task.position"], [0, 0, 0])


def test_td_on_a_grid_world_wires_done_to_dopamine_reset():
    """Arrival shows the new start at once, so for dopamine the done step is a first step
    (``reset``): then a forward walk on a track learns V = gamma^(steps to the goal - 1)."""
    from regions import Critic, Dopamine

    track = bs.tasks.LinearTrack(5)
    brain = bs.Connectome().add("task", track).add("policy", bs.SoftmaxPolicy(2))
    brain.add("critic", Critic(track.n_cells)).add("vta", Dopamine())
    brain.connect("task.obs", "policy.logits", weight=np.tile(np.float32([0.0, 30.0]), (track.n_cells, 1)))
    brain.connect("policy.action", "task.action", kind="identity", delay=1)
    brain.connect("task.obs", "critic.features", kind="identity")
    brain.connect("task.reward", "vta.reward", kind="identity")
    brain.connect("task.done", "vta.reset", kind="identity")
    brain.connect("critic.value", "vta.value", kind="identity")
    brain.connect("vta.rpe", "critic.rpe", kind="identity", delay=1)
    net = bs.build(brain)
    params, state = net.init(jax.random.key(0), overrides={"vta.gamma": 0.9, "critic.eta": 0.5})
    final, _ = net.run(params, state, 4000)
    value = np.asarray(final["regions"]["critic"]["w"])[:4]  # cells 0-3 (the goal is never shown)
    np.testing.assert_allclose(value, 0.9 ** np.arange(3, -1, -1), atol=1e-3)


def test_successors_and_cells_describe_the_layout():
    world = bs.tasks.GridWorld(layout=("#####", "#S.##", "#..G#", "#####"))
    assert world.cells == [(1, 1), (1, 2), (2, 1), (2, 2), (2, 3)]
    # north, east, south, west from each free cell; a wall keeps the walker in place
    np.testing.assert_array_equal(world.successors, [[0, 1, 2, 0], [1, 1, 3, 0], [0, 3, 2, 2],
                                                     [1, 4, 3, 2], [4, 4, 4, 3]])
    world.successors[0, 0] = 4  # a copy: the world's own table is not changed
    assert world.successors[0, 0] == 0


def reaching_loop(task, command):
    brain = bs.Connectome()
    brain.add("task", task)
    brain.connect(f"task.{command}", "task.action", kind="identity", delay=1)  # a scripted agent
    return bs.build(brain)


@pytest.mark.parametrize("perturbation", ["rotation", "force_field"])
def test_reaching_perturbation_schedule_and_compensation(perturbation, key):
    task = bs.tasks.Reaching(perturbation=perturbation,
                             schedule=(("baseline", 8), ("exposure", 8), ("washout", 8)))
    n = task.trial_length
    results = {}
    for command in ("target", "naive"):
        net = reaching_loop(task, command)
        params, state = net.init(key)
        _, trace = net.run(params, state, 24 * n, record=["task.reward", "task.perturbed", "task.cursor"])
        results[command] = np.asarray(trace["task.reward"])[n - 1::n]  # one per trial
        perturbed = np.asarray(trace["task.perturbed"])[n - 1::n]
    np.testing.assert_array_equal(perturbed, [0] * 8 + [1] * 8 + [0] * 8)
    assert results["target"].mean() == 1.0  # the compensating command always lands
    naive = results["naive"]
    assert naive[:8].mean() == 1.0 and naive[16:].mean() == 1.0  # no perturbation, no error
    assert naive[8:16].mean() == 0.0  # uncompensated, the perturbation makes it miss


def test_naive_reaches_under_rotation_err_by_the_rotation_angle(key):
    task = bs.tasks.Reaching(schedule=(("exposure", 4),))
    net = reaching_loop(task, "naive")
    params, state = net.init(key)
    params = bs.set(params, "task.rotation", 25.0)
    _, trace = net.run(params, state, 4 * task.trial_length, record=["task.cursor"])
    end = np.asarray(trace["task.cursor"])[task.trial_length - 1::task.trial_length]
    angles = np.degrees(np.arctan2(end[:, 1], end[:, 0]))
    off_grid = (angles - 25.0 + 22.5) % 45.0 - 22.5  # targets lie every 45 degrees
    np.testing.assert_allclose(off_grid, 0.0, atol=1e-3)  # each end: its target + 25 degrees
    np.testing.assert_allclose(np.linalg.norm(end, axis=1), 1.0, rtol=1e-5)


def test_line_drawing_targets_lead_straight_to_the_hand_goal(key):
    task = bs.tasks.Reaching()
    params = task.task_params()
    plain = task.trials(params, key, 32)
    rotated = task.trials(params, key, 32, perturbed=True)
    chex.assert_shape(plain["targets"], (32, task.trial_length, 2))
    end = np.asarray(plain["targets"])[:, -1]
    np.testing.assert_allclose(np.linalg.norm(end, axis=1), 1.0, rtol=1e-5)
    cue = np.asarray(plain["inputs"])[:, 0, :2]
    np.testing.assert_allclose(end, cue, atol=1e-6)  # unperturbed: the hand goes to the cue
    turned = np.degrees(np.arctan2(np.asarray(rotated["targets"])[:, -1, 1],
                                   np.asarray(rotated["targets"])[:, -1, 0]))
    cued = np.degrees(np.arctan2(cue[:, 1], cue[:, 0]))
    np.testing.assert_allclose(np.mod(cued - turned + 180, 360) - 180, 30.0, atol=1e-3)
    middle = np.asarray(plain["targets"])[:, task.cue_steps + task.move_steps // 2 - 1]
    np.testing.assert_allclose(middle, 0.5 * end, atol=1e-6)  # a straight line at constant speed


def test_context_switching_blocks_conflicting_maps_and_returns(key):
    task = bs.tasks.ContextSwitching(n_stimuli=2, block_trials=10, schedule=("pro", "anti", "pro"))
    params = {"reward": jnp.asarray(1.0)}
    pro = task.trials(params, key, 200, context="pro")
    anti = task.trials(params, key, 200, context="anti")
    np.testing.assert_array_equal(pro["inputs"][:, 0, 1:3], anti["inputs"][:, 0, 1:3])  # same stimuli
    assert np.all(np.asarray(pro["targets"])[:, -1] != np.asarray(anti["targets"])[:, -1])  # conflict
    n = task.trial_length
    for oracle in (True, False):
        net = agent_loop(task, task.n_actions, oracle)
        p, state = net.init(key)
        _, trace = net.run(p, state, 60 * n, record=["task.context", "task.reward", "task.scored"])
        context = np.asarray(trace["task.context"])[::n]
        blocks = [0] * 10 + [1] * 10 + [0] * 10  # pro, anti, back to pro, then again
        np.testing.assert_array_equal(context, blocks * 2)
        # rewards arrive one step after the scored response
        scored = np.concatenate([[0.0], np.asarray(trace["task.scored"])[:-1]]) > 0
        accuracy = np.asarray(trace["task.reward"])[scored].mean()
        if oracle:
            assert accuracy == 1.0
        else:  # random among 3 actions, one correct
            assert abs(accuracy - 1 / 3) < 4 * np.sqrt(2 / 9 / scored.sum())


ALL_TASKS = {
    **TASKS,
    "bandit": bs.tasks.Bandit(3, episode_steps=25),
    "two_step": bs.tasks.TwoStep(),
    "grid": bs.tasks.GridWorld(random_start=True),
    "track": bs.tasks.LinearTrack(6, random_start=True),
    "switching": bs.tasks.ContextSwitching(cued=False),
    "reaching": bs.tasks.Reaching(perturbation="force_field"),
}


def trivial_brain(task):
    """A small noisy rate network reading the task and acting on it."""
    brain = bs.Connectome()
    brain.add("task", task)
    brain.add("brain", bs.RatePopulation(n=8, noise=True))
    brain.connect("task.obs", "brain.input", delay=1)
    n_actions = task.inputs["action"].size
    if isinstance(task, bs.tasks.Reaching):  # continuous commands
        brain.connect("brain.rate", "task.action", delay=1, scale=0.1)
    else:
        brain.add("policy", bs.SoftmaxPolicy(n_actions))
        brain.connect("brain.rate", "policy.logits")
        brain.connect("policy.action", "task.action", kind="identity", delay=1)
    return bs.build(brain)


@pytest.mark.parametrize("name", list(ALL_TASKS))
def test_closed_loop_with_a_trivial_brain_stays_well_formed(name, key):
    task = ALL_TASKS[name]
    net = trivial_brain(task)
    params, state = net.init(key)
    record = [f"task.{port}" for port in ("obs", "reward", "done")]
    _, trace = net.run(params, state, 1000, record=record, check_finite=True)
    chex.assert_shape(trace["task.obs"], (1000, *task.outputs["obs"].shape))
    rewards, done = np.asarray(trace["task.reward"]), np.asarray(trace["task.done"])
    high = float(np.max(params["task"]["magnitudes"])) if "magnitudes" in params["task"] else 1.0
    assert np.all((rewards >= 0) & (rewards <= high)) and set(np.unique(done)) <= {0.0, 1.0}
    assert done.sum() >= 1  # episodes or trials do end


@pytest.mark.parametrize("name", list(ALL_TASKS))
def test_vmap_over_seeds_gives_different_closed_loop_episodes(name):
    net = trivial_brain(ALL_TASKS[name])

    def episode(key):
        params, state = net.init(key)
        trace = net.run(params, state, 200, record=["task.obs", "task.reward"])[1]
        return jnp.concatenate([trace["task.obs"].reshape(-1), trace["task.reward"]])

    flat = np.asarray(jax.vmap(episode)(jax.random.split(jax.random.key(0), 8)))
    assert len({row.tobytes() for row in flat}) == 8


@pytest.mark.parametrize("name", ["bandit", "two_step", "grid", "track"])
def test_rollout_trials_label_the_oracle_action(name, key):
    task = ALL_TASKS[name]
    params = task.init(key)[0]
    batch = task.trials(params, key, 4, 30)
    chex.assert_shape(batch["inputs"], (4, 30, *task.outputs["obs"].shape))
    chex.assert_shape([batch["targets"], batch["mask"]], (4, 30))
    chex.assert_type(batch["targets"], jnp.int32)
    assert batch["targets"].max() < task.inputs["action"].size


def test_bandit_reward_frequency_equals_the_arm_probability(key):
    task = bs.tasks.Bandit(3)
    net = bs.build(bs.Connectome().add("task", task))
    params, state = net.init(key)
    params = bs.set(params, "task.p", jnp.array([0.1, 0.6, 0.35]))
    steps = 6000
    for arm, p in enumerate((0.1, 0.6, 0.35)):
        pull = np.zeros((steps, 3), np.float32)
        pull[:, arm] = 1.0
        _, trace = net.run(params, state, steps, inputs={"task.action": pull}, record=["task.reward"])
        assert abs(np.asarray(trace["task.reward"]).mean() - p) < 4 * np.sqrt(p * (1 - p) / steps)
    random_agent = agent_loop(task, 3, oracle=False)
    p_net, s_net = random_agent.init(key)
    p_net = bs.set(p_net, "task.p", jnp.array([0.1, 0.6, 0.35]))
    _, trace = random_agent.run(p_net, s_net, steps, record=["task.reward"])
    assert abs(np.asarray(trace["task.reward"]).mean() - 0.35) < 0.03  # chance: the mean arm


def test_context_switching_supervised_shapes(key):
    task = bs.tasks.ContextSwitching(n_stimuli=3, cued=True)
    batch = task.trials({"reward": jnp.asarray(1.0)}, key, 8, context="reversal")
    chex.assert_shape(batch["inputs"], (8, task.trial_length, 1 + 3 + 3))
    chex.assert_shape([batch["targets"], batch["mask"]], (8, task.trial_length))
    chex.assert_type(batch["targets"], jnp.int32)
    stimulus = np.asarray(batch["inputs"])[:, 0, 1:4].argmax(axis=1)
    np.testing.assert_array_equal(np.asarray(batch["targets"])[:, -1], 1 + (stimulus + 1) % 3)


def test_rollout_labels_are_the_oracle_action_for_the_same_observation(key):
    world = bs.tasks.GridWorld()
    batch = world.trials(world.init(key)[0], key, 4, 40)
    cells = np.asarray(batch["inputs"]).argmax(axis=-1)
    np.testing.assert_array_equal(np.asarray(batch["targets"]), world._tables["best"][cells])


def test_trial_tasks_draw_their_first_trial_with_the_run_params(key):
    task = PerceptualDecision()
    net = closed_loop(task, oracle=False)
    params, state = net.init(key)
    params = bs.set(bs.set(params, "task.coherences", jnp.ones(5)), "task.sigma", 0.0)
    _, trace = net.run(params, state, task.trial_length, record=["task.obs"])
    evidence = np.asarray(trace["task.obs"])[task.fixation_steps, 1:]
    assert sorted(evidence.tolist()) == [0.0, 1.0]  # coherence 1, no noise, from the first trial on


def test_two_step_reversals_swap_the_second_stage_states(key):
    task = bs.tasks.TwoStep(reversals=True)
    net = agent_loop(task, 2, oracle=False)
    params, state = net.init(key)
    params = bs.set(params, "task.p_switch", 0.05)
    final, trace = net.run(params, state, 20_000, record=["task.obs", "task.reward", "task.done"])
    obs = np.asarray(trace["task.obs"]).argmax(axis=1)
    done = np.asarray(trace["task.done"]) > 0
    rewards = np.asarray(trace["task.reward"])[done]
    assert abs(rewards.mean() - 0.5) < 0.03  # random agent: on average half the time in the high state
    p = np.asarray(final["regions"]["task"]["p_reward"])
    assert np.allclose(sorted(p[:, 0]), [0.1, 0.9]) and np.all(p[:, 0] == p[:, 1])  # actions do not matter
    # the rewarded state changes now and then: over windows of 50 trials, B's win rate flips
    state_b = obs[1::2][: done.sum()] == 1
    won = rewards[: len(state_b)] > 0
    windows = [won[i:i + 50][state_b[i:i + 50]].mean() for i in range(0, len(won) - 50, 50)]
    assert min(windows) < 0.3 and max(windows) > 0.7


def test_two_step_waits_for_an_action(key):
    net = bs.build(bs.Connectome().add("task", bs.tasks.TwoStep()))
    params, state = net.init(key)
    _, trace = net.run(params, state, 5, record=["task.obs", "task.done", "task.reward"])
    assert np.all(np.asarray(trace["task.obs"]).argmax(axis=1) == 0)  # still in A
    assert np.asarray(trace["task.done"]).sum() == 0 and np.asarray(trace["task.reward"]).sum() == 0


def test_bandit_scores_each_pull_under_the_arms_it_was_chosen_for(key):
    task = bs.tasks.Bandit(2, episode_steps=1, correlated=True)  # new arms every step
    net = agent_loop(task, 2, oracle=True)
    params, state = net.init(key)
    _, trace = net.run(params, state, 5000, record=["task.reward"])
    assert abs(np.asarray(trace["task.reward"])[1:].mean() - 0.75) < 0.03


def test_line_drawing_is_the_task_of_the_cerebellar_models(key):
    """7 end points (the origin and 6 on a circle of radius 10), straight lines over 10 steps,
    feedback on every 2nd step, a distinct scalar cue per line on the first step only."""
    task = bs.tasks.LineDrawing()
    ends = task.end_points
    np.testing.assert_allclose(ends[0], [0.0, 0.0])
    np.testing.assert_allclose(np.linalg.norm(ends[1:], axis=1), 10.0, rtol=1e-6)
    angles = np.sort(np.mod(np.arctan2(ends[1:, 1], ends[1:, 0]), 2 * np.pi))
    np.testing.assert_allclose(np.diff(angles), np.pi / 3, atol=1e-5)
    assert len(set(task.cues.tolist())) == 7 and task.cues[0] == 0.0
    batch = task.trials(key, 64)
    chex.assert_shape(batch["inputs"], (64, 10, 1))
    chex.assert_shape(batch["targets"], (64, 10, 2))
    np.testing.assert_array_equal(batch["mask"][0], [1, 0, 1, 0, 1, 0, 1, 0, 1, 0])
    inputs, targets, index = map(np.asarray, (batch["inputs"], batch["targets"], batch["index"]))
    assert np.all(inputs[:, 1:] == 0) and len(set(index.tolist())) > 3
    np.testing.assert_allclose(inputs[:, 0, 0], task.cues[index])
    for trial, k in zip(targets, index):  # a straight line, evenly paced, origin to end point
        np.testing.assert_allclose(trial, np.linspace(0, 1, 10)[:, None] * ends[k], atol=1e-5)


@pytest.mark.parametrize("bad, message", [(dict(n_targets=1), "n_targets"), (dict(radius=0.0), "radius"),
                                          (dict(feedback_every=0), "feedback_every"),
                                          (dict(feedback_every=11), "exceeds steps")])
def test_line_drawing_refuses_a_bad_shape_by_name(bad, message):
    with pytest.raises(ValueError, match=message):
        bs.tasks.LineDrawing(**bad)


def test_line_drawing_trials_refuse_a_mismatched_index(key):
    with pytest.raises(ValueError, match="shape"):
        bs.tasks.LineDrawing().trials(key, 4, index=jnp.arange(3))
    with pytest.raises(ValueError, match="key"):
        bs.tasks.LineDrawing().trials(None, 4)


def test_a_visible_target_stays_on_screen_in_both_faces(key):
    task = bs.tasks.Reaching(target_visible=True)
    trials = np.asarray(task.trials(task.task_params(), key, 4)["inputs"])
    np.testing.assert_allclose(np.linalg.norm(trials[:, :, :2], axis=2), 1.0, rtol=1e-6)  # every step
    net = reaching_loop(task, "naive")
    params, state = net.init(key)
    _, trace = net.run(params, state, 3 * task.trial_length, record=["task.obs"])
    screen = np.asarray(trace["task.obs"]).reshape(3, task.trial_length, 3)
    np.testing.assert_allclose(np.linalg.norm(screen[:, :, :2], axis=2), 1.0, rtol=1e-6)
    assert np.all(screen[:, :, :2] == screen[:, :1, :2])  # the same target all trial
    hidden = np.asarray(bs.tasks.Reaching().trials(task.task_params(), key, 4)["inputs"])
    assert np.all(hidden[:, task.cue_steps:, :2] == 0)  # by default only the cue steps show it
