"""Declared solver options: the type and range of each option, written beside the solver.

A registered solver (``registry.SOLVERS``) wraps itself in ``@declare_options(name=spec,
...)``, one spec per keyword option it takes beyond ``registry.COMMON``. The wrapper checks
every option given to the solver before any work, and ``StructuredSVM`` checks
``solver_options`` (and its own ``cache_size``, ``qp``, ``inactive_window``) the same way
before it builds the oracle, so a bad value is one ``InvalidInputError`` whose message starts
with the option's name, whichever way the solver was reached. The specs also give the
registry battery (``tests/test_solver_options.py``) the values each option must refuse and
the extreme values it must accept with a correct answer: a solver registered later, or an
option added later, is covered by the battery without a new test, and an option without a
spec fails it.

Specs: ``Count`` (an integer in a range), ``Real`` (a finite real number in a range),
``Flag`` (True or False), ``Choice`` (one of a few values), ``Seed`` (a random seed). Each
may allow None (``none=True``: the option's automatic value).
"""
from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass

from ..boundary.params import check_bool, check_choice, check_int, check_real, check_seed
from ..errors import InvalidInputError

__all__ = ["Count", "Real", "Flag", "Choice", "Seed", "declare_options", "option_specs",
           "check_option_values"]

#: values no spec accepts (beyond those its kind refuses)
_JUNK = (float("nan"), "x", [1], object())


class _Spec:
    """One option's rule: ``check(value, name)`` returns the value to use or raises
    InvalidInputError starting with ``name``; ``refused()`` and ``edges()`` give the battery
    values that must be refused and extreme values that must work."""

    none = False

    def check(self, value, name: str):
        """The value to pass to the solver (converted: ``1e3`` -> 1000 for a count), or
        InvalidInputError whose message starts with ``name``."""
        if value is None and self.none:
            return None
        return self._check(value, name)

    def refused(self) -> list:
        """Values this option must refuse (the battery's hostile values)."""
        return list(_JUNK) + ([] if self.none else [None]) + self._refused()

    def edges(self) -> list:
        """Extreme values this option accepts (range ends, None, every choice)."""
        return ([None] if self.none else []) + self._edges()

    def _check(self, value, name):  # pragma: no cover - every kind defines it
        raise NotImplementedError

    def _refused(self) -> list:
        return []

    def _edges(self) -> list:
        return []


@dataclass(frozen=True)
class Count(_Spec):
    """An integer ``low <= value <= high`` (``high`` None: no bound); bools, strings, 1.5 and
    NaN are refused, ``1e3`` counts as 1000 (``boundary.params.check_int``)."""

    low: int = 0
    high: int | None = None
    none: bool = False

    def _check(self, value, name):
        return check_int(value, name, self.low, self.high)

    def _refused(self):
        out = [True, self.low + 0.5, float("inf"), self.low - 1]
        return out + ([self.high + 1] if self.high is not None else [])

    def _edges(self):
        big = self.high if self.high is not None else max(self.low, 1) * 50
        return sorted({self.low, self.low + 1, big})


@dataclass(frozen=True)
class Real(_Spec):
    """A finite real number in [low, high] (open at an end whose ``*_open`` is True; None:
    no bound); bools, strings, NaN and inf are refused."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    none: bool = False

    def _check(self, value, name):
        return check_real(value, name, self.low, self.high, low_inclusive=not self.low_open,
                          high_inclusive=not self.high_open)

    def _refused(self):
        out = [True, float("inf"), float("-inf")]
        if self.low is not None:
            out.append(self.low if self.low_open else self.low - 1.0)
        if self.high is not None:
            out.append(self.high if self.high_open else self.high + 1.0)
        return out

    def _edges(self):
        lo = 0.0 if self.low is None else self.low
        hi = lo + 1e3 if self.high is None else self.high
        low = lo + (1e-9 if self.low_open else 0.0)
        high = hi - (1e-9 * max(1.0, abs(hi)) if self.high_open else 0.0)
        return [low, (low + high) / 2, high]


@dataclass(frozen=True)
class Flag(_Spec):
    """True or False (numpy's bool too); 0, 1 and strings are refused."""

    none: bool = False

    def _check(self, value, name):
        return check_bool(value, name)

    def _refused(self):
        return [0, 1, "True"]

    def _edges(self):
        return [True, False]


class Choice(_Spec):
    """One of ``choices`` (``boundary.params.check_choice``: ``"1"`` never matches 1)."""

    def __init__(self, *choices, none: bool = False):
        self.choices = choices
        self.none = none

    def __repr__(self):
        return f"Choice{self.choices!r}"

    def _check(self, value, name):
        return check_choice(value, name, self.choices)

    def _refused(self):
        return ["", "nope"] + [str(c).upper() + "_" for c in self.choices if isinstance(c, str)]

    def _edges(self):
        return list(self.choices)


@dataclass(frozen=True)
class Seed(_Spec):
    """A random seed: an integer in [0, 2**32 - 1]; None (fresh entropy) when ``none``; a
    numpy Generator or RandomState when ``generator``."""

    none: bool = True
    generator: bool = True

    def _check(self, value, name):
        if value is None:     # (only reached when None is not allowed: see _Spec.check)
            raise InvalidInputError(f"{name} must be an integer in [0, 4294967295], got None "
                                    "(this solver needs a fixed seed)")
        if not self.generator and type(value).__name__ in ("Generator", "RandomState"):
            raise InvalidInputError(f"{name} must be an integer in [0, 4294967295], got a "
                                    f"{type(value).__name__} (this solver derives one stream "
                                    "per partition from the integer)")
        return check_seed(value, name)

    def _refused(self):
        return [True, -1, 1.5, 2**32, float("inf")]

    def _edges(self):
        return [0, 2**32 - 1]


def declare_options(**specs):
    """Decorator of a solver ``fit_<name>(model, oracle, *, C, eps, ..., <options>)``: each
    keyword option beyond ``registry.COMMON`` gets a spec, and every call checks the options
    it is given before the solver runs (InvalidInputError naming the option). A spec for a
    parameter the solver does not take, or an option without a spec, is a TypeError here, at
    import: the solver cannot be registered half declared."""
    from .registry import COMMON

    def wrap(fn):
        params = inspect.signature(fn).parameters
        options = [k for k, p in params.items() if p.kind is p.KEYWORD_ONLY and k not in COMMON]
        missing = sorted(set(options) - set(specs))
        extra = sorted(set(specs) - set(options))
        if missing or extra:
            raise TypeError(f"{fn.__name__}: options without a spec {missing}, specs without an "
                            f"option {extra}")

        @functools.wraps(fn)
        def solver(model, oracle, **kwargs):
            return fn(model, oracle, **check_option_values(specs, kwargs))
        solver.option_specs = dict(specs)
        return solver
    return wrap


def option_specs(solver) -> dict:
    """The option specs a solver function declares (``declare_options``); {} if none."""
    return dict(getattr(solver, "option_specs", {}))


def check_option_values(specs: dict, options: dict, label: str = "{}") -> dict:
    """``options`` with each value that has a spec checked and converted (``label`` formats
    the name in messages, e.g. ``"solver_options[{!r}]"``); other keys pass unchanged."""
    out = dict(options)
    for key, value in options.items():
        spec = specs.get(key)
        if spec is not None:
            out[key] = spec.check(value, label.format(key))
    return out



def inner_tolerance(inner_tol, eps: float) -> float:
    """The KKT tolerance at which a dual block counts as solved: ``inner_tol`` (already
    checked > 0 by its spec), ε/10 when None. Above ε, a block "solved" that loosely could
    let SVM-struct's stopping rule claim a precision it does not have, and the sweeps would
    stop at once: InvalidInputError naming ``inner_tol``."""
    if inner_tol is None:
        return eps / 10.0
    if inner_tol > eps:
        raise InvalidInputError(f"inner_tol must be <= eps ({eps:g}): blocks are solved to "
                                f"within inner_tol of their KKT conditions; got {inner_tol!r}")
    return float(inner_tol)
