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
