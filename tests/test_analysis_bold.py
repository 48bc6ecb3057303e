"""brainsim.analysis.bold: the Balloon-Windkessel response and functional connectivity."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from brainsim.analysis import HAEMODYNAMICS, bold, fc_sc_correlation, functional_connectivity


def pulse(seconds=40.0, dt=1.0, width_ms=100.0, height=1.0):
    z = np.zeros((int(seconds * 1000 / dt), 1), np.float32)
    z[: int(width_ms / dt)] = height
    return z


def test_rest_gives_no_signal():
    np.testing.assert_array_equal(np.asarray(bold(np.zeros((2000, 3), np.float32), 1.0)), 0.0)


def test_the_impulse_response_has_the_canonical_shape():
    y = np.asarray(bold(pulse(), 1.0))[:, 0]
    peak = int(y.argmax())
    assert 4.0 <= peak / 1000 <= 6.0  # time to peak, s
    after = y[peak:]
    assert after.min() < -0.03 * y.max()  # the post-stimulus undershoot
    assert 8.0 < (peak + after.argmin()) / 1000 < 20.0
    assert abs(y[-1]) < 0.01 * y.max()  # back to baseline by 40 s


def test_small_responses_are_linear_and_sampling_keeps_every_tr():
    small, double = (np.asarray(bold(pulse(height=h), 1.0))[:, 0] for h in (0.01, 0.02))
    np.testing.assert_allclose(double, 2 * small, atol=0.005 * np.abs(small).max())
    sampled = np.asarray(bold(pulse(height=0.01), 1.0, tr_ms=2000.0))[:, 0]
    np.testing.assert_allclose(sampled, small[1999::2000], rtol=1e-6)


def test_float32_keeps_small_responses_as_float64_does():
    """The state is integrated as deviations from rest, or float32 would lose the increments."""
    z = pulse(height=0.01)
    single = np.asarray(bold(z, 1.0))[:, 0]
    with jax.enable_x64(True):
        double = np.asarray(bold(z.astype(np.float64), 1.0))[:, 0]
    np.testing.assert_allclose(single, double, atol=0.002 * np.abs(double).max())


def test_it_is_differentiable_and_independent_of_the_step():
    coarse = np.asarray(bold(pulse(dt=5.0), 5.0, tr_ms=1000.0))[:, 0]
    fine = np.asarray(bold(pulse(dt=0.5), 0.5, tr_ms=1000.0))[:, 0]
    np.testing.assert_allclose(coarse, fine, atol=0.03 * np.abs(fine).max())
    grad = jax.grad(lambda h: jnp.max(bold(jnp.asarray(pulse(seconds=10.0)) * h, 1.0)))(1.0)
    assert float(grad) > 0


def test_functional_connectivity_and_its_match_with_structure():
    rng = np.random.default_rng(0)
    shared = rng.normal(size=(500, 1))
    x = np.hstack([shared + 0.5 * rng.normal(size=(500, 1)), shared + 0.5 * rng.normal(size=(500, 1)),
                   rng.normal(size=(500, 1))])
    fc = functional_connectivity(x)
    np.testing.assert_allclose(fc["r"], np.corrcoef(x.T))
    np.testing.assert_allclose(fc["z"][0, 1], np.arctanh(fc["r"][0, 1]))
    assert np.all(np.diag(fc["z"]) == 0) and fc["r"][0, 1] > 0.7 and abs(fc["r"][0, 2]) < 0.15
    sc = np.array([[0, 1.0, 0.1], [1.0, 0, 0.0], [0.1, 0.0, 0]])
    upper = np.triu_indices(3, k=1)
    assert fc_sc_correlation(fc["r"], sc) == pytest.approx(np.corrcoef(fc["r"][upper], sc[upper])[0, 1])


@pytest.mark.parametrize("call, message", [
    (lambda: bold(np.zeros(0), 1.0), "time first"),
    (lambda: bold(np.zeros((10, 2)), 0.0), "dt_ms"),
    (lambda: bold(np.zeros((10, 2)), 1.0, tr_ms=2.5), "whole number"),
    (lambda: bold(np.zeros((10, 2)), 1.0, constants={"kapa": 1.0}), "unknown constants"),
    (lambda: functional_connectivity(np.zeros(5)), "time >= 3"),
    (lambda: fc_sc_correlation(np.eye(3), np.eye(4)), "one shape"),
])
def test_bad_inputs_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_the_constants_are_stephan_2007():
    assert HAEMODYNAMICS["k1"] == pytest.approx(2.773, abs=1e-3) and HAEMODYNAMICS["k3"] == 0.0
    assert HAEMODYNAMICS["tau"] == 2.0 and HAEMODYNAMICS["rho"] == 0.4
