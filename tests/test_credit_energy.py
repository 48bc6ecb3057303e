"""brainsim.credit's energy rules: predictive coding tends to backprop as the nudge shrinks
(Whittington & Bogacz 2017); prospective configuration moves the output straighter at the target
(Song et al. 2024); both train a stack through bs.train.fit."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import brainsim as bs
from brainsim.credit.target_alignment import outputs
from brainsim.errors import RunInputError
from regions import Cortex


def stack(depth=3, seed=0, widths=(4, 10, 8), n_out=3):
    names = ["inp", *[f"h{i}" for i in range(depth - 1)], "out"]
    brain = bs.Connectome()
    for i, name in enumerate(names):
        n = n_out if name == "out" else widths[min(i, len(widths) - 1)]
        brain.add(name, bs.RatePopulation(n, activation="linear" if name in ("inp", "out") else "tanh"))
    for a, b in zip(names, names[1:]):
        brain.connect(f"{a}.rate", f"{b}.input", scale=1.5)
    net = bs.build(brain, dt=1.0)
    params, state = net.init(jax.random.key(seed), overrides={f"{n}.tau": 1.0 for n in names})
    return net, params, state


def samples(size=2, steps=3, seed=0, n_in=4, n_out=3):
    rng = np.random.default_rng(seed)
    return {"inputs": {"inp.input": jnp.asarray(rng.normal(size=(size, steps, n_in)), jnp.float32)},
            "targets": jnp.asarray(rng.normal(size=(size, steps, n_out)), jnp.float32),
            "mask": jnp.asarray(rng.random((size, steps)) < 0.8, jnp.float32)}


def relative_errors(update, grads, params):
    paths = [p for p in bs.paths(params) if p.endswith(("weight", "bias"))]
    size = lambda tree, p: jnp.linalg.norm(bs.get(tree, p))  # noqa: E731
    return {p: float(jnp.linalg.norm(bs.get(update, p) - bs.get(grads, p)) / size(grads, p)) for p in paths}


def test_predictive_coding_tends_to_the_backprop_gradient_as_the_nudge_shrinks():
    net, params, state = stack()
    data = samples()
    loss, grads = jax.value_and_grad(bs.train.trial_loss(net, state, output="out.rate"))(params, data)
    errors = {}
    for nudge in (0.5, 0.001):
        rule = bs.credit.predictive_coding(net, state, output="out.rate", nudge=nudge, inference_steps=1000)
        value, update, _, _ = jax.jit(lambda p: rule(p, (), data, None))(params)
        np.testing.assert_allclose(value, loss, rtol=1e-5)  # the loss is the network's own
        errors[nudge] = relative_errors(update, grads, params)
    assert max(errors[0.001].values()) < 0.02, errors[0.001]
    assert min(errors[0.5].values()) > 0.1, errors[0.5]


def test_inference_lowers_the_energy_and_the_clamped_output_spreads_the_error_down_the_stack():
    net, params, state = stack()
    rule = bs.credit.prospective_configuration(net, state, output="out.rate", inference_steps=400)
    drive, target = {"inp.input": jnp.ones(4)}, jnp.asarray([1.0, -1.0, 0.5])
    start = {r: v for r, v in rule.feedforward(params, drive).items() if r in ("h0", "h1")}
    settled = rule.infer(params, drive, target)
    before, after = (float(rule.energy(params, v, drive, target)) for v in (start, settled))
    assert after < before
    force = jax.grad(lambda v: rule.energy(params, v, drive, target))
    size = lambda tree: float(jnp.sqrt(sum(jnp.sum(x ** 2) for x in jax.tree.leaves(tree))))  # noqa: E731
    assert size(force(settled)) < 1e-3 * size(force(start))  # an equilibrium: dF/dx = 0
    values = {**rule._clamped(params, drive), **settled, "out": target}
    eps = {r: values[r] - rule._prediction(params, values, r, drive) for r in ("h1", "out")}
    first = target - rule.feedforward(params, drive)["out"]
    assert float(jnp.linalg.norm(eps["out"])) < float(jnp.linalg.norm(first))
    assert float(jnp.linalg.norm(eps["h1"])) > 0.05  # the hidden area took part of the error


def test_prospective_configuration_moves_one_sample_straighter_to_its_target_than_backprop():
    better = []
    for seed in range(6):
        net, params, state = stack(depth=4, seed=seed, widths=(8, 16, 16, 16))
        data = samples(size=1, steps=1, seed=seed, n_in=8)
        del data["mask"]
        alignment = {}
        for name, rule in (("bp", bs.credit.bptt(net, state, output="out.rate")),
                           ("pcf", bs.credit.prospective_configuration(net, state, output="out.rate",
                                                                      inference_steps=1000))):
            _, update, _, _ = jax.jit(lambda p: rule(p, (), data, None))(params)
            norm = jnp.sqrt(sum(jnp.sum(u ** 2) for u in jax.tree.leaves(update)))
            update = jax.tree.map(lambda u: u / norm, update)
            alignment[name] = bs.credit.target_alignment(net, state, params, update, data, output="out.rate")
        better.append((alignment["pcf"], alignment["bp"]))
    assert sum(pcf > bp for pcf, bp in better) >= 5, better


@pytest.mark.parametrize("method", ["predictive_coding", "prospective_configuration"])
def test_energy_rules_train_a_stack_through_fit_and_run_under_vmap(method):
    net, params, state = stack()
    rule = getattr(bs.credit, method)(net, state, output="out.rate", inference_steps=100)
    teacher = stack(seed=7)[1]  # a network of the same shape sets the targets

    def data(key, _step):
        x = jax.random.normal(key, (16, 1, 4))
        trials = {"inputs": {"inp.input": x}, "targets": jnp.zeros((16, 1, 3))}
        return {**trials, "targets": outputs(net, state, teacher, trials, "out.rate")}

    result = bs.train.fit(rule, params, optax.adam(1e-2), data, steps=150, progress=False,
                          trainable=[p for p in params if "->" in p])
    loss = result.history["loss"]
    assert np.mean(loss[-10:]) < 0.3 * np.mean(loss[:5]), (loss[:5], loss[-10:])
    seeds = jax.vmap(lambda k: net.init(k, overrides={f"{n}.tau": 1.0 for n in net.regions})[0])(
        jax.random.split(jax.random.key(2), 3))
    losses, updates, _, _ = jax.vmap(lambda p: rule(p, (), samples(), None))(seeds)
    assert losses.shape == (3,) and all(np.all(np.isfinite(u)) for u in jax.tree.leaves(updates))


def test_energy_rules_refuse_what_is_not_a_one_step_feedforward_stack():
    net, params, state = stack()
    with pytest.raises(RunInputError, match="linear output region"):
        brain = bs.Connectome()
        brain.add("inp", bs.RatePopulation(2, activation="linear"))
        brain.add("out", bs.RatePopulation(2, activation="tanh"))
        brain.connect("inp.rate", "out.input")
        other = bs.build(brain)
        bs.credit.prospective_configuration(other, other.init(jax.random.key(0))[1], output="out.rate")
    with pytest.raises(RunInputError, match="Cortex.. are not"):
        brain = bs.Connectome()
        brain.add("inp", Cortex(2))
        brain.add("out", bs.RatePopulation(2, activation="linear"))
        brain.connect("inp.rate", "out.input")
        other = bs.build(brain)
        bs.credit.predictive_coding(other, other.init(jax.random.key(0))[1], output="out.rate")
    with pytest.raises(RunInputError, match="zero-delay"):
        brain = bs.Connectome()
        brain.add("inp", bs.RatePopulation(2, activation="linear"))
        brain.add("out", bs.RatePopulation(2, activation="linear"))
        brain.connect("inp.rate", "out.input", delay=2)
        other = bs.build(brain)
        bs.credit.predictive_coding(other, other.init(jax.random.key(0))[1], output="out.rate")
    with pytest.raises(RunInputError, match="set tau = dt"):
        slow = {**params, "h0": {**params["h0"], "tau": jnp.float32(5.0)}}
        bs.credit.predictive_coding(net, state, output="out.rate")(slow, (), samples(), None)
    with pytest.raises(RunInputError, match="nudge > 0"):
        bs.credit.predictive_coding(net, state, output="out.rate", nudge=0.0)
    with pytest.raises(RunInputError, match="lr > 0"):
        bs.credit.target_alignment(net, state, params, params, samples(), output="out.rate", lr=0.0)
