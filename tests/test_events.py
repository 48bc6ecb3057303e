"""Event-driven spiking projections: connectivity, exact delivery, delays, gradients."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import brainsim as bs
from brainsim import connectivity, events


def test_bernoulli_connectivity_has_the_right_statistics(key):
    n, p = 2000, 0.02
    targets = connectivity.bernoulli_targets(key, n, n, p)
    chex.assert_type(targets, jnp.int32)
    rows = np.asarray(targets)
    real = rows < n
    degree = real.sum(axis=1)
    # binomial(2000, 0.02): mean 40, sd 6.26; over 2000 rows the mean is within 0.5
    assert abs(degree.mean() - n * p) < 0.5
    assert abs(degree.std() - np.sqrt(n * p * (1 - p))) < 0.5
    columns = np.arange(rows.shape[1])
    for i, (row, k) in enumerate(zip(rows[:50], degree[:50])):
        np.testing.assert_array_equal(real[i], columns < k)  # real targets form a prefix of each row...
        assert np.all(row[:k] < n) and np.all(row[k:] == n)
        assert np.all(np.diff(row[:k]) > 0)  # ...sorted, hence distinct
    pre, post = connectivity.to_pairs(targets, n)
    hits = np.bincount(post, minlength=n)  # in-degrees are binomial too
    assert abs(hits.mean() - n * p) < 0.5


def test_reserved_row_width_covers_the_binomial_tail():
    width = connectivity.max_out_degree(4000, 4000, 0.02)
    # mean 80, sd 8.85: the width sits several sd above the mean but well below 2x
    assert 80 + 5 * 8.85 < width < 160
    assert connectivity.max_out_degree(10, 10, 1.0) == 10


def _random_case(key, n_src=300, n_dst=200, p=0.1, rate=0.05, shared=False):
    k1, k2, k3 = jax.random.split(key, 3)
    targets = connectivity.bernoulli_targets(k1, n_src, n_dst, p)
    spikes = (jax.random.uniform(k2, (n_src,)) < rate).astype(jnp.float32)
    w = jnp.float32(0.7) if shared else jax.random.normal(k3, targets.shape)
    return targets, spikes, w


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("rate", [0.0, 0.02, 0.3, 1.0])  # 1.0: every neuron spikes (a burst)
def test_event_delivery_equals_delivery_over_every_synapse(key, rate, shared):
    targets, spikes, w = _random_case(key, rate=rate, shared=shared)
    into = jnp.zeros(200)
    got = events.deliver(into, spikes, w, targets, None, 0, None, 200, 0, 8)
    want = events.deliver_reference(into, spikes, w, targets, None, 0, None, 200, 0)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    # against a dense matrix built from the pairs
    pre, post = connectivity.to_pairs(targets, 200)
    dense = np.zeros((300, 200))
    weights = np.broadcast_to(np.asarray(w), targets.shape)[targets < 200]
    np.add.at(dense, (pre, post), weights)
    np.testing.assert_allclose(got, np.asarray(spikes) @ dense, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("slots", [1, 3, 6, 8, 20, 300])
def test_every_spike_is_delivered_whatever_the_slot_count(key, slots):
    targets, spikes, w = _random_case(key, rate=0.1)
    spikes = spikes.at[0].set(1.0)  # neuron 0 spikes: padding rows must not stand in for it
    got = events.deliver(jnp.zeros(200), spikes, w, targets, None, 0, None, 200, 0, slots)
    want = events.deliver_reference(jnp.zeros(200), spikes, w, targets, None, 0, None, 200, 0)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_event_delivery_with_signs_and_delays(key):
    targets, spikes, w = _random_case(key, rate=0.2)
    delays = connectivity.uniform_delays(key, targets.shape, 1, 4)
    signs = jnp.where(jnp.arange(300) < 240, 1.0, -1.0)
    into = jax.random.normal(key, (4 * 200,))
    got = events.deliver(into, spikes, w, targets, delays, 13, signs, 200, 4, 16)
    want = events.deliver_reference(into, spikes, w, targets, delays, 13, signs, 200, 4)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    # against dense (n_src, n_dst) matrices, one per arrival slot of the ring, built here synapse
    # by synapse: the synapse (i, f) onto targets[i, f] weighs sign_i * |w[i, f]| (Dale's law) and
    # delivers d[i, f] steps after the spike, into row (13 + d) mod 4 of the ring
    rows, w_np, d_np, s_np = np.asarray(targets), np.asarray(w), np.asarray(delays), np.asarray(signs)
    dense = np.zeros((4, 300, 200))
    for i in range(300):
        for f in range(rows.shape[1]):
            if rows[i, f] < 200:
                dense[(13 + d_np[i, f]) % 4, i, rows[i, f]] += s_np[i] * abs(w_np[i, f])
    x = np.asarray(spikes, np.float64)
    assert x[:240].sum() > 0 and x[240:].sum() > 0  # excitatory and inhibitory spikes both
    expected = np.asarray(into, np.float64) + np.concatenate([x @ dense[slot] for slot in range(4)])
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    # without delays, one dense matrix; inhibitory spikes alone only ever subtract
    plain = dense.sum(axis=0)
    got = events.deliver(jnp.zeros(200), spikes, w, targets, None, 0, signs, 200, 0, 16)
    np.testing.assert_allclose(got, x @ plain, rtol=1e-4, atol=1e-4)
    inhibitory = np.where(np.arange(300) >= 240, x, 0.0)
    got = events.deliver(jnp.zeros(200), jnp.asarray(inhibitory, jnp.float32), w, targets, None, 0,
                         signs, 200, 0, 16)
    np.testing.assert_allclose(got, inhibitory @ plain, rtol=1e-4, atol=1e-4)
    assert np.all(np.asarray(got) <= 0) and np.asarray(got).min() < 0


def test_event_delivery_gradients_match_finite_differences(key, x64):
    targets, _, w = _random_case(key, n_src=40, n_dst=30, p=0.2)
    w = w.astype(jnp.float64)
    x = jnp.where(jnp.arange(40) % 3 == 0, 1.0, 0.0).astype(jnp.float64)
    signs = jnp.where(jnp.arange(40) < 30, 1.0, -1.0).astype(jnp.float64)
    probe = jax.random.normal(key, (30,), jnp.float64)

    def loss(x, w):
        y = events.deliver(jnp.zeros(30, jnp.float64), x, w, targets, None, 0, signs, 30, 0, 4)
        return jnp.sum(jnp.tanh(y) * probe)

    check_grads(loss, (x, w), order=1, modes=["rev"])
    shared = lambda x, w: loss(x, w * jnp.ones(targets.shape, jnp.float64))  # noqa: E731
    check_grads(shared, (x, jnp.float64(0.4)), order=1, modes=["rev"])


def spiking_pair(kind, n=60, **connect):
    """Two LIF populations, ``a`` driven hard, ``a -> b`` by the given projection."""
    brain = bs.Connectome()
    brain.add("a", bs.LIFPopulation(n=n, random_init=True))
    brain.add("b", bs.LIFPopulation(n=n))
    brain.connect("a.spike", "b.input", kind=kind, **connect)
    return brain


def test_event_projection_matches_a_dense_projection_in_a_network(key):
    net_event = bs.build(spiking_pair("event", p=0.2, scale=150.0, delay=1))
    params, state = net_event.init(key)
    targets = state["projections"]["a.spike->b.input"]["targets"]
    pre, post = connectivity.to_pairs(targets, 60)
    matrix = np.zeros((60, 60))
    matrix[pre, post] = 150.0
    net_dense = bs.build(spiking_pair("matrix", weight=matrix, delay=1))
    drive = {"a.current": jnp.full((300, 60), 400.0)}
    outs = []
    for net in (net_event, net_dense):
        p, s = net.init(key)
        p = bs.set(p, "a.bias", jnp.zeros(60))
        outs.append(bs.run(net, p, s, 300, inputs=drive, record=["a.spike", "b.spike", "b.v"])[1])
    assert float(outs[0]["a.spike"].sum()) > 100
    assert float(outs[0]["b.spike"].sum()) > 10  # the projection drives b to spike
    np.testing.assert_array_equal(outs[0]["b.spike"], outs[1]["b.spike"])
    np.testing.assert_allclose(outs[0]["b.v"], outs[1]["b.v"], rtol=1e-5, atol=1e-3)


def test_each_synapse_delays_a_spike_by_its_own_delay(key):
    brain = bs.Connectome()
    brain.add("a", bs.LIFPopulation(n=1))
    brain.add("b", bs.RatePopulation(n=50, activation="linear"))
    brain.connect("a.spike", "b.input", kind="event", p=1.0, synapse_delay=(1, 6))
    net = bs.build(brain)
    params, state = net.init(key)
    params = bs.set(params, "b.tau", float(params["dt"]))  # b's rate is its input of this step
    delays = np.asarray(state["projections"]["a.spike->b.input"]["delay"])[0]
    assert set(delays) == {1, 2, 3, 4, 5, 6}
    current = np.zeros((20, 1), np.float32)
    current[4] = 1e6  # one spike of a at step 4
    _, rec = bs.run(net, params, state, 20, inputs={"a.current": jnp.asarray(current)},
                    record=["a.spike", "b.rate"])
    assert np.flatnonzero(np.asarray(rec["a.spike"])[:, 0]).tolist() == [4]
    arrival = np.argmax(np.asarray(rec["b.rate"]) != 0, axis=0)
    np.testing.assert_array_equal(arrival, 4 + delays)
    assert np.count_nonzero(np.asarray(rec["b.rate"])) == 50  # each synapse delivers once


def test_synapse_delays_in_ms_round_to_steps(key):
    brain = spiking_pair("event", p=0.5, synapse_delay_ms=(0.5, 1.5))
    net = bs.build(brain, dt=0.1)
    p = net.projection["a.spike->b.input"]
    assert p.kind.synapse_delay == (5, 15) and p.delay == 1
    _, state = net.init(key)
    assert state["projections"][p.name]["arrivals"].shape == (15, 60)


def test_event_weights_are_params_and_can_be_shared(key):
    net = bs.build(spiking_pair("event", p=0.1, scale=2.0, shared_weight=True, delay=1))
    params, state = net.init(key)
    assert params["a.spike->b.input"]["weight"].shape == ()
    net = bs.build(spiking_pair("event", p=0.1, scale=2.0, delay=1))
    params, state = net.init(key)
    targets = state["projections"]["a.spike->b.input"]["targets"]
    assert params["a.spike->b.input"]["weight"].shape == targets.shape


@pytest.mark.parametrize(
    "connect, message",
    [
        (dict(kind="event"), "connection probability"),
        (dict(kind="event", p=1.5), "connection probability"),
        (dict(kind="dense", p=0.1), "go with kind='event'"),
        (dict(kind="dense", p=0), "go with kind='event'"),
        (dict(kind="event", p=0.1, synapse_delay=(0, 3)), "lo <= hi"),
        (dict(kind="event", p=0.1, synapse_delay=(3, 2)), "lo <= hi"),
        (dict(kind="event", p=0.1, synapse_delay=(1, 2), delay=1), "drop delay="),
        (dict(kind="event", p=0.1, spike_slots=0), "spike_slots"),
    ],
)
def test_bad_event_wiring_raises_clearly(connect, message):
    with pytest.raises(bs.WiringError, match=message):
        spiking_pair(**connect)


def test_surrogate_gradients_through_an_event_projection_equal_the_dense_ones(key):
    """The custom VJP, inside a spiking run: the same gradients as a dense matrix projection."""
    net_event = bs.build(spiking_pair("event", n=30, p=0.3, scale=150.0, delay=1))
    params, state = net_event.init(key)
    targets = np.asarray(state["projections"]["a.spike->b.input"]["targets"])
    pre, column = np.nonzero(targets < 30)
    post = targets[pre, column]
    matrix = np.zeros((30, 30))
    matrix[pre, post] = 150.0
    net_dense = bs.build(spiking_pair("matrix", n=30, weight=matrix, delay=1))
    drive = {"a.current": jnp.full((80, 30), 400.0)}

    def loss(net, params, state):
        _, trace = bs.run(net, params, state, 80, inputs=drive, record=["b.v"])
        return jnp.mean(jnp.tanh(trace["b.v"] / 10.0 + 5.0))

    grads = []
    for net in (net_event, net_dense):
        p, s = net.init(key)
        g = jax.grad(lambda p: loss(net, p, s))(p)
        grads.append(np.asarray(g["a.spike->b.input"]["weight"]))
    g_event, g_dense = grads
    assert np.abs(g_dense).max() > 0
    np.testing.assert_allclose(g_event[pre, column], g_dense[pre, post], rtol=1e-4, atol=1e-9)
    # dense weights between unconnected pairs get gradients too; event projections have no such weights
    assert np.count_nonzero(g_event[targets >= 30]) == 0


def delayed_spiking_net():
    """A recurrent spiking population with per-synapse delays, driven hard enough to fire."""
    brain = bs.Connectome()
    brain.add("a", bs.LIFPopulation(n=80, random_init=True))
    brain.connect("a.spike", "a.input", kind="event", p=0.1, scale=60.0, synapse_delay=(1, 7),
                  spike_slots=4)
    return bs.build(brain)


def test_a_chunked_spiking_run_equals_a_single_run(key):
    net = delayed_spiking_net()
    params, state = net.init(key)
    drive = {"a.current": jnp.full((300, 80), 230.0)}
    final_1, trace_1 = net.run(params, state, 300, inputs=drive, record=["a.spike"])
    final_2, trace_2 = net.run(params, state, 300, inputs=drive, record=["a.spike"], chunk=70)
    assert float(trace_1["a.spike"].sum()) > 100
    np.testing.assert_array_equal(trace_1["a.spike"], trace_2["a.spike"])
    chex.assert_trees_all_equal(final_1["projections"], final_2["projections"])


def test_seeds_sweep_over_event_connectivity(key):
    net = delayed_spiking_net()
    result = bs.sweep(net, 100, seeds=[0, 1, 2], inputs={"a.current": jnp.full((100, 80), 230.0)},
                      record=["a.spike"], reduce="sum")
    chex.assert_shape(result.records["a.spike"], (1, 3, 100))  # (one point, seeds, steps)
    counts = result.records["a.spike"][0]
    for seed in range(3):  # each seed draws its own connectivity, the same as a single run's
        params, state = net.init(jax.random.key(seed))
        _, trace = net.run(params, state, 100, inputs={"a.current": jnp.full((100, 80), 230.0)},
                           record=["a.spike"], reduce="sum")
        np.testing.assert_allclose(counts[seed], trace["a.spike"])
    assert not np.array_equal(counts[0], counts[1])


@pytest.mark.parametrize("n_src, p", [(30, 0.5), (12, 0.9), (400, 0.99), (25, 1.0)])
def test_dense_connection_probabilities_build_without_false_truncation(key, n_src, p):
    degrees, full_rows, hits = [], 0, np.zeros(20)
    for seed in range(5):
        targets = connectivity.bernoulli_targets(jax.random.fold_in(key, seed), n_src, 20, p)
        rows = np.asarray(targets)
        degree = np.asarray((targets < 20).sum(axis=1))
        assert degree.max() <= 20
        for row, k in zip(rows, degree):  # distinct targets in 0..19: no row lists one twice
            assert np.all(np.diff(row[:k]) > 0) and np.all(row[:k] < 20) and np.all(row[k:] == 20)
        degrees.append(degree)
        full_rows += int(np.sum(degree == 20))
        hits += np.bincount(rows[rows < 20], minlength=20)
    assert abs(degree.mean() - 20 * p) < 20 * p * 0.5
    # nothing cut: over all 5 * n_src rows the degrees are binomial(20, p), the upper tail included
    degrees, rows_drawn = np.concatenate(degrees), 5 * n_src
    assert abs(degrees.mean() - 20 * p) <= 4 * np.sqrt(20 * p * (1 - p) / rows_drawn)
    p_full = p**20  # a row connected to all 20 targets, which a short row width would forbid
    assert abs(full_rows - rows_drawn * p_full) <= 4 * np.sqrt(rows_drawn * p_full * (1 - p_full)) + 1e-9
    if rows_drawn * p_full > 5:
        assert full_rows > 0
    # and every target is reached with probability p, the last ones as often as the first
    assert np.all(np.abs(hits / rows_drawn - p) <= 4 * np.sqrt(p * (1 - p) / rows_drawn) + 1e-9)


def test_tiny_connection_probabilities_give_valid_targets(key):
    targets = connectivity.bernoulli_targets(key, 200, 100_000, 1e-6)
    rows = np.asarray(targets)
    assert rows.min() >= 0 and rows.max() <= 100_000
    with pytest.raises(ValueError, match="connection probability"):
        connectivity.bernoulli_targets(key, 10, 10, 1e-9)


def test_large_spike_slots_are_clamped_to_the_population(key):
    net = bs.build(spiking_pair("event", n=20, p=0.2, scale=200.0, delay=1, spike_slots=64))
    params, state = net.init(key)
    _, trace = net.run(params, state, 50, inputs={"a.current": jnp.full((50, 20), 400.0)},
                       record=["b.v"])
    assert np.all(np.isfinite(np.asarray(trace["b.v"])))


def test_exact_current_update_is_accurate_near_equal_time_constants(x64):
    from brainsim.populations.lif import _current_lif_update

    for tau_syn in (20.0, 20.001, 20.1, 5.0):
        p = {"g_L": 10.0, "C": 200.0, "tau_syn": tau_syn, "E_L": -60.0}
        rate_m, rate_s = 1 / 20.0, 1 / tau_syn
        with jax.enable_x64(False):
            got = float(_current_lif_update(jnp.float32(-60.0), jnp.float32(100.0), jnp.float32(0.0),
                                            {k: jnp.float32(v) for k, v in p.items()}, 0.1))
        kernel = (np.exp(-0.1 * rate_s) - np.exp(-0.1 * rate_m)) / (rate_m - rate_s) if tau_syn != 20.0 \
            else 0.1 * np.exp(-0.1 * rate_m)
        want = -60.0 + 100.0 / 200.0 * kernel
        assert abs(got - want) < 1e-5, tau_syn
