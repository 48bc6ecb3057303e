"""Whole-brain connectomes from connectivity matrices.

`from_matrix` turns a structural connectivity (weights, tract lengths,
labels) into a `Connectome`. All nodes run as one vectorised population of
a neural-mass model (`HopfPopulation` by default), coupled to itself by a
``"matrix"`` projection with one conduction delay per edge,

    input_j(t) = sum_i W[i, j] x_i(t - L[i, j] / v),

where ``W[i, j]`` is the weight *from node i to node j* (source x target, as
every matrix in brainsim; The Virtual Brain's files are the transpose: row =
target, see `brainsim.datasets.Connectivity.connectome`), ``L`` the tract
lengths (mm) and ``v`` the conduction speed (mm/ms, i.e. m/s). The delays
are conduction delays (``connect(lag_ms=)``): node ``j``'s step from ``t`` to
``t + dt`` uses node ``i``'s state at ``t - L/v`` rounded to whole steps, so
an edge of length 0 couples the states of the same time, as Euler's method
does. ``delays=`` gives them in steps instead of lengths.

Nodes named in ``detailed`` are taken out of the population and simulated
by a region of your choice (a thalamus, a basal-ganglia model, ...). For
each coupling pair the region names one input and one output port; it
receives the weighted, delayed node activity on every unit of that input,
and sends back the mean of that output, so a detailed region that is a
one-unit copy of the node model reproduces the plain node exactly.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Mapping, Sequence

import numpy as np

from brainsim.connectome import Connectome
from brainsim.errors import WiringError
from brainsim.populations.hopf import HopfPopulation

HOPF_COUPLING = (("x", "x_in"), ("y", "y_in"))


@dataclasses.dataclass(frozen=True)
class DetailedNode:
    """A node of the matrix simulated by its own region.

    Attributes:
      name: the region's name in the connectome.
      region: the region.
      inputs: its input ports that receive the network's coupling, one per
        coupling pair of `from_matrix` (a single name for one pair).
      outputs: its output ports whose means are sent back, likewise.
    """

    name: str
    region: object
    inputs: str | tuple[str, ...] = "input"
    outputs: str | tuple[str, ...] = "rate"

    def pairs(self) -> list[tuple[str, str]]:
        """``(output, input)`` port pairs, aligned with the coupling pairs."""
        inputs = (self.inputs,) if isinstance(self.inputs, str) else tuple(self.inputs)
        outputs = (self.outputs,) if isinstance(self.outputs, str) else tuple(self.outputs)
        if len(inputs) != len(outputs):
            raise WiringError(f"detailed node {self.name!r}: {len(inputs)} inputs but {len(outputs)} outputs")
        return list(zip(outputs, inputs))


def from_matrix(
    weights,
    tract_lengths=None,
    labels: Sequence[str] | None = None,
    *,
    speed: float = 3.0,
    delays=None,
    node=HopfPopulation,
    coupling: Sequence[tuple[str, str]] = HOPF_COUPLING,
    detailed: Mapping[str, DetailedNode] | None = None,
    population: str = "nodes",
) -> Connectome:
    """A connectome of ``N`` nodes coupled with per-edge delays.

    Args:
      weights: ``(N, N)``, ``weights[i, j]`` from node ``i`` to node ``j``
        (source x target).
      tract_lengths: ``(N, N)`` in mm (same orientation); ``None`` (and no
        ``delays``) for no conduction delay.
      labels: ``N`` unique node names (default ``n0, n1, ...``).
      speed: conduction speed in mm/ms (= m/s).
      delays: instead of ``tract_lengths``, the conduction delays in whole
        steps (``(N, N)`` ints ``>= 0``, same orientation).
      node: called with the number of population nodes, returns the node
        region (default `HopfPopulation`).
      coupling: ``(output, input)`` port pairs of the node model that the
        matrix couples; a detailed node couples through as many of them as
        it names ports for.
      detailed: ``{label: DetailedNode}`` for nodes simulated by other regions.
      population: name of the population region.
    Returns:
      a `Connectome`; its ``node_map`` gives, for each label, the region that
      simulates it and the unit index within it (``None`` for a detailed node).
    """
    w = _real_matrix("weights", weights).T  # below, w[i, j] is from node j to node i
    n = w.shape[0] if w.ndim == 2 else -1
    if w.ndim != 2 or w.shape != (n, n) or not np.all(np.isfinite(w)):
        raise WiringError(f"weights must be a finite square matrix, got shape {w.shape}")
    if not (isinstance(speed, numbers.Real) and np.isfinite(speed) and speed > 0):
        raise WiringError(f"speed must be a positive number of mm/ms, got {speed!r}")
    lag = _lags(w.shape, tract_lengths, delays, speed)
    if not np.all(np.isfinite(lag)) or np.any(lag < 0):
        name = "delays" if delays is not None else "tract_lengths"
        raise WiringError(f"{name} must be finite and >= 0")
    labels = [f"n{i}" for i in range(n)] if labels is None else [str(x) for x in labels]
    if len(labels) != n or len(set(labels)) != n:
        raise WiringError(f"labels must be {n} unique names, got {len(labels)} ({len(set(labels))} unique)")
    detailed = dict(detailed or {})
    unknown = sorted(set(detailed) - set(labels))
    if unknown:
        raise WiringError(f"detailed names unknown labels {unknown}; labels are {labels}")

    in_steps = delays is not None
    index = {label: i for i, label in enumerate(labels)}
    pop = [i for i, label in enumerate(labels) if label not in detailed]
    brain = Connectome()
    if pop:
        brain.add(population, node(len(pop)))
        for k, i in enumerate(pop):
            brain.node_map[labels[i]] = (population, k)
        block = np.ix_(pop, pop)
        if np.any(w[block]):
            for out_port, in_port in coupling:
                brain.connect(f"{population}.{out_port}", f"{population}.{in_port}",
                              weight=w[block].T, **_delay(lag[block].T, in_steps))
    for label, spec in detailed.items():
        brain.add(spec.name, spec.region)
        brain.node_map[label] = (spec.name, None)
    for label, spec in detailed.items():
        k = index[label]
        for pair, (out_port, in_port) in enumerate(coupling[: len(spec.pairs())]):
            spec_out, spec_in = spec.pairs()[pair]
            n_in = spec.region.inputs[spec_in].size
            n_out = spec.region.outputs[spec_out].size
            if pop and np.any(w[k, pop]):  # population -> detailed: every input unit alike
                brain.connect(f"{population}.{out_port}", f"{spec.name}.{spec_in}",
                              weight=np.repeat(w[k, pop][:, None], n_in, axis=1),
                              **_delay(np.repeat(lag[k, pop][:, None], n_in, axis=1), in_steps))
            if pop and np.any(w[pop, k]):  # detailed -> population: the mean output
                brain.connect(f"{spec.name}.{spec_out}", f"{population}.{in_port}",
                              weight=np.repeat(w[pop, k][None, :] / n_out, n_out, axis=0),
                              **_delay(np.repeat(lag[pop, k][None, :], n_out, axis=0), in_steps))
            for other_label, other in detailed.items():
                j = index[other_label]
                if w[j, k] and pair < len(other.pairs()):  # detailed k -> detailed j
                    other_in = other.pairs()[pair][1]
                    m = other.region.inputs[other_in].size
                    brain.connect(f"{spec.name}.{spec_out}", f"{other.name}.{other_in}",
                                  weight=np.full((n_out, m), w[j, k] / n_out),
                                  **_delay(np.full((n_out, m), lag[j, k]), in_steps))
    return brain


def _real_matrix(name: str, value) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype == bool or not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise WiringError(f"{name} must hold real numbers, got dtype {array.dtype}")
    return array.astype(np.float64)


def _lags(shape, tract_lengths, delays, speed) -> np.ndarray:
    """Conduction delays, target x source like ``w`` here: ms, or steps if ``delays``."""
    if tract_lengths is not None and delays is not None:
        raise WiringError("give tract_lengths= (mm) or delays= (steps), not both")
    if tract_lengths is None and delays is None:
        return np.zeros(shape)
    name, given = ("delays", delays) if delays is not None else ("tract_lengths", tract_lengths)
    lag = _real_matrix(name, given).T
    if lag.shape != shape:
        raise WiringError(f"{name} must be shaped like weights {shape}, got shape {lag.shape}")
    if delays is not None and not np.all(lag == np.round(lag)):
        raise WiringError("delays= are whole steps; give tract_lengths= for lengths in mm")
    return lag if delays is not None else lag / speed


def _delay(lag: np.ndarray, in_steps: bool) -> dict:
    """``connect`` arguments for conduction delays (a lag of k steps reads k + 1 steps back)."""
    return {"delay": lag.astype(np.int64) + 1} if in_steps else {"lag_ms": lag}
