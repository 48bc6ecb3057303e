"""Analysis of recorded runs: numpy in, numpy out, each function with its equation and source.

- `brainsim.analysis.reward_signals`: dopamine RPE and value time courses aligned to task
  events (cue, reward, omission), the way recordings are read (Schultz, Dayan & Montague 1997).
- `brainsim.analysis.bold`: the Balloon-Windkessel BOLD forward model, functional connectivity and
  its correlation with structural connectivity.
"""

from brainsim.analysis.bold import HAEMODYNAMICS, bold, fc_sc_correlation, functional_connectivity
from brainsim.analysis.reward_signals import align, event_steps, responses_by_event

__all__ = ["HAEMODYNAMICS", "align", "bold", "event_steps", "fc_sc_correlation", "functional_connectivity",
           "responses_by_event"]
