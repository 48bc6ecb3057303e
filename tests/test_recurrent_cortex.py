"""RecurrentCortex: flax's LSTM and GRU cells as a region, against the equations in numpy."""

import jax
import numpy as np
import pytest

import brainsim as bs
from regions import RecurrentCortex


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def numpy_lstm(p, xs):
    k = {name: np.asarray(p[name]["kernel"], np.float64) for name in p}
    b = {name: np.asarray(p[name]["bias"], np.float64) for name in p if "bias" in p[name]}
    h = c = np.zeros(k["hi"].shape[0])
    out = []
    for x in xs:
        i = sigmoid(x @ k["ii"] + h @ k["hi"] + b["hi"])
        f = sigmoid(x @ k["if"] + h @ k["hf"] + b["hf"])
        g = np.tanh(x @ k["ig"] + h @ k["hg"] + b["hg"])
        o = sigmoid(x @ k["io"] + h @ k["ho"] + b["ho"])
        c = f * c + i * g
        h = o * np.tanh(c)
        out.append(h)
    return np.array(out)


def numpy_gru(p, xs):
    k = {name: np.asarray(p[name]["kernel"], np.float64) for name in p}
    b = {name: np.asarray(p[name]["bias"], np.float64) for name in p if "bias" in p[name]}
    h = np.zeros(k["hz"].shape[0])
    out = []
    for x in xs:
        r = sigmoid(x @ k["ir"] + b["ir"] + h @ k["hr"])
        z = sigmoid(x @ k["iz"] + b["iz"] + h @ k["hz"])
        n = np.tanh(x @ k["in"] + b["in"] + r * (h @ k["hn"] + b["hn"]))
        h = (1 - z) * n + z * h
        out.append(h)
    return np.array(out)


@pytest.mark.parametrize("cell, reference", [("lstm", numpy_lstm), ("gru", numpy_gru)])
def test_a_run_follows_the_gate_equations(cell, reference):
    net = bs.build(bs.Connectome().add("pfc", RecurrentCortex(5, n_in=3, cell=cell)))
    params, state = net.init(jax.random.key(0))
    xs = np.random.default_rng(0).normal(size=(25, 3)).astype(np.float32)
    _, trace = net.run(params, state, 25, inputs={"pfc.input": xs}, record=["pfc.rate"])
    np.testing.assert_allclose(trace["pfc.rate"], reference(params["pfc"], xs.astype(np.float64)),
                               rtol=1e-4, atol=1e-5)


def test_reset_clears_the_carry():
    net = bs.build(bs.Connectome().add("pfc", RecurrentCortex(4, n_in=2)))
    params, state = net.init(jax.random.key(1))
    xs = np.random.default_rng(1).normal(size=(20, 2)).astype(np.float32)
    reset = np.zeros(20, np.float32)
    reset[10] = 1.0
    _, trace = net.run(params, state, 20, inputs={"pfc.input": xs, "pfc.reset": reset}, record=["pfc.rate"])
    _, fresh = net.run(params, state, 10, inputs={"pfc.input": xs[10:]}, record=["pfc.rate"])
    np.testing.assert_allclose(trace["pfc.rate"][10:], fresh["pfc.rate"], rtol=1e-6, atol=1e-7)


def test_new_weights_do_not_recompile():
    net = bs.build(bs.Connectome().add("pfc", RecurrentCortex(4, n_in=2)))
    params, state = net.init(jax.random.key(0))
    xs = np.ones((5, 2), np.float32)
    net.run(params, state, 5, inputs={"pfc.input": xs})
    before = bs.trace_count()
    other = bs.set(params, "pfc.ii.kernel", np.zeros((2, 4), np.float32))
    net.run(other, state, 5, inputs={"pfc.input": xs})
    assert bs.trace_count() == before


@pytest.mark.parametrize("bad", [dict(n=0, n_in=2), dict(n=3, n_in=True), dict(n=3, n_in=2, cell="rnn")])
def test_bad_cells_are_refused(bad):
    with pytest.raises(ValueError, match="RecurrentCortex"):
        RecurrentCortex(**bad)
