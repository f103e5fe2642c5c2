"""Boundary checks on scalar parameters: real numbers, integers, probabilities, choices.

Each function returns the value converted to a plain Python type (``float``, ``int``, ``str``)
or raises :class:`structpred.errors.InvalidInputError` whose message starts with the
parameter's name and says what was expected, e.g. ``C must be a finite real number > 0, got
nan``. Booleans are never numbers here (``True`` is not ``C = 1``), strings are never numbers
(``"1"`` is refused: the command line converts its text itself), and ``1.7`` is not an integer.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

import numpy as np

from ..errors import InvalidInputError

__all__ = ["check_real", "check_positive", "check_int", "check_probability", "check_choice",
           "check_bool", "check_verbose", "check_seed", "check_state", "check_n_samples", "check_temperature",
           "check_level", "check_solver_params", "check_draws", "check_n_jobs", "check_grid",
           "MAX_C", "MAX_DRAWS", "MAX_JOBS"]

#: Largest accepted C (SVM-struct's C). Beyond it C·ξ exceeds ½‖w‖² by more than float64's
#: 16 digits on ordinary data (‖w‖ of order 1-100, losses of order 1), so the regulariser is
#: lost in rounding and no solver can certify a precision: C=1e20 made 1-slack stop at w = 0.
MAX_C = 1e12


def _fmt(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _range_text(low, high, low_inclusive, high_inclusive) -> str:
    def num(x):   # an integer bound exactly (2**32 - 1, not 4.29497e+09), a real one short
        return str(x) if isinstance(x, numbers.Integral) else f"{x:g}"
    parts = []
    if low is not None:
        parts.append(f"{'>=' if low_inclusive else '>'} {num(low)}")
    if high is not None:
        parts.append(f"{'<=' if high_inclusive else '<'} {num(high)}")
    return " and ".join(parts)


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def check_real(value, name: str, low: float | None = None, high: float | None = None, *,
               low_inclusive: bool = True, high_inclusive: bool = True,
               allow_inf: bool = False, index: int | None = None) -> float:
    """``float(value)`` if ``value`` is a real number (not a bool or a string), finite (unless
    ``allow_inf``) and within ``low <= value <= high`` (strict where ``*_inclusive`` is False);
    InvalidInputError naming ``name`` otherwise. NaN is always refused."""
    rng = _range_text(low, high, low_inclusive, high_inclusive)
    want = f"a {'real' if allow_inf else 'finite real'} number" + (f" {rng}" if rng else "")
    if not _is_real(value):
        raise InvalidInputError(f"{name} must be {want}, got {_fmt(value)}", index)
    try:
        v = float(value)
    except (OverflowError, ValueError, TypeError):
        raise InvalidInputError(f"{name} must be {want}, got {_fmt(value)}", index) from None
    if math.isnan(v) or (math.isinf(v) and not allow_inf):
        raise InvalidInputError(f"{name} must be {want}, got {v!r}", index)
    if low is not None and (v < low or (v == low and not low_inclusive)):
        raise InvalidInputError(f"{name} must be {want}, got {v!r}", index)
    if high is not None and (v > high or (v == high and not high_inclusive)):
        raise InvalidInputError(f"{name} must be {want}, got {v!r}", index)
    return v


def check_positive(value, name: str, high: float | None = None, *, allow_inf: bool = False,
                   allow_none: bool = False, index: int | None = None):
    """A real number > 0 (and <= ``high`` if given), finite unless ``allow_inf``:
    ``check_real(value, name, 0, high, low_inclusive=False)``, with the message "``name``
    must be a positive finite number". None is returned as is when ``allow_none`` (an
    optional parameter left out, e.g. no clipping)."""
    if value is None and allow_none:
        return None
    try:
        return check_real(value, name, 0.0, high, low_inclusive=False, allow_inf=allow_inf,
                          index=index)
    except InvalidInputError:
        limit = "" if high is None else f" <= {high:g}"
        kind = "number (inf allowed)" if allow_inf else "finite number"
        raise InvalidInputError(f"{name} must be a positive {kind}{limit}, got "
                                f"{_fmt(value)}", index) from None


def check_int(value, name: str, low: int | None = None, high: int | None = None, *,
              high_name: str | None = None, strict: bool = False,
              index: int | None = None) -> int:
    """``int(value)`` if ``value`` is an integer (a Python or numpy integer, or a float with
    no fractional part such as ``1e3``) within ``low <= value <= high``; InvalidInputError
    naming ``name`` for a bool, a string, ``1.7``, NaN/inf or a value out of range.
    ``high_name`` says what ``high`` is: a value above it is reported as "``name``=5 is
    larger than ``high_name`` (3)" (e.g. k larger than the number of items). ``strict``:
    only integer types (a float such as ``5.0`` is refused too), for a parameter that is
    checked but not converted (an estimator's constructor argument used as given)."""
    rng = _range_text(low, high, True, True)
    want = "an integer" + (f" {rng}" if rng else "")
    if isinstance(value, numbers.Integral) and _is_real(value):
        v = int(value)
    elif _is_real(value) and isinstance(value, numbers.Real) and not strict:
        f = float(value)
        if not math.isfinite(f) or f != math.floor(f):
            raise InvalidInputError(f"{name} must be {want}, got {_fmt(value)}", index)
        v = int(f)
    else:
        raise InvalidInputError(f"{name} must be {want}, got {_fmt(value)}", index)
    if high is not None and v > high and high_name is not None and (low is None or v >= low):
        raise InvalidInputError(f"{name}={v} is larger than {high_name} ({high})", index)
    if (low is not None and v < low) or (high is not None and v > high):
        raise InvalidInputError(f"{name} must be {want}, got {v}", index)
    return v


def check_probability(value, name: str, *, allow_zero: bool = True, allow_one: bool = True,
                      index: int | None = None) -> float:
    """A probability: a real number in [0, 1] (open at 0 or 1 when ``allow_zero`` /
    ``allow_one`` is False); InvalidInputError naming ``name`` otherwise."""
    return check_real(value, name, 0.0, 1.0, low_inclusive=allow_zero,
                      high_inclusive=allow_one, index=index)


def check_choice(value, name: str, choices: Iterable, *, index: int | None = None):
    """``value`` if it is one of ``choices`` (compared with ``==``, same type family: the
    string ``"1"`` never matches the integer 1); InvalidInputError listing the choices."""
    options = list(choices)
    for c in options:
        try:
            same = type(value) is type(c) or (_is_real(value) and _is_real(c))
            if same and value == c:
                return c
        except Exception:  # noqa: BLE001 -- an object whose == raises is simply not a choice
            continue
    listed = ", ".join(repr(c) for c in options)
    raise InvalidInputError(f"{name} must be one of {listed}; got {_fmt(value)}", index)


def check_bool(value, name: str, *, index: int | None = None) -> bool:
    """``value`` if it is a bool (Python or numpy); InvalidInputError naming ``name``."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise InvalidInputError(f"{name} must be True or False, got {_fmt(value)}", index)


def check_verbose(value, name: str = "verbose"):
    """A verbosity: a bool (Python or numpy) or an integer >= 0, returned as given;
    InvalidInputError naming ``name`` otherwise (-1, 1.5, "x", NaN)."""
    if not isinstance(value, (bool, np.bool_)):
        check_int(value, name, 0)
    return value


def check_seed(value, name: str = "random_state"):
    """A random seed: None, an integer in [0, 2**32 - 1], or a ``numpy.random.Generator`` /
    ``RandomState`` (returned unchanged); InvalidInputError naming ``name`` otherwise."""
    if value is None or type(value).__name__ in ("Generator", "RandomState"):
        return value
    return check_int(value, name, 0, 2**32 - 1)


def check_state(state, owner: str, spec: dict, required=()) -> dict:
    """Validate a task's saved state (``set_state``'s argument): a dict whose keys are all in
    ``spec`` (no unknown key can set an arbitrary attribute), each value passed through
    ``spec[key](value, name)`` (e.g. ``lambda v, n: check_int(v, n, 1)``), every key of
    ``required`` present. Returns the converted dict; InvalidInputError naming the key."""
    if not isinstance(state, dict):
        raise InvalidInputError(f"{owner} state must be a dict, got {type(state).__name__}")
    unknown = sorted(str(k) for k in state if k not in spec)
    if unknown:
        raise InvalidInputError(f"{owner} state has unknown key(s) {', '.join(map(repr, unknown))}; "
                                f"known: {', '.join(map(repr, spec))}")
    missing = [k for k in required if k not in state]
    if missing:
        raise InvalidInputError(f"{owner} state lacks {', '.join(map(repr, missing))}")
    return {k: spec[k](v, f"{owner} state {k!r}") for k, v in state.items()}


def check_n_samples(n, name: str = "n") -> int:
    """A number of samples: an integer >= 1 (``check_int``: bools, strings and 1.5 refused);
    the message says "``name`` must be a positive integer (number of samples)"."""
    try:
        return check_int(n, name, 1)
    except InvalidInputError:
        raise InvalidInputError(f"{name} must be a positive integer (number of samples), got "
                                f"{_fmt(n)}") from None


def check_temperature(T, name: str = "temperature") -> float:
    """A temperature T of a Gibbs policy π ∝ exp(w·Ψ/T): a positive finite real number."""
    return check_positive(T, name)


def check_level(value, name: str = "level") -> float:
    """A confidence level in the open interval (0, 1)."""
    try:
        return check_probability(value, name, allow_zero=False, allow_one=False)
    except InvalidInputError:
        raise InvalidInputError(f"{name} must be a confidence level in (0, 1), got "
                                f"{_fmt(value)}") from None


def check_solver_params(C, eps, max_iter) -> tuple[float, float, int]:
    """(C, eps, max_iter) as (float, float, int) for the SVM-struct problem
    min ½‖w‖² + C Σ ξ_i: 0 < C <= MAX_C, eps > 0 finite, max_iter an integer >= 1 (``1e3``
    counts; ``1.5``, bools and strings do not); InvalidInputError naming the parameter."""
    if _is_real(C) and not math.isnan(float(C)) and float(C) > MAX_C:
        raise InvalidInputError(f"C must be in (0, {MAX_C:g}], got {float(C)!r} (beyond it the "
                                "regulariser is lost in float64 rounding)")
    try:
        C = check_real(C, "C", 0.0, MAX_C, low_inclusive=False)
    except InvalidInputError:
        raise InvalidInputError(f"C must be a positive finite number in (0, {MAX_C:g}], got "
                                f"{_fmt(C)}") from None
    eps = check_positive(eps, "eps")
    max_iter = check_int(max_iter, "max_iter", 1)
    return C, eps, max_iter


#: Largest number of draws a sampling call returns or averages over (draws per example times
#: examples): 2**26 draws, about 0.5 GiB as Python lists. Beyond it the draws would not fit in
#: memory (n = 1e12 asked numpy for terabytes), so the count is refused up front.
MAX_DRAWS = 2 ** 26

#: Largest |n_jobs| accepted (threads); beyond it threadpoolctl's C int overflows.
MAX_JOBS = 2 ** 15


def check_draws(n, n_examples: int, name: str = "n") -> int:
    """A number of draws per example (``check_n_samples``) whose total over ``n_examples``
    examples is at most ``MAX_DRAWS``; InvalidInputError naming ``name`` otherwise."""
    n = check_n_samples(n, name)
    total = n * max(int(n_examples), 1)
    if total > MAX_DRAWS:
        raise InvalidInputError(f"{name}={n} draws for {n_examples} example(s) is {total:,} draws, "
                                f"more than MAX_DRAWS={MAX_DRAWS:,} "
                                "(structpred.boundary.params.MAX_DRAWS)")
    return n


def check_n_jobs(value, name: str = "n_jobs"):
    """A thread count: None, or a non-zero integer (a Python or numpy integer; floats such as
    2.0 are refused, the value is used as given) with |n_jobs| <= MAX_JOBS (negative counts
    back from the number of CPUs, -1 = all); bools, strings, NaN and inf refused too.
    InvalidInputError naming ``name``."""
    if value is None:
        return None
    try:
        v = check_int(value, name, -MAX_JOBS, MAX_JOBS, strict=True)
    except InvalidInputError:
        v = None
    if v is None or v == 0:
        raise InvalidInputError(f"{name} must be None or a non-zero integer in [-{MAX_JOBS}, "
                                f"{MAX_JOBS}] (negative counts back from the number of CPUs), "
                                f"got {_fmt(value)}")
    return v


def check_grid(value, name: str, check) -> list:
    """A hyper-parameter given as one value or a non-empty list/tuple/1-D array of values (a
    grid to search): the list of ``check(v, name)`` of its values; InvalidInputError naming
    ``name`` for an empty grid (nothing to fit) or a bad value."""
    if isinstance(value, (list, tuple, np.ndarray)):
        values = list(np.ravel(value)) if isinstance(value, np.ndarray) else list(value)
        if not values:
            raise InvalidInputError(f"{name} is an empty grid ({_fmt(value)}): give one value "
                                    "or a non-empty list of values")
        return [check(v, name) for v in values]
    return [check(value, name)]

