"""Argument checks of the fairness application (InvalidInputError naming the argument).

Small local checks until structpred.boundary.arrays has them."""
from __future__ import annotations

import numpy as np

from ...errors import InvalidInputError


def nonnegative_vector(name: str, values, n: int | None = None) -> np.ndarray:
    """A 1-D float64 array of finite values >= 0 (of length n when given)."""
    try:
        a = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name} must be an array of real numbers") from None
    if a.ndim != 1:
        raise InvalidInputError(f"{name} must be one-dimensional, got shape {a.shape}")
    if n is not None and a.shape[0] != n:
        raise InvalidInputError(f"{name} must have {n} entries, got {a.shape[0]}")
    if not np.all(np.isfinite(a)):
        raise InvalidInputError(f"{name} has NaN or infinite values")
    if np.any(a < 0):
        raise InvalidInputError(f"{name} has negative values (min {a.min():g})")
    return a


def finite_vector(name: str, values, n: int | None = None) -> np.ndarray:
    """A 1-D float64 array of finite values (of length n when given)."""
    a = np.asarray(values, dtype=np.float64)
    if a.ndim != 1 or (n is not None and a.shape[0] != n):
        raise InvalidInputError(f"{name} must be a vector of length {n}, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise InvalidInputError(f"{name} has NaN or infinite values")
    return a


def group_labels(name: str, groups, n: int, need_two: bool = True):
    """(labels as 0..K-1 int array, K): one label per item; at least two groups when needed."""
    g = np.asarray(groups)
    if g.ndim != 1 or g.shape[0] != n:
        raise InvalidInputError(f"{name} must hold one group label per item ({n}), got shape "
                                f"{g.shape}")
    _, inv = np.unique(g, return_inverse=True)
    K = int(inv.max()) + 1 if n else 0
    if need_two and K < 2:
        raise InvalidInputError(f"{name} has a single group; a group-fairness constraint "
                                "needs at least two")
    return inv.astype(np.int64), K


def positive_int(name: str, value, upper: int | None = None, upper_name: str = "") -> int:
    """An integer >= 1 (and <= ``upper``, named ``upper_name`` in the message)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InvalidInputError(f"{name} must be a positive integer, got {value!r}")
    if upper is not None and value > upper:
        raise InvalidInputError(f"{name}={value} is larger than {upper_name} ({upper})")
    return int(value)


def probability(name: str, value, open_low=True, open_high=True) -> float:
    """A number in (0, 1) (ends closed when ``open_low`` / ``open_high`` is False)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name} must be a number in (0, 1), got {value!r}") from None
    lo_ok = v > 0 if open_low else v >= 0
    hi_ok = v < 1 if open_high else v <= 1
    if not (np.isfinite(v) and lo_ok and hi_ok):
        raise InvalidInputError(f"{name} must be in {'(' if open_low else '['}0, 1"
                                f"{')' if open_high else ']'}, got {value!r}")
    return v
