"""Line drawing from a brief cue, with sparse feedback (Pemberton et al. 2021).

The task the cerebro-cerebellar models of Pemberton et al. (2021, NeurIPS)
and Boven et al. (2023, Nat Commun 14, 351) learn first. A scalar cue on the
first step selects one of ``n_targets`` end points: the origin and
``n_targets - 1`` points evenly spaced on a circle of radius ``radius``. The
output must draw the straight line from the origin to that point over
``steps`` steps,

    y_t = (t / (steps - 1)) p,    t = 0, ..., steps - 1,

so it must hold the cue in memory for the whole trial. Feedback (the loss)
arrives only every ``feedback_every``-th step (``t = 0, k, 2k, ...``, as in
the authors' code; with 10 steps and k = 2 the last step is never scored):
the mask marks those steps. Cue ``k`` (the integers ``-(n // 2) ... n - 1 -
n // 2``, one per target) is presented as ``cue_scale * k``; cue 0 is the
origin and the others go round the circle.

`trials(key, batch)` gives ``{"inputs": (B, T, 1), "targets": (B, T, 2),
"mask": (B, T), "index": (B,)}``, the form `brainsim.train` reads.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from brainsim.checks import check_int


@dataclasses.dataclass(frozen=True)
class LineDrawing:
    """Draw one of ``n_targets`` lines from a cue (see the module docstring)."""

    n_targets: int = 7
    radius: float = 10.0
    steps: int = 10
    feedback_every: int = 2
    cue_scale: float = 0.1

    def __post_init__(self):
        check_int("LineDrawing", "n_targets", self.n_targets, minimum=2)
        check_int("LineDrawing", "steps", self.steps, minimum=2)
        check_int("LineDrawing", "feedback_every", self.feedback_every)
        if not self.radius > 0:
            raise ValueError(f"LineDrawing radius must be > 0, got {self.radius!r}")
        if self.feedback_every > self.steps:
            raise ValueError(f"LineDrawing feedback_every = {self.feedback_every} exceeds steps = "
                             f"{self.steps}: only the first step would be scored")

    @property
    def cues(self) -> np.ndarray:
        """The cue value of each target (target 0, the origin, has cue 0)."""
        half = self.n_targets // 2
        values = [k for k in range(-half, self.n_targets - half)]
        values.sort(key=lambda k: (k != 0, k))  # the origin first, then the circle
        return self.cue_scale * np.asarray(values, np.float32)

    @property
    def end_points(self) -> np.ndarray:
        """``(n_targets, 2)``: the origin, then the points on the circle."""
        angle = 2 * np.pi * np.arange(self.n_targets - 1) / (self.n_targets - 1)
        circle = self.radius * np.stack([np.sin(angle), np.cos(angle)], axis=1)
        return np.concatenate([np.zeros((1, 2)), circle]).astype(np.float32)

    @property
    def lines(self) -> np.ndarray:
        """``(n_targets, steps, 2)``: the line each target asks for."""
        progress = np.linspace(0.0, 1.0, self.steps, dtype=np.float32)
        return progress[None, :, None] * self.end_points[:, None, :]

    @property
    def mask(self) -> np.ndarray:
        """``(steps,)``: 1 on the steps with feedback."""
        return (np.arange(self.steps) % self.feedback_every == 0).astype(np.float32)

    def trials(self, key, batch: int, index=None) -> dict:
        """``batch`` trials with targets drawn uniformly (or the given ``index``, (B,))."""
        check_int("LineDrawing.trials", "batch", batch)
        if index is None:
            if key is None:
                raise ValueError("LineDrawing.trials needs a key to draw targets, or index=")
            index = jax.random.randint(key, (batch,), 0, self.n_targets)
        index = jnp.asarray(index)
        if index.shape != (batch,):
            raise ValueError(f"LineDrawing.trials: index must have shape ({batch},), got {index.shape}")
        inputs = jnp.zeros((batch, self.steps, 1)).at[:, 0, 0].set(jnp.asarray(self.cues)[index])
        return {"inputs": inputs, "targets": jnp.asarray(self.lines)[index],
                "mask": jnp.broadcast_to(jnp.asarray(self.mask), (batch, self.steps)), "index": index}

    def all_targets(self) -> dict:
        """One trial per target, in target order (for validation and figures)."""
        return self.trials(None, self.n_targets, index=jnp.arange(self.n_targets))
