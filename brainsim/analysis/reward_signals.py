"""Reward signals aligned to task events: peri-event time courses of RPE or value.

Dopamine recordings are read around events: the cue, a delivered reward and
a reward that was due but did not come (Schultz, Dayan & Montague 1997).
Given a recorded signal ``x`` (time first: ``(T,)`` or ``(T, channels)``) and
event steps ``e_k``, the aligned segments are ``x[e_k + o]`` for the offsets
``o = -before .. after``, NaN where a segment runs past the record.

`responses_by_event` does the usual reading of a conditioning run: cues are
the rising edges of the cue signal, rewards the steps where reward > 0, and
omissions the steps a reward was due (``cue onset + delay``) but none came.
"""

from __future__ import annotations

import warnings

import numpy as np


def event_steps(signal, threshold: float = 0.5) -> np.ndarray:
    """Steps at which ``signal`` (T,) or (T, k) rises above ``threshold`` (any column): onsets."""
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim not in (1, 2) or x.shape[0] == 0:
        raise ValueError(f"event_steps needs a (T,) or (T, k) signal with T > 0, got shape {x.shape}")
    on = (x > threshold) if x.ndim == 1 else (x > threshold).any(axis=1)
    return np.flatnonzero(on & ~np.concatenate([[False], on[:-1]]))


def align(trace, steps, before: int, after: int) -> np.ndarray:
    """Segments of ``trace`` around each of ``steps``: ``(n_events, before + after + 1, ...)``."""
    x = np.asarray(trace, dtype=np.float64)
    steps = np.asarray(steps)
    if steps.size == 0:
        steps = steps.astype(np.int64)
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError(f"align needs a recorded trace with time first, got shape {x.shape}")
    for name, value in (("before", before), ("after", after)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"align: {name} must be a non-negative int of steps, got {value!r}")
    if steps.ndim != 1 or (steps.size and not np.issubdtype(steps.dtype, np.integer)):
        raise ValueError(f"align: steps must be a 1-d array of int steps, got {steps!r}")
    offsets = np.arange(-before, after + 1)
    index = steps[:, None] + offsets[None, :]
    inside = (index >= 0) & (index < x.shape[0])
    out = np.full((len(steps), len(offsets), *x.shape[1:]), np.nan)
    out[inside] = x[index[inside]]
    return out


def responses_by_event(signal, cue, reward, delay: int, before: int = 2, after: int | None = None) -> dict:
    """Mean peri-event responses of ``signal`` at cue onsets, delivered rewards and omissions.

    Args:
      signal: the recorded RPE (or value), ``(T,)`` or ``(T, channels)``.
      cue: the cue signal ``(T,)`` or ``(T, n_cues)``; its rising edges are the cue onsets.
      reward: the reward delivered at each step ``(T,)``.
      delay: steps from a cue's onset to its reward; a cue whose reward step has no reward
        is an omission there.
      before, after: the window in steps around each event (``after`` defaults to ``before``).

    Returns ``{"offsets", "cue", "reward", "omission", "n"}``: each response the mean over its
    events ``(window, ...)`` (NaN when there are none), ``n`` the event counts.
    """
    after = before if after is None else after
    if isinstance(delay, bool) or not isinstance(delay, (int, np.integer)) or delay < 0:
        raise ValueError(f"responses_by_event: delay must be a non-negative int of steps, got {delay!r}")
    x = np.asarray(signal, dtype=np.float64)
    r = np.asarray(reward, dtype=np.float64).reshape(-1)
    if r.shape[0] != x.shape[0] or np.shape(cue)[0] != x.shape[0]:
        raise ValueError(f"signal, cue and reward must share their time axis; got {x.shape[0]}, "
                         f"{np.shape(cue)[0]} and {r.shape[0]} steps")
    onsets = event_steps(cue)
    due = onsets + delay
    due = due[due < x.shape[0]]
    events = {"cue": onsets, "reward": np.flatnonzero(r > 0), "omission": due[r[due] <= 0]}
    out = {"offsets": np.arange(-before, after + 1), "n": {k: int(len(v)) for k, v in events.items()}}
    for name, steps in events.items():
        segments = align(x, steps, before, after)
        with warnings.catch_warnings():  # an offset past the record in every segment stays NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            out[name] = np.nanmean(segments, axis=0) if len(steps) else np.full(segments.shape[1:], np.nan)
    return out
