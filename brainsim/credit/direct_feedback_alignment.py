"""Direct feedback alignment across regions (Nøkland 2016, NeurIPS).

`direct_feedback_alignment(brain, output="out")` returns a copy of a
connectome in which the output's error reaches every other area straight
from the output, through its own fixed random matrix, instead of travelling
back through the areas in between:

- every dense projection between two regions (without plasticity or
  per-edge delays) into a region other than the output becomes
  `brainsim.kinds.Detached`: the same forward weights, which still learn
  from the error their target receives, but no error back to their source;
- a projection into the output becomes `brainsim.kinds.FeedbackAligned`: the
  last hidden area gets the output's error through random ``B`` (as
  Nøkland's DFA gives the top hidden layer);
- every other source of such a projection gets a new `brainsim.kinds.DirectFeedback`
  projection to the output port, zero forward, that hands it the output's
  error through its own random ``B`` (but input areas, which no projection
  drives: they have nothing to learn from it).

The feedback matrices are in state (seeded, never trained), their scales the
params ``feedback_scale``; train the copy with `bs.train.fit` or
`bs.credit.bptt` like the original, and compare updates through
`bs.credit.plain`. A region's own recurrent weights still learn by BPTT
within the area: DFA replaces credit in space, not in time.
"""

from __future__ import annotations

import dataclasses

from brainsim.connectome import Connectome
from brainsim.credit.feedback_alignment import _eligible
from brainsim.errors import WiringError
from brainsim.kinds.direct_feedback import Detached, DirectFeedback
from brainsim.kinds.feedback_alignment import FeedbackAligned


def direct_feedback_alignment(brain: Connectome, output: str) -> Connectome:
    """A copy of ``brain`` that learns by DFA towards region ``output`` (or ``"region.port"``, the
    input port that receives the direct feedback; default: the one its projections drive)."""
    if not isinstance(brain, Connectome):
        raise TypeError(f"direct_feedback_alignment needs a Connectome, got {type(brain).__name__}")
    region, _, port = output.partition(".")
    if region not in brain.regions:
        raise WiringError(f"direct_feedback_alignment: no region {region!r}; regions are "
                          f"{sorted(brain.regions)}")
    chosen = [p for p in brain.projections if _eligible(p)]
    into = sorted({p.dst_port for p in chosen if p.dst == region})
    if not port:
        if len(into) != 1:
            raise WiringError(f"direct_feedback_alignment: name the output's input port that receives the "
                              f"feedback ('{region}.port'); dense projections drive {into or 'none'} of it")
        port = into[0]
    driven = {p.dst for p in brain.projections}
    hidden = {}  # areas that pass activity on towards the output and are driven themselves
    for p in chosen:
        if p.src != region and p.src in driven:
            hidden.setdefault(p.src, p.src_port)
    direct = {p.src for p in chosen if p.dst == region}
    if not hidden:
        raise WiringError("direct_feedback_alignment: no dense projection between regions carries activity "
                          f"towards {region!r}")
    copy = Connectome()
    for name, r in brain.regions.items():
        copy.add(name, r)
    for p in brain.projections:
        if _eligible(p):
            kind = FeedbackAligned(forward=p.kind) if p.dst == region else Detached(forward=p.kind)
            p = dataclasses.replace(p, kind=kind)
        copy._projections.append(p)
    copy.node_map.update(brain.node_map)
    for source, source_port in hidden.items():
        if source not in direct:
            try:
                copy.connect(f"{source}.{source_port}", f"{region}.{port}", kind=DirectFeedback())
            except WiringError as error:
                raise WiringError(f"direct_feedback_alignment: cannot give {source!r} its feedback from "
                                  f"{region}.{port}: {error}") from None
    return copy
