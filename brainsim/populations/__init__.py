"""Generic neural populations that obey the Region contract.

They let the engine be used and tested on its own; the anatomical regions of
`regions/` are built from the same pieces.
"""

from brainsim.populations.hopf import HopfPopulation
from brainsim.populations.lif import LIFPopulation
from brainsim.populations.policy import SoftmaxPolicy
from brainsim.populations.rate import RatePopulation

__all__ = ["HopfPopulation", "LIFPopulation", "RatePopulation", "SoftmaxPolicy"]
