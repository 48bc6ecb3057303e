"""Strings as shorthand for kinds: ``connect(kind="sparse", fan_in=8)``.

The string names a kind class by its ``shorthand`` and the other keyword
arguments of ``connect`` that the class declares as fields make it:
``kind="sparse", fan_in=8`` is ``kind=Sparse(fan_in=8)``, and ``weight=W`` (with the
default ``"dense"``) is ``kind=Matrix(W)``.
"""

from __future__ import annotations

import dataclasses

from brainsim.errors import WiringError
from brainsim.kinds.base import Kind
from brainsim.kinds.dense import Dense, Matrix
from brainsim.kinds.elementwise import Identity, OneToOne
from brainsim.kinds.event import Event
from brainsim.kinds.short_term import ShortTermPlasticity
from brainsim.kinds.sparse import Sparse

BUILT_IN = (Dense, Sparse, OneToOne, Matrix, Identity, Event, ShortTermPlasticity)
BY_NAME = {cls.shorthand: cls for cls in BUILT_IN}


def options_of(cls) -> tuple[str, ...]:
    """The keyword arguments that make a kind class (its dataclass fields)."""
    return tuple(f.name for f in dataclasses.fields(cls))


def make_kind(kind, options: dict) -> Kind:
    """The `Kind` named by ``kind`` (a string or a kind) with ``options`` (given ones only)."""
    if isinstance(kind, Kind):
        if options:
            raise WiringError(
                f"{sorted(options)} are arguments of the kind itself; pass them to "
                f"{type(kind).__name__}(...), not to connect()"
            )
        return kind
    if isinstance(kind, type) and issubclass(kind, Kind):
        raise WiringError(f"kind={kind.__name__} is a class; pass an instance, e.g. {kind.__name__}()")
    if not isinstance(kind, str) or kind not in BY_NAME:
        raise WiringError(
            f"unknown projection kind {kind!r}; choose from {sorted(BY_NAME)} or pass a brainsim.Kind"
        )
    if kind == "dense" and "weight" in options:  # a dense projection from given weights
        kind = "matrix"
    cls = BY_NAME[kind]
    foreign = sorted(set(options) - set(options_of(cls)))
    if foreign:
        owners = sorted({c.shorthand for c in BUILT_IN for name in foreign if name in options_of(c)})
        owner = " or ".join(f"kind={o!r}" for o in owners) or "no kind"
        raise WiringError(f"{foreign} go with {owner}, not kind={kind!r}")
    return cls(**options)
