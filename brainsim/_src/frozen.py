"""Hashable, read-only arrays for specs (regions, kinds, projections).

Specs are static jit arguments, so everything they hold must be hashable;
a `FrozenArray` wraps a numpy array that is compared and hashed by content.
"""

from __future__ import annotations

import hashlib

import numpy as np


class FrozenArray:
    """A read-only numpy array that is hashable (by content), for use in specs."""

    def __init__(self, array):
        self.array = np.array(array, copy=True)
        self.array.flags.writeable = False
        digest = hashlib.sha1(self.array.tobytes()).hexdigest()
        self._key = (self.array.shape, str(self.array.dtype), digest)

    def __hash__(self):
        return hash(self._key)

    def __eq__(self, other):
        return isinstance(other, FrozenArray) and self._key == other._key

    def __repr__(self):
        return f"FrozenArray(shape={self.array.shape}, dtype={self.array.dtype}, sha1={self._key[2]})"
