"""Deprecated name of `brainsim.synthetic_gradients` (the module holds synthetic gradients)."""

import warnings

from brainsim.synthetic_gradients import *  # noqa: F401,F403
from brainsim.synthetic_gradients import fit_decoupled, init_predictor, predict, synthetic_gradient_loss  # noqa: F401

warnings.warn("brainsim.synthetic is now brainsim.synthetic_gradients", DeprecationWarning, stacklevel=2)
