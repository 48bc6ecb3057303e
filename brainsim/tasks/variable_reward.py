"""A cue followed by a reward of variable magnitude (Dabney et al. 2020's variable-magnitude task).

Each trial shows one cue for ``cue_steps`` steps; ``delay_steps`` after its
onset a reward arrives whose magnitude is drawn from ``magnitudes`` with
``probabilities``. A trial is an inter-trial interval, the cue, the delay
and the reward step (the layout of `Pavlovian`). Dabney, Kurth-Nelson,
Uchida, Starkweather, Hassabis, Munos & Botvinick (2020, Nature 577, 671)
gave mice 0.1, 0.3, 1.2, 2.5, 5, 10 or 20 ul of juice with the empirical
frequencies that are this task's defaults (`DABNEY_MAGNITUDES`,
`DABNEY_PROBABILITIES`); a distributional dopamine population learns their
expectiles.

Observations: the cue (1). Params: ``magnitudes`` and ``probabilities``
(``n_magnitudes`` each; the probabilities are normalised when drawn, so a
one-hot vector delivers one magnitude every trial, as probes need).
The ``target`` is fixation throughout (nothing is scored).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from brainsim.dtypes import param
from brainsim.tasks.pavlovian import CueThenReward
from brainsim.tasks.trial_task import TrialTask

DABNEY_MAGNITUDES = (0.1, 0.3, 1.2, 2.5, 5.0, 10.0, 20.0)
DABNEY_PROBABILITIES = (0.06612594, 0.09090909, 0.14847358, 0.15489467, 0.31159175, 0.1509519, 0.07705306)


@dataclasses.dataclass(frozen=True)
class VariableReward(CueThenReward, TrialTask):
    """Cue -> delay -> a reward of one of ``n_magnitudes`` sizes (see the module docstring)."""

    n_magnitudes: int = 7
    iti_steps: int = 5
    cue_steps: int = 2
    delay_steps: int = 5

    def __post_init__(self):
        self._check_layout(counts=("n_magnitudes",))

    n_actions = 2
    n_obs = 1

    def task_params(self):
        if self.n_magnitudes == len(DABNEY_MAGNITUDES):
            magnitudes, probabilities = jnp.asarray(DABNEY_MAGNITUDES), jnp.asarray(DABNEY_PROBABILITIES)
        else:
            magnitudes = jnp.linspace(0.0, 1.0, self.n_magnitudes)
            probabilities = jnp.full(self.n_magnitudes, 1.0 / self.n_magnitudes)
        return {"magnitudes": param(magnitudes), "probabilities": param(probabilities)}

    def sample_trial(self, params, key):
        dtype = params["magnitudes"].dtype
        weights = jnp.maximum(params["probabilities"], 0.0)
        which = jax.random.choice(key, self.n_magnitudes, p=weights / jnp.sum(weights))
        t = jnp.arange(self.trial_length)
        reward = (t == self.reward_step).astype(dtype) * params["magnitudes"][which]
        zeros = jnp.zeros(self.trial_length, dtype)
        return {"obs": self._cue_shown()[:, None].astype(dtype), "target": jnp.zeros(self.trial_length, jnp.int32),
                "mask": zeros, "reward": reward}
