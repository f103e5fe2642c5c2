"""Per-example cache of recent oracle answers (SVM-struct ``-w 4``'s constraint cache).

Slot j holds the answer of one oracle pass: the n x d CSR matrix D_j of δΨ_i rows and the
losses L_j. The cached constraint picks, for each example, the most violated cached answer
at the current w (or ŷ_i = y_i, violation 0) and aggregates the chosen rows:

    a = (1/n) Σ_i s_i δΨ_i(ŷ_i),   b = (1/n) Σ_i Δ_i(ŷ_i),   s_i = 1 (margin) or Δ_i (slack).

Both passes are numba loops over the slots' nonzeros (margins) and over the chosen rows only
(aggregation).
"""
from __future__ import annotations

from collections import deque

import numpy as np
import scipy.sparse as sp
from numba import njit

__all__ = ["OutputCache", "aggregate_rows", "row_margins", "hinge"]


@njit(cache=True, nogil=True)
def _row_margins(data, indices, indptr, w):
    n = indptr.shape[0] - 1
    out = np.empty(n)
    for i in range(n):
        s = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            s += data[p] * w[indices[p]]
        out[i] = s
    return out


@njit(cache=True, nogil=True)
def _add_rows(data, indices, indptr, coef, out):
    for i in range(coef.shape[0]):
        c = coef[i]
        if c != 0.0:
            for p in range(indptr[i], indptr[i + 1]):
                out[indices[p]] += c * data[p]


def row_margins(D: sp.csr_matrix, w: np.ndarray) -> np.ndarray:
    """[δΨ_i·w for each row i of D]."""
    return _row_margins(D.data, D.indices, D.indptr, w)


def aggregate_rows(D: sp.csr_matrix, coef: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out += Dᵀ coef, touching only rows with a nonzero coefficient."""
    _add_rows(D.data, D.indices, D.indptr, np.ascontiguousarray(coef, dtype=np.float64), out)
    return out


def hinge(L, margins, rescaling):
    """Per-example violation of a candidate: Δ - w·δΨ (margin) or Δ(1 - w·δΨ) (slack)."""
    if rescaling == "margin":
        return L - margins
    return L * (1.0 - margins)


def scale(L, rescaling):
    """s_i: 1 for margin rescaling, Δ_i for slack rescaling."""
    return np.ones_like(L) if rescaling == "margin" else L


class OutputCache:
    """The last ``size`` oracle answers for every example."""

    def __init__(self, size: int, n: int, rescaling: str):
        self.slots: deque = deque(maxlen=max(size, 0))
        self.n = n
        self.rescaling = rescaling

    def __len__(self):
        return len(self.slots)

    def append(self, D: sp.csr_matrix, L: np.ndarray) -> None:
        if self.slots.maxlen:
            D = sp.csr_matrix(D)
            D.sort_indices()
            self.slots.append((D, np.asarray(L, dtype=np.float64)))

    def best(self, w):
        """Per-example (best hinge, chosen slot or -1 for ŷ = y) over the cache at w."""
        best = np.zeros(self.n)
        choice = np.full(self.n, -1)
        for j, (D, L) in enumerate(self.slots):
            h = hinge(L, row_margins(D, w), self.rescaling)
            better = h > best
            best[better] = h[better]
            choice[better] = j
        return best, choice

    def constraint(self, choice, d):
        """(dense a, b) of the aggregated constraint for the given per-example choice."""
        a = np.zeros(d)
        b = 0.0
        for j, (D, L) in enumerate(self.slots):
            mask = choice == j
            if mask.any():
                aggregate_rows(D, np.where(mask, scale(L, self.rescaling), 0.0) / self.n, a)
                b += float(L[mask].sum()) / self.n
        return a, b
