"""The click label of Propensity SVM-rank (a ground-floor type: the LETOR click-file reader
builds it, the ranking tasks and the click simulator use it)."""
from __future__ import annotations

from typing import NamedTuple

__all__ = ["Click"]


class Click(NamedTuple):
    """A Propensity SVM-rank label: the clicked document (row index among the shown
    candidates) and the click's weight, its inverse propensity 1/Q(o = 1 | rank)."""
    index: int
    weight: float = 1.0
