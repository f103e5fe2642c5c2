"""Anchored span and split features of a sentence, as integer value ids (numba kernels).

Per sentence, tokens are mapped to padded arrays ``tp`` / ``wp`` (index 0 and n+1 hold the
boundary symbol 0, token i sits at i+1). A span (i, j) gets F_SPAN values, one per template:
length bucket; first, last, preceding and following tag; the same four words; and the tag
pairs (preceding, first), (last, following), (first, last), (preceding, following). A binary
split at k gets F_SPLIT values: the tag pair (k-1, k) and the words at k-1 and k.
Each value is conjoined with the coarse label of the node (tables ``span_table[v, c]``,
``split_table[v, c]`` -> weight index, -1 when the conjunction never occurred in a gold
training tree).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .cky import n_spans, span_id

__all__ = ["F_SPAN", "F_SPLIT", "N_BUCKETS", "length_bucket", "span_values", "split_values",
           "anchored_scores", "symbol_scores", "derivation_feature_ids", "n_span_values", "n_split_values"]

F_SPAN = 13
F_SPLIT = 3
N_BUCKETS = 13


@njit(cache=True, nogil=True)
def length_bucket(L):
    """The span-length bucket of a span of L words: L-1 for L <= 7, then coarser buckets for longer spans."""
    if L <= 7:
        return L - 1
    if L <= 9:
        return 7
    if L <= 12:
        return 8
    if L <= 16:
        return 9
    if L <= 22:
        return 10
    if L <= 30:
        return 11
    return 12


def n_span_values(T, V):
    """Number of span feature values for T tags and V word classes (length buckets, boundary tags
    and words, tag pairs)."""
    return N_BUCKETS + 4 * T + 4 * V + 4 * T * T


def n_split_values(T, V):
    """Number of split-point feature values for T tags and V word classes."""
    return T * T + 2 * V


@njit(cache=True, nogil=True)
def span_values(tp, wp, i, j, T, V, out):
    """Fill out[0:F_SPAN] with the value ids of span (i, j)."""
    bef, fst, lst, aft = tp[i], tp[i + 1], tp[j], tp[j + 1]
    o = 0
    out[0] = length_bucket(j - i)
    o = N_BUCKETS
    out[1] = o + fst
    o += T
    out[2] = o + lst
    o += T
    out[3] = o + bef
    o += T
    out[4] = o + aft
    o += T
    out[5] = o + wp[i + 1]
    o += V
    out[6] = o + wp[j]
    o += V
    out[7] = o + wp[i]
    o += V
    out[8] = o + wp[j + 1]
    o += V
    out[9] = o + bef * T + fst
    o += T * T
    out[10] = o + lst * T + aft
    o += T * T
    out[11] = o + fst * T + lst
    o += T * T
    out[12] = o + bef * T + aft


@njit(cache=True, nogil=True)
def split_values(tp, wp, k, T, V, out):
    """Fill out[0:F_SPLIT] with the value ids of a split between tokens k-1 and k."""
    out[0] = tp[k] * T + tp[k + 1]
    out[1] = T * T + wp[k]
    out[2] = T * T + V + wp[k + 1]


@njit(cache=True, nogil=True)
def anchored_scores(n, tp, wp, T, V, span_table, split_table, w, n_coarse):
    """span_score (n_coarse, n_spans) and split_score (n_coarse, n + 1) for weights w."""
    ns = n_spans(n)
    span_score = np.zeros((n_coarse, ns))
    split_score = np.zeros((n_coarse, n + 1))
    vals = np.empty(F_SPAN, dtype=np.int64)
    if span_table.shape[0] > 0:
        for i in range(n):
            for j in range(i + 1, n + 1):
                sp = span_id(i, j, n)
                span_values(tp, wp, i, j, T, V, vals)
                for f in range(F_SPAN):
                    row = span_table[vals[f]]
                    for c in range(n_coarse):
                        idx = row[c]
                        if idx >= 0:
                            span_score[c, sp] += w[idx]
    if split_table.shape[0] > 0:
        for k in range(1, n):
            split_values(tp, wp, k, T, V, vals)
            for f in range(F_SPLIT):
                row = split_table[vals[f]]
                for c in range(n_coarse):
                    idx = row[c]
                    if idx >= 0:
                        split_score[c, k] += w[idx]
    return span_score, split_score


@njit(cache=True, nogil=True)
def symbol_scores(label_scores, feat_ptr, feat_ids):
    """(n_symbols, m) scores: each symbol sums the rows of its feature labels."""
    S = len(feat_ptr) - 1
    out = np.zeros((S, label_scores.shape[1]))
    for s in range(S):
        for p in range(feat_ptr[s], feat_ptr[s + 1]):
            out[s] += label_scores[feat_ids[p]]
    return out


@njit(cache=True, nogil=True)
def derivation_feature_ids(tp, wp, T, V, bnodes, unodes, span_table, split_table,
                           unary_offset, feat_ptr, feat_ids):
    """Weight indices (with repetition) of Ψ for one derivation.

    ``bnodes`` rows: (rule or -1, i, k, j, symbol or -1); ``unodes`` rows: (rule or -1, i, j,
    symbol or -1). Rule r is weight r (binary) or unary_offset + r (unary). The span and split
    templates fire once per feature label of the node's symbol.
    """
    use_span = span_table.shape[0] > 0
    use_split = split_table.shape[0] > 0
    cap = (bnodes.shape[0] + unodes.shape[0]) * (1 + 8 * F_SPAN) + bnodes.shape[0] * 8 * F_SPLIT
    out = np.empty(cap, dtype=np.int64)
    m = 0
    vals = np.empty(F_SPAN, dtype=np.int64)
    svals = np.empty(F_SPLIT, dtype=np.int64)
    for a in range(bnodes.shape[0]):
        r, i, k, j, s = bnodes[a, 0], bnodes[a, 1], bnodes[a, 2], bnodes[a, 3], bnodes[a, 4]
        if r >= 0:
            out[m] = r
            m += 1
        if s < 0:
            continue
        span_values(tp, wp, i, j, T, V, vals)
        split_values(tp, wp, k, T, V, svals)
        for p in range(feat_ptr[s], min(feat_ptr[s + 1], feat_ptr[s] + 8)):
            c = feat_ids[p]
            if use_span:
                for f in range(F_SPAN):
                    idx = span_table[vals[f], c]
                    if idx >= 0:
                        out[m] = idx
                        m += 1
            if use_split:
                for f in range(F_SPLIT):
                    idx = split_table[svals[f], c]
                    if idx >= 0:
                        out[m] = idx
                        m += 1
    for a in range(unodes.shape[0]):
        r, i, j, s = unodes[a, 0], unodes[a, 1], unodes[a, 2], unodes[a, 3]
        if r >= 0:
            out[m] = unary_offset + r
            m += 1
        if s < 0 or not use_span:
            continue
        span_values(tp, wp, i, j, T, V, vals)
        for p in range(feat_ptr[s], min(feat_ptr[s + 1], feat_ptr[s] + 8)):
            c = feat_ids[p]
            for f in range(F_SPAN):
                idx = span_table[vals[f], c]
                if idx >= 0:
                    out[m] = idx
                    m += 1
    return out[:m]


@njit(cache=True, nogil=True)
def collect_pairs(tp, wp, T, V, bnodes, unodes, do_span, do_split, feat_ptr, feat_ids):
    """(value, feature label) pairs of a gold derivation, for building the tables."""
    nb = bnodes.shape[0]
    nu = unodes.shape[0]
    span_out = np.empty(((nb + nu) * 8 * F_SPAN, 2), dtype=np.int64)
    split_out = np.empty((nb * 8 * F_SPLIT, 2), dtype=np.int64)
    vals = np.empty(F_SPAN, dtype=np.int64)
    svals = np.empty(F_SPLIT, dtype=np.int64)
    ms = 0
    mp = 0
    for a in range(nb + nu):
        if a < nb:
            i, k, j, s = bnodes[a, 1], bnodes[a, 2], bnodes[a, 3], bnodes[a, 4]
        else:
            i, j, s = unodes[a - nb, 1], unodes[a - nb, 2], unodes[a - nb, 3]
            k = -1
        if s < 0:
            continue
        span_values(tp, wp, i, j, T, V, vals)
        if k >= 0:
            split_values(tp, wp, k, T, V, svals)
        for p in range(feat_ptr[s], min(feat_ptr[s + 1], feat_ptr[s] + 8)):
            c = feat_ids[p]
            if do_span:
                for f in range(F_SPAN):
                    span_out[ms, 0] = vals[f]
                    span_out[ms, 1] = c
                    ms += 1
            if do_split and k >= 0:
                for f in range(F_SPLIT):
                    split_out[mp, 0] = svals[f]
                    split_out[mp, 1] = c
                    mp += 1
    return span_out[:ms], split_out[:mp]
