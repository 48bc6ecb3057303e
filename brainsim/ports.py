"""Ports: the named, typed inputs and outputs of a region.

A port declares the shape of one array that crosses a region's boundary each
step, and what kind of signal it carries:

- ``"rate"``: a firing rate or other continuous activity (any units);
- ``"spike"``: 0/1 spikes of this step, as floats so that surrogate
  gradients can flow through them (see `brainsim.surrogate`);
- ``"scalar"``: one number per step, such as a reward or a dopamine level;
- ``"event"``: a sparse or discrete event (a trial start, an action).

An input port that nothing drives reads its ``default`` (zero unless the
region declares another value, e.g. a multiplicative gain that defaults to
one), unless it is ``required``, in which case `brainsim.build` refuses a
connectome that leaves it unconnected.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Iterable

from brainsim.checks import check_int

KINDS = ("rate", "spike", "scalar", "event")


@dataclasses.dataclass(frozen=True)
class Port:
    """Shape and kind of one region input or output.

    Args:
      shape: an int ``n`` for a vector of ``n`` units, a tuple for any other
        shape, ``()`` for a scalar.
      kind: one of ``"rate"``, ``"spike"``, ``"scalar"``, ``"event"``.
      required: for an input, whether a connectome must drive it.
      default: for an input, the value it reads when nothing drives it.
    """

    shape: tuple[int, ...] | int
    kind: str = "rate"
    required: bool = False
    default: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "shape", _checked_shape(self.shape))
        if self.kind not in KINDS:
            raise ValueError(f"Port kind must be one of {KINDS}, got {self.kind!r}")

    @property
    def size(self) -> int:
        """Number of elements of the port's array."""
        size = 1
        for d in self.shape:
            size *= d
        return size


def _checked_shape(shape) -> tuple[int, ...]:
    """``shape`` as a tuple of positive ints (not bools), or a ValueError naming it."""
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        dims = (shape,)
    elif isinstance(shape, Iterable) and not isinstance(shape, (str, bytes)):
        dims = tuple(shape)
    else:
        raise ValueError(
            f"Port shape must be an int n or a tuple of ints, got {shape!r} "
            f"({type(shape).__name__}); e.g. Port(3) or Port((2, 3))"
        )
    for d in dims:
        check_int(f"Port(shape={shape!r})", "dimension", d)
    return tuple(int(d) for d in dims)
