"""Argument checks shared by every spec, kind and run.

One rule for every count (sizes, fan-ins, steps, slots): a Python or numpy
int, never a bool, at least ``minimum`` and small enough to index with
int32, which is what compiled code uses for steps and indices.
"""

from __future__ import annotations

import math
import numbers

INT32_MAX = 2**31 - 1


def check_int(owner: str, name: str, value, minimum: int = 1, error=ValueError,
              maximum: int = INT32_MAX) -> None:
    """Raise ``error`` unless ``value`` is an int (not a bool) in ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        wanted = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise error(f"{owner} needs {wanted} {name}, got {value!r} (an int >= {minimum}, not a bool)")
    if value > maximum:
        raise error(f"{owner}: {name}={value!r} exceeds {maximum:,} (compiled code counts in int32)")


def check_real(owner: str, name: str, value, minimum: float | None = None, error=ValueError,
               strict: bool = False) -> float:
    """``float(value)`` for a finite real number (not a bool) ``>= minimum`` (``>`` if strict)."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok and minimum is not None:
        ok = value > minimum if strict else value >= minimum
    if not ok:
        bound = "" if minimum is None else f" {'>' if strict else '>='} {minimum:g}"
        raise error(f"{owner} needs a finite number{bound} for {name}, got {value!r}")
    return float(value)
