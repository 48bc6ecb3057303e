"""context-switching at reduced size (2 seeds): thalamic patterns protect a context from the other's
learning, the basal ganglia bring the old pattern back on a return, and cutting their learning
abolishes it."""

import json

import numpy as np
import pytest

from brainsim import cli
from experiments import context_switching as cs

SMALL = ["--seeds", "2"]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("context_switching")
    assert cli.main(["run", "context-switching", "--out", str(out), *SMALL]) == 0
    return out, json.loads((out / "metrics.json").read_text())


def test_every_criterion_is_met_at_reduced_size(small_run):
    _, metrics = small_run
    crit = metrics["criteria"]
    assert len(crit) == 5
    for name, c in crit.items():
        assert len(c["seeds"]) == 2, name
        assert c["pass"], (name, c)
    effects = metrics["effects"]
    # both the patterned and the plain cortex learned A before B came; only the plain one lost it
    assert min(effects["a_after_a"]["seeds"]) > 0.9 and min(effects["control_a_after_a"]["seeds"]) > 0.9
    assert min(effects["a_pattern_gate"]["seeds"]) > 0.8  # the probe of A did run under A's pattern
    assert min(effects["final_block_accuracy"]["seeds"]) > 0.9
    assert min(effects["control_final_block_accuracy"]["seeds"]) > 0.85


def test_the_basal_ganglia_switch_patterns_with_the_context(small_run):
    """Each block is run under one pattern, the two contexts under different ones, A's again on
    the return: read from the recorded thalamic gates."""
    out, _ = small_run
    record = np.load(out / "accuracy.npz")
    c = cs.Config()
    for seed in (0, 1):
        gates = record[f"thalamic control/seed{seed}/gates"].reshape(c.blocks, c.block_trials, 2)
        chosen = gates[:, 50:].mean(1).argmax(-1)  # after the switch has settled
        assert chosen[0] == chosen[2] != chosen[1] == chosen[3], (seed, chosen)
        assert np.all(gates[:, 50:].max(-1).mean(-1) > 0.8)  # one pattern fully open, not a blend
        lesioned = record[f"selection lesioned/seed{seed}/gates"].reshape(c.blocks, c.block_trials, 2)
        assert len(set(lesioned[:, 50:].mean(1).argmax(-1))) == 1  # the first pattern stays


def test_trials_to_recover_reads_the_first_window_above_the_level():
    accuracy = np.r_[np.zeros(7), np.full(10, 0.95)]
    assert cs.trials_to_recover(accuracy) == 12  # trials 8-12 are the first window of 5 above 0.9
    assert cs.trials_to_recover(np.zeros(30)) == 31


def test_figures(small_run):
    out, metrics = small_run
    for name in ("learning_curves", "selection", "recovery", "connectome"):
        assert (out / f"{name}.png").stat().st_size > 10_000, name
    assert metrics["seeds"] == [0, 1]


@pytest.mark.parametrize("bad, message", [(dict(blocks=2), "blocks"), (dict(block_trials=40), "block_trials"),
                                          (dict(w_min=0.95), "w_min"), (dict(active_fraction=0.0),
                                                                        "active_fraction"),
                                          (dict(lr=-1.0), "lr")])
def test_a_bad_config_is_refused_by_name(bad, message):
    with pytest.raises(ValueError, match=message):
        cs.Config(**bad)
