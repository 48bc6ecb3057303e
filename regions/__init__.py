"""The region library: anatomical regions built on the brainsim engine.

Each region is a frozen dataclass obeying `brainsim.Region`; its module
docstring gives the equations, units and the papers they come from. See
``regions/README.md`` for a table of regions and ports.
"""

from regions.acetylcholine_gain import AcetylcholineGain
from regions.associative_cortex import AssociativeCortex
from regions.basal_ganglia import BasalGanglia
from regions.cerebellum import Cerebellum, InferiorOlive, participation_ratio
from regions.cortex import Cortex, SpikingCortex
from regions.critic import Critic
from regions.hippocampus import Hippocampus
from regions.loops import (
    cerebellar_motor_loop,
    cerebro_cerebellar,
    cortico_basal_ganglia_thalamic,
    td_conditioning,
    thalamic_context_loop,
)
from regions.neuromodulators import Acetylcholine, Dopamine
from regions.recurrent import RecurrentCortex
from regions.temporal_basis import TemporalBasis
from regions.thalamus import Thalamus, control_patterns

__all__ = [
    "Acetylcholine",
    "AcetylcholineGain",
    "AssociativeCortex",
    "BasalGanglia",
    "Cerebellum",
    "Cortex",
    "Critic",
    "Dopamine",
    "Hippocampus",
    "InferiorOlive",
    "RecurrentCortex",
    "SpikingCortex",
    "TemporalBasis",
    "Thalamus",
    "cerebellar_motor_loop",
    "cerebro_cerebellar",
    "control_patterns",
    "cortico_basal_ganglia_thalamic",
    "participation_ratio",
    "td_conditioning",
    "thalamic_context_loop",
]
