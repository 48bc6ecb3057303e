"""cerebellar-decoupling at reduced size: the cerebellum rescues truncated BPTT (criterion a), and
the full form's controls and figures (full BPTT, ablation) run end to end."""

import json

import numpy as np
import pytest

from brainsim import cli
from experiments import cerebellar_decoupling as cd

QUICK = ["--quick", "--quick-epochs", "30", "--seeds", "2"]
TINY_FULL = ["--seeds", "1", "--epochs", "4", "--ablate-epoch", "2", "--final-epochs", "2",
             "--updates-per-epoch", "8", "--quick-epochs", "4"]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cerebellar_quick")
    assert cli.main(["run", "cerebellar-decoupling", "--out", str(out), *QUICK]) == 0
    return out, json.loads((out / "metrics.json").read_text())


def test_the_cerebellum_helps_truncated_bptt_at_reduced_size(quick_run):
    out, metrics = quick_run
    crit = metrics["criteria"]
    assert set(crit) == {"auc_lower_with_cerebellum_fraction_of_seeds", "final_error_ratio_window_1"}
    for name, c in crit.items():
        assert len(c["seeds"]) == 2, name
        assert c["pass"], (name, c)
    assert metrics["quick"] and metrics["seeds"] == [0, 1]
    curves = metrics["curves"]
    for seed in ("0", "1"):  # paired: both conditions start from the same cortex, and both learn
        helped, alone = np.asarray(curves["cerebellum"][seed]), np.asarray(curves["cortex only"][seed])
        assert helped[0] == alone[0] and len(helped) == 31
        assert helped[-1] < 0.2 * helped[0] and alone[-1] < 0.5 * alone[0]
    for name in ("learning_curves", "trajectories", "connectome"):
        assert (out / f"{name}.png").stat().st_size > 10_000, name


def test_the_full_form_runs_every_condition_and_draws_every_figure(tmp_path):
    assert cli.main(["run", "cerebellar-decoupling", "--out", str(tmp_path), *TINY_FULL]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    crit = metrics["criteria"]
    assert len(crit) == 7 and "ablation_endpoint_error_ratio" in crit
    assert "control_one_cut_window_5_final_ratio_at_most" in crit
    assert "by construction" in crit["control_full_bptt_final_ratio_at_most"]["note"]
    # with window = trial length there is no cut, so the cerebellum has nothing to act on: the
    # run equals cortex only exactly, whatever the size
    assert crit["control_full_bptt_final_ratio_at_least"]["value"] == 1.0
    helped = metrics["curves"]["cerebellum, full BPTT"]["0"]
    assert helped == metrics["curves"]["cortex only, full BPTT"]["0"]
    # ablated and intact share the run up to the lesion, then part
    ablated, intact = (np.asarray(metrics["curves"][n]["0"]) for n in ("ablated", "cerebellum"))
    np.testing.assert_array_equal(ablated[:3], intact[:3])
    assert not np.array_equal(ablated, intact)
    for name in ("learning_curves", "trajectories", "benefit_by_window", "connectome"):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000, name


@pytest.mark.parametrize("bad, message", [(dict(window=3), "divide"), (dict(seeds=0), "seeds"),
                                          (dict(ablate_epoch=100), "ablate_epoch"), (dict(lr=0.0), "lr")])
def test_a_bad_config_is_refused_by_name(bad, message):
    with pytest.raises(ValueError, match=message):
        cd.Config(**bad)
