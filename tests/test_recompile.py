"""New numbers never recompile; only new structure does."""

import jax
import jax.numpy as jnp
from helpers import noisy_loop, two_loop

import brainsim as bs


def test_new_param_values_state_and_inputs_do_not_recompile(key):
    net = bs.build(two_loop())
    params, state = net.init(key)
    drive = jnp.ones((50, 6))
    net.run(params, state, 50, inputs={"a.input": drive}, record=["b.rate"])
    before = bs.trace_count()
    for value in (3.0, 7.0, 20.0):
        p = bs.set(params, "a.tau", value)
        p = bs.set(p, "dt", value / 10)
        p = bs.set(p, "a->b.weight", bs.get(p, "a->b.weight") * value)
        _, new_state = net.init(jax.random.fold_in(key, int(value)))
        net.run(p, new_state, 50, inputs={"a.input": drive * value}, record=["b.rate"])
    assert bs.trace_count() == before


def test_a_rebuilt_identical_network_reuses_the_compilation(key):
    net = bs.build(noisy_loop())
    params, state = net.init(key)
    net.run(params, state, 10, record=["out.rate"])
    before = bs.trace_count()
    again = bs.build(noisy_loop())
    assert again == net and hash(again) == hash(net)
    again.run(params, state, 10, record=["out.rate"])
    assert bs.trace_count() == before


def test_new_structure_does_recompile(key):
    net = bs.build(noisy_loop())
    params, state = net.init(key)
    net.run(params, state, 10)
    before = bs.trace_count()
    net.run(params, state, 12)  # a different number of steps is structure
    assert bs.trace_count() == before + 1


def test_chunks_compile_once(key):
    net = bs.build(noisy_loop())
    params, state = net.init(key)
    before = bs.trace_count()
    net.run(params, state, 100, chunk=10, record=["a.rate"])
    assert bs.trace_count() == before + 1
