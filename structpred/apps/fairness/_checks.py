"""Name-first adapters to :mod:`structpred.boundary` for ``fair_pg_rank.py`` only.

Every check of the fairness application is written in ``structpred.boundary``
(``check_vector(..., low=0)``, ``check_groups``, ``check_int``, ``check_probability``). This
module only keeps the two old call signatures that ``fair_pg_rank.py`` still uses, so that
the move did not have to edit that file; delete it once its calls name the boundary
functions directly."""
from __future__ import annotations

import numpy as np

from ...boundary.arrays import check_groups, check_vector


def nonnegative_vector(name: str, values, n: int | None = None) -> np.ndarray:
    """``check_vector(values, name, n, low=0.0)``: finite values >= 0."""
    return check_vector(values, name, n, low=0.0)


def group_labels(name: str, groups, n: int, need_two: bool = True):
    """``check_groups(groups, name, n, min_groups=2 if need_two else 1)`` (0 for no items)."""
    return check_groups(groups, name, n, min_groups=(2 if need_two else 1) if n else 0)
