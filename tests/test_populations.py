"""Signature behaviour of the engine's generic populations."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainsim as bs


def lone(region, dt=1.0, **overrides):
    net = bs.build(bs.Connectome().add("p", region), dt=dt)
    params, state = net.init(jax.random.key(0), overrides=overrides)
    return net, params, state


# -- rate population ------------------------------------------------------------

def test_rate_unit_relaxes_with_time_constant_tau():
    net, params, state = lone(bs.RatePopulation(n=3, activation="linear"), dt=0.1,
                              **{"p.tau": 20.0})
    drive = jnp.ones((2000, 3))
    _, trace = net.run(params, state, 2000, inputs={"p.input": drive}, record=["p.rate"])
    x = np.asarray(trace["p.rate"][:, 0])
    assert x[199] == pytest.approx(1 - np.exp(-1), rel=1e-2)  # one tau = 200 steps
    assert x[-1] == pytest.approx(1.0, rel=1e-4)  # steady state I + b


@pytest.mark.parametrize("activation, phi", [("tanh", np.tanh), ("relu", lambda x: np.maximum(x, 0)),
                                             ("sigmoid", lambda x: 1 / (1 + np.exp(-x)))])
def test_rate_activation_at_steady_state(activation, phi):
    net, params, state = lone(bs.RatePopulation(n=3, activation=activation), **{"p.tau": 1.0})
    level = jnp.array([-1.0, 0.5, 2.0])
    _, trace = net.run(params, state, 2, inputs={"p.input": jnp.tile(level, (2, 1))},
                       record=["p.rate"])
    np.testing.assert_allclose(trace["p.rate"][-1], phi(np.asarray(level)), rtol=1e-5)


def test_rate_noise_has_the_stationary_std_sigma():
    net, params, state = lone(bs.RatePopulation(n=400, activation="linear", noise=True),
                              **{"p.sigma": 0.3, "p.tau": 5.0})
    _, trace = net.run(params, state, 600, record=["p.rate"])
    x = np.asarray(trace["p.rate"][100:])  # past the transient from x = 0
    assert x.std() == pytest.approx(0.3, rel=0.05)
    assert abs(x.mean()) < 0.02


# -- LIF population -------------------------------------------------------------

def lif_rate(current_pA, dt=0.01, steps=50_000):
    net, params, state = lone(bs.LIFPopulation(n=1), dt=dt)
    drive = jnp.full((steps, 1), current_pA)
    _, trace = net.run(params, state, steps, inputs={"p.current": drive}, record=["p.spike"])
    spikes = np.asarray(trace["p.spike"][:, 0])
    return spikes, spikes.sum() / (steps * dt / 1000.0)


def test_lif_fires_at_the_analytic_rate_above_rheobase():
    # Rheobase g_L (V_th - E_L) = 10 nS * 10 mV = 100 pA. For I = 200 pA the
    # interspike interval is t_ref + tau_m ln(I / (I - 100 pA)) = 5 + 20 ln 2 ms.
    spikes, _ = lif_rate(200.0)
    times = np.flatnonzero(spikes) * 0.01
    isi = np.diff(times).mean()
    assert isi == pytest.approx(5.0 + 20.0 * np.log(2.0), rel=0.01)


def test_lif_is_silent_below_rheobase():
    _, rate = lif_rate(95.0)
    assert rate == 0.0


def test_lif_refractory_period_bounds_the_rate():
    spikes, _ = lif_rate(1e6, steps=10_000)  # enormous drive: spikes right after t_ref
    isi = np.diff(np.flatnonzero(spikes)) * 0.01
    assert isi.min() == pytest.approx(5.01, abs=0.011)  # t_ref plus the spiking step


def test_conductance_synapses_excite_and_inhibit_towards_their_reversals():
    net, params, state = lone(bs.LIFPopulation(n=2, synapse="conductance"), dt=0.1)
    steps = 2000
    kick = jnp.zeros((steps, 2)).at[10].set(jnp.array([5.0, 0.0]))  # nS
    inh = jnp.zeros((steps, 2)).at[10].set(jnp.array([0.0, 50.0]))
    _, trace = net.run(params, state, steps, inputs={"p.exc": kick, "p.inh": inh}, record=["p.v"])
    v = np.asarray(trace["p.v"])
    assert v[:, 0].max() > -60.0 + 0.5  # an EPSP
    assert v[:, 1].min() < -60.0 - 0.5  # an IPSP
    assert v[:, 1].min() > -80.0  # never below the inhibitory reversal
    assert v[-1] == pytest.approx([-60.0, -60.0], abs=0.05)  # back to rest


def test_surrogate_gradient_is_the_fast_sigmoid_derivative():
    v = jnp.array([-2.0, -0.1, 0.3, 4.0])
    s, grad = jax.value_and_grad(lambda v: bs.spike(v, 2.0).sum())(v)
    np.testing.assert_array_equal(jax.vmap(lambda x: bs.spike(x, 2.0))(v), [0, 0, 1, 1])
    np.testing.assert_allclose(grad, 1 / (1 + 2 * np.abs(np.asarray(v))) ** 2, rtol=1e-6)


def test_gradient_flows_through_a_spiking_run():
    net, params, state = lone(bs.LIFPopulation(n=4), dt=0.5)

    def spike_count(bias):
        p = bs.set(params, "p.bias", bias)
        return net.run(p, state, 200, record=["p.spike"])[1]["p.spike"].sum()

    grad = jax.grad(spike_count)(jnp.full(4, 150.0))
    assert np.all(np.isfinite(grad)) and np.all(grad > 0)


@pytest.mark.parametrize("detach", [True, False])
def test_the_reset_passes_no_gradient_when_detached(detach):
    """A spiking step maps V to V_reset: with the reset detached, dV'/dV is exactly 0 there."""
    lif = bs.LIFPopulation(n=1, detach_reset=detach)
    params, state = lif.init(jax.random.key(0))
    ctx = bs.StepContext(t=jnp.int32(0), dt=0.1, key=jax.random.key(1))
    inputs = {"input": jnp.zeros(1), "current": jnp.zeros(1)}

    def v_next(v):
        new_state, out = lif.step(params, {**state, "V": v}, inputs, ctx)
        return new_state["V"][0], out["spike"][0]

    v_next_value, spiked = v_next(jnp.array([-49.9]))  # just above threshold: it spikes
    assert float(spiked) == 1.0 and float(v_next_value) == -60.0
    slope = jax.grad(lambda v: v_next(v)[0])(jnp.array([-49.9]))
    if detach:
        assert float(slope[0]) == 0.0
    else:  # the surrogate path through the reset: (V_reset - V) * ds/dV, about -10 per mV
        assert float(slope[0]) < -5.0


def test_population_arguments_are_checked():
    with pytest.raises(ValueError, match="positive int"):
        bs.RatePopulation(n=0)
    with pytest.raises(ValueError, match="activation"):
        bs.RatePopulation(n=3, activation="softplus")
    with pytest.raises(ValueError, match="synapse"):
        bs.LIFPopulation(n=3, synapse="alpha")
    with pytest.raises(ValueError, match="exc_fraction"):
        bs.RatePopulation(n=3, exc_fraction=1.5)


# -- Hopf oscillators ------------------------------------------------------------

def test_hopf_node_oscillates_with_amplitude_sqrt_a_at_omega():
    net, params, state = lone(bs.HopfPopulation(n=3), dt=0.1, **{
        "p.a": jnp.array([0.04, 0.09, -0.05]), "p.omega": 2 * np.pi * 0.01, "p.sigma": 0.0})
    _, trace = net.run(params, state, 40_000, record=["p.x", "p.y"])
    x, y = np.asarray(trace["p.x"][20_000:]), np.asarray(trace["p.y"][20_000:])
    amplitude = np.sqrt(x**2 + y**2).mean(axis=0)
    np.testing.assert_allclose(amplitude[:2], [0.2, 0.3], rtol=0.01)
    assert amplitude[2] < 1e-3  # below the bifurcation the oscillation dies out
    phase = np.unwrap(np.arctan2(y[:, 0], x[:, 0]))
    frequency_hz = (phase[-1] - phase[0]) / (2 * np.pi) / (len(phase) * 0.1 / 1000.0)
    assert frequency_hz == pytest.approx(10.0, rel=0.01)


def test_alif_threshold_adaptation_lengthens_interspike_intervals():
    isis = {}
    for adaptive in (False, True):
        net, params, state = lone(bs.LIFPopulation(n=1, adaptive=adaptive), dt=0.1)
        drive = jnp.full((20_000, 1), 300.0)  # 2 s of constant current
        _, trace = net.run(params, state, 20_000, inputs={"p.current": drive}, record=["p.spike"])
        isis[adaptive] = np.diff(np.flatnonzero(np.asarray(trace["p.spike"][:, 0]))) * 0.1
    plain, adapting = isis[False], isis[True]
    assert plain.max() - plain.min() <= 0.1 + 1e-6  # a regular LIF fires at a constant rate
    assert adapting[-1] > 1.5 * adapting[0]  # ALIF slows down as its threshold rises
    assert adapting[-5:].std() < 0.15  # and settles to a steady adapted rate
