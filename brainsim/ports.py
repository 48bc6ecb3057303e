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
        shape = (self.shape,) if isinstance(self.shape, numbers.Integral) else tuple(self.shape)
        if not all(isinstance(d, numbers.Integral) and d > 0 for d in shape):
            raise ValueError(f"Port shape must hold positive ints, got {self.shape!r}")
        object.__setattr__(self, "shape", tuple(int(d) for d in shape))
        if self.kind not in KINDS:
            raise ValueError(f"Port kind must be one of {KINDS}, got {self.kind!r}")

    @property
    def size(self) -> int:
        """Number of elements of the port's array."""
        size = 1
        for d in self.shape:
            size *= d
        return size
