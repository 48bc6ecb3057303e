"""Credit assignment without exact backprop: rules that stand in for the gradient.

Each rule changes how the error reaches a network's synapses and leaves the
rest of training as it is, so that `bs.train.fit` (and optax) consume its
updates like a gradient:

- `feedback_alignment(brain)`: the error crosses each dense projection
  between regions through fixed random weights instead of the transposed
  forward ones (Lillicrap et al. 2016); `plain(tree)` gives its params or
  updates in the original network's structure;
- `alignment(update, gradient)`: the cosine between a rule's update and the
  exact gradient, per param, the measurement rules are compared by.
"""

from brainsim.credit.alignment import alignment
from brainsim.credit.feedback_alignment import feedback_alignment, plain

__all__ = ["alignment", "feedback_alignment", "plain"]
