"""Analysis of recorded runs: numpy in, numpy out, each function with its equation and source.

- `brainsim.analysis.reward_signals`: dopamine RPE and value time courses aligned to task
  events (cue, reward, omission), the way recordings are read (Schultz, Dayan & Montague 1997).
"""

from brainsim.analysis.reward_signals import align, event_steps, responses_by_event

__all__ = ["align", "event_steps", "responses_by_event"]
