"""Per-example cache of oracle answers (SVM-struct ``-w 4``'s constraint cache).

For every example i the cache keeps up to ``size`` distinct answers ŷ as their rows δΨ_i(ŷ)
and losses Δ_i(ŷ). An oracle answer enters only when it is more violated at the current w
than the example's best cached answer; when an example's list is full, the answer that has
gone longest without being the example's most violated one is evicted, and an answer that
has not been the most violated for ``max_idle`` scans is dropped. The cached
constraint picks, per example, the most violated cached answer (or ŷ_i = y_i, violation 0)
and aggregates the chosen rows:

    a = (1/n) Σ_i s_i δΨ_i(ŷ_i),   b = (1/n) Σ_i Δ_i(ŷ_i),   s_i = 1 (margin) or Δ_i (slack).

Rows live in one growing buffer; the scans are numba loops over the stored nonzeros only.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from ..jit import njit

__all__ = ["OutputCache"]


@njit(cache=True, nogil=True)
def _cache_best(values, indices, start, length, loss, last_best, tick, w, slack_rescaling,
                max_idle):
    n, S = start.shape
    best = np.zeros(n)
    choice = np.full(n, -1, dtype=np.int64)
    for i in range(n):
        for s in range(S):
            if length[i, s] < 0:
                continue
            m = 0.0
            for p in range(start[i, s], start[i, s] + length[i, s]):
                m += values[p] * w[indices[p]]
            h = loss[i, s] * (1.0 - m) if slack_rescaling else loss[i, s] - m
            if h > best[i]:
                best[i] = h
                choice[i] = s
        if choice[i] >= 0:
            last_best[i, choice[i]] = tick
        for s in range(S):
            if length[i, s] >= 0 and tick - last_best[i, s] > max_idle:
                length[i, s] = -1
    return best, choice


@njit(cache=True, nogil=True)
def _cache_aggregate(values, indices, start, length, loss, choice, include, slack_rescaling, out):
    n = start.shape[0]
    b = 0.0
    for i in range(n):
        s = choice[i]
        if s < 0 or not include[i]:
            continue
        c = loss[i, s] if slack_rescaling else 1.0
        for p in range(start[i, s], start[i, s] + length[i, s]):
            out[indices[p]] += c * values[p]
        b += loss[i, s]
    return b


@njit(cache=True, nogil=True)
def _cache_insert(values, indices, used, start, length, loss, last_best, tick,
                  data, cols, indptr, L, keep):
    n, S = start.shape
    for i in range(n):
        if not keep[i]:
            continue
        slot = -1
        oldest = np.iinfo(np.int64).max
        for s in range(S):
            if length[i, s] < 0:
                slot = s
                break
            if last_best[i, s] < oldest:
                oldest = last_best[i, s]
                slot = s
        k = indptr[i + 1] - indptr[i]
        values[used:used + k] = data[indptr[i]:indptr[i + 1]]
        indices[used:used + k] = cols[indptr[i]:indptr[i + 1]]
        start[i, slot] = used
        length[i, slot] = k
        loss[i, slot] = L[i]
        last_best[i, slot] = tick
        used += k
    return used


class OutputCache:
    """Up to ``size`` distinct cached answers per example."""

    @staticmethod
    def table_bytes(size: int, n: int) -> int:
        """Bytes of the per-example slot tables (four n x size arrays of 8-byte values)."""
        return 32 * n * max(int(size), 1)

    def __init__(self, size: int, n: int, d: int, rescaling: str, max_idle: int = 10):
        self.size = max(int(size), 0)
        self.max_idle = max_idle
        self.n = n
        self.slack_rescaling = rescaling == "slack"
        S = max(self.size, 1)
        self.start = np.zeros((n, S), dtype=np.int64)
        self.length = np.full((n, S), -1, dtype=np.int64)
        self.losses = np.zeros((n, S))
        self.last_best = np.zeros((n, S), dtype=np.int64)
        self.values = np.zeros(1024)
        self.indices = np.zeros(1024, dtype=np.int32 if d < 2**31 else np.int64)
        self.used = 0
        self.tick = 0

    def __len__(self) -> int:
        return int((self.length >= 0).sum())

    def nnz(self) -> int:
        """Number of cached outputs over all examples."""
        return int(np.maximum(self.length, 0).sum())

    def best(self, w):
        """Per-example (best hinge, chosen entry or -1 for ŷ = y) at w."""
        self.tick += 1
        return _cache_best(self.values, self.indices, self.start, self.length, self.losses,
                           self.last_best, self.tick, w, self.slack_rescaling, self.max_idle)

    def constraint(self, choice, include, d):
        """(dense a, b) of the aggregated constraint over the included examples' choices."""
        a = np.zeros(d)
        b = _cache_aggregate(self.values, self.indices, self.start, self.length, self.losses,
                             choice, include, self.slack_rescaling, a)
        return a / self.n, b / self.n

    def insert(self, D: sp.csr_matrix, L: np.ndarray, keep: np.ndarray) -> None:
        """Store the oracle's rows of the examples in ``keep``."""
        if self.size == 0 or not keep.any():
            return
        D = sp.csr_matrix(D)
        need = int(np.diff(D.indptr)[keep].sum())
        if self.used + need > self.values.shape[0]:
            self._compact(extra=need)
        self.used = _cache_insert(self.values, self.indices, self.used, self.start, self.length,
                                  self.losses, self.last_best, self.tick, D.data,
                                  D.indices.astype(self.indices.dtype, copy=False),
                                  D.indptr.astype(np.int64, copy=False),
                                  np.asarray(L, dtype=np.float64), keep)

    def _compact(self, extra: int) -> None:
        """Rebuild the buffer with the live rows only, with room for ``extra`` more."""
        live = self.length >= 0
        lengths = np.where(live, self.length, 0)
        total = int(lengths.sum())
        cap = max(2 * (total + extra), 1024)
        values = np.zeros(cap)
        indices = np.zeros(cap, dtype=self.indices.dtype)
        new_start = np.zeros_like(self.start)
        pos = 0
        for i, s in zip(*np.nonzero(live)):
            k = lengths[i, s]
            old = self.start[i, s]
            values[pos:pos + k] = self.values[old:old + k]
            indices[pos:pos + k] = self.indices[old:old + k]
            new_start[i, s] = pos
            pos += k
        self.values, self.indices, self.start, self.used = values, indices, new_start, pos
