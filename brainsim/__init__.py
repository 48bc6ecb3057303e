"""brainsim: simulate and train multi-region brain models in JAX.

    import jax, brainsim as bs
    brain = bs.Connectome()
    brain.add("a", bs.RatePopulation(n=128))
    brain.add("b", bs.RatePopulation(n=64))
    brain.connect("a.rate", "b.input", delay=1)
    brain.connect("b.rate", "a.input", delay=2, kind=bs.Sparse(fan_in=8))
    net = bs.build(brain, dt=1.0)
    params, state = net.init(jax.random.key(0))
    state, trace = net.run(params, state, steps=1000, record=["a.rate"])
"""

from brainsim import (
    analysis,
    cpu,  # before any module that computes with JAX: honours BRAINSIM_CPU_THREADS
    credit,
    kinds,
    online,
    plasticity,
    plot,
    rl,
    spikes,
    tasks,
    train,
)
from brainsim._src.scan import trace_count
from brainsim._src.simulate import run
from brainsim.checkpoint import CheckpointError
from brainsim.checks import check_int, check_real
from brainsim.connectome import Connectome
from brainsim.dtypes import param
from brainsim.errors import (
    BrainsimError,
    NonFiniteError,
    ParamPathError,
    RunInputError,
    WiringError,
)
from brainsim.kinds import (
    Dense,
    Event,
    Identity,
    Kind,
    Matrix,
    OneToOne,
    ShortTermPlasticity,
    Sparse,
    signed_weight,
)
from brainsim.network import Network, build
from brainsim.params import get, paths, set  # noqa: A004 - bs.set mirrors bs.get
from brainsim.populations import HopfPopulation, LIFPopulation, RatePopulation, SoftmaxPolicy
from brainsim.populations.dale import check_exc_fraction, dale_signs
from brainsim.populations.rate import ACTIVATIONS
from brainsim.ports import Port
from brainsim.projection import Projection
from brainsim.region import Region, StepContext, presynaptic
from brainsim.surrogate import spike
from brainsim.sweeps import SweepResult, sweep

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "BrainsimError",
    "Dense",
    "Event",
    "Identity",
    "Kind",
    "Matrix",
    "OneToOne",
    "ShortTermPlasticity",
    "Sparse",
    "CheckpointError",
    "Connectome",
    "HopfPopulation",
    "LIFPopulation",
    "Network",
    "NonFiniteError",
    "ParamPathError",
    "Port",
    "Projection",
    "RatePopulation",
    "SoftmaxPolicy",
    "Region",
    "RunInputError",
    "StepContext",
    "presynaptic",
    "SweepResult",
    "WiringError",
    "online",
    "plasticity",
    "plot",
    "rl",
    "train",
    "build",
    "check_exc_fraction",
    "check_int",
    "check_real",
    "analysis",
    "credit",
    "kinds",
    "param",
    "signed_weight",
    "cpu",
    "dale_signs",
    "get",
    "paths",
    "run",
    "set",
    "spike",
    "spikes",
    "tasks",
    "sweep",
    "trace_count",
]
