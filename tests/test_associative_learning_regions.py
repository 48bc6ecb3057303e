"""AssociativeCortex (online delta rule or Adam) and AcetylcholineGain, against numpy references."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainsim as bs
from regions import AcetylcholineGain, AssociativeCortex


def run_learner(rule, x, y, eta, gain=None):
    brain = bs.Connectome()
    brain.add("ctx", AssociativeCortex(x.shape[1], y.shape[1], rule=rule))
    net = bs.build(brain, dt=1.0)
    params, state = net.init(jax.random.key(0), overrides={"ctx.eta": eta})
    inputs = {"ctx.input": jnp.asarray(x), "ctx.target": jnp.asarray(y)}
    if gain is not None:
        inputs["ctx.lr_gain"] = jnp.asarray(gain)
    state, trace = net.run(params, state, len(x), inputs=inputs, record=["ctx.error"])
    return state["regions"]["ctx"], np.asarray(trace["ctx.error"])


def stream(t=400, n_in=5, n=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(t, n_in)).astype(np.float32)
    w = rng.normal(size=(n_in, n)).astype(np.float32)
    return x, (x @ w + 0.3).astype(np.float32), w


def test_the_delta_rule_is_normalised_lms_step_for_step():
    x, y, w_true = stream()
    gain = np.linspace(0.2, 1.0, len(x)).astype(np.float32)
    state, errors = run_learner("delta", x, y, 0.5, gain)
    w, b = np.zeros_like(w_true), np.zeros(3, np.float32)
    reference = []
    for xt, yt, g in zip(x, y, gain):
        e = xt @ w + b - yt
        reference.append(e)
        step = 0.5 * g / (xt @ xt + 1.0)
        w, b = w - step * np.outer(xt, e), b - step * e
    np.testing.assert_allclose(errors, np.array(reference), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.asarray(state["W"]), w_true, atol=1e-3)  # it learned the map
    np.testing.assert_allclose(np.asarray(state["b"]), 0.3, atol=1e-3)


def test_the_adam_rule_follows_adams_equations():
    x, y, _ = stream(t=50)
    state, errors = run_learner("adam", x, y, 0.01)
    w, b = np.zeros((5, 3)), np.zeros(3)
    m = [np.zeros((5, 3)), np.zeros(3)]
    v = [np.zeros((5, 3)), np.zeros(3)]
    for k, (xt, yt) in enumerate(zip(x, y), start=1):
        e = xt @ w + b - yt
        for i, grad in enumerate((np.outer(xt, e), e)):
            m[i] = 0.9 * m[i] + 0.1 * grad
            v[i] = 0.999 * v[i] + 0.001 * grad ** 2
        steps = [0.01 * (mi / (1 - 0.9 ** k)) / (np.sqrt(vi / (1 - 0.999 ** k)) + 1e-8)
                 for mi, vi in zip(m, v)]
        w, b = w - steps[0], b - steps[1]
    np.testing.assert_allclose(np.asarray(state["W"]), w, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(np.asarray(state["b"]), b, rtol=1e-3, atol=1e-5)


def run_gain(errors, **overrides):
    brain = bs.Connectome()
    brain.add("ach", AcetylcholineGain(errors.shape[1]))
    net = bs.build(brain, dt=1.0)
    params, state = net.init(jax.random.key(0), overrides={f"ach.{k}": v for k, v in overrides.items()})
    _, trace = net.run(params, state, len(errors), inputs={"ach.error": jnp.asarray(errors)},
                       record=["ach.gain", "ach.surprise"])
    return np.asarray(trace["ach.gain"]), np.asarray(trace["ach.surprise"])


def test_the_gain_falls_as_one_over_evidence_and_a_surprise_resets_it():
    rng = np.random.default_rng(1)
    errors = rng.normal(size=(5000, 4)).astype(np.float32)
    errors[2000:] *= 3.0  # the world changes: errors 9 times their usual power
    gain, surprise = run_gain(errors, evidence=20.0)
    u, reference = 1.0, []  # the recursion, in numpy, from the recorded surprise
    for q in surprise:
        reference.append(u)
        u = u / (1 + u / 20.0)
        u = u + (1 - u) / (1 + np.exp(-(q - 2.0) / 0.05))
    np.testing.assert_allclose(gain, np.array(reference), rtol=1e-4)
    k = np.arange(300)
    np.testing.assert_allclose(gain[:300], 1.0 / (1.0 + k / 20.0), rtol=0.01)  # hardly any surprise at first
    assert 0.01 < gain[1999] < 0.02  # 1 / (1 + 1999 / 20)
    assert abs(np.median(surprise[200:2000]) - 1.0) < 0.1
    assert surprise[2005] > 4 and gain[2005:2010].min() > 0.9  # reset within a few trials
    assert gain[-1] < 0.05  # and anneals again once the slow mean has learned the new level


def test_a_bad_learner_is_refused():
    with pytest.raises(ValueError, match="rule must be one of"):
        AssociativeCortex(3, 2, rule="rmsprop")
    with pytest.raises(ValueError, match="n_in"):
        AssociativeCortex(0, 2)
