"""Simulation semantics: delays, summation, order, chunking, jit, vmap, records."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import noisy_loop, two_loop

import brainsim as bs


def linear_chain(delay, n=3):
    """src -> dst through a one-to-one projection of weight 1 and the given delay.

    Both populations are linear with tau = dt, so each copies its input in one
    step: x(t) = I(t). A signal entering src at step t leaves dst at t + 1 + delay.
    """
    brain = bs.Connectome()
    brain.add("src", bs.RatePopulation(n=n, activation="linear"))
    brain.add("dst", bs.RatePopulation(n=n, activation="linear"))
    brain.connect("src.rate", "dst.input", kind="one_to_one", delay=delay)
    net = bs.build(brain, dt=1.0)
    params, state = net.init(jax.random.key(0), overrides={"src.tau": 1.0, "dst.tau": 1.0})
    return net, params, state


@pytest.mark.parametrize("delay", [0, 1, 2, 5])
def test_delay_shifts_a_signal_by_exactly_that_many_steps(delay):
    net, params, state = linear_chain(delay)
    steps = 20
    pulse = jnp.zeros((steps, 3)).at[4].set(jnp.array([1.0, 2.0, 3.0]))
    _, trace = net.run(params, state, steps, inputs={"src.input": pulse},
                       record=["src.rate", "dst.rate"])
    np.testing.assert_array_equal(trace["src.rate"], pulse)
    expected = jnp.zeros((steps, 3)).at[4 + delay].set(jnp.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(trace["dst.rate"], expected)


def test_projections_into_one_port_are_summed(key):
    brain = bs.Connectome()
    for name in ("p", "q", "r"):
        brain.add(name, bs.RatePopulation(n=4, activation="linear"))
    w_pr = np.arange(16.0).reshape(4, 4) / 10
    brain.connect("p.rate", "r.input", weight=w_pr, delay=1)
    brain.connect("q.rate", "r.input", kind="one_to_one", scale=0.5, delay=2)
    net = bs.build(brain)
    params, state = net.init(key)
    steps = 12
    drive = jax.random.normal(key, (steps, 4))
    _, trace = net.run(params, state, steps, inputs={"p.input": drive, "q.input": 2 * drive,
                                                     "r.input": -drive},
                       record=["p.rate", "q.rate", "r.input"])
    p, q = np.asarray(trace["p.rate"]), np.asarray(trace["q.rate"])
    expected = -np.asarray(drive)
    expected[1:] += p[:-1] @ w_pr
    expected[2:] += 0.5 * q[:-2]
    np.testing.assert_allclose(trace["r.input"], expected, rtol=1e-5, atol=1e-6)


def test_zero_delay_edges_run_in_topological_order(key):
    """Added in reverse order, a zero-delay chain still passes a signal in one step."""
    brain = bs.Connectome()
    for name in ("c", "b", "a"):
        brain.add(name, bs.RatePopulation(n=2, activation="linear"))
    brain.connect("b.rate", "c.input", kind="identity")
    brain.connect("a.rate", "b.input", kind="identity")
    net = bs.build(brain)
    assert net.order == ("a", "b", "c")
    params, state = net.init(key, overrides={"a.tau": 1.0, "b.tau": 1.0, "c.tau": 1.0})
    drive = jnp.zeros((5, 2)).at[1].set(1.0)
    _, trace = net.run(params, state, 5, inputs={"a.input": drive}, record=["c.rate"])
    np.testing.assert_array_equal(trace["c.rate"], drive)


def test_chunked_run_equals_single_run(key):
    net = bs.build(noisy_loop())
    params, state = net.init(key)
    drive = jax.random.normal(key, (120, 5))
    kwargs = dict(inputs={"a.input": drive}, record=["a.rate", "out.rate"], every=4)
    final_1, trace_1 = net.run(params, state, 120, **kwargs)
    final_n, trace_n = net.run(params, state, 120, chunk=40, **kwargs)
    final_r, trace_r = net.run(params, state, 120, chunk=44, **kwargs)  # uneven last chunk
    for trace in (trace_n, trace_r):
        assert isinstance(trace["a.rate"], np.ndarray)
        for path in trace_1:
            np.testing.assert_array_equal(trace[path], trace_1[path])
    chex.assert_trees_all_equal(final_1, final_n)
    chex.assert_trees_all_equal(final_1, final_r)


def test_consecutive_runs_continue_one_another(key):
    net = bs.build(noisy_loop())
    params, state = net.init(key)
    whole_state, whole = net.run(params, state, 60, record=["a.rate"])
    mid, first = net.run(params, state, 25, record=["a.rate"])
    end, second = net.run(params, mid, 35, record=["a.rate"])
    np.testing.assert_array_equal(np.concatenate([first["a.rate"], second["a.rate"]]),
                                  whole["a.rate"])
    chex.assert_trees_all_equal(end, whole_state)


def test_jit_equals_disable_jit(key):
    net = bs.build(noisy_loop())
    params, state = net.init(key)
    drive = jax.random.normal(key, (8, 5))
    _, compiled = net.run(params, state, 8, inputs={"a.input": drive}, record=["out.rate"])
    with jax.disable_jit():
        _, eager = net.run(params, state, 8, inputs={"a.input": drive}, record=["out.rate"])
    np.testing.assert_allclose(compiled["out.rate"], eager["out.rate"], rtol=1e-5, atol=1e-6)


def test_vmap_over_params_equals_a_loop(key):
    net = bs.build(two_loop())
    params, state = net.init(key)
    taus = jnp.array([2.0, 5.0, 10.0, 20.0])
    drive = jnp.ones((30, 6))

    def final_rate(tau):
        p = bs.set(params, "a.tau", tau)
        return net.run(p, state, 30, inputs={"a.input": drive}, record=["b.rate"])[1]["b.rate"]

    batched = jax.vmap(final_rate)(taus)
    chex.assert_shape(batched, (4, 30, 4))
    for i, tau in enumerate(taus):
        np.testing.assert_allclose(batched[i], final_rate(tau), rtol=1e-5, atol=1e-6)
    assert not np.allclose(batched[0], batched[3])


def test_vmap_over_keys_equals_a_loop():
    net = bs.build(noisy_loop())
    keys = jax.random.split(jax.random.key(3), 4)

    def simulate(k):
        params, state = net.init(k)
        return net.run(params, state, 20, record=["out.rate"])[1]["out.rate"]

    batched = jax.vmap(simulate)(keys)
    for i in range(4):
        np.testing.assert_allclose(batched[i], simulate(keys[i]), rtol=1e-5, atol=1e-6)
    assert not np.allclose(batched[0], batched[1])


def test_every_keeps_the_last_step_of_each_block(key):
    net = bs.build(noisy_loop())
    params, state = net.init(key)
    _, full = net.run(params, state, 12, record=["a.rate"])
    _, thin = net.run(params, state, 12, record=["a.rate"], every=3)
    np.testing.assert_array_equal(thin["a.rate"], full["a.rate"][2::3])


def test_reducers(key):
    net = bs.build(noisy_loop())
    params, state = net.init(key)
    _, full = net.run(params, state, 10, record=["a.rate", "out.rate"])
    _, reduced = net.run(params, state, 10, record=["a.rate", "out.rate"],
                         reduce={"a.rate": "mean", "out.rate": lambda x: x[0]})
    chex.assert_shape(reduced["a.rate"], (10,))
    np.testing.assert_allclose(reduced["a.rate"], full["a.rate"].mean(axis=1), rtol=1e-6)
    np.testing.assert_array_equal(reduced["out.rate"], full["out.rate"][:, 0])


def ramp(t):
    return jnp.full(3, t.astype(jnp.float32))


def test_input_as_a_function_of_the_step_index(key):
    net, params, state = linear_chain(0)
    _, trace = net.run(params, state, 6, inputs={"src.input": ramp},
                       record=["src.rate"])
    np.testing.assert_array_equal(trace["src.rate"][:, 0], np.arange(6.0))
    # a second run continues the step count
    mid, _ = net.run(params, state, 4)
    _, trace = net.run(params, mid, 2, inputs={"src.input": ramp},
                       record=["src.rate"])
    np.testing.assert_array_equal(trace["src.rate"][:, 0], [4.0, 5.0])


def test_records_have_declared_shapes_and_dtypes(key):
    net = bs.build(two_loop())
    params, state = net.init(key)
    _, trace = net.run(params, state, 20, record=["a.rate", "b.input"], every=5)
    chex.assert_shape(trace["a.rate"], (4, 6))
    chex.assert_shape(trace["b.input"], (4, 4))
    chex.assert_type([trace["a.rate"], trace["b.input"]], jnp.float32)


def test_step_equals_a_one_step_run(key):
    net = bs.build(two_loop())
    params, state = net.init(key)
    drive = jnp.ones(6)
    stepped, signals = net.step(params, state, {"a.input": drive})
    ran, trace = net.run(params, state, 1, inputs={"a.input": drive[None]}, record=["a.rate"])
    without_key = lambda s: {k: v for k, v in s.items() if k != "key"}  # noqa: E731
    chex.assert_trees_all_close(without_key(stepped), without_key(ran))
    np.testing.assert_allclose(signals["a.rate"], trace["a.rate"][0])


def test_check_finite_names_the_first_region_to_blow_up(key):
    brain = bs.Connectome()
    brain.add("a", bs.RatePopulation(n=3, activation="linear"))
    brain.add("b", bs.RatePopulation(n=3, activation="linear"))
    brain.connect("a.rate", "b.input", delay=2)
    net = bs.build(brain)
    # a is unstable: dt/tau = 3 makes Euler's growth factor -2 per step
    params, state = net.init(key, overrides={"a.tau": 1.0 / 3.0})
    drive = jnp.ones((400, 3))
    net.run(params, state, 400, inputs={"a.input": drive})  # unchecked: no error
    with pytest.raises(bs.NonFiniteError, match=r"region 'a' .* first, at step \d+; later also \['b'\]"):
        net.run(params, state, 400, inputs={"a.input": drive}, check_finite=True)
    with pytest.raises(bs.NonFiniteError, match="region 'a'"):
        net.run(params, state, 400, inputs={"a.input": drive}, check_finite=True, chunk=100)
    stable = bs.set(params, "a.tau", 10.0)
    net.run(stable, state, 400, inputs={"a.input": drive}, check_finite=True)


def test_progress_bar_between_chunks(key, capsys):
    net = bs.build(two_loop())
    params, state = net.init(key)
    net.run(params, state, 40, chunk=10, progress=True)
    err = capsys.readouterr().err
    assert "40/40" in err
