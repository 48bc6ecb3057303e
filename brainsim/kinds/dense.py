"""All-to-all projections: `Dense` (random start) and `Matrix` (a given start).

    y = x @ W,        W of shape (n_src, n_dst)  (source x target)

With per-edge delays (one conduction delay per synapse, as in whole-brain
models where tract lengths set them) the sum reads each source at its own
delay: ``y_j = sum_i W[i, j] x_i(t - d[i, j])``. A sign constraint makes
the effective weight ``sign * |W|`` (see `brainsim.kinds.signed_weight`).
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from brainsim._src.frozen import FrozenArray
from brainsim.checks import FLOAT32_MAX
from brainsim.dtypes import float_dtype, param
from brainsim.errors import WiringError
from brainsim.kinds.base import Endpoints, Kind, signed_weight


@dataclasses.dataclass(frozen=True)
class Dense(Kind):
    """Every source unit to every target unit; ``W ~ N(0, scale^2 / n_src)``."""

    shorthand = "dense"
    plastic = True
    edge_delays = True

    def init(self, key, ends: Endpoints):
        w = jax.random.normal(key, (ends.n_src, ends.n_dst), float_dtype())
        return {"weight": w * (ends.scale / np.sqrt(ends.n_src))}, {}

    def apply(self, params, state, x, ends: Endpoints, t, dt):
        y = x.reshape(-1) @ signed_weight(params["weight"], ends.signs)
        return y.reshape(ends.dst_port.shape), state

    def apply_edges(self, params, state, x_edges, ends: Endpoints, t, dt):
        w = signed_weight(params["weight"], ends.signs)
        return (w * x_edges).sum(axis=0).reshape(ends.dst_port.shape), state


@dataclasses.dataclass(frozen=True)
class Matrix(Dense):
    """Like `Dense`, starting from a given matrix ``weight`` of shape ``(n_src, n_dst)``
    (source x target); ``scale`` is ignored."""

    weight: FrozenArray | np.ndarray | None = None

    shorthand = "matrix"

    def __post_init__(self):
        if self.weight is None:
            raise WiringError("kind='matrix' needs weight= (an (n_src, n_dst) matrix)")
        if not isinstance(self.weight, FrozenArray):
            w = np.asarray(self.weight)
            if not (np.issubdtype(w.dtype, np.number) and not np.iscomplexobj(w)) or w.ndim != 2:
                raise WiringError(f"weight= must be a real 2-d matrix, got {w.dtype} of shape {w.shape}")
            if not np.all(np.isfinite(w)):
                raise WiringError("weight= holds NaN or inf")
            if w.size and np.max(np.abs(w)) > FLOAT32_MAX:
                raise WiringError(f"weight= holds {np.max(np.abs(w)):.3g}, beyond the largest float32 "
                                  f"({FLOAT32_MAX:.3g}) that params are stored in")
            object.__setattr__(self, "weight", FrozenArray(w.astype(np.float64)))

    def check(self, ends: Endpoints) -> None:
        shape = self.weight.array.shape
        if shape != (ends.n_src, ends.n_dst):
            raise WiringError(
                f"shape mismatch: weight for {ends.source} (size {ends.n_src}) -> {ends.target} "
                f"(size {ends.n_dst}) must have shape {(ends.n_src, ends.n_dst)}, got {shape} "
                "(weights are source x target)"
            )

    def init(self, key, ends: Endpoints):
        return {"weight": param(self.weight.array)}, {}
