"""NeuroGym adapter: any NeuroGym task as batches of arrays, and scoring.

NeuroGym (Molano-Mazon et al. 2022) defines many cognitive tasks as
gymnasium environments that build one trial at a time in NumPy. This
adapter draws trials offline and stacks them as arrays for a jitted
brainsim run (``pip install 'brainsim[neurogym]'``):

    env = neurogym_env("PerceptualDecisionMaking-v0", dt=100)
    batch = neurogym_trials(env, 64, seed=0)      # inputs (B, T, n_obs), targets, mask
    accuracy = neurogym_score(net, params, state, batch, input="stim.input", output="out.rate")

Trials of different lengths are padded with zeros at the end and masked
out. ``mask`` marks the decision epoch (where the answer is scored).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def neurogym_env(name: str, **kwargs):
    """``neurogym.make(name, **kwargs)``, with a clear error if NeuroGym is missing."""
    try:
        import neurogym
    except ImportError:
        raise ImportError("the NeuroGym adapter needs neurogym: pip install 'brainsim[neurogym]'") from None
    return neurogym.make(name, **kwargs)


def neurogym_trials(env, batch: int, seed: int = 0) -> dict:
    """``batch`` trials of a NeuroGym env as padded arrays.

    Returns ``{"inputs": (B, T, n_obs) float32, "targets": (B, T) int32,
    "mask": (B, T) float32, "lengths": (B,), "trials": [trial info dicts]}``.
    """
    task = env.unwrapped
    task.seed(seed)
    obs, targets, masks, infos = [], [], [], []
    for _ in range(batch):
        infos.append(task.new_trial())
        ob, gt = np.asarray(task.ob, np.float32), np.asarray(task.gt)
        if gt.ndim > 1:
            raise ValueError(f"{type(task).__name__} has vector ground truth {gt.shape[1:]}; "
                             "the adapter handles tasks with one discrete answer per step")
        mask = np.zeros(len(gt), np.float32)
        if "decision" in task.start_ind:
            mask[task.start_ind["decision"]:task.end_ind["decision"]] = 1.0
        else:
            mask[:] = 1.0
        obs.append(ob)
        targets.append(gt)
        masks.append(mask)
    length = max(len(m) for m in masks)

    def pad(items, dtype):
        out = np.zeros((batch, length, *items[0].shape[1:]), dtype)
        for i, item in enumerate(items):
            out[i, : len(item)] = item
        return out

    return {"inputs": pad(obs, np.float32), "targets": pad(targets, np.int32),
            "mask": pad(masks, np.float32), "lengths": np.array([len(m) for m in masks]),
            "trials": infos}


def neurogym_score(net, params, state, batch: dict, *, input: str, output: str) -> float:
    """Accuracy of ``net`` on a batch: argmax of ``output`` against the target,
    over the masked (decision) steps."""
    steps = batch["inputs"].shape[1]

    def one(x):
        return net.run(params, state, steps, inputs={input: x}, record=[output])[1][output]

    outputs = jax.vmap(one)(jnp.asarray(batch["inputs"]))
    choice = np.asarray(jnp.argmax(outputs, axis=-1))
    mask = np.asarray(batch["mask"]) > 0
    return float((choice[mask] == np.asarray(batch["targets"])[mask]).mean())
