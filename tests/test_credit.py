"""brainsim.credit: feedback alignment against exact backprop, and the alignment measure."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import brainsim as bs

T = 3
STEPS = 600
SIZES = {"inp": 4, "h1": 12, "h2": 10, "out": 3}


def stack(hidden=("h1", "h2")):
    """A feedforward stack of areas, one step deep each (tau = dt, no delays)."""
    brain = bs.Connectome()
    names = ["inp", *hidden, "out"]
    for name in names:
        brain.add(name, bs.RatePopulation(n=SIZES[name], activation="linear" if name in ("inp", "out")
                                          else "tanh"))
    for a, b in zip(names, names[1:]):
        brain.connect(f"{a}.rate", f"{b}.input", scale=1.5)
    return brain


def overrides(brain):
    return {f"{name}.tau": 1.0 for name in brain.regions}


def loss_fn(net, state, drive, target):
    def loss(params):
        _, trace = net.run(params, state, T, inputs={"inp.input": drive}, record=["out.rate"])
        return jnp.mean((trace["out.rate"] - target) ** 2)
    return loss


def problem(seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(T, SIZES["inp"])).astype(np.float32),
            rng.normal(size=(T, SIZES["out"])).astype(np.float32))


def gradients(brain, key):
    net = bs.build(brain, dt=1.0)
    params, state = net.init(key, overrides=overrides(brain))
    drive, target = problem()
    return jax.grad(loss_fn(net, state, drive, target))(params), params, state


def test_symmetric_feedback_is_exact_backprop(key):
    exact, params, _ = gradients(stack(), key)
    aligned, aligned_params, _ = gradients(bs.credit.feedback_alignment(stack(), symmetric=True), key)
    assert jax.tree.structure(bs.credit.plain(aligned)) == jax.tree.structure(params)
    for path in bs.paths(params):
        np.testing.assert_allclose(bs.get(aligned, path), bs.get(exact, path), rtol=1e-5, atol=1e-7,
                                   err_msg=path)
    np.testing.assert_array_equal(bs.get(aligned_params, "inp.rate->h1.input.weight"),
                                  bs.get(params, "inp.rate->h1.input.weight"))  # the same forward start


def test_symmetric_feedback_is_exact_with_dale_signs_a_given_start_jit_and_vmap(key):
    brain = bs.Connectome()
    brain.add("inp", bs.RatePopulation(n=4, activation="linear"))
    brain.add("h", bs.RatePopulation(n=8, activation="tanh", exc_fraction=0.75))
    brain.add("out", bs.RatePopulation(n=3, activation="linear"))
    brain.connect("inp.rate", "h.input", weight=np.random.default_rng(2).normal(size=(4, 8)))
    brain.connect("h.rate", "out.input")  # signed by h's Dale's law
    drive, target = problem()
    results = []
    for b in (brain, bs.credit.feedback_alignment(brain, symmetric=True)):
        net = bs.build(b, dt=1.0)
        params, state = net.init(key, overrides=overrides(b))
        grad = jax.grad(loss_fn(net, state, drive, target))
        eager = bs.credit.plain(grad(params))
        jitted = bs.credit.plain(jax.jit(grad)(params))
        both = jax.tree.map(lambda a, c: jnp.stack([a, c]), params, jax.tree.map(lambda a: 1.1 * a, params))
        mapped = bs.credit.plain(jax.vmap(grad)(both))
        for path in bs.paths(eager):
            np.testing.assert_allclose(bs.get(jitted, path), bs.get(eager, path), rtol=1e-5, atol=1e-7)
            np.testing.assert_allclose(bs.get(mapped, path)[0], bs.get(eager, path), rtol=1e-5, atol=1e-7)
        results.append(eager)
    for path in bs.paths(results[0]):
        np.testing.assert_allclose(bs.get(results[1], path), bs.get(results[0], path), rtol=1e-5, atol=1e-7,
                                   err_msg=path)


def test_random_feedback_changes_only_what_lies_behind_it(key):
    exact, _, _ = gradients(stack(), key)
    aligned, _, state = gradients(bs.credit.feedback_alignment(stack()), key)
    last = "h2.rate->out.input.weight"  # its error comes straight from the loss: exact
    np.testing.assert_allclose(bs.get(aligned, last), bs.get(exact, last), rtol=1e-5)
    cosines = bs.credit.alignment(aligned, exact)
    assert cosines[last] == pytest.approx(1.0, abs=1e-6) and "dt" not in cosines
    for earlier in ("inp.rate->h1.input.weight", "h1.rate->h2.input.weight"):
        assert cosines[earlier] < 0.9, earlier  # a random direction, not the gradient's
        assert np.all(np.isfinite(bs.get(aligned, earlier)))
    assert float(bs.get(aligned, "h1.rate->h2.input.feedback_scale")) == 0.0  # a param, never trained
    feedback = state["projections"]["h1.rate->h2.input"]["feedback"]
    assert feedback.shape == (SIZES["h1"], SIZES["h2"])


def test_the_forward_weights_come_to_align_with_the_feedback(key):
    """One hidden area learning a fixed random teacher by SGD: the loss falls, and the hidden
    layer's update turns from orthogonal to the exact gradient to within 60 degrees of it
    (Lillicrap et al. 2016, Fig. 2; on this seed: -0.12 at the start, 0.62 after 600 steps)."""
    brain = stack(hidden=("h1",))
    teacher_net = bs.build(brain, dt=1.0)
    teacher, state0 = teacher_net.init(jax.random.key(99), overrides=overrides(brain))
    aligned_brain = bs.credit.feedback_alignment(brain)
    net = bs.build(aligned_brain, dt=1.0)
    exact_net = bs.build(brain, dt=1.0)
    params, state = net.init(key, overrides=overrides(brain))
    rng = np.random.default_rng(1)
    drives = rng.normal(size=(64, T, SIZES["inp"])).astype(np.float32)
    targets = jax.vmap(lambda d: teacher_net.run(teacher, state0, T, inputs={"inp.input": d},
                                                 record=["out.rate"])[1]["out.rate"])(drives)

    exact_state = exact_net.init(key, overrides=overrides(brain))[1]

    def batch_loss(model, start):
        def loss(p):
            return jnp.mean(jax.vmap(lambda d, y: loss_fn(model, start, d, y)(p))(drives, targets))
        return loss

    def first_layer_alignment(p):
        rule = jax.grad(batch_loss(net, state))(p)
        exact = jax.grad(batch_loss(exact_net, exact_state))(bs.credit.plain(p))
        first = "inp.rate->h1.input"
        return bs.credit.alignment(rule[first]["weight"], exact[first]["weight"])

    before = first_layer_alignment(params)["all"]
    start = float(batch_loss(net, state)(params))
    result = bs.train.fit(lambda p, batch, key: batch_loss(net, state)(p), params, optax.sgd(0.2),
                          lambda key, step: None, steps=STEPS, progress=False)
    after = first_layer_alignment(result.params)["all"]
    assert float(batch_loss(net, state)(result.params)) < 0.1 * start
    assert before < 0.1 and after > 0.5, (before, after)  # from orthogonal to within 60 degrees


def test_weight_decay_leaves_the_feedback_scale_alone(key):
    brain = bs.credit.feedback_alignment(stack())
    net = bs.build(brain, dt=1.0)
    params, state = net.init(key, overrides=overrides(brain))
    drive, target = problem()
    loss = loss_fn(net, state, drive, target)
    result = bs.train.fit(lambda p, batch, k: loss(p), params, optax.adamw(0.01, weight_decay=0.5),
                          lambda k, step: None, steps=20, progress=False)
    assert float(bs.get(result.params, "h1.rate->h2.input.feedback_scale")) == 1.0
    assert not np.array_equal(bs.get(result.params, "h1.rate->h2.input.weight"),
                              bs.get(params, "h1.rate->h2.input.weight"))


def test_alignment_counts_a_missing_update_as_orthogonal():
    g = {"a": jnp.array([1.0, 0.0]), "b": jnp.array([0.0, 2.0]), "dt": jnp.array(5.0)}
    u = {"a": jnp.zeros(2), "b": jnp.array([0.0, 1.0]), "dt": jnp.array(-5.0)}
    cos = bs.credit.alignment(u, g)
    assert cos["a"] == 0.0 and cos["b"] == pytest.approx(1.0) and "dt" not in cos
    assert cos["all"] == pytest.approx(2.0 / np.sqrt(5.0))  # <u, g> / (|u| |g|) over a and b
    assert bs.credit.alignment(jnp.ones(3), jnp.array([1.0, 0.0, 0.0]))["all"] == pytest.approx(3 ** -0.5)


def test_bad_requests_are_refused():
    with pytest.raises(ValueError, match="no projections"):
        bs.credit.feedback_alignment(stack(), only=["inp.rate->out.input"])
    lone = bs.Connectome().add("a", bs.RatePopulation(n=3))
    lone.connect("a.rate", "a.input", delay=1)  # recurrent: inside one region, not between two
    with pytest.raises(ValueError, match="no dense projection between two"):
        bs.credit.feedback_alignment(lone)
    with pytest.raises(ValueError, match="are not dense projections"):
        bs.credit.feedback_alignment(lone, only=["a.rate->a.input"])
    with pytest.raises(TypeError, match="Connectome"):
        bs.credit.feedback_alignment("brain")
    with pytest.raises(ValueError, match="share no param paths"):
        bs.credit.alignment({"a": jnp.ones(2)}, {"b": jnp.ones(2)})
    with pytest.raises(ValueError, match="shape"):
        bs.credit.alignment({"a": jnp.ones(2)}, {"a": jnp.ones(3)})


def test_direct_feedback_alignment_sends_the_output_error_to_every_area_through_its_own_matrix(key):
    brain = bs.credit.direct_feedback_alignment(stack(), "out")
    kinds = {p.name: type(p.kind).__name__ for p in brain.projections}
    assert kinds == {"inp.rate->h1.input": "Detached", "h1.rate->h2.input": "Detached",
                     "h2.rate->out.input": "FeedbackAligned", "h1.rate->out.input": "DirectFeedback"}
    net = bs.build(brain, dt=1.0)
    params, state = net.init(key, overrides=overrides(brain))
    drive, target = problem()
    grads = jax.grad(loss_fn(net, state, drive, target))(params)
    # by hand, step by step (tau = dt: each step is an independent feedforward pass)
    w = {name: np.asarray(params[name]["weight"]) for name in kinds if "weight" in params[name]}
    bias = {name: np.asarray(params[name]["bias"]) for name in SIZES}
    b1 = np.asarray(state["projections"]["h1.rate->out.input"]["feedback"])
    b2 = np.asarray(state["projections"]["h2.rate->out.input"]["feedback"])
    expected = {name: np.zeros_like(m) for name, m in w.items()}
    for x, t in zip(drive, target):
        a0 = x + bias["inp"]
        h1 = np.tanh(a0 @ w["inp.rate->h1.input"] + bias["h1"])
        h2 = np.tanh(h1 @ w["h1.rate->h2.input"] + bias["h2"])
        e = 2 * (h2 @ w["h2.rate->out.input"] + bias["out"] - t) / (T * SIZES["out"])
        expected["h2.rate->out.input"] += np.outer(h2, e)
        expected["h1.rate->h2.input"] += np.outer(h1, (e @ b2.T) * (1 - h2 ** 2))
        expected["inp.rate->h1.input"] += np.outer(a0, (e @ b1.T) * (1 - h1 ** 2))
    for name, value in expected.items():
        np.testing.assert_allclose(grads[name]["weight"], value, rtol=1e-4, atol=1e-6, err_msg=name)
    assert jax.tree.structure(bs.credit.plain(params)) == jax.tree.structure(net_params_of(stack(), key))


def net_params_of(brain, key):
    return bs.build(brain, dt=1.0).init(key, overrides=overrides(brain))[0]


def test_direct_feedback_alignment_learns_and_its_updates_come_to_align_with_the_gradient(key):
    brain = bs.credit.direct_feedback_alignment(stack(), "out")
    net = bs.build(brain, dt=1.0)
    params, state = net.init(key, overrides=overrides(brain))
    teacher = net_params_of(stack(), jax.random.key(11))
    plain_net = bs.build(stack(), dt=1.0)
    _, plain_state = plain_net.init(key, overrides=overrides(stack()))
    rng = np.random.default_rng(4)
    drive = rng.normal(size=(T, SIZES["inp"])).astype(np.float32)
    _, trace = plain_net.run(teacher, plain_state, T, inputs={"inp.input": drive}, record=["out.rate"])
    target = np.asarray(trace["out.rate"])
    loss = loss_fn(net, state, drive, target)
    exact = loss_fn(plain_net, plain_state, drive, target)
    def cosines(p):
        return bs.credit.alignment(bs.credit.plain(jax.grad(loss)(p)), jax.grad(exact)(bs.credit.plain(p)))

    start = cosines(params)
    step = jax.jit(lambda p: jax.tree.map(lambda a, g: a - 0.2 * g, p, jax.grad(loss)(p)))
    first = float(loss(params))
    for _ in range(STEPS):
        params = step(params)
    end = cosines(params)
    assert float(loss(params)) < 0.2 * first
    assert end["inp.rate->h1.input.weight"] > start["inp.rate->h1.input.weight"] + 0.2, (start, end)


def test_direct_feedback_alignment_refuses_what_it_cannot_wire():
    with pytest.raises(bs.WiringError, match="no region 'readout'"):
        bs.credit.direct_feedback_alignment(stack(), "readout")
    lone = bs.Connectome()
    lone.add("out", bs.RatePopulation(n=2))
    with pytest.raises(bs.WiringError, match="name the output's input port"):
        bs.credit.direct_feedback_alignment(lone, "out")
    with pytest.raises(bs.WiringError, match="carries activity"):
        bs.credit.direct_feedback_alignment(lone, "out.input")
    with pytest.raises(TypeError, match="needs a Connectome"):
        bs.credit.direct_feedback_alignment("brain", "out")
