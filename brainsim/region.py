"""The Region contract.

A region is a frozen, hashable dataclass that holds only *structure*: sizes,
switches and the names of its ports. Every number a user may sweep or train
(time constants, gains, thresholds, weights) lives in the ``params`` pytree
that `init` returns, so a new value never recompiles the simulation.

A region provides:

- ``inputs`` / ``outputs``: mappings from port name to `Port`;
- ``init(key) -> (params, state)``: initial parameters and state;
- ``step(params, state, inputs, ctx) -> (state, outputs)``: one time step,
  a pure function. ``inputs`` holds one array per input port (zeros where
  nothing drives it); ``outputs`` must hold one array per output port.

Randomness comes from ``ctx.key``, a key that the network derives for each
region and step; a region never makes keys of its own.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from brainsim.checks import check_int  # noqa: F401  (re-exported for older imports)
from brainsim.ports import Port

Params = Any
State = Any


class StepContext(NamedTuple):
    """What the network tells a region about the current step.

    Attributes:
      t: step index, int32 scalar, counted from the start of the simulation.
      dt: integration step in ms (a traced scalar: it lives in params).
      key: a typed PRNG key unique to this region and step.
      isolate: the step runs for a local credit rule (`brainsim.credit`):
        derivatives must not flow from one unit to another within it. A
        region with recurrent weights of its own passes the presynaptic
        activity they read through `presynaptic`.
    """

    t: jax.Array
    dt: jax.Array
    key: jax.Array
    isolate: bool = False


def presynaptic(activity: jax.Array, ctx: StepContext) -> jax.Array:
    """``activity`` as read by a region's own recurrent weights: unchanged in value, and with
    its derivative stopped when ``ctx.isolate`` is set, so that a unit's state depends, for
    derivatives, only on its own past (the locality that e-prop and RFLO assume)."""
    if isinstance(ctx.isolate, (bool, np.bool_)):
        return jax.lax.stop_gradient(activity) if ctx.isolate else activity
    return jnp.where(ctx.isolate, jax.lax.stop_gradient(activity), activity)  # a traced flag


class Region(abc.ABC):
    """Base class of brain regions and task environments.

    Subclasses are ``@dataclasses.dataclass(frozen=True)`` and implement the
    four members below. `signs` may be overridden to declare Dale's law.

    ``unit_local = True`` declares that each unit's next state depends on its
    own state, its inputs and its params alone once the activity its own
    recurrent weights read goes through `presynaptic`: every state leaf then
    holds one value per unit, and the online credit rules (`brainsim.credit`'s
    e-prop and RFLO) can train it.
    """

    unit_local = False

    @property
    @abc.abstractmethod
    def inputs(self) -> Mapping[str, Port]:
        """Input ports by name."""

    @property
    @abc.abstractmethod
    def outputs(self) -> Mapping[str, Port]:
        """Output ports by name."""

    @abc.abstractmethod
    def init(self, key: jax.Array) -> tuple[Params, State]:
        """Return initial ``(params, state)`` for this region."""

    @abc.abstractmethod
    def step(
        self, params: Params, state: State, inputs: Mapping[str, jax.Array], ctx: StepContext
    ) -> tuple[State, dict[str, jax.Array]]:
        """Advance one step of ``ctx.dt`` ms; return ``(state, outputs)``."""

    def signs(self, port: str) -> np.ndarray | None:
        """Sign (+1 excitatory, -1 inhibitory) of each unit of an output port.

        ``None`` (the default) means the port obeys no sign constraint.
        Projections from a port with signs keep every weight's sign equal to
        its presynaptic unit's sign (Dale's law).
        """
        del port
        return None


def is_frozen_dataclass(obj: Any) -> bool:
    """Whether ``obj`` is an instance of a frozen dataclass."""
    return dataclasses.is_dataclass(obj) and obj.__dataclass_params__.frozen
