"""Random connectivity for event-driven projections, built vectorised.

A spiking projection stores, for every presynaptic neuron ``i``, the list of
its targets: row ``i`` of an int array ``targets`` of shape
``(n_src, max_out)``, padded with ``n_dst`` (an index past the end, which
event delivery drops). Memory is ``n_src * max_out``, close to the number of
synapses because ``max_out`` is only a few standard deviations above the
mean out-degree.

`bernoulli_targets` connects each (pre, post) pair independently with
probability ``p``, as Brian2's ``connect(p=...)`` does, without ever forming
the ``n_src x n_dst`` matrix: along each row, the gap to the next target is
geometric, ``P(gap = k) = (1 - p)^(k - 1) p``, so the targets are the cumulative
sums of i.i.d. geometric gaps that stay below ``n_dst`` (Devroye 1986,
"Non-Uniform Random Variate Generation", ch. 10: skipping over Bernoulli
trials). Rows come out sorted, which also helps the scatter's memory
locality.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

# Probability, summed over all rows of a projection, that some row has more
# targets than the columns reserved for it.
TRUNCATION_RISK = 1e-9
# Below this, float32 uniforms resolve the geometric gaps too coarsely.
MIN_P = 1e-6


def max_out_degree(n_src: int, n_dst: int, p: float) -> int:
    """Columns to reserve per row so that no row overflows, except with
    probability below `TRUNCATION_RISK`.

    The out-degree is binomial, ``X ~ B(n_dst, p)``. Above the mean, the ratio
    ``r_k = pmf(k + 1) / pmf(k) = (n - k) p / ((k + 1)(1 - p))`` falls with
    ``k``, so ``P(X >= k) <= pmf(k) / (1 - r_k)``; with a union bound over the
    ``n_src`` rows we take the smallest ``k`` whose tail ``P(X >= k + 1)`` is
    below the risk.
    """
    if p >= 1.0:
        return n_dst

    def log_pmf(k):
        return (math.lgamma(n_dst + 1) - math.lgamma(k + 1) - math.lgamma(n_dst - k + 1)
                + k * math.log(p) + (n_dst - k) * math.log1p(-p))

    log_risk = math.log(TRUNCATION_RISK / n_src)
    k = max(int(math.ceil(n_dst * p)), 1)
    while k < n_dst:
        ratio = (n_dst - k - 1) * p / ((k + 2) * (1.0 - p))
        if ratio < 1.0 and log_pmf(k + 1) - math.log1p(-ratio) <= log_risk:
            return k
        k += 1
    return n_dst


def bernoulli_targets(key, n_src: int, n_dst: int, p: float, max_out: int | None = None):
    """Targets ``(n_src, max_out)`` int32, each pair connected with probability ``p``.

    Padding entries equal ``n_dst``. Raises if a row needed more than
    ``max_out`` columns (checked when the key is concrete; the default
    ``max_out`` makes this astronomically unlikely).
    """
    if not MIN_P <= p <= 1.0:
        raise ValueError(f"connection probability p must be in [{MIN_P:g}, 1], got {p!r}")
    width = max_out_degree(n_src, n_dst, p) if max_out is None else max_out
    if p == 1.0:
        row = jnp.arange(n_dst, dtype=jnp.int32)
        return jnp.broadcast_to(row, (n_src, n_dst))[:, :width]
    targets, truncated = _bernoulli_rows(key, n_src, n_dst, float(p), width)
    if not isinstance(truncated, jax.core.Tracer):
        truncated = int(truncated)
        if truncated:
            raise RuntimeError(
                f"{truncated} rows drew more than max_out={width} targets (a chance below "
                f"{TRUNCATION_RISK:g} with the default max_out); draw again with another key or "
                "pass a larger max_out"
            )
    return targets


@functools.partial(jax.jit, static_argnums=(1, 2, 3, 4))
def _bernoulli_rows(key, n_src, n_dst, p, width):
    """Padded target rows (cumulative sums of geometric gaps) and the number
    of rows that would have needed more columns.

    One column more than ``width`` is drawn: a row overflows exactly when its
    extra candidate still falls inside ``0..n_dst - 1``.
    """
    u = jax.random.uniform(key, (n_src, width + 1), minval=jnp.finfo(jnp.float32).tiny, maxval=1.0,
                           dtype=jnp.float32)
    # clipped before the cast, so that tiny p cannot overflow int32; a gap > n_dst ends the row anyway
    gaps = jnp.minimum(jnp.floor(jnp.log(u) / np.float32(math.log1p(-p))), n_dst).astype(jnp.int32) + 1
    position = jnp.cumsum(gaps, axis=1) - 1
    targets = jnp.where(position[:, :width] < n_dst, position[:, :width], n_dst).astype(jnp.int32)
    return targets, jnp.sum(position[:, width] < n_dst)


def uniform_delays(key, shape, low: int, high: int):
    """Per-synapse delays in whole steps, uniform on ``low..high`` (int32)."""
    return jax.random.randint(key, shape, low, high + 1, dtype=jnp.int32)


def to_pairs(targets, n_dst: int) -> tuple[np.ndarray, np.ndarray]:
    """``(pre, post)`` index arrays of every synapse of a ``targets`` array."""
    targets = np.asarray(targets)
    pre, column = np.nonzero(targets < n_dst)
    return pre.astype(np.int64), targets[pre, column].astype(np.int64)


def synapse_count(targets, n_dst: int) -> int:
    """Number of real (unpadded) synapses."""
    return int(jnp.sum(targets < n_dst))
