"""One run plan: the same checks for run, sweep and step, and a dt that must fit the delays."""

import jax.numpy as jnp
import numpy as np
import pytest

import brainsim as bs


def looped(**delay):
    brain = bs.Connectome().add("a", bs.RatePopulation(n=3))
    brain.connect("a.rate", "a.input", **delay)
    return bs.build(brain, dt=0.5)


@pytest.mark.parametrize("delay", [dict(ms=2.0), dict(lag_ms=1.0), dict(ms=np.full((3, 3), 2.0))])
def test_a_dt_that_no_longer_fits_delays_in_ms_is_refused(key, delay):
    net = looped(**delay)
    params, state = net.init(key)
    other = bs.set(params, "dt", 0.25)
    for call in (lambda: net.run(other, state, 4), lambda: net.step(other, state),
                 lambda: bs.sweep(net, 4, grid={"dt": [0.5, 0.25]}),
                 lambda: bs.sweep(net, 4, params=other, state=state)):
        with pytest.raises(bs.RunInputError, match=r"differs from the dt = 0.5 ms of bs.build.*a.rate->a.input"):
            call()
    net.run(params, state, 4)  # the build's own dt is fine


def test_a_new_dt_is_fine_when_delays_are_in_steps(key):
    net = looped(delay=2)
    params, state = net.init(key)
    drive = {"a.input": jnp.ones((8, 3))}
    a = net.run(bs.set(params, "dt", 0.25), state, 8, inputs=drive, record=["a.rate"])[1]["a.rate"]
    b = net.run(params, state, 8, inputs=drive, record=["a.rate"])[1]["a.rate"]
    assert not np.allclose(a, b)


def test_step_and_run_check_inputs_alike(key):
    net = looped(delay=1)
    params, state = net.init(key)
    for bad, message in (({"a.rate": jnp.zeros(3)}, "that is an output port"),
                         ({"a.input": "hello"}, "must be an array of real numbers"),
                         ([1, 2], "inputs must be a dict")):
        with pytest.raises(bs.RunInputError, match=message):
            net.step(params, state, bad)
        run_bad = {k: (jnp.zeros((2, 3)) if k == "a.rate" else v) for k, v in bad.items()} \
            if isinstance(bad, dict) else bad
        with pytest.raises(bs.RunInputError, match=message):
            net.run(params, state, 2, inputs=run_bad)
    with pytest.raises(bs.RunInputError, match="goes to run"):
        net.step(params, state, {"a.input": lambda t: jnp.zeros(3)})
    state2, signals = net.step(params, state, {"a.input": np.ones(3, np.float64)})
    np.testing.assert_allclose(signals["a.input"], net.run(params, state, 1, inputs={"a.input": jnp.ones((1, 3))},
                                                           record=["a.input"])[1]["a.input"][0], rtol=1e-6)
