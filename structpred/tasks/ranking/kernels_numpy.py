"""Numpy twins of the ranking kernels (``kernels.py``), run while numba is not loaded.

``structpred.jit`` calls them instead of the numba kernels for problems of moderate size (see
``accepts``), so that a MQ2008-sized run never loads numba. They compute exactly what the
kernels compute: the same integer pair counts, hence the same coefficients and losses, bit
for bit (tests/test_ranking_numpy.py).

The ranking oracle counts, for every document k of a query (qk = s - margin),

    up_k   = #{j : g_j < g_k, s_j > qk_k}      down_k = #{i : g_i > g_k, qk_i < s_k}

vectorised over all queries at once: the scores and the thresholds qk sorted together by
(query, value) as complex keys q + i·v (numpy orders complex numbers lexicographically;
a stable sort puts a score before an equal threshold), counts of scores / thresholds before
each threshold / score for where it falls within its query, and, per grade level t, prefix
counts of the documents below / above t in that order: O(N log N + G·N) for N documents
and at most G grades per query.
"""
from __future__ import annotations

import numpy as np

__all__ = ["rank_oracle", "MAX_DOCUMENTS", "MAX_GRADES"]

#: Largest number of documents (all queries together) the numpy oracle takes.
MAX_DOCUMENTS = 1 << 18
#: Largest number of distinct grades in one query the numpy oracle takes.
MAX_GRADES = 32


def rank_oracle(scores, grade_rank, offsets, n_grades, scale, coef_out, loss_out, margin=1.0):
    """The numpy twin of ``kernels.rank_oracle`` (same arguments, same results): writes the
    per-document δΨ coefficients scale_q (up_k - down_k) into coef_out and the per-query
    losses scale_q Σ_k up_k into loss_out."""
    n = offsets.shape[0] - 1
    N = int(offsets[-1])
    if n == 0:
        return
    sizes = np.diff(offsets)
    query = np.repeat(np.arange(n), sizes)
    s = scores[:N]
    # the scores and the thresholds qk = s - margin sorted together by (query, value), a
    # score before a threshold of the same value (stable sort, scores first): per document,
    # the first position after its query's documents with s_j <= qk_k (pu) / with
    # qk_i < s_k (pd) is the number of scores / thresholds before its threshold / score
    qf = query.astype(np.float64)
    key = np.empty(2 * N, dtype=np.complex128)
    key.real[:N] = qf
    key.real[N:] = qf
    key.imag[:N] = s
    key.imag[N:] = s - margin
    both = np.argsort(key, kind="stable")
    is_score = both < N
    is_threshold = ~is_score
    order = both[is_score]               # the documents by (query, score)
    pu = np.empty(N, dtype=np.int64)
    pd = np.empty(N, dtype=np.int64)
    pu[both[is_threshold] - N] = np.cumsum(is_score)[is_threshold]
    pd[order] = np.cumsum(is_threshold)[is_score]
    start = offsets[:-1][query]
    end = offsets[1:][query]
    g = grade_rank[:N]
    gs = g[order]
    up = np.zeros(N, dtype=np.int64)
    down = np.zeros(N, dtype=np.int64)
    G = int(n_grades.max())
    prefix = np.zeros(N + 1, dtype=np.int64)
    for t in range(G):
        mine = np.flatnonzero(g == t)
        if mine.size == 0:
            continue
        if t > 0:     # up: documents of a lower grade at positions [pu_k, end_q)
            np.cumsum(gs < t, out=prefix[1:])
            up[mine] = prefix[end[mine]] - prefix[pu[mine]]
        if t < G - 1:  # down: documents of a higher grade at positions [start_q, pd_k)
            np.cumsum(gs > t, out=prefix[1:])
            down[mine] = prefix[pd[mine]] - prefix[start[mine]]
    coef_out[:N] = scale[query] * (up - down)
    loss_out[:n] = scale[:n] * np.bincount(query, weights=up, minlength=n)


def _accepts(scores, grade_rank, offsets, n_grades, scale, coef_out, loss_out, margin=1.0):
    return (scores.shape[0] <= MAX_DOCUMENTS and offsets.shape[0] > 1
            and int(n_grades.max()) <= MAX_GRADES)


rank_oracle.accepts = _accepts
