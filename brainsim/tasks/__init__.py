"""Tasks that run inside the loop: environments obeying the Region contract.

A task reads the brain's ``action`` and emits ``obs``, ``reward``, ``done``
(and ``target`` where a correct answer exists), so the closed loop brain ->
action -> task -> observation and reward -> brain runs in one compiled scan.
"""

from brainsim.tasks.bandit import Bandit
from brainsim.tasks.context import ContextDecision
from brainsim.tasks.line_drawing import LineDrawing
from brainsim.tasks.match import DelayedMatch
from brainsim.tasks.navigation import GridWorld, LinearTrack
from brainsim.tasks.pavlovian import Pavlovian
from brainsim.tasks.perceptual import PerceptualDecision
from brainsim.tasks.reaching import Reaching
from brainsim.tasks.switching import ContextSwitching
from brainsim.tasks.trial_task import TrialTask
from brainsim.tasks.two_step import TwoStep
from brainsim.tasks.variable_reward import VariableReward

__all__ = [
    "Bandit",
    "ContextDecision",
    "ContextSwitching",
    "DelayedMatch",
    "GridWorld",
    "LineDrawing",
    "LinearTrack",
    "Pavlovian",
    "PerceptualDecision",
    "Reaching",
    "TrialTask",
    "TwoStep",
    "VariableReward",
]
