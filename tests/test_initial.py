"""Where a run starts: state built from params, region state by path, delay-line history."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainsim as bs


def lif(**kwargs):
    return bs.build(bs.Connectome().add("n", bs.LIFPopulation(n=5, **kwargs)), dt=0.1)


def test_overrides_reach_the_state_built_from_params(key):
    params, state = lif().init(key, overrides={"n.E_L": -70.0})
    np.testing.assert_array_equal(state["regions"]["n"]["V"], -70.0)
    params, state = lif(random_init=True).init(key, overrides={"n.V_reset": -80.0, "n.V_th": -75.0})
    v = np.asarray(state["regions"]["n"]["V"])
    assert np.all((v >= -80.0) & (v <= -75.0)) and np.ptp(v) > 0


def test_region_state_is_set_by_path(key):
    net = lif()
    v0 = jnp.linspace(-65.0, -52.0, 5)
    _, state = net.init(key, state={"n.V": v0, "n.I_syn": 2.0})
    np.testing.assert_allclose(state["regions"]["n"]["V"], v0)
    np.testing.assert_array_equal(state["regions"]["n"]["I_syn"], 2.0)


@pytest.mark.parametrize(
    "kwargs, message",
    [(dict(state={"n.W": 1.0}), r"no 'W' there \(found \['I_syn', 'V'"),
     (dict(state={"m.V": 1.0}), "must be 'region.leaf'"),
     (dict(state={"n.V": np.zeros(3)}), r"shape \(3,\) does not fit shape \(5,\)"),
     (dict(state={"n.V": "cold"}), "needs real numbers"),
     (dict(history={"n.spike": 0.0}), "no delayed projection reads")],
)
def test_bad_initial_values_are_named(key, kwargs, message):
    with pytest.raises(bs.RunInputError, match=message):
        lif().init(key, **kwargs)


def delayed_copy(delay):
    brain = bs.Connectome()
    brain.add("a", bs.RatePopulation(n=2, activation="linear"))
    brain.add("b", bs.RatePopulation(n=2, activation="linear"))
    brain.connect("a.rate", "b.input", kind="identity", delay=delay)
    return bs.build(brain)


def test_delay_line_history_is_what_the_first_steps_read(key):
    net = delayed_copy(3)
    past = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]], np.float32)  # steps -3, -2, -1
    params, state = net.init(key, history={"a.rate": past})
    _, trace = net.run(params, state, 4, record=["b.input"])
    np.testing.assert_array_equal(trace["b.input"][:3], past)  # step t reads step t - 3
    np.testing.assert_array_equal(trace["b.input"][3], 0.0)    # a's own output of step 0
    params, state = net.init(key, history={"a.rate": 0.5})
    _, trace = net.run(params, state, 3, record=["b.input"])
    np.testing.assert_array_equal(trace["b.input"], 0.5)
    params, state = delayed_copy(1).init(key, history={"a.rate": [4.0, 5.0]})
    _, trace = delayed_copy(1).run(params, state, 1, record=["b.input"])
    np.testing.assert_array_equal(trace["b.input"][0], [4.0, 5.0])
    with pytest.raises(bs.RunInputError, match=r"does not fit shape \(3, 2\)"):
        net.init(key, history={"a.rate": np.zeros((2, 2))})


def test_a_chunked_run_from_a_set_history_equals_a_single_run(key):
    net = delayed_copy(2)
    params, state = net.init(key, history={"a.rate": [[1.0, 2.0], [3.0, 4.0]]})
    drive = {"a.input": jnp.ones((20, 2))}
    single = net.run(params, state, 20, inputs=drive, record=["b.rate"])[1]["b.rate"]
    chunked = net.run(params, state, 20, inputs=drive, record=["b.rate"], chunk=5)[1]["b.rate"]
    np.testing.assert_array_equal(single, chunked)
    assert not np.allclose(single, net.run(*net.init(key), 20, inputs=drive, record=["b.rate"])[1]["b.rate"])


def test_vmapped_initial_states_equal_a_loop(key):
    net = lif()
    starts = jnp.array([-65.0, -58.0, -51.0])

    def final_v(v0):
        params, state = net.init(key, state={"n.V": v0})
        return net.run(params, state, 50)[0]["regions"]["n"]["V"]

    batched = jax.vmap(final_v)(starts)
    for i, v0 in enumerate(starts):
        np.testing.assert_allclose(batched[i], final_v(v0), rtol=1e-6)
