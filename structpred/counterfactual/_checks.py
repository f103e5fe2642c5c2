"""Parameter checks shared by the counterfactual modules (InvalidInputError naming the parameter)."""
from __future__ import annotations

import math

from ..errors import InvalidInputError


def positive(value, name: str, allow_none: bool = False, allow_inf: bool = False):
    """``value`` as a float > 0 (None passes when ``allow_none``)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) \
            or value <= 0 or (math.isinf(value) and not allow_inf):
        raise InvalidInputError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def non_negative(value, name: str):
    """``value`` as a finite float >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < 0:
        raise InvalidInputError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def level(value, name: str = "level"):
    """A confidence level in (0, 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise InvalidInputError(f"{name} must be in (0, 1), got {value!r}")
    return float(value)


def choice(value, name: str, options):
    """``value`` if it is one of ``options``, else InvalidInputError naming ``name``."""
    if value not in options:
        raise InvalidInputError(f"{name} must be one of {', '.join(map(repr, options))}; got {value!r}")
    return value


def positive_int(value, name: str):
    """``value`` if it is an int >= 1 (bools refused), else InvalidInputError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(f"{name} must be a positive integer, got {value!r}")
    return value
