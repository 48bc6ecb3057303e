"""Every wiring or run-argument mistake raises a clear brainsim error."""

import dataclasses
import math

import jax.numpy as jnp
import numpy as np
import pytest
from helpers import two_loop

import brainsim as bs


def test_unknown_region_lists_valid_names():
    brain = two_loop()
    with pytest.raises(bs.WiringError, match=r"unknown region 'c'.*\['a', 'b'\]"):
        brain.connect("c.rate", "a.input")


def test_unknown_port_lists_valid_ports():
    brain = two_loop()
    with pytest.raises(bs.WiringError, match=r"no output port 'spikes'.*\['rate'\]"):
        brain.connect("a.spikes", "b.input")
    with pytest.raises(bs.WiringError, match=r"'input' is an input"):
        brain.connect("a.input", "b.rate")


def test_malformed_path():
    with pytest.raises(bs.WiringError, match="'region.port'"):
        two_loop().connect("a", "b.input")


@pytest.mark.parametrize("kind", ["one_to_one", "identity"])
def test_shape_mismatch_names_both_ends(kind):
    brain = two_loop(n_a=6, n_b=4)
    with pytest.raises(bs.WiringError, match=r"a\.rate has shape \(6,\).*b\.input has shape \(4,\)"):
        brain.connect("a.rate", "b.input", kind=kind, delay=3)


def test_matrix_of_wrong_shape():
    brain = two_loop(n_a=6, n_b=4)
    with pytest.raises(bs.WiringError, match=r"must have shape \(4, 6\), got \(6, 4\)"):
        brain.connect("b.rate", "a.input", weight=np.zeros((6, 4)), delay=1)


def test_sparse_fan_in_out_of_range():
    brain = two_loop(n_a=6, n_b=4)
    with pytest.raises(bs.WiringError, match="fan_in"):
        brain.connect("a.rate", "a.input", kind="sparse", fan_in=7, delay=1)


def test_duplicate_region_name():
    brain = two_loop()
    with pytest.raises(bs.WiringError, match="'a' already exists"):
        brain.add("a", bs.RatePopulation(n=3))


@pytest.mark.parametrize("name", ["a.b", "1x", "", "x->y", "dt"])
def test_bad_region_names(name):
    with pytest.raises(bs.WiringError):
        bs.Connectome().add(name, bs.RatePopulation(n=3))


def test_cycle_without_delay_is_named_with_a_fix():
    brain = bs.Connectome()
    for name in "abc":
        brain.add(name, bs.RatePopulation(n=3))
    brain.connect("a.rate", "b.input")
    brain.connect("b.rate", "c.input")
    brain.connect("c.rate", "a.input")
    with pytest.raises(bs.WiringError) as info:
        bs.build(brain)
    message = str(info.value)
    assert "cycle without delay" in message
    for hop in ("a.rate->b.input", "b.rate->c.input", "c.rate->a.input"):
        assert hop in message
    assert "delay=1" in message


def test_zero_delay_self_loop_is_refused_where_it_is_made():
    brain = bs.Connectome().add("a", bs.RatePopulation(n=3))
    with pytest.raises(bs.WiringError, match=r"a\.rate -> a\.input: .*cycle without delay.*delay=1"):
        brain.connect("a.rate", "a.input")
    with pytest.raises(bs.WiringError, match="1 step or more"):
        brain.connect("a.rate", "a.input", delay=np.zeros((3, 3), int))  # per-edge, all zero
    brain.connect("a.rate", "a.input", ms=0.0)  # in ms: steps are known only at build
    with pytest.raises(bs.WiringError, match=r"a -> a"):
        bs.build(brain)


def test_cycle_broken_by_a_delay_builds():
    brain = bs.Connectome().add("a", bs.RatePopulation(n=3))
    brain.connect("a.rate", "a.input", delay=1)
    bs.build(brain)


@dataclasses.dataclass(frozen=True)
class NeedsDrive(bs.Region):
    """A region whose input must be wired."""

    n: int = 3

    @property
    def inputs(self):
        return {"drive": bs.Port(self.n, required=True)}

    @property
    def outputs(self):
        return {"out": bs.Port(self.n)}

    def init(self, key):
        return {}, {}

    def step(self, params, state, inputs, ctx):
        return state, {"out": inputs["drive"]}


def test_required_input_left_unconnected():
    brain = bs.Connectome().add("r", NeedsDrive())
    with pytest.raises(bs.WiringError, match=r"required input r\.drive is not connected"):
        bs.build(brain)
    brain.add("src", bs.RatePopulation(n=3))
    brain.connect("src.rate", "r.drive", kind="identity")
    bs.build(brain)


@pytest.mark.parametrize("dt", [0.0, -1.0, math.nan, math.inf, "1"])
def test_bad_dt(dt):
    with pytest.raises(bs.WiringError, match="dt"):
        bs.build(two_loop(), dt=dt)


@pytest.mark.parametrize(
    "kwargs", [{"delay": -1}, {"delay": 1.5}, {"ms": -2.0}, {"ms": math.nan}, {"ms": math.inf},
               {"delay": 1, "ms": 1.0}]
)
def test_bad_delay(kwargs):
    with pytest.raises(bs.WiringError, match="delay|ms"):
        two_loop().connect("a.rate", "a.input", **kwargs)


def test_delay_in_ms_is_converted_with_dt():
    brain = bs.Connectome().add("a", bs.RatePopulation(n=3))
    brain.connect("a.rate", "a.input", ms=2.0)
    net = bs.build(brain, dt=0.5)
    assert net.projections[0].delay == 4


@dataclasses.dataclass(frozen=True)
class WrongOutput(bs.Region):
    @property
    def inputs(self):
        return {"x": bs.Port(3)}

    @property
    def outputs(self):
        return {"y": bs.Port(3)}

    def init(self, key):
        return {}, {}

    def step(self, params, state, inputs, ctx):
        return state, {"y": jnp.zeros(4)}


def test_region_breaking_its_declared_ports_is_caught_at_build():
    brain = bs.Connectome().add("w", WrongOutput())
    with pytest.raises(bs.WiringError, match=r"output 'y' has shape \(4,\).*declares \(3,\)"):
        bs.build(brain)


def test_unhashable_region_is_refused():
    @dataclasses.dataclass  # not frozen, so not hashable
    class Mutable(bs.Region):
        sizes: list

        inputs = property(lambda self: {})
        outputs = property(lambda self: {})
        init = step = None

    with pytest.raises(bs.WiringError, match="not hashable"):
        bs.Connectome().add("m", Mutable([3]))


# -- run arguments ------------------------------------------------------------

@pytest.fixture
def net():
    return bs.build(two_loop())


def test_input_of_wrong_length(net, key):
    params, state = net.init(key)
    with pytest.raises(bs.RunInputError, match=r"shape \(9, 6\), expected .* \(10, 6\)"):
        net.run(params, state, 10, inputs={"a.input": jnp.zeros((9, 6))})


def test_input_of_wrong_port_shape(net, key):
    params, state = net.init(key)
    with pytest.raises(bs.RunInputError, match=r"expected .* \(10, 6\)"):
        net.run(params, state, 10, inputs={"a.input": jnp.zeros((10, 4))})


def test_input_function_of_wrong_shape(net, key):
    params, state = net.init(key)
    with pytest.raises(bs.RunInputError, match=r"returns shape \(4,\).*\(6,\)"):
        net.run(params, state, 10, inputs={"a.input": lambda t: jnp.zeros(4)})


def test_input_to_unknown_or_output_port(net, key):
    params, state = net.init(key)
    with pytest.raises(bs.RunInputError, match="output port"):
        net.run(params, state, 10, inputs={"a.rate": jnp.zeros((10, 6))})
    with pytest.raises(bs.RunInputError, match=r"\['a.input', 'b.input'\]"):
        net.run(params, state, 10, inputs={"c.input": jnp.zeros((10, 6))})


def test_recording_unknown_port(net, key):
    params, state = net.init(key)
    with pytest.raises(bs.RunInputError, match=r"cannot record 'a\.spike'.*a\.rate"):
        net.run(params, state, 10, record=["a.spike"])


@pytest.mark.parametrize(
    "kwargs, match",
    [({"every": 3}, "divide"), ({"every": 0}, "every"), ({"chunk": 0}, "chunk"),
     ({"every": 2, "chunk": 3}, "multiple"), ({"reduce": "median", "record": ["a.rate"]}, "reducer")],
)
def test_bad_run_options(net, key, kwargs, match):
    params, state = net.init(key)
    with pytest.raises(bs.RunInputError, match=match):
        net.run(params, state, 10, **kwargs)


def test_bad_steps(net, key):
    params, state = net.init(key)
    with pytest.raises(bs.RunInputError, match="steps"):
        net.run(params, state, 0)


def test_init_needs_a_typed_key(net):
    import jax

    with pytest.raises(TypeError, match="jax.random.key"):
        net.init(jax.random.PRNGKey(0))


def test_identity_from_a_dale_port_is_refused():
    brain = bs.Connectome()
    brain.add("e", bs.RatePopulation(n=4, exc_fraction=0.5))
    brain.add("r", bs.RatePopulation(n=4))
    with pytest.raises(bs.WiringError, match="one_to_one"):
        brain.connect("e.rate", "r.input", kind="identity")


def test_a_short_positive_delay_in_ms_is_still_a_delay():
    brain = bs.Connectome().add("a", bs.RatePopulation(n=3))
    brain.connect("a.rate", "a.input", ms=0.4)
    assert bs.build(brain, dt=1.0).projections[0].delay == 1


def test_numpy_scalars_are_accepted():
    brain = bs.Connectome().add("a", bs.RatePopulation(n=int(np.int64(3))))
    brain.connect("a.rate", "a.input", ms=np.float32(2.0), scale=np.float32(0.5))
    net = bs.build(brain, dt=np.float32(0.5))
    assert net.projections[0].delay == 4 and bs.Port(np.int64(3)).shape == (3,)


def test_state_or_params_of_another_network_are_named(key):
    net = bs.build(two_loop(n_a=6))
    other = bs.build(two_loop(n_a=5))
    params, state = net.init(key)
    other_params, other_state = other.init(key)
    with pytest.raises(bs.RunInputError, match=r"state do not fit.*\['regions'\]\['a'\]\['x'\]"):
        net.run(params, other_state, 5)
    with pytest.raises(bs.RunInputError, match="params do not fit"):
        net.run(other_params, state, 5)


def test_step_checks_its_inputs(key):
    net = bs.build(two_loop())
    params, state = net.init(key)
    with pytest.raises(bs.RunInputError, match="a.inpt"):
        net.step(params, state, {"a.inpt": jnp.zeros(6)})
    with pytest.raises(bs.RunInputError, match=r"\(4,\).*\(6,\)"):
        net.step(params, state, {"a.input": jnp.zeros(4)})
