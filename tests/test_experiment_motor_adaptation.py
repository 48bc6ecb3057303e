"""motor-adaptation at reduced size (2 seeds): fast cerebellar learning, consolidation in cortex,
savings, and a lesioned cerebellum that leaves only slow adaptation."""

import json

import pytest

from brainsim import cli
from experiments import motor_adaptation as ma

SMALL = ["--seeds", "2"]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("motor_adaptation")
    assert cli.main(["run", "motor-adaptation", "--out", str(out), *SMALL]) == 0
    return out, json.loads((out / "metrics.json").read_text())


def test_every_criterion_is_met_at_reduced_size(small_run):
    _, metrics = small_run
    crit = metrics["criteria"]
    assert len(crit) == 5
    for name, c in crit.items():
        assert len(c["seeds"]) == 2, name
        assert c["pass"], (name, c)
    assert max(metrics["effects"]["baseline_error"]["seeds"]) < 0.02  # a skilled reacher at first


def test_the_probe_lesion_only_removes_the_cerebellar_part():
    """Before any exposure the cerebellum has learned nothing: lesioning its output changes no
    reach; after exposure it does, and cortex alone still compensates part of the rotation."""
    c = ma.Config(seeds=1, exposure=20, reexposure=20, probe_every=5)
    net = ma.bs.build(ma.connectome(c), dt=1.0)
    params, state = ma.skilled_start(c, 0, net)
    compensation = ma._probe_fn(net, ma.task_of(c))
    intact, _ = compensation(params, state, c.rotation)
    cut, _ = compensation(ma.lesioned(params), state, c.rotation)
    assert abs(intact) < 1.0 and intact == cut  # a straight reach, nothing to remove
    run = ma.condition(c, 0, "intact", net)
    share = run["probes"]["lesioned"] / run["probes"]["intact"]
    assert run["probes"]["intact"][-1] > 15.0 and 0.0 < share[-1] < 1.0
    assert share[-1] > 2 * share[0]  # cortex takes a growing share


def test_figures(small_run):
    out, metrics = small_run
    for name in ("learning_curves", "cortex_share", "reaches", "connectome"):
        assert (out / f"{name}.png").stat().st_size > 10_000, name
    assert metrics["seeds"] == [0, 1]


@pytest.mark.parametrize("bad, message", [(dict(exposure=10), "at least 20"), (dict(probe_every=7), "divide"),
                                          (dict(eta_cb=2.5), "eta_cb"), (dict(forget=1.0), "forget")])
def test_a_bad_config_is_refused_by_name(bad, message):
    with pytest.raises(ValueError, match=message):
        ma.Config(**bad)
