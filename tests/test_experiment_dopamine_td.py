"""dopamine-td at reduced size (2 seeds, 3,000 trials): the burst moves to the cue, tracks p, dips at omission."""

import json

import numpy as np
import pytest

from brainsim import cli
from experiments import dopamine_td

SMALL = ["--seeds", "2", "--trials", "2000", "--fine-trials", "1000"]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("dopamine_td")
    assert cli.main(["run", "dopamine-td", "--out", str(out), *SMALL]) == 0
    return out, json.loads((out / "metrics.json").read_text())


def test_every_criterion_is_met_at_reduced_size(small_run, capsys):
    _, metrics = small_run
    crit = metrics["criteria"]
    assert len(crit) == 10
    for name, c in crit.items():
        assert set(c) == {"value", "target", "pass", "seeds", "spread", "every_seed"} and len(c["seeds"]) == 2, name
        assert c["pass"], (name, c)


def test_learned_responses_match_the_closed_form_of_td():
    """After training, V = gamma^k p k steps before the reward: the cue evokes gamma^D p and a
    delivered reward 1 - p (computed here from the config, not by the experiment)."""
    c = dopamine_td.Config(seeds=1, trials=2000, fine_trials=1000)
    nets = {"basis": dopamine_td.bs.build(dopamine_td.connectome(c), dt=c.dt)}
    run = dopamine_td.condition(c, 0, "td", nets)
    task = dopamine_td.task_of(c)
    p = np.asarray(dopamine_td.P_REWARD)
    cue, reward = run["delivered"][:, task.iti_steps], run["delivered"][:, task.reward_step]
    np.testing.assert_allclose(cue[-1], c.gamma ** c.delay_steps, atol=1e-3)  # p = 1: deterministic
    np.testing.assert_allclose(cue, c.gamma ** c.delay_steps * p, atol=0.1)
    np.testing.assert_allclose(reward, 1 - p, atol=0.1)
    np.testing.assert_allclose(run["omitted"][:, task.reward_step], -p, atol=0.1)


def test_figures_and_the_printed_table(small_run):
    out, metrics = small_run
    for name in ("rpe_raster", "learning_curves", "reward_probability", "connectome"):
        assert (out / f"{name}.png").stat().st_size > 10_000, name
    assert metrics["seeds"] == [0, 1] and metrics["wall_time_s"] > 0
    table = dopamine_td.criteria.table(metrics["criteria"])
    assert "10 of 10 criteria met" in table and "cue_rpe_after_training" in table


@pytest.mark.parametrize("bad, message", [(dict(eta=0.05), "eta dt"), (dict(seeds=0), "seeds"),
                                          (dict(gamma=1.5), "gamma")])
def test_a_bad_config_is_refused_by_name(bad, message):
    with pytest.raises(ValueError, match=message):
        dopamine_td.Config(**bad)
