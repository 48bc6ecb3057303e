"""The ready-made loops run 10,000 steps, finite and alive."""

import numpy as np
import pytest

import brainsim as bs
from regions.loops import (
    cerebro_cerebellar,
    cortico_basal_ganglia_thalamic,
    default_drive,
    default_reward,
)

# the main output of each region, and the value it saturates at
WATCHED = {
    cerebro_cerebellar: {"ctx.rate": 1.0, "pons.rate": None, "cb.dcn": None, "th.rate": None},
    cortico_basal_ganglia_thalamic: {"ctx.rate": 1.0, "bg.gpi": 1.0, "th.rate": None,
                                     "vta.rpe": None},
}


@pytest.mark.parametrize("builder", list(WATCHED), ids=lambda b: b.__name__)
def test_loop_stays_finite_and_non_trivial(builder, key):
    brain = builder()
    assert isinstance(brain, bs.Connectome)  # an ordinary connectome, open to extension
    net = bs.build(brain, dt=1.0)
    params, state = net.init(key)
    steps = 10_000
    watched = WATCHED[builder]
    inputs = {"ctx.input": default_drive(64, steps, 1.0)}
    if "vta.reward" in net.input_ports:
        inputs["vta.reward"] = default_reward(steps, 1.0)
    _, trace = net.run(params, state, steps, inputs=inputs, record=list(watched), every=5,
                       chunk=2_500, check_finite=True)
    for path, ceiling in watched.items():
        late = np.asarray(trace[path])[-600:]  # the last 3 s
        assert late.std(axis=0).mean() > 1e-3, f"{path} died out"
        if ceiling is not None:
            assert np.mean(np.abs(late) > 0.99 * ceiling) < 0.5, f"{path} saturated"


def test_loops_can_be_extended(key):
    brain = cortico_basal_ganglia_thalamic()
    brain.add("m1", bs.RatePopulation(n=16))
    brain.connect("th.rate", "m1.input", ms=2.0)
    net = bs.build(brain)
    params, state = net.init(key)
    _, trace = net.run(params, state, 50, record=["m1.rate"])
    assert trace["m1.rate"].shape == (50, 16)


def test_the_cerebellum_learns_its_forward_model_of_cortex_in_the_loop(key):
    net = bs.build(cerebro_cerebellar(), dt=1.0)
    params, state = net.init(key)
    steps = 10_000
    _, trace = net.run(params, state, steps, inputs={"ctx.input": default_drive(64, steps, 1.0)},
                       record=["io.error"], every=5)
    error = np.abs(np.asarray(trace["io.error"])).mean(axis=1)
    assert error[-200:].mean() < 0.5 * error[:200].mean()  # the prediction error falls
    frozen = bs.set(params, "cb.eta", 0.0)  # control: no climbing-fibre plasticity
    _, trace = net.run(frozen, state, steps, inputs={"ctx.input": default_drive(64, steps, 1.0)},
                       record=["io.error"], every=5)
    control = np.abs(np.asarray(trace["io.error"])).mean(axis=1)
    assert error[-200:].mean() < 0.5 * control[-200:].mean()
