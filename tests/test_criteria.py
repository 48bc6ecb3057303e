"""brainsim.criteria: the one form of every experiment's criteria (shared/EXPERIMENTS.md)."""

import math

import numpy as np
import pytest

from brainsim import criteria


@pytest.mark.parametrize("values, target, passed", [
    ([0.9, 0.8, 1.0], ">= 0.9", True), ([0.9, 0.8, 0.99], ">= 0.9", False),
    ([0.05], "< 0.1", True), (0.1, "< 0.1", False), (0.1, "<= 0.1", True),
    ([-1.0, -0.8], "<= -0.7", True), ([0.0, 0.0], "> 0", False),
])
def test_pass_compares_the_mean_over_seeds_with_the_target(values, target, passed):
    c = criteria.criterion(values, target)
    assert c["pass"] is passed and c["target"] == target
    assert c["value"] == pytest.approx(np.mean(values))
    if np.size(values) > 1:
        assert c["seeds"] == list(values) and c["spread"] == pytest.approx(np.std(values, ddof=1))


def test_every_seed_needs_each_seed_to_meet_the_target():
    assert criteria.criterion([0.5, 0.5, -0.1], "> 0")["pass"]  # the mean passes
    strict = criteria.criterion([0.5, 0.5, -0.1], "> 0", every_seed=True)
    assert not strict["pass"] and strict["every_seed"] and strict["value"] == pytest.approx(0.3)
    assert criteria.criterion([0.5, 0.1], "> 0", every_seed=True)["pass"]


def test_nan_fails_every_target():
    assert not criteria.criterion([1.0, float("nan")], ">= 0")["pass"]
    assert not criteria.criterion([float("nan")], "< 1")["pass"]


@pytest.mark.parametrize("target", ["0.8", "=> 0.8", ">= x", "", None, 0.8, "== 1", ">= nan", "< inf"])
def test_a_malformed_target_is_refused(target):
    with pytest.raises(ValueError, match="target"):
        criteria.criterion([1.0], target)


def test_effect_interval_is_the_t_interval():
    values = [1.0, 2.0, 3.0, 4.0, 5.0]
    e = criteria.effect(values)
    half = 2.776 * np.std(values, ddof=1) / math.sqrt(5)  # t(0.975, 4 dof)
    assert e["mean"] == 3.0 and e["ci95"] == pytest.approx([3.0 - half, 3.0 + half])


def test_table_lists_each_criterion_and_the_count_met():
    crit = {"a": criteria.criterion([1.0, 1.2], ">= 1"), "b": criteria.criterion(0.5, "< 0.1")}
    lines = criteria.table(crit).splitlines()
    assert lines[1].split()[0] == "a" and lines[1].endswith("yes") and lines[2].endswith("NO")
    assert lines[-1] == "1 of 2 criteria met"


def test_paired_runs_runs_every_condition_on_every_seed_in_order():
    calls = []

    def run(seed, name):
        calls.append((seed, name))
        return f"{name}@{seed}"

    results = criteria.paired_runs([3, 4], ("a", "b"), run, "demo")
    assert calls == [(3, "a"), (3, "b"), (4, "a"), (4, "b")]  # a seed's conditions one after another
    assert results == {3: {"a": "a@3", "b": "b@3"}, 4: {"a": "a@4", "b": "b@4"}}
    with pytest.raises(ValueError, match="demo: paired runs need"):
        criteria.paired_runs([], ("a",), run, "demo")
