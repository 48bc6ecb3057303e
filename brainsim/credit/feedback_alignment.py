"""Feedback alignment across regions (Lillicrap, Cownden, Tweed & Akerman 2016, Nat Commun 7, 13276).

`feedback_alignment(brain)` returns a copy of a connectome in which the chosen
dense projections (default: every `Dense`/`Matrix` projection between two
different regions without a local plasticity rule or per-edge delays) become
`brainsim.kinds.FeedbackAligned`: the same forward weights and start, and an
error that flows back to the source region through a fixed random matrix
``s B`` (``B`` in state, ``s`` the param ``feedback_scale``) instead of ``W^T``.
Gradients computed on the network it builds are the rule's updates; train it
with `bs.train.fit` exactly as the original. A region's own recurrent
weights still get their exact gradient: the rule acts where credit crosses
from one area to another.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable

from brainsim.connectome import Connectome
from brainsim.kinds.dense import Dense
from brainsim.kinds.feedback_alignment import FeedbackAligned


def _eligible(p) -> bool:
    return (isinstance(p.kind, Dense) and p.src != p.dst and p.plasticity is None
            and p.edge_delay is None and p.edge_delay_ms is None)


def feedback_alignment(brain: Connectome, only: Iterable[str] | None = None, *,
                       symmetric: bool = False) -> Connectome:
    """A copy of ``brain`` whose projections ``only`` (names ``"src.port->dst.port"``; default: every
    eligible one) carry their error back through fixed random feedback.

    ``symmetric=True`` sends it back through the forward weights: exact backprop, for checks.
    """
    if not isinstance(brain, Connectome):
        raise TypeError(f"feedback_alignment needs a Connectome, got {type(brain).__name__}")
    names = {p.name: p for p in brain.projections}
    if only is None:
        chosen = {name for name, p in names.items() if _eligible(p)}
        if not chosen:
            raise ValueError("feedback_alignment: this connectome has no dense projection between two "
                             "regions (without plasticity or per-edge delays) to give random feedback")
    else:
        chosen = set([only] if isinstance(only, str) else only)
        unknown = sorted(chosen - set(names))
        if unknown:
            raise ValueError(f"feedback_alignment: no projections {unknown}; projections are {sorted(names)}")
        refused = sorted(n for n in chosen if not _eligible(names[n]))
        if refused:
            raise ValueError(f"feedback_alignment: {refused} are not dense projections between two regions "
                             "without plasticity or per-edge delays")
    copy = Connectome()
    for name, region in brain.regions.items():
        copy.add(name, region)
    for p in brain.projections:
        if p.name in chosen:
            p = dataclasses.replace(p, kind=FeedbackAligned(forward=p.kind, symmetric=symmetric))
        copy._projections.append(p)
    copy.node_map.update(brain.node_map)
    return copy


def plain(tree):
    """A params (or gradient, or update) tree of a rule's network without the rule's own leaves
    (the feedback scales, and the direct-feedback projections that hold nothing else): the
    structure of the original network's params, so that updates, checkpoints and comparisons
    cross between the two."""
    if isinstance(tree, dict):
        return {k: plain(v) for k, v in tree.items()
                if k != "feedback_scale" and not (isinstance(v, dict) and v and set(v) == {"feedback_scale"})}
    return tree
