"""ach-adaptive at full length with 2 seeds (it takes seconds), and its helpers."""

import json

import numpy as np
import pytest

from brainsim import cli
from experiments import ach_adaptive as aa


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ach_adaptive")
    assert cli.main(["run", "ach-adaptive", "--out", str(out), "--seeds", "2"]) == 0
    return out, json.loads((out / "metrics.json").read_text())


def test_acetylcholine_speeds_relearning_and_recovery_and_its_lesion_does_not(small_run):
    out, metrics = small_run
    for name, value in metrics["criteria"].items():
        assert value["pass"], (name, value)
    trials = metrics["effects"]["trials_to_criterion"]
    for seed in ("0", "1"):  # every learner reaches criterion after every change
        assert max(trials["ACh"][seed]) < 3000
    for name in ("ach_adaptive", "connectome"):
        assert (out / f"{name}.png").stat().st_size > 10_000, name


def test_the_world_changes_its_map_at_each_block_and_keeps_it_for_the_kick():
    c = aa.Config(block_trials=100, recovery_trials=50, blocks=3)
    w = aa.world(c, 0)
    maps = np.asarray(w["maps"])  # one per chunk of 10 trials
    assert maps.shape == (35, 20, 4) and aa.events(c) == [100, 200, 300]
    assert np.all(maps[0] == maps[9]) and not np.allclose(maps[9], maps[10])
    assert np.all(maps[29] == maps[34])  # the recovery keeps the last block's map
    kicked = np.asarray(w["kick"]) != 0
    assert 0.05 < kicked.mean() < 0.4  # about 20% of the synapses
    residual = np.asarray(w["y"]) - np.einsum("ti,tio->to", np.asarray(w["x"]), np.repeat(maps, 10, 0))
    assert abs(residual.std() - c.noise) < 0.05


def test_trials_to_criterion_counts_from_each_event():
    c = aa.Config(block_trials=100, recovery_trials=50, blocks=2)
    error = np.ones(25)
    error[3:10] = 0.001  # block 1 reached at the 4th reading
    error[18] = 0.001  # block 2 at its 9th; the recovery never
    np.testing.assert_array_equal(aa.trials_to_criterion(c, error), [40, 90, 50])


@pytest.mark.parametrize("bad", [dict(blocks=1), dict(block_trials=105), dict(perturbed_fraction=0.0),
                                 dict(fixed_rates=()), dict(seeds=0)])
def test_a_bad_config_is_refused(bad):
    with pytest.raises(ValueError, match="ach-adaptive"):
        aa.Config(**bad)
