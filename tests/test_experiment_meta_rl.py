"""meta-rl at reduced size (1 seed, 2,000 updates per task family), and its analysis helpers."""

import json

import numpy as np
import pytest

from brainsim import cli
from experiments import meta_rl

SMALL = ["--seeds", "1", "--updates", "2000", "--eval-episodes", "200", "--bootstrap", "500"]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("meta_rl")
    assert cli.main(["run", "meta-rl", "--out", str(out), *SMALL]) == 0
    return out, json.loads((out / "metrics.json").read_text())


def test_frozen_network_learns_new_bandits_and_behaves_model_based(small_run):
    out, metrics = small_run
    crit = metrics["criteria"]
    assert crit["p_best_arm_trials_10_100_frozen"]["pass"]
    assert crit["control_untrained_p_best_minus_chance"]["pass"]
    assert crit["two_step_interaction_ci95_low"]["pass"]
    # regret <= 1.2x Thompson needs the full training (4,000 updates; reported by the CLI run);
    # at this size the network still pays for its exploration, but far less than chance
    # a random agent's expected regret: 100 pulls x E|p1 - p2| / 2 = 100 x (1/2) / 2 = 25
    assert metrics["effects"]["regret"]["mean"] < 0.5 * 25
    stay = metrics["effects"]["stay_probabilities"]
    assert stay["rewarded, common"]["mean"] > stay["rewarded, rare"]["mean"]  # the model-based pattern
    assert stay["unrewarded, rare"]["mean"] > stay["unrewarded, common"]["mean"]
    for name in ("meta_rl", "connectome"):
        assert (out / f"{name}.png").stat().st_size > 10_000, name


def test_thompson_regret_is_small_on_easy_arms_and_grows_with_difficulty():
    rng = np.random.default_rng(0)
    easy = meta_rl.thompson_regret(np.tile([[0.95, 0.05]], (2000, 1)), 100, rng)
    uniform = rng.random(2000)
    mixed = meta_rl.thompson_regret(np.stack([uniform, 1 - uniform], 1), 100, rng)
    random_agent = 100 * np.mean(np.abs(2 * uniform - 1)) / 2  # picks the worse arm half the time
    assert easy.mean() < 3.0 and mixed.mean() < 0.3 * random_agent


def test_stay_table_reads_a_scripted_two_step_record():
    """Two trials per episode laid out as TwoStep emits them: A at even steps, the transition
    on the step after the first choice, the reward when A shows again."""
    steps = 5
    obs = np.zeros((1, steps, 3))
    obs[0, [0, 2, 4], 0] = 1
    obs[0, [1, 3], 1] = 1
    action = np.zeros((1, steps, 2))
    action[0, [0, 2, 4], [0, 0, 1]] = 1  # first choices: 0, then 0 (stay), then 1 (switch)
    action[0, [1, 3], 0] = 1
    common = np.zeros((1, steps))
    common[0, 1] = 1  # trial 1 common, trial 2 rare
    reward = np.zeros((1, steps))
    reward[0, 2] = 1  # trial 1 rewarded, trial 2 not
    rows = meta_rl.stay_table(obs, action, common, reward)[0]
    np.testing.assert_array_equal(rows, [[True, True, True], [False, False, False]])
    value, cells = meta_rl.interaction([rows])
    assert cells["rewarded", "common"] == 1.0 and cells["unrewarded", "rare"] == 0.0
    assert np.isnan(value)  # two of the four cells are empty


@pytest.mark.parametrize("bad", [dict(trials=5), dict(updates=0), dict(gamma=1.0)])
def test_a_bad_config_is_refused(bad):
    with pytest.raises(ValueError, match="meta-rl"):
        meta_rl.Config(**bad)
