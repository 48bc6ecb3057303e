"""Argument checks shared by every spec, kind and run.

One rule for every count (sizes, fan-ins, steps, slots): a Python or numpy
int, never a bool, at least ``minimum`` and small enough to index with
int32, which is what compiled code uses for steps and indices.
"""

from __future__ import annotations

import math
import numbers

INT32_MAX = 2**31 - 1
FLOAT32_MAX = 3.4028234663852886e38  # numpy.finfo(numpy.float32).max: params are float32 by default


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
    """``float(value)`` for a finite real number (not a bool) ``>= minimum`` (``>`` if strict),
    small enough to be stored as a float32 param (``|value| <= FLOAT32_MAX``)."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok and abs(value) > FLOAT32_MAX:
        raise error(f"{owner}: {name}={value!r} exceeds the largest float32 ({FLOAT32_MAX:.3g}), "
                    "the precision params are stored in")
    if ok and minimum is not None:
        ok = value > minimum if strict else value >= minimum
    if not ok:
        bound = "" if minimum is None else f" {'>' if strict else '>='} {minimum:g}"
        raise error(f"{owner} needs a finite number{bound} for {name}, got {value!r}")
    return float(value)
