"""Credit assignment without exact backprop: rules that stand in for the gradient.

Every rule is a `Rule`: it turns params, a batch of trials and a key into a
loss and an update shaped like the params, so that `bs.train.fit` (and optax)
consume it like a gradient and switching rule is one argument
(`brainsim.credit.rule`):

- `bptt(net, state, output=...)`: exact gradients, the reference; with
  ``truncate=``, truncated BPTT; `synthetic_gradients(...)`: truncated BPTT
  helped by a cerebellum-like predictor of the cut gradient;
- `eprop(...)` and `rflo(...)`: eligibility traces carried forward in the
  run, a learning signal broadcast from the output error, no backward pass
  through time, memory constant in the trial's length (Bellec et al. 2020;
  Murray 2019; `brainsim.credit.traces`);
- `node_perturbation(...)`: noise in the units' input and a scalar reward,
  no target needed (Fiete & Seung 2006); `reward_hebbian(...)`: the same
  from rare kicks that no synapse is told of, through a supralinear Hebbian
  trace and a running error per condition (Miconi 2017);
- `predictive_coding(...)` and `prospective_configuration(...)`: a
  feedforward stack of rate areas as prediction-error units whose activity
  relaxes to lower an energy, then local Hebbian weight changes
  (Whittington & Bogacz 2017; Song et al. 2024; `brainsim.credit.energy`);
- `feedback_alignment(brain)`: a copy of a connectome whose error crosses
  each dense projection between regions through fixed random weights
  (Lillicrap et al. 2016); train it with `bptt` or `bs.train.fit`; `plain(tree)`
  gives its params or updates in the original network's structure;
  `direct_feedback_alignment(brain, output)` sends the output's error to
  every area straight from the output instead (Nøkland 2016);
- `alignment(update, gradient)`: the cosine between a rule's update and the
  exact gradient, per param, the measurement rules are compared by;
  `target_alignment(...)`: how straight an update moves the output towards
  the target (Song et al. 2024).
"""

from brainsim.credit.alignment import alignment
from brainsim.credit.direct_feedback_alignment import direct_feedback_alignment
from brainsim.credit.energy import EnergyRule, predictive_coding, prospective_configuration
from brainsim.credit.feedback_alignment import feedback_alignment, plain
from brainsim.credit.node_perturbation import NodePerturbation, node_perturbation
from brainsim.credit.reward_hebbian import RewardHebbian, reward_hebbian
from brainsim.credit.rule import BPTT, Rule, bptt
from brainsim.credit.synthetic import SyntheticGradients, synthetic_gradients
from brainsim.credit.target_alignment import target_alignment
from brainsim.credit.traces import TraceRule, eprop, rflo

__all__ = [
    "BPTT", "EnergyRule", "NodePerturbation", "RewardHebbian", "Rule", "SyntheticGradients", "TraceRule",
    "alignment", "bptt", "direct_feedback_alignment", "eprop", "feedback_alignment", "node_perturbation",
    "plain", "predictive_coding", "prospective_configuration", "reward_hebbian", "rflo",
    "synthetic_gradients", "target_alignment",
]
