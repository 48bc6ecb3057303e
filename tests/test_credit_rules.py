"""brainsim.credit rules (bptt, eprop, rflo, node_perturbation): each against a case where its
answer is known, their shared interface under jit and vmap, and training through bs.train.fit."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import brainsim as bs
from brainsim.errors import RunInputError
from regions import Cortex

T = 8


def hierarchy(*, activation="tanh", two_compartment=False, out_tau=1.0, recurrent=False, key=None):
    """inp (a relay) -> h (a Cortex area) -> out (a linear readout)."""
    brain = bs.Connectome()
    brain.add("inp", bs.RatePopulation(3, activation="linear"))
    brain.add("h", Cortex(6, activation=activation, two_compartment=two_compartment))
    brain.add("out", bs.RatePopulation(2, activation="linear"))
    brain.connect("inp.rate", "h.input", delay=1)
    if two_compartment:
        brain.connect("inp.rate", "h.apical")
    brain.connect("h.rate", "out.input")
    net = bs.build(brain, dt=1.0)
    params, state = net.init(jax.random.key(0) if key is None else key,
                             overrides={"inp.tau": 1.0, "h.tau": 4.0, "out.tau": out_tau})
    if not recurrent:
        params["h"]["W_rec"] = jnp.zeros_like(params["h"]["W_rec"])
    return net, params, state


def batch(size=3, seed=0, mask=True):
    rng = np.random.default_rng(seed)
    out = {"inputs": {"inp.input": jnp.asarray(rng.normal(size=(size, T, 3)), jnp.float32)},
           "targets": jnp.asarray(rng.normal(size=(size, T, 2)), jnp.float32)}
    if mask:
        out["mask"] = jnp.asarray(rng.random((size, T)) < 0.7, jnp.float32)
    return out


def exact(net, params, state, data):
    return jax.value_and_grad(bs.train.trial_loss(net, state, output="out.rate"))(params, data)


LEARNERS = ("h", "out")  # the relay inp is not trained


def synaptic_paths(params):
    """The params the online rules train: weights and biases of h and out and of the projections
    into them (not the shared tau, g_A, dt)."""
    return [p for p in bs.paths(params) if np.ndim(bs.get(params, p)) > 0 and not p.startswith("inp.bias")]


@pytest.mark.parametrize("two_compartment", [False, True])
def test_eprop_without_recurrent_weights_is_the_exact_gradient(two_compartment):
    net, params, state = hierarchy(two_compartment=two_compartment)
    data = batch()
    loss, grads = exact(net, params, state, data)
    rule = bs.credit.eprop(net, state, output="out.rate", feedback="symmetric", regions=LEARNERS)
    value, updates, _, _ = rule(params, rule.init(params), data, None)
    np.testing.assert_allclose(value, loss, rtol=1e-6)
    for path in synaptic_paths(params):
        np.testing.assert_allclose(bs.get(updates, path), bs.get(grads, path), rtol=1e-4, atol=1e-7,
                                   err_msg=path)
    assert float(jnp.abs(bs.get(updates, "h.tau"))) == 0.0  # shared by all units: not the rule's to train


def test_eprop_readout_learns_by_the_exact_gradient_despite_recurrence_and_a_leaky_readout():
    net, params, state = hierarchy(out_tau=3.0, recurrent=True)
    data = batch()
    _, grads = exact(net, params, state, data)
    rule = bs.credit.eprop(net, state, output="out.rate")  # random feedback to h
    _, updates, _, _ = rule(params, rule.init(params), data, None)
    for path in ("h.rate->out.input.weight", "out.bias"):
        np.testing.assert_allclose(bs.get(updates, path), bs.get(grads, path), rtol=1e-4, atol=1e-7)
    # the recurrent paths that e-prop drops matter here: h's update is not the gradient
    assert not np.allclose(bs.get(updates, "h.W_rec"), bs.get(grads, "h.W_rec"), rtol=1e-2, atol=1e-6)


def test_symmetric_eprop_with_recurrence_is_an_approximation_that_points_downhill():
    net, params, state = hierarchy(recurrent=True)
    data = batch()
    _, grads = exact(net, params, state, data)
    rule = bs.credit.eprop(net, state, output="out.rate", feedback="symmetric", regions=LEARNERS)
    _, updates, _, _ = rule(params, (), data, None)
    cos = bs.credit.alignment(updates, grads)
    assert 0.5 < cos["h.W_rec"] < 0.9999, cos
    assert cos["inp.rate->h.input.weight"] > 0.5, cos


def test_rflo_is_exact_for_linear_units_without_recurrence_and_approximate_for_tanh():
    for activation, is_exact in (("linear", True), ("tanh", False)):
        net, params, state = hierarchy(activation=activation)
        data = batch()
        _, grads = exact(net, params, state, data)
        rule = bs.credit.rflo(net, state, output="out.rate", feedback="symmetric", regions=LEARNERS)
        _, updates, _, _ = rule(params, (), data, None)
        u, g = bs.get(updates, "inp.rate->h.input.weight"), bs.get(grads, "inp.rate->h.input.weight")
        if is_exact:
            for path in synaptic_paths(params):
                np.testing.assert_allclose(bs.get(updates, path), bs.get(grads, path), rtol=1e-4, atol=1e-7,
                                           err_msg=path)
        else:  # phi' is filtered with the input, not applied at readout time
            assert not np.allclose(u, g, rtol=1e-3, atol=1e-7)
            assert bs.credit.alignment(u, g)["all"] > 0.9


def test_online_rules_need_memory_constant_in_the_trial_length():
    net, params, state = hierarchy(recurrent=True)

    def temp_bytes(rule, steps):
        data = {"inputs": {"inp.input": jnp.zeros((2, steps, 3))}, "targets": jnp.zeros((2, steps, 2))}
        compiled = jax.jit(lambda p, d: rule(p, (), d, None)[1]).lower(params, data).compile()
        analysis = compiled.memory_analysis()
        if analysis is None:
            pytest.skip("this backend reports no memory analysis")
        return analysis.temp_size_in_bytes

    for make in (bs.credit.eprop, bs.credit.rflo):
        online = make(net, state, output="out.rate")
        assert temp_bytes(online, 50) == temp_bytes(online, 1000), online.name
    reference = bs.credit.bptt(net, state, output="out.rate")
    assert temp_bytes(reference, 1000) > 5 * temp_bytes(reference, 50)  # BPTT keeps every step


def test_node_perturbation_follows_the_gradient_on_average():
    net, params, state = hierarchy(recurrent=True, out_tau=2.0)
    data = batch(size=1, mask=False)
    _, grads = exact(net, params, state, data)
    rule = bs.credit.node_perturbation(net, state, output="out.rate", sigma=0.01)
    one = jax.jit(lambda k: rule(params, rule.init(params), data, k)[1])
    updates = jax.vmap(one)(jax.random.split(jax.random.key(3), 8000))
    mean = jax.tree.map(lambda u: jnp.mean(u, axis=0), updates)
    weights = ["inp.rate->h.input.weight", "h.rate->out.input.weight"]
    u = jnp.concatenate([bs.get(mean, p).ravel() for p in weights])
    g = jnp.concatenate([bs.get(grads, p).ravel() for p in weights])
    assert bs.credit.alignment(u, g)["all"] > 0.9
    assert float(jnp.abs(bs.get(mean, "h.bias")).max()) == 0.0  # it trains the perturbed ports' weights


def test_node_perturbation_learns_from_a_reward_port_with_no_target():
    brain = bs.Connectome()
    brain.add("inp", bs.RatePopulation(3, activation="linear"))
    brain.add("out", bs.RatePopulation(1, activation="tanh"))
    brain.connect("inp.rate", "out.input", weight=np.zeros((3, 1)))
    net = bs.build(brain, dt=1.0)
    params, state = net.init(jax.random.key(0), overrides={"inp.tau": 1.0, "out.tau": 1.0})
    cue = jnp.ones((8, 5, 3))
    rule = bs.credit.node_perturbation(net, state, reward="out.rate", sigma=0.2, baseline="running")
    result = bs.train.fit(rule, params, optax.sgd(0.05), lambda k, s: {"inputs": {"inp.input": cue}},
                          steps=60, progress=False)
    assert result.history["reward"][-1] > result.history["reward"][0] + 2.0
    assert int(result.rule_state["seen"]) == 60


RULES = {
    "bptt": lambda net, state: bs.credit.bptt(net, state, output="out.rate"),
    "truncated bptt": lambda net, state: bs.credit.bptt(net, state, output="out.rate", truncate=2),
    "eprop": lambda net, state: bs.credit.eprop(net, state, output="out.rate"),
    "rflo": lambda net, state: bs.credit.rflo(net, state, output="out.rate"),
    "node perturbation": lambda net, state: bs.credit.node_perturbation(net, state, output="out.rate"),
    "synthetic gradients": lambda net, state: bs.credit.synthetic_gradients(net, state, region="h", window=4,
                                                                            output="out.rate"),
}


@pytest.mark.parametrize("name", sorted(RULES))
def test_every_rule_gives_finite_updates_shaped_like_the_params_under_jit_and_vmap(name):
    net, params, state = hierarchy(recurrent=True)
    rule = RULES[name](net, state)
    data = batch()
    step = jax.jit(lambda p, k: rule(p, rule.init(p), data, k)[:2])
    loss, updates = step(params, jax.random.key(1))
    assert jax.tree.structure(updates) == jax.tree.structure(params)
    for path in bs.paths(params):
        assert bs.get(updates, path).shape == np.shape(bs.get(params, path)), path
        assert np.all(np.isfinite(bs.get(updates, path))), path
    assert np.isfinite(loss)
    seeds = jax.vmap(lambda k: hierarchy(recurrent=True, key=k)[1])(jax.random.split(jax.random.key(5), 3))
    losses, swept = jax.vmap(step, in_axes=(0, None))(seeds, jax.random.key(1))
    assert losses.shape == (3,) and np.all(np.isfinite(losses))
    first = jax.tree.map(lambda x: x[0], seeds)
    np.testing.assert_allclose(jax.tree.leaves(jax.tree.map(lambda x: x[0], swept))[0],
                               jax.tree.leaves(step(first, jax.random.key(1))[1])[0], rtol=1e-4, atol=1e-6)


def cue_and_hold(key, _step, size=16, steps=30):
    """Two cue channels for 5 steps; the target is half their running difference, held."""
    x = jax.random.normal(key, (size, steps, 2)) * (jnp.arange(steps) < 5).astype(jnp.float32)[None, :, None]
    return {"inputs": {"inp.input": x}, "targets": 0.5 * jnp.cumsum(x[..., :1] - x[..., 1:], axis=1)}


@pytest.mark.parametrize("name", ["eprop", "rflo", "node perturbation"])
def test_each_rule_trains_a_recurrent_cortex_through_fit(name):
    brain = bs.Connectome()
    brain.add("inp", bs.RatePopulation(2, activation="linear"))
    brain.add("h", Cortex(32))
    brain.add("out", bs.RatePopulation(1, activation="linear"))
    brain.connect("inp.rate", "h.input")
    brain.connect("h.rate", "out.input")
    net = bs.build(brain, dt=1.0)
    params, state = net.init(jax.random.key(0), overrides={"inp.tau": 1.0, "out.tau": 1.0, "h.tau": 5.0})
    params["h"]["W_rec"] = 0.6 * params["h"]["W_rec"]
    rule = {"eprop": bs.credit.eprop, "rflo": bs.credit.rflo}.get(name)
    rule = (rule(net, state, output="out.rate") if rule else
            bs.credit.node_perturbation(net, state, output="out.rate", sigma=0.05))
    result = bs.train.fit(rule, params, optax.adam(3e-3), cue_and_hold, steps=300, progress=False,
                          trainable=["h", "inp.rate->h.input", "h.rate->out.input"])
    loss = result.history["loss"]
    assert np.mean(loss[-20:]) < np.mean(loss[:10]) / 5, (loss[:10], loss[-20:])


def test_synthetic_gradients_without_the_predictor_are_truncated_bptt_and_with_it_the_predictor_learns():
    net, params, state = hierarchy(recurrent=True)
    data = batch()
    truncated = bs.credit.bptt(net, state, output="out.rate", truncate=4)
    plain = bs.credit.synthetic_gradients(net, state, region="h", window=4, output="out.rate",
                                          use_predictor=False)
    loss, reference, _, _ = truncated(params, (), data, None)
    value, update, _, _ = plain(params, plain.init(params), data, None)
    np.testing.assert_allclose(value, loss, rtol=1e-5)
    for a, b in zip(jax.tree.leaves(update), jax.tree.leaves(reference)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7)
    rule = bs.credit.synthetic_gradients(net, state, region="h", window=2, output="out.rate")
    result = bs.train.fit(rule, params, optax.adam(1e-3), lambda k, s: batch(seed=s), steps=5, progress=False)
    readout = result.rule_state["predictor"]["W_h"]
    assert float(jnp.abs(readout).max()) > 0  # it starts at zero: no synthetic gradient at first
    _, helped, _, _ = rule(params, result.rule_state, data, None)
    assert not np.allclose(bs.get(helped, "h.W_rec"), bs.get(reference, "h.W_rec"))


def test_truncated_synthetic_gradients_take_a_cross_entropy_loss_like_bptt():
    net, params, state = hierarchy(recurrent=True)
    data = batch()
    data["targets"] = jnp.asarray(np.random.default_rng(1).integers(0, 2, size=data["targets"].shape[:2]))
    reference = bs.credit.bptt(net, state, output="out.rate", loss="cross_entropy", truncate=4)
    plain = bs.credit.synthetic_gradients(net, state, region="h", window=4, output="out.rate",
                                          loss="cross_entropy", use_predictor=False)
    loss, grads, _, _ = reference(params, (), data, None)
    value, update, _, _ = plain(params, plain.init(params), data, None)
    np.testing.assert_allclose(value, loss, rtol=1e-5)
    for a, b in zip(jax.tree.leaves(update), jax.tree.leaves(grads)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7)


def test_fit_in_two_pieces_equals_one_fit_when_the_states_are_carried():
    """Optimiser and rule state (here the gradient predictor) carry over; the network has no
    noise, so the keys, which restart with the step count, change nothing."""
    net, params, state = hierarchy(recurrent=True)
    rule = bs.credit.synthetic_gradients(net, state, region="h", window=2, output="out.rate")
    whole = bs.train.fit(rule, params, optax.adam(1e-2), lambda k, s: batch(seed=s), steps=4, progress=False)
    first = bs.train.fit(rule, params, optax.adam(1e-2), lambda k, s: batch(seed=s), steps=2, progress=False)
    second = bs.train.fit(rule, first.params, optax.adam(1e-2), lambda k, s: batch(seed=s + 2), steps=2,
                          progress=False, opt_state=first.opt_state, rule_state=first.rule_state)
    for a, b in zip(jax.tree.leaves((whole.params, whole.rule_state)),
                    jax.tree.leaves((second.params, second.rule_state))):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    with pytest.raises(RunInputError, match="not one"):
        bs.train.fit(bs.train.trial_loss(net, state, output="out.rate"), params, optax.adam(1e-2),
                     lambda k, s: batch(), steps=1, progress=False, rule_state={})


def test_isolated_steps_change_no_value():
    net, params, state = hierarchy(recurrent=True)
    drive = {"inp.input": jnp.ones(3)}
    plain = bs._src.step.advance(net, params, state, drive)
    isolated = bs._src.step.advance(net, params, state, drive, isolate=True)
    unkey = lambda tree: jax.tree.map(  # noqa: E731
        lambda x: jax.random.key_data(x) if jnp.issubdtype(x.dtype, jax.dtypes.prng_key) else x, tree)
    for a, b in zip(jax.tree.leaves(unkey(plain)), jax.tree.leaves(unkey(isolated))):
        np.testing.assert_array_equal(a, b)


def test_rules_refuse_what_they_cannot_train():
    net, params, state = hierarchy()
    with pytest.raises(RunInputError, match="no output port"):
        bs.credit.eprop(net, state, output="out.spike")
    with pytest.raises(RunInputError, match="feedback must be"):
        bs.credit.eprop(net, state, output="out.rate", feedback="transposed")
    with pytest.raises(RunInputError, match="loss must be"):
        bs.credit.rflo(net, state, output="out.rate", loss="hinge")
    with pytest.raises(RunInputError, match="no output 'h.apical_potential'"):
        bs.credit.eprop(net, state, output="out.rate", signal_ports={"h": "h.apical_potential"})
    two, _, two_state = hierarchy(two_compartment=True)
    with pytest.raises(RunInputError, match="one state variable per unit"):
        bs.credit.rflo(two, two_state, output="out.rate")
    with pytest.raises(RunInputError, match="no 'targets'"):
        bs.credit.eprop(net, state, output="out.rate")(params, (), {"inputs": {}}, None)
    with pytest.raises(RunInputError, match="targets have shape"):
        bad = batch()
        bad["targets"] = bad["targets"][..., :1]
        bs.credit.eprop(net, state, output="out.rate")(params, (), bad, None)
    with pytest.raises(RunInputError, match="pass one"):
        bs.credit.node_perturbation(net, state, output="out.rate")(params, (), batch(), None)
    with pytest.raises(RunInputError, match="not both"):
        bs.credit.node_perturbation(net, state, output="out.rate", reward="out.rate")
    with pytest.raises(RunInputError, match="baseline must be"):
        bs.credit.node_perturbation(net, state, output="out.rate", baseline="none")
    with pytest.raises(RunInputError, match="not input ports"):
        bs.credit.node_perturbation(net, state, output="out.rate", ports=["out.rate"])
    far = bs.Connectome()
    far.add("a", Cortex(4))
    far.add("b", Cortex(4))
    far.add("out", bs.RatePopulation(1, activation="linear"))
    far.connect("a.rate", "b.input", delay=2)
    far.connect("b.rate", "out.input")
    far_net = bs.build(far)
    _, far_state = far_net.init(jax.random.key(0))
    with pytest.raises(RunInputError, match=r"\['a'\] have no zero-delay projection"):
        bs.credit.eprop(far_net, far_state, output="out.rate", feedback="symmetric")
    bs.credit.eprop(far_net, far_state, output="out.rate")  # random feedback reaches every area
    oscillating = bs.Connectome()
    oscillating.add("h", Cortex(4))
    oscillating.add("node", bs.HopfPopulation(4))  # not unit_local
    oscillating.connect("h.rate", "node.x_in")
    hopf = bs.build(oscillating)
    with pytest.raises(RunInputError, match="must be a unit_local region"):
        bs.credit.eprop(hopf, hopf.init(jax.random.key(0))[1], output="node.x")


@pytest.mark.parametrize("kind", ["alif", "spiking_cortex"])
def test_eprop_of_spiking_units_without_recurrent_weights_is_the_exact_surrogate_gradient(kind):
    """Every state variable of a neuron (V, synaptic current, refractory clock, adaptation, the
    filtered rate) is followed forward, so with no path between neurons nothing is dropped."""
    from regions import SpikingCortex

    steps = 40
    brain = bs.Connectome()
    brain.add("inp", bs.RatePopulation(3, activation="linear"))
    if kind == "alif":
        brain.add("h", bs.LIFPopulation(8, adaptive=True, random_init=True))
        signal = "h.spike"
    else:
        brain.add("h", SpikingCortex(8, exc_fraction=None))
        signal = "h.rate"
    brain.connect("inp.rate", "h.input", weight=300 * np.abs(np.random.default_rng(1).normal(size=(3, 8))))
    brain.add("out", bs.RatePopulation(2, activation="linear"))
    brain.connect(signal, "out.input")
    net = bs.build(brain, dt=1.0)
    params, state = net.init(jax.random.key(0), overrides={"inp.tau": 1.0, "out.tau": 1.0})
    if kind == "spiking_cortex":
        params["h"]["W_rec"] = jnp.zeros_like(params["h"]["W_rec"])
    rng = np.random.default_rng(0)
    data = {"inputs": {"inp.input": jnp.asarray(rng.random((2, steps, 3)), jnp.float32)},
            "targets": jnp.asarray(rng.normal(size=(2, steps, 2)), jnp.float32)}
    _, trace = net.run(params, state, steps, inputs={"inp.input": data["inputs"]["inp.input"][0]},
                       record=["h.spike"])
    assert float(trace["h.spike"].sum()) > 20  # the neurons spike: the surrogate paths are in play
    _, grads = exact(net, params, state, data)
    rule = bs.credit.eprop(net, state, output="out.rate", feedback="symmetric", regions=LEARNERS,
                           signal_ports={"h": signal})
    _, updates, _, _ = jax.jit(lambda p: rule(p, (), data, None))(params)
    for path in synaptic_paths(params):
        g = bs.get(grads, path)
        np.testing.assert_allclose(bs.get(updates, path), g, rtol=1e-4, atol=1e-6 * float(jnp.abs(g).max()),
                                   err_msg=path)
