"""The 1-slack working set: aggregated constraints (a_k, b_k), their Gram matrix G and α.

Each a_k is kept as its nonzeros in one growing buffer (values float64, indices int32/int64),
so that the two per-iteration passes over the working set are plain numba loops:
G[new, k] = a_new·a_k (a gather from the dense new constraint) and w = Σ_k α_k a_k (a
scatter of the active constraints only). Since w = Σ α_k a_k, the margins a_k·w are (Gα)_k
and cost nothing. Dropped constraints leave holes that are compacted when they exceed half
of the buffer.
"""
from __future__ import annotations

import numpy as np
from ..jit import njit

__all__ = ["WorkingSet"]


@njit(cache=True, nogil=True)
def _gram_row(values, indices, starts, stops, dense):
    out = np.empty(starts.shape[0])
    for k in range(starts.shape[0]):
        s = 0.0
        for p in range(starts[k], stops[k]):
            s += values[p] * dense[indices[p]]
        out[k] = s
    return out


@njit(cache=True, nogil=True)
def _combine(values, indices, starts, stops, coef, out):
    for k in range(starts.shape[0]):
        c = coef[k]
        if c != 0.0:
            for p in range(starts[k], stops[k]):
                out[indices[p]] += c * values[p]
    return out


@njit(cache=True, nogil=True)
def _nonzeros(dense):
    count = 0
    for j in range(dense.shape[0]):
        if dense[j] != 0.0:
            count += 1
    out = np.empty(count, dtype=np.int64)
    count = 0
    for j in range(dense.shape[0]):
        if dense[j] != 0.0:
            out[count] = j
            count += 1
    return out


class WorkingSet:
    """Constraints of the 1-slack dual: b, G, α, idle counters and the sparse a_k."""

    def __init__(self, d: int):
        self.d = d
        self.index_dtype = np.int32 if d < 2**31 else np.int64
        self.values = np.zeros(1024)
        self.indices = np.zeros(1024, dtype=self.index_dtype)
        self.used = 0
        self.starts = np.zeros(0, dtype=np.int64)
        self.stops = np.zeros(0, dtype=np.int64)
        self.b = np.zeros(0)
        self.G = np.zeros((0, 0))
        self.alpha = np.zeros(0)
        self.idle = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return self.b.shape[0]

    def nnz(self) -> int:
        """Stored nonzeros of all constraint vectors."""
        return int((self.stops - self.starts).sum())

    def nbytes(self) -> int:
        """Memory held by the constraint vectors and the Gram matrix, in bytes."""
        return self.values.nbytes + self.indices.nbytes + self.G.nbytes

    def margins(self) -> np.ndarray:
        """[a_k·w for each k] at w = Σ α_k a_k."""
        return self.G @ self.alpha

    def slack(self) -> float:
        """ξ = max(0, max_k b_k - a_k·w) at w = Σ α_k a_k."""
        if len(self) == 0:
            return 0.0
        return max(0.0, float(np.max(self.b - self.margins())))

    def weights(self) -> np.ndarray:
        """w = Σ_k α_k a_k (dense)."""
        return _combine(self.values, self.indices, self.starts, self.stops, self.alpha, np.zeros(self.d))

    def add(self, a_dense: np.ndarray, b: float) -> None:
        """Append the constraint (a, b), a given dense; extends G by one row and column."""
        idx = _nonzeros(a_dense)
        g_new = _gram_row(self.values, self.indices, self.starts, self.stops, a_dense)
        need = self.used + idx.size
        if need > self.values.shape[0]:
            cap = max(need, 2 * self.values.shape[0])
            self.values = np.resize(self.values, cap)
            self.indices = np.resize(self.indices, cap)
        self.values[self.used:need] = a_dense[idx]
        self.indices[self.used:need] = idx
        self.starts = np.append(self.starts, self.used)
        self.stops = np.append(self.stops, need)
        self.used = need
        K = len(self)
        G = np.empty((K + 1, K + 1))
        G[:K, :K] = self.G
        G[K, :K] = g_new
        G[:K, K] = g_new
        G[K, K] = float(a_dense[idx] @ a_dense[idx])
        self.G = G
        self.b = np.append(self.b, b)
        self.alpha = np.append(self.alpha, 0.0)
        self.idle = np.append(self.idle, 0)

    def update_alpha(self, alpha: np.ndarray, C: float) -> None:
        """Store the QP's α and count, per constraint, the iterations it has been inactive."""
        self.alpha = alpha
        self.idle = np.where(alpha > 1e-10 * C, 0, self.idle + 1)

    def drop_idle(self, window: int) -> int:
        """Remove constraints inactive for ``window`` iterations; returns how many."""
        keep = self.idle < window
        if keep.all():
            return 0
        self.starts, self.stops = self.starts[keep], self.stops[keep]
        self.b, self.alpha, self.idle = self.b[keep], self.alpha[keep], self.idle[keep]
        self.G = self.G[np.ix_(keep, keep)]
        if 2 * self.nnz() < self.used:
            self._compact()
        return int((~keep).sum())

    def _compact(self) -> None:
        parts = [np.arange(s, e) for s, e in zip(self.starts, self.stops)]
        take = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        lengths = self.stops - self.starts
        self.values = self.values[take].copy()
        self.indices = self.indices[take].copy()
        self.used = take.size
        self.stops = np.cumsum(lengths)
        self.starts = self.stops - lengths
