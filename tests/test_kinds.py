"""Projection kinds as objects: shorthand, a kind defined here alone, short-term plasticity."""

import dataclasses

import jax.numpy as jnp
import numpy as np
import pytest

import brainsim as bs


@dataclasses.dataclass(frozen=True)
class Relay(bs.Region):
    """Emits its input as spikes: a scripted presynaptic spike train."""

    n: int = 1

    @property
    def inputs(self):
        return {"x": bs.Port(self.n)}

    @property
    def outputs(self):
        return {"spike": bs.Port(self.n, kind="spike")}

    def init(self, key):
        return {}, {}

    def step(self, params, state, inputs, ctx):
        return state, {"spike": inputs["x"]}


@dataclasses.dataclass(frozen=True)
class Sink(bs.Region):
    """Reads an input and does nothing with it (its input is what a test inspects)."""

    n: int = 1

    @property
    def inputs(self):
        return {"input": bs.Port(self.n)}

    @property
    def outputs(self):
        return {"out": bs.Port(self.n)}

    def init(self, key):
        return {}, {}

    def step(self, params, state, inputs, ctx):
        return state, {"out": inputs["input"]}


@dataclasses.dataclass(frozen=True)
class Shift(bs.Kind):
    """A toy kind known only to this file: ``y = gain * roll(x, by)``."""

    by: int = 1

    def check(self, ends):
        ends.require_equal_shapes(self)

    def init(self, key, ends):
        return {"gain": bs.param(2.0)}, {"calls": jnp.zeros((), jnp.int32)}

    def apply(self, params, state, x, ends, t, dt):
        return params["gain"] * jnp.roll(x, self.by), {"calls": state["calls"] + 1}


def pair(kind, n=1, **connect):
    brain = bs.Connectome()
    brain.add("pre", Relay(n))
    brain.add("post", Sink(n))
    brain.connect("pre.spike", "post.input", kind=kind, **connect)
    return bs.build(brain, dt=1.0)


def delivered(net, params, state, train):
    _, trace = net.run(params, state, train.shape[0], inputs={"pre.x": jnp.asarray(train)},
                       record=["post.out"])
    return np.asarray(trace["post.out"])


def test_a_kind_defined_in_a_test_file_runs_in_a_network(key):
    net = pair(Shift(by=1), n=4)
    params, state = net.init(key)
    assert float(bs.get(params, "pre->post.gain")) == 2.0
    train = np.tile(np.arange(4.0, dtype=np.float32), (3, 1))
    out = delivered(net, params, state, train)
    np.testing.assert_array_equal(out, 2.0 * np.roll(train, 1, axis=1))
    state, _ = net.run(params, state, 3, inputs={"pre.x": jnp.asarray(train)})
    assert int(state["projections"]["pre.spike->post.input"]["calls"]) == 3  # its state is carried
    with pytest.raises(bs.WiringError, match=r"shape mismatch: a Shift projection needs equal shapes"):
        brain = bs.Connectome().add("pre", Relay(3)).add("post", Sink(2))
        brain.connect("pre.spike", "post.input", kind=Shift())


def test_strings_are_shorthand_for_the_kind_objects():
    brain = bs.Connectome().add("pre", Relay(5)).add("post", Sink(4))
    assert brain.connect("pre.spike", "post.input", kind="sparse", fan_in=3).kind == bs.Sparse(fan_in=3)
    brain = bs.Connectome().add("pre", Relay(5)).add("post", Sink(4))
    assert brain.connect("pre.spike", "post.input", kind="event", p=0.5).kind == bs.Event(p=0.5)
    brain = bs.Connectome().add("pre", Relay(5)).add("post", Sink(4))
    assert brain.connect("pre.spike", "post.input", weight=np.ones((5, 4))).kind == bs.Matrix(np.ones((5, 4)))


@pytest.mark.parametrize(
    "connect, message",
    [
        (dict(kind=bs.Sparse(fan_in=2), fan_in=3), "arguments of the kind itself"),
        (dict(kind=bs.Sparse), "is a class; pass an instance"),
        (dict(kind="sprase"), "unknown projection kind 'sprase'"),
        (dict(kind="dense", fan_in=2), r"\['fan_in'\] go with kind='sparse', not kind='dense'"),
        (dict(kind="sparse", fan_in=True), "positive int fan_in"),
        (dict(kind="sparse", fan_in=2.0), "positive int fan_in"),
        (dict(kind=bs.ShortTermPlasticity(u=0.5), plasticity=bs.plasticity.Oja()), "dense or matrix"),
        (dict(sign=True), "sign must be"),
        (dict(scale=True), "scale"),
        (dict(delay=2.0), "needs an int >= 0 delay"),
        (dict(ms=True), "ms"),
    ],
)
def test_bad_kinds_and_kind_arguments_are_refused(connect, message):
    brain = bs.Connectome().add("pre", Relay(5)).add("post", Sink(4))
    with pytest.raises(bs.WiringError, match=message):
        brain.connect("pre.spike", "post.input", **connect)


def test_event_kind_needs_a_spiking_source():
    brain = bs.Connectome().add("a", bs.LIFPopulation(n=4)).add("b", Sink(4))
    with pytest.raises(bs.WiringError, match=r"a\.v carries 'rate' values"):
        brain.connect("a.v", "b.input", kind="event", p=0.5, delay=1)


@pytest.mark.parametrize("bad", [dict(u=0.0), dict(u=1.5), dict(tau_rec=0.0), dict(tau_facil=-1.0),
                                 dict(inner="dense")])
def test_bad_short_term_plasticity_is_refused(bad):
    with pytest.raises(bs.WiringError, match="ShortTermPlasticity"):
        bs.ShortTermPlasticity(**bad)


def regular_train(steps, period):
    train = np.zeros((steps, 1), jnp.result_type(float))
    train[::period] = 1.0
    return train


def steady_state(U, tau_rec, tau_facil, interval):
    """Tsodyks-Markram efficacy under regular spikes every ``interval`` ms, in closed form."""
    decay_f = np.exp(-interval / tau_facil) if tau_facil > 0 else 0.0
    u_plus = U / (1 - (1 - U) * decay_f)
    decay_r = np.exp(-interval / tau_rec)
    resources = (1 - decay_r) / (1 - (1 - u_plus) * decay_r)
    return u_plus * resources


@pytest.mark.parametrize(
    "U, tau_rec, tau_facil, period",
    [(0.5, 800.0, 0.0, 50),     # depression (Tsodyks & Markram 1997)
     (0.1, 100.0, 1000.0, 20),  # facilitation dominates (Markram, Wang & Tsodyks 1998)
     (0.3, 200.0, 300.0, 10)],  # both
)
def test_short_term_plasticity_reaches_its_analytic_steady_state(key, x64, U, tau_rec, tau_facil, period):
    """Exact per-step relaxation: float64 agrees with the closed form to rounding."""
    kind = bs.ShortTermPlasticity(bs.Matrix(np.ones((1, 1))), u=U, tau_rec=tau_rec, tau_facil=tau_facil)
    net = pair(kind)
    params, state = net.init(key)
    out = delivered(net, params, state, regular_train(4000, period))[::period, 0]
    assert out[0] == pytest.approx(U, rel=1e-6)  # a rested synapse releases U of its resources
    expected = steady_state(U, tau_rec, tau_facil, period * 1.0)
    np.testing.assert_allclose(out[-5:], expected, rtol=1e-10)
    if tau_facil == 0:
        assert np.all(np.diff(out) <= 1e-7) and out[-1] < 0.2 * U  # depression only
    if tau_facil > 5 * tau_rec:
        assert out[1] > out[0] and out[-1] > 1.5 * U  # facilitation


def test_short_term_plasticity_params_are_swept_without_recompiling(key):
    kind = bs.ShortTermPlasticity(bs.Matrix(np.ones((1, 1))), u=0.5, tau_rec=300.0)
    net = pair(kind)
    params, state = net.init(key)
    train = regular_train(1000, 20)
    delivered(net, params, state, train)
    before = bs.trace_count()
    for U, tau in ((0.2, 100.0), (0.7, 600.0)):
        p = bs.set(bs.set(params, "pre->post.u", U), "pre->post.tau_rec", tau)
        out = delivered(net, p, state, train)[::20, 0]
        np.testing.assert_allclose(out[-1], steady_state(U, tau, 0.0, 20.0), rtol=1e-4)
    assert bs.trace_count() == before


def test_short_term_plasticity_composes_with_event_delivery(key):
    """Wrapping the event kind gives what wrapping an equal dense matrix gives."""
    n = 6
    rng = np.random.default_rng(0)
    train = (rng.random((300, n)) < 0.1).astype(np.float32)
    stp = dict(u=0.4, tau_rec=150.0, tau_facil=50.0)
    dense = pair(bs.ShortTermPlasticity(bs.Matrix(np.full((n, n), 0.7)), **stp), n=n)
    event = pair(bs.ShortTermPlasticity(bs.Event(p=1.0), **stp), n=n, scale=0.7)
    expected = delivered(dense, *dense.init(key), train)
    np.testing.assert_allclose(delivered(event, *event.init(key), train), expected, rtol=1e-5, atol=1e-6)
    assert np.ptp(expected[train.sum(1) > 0].max(1)) > 0.1  # the efficacy really varied


def test_gradients_reach_the_short_term_plasticity_params(key, x64):
    from jax.test_util import check_grads

    net = pair(bs.ShortTermPlasticity(bs.Matrix(np.ones((1, 1))), u=0.3, tau_rec=50.0, tau_facil=80.0))
    params, state = net.init(key)
    train = jnp.asarray(regular_train(60, 7), jnp.float64)

    def loss(stp):
        p = {**params, "pre.spike->post.input": {**params["pre.spike->post.input"], **stp}}
        _, trace = net.run(p, state, 60, inputs={"pre.x": train}, record=["post.out"])
        return jnp.sum(trace["post.out"] ** 2)

    stp = {k: params["pre.spike->post.input"][k] for k in ("u", "tau_rec", "tau_facil")}
    check_grads(loss, (stp,), order=1, modes=["rev"], eps=1e-6)
