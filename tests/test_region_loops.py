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


def test_the_thalamic_context_loop_imposes_the_selected_pattern_on_cortex(key):
    """The channel with the larger striatal weight opens its relay block, and cortex receives that
    block's mask as its gain (input and recurrence of the other units silenced); with W_g cut, gain 1."""
    from regions import control_patterns, thalamic_context_loop

    task = bs.tasks.ContextSwitching(n_stimuli=2, stimulus_steps=4, cued=False)
    net = bs.build(thalamic_context_loop(task, n_cortex=16, channels=2, per_channel=3), dt=10.0)
    masks = np.random.default_rng(0).integers(0, 2, (2, 16)).astype(np.float32)
    params, state = net.init(key, overrides={"tonic.bias": 1.0, "tonic.tau": 10.0, "th.tau": 10.0,
                                             "vta.gamma": 1.0, "noise.sigma": 0.0, "bg.eta": 0.0,
                                             "th.W_g": control_patterns(masks, 3)})
    regions = dict(state["regions"])
    regions["bg"] = {**regions["bg"], "W_cs": np.array([[0.6, 0.9]], np.float32)}
    state = {**state, "regions": regions}
    _, trace = net.run(params, state, 40, record=["ctx.gain", "ctx.rate"])
    np.testing.assert_allclose(np.asarray(trace["ctx.gain"])[-1], masks[1], atol=0.15)
    rates = np.abs(np.asarray(trace["ctx.rate"])[-5:])
    assert np.all(rates[:, masks[1] == 0] < 0.05) and rates[:, masks[1] == 1].max() > 0.05
    _, plain = net.run(bs.set(params, "th.W_g", 0.0), state, 40, record=["ctx.gain"])
    np.testing.assert_allclose(np.asarray(plain["ctx.gain"])[1:], 1.0)
