"""Projection kinds: each a small frozen class that checks, initialises and applies itself.

``connect(kind="sparse", fan_in=8)`` is shorthand for ``connect(kind=Sparse(fan_in=8))``.
See `brainsim.kinds.base` for the protocol a new kind follows.
"""

from brainsim.kinds.base import Endpoints, Kind, signed_weight
from brainsim.kinds.dense import Dense, Matrix
from brainsim.kinds.direct_feedback import Detached, DirectFeedback
from brainsim.kinds.elementwise import Identity, OneToOne
from brainsim.kinds.event import Event
from brainsim.kinds.feedback_alignment import FeedbackAligned
from brainsim.kinds.short_term import ShortTermPlasticity
from brainsim.kinds.shorthand import BY_NAME, make_kind
from brainsim.kinds.sparse import Sparse

__all__ = [
    "BY_NAME",
    "Dense",
    "Detached",
    "DirectFeedback",
    "Endpoints",
    "Event",
    "FeedbackAligned",
    "Identity",
    "Kind",
    "Matrix",
    "OneToOne",
    "ShortTermPlasticity",
    "Sparse",
    "make_kind",
    "signed_weight",
]
