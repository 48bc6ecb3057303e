"""Every region of the library honours the Region contract.

For each region: declared shapes and dtypes; finite outputs over a long
random drive; vmap over params equals a loop; jit equals disable_jit;
gradients of a short run match finite differences (float64).
"""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import brainsim as bs
from brainsim.dtypes import float_dtype
from regions.basal_ganglia import BasalGanglia
from regions.cerebellum import Cerebellum, InferiorOlive
from regions.cortex import Cortex, SpikingCortex
from regions.critic import Critic
from regions.hippocampus import Hippocampus
from regions.neuromodulators import Acetylcholine, Dopamine
from regions.recurrent import RecurrentCortex
from regions.thalamus import Thalamus

# region, drive scale, the params whose gradients are checked
REGIONS = {
    "cortex": (Cortex(12), 0.5, ["tau", "W_rec", "bias"]),
    "cortex_dale_apical": (Cortex(12, exc_fraction=0.75, two_compartment=True), 0.5,
                           ["W_rec", "g_A", "tau_A"]),
    "spiking_cortex": (SpikingCortex(10), 5.0, ["C", "g_L", "tau_syn"]),  # sub-threshold in check_grads
    "cerebellum": (Cerebellum(8, 40, 3), 1.0, ["eta", "W_md", "bias"]),
    "inferior_olive": (InferiorOlive(3), 1.0, []),
    "basal_ganglia": (BasalGanglia(4, n_cortex=5), 0.3, ["w_str", "w_stn_gpi", "eta", "tau"]),
    "thalamus": (Thalamus(6, n_inhibition=3, n_gain=5), 0.5, ["tau", "k", "W_g"]),
    "hippocampus": (Hippocampus(6, ca3=True), 0.5, ["gamma", "alpha", "R", "beta"]),
    "dopamine": (Dopamine(), 1.0, ["gamma"]),
    "dopamine_distributional": (Dopamine(channels=4), 1.0, ["gamma", "alpha_plus", "alpha_minus"]),
    "acetylcholine": (Acetylcholine(3), 1.0, ["tau_fast", "tau_slow"]),
    "critic": (Critic(5), 1.0, ["eta"]),
    "lstm_cortex": (RecurrentCortex(6, n_in=4), 1.0, ["ii", "hf"]),
    "gru_cortex": (RecurrentCortex(6, n_in=4, cell="gru"), 1.0, ["iz", "hn"]),
}


# Spikes have no true derivative (the surrogate replaces it), so the finite-
# difference check of a spiking region runs below threshold, V starting at
# rest, with a surrogate so sharp that it vanishes there.
SUBTHRESHOLD = {"spiking_cortex": ({"V": -60.0}, {"beta": 1000.0})}


def build(name):
    region, scale, _ = REGIONS[name]
    return bs.build(bs.Connectome().add("r", region), dt=0.5), region, scale


def random_drive(net, region, scale, steps, seed=0):
    """Gaussian drive on every rate/spike/scalar input port whose default is zero."""
    rng = np.random.default_rng(seed)
    dtype = float_dtype()
    drive = {}
    for port_name, port in region.inputs.items():
        if port.kind == "event" or port.default != 0.0:
            continue
        drive[f"r.{port_name}"] = jnp.asarray(scale * rng.normal(size=(steps, *port.shape)), dtype)
    return drive


@pytest.mark.parametrize("name", list(REGIONS))
def test_declared_shapes_and_dtypes(name, key):
    net, region, _ = build(name)
    params, state = net.init(key)
    for leaf in jax.tree_util.tree_leaves(params["r"]):
        chex.assert_type(leaf, jnp.float32)
    _, signals = net.step(params, state)
    for port_name, port in region.outputs.items():
        chex.assert_shape(signals[f"r.{port_name}"], port.shape)
        chex.assert_type(signals[f"r.{port_name}"], jnp.float32)


@pytest.mark.parametrize("name", list(REGIONS))
def test_finite_over_a_long_random_drive(name, key):
    net, region, scale = build(name)
    params, state = net.init(key)
    steps = 4000
    record = [f"r.{p}" for p in region.outputs]
    net.run(params, state, steps, inputs=random_drive(net, region, scale, steps), record=record,
            check_finite=True)  # raises NonFiniteError naming the region otherwise


@pytest.mark.parametrize("name", list(REGIONS))
def test_vmap_over_params_equals_a_loop(name, key):
    net, region, scale = build(name)
    params, state = net.init(key)
    drive = random_drive(net, region, scale, 20)
    record = [f"r.{p}" for p in region.outputs]
    factors = jnp.array([0.9, 1.0, 1.1])

    def run(factor):
        scaled = jax.tree_util.tree_map(lambda x: x * factor, params)
        scaled["dt"] = params["dt"]
        return net.run(scaled, state, 20, inputs=drive, record=record)[1]

    batched = jax.vmap(run)(factors)
    for i, factor in enumerate(factors):
        single = run(factor)
        for path in record:
            np.testing.assert_allclose(batched[path][i], single[path], rtol=2e-4, atol=1e-5)


@pytest.mark.parametrize("name", list(REGIONS))
def test_jit_equals_disable_jit(name, key):
    net, region, scale = build(name)
    params, state = net.init(key)
    drive = random_drive(net, region, scale, 4)
    record = [f"r.{p}" for p in region.outputs]
    _, compiled = net.run(params, state, 4, inputs=drive, record=record)
    with jax.disable_jit():
        _, eager = net.run(params, state, 4, inputs=drive, record=record)
    for path in record:
        np.testing.assert_allclose(compiled[path], eager[path], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", [n for n in REGIONS if REGIONS[n][2]])
def test_gradients_match_finite_differences(name, key, x64):
    net, region, scale = build(name)
    params, state = net.init(key)
    drive = random_drive(net, region, scale, 6, seed=1)
    record = [f"r.{p}" for p in region.outputs]
    checked = REGIONS[name][2]
    state_values, param_values = SUBTHRESHOLD.get(name, ({}, {}))
    for leaf, value in state_values.items():
        state["regions"]["r"][leaf] = jnp.full_like(state["regions"]["r"][leaf], value)
    for leaf, value in param_values.items():
        params = bs.set(params, f"r.{leaf}", value)

    def loss(values):
        p = {**params, "r": {**params["r"], **values}}
        _, trace = net.run(p, state, 6, inputs=drive, record=record)
        return sum(jnp.sum(jnp.sin(trace[path])) for path in record)

    check_grads(loss, ({k: params["r"][k] for k in checked},), order=1, modes=["fwd", "rev"])
