"""Numba kernels of the ranking tasks: the O(m log m) 1-slack ranking oracle (Joachims, KDD 2006).

For one query with scores s = Xw and grades g, the most violated labelling of the preference
pairs P = {(i, j): g_i > g_j} under margin rescaling swaps exactly the pairs with
s_i - s_j < 1 (svm_rank's strict test). The solver only needs, per document k,

    up_k   = #{j : g_j < g_k, s_j > s_k - 1}   (pairs where k is the better document, swapped)
    down_k = #{i : g_i > g_k, s_i < s_k + 1}   (pairs where k is the worse document, swapped)

so that δΨ = (1/Z) Σ_k (up_k - down_k) x_k and Δ = (1/Z) Σ_k up_k. Both counts come from one
sort of the scores and a sweep with a Fenwick tree over the query's grade ranks: O(m log m)
for any number of distinct grades (svm_rank itself uses an O(m²) double loop).
"""
from __future__ import annotations

import numpy as np
from ...jit import njit

__all__ = ["rank_oracle", "pair_counts"]


@njit(cache=True, nogil=True)
def _fenwick_add(tree, i, v):
    i += 1
    while i < tree.shape[0]:
        tree[i] += v
        i += i & (-i)


@njit(cache=True, nogil=True)
def _fenwick_prefix(tree, i):
    """Sum of the entries with rank < i."""
    s = 0
    while i > 0:
        s += tree[i]
        i -= i & (-i)
    return s


@njit(cache=True, nogil=True)
def rank_oracle(scores, grade_rank, offsets, n_grades, scale, coef_out, loss_out, margin=1.0):
    """Most violated pair labelling of every query (margin rescaling).

    scores, grade_rank : (N,) stacked over the queries; grade_rank is the dense rank of each
        document's grade within its query (0 = lowest).
    offsets : (n+1,) query q owns documents offsets[q]:offsets[q+1].
    n_grades : (n,) number of distinct grades of each query.
    scale : (n,) per-query factor (weight / Z) applied to both δΨ and Δ.
    coef_out : (N,) receives the per-document coefficients of δΨ.
    loss_out : (n,) receives Δ.
    margin : a pair counts as swapped when s_i - s_j < margin (1 for the oracle; 0 counts the
        pairs a ranking strictly inverts).
    """
    n = offsets.shape[0] - 1
    for q in range(n):
        a = offsets[q]
        b = offsets[q + 1]
        m = b - a
        G = n_grades[q]
        if m < 2 or G < 2:
            for k in range(a, b):
                coef_out[k] = 0.0
            loss_out[q] = 0.0
            continue
        s = scores[a:b]
        g = grade_rank[a:b]
        # one predicate for both sides of every pair: (i, j) swapped iff qk[i] < s[j] with
        # qk = s - margin computed once (s_j > s_i - margin and s_i < s_j + margin can round
        # differently at the margin, which would count a pair on one side only)
        qk = s - margin
        order = np.argsort(s)  # ascending; qk is ascending in the same order
        tree = np.zeros(G + 1, dtype=np.int64)
        up = np.zeros(m, dtype=np.int64)
        # up_i: lower-grade j with s_j > qk_i; i by descending qk, j added by descending s
        p = m - 1
        for t in range(m - 1, -1, -1):
            i = order[t]
            while p >= 0 and s[order[p]] > qk[i]:
                _fenwick_add(tree, g[order[p]], 1)
                p -= 1
            up[i] = _fenwick_prefix(tree, g[i])
        tree[:] = 0
        total = 0
        p = 0
        swapped = 0
        # down_j: higher-grade i with qk_i < s_j; j by ascending s, i added by ascending qk
        for t in range(m):
            j = order[t]
            while p < m and qk[order[p]] < s[j]:
                _fenwick_add(tree, g[order[p]], 1)
                total += 1
                p += 1
            down = total - _fenwick_prefix(tree, g[j] + 1)
            coef_out[a + j] = scale[q] * (up[j] - down)
            swapped += up[j]
        loss_out[q] = scale[q] * swapped


@njit(cache=True, nogil=True)
def pair_counts(grade_rank, offsets, n_grades, lower_out, higher_out, pairs_out):
    """Per document: #documents of its query with a lower / higher grade; per query: |P|."""
    n = offsets.shape[0] - 1
    for q in range(n):
        a = offsets[q]
        b = offsets[q + 1]
        G = n_grades[q]
        counts = np.zeros(G + 1, dtype=np.int64)
        for k in range(a, b):
            counts[grade_rank[k]] += 1
        below = np.zeros(G + 1, dtype=np.int64)
        for r in range(1, G + 1):
            below[r] = below[r - 1] + counts[r - 1]
        m = b - a
        pairs = 0
        for k in range(a, b):
            r = grade_rank[k]
            lower_out[k] = below[r]
            higher_out[k] = m - below[r] - counts[r]
            pairs += below[r]
        pairs_out[q] = pairs
