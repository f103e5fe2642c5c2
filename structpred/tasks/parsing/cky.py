"""Numba CKY over a :class:`~.grammar.Grammar` with anchored span scores.

Score of a binarized tree (w = rule weights, s = anchored scores precomputed per sentence)::

    Σ_binary nodes A->B C over (i,k,j)   bin_w[r] + span[c(A), i, j] + split[c(A), k]
  + Σ_unary nodes  U->B over (i,j)       un_w[u]  + span[c(U), i, j]

with c(.) the coarse label id. The loss-augmented variant adds ``scale`` times
Σ_spans Σ_labels (p - 2 min(p, g)) where p, g are the predicted and gold counts of a bracket
label at the span: summed over the tree this is P - 2M, so adding the constant G gives
Δ = P + G - 2M = (P + G)(1 - F1) (P, G, M: predicted, gold, matched brackets).

Spans (i, j), 0 <= i < j <= n, are stored in triangular order: ``span_id(i, j, n)``.
All kernels are ``nogil`` so that threads can run sentences in parallel.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["cky", "span_id", "n_spans", "NEG_INF"]

NEG_INF = -1e300


@njit(cache=True, nogil=True)
def span_id(i, j, n):
    """Index of span (i, j): spans ordered by start, then end."""
    return i * n - (i * (i - 1)) // 2 + (j - i - 1)


@njit(cache=True, nogil=True)
def n_spans(n):
    return n * (n + 1) // 2


@njit(cache=True, nogil=True)
def _loss_contrib(U, B, sp, brk_ptr, brk_ids, gold_cnt, buf):
    """Σ over distinct labels l of the brackets of U (if >= 0) and B: p_l - 2 min(p_l, g_l)."""
    k = 0
    if U >= 0:
        for p in range(brk_ptr[U], brk_ptr[U + 1]):
            buf[k] = brk_ids[p]
            k += 1
    for p in range(brk_ptr[B], brk_ptr[B + 1]):
        buf[k] = brk_ids[p]
        k += 1
    total = 0.0
    for a in range(k):
        seen = False
        for b in range(a):
            if buf[b] == buf[a]:
                seen = True
                break
        if seen:
            continue
        pc = 0
        for b in range(a, k):
            if buf[b] == buf[a]:
                pc += 1
        gc = gold_cnt[buf[a], sp]
        total += pc - 2 * min(pc, gc)
    return total


@njit(cache=True, nogil=True)
def cky(n, tags, n_sym, bin_parent, bin_left, bin_right, left_ptr, bin_w,
        un_parent, un_child, un_w, is_root, coarse, span_score, split_score,
        scale, brk_ptr, brk_ids, gold_cnt):
    """Viterbi (scale = 0) or loss-augmented (scale > 0) CKY.

    Parameters: ``tags`` (n,) symbol id of each token's tag (-1 if unknown);
    ``span_score`` (n_coarse, n_spans); ``split_score`` (n_coarse, n + 1);
    ``gold_cnt`` (n_bracket_labels, n_spans) gold bracket counts (read only if scale != 0).

    Returns (ok, score, bnodes (n-1, 4): rule, i, k, j; unodes (m, 3): rule, i, j).
    ok is False when no tree of the grammar covers the sentence.
    """
    ns = n_spans(n)
    top = np.full((ns, n_sym), NEG_INF)
    top_bp = np.full((ns, n_sym), -2, dtype=np.int32)     # -1: no unary, u >= 0: unary rule
    base_rule = np.full((ns, n_sym), -1, dtype=np.int32)
    base_split = np.zeros((ns, n_sym), dtype=np.int32)
    base = np.empty(n_sym)
    active = np.empty((ns, n_sym), dtype=np.int32)        # symbols with a finite top score
    n_active = np.zeros(ns, dtype=np.int32)
    buf = np.empty(64, dtype=np.int32)
    aug = scale != 0.0
    for length in range(1, n + 1):
        for i in range(0, n - length + 1):
            j = i + length
            sp = span_id(i, j, n)
            base[:] = NEG_INF
            if length == 1:
                t = tags[i]
                if t >= 0:
                    base[t] = 0.0
            else:
                for k in range(i + 1, j):
                    spl = span_id(i, k, n)
                    spr = span_id(k, j, n)
                    for a in range(n_active[spl]):
                        B = active[spl, a]
                        lb = top[spl, B]
                        for r in range(left_ptr[B], left_ptr[B + 1]):
                            rb = top[spr, bin_right[r]]
                            if rb <= NEG_INF:
                                continue
                            A = bin_parent[r]
                            s = lb + rb + bin_w[r] + split_score[coarse[A], k]
                            if s > base[A]:
                                base[A] = s
                                base_rule[sp, A] = r
                                base_split[sp, A] = k
                for A in range(n_sym):
                    if base[A] > NEG_INF:
                        base[A] += span_score[coarse[A], sp]
            is_full = i == 0 and j == n
            # top layer: the base symbol itself, or one unary chain over it
            for B in range(n_sym):
                if base[B] > NEG_INF and is_root[B] == is_full:
                    v = base[B]
                    if aug:
                        v += scale * _loss_contrib(-1, B, sp, brk_ptr, brk_ids, gold_cnt, buf)
                    top[sp, B] = v
                    top_bp[sp, B] = -1
            for u in range(len(un_parent)):
                B = un_child[u]
                if base[B] <= NEG_INF:
                    continue
                U = un_parent[u]
                if is_root[U] != is_full:
                    continue
                v = base[B] + un_w[u] + span_score[coarse[U], sp]
                if aug:
                    v += scale * _loss_contrib(U, B, sp, brk_ptr, brk_ids, gold_cnt, buf)
                if v > top[sp, U]:
                    top[sp, U] = v
                    top_bp[sp, U] = u
            c = 0
            for X in range(n_sym):
                if top[sp, X] > NEG_INF:
                    active[sp, c] = X
                    c += 1
            n_active[sp] = c
    bnodes = np.zeros((max(n - 1, 0), 4), dtype=np.int32)
    unodes = np.zeros((2 * n, 3), dtype=np.int32)
    root = span_id(0, n, n)
    best = -1
    best_v = NEG_INF
    for X in range(n_sym):
        if is_root[X] and top[root, X] > best_v:
            best_v = top[root, X]
            best = X
    if best < 0:
        return False, NEG_INF, bnodes, unodes[:0]
    # backtrack with an explicit stack of (symbol, i, j) at the top layer
    stack = np.empty((2 * n + 2, 3), dtype=np.int32)
    stack[0, 0] = best
    stack[0, 1] = 0
    stack[0, 2] = n
    top_s = 1
    nb = 0
    nu = 0
    while top_s > 0:
        top_s -= 1
        X = stack[top_s, 0]
        i = stack[top_s, 1]
        j = stack[top_s, 2]
        sp = span_id(i, j, n)
        u = top_bp[sp, X]
        B = X
        if u >= 0:
            unodes[nu, 0] = u
            unodes[nu, 1] = i
            unodes[nu, 2] = j
            nu += 1
            B = un_child[u]
        if j - i == 1:
            continue
        r = base_rule[sp, B]
        k = base_split[sp, B]
        bnodes[nb, 0] = r
        bnodes[nb, 1] = i
        bnodes[nb, 2] = k
        bnodes[nb, 3] = j
        nb += 1
        stack[top_s, 0] = bin_right[r]
        stack[top_s, 1] = k
        stack[top_s, 2] = j
        stack[top_s + 1, 0] = bin_left[r]
        stack[top_s + 1, 1] = i
        stack[top_s + 1, 2] = k
        top_s += 2
    return True, best_v, bnodes, unodes[:nu].copy()
