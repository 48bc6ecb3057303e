"""reward-hebbian at reduced size (1 seed, 1,600 trials), and its analysis helpers."""

import json
import shutil

import numpy as np
import pytest

from brainsim import cli
from experiments import reward_hebbian as rh

SMALL = ["--seeds", "1", "--trials", "1600", "--decoder-trials", "20"]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("reward_hebbian")
    assert cli.main(["run", "reward-hebbian", "--out", str(out), *SMALL]) == 0
    return out, json.loads((out / "metrics.json").read_text())


def test_a_scalar_error_teaches_delayed_non_match_and_shuffled_rewards_do_not(small_run):
    out, metrics = small_run
    crit = metrics["criteria"]
    assert crit["accuracy_last_trials_within_budget"]["pass"], crit["accuracy_last_trials_within_budget"]
    assert crit["decoder_stimulus_1_from_delay_rates"]["pass"]
    assert crit["control_shuffled_rewards_accuracy_minus_chance"]["pass"]
    effects = metrics["effects"]
    assert effects["accuracy_last_trials"]["mean"] - effects["accuracy_last_trials_shuffled"]["mean"] > 0.25
    assert effects["accuracy_new_kicked_trials"]["mean"] >= 0.9  # new trials, frozen weights
    assert effects["trials_to_90_percent"]["0"] is not None
    for name in ("reward_hebbian", "connectome"):
        assert (out / f"{name}.png").stat().st_size > 10_000, name


def test_an_interrupted_run_resumes_its_trainings(small_run, tmp_path):
    out, metrics = small_run
    again = tmp_path / "again"
    checkpoints = out / "checkpoints"
    assert len(list(checkpoints.iterdir())) == 1  # one folder per config
    shutil.copytree(checkpoints, again / "checkpoints")
    assert cli.main(["run", "reward-hebbian", "--out", str(again), *SMALL]) == 0
    resumed = json.loads((again / "metrics.json").read_text())
    assert resumed["criteria"] == metrics["criteria"]
    assert resumed["wall_time_s"] < 0.7 * metrics["wall_time_s"]


def test_the_trials_are_the_four_stimulus_pairs_answered_by_non_match():
    c = rh.Config()
    batch = rh.trials(c)
    inputs = np.asarray(batch["inputs"]["inp.input"])
    assert inputs.shape == (4, 1000, 2)
    np.testing.assert_array_equal(inputs[:, 100].argmax(-1), [0, 0, 1, 1])  # stimulus 1: A A B B
    np.testing.assert_array_equal(inputs[:, 500].argmax(-1), [0, 1, 0, 1])  # stimulus 2: A B A B
    assert not inputs[:, 300].any() and not inputs[:, 700].any()  # the delay and after
    np.testing.assert_allclose(np.asarray(batch["targets"])[:, -1, 0], [-0.98, 0.98, 0.98, -0.98])
    assert np.asarray(batch["mask"]).sum(1).tolist() == [200] * 4


def test_the_decoder_reads_a_planted_code_and_fails_on_noise():
    c = rh.Config(n=10, decoder_trials=20)
    rng = np.random.default_rng(0)
    rates = rng.normal(size=(4, 20, c.trial_ms, 10)) * 0.1
    assert rh.decode_first_stimulus(c, rates) < 0.8
    rates[2:, :, :, 3] += 1.0  # stimulus 1 = B raises unit 3
    assert rh.decode_first_stimulus(c, rates) == 1.0


@pytest.mark.parametrize("bad", [dict(trials=1001), dict(window=5000), dict(delay_ms=900), dict(seeds=0)])
def test_a_bad_config_is_refused(bad):
    with pytest.raises(ValueError, match="reward-hebbian"):
        rh.Config(**bad)
