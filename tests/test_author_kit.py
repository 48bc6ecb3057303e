"""What a region or rule author meets: the public kit, the rule protocol, clear refusals."""

import dataclasses
import pathlib
import re

import jax.numpy as jnp
import numpy as np
import pytest

import brainsim as bs
from brainsim.plasticity import ClimbingFibre

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_region_files_need_nothing_but_the_public_brainsim():
    private = []
    for path in sorted((ROOT / "regions").glob("*.py")):
        private += [f"{path.name}: {line}" for line in path.read_text().splitlines()
                    if re.match(r"\s*(from|import) brainsim\.", line)]
    assert private == []


@pytest.mark.parametrize("value", [True, 2.0, "3", None, 0, 2**40])
def test_one_count_check_refuses_bools_floats_and_overflow(value):
    with pytest.raises(ValueError, match="n"):
        bs.check_int("Thing", "n", value)
    with pytest.raises(ValueError):
        bs.RatePopulation(n=value)


def test_a_region_class_or_a_mutable_region_is_refused_at_add():
    with pytest.raises(bs.WiringError, match="is the class RatePopulation; add an instance"):
        bs.Connectome().add("a", bs.RatePopulation)

    @dataclasses.dataclass(eq=False)  # hashable by identity, but mutable
    class Mutable(bs.Region):
        n: int = 2
        inputs = property(lambda self: {})
        outputs = property(lambda self: {"y": bs.Port(self.n)})
        init = step = None

    with pytest.raises(bs.WiringError, match="must be a frozen dataclass"):
        bs.Connectome().add("m", Mutable())


@dataclasses.dataclass(frozen=True)
class Decay:
    """A rule written outside brainsim: every weight decays at ``rate`` per ms."""

    rate: float = 0.1
    post: str | None = None
    modulator: str | None = None

    def init(self, shape):
        return {"rate": bs.param(self.rate)}, {"steps": jnp.zeros((), jnp.int32)}

    def update(self, params, state, w, x, y, m, dt):
        return w * jnp.exp(-params["rate"] * dt), {"steps": state["steps"] + 1}


def two(n=3):
    brain = bs.Connectome()
    brain.add("a", bs.RatePopulation(n=n, activation="linear"))
    brain.add("b", bs.RatePopulation(n=n, activation="linear"))
    return brain


def test_any_rule_that_follows_the_protocol_runs(key):
    brain = two()
    brain.connect("a.rate", "b.input", plasticity=Decay(rate=0.1))
    net = bs.build(brain)
    params, state = net.init(key)
    w0 = state["projections"]["a.rate->b.input"]["weight"]
    state, _ = net.run(params, state, 10)
    np.testing.assert_allclose(state["projections"]["a.rate->b.input"]["weight"], w0 * np.exp(-1.0),
                               rtol=1e-5)
    assert int(state["projections"]["a.rate->b.input"]["rule"]["steps"]) == 10


@pytest.mark.parametrize(
    "rule, message",
    [
        ("hebb", "must be a rule, a frozen dataclass"),
        (Decay, "must be a rule"),
        (dataclasses.make_dataclass("NoUpdate", [("post", str, None), ("modulator", str, None)],
                                    frozen=True)(), r"lacks \['init', 'update'\]"),
        (Decay(rate=0.1, modulator="vta"), "must be 'region.port' or None"),
    ],
)
def test_rules_that_break_the_protocol_are_named(rule, message):
    with pytest.raises(bs.WiringError, match=message):
        two().connect("a.rate", "b.input", plasticity=rule)


@pytest.mark.parametrize("dt", [1.0, 0.5, 0.1])
def test_learning_rates_are_per_ms_whatever_dt(key, dt):
    """A constant error over 20 ms changes climbing-fibre weights by -eta * 20 ms * x * e."""
    brain = bs.Connectome()
    brain.add("pf", bs.RatePopulation(n=2, activation="linear"))
    brain.add("pc", bs.RatePopulation(n=1, activation="linear"))
    brain.add("io", bs.RatePopulation(n=1, activation="linear"))
    brain.connect("pf.rate", "pc.input", plasticity=ClimbingFibre(modulator="io.rate", eta=0.01, lag=0))
    net = bs.build(brain, dt=dt)
    params, state = net.init(key, overrides={"pf.tau": dt, "io.tau": dt})  # rates follow inputs at once
    w0 = np.asarray(state["projections"]["pf.rate->pc.input"]["weight"])
    steps = int(round(20.0 / dt))
    drive = {"pf.input": jnp.tile(jnp.array([1.0, 2.0]), (steps, 1)), "io.input": jnp.full((steps, 1), 0.5)}
    state, _ = net.run(params, state, steps, inputs=drive)
    change = np.asarray(state["projections"]["pf.rate->pc.input"]["weight"]) - w0
    np.testing.assert_allclose(change, -0.01 * 20.0 * np.array([[1.0], [2.0]]) * 0.5, rtol=1e-4)


def test_one_name_per_concept(key):
    from regions import Cerebellum, Cortex, Thalamus

    for region in (Cortex(4), Thalamus(4), Cerebellum(4, 8, 2), bs.RatePopulation(n=4), bs.LIFPopulation(n=4)):
        assert "bias" in region.init(key)[0] and "b" not in region.init(key)[0]
    brain = two()
    net = bs.build(brain)
    assert dict(net.regions) == brain.regions and list(net.regions) == ["a", "b"]
    with pytest.warns(DeprecationWarning, match="Network.regions"):
        assert net.region["a"] is net.regions["a"]


def test_fit_leaves_dt_alone_unless_asked(key):
    import optax

    brain = two()
    brain.connect("a.rate", "b.input")
    net = bs.build(brain)
    params, state = net.init(key)
    drive = jnp.ones((20, 3))

    def loss(p, batch, k):
        return jnp.mean(net.run(p, state, 20, inputs={"a.input": drive}, record=["b.rate"])[1]["b.rate"] ** 2)

    data = lambda k, step: None  # noqa: E731
    trained = bs.train.fit(loss, params, optax.sgd(0.1), data, 3, progress=False).params
    assert float(trained["dt"]) == float(params["dt"])
    assert not np.allclose(trained["a.rate->b.input"]["weight"], params["a.rate->b.input"]["weight"])
    with_dt = bs.train.fit(loss, params, optax.sgd(0.1), data, 3, trainable=["dt"], progress=False).params
    assert float(with_dt["dt"]) != float(params["dt"])
