"""A supervised face for closed-loop tasks: rollouts labelled by the oracle.

Tasks whose next observation depends on the agent (bandits, the two-step
task, navigation, context switching) have no fixed trial to precompute.
`rollout_trials` plays such a task with a random agent for ``steps`` steps
in ``batch`` independent episodes and records what it showed and the
action its ``target`` port named as best at each step, giving supervised
batches ``{"inputs": (B, T, n_obs), "targets": (B, T) int32, "mask": (B, T)}``
in the same format as `brainsim.tasks.TrialTask.trials`: a network trained
on them imitates the oracle on the states a random agent visits.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def rollout_trials(task, params, key, batch: int, steps: int) -> dict:
    """``batch`` episodes of ``steps`` steps of ``task`` under a random agent."""
    from brainsim.connectome import Connectome  # the engine builds the rollout loop
    from brainsim.network import build
    from brainsim.populations.policy import SoftmaxPolicy

    n_actions = task.inputs["action"].size
    brain = Connectome()
    brain.add("task", task)
    brain.add("agent", SoftmaxPolicy(n_actions))
    brain.connect("agent.action", "task.action", kind="identity", delay=1)
    net = build(brain)

    def episode(k):
        net_params, state = net.init(k)
        net_params = {**net_params, "task": params}
        _, trace = net.run(net_params, state, steps, record=["task.obs", "task.target"])
        return trace["task.obs"], jnp.argmax(trace["task.target"], axis=-1).astype(jnp.int32)

    obs, targets = jax.vmap(episode)(jax.random.split(key, batch))
    return {"inputs": obs, "targets": targets, "mask": jnp.ones(targets.shape, obs.dtype)}
