"""Numba kernels for binary labels on a tree (a forest): max-product, sum-product, sampling.

Every kernel runs one compiled loop over a batch of examples. The inputs are

* ``theta`` (n, L, 2): node log-potentials θ_i,l(s) for label l in state s (the unary score
  w_l·x_i for s = 1, 0 for s = 0, plus 1 for a state that differs from the true label under
  Hamming loss augmentation);
* ``pair`` (E, 2, 2): edge log-potentials P_e(y_a, y_b) for edge e = (a, b) (shared by all
  examples);
* the rooted forest: ``order`` (nodes, parents before children), ``parent`` (-1 at a root),
  ``pedge`` (the edge to the parent) and ``vfirst`` (1 when the node is the edge's ``a``).

The score of y is Σ_l θ_l(y_l) + Σ_e P_e(y_a, y_b). Everything is exact (no approximation):
the tree makes max-product and sum-product exact, and all sums are taken in log space.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["max_product", "sum_product", "sample_tree", "slack_rescaled"]


@njit(cache=True, nogil=True, inline="always")
def _pair(pair, e, vfirst, s_child, s_parent):
    if vfirst:
        return pair[e, s_child, s_parent]
    return pair[e, s_parent, s_child]


@njit(cache=True, nogil=True, inline="always")
def _lse2(a, b):
    if a >= b:
        return a + np.log1p(np.exp(b - a))
    return b + np.log1p(np.exp(a - b))


@njit(cache=True, nogil=True)
def max_product(theta, pair, order, parent, pedge, vfirst):
    """(argmax_y score(y) per example as an (n, L) int8 array, the max scores (n,))."""
    n, L = theta.shape[0], theta.shape[1]
    out = np.zeros((n, L), dtype=np.int8)
    best = np.zeros(n)
    b = np.empty((L, 2))
    arg = np.zeros((L, 2), dtype=np.int8)
    for i in range(n):
        for v in range(L):
            b[v, 0] = theta[i, v, 0]
            b[v, 1] = theta[i, v, 1]
        for k in range(L - 1, -1, -1):       # upward: children before parents
            v = order[k]
            p = parent[v]
            if p < 0:
                continue
            e = pedge[v]
            f = vfirst[v]
            for t in range(2):
                m0 = b[v, 0] + _pair(pair, e, f, 0, t)
                m1 = b[v, 1] + _pair(pair, e, f, 1, t)
                if m1 > m0:
                    arg[v, t] = 1
                    b[p, t] += m1
                else:
                    arg[v, t] = 0
                    b[p, t] += m0
        total = 0.0
        for k in range(L):                   # downward: parents before children
            v = order[k]
            p = parent[v]
            if p < 0:
                s = 1 if b[v, 1] > b[v, 0] else 0
                total += b[v, s]
            else:
                s = arg[v, out[i, p]]
            out[i, v] = s
        best[i] = total
    return out, best


@njit(cache=True, nogil=True)
def sum_product(theta, pair, order, parent, pedge, vfirst, want_marginals):
    """(log Z (n,), P(y_l = 1) (n, L), edge marginals (n, E, 2, 2) in the edge's (a, b)
    orientation); the marginals are left zero unless ``want_marginals``."""
    n, L = theta.shape[0], theta.shape[1]
    E = pair.shape[0]
    logz = np.zeros(n)
    mu = np.zeros((n, L)) if want_marginals else np.zeros((0, L))
    mu2 = np.zeros((n, E, 2, 2)) if want_marginals else np.zeros((0, E, 2, 2))
    b = np.empty((L, 2))       # upward beliefs: θ_v + messages from v's children
    msg = np.zeros((L, 2))     # message from v to its parent
    full = np.empty((L, 2))    # beliefs with every message (unnormalised log-marginals)
    for i in range(n):
        for v in range(L):
            b[v, 0] = theta[i, v, 0]
            b[v, 1] = theta[i, v, 1]
        for k in range(L - 1, -1, -1):
            v = order[k]
            p = parent[v]
            if p < 0:
                continue
            e = pedge[v]
            f = vfirst[v]
            for t in range(2):
                m = _lse2(b[v, 0] + _pair(pair, e, f, 0, t), b[v, 1] + _pair(pair, e, f, 1, t))
                msg[v, t] = m
                b[p, t] += m
        total = 0.0
        for k in range(L):
            v = order[k]
            if parent[v] < 0:
                total += _lse2(b[v, 0], b[v, 1])
        logz[i] = total
        if not want_marginals:
            continue
        for k in range(L):
            v = order[k]
            p = parent[v]
            if p < 0:
                full[v, 0] = b[v, 0]
                full[v, 1] = b[v, 1]
            else:
                e = pedge[v]
                f = vfirst[v]
                for s in range(2):
                    out = _lse2(_pair(pair, e, f, s, 0) + full[p, 0] - msg[v, 0],
                                _pair(pair, e, f, s, 1) + full[p, 1] - msg[v, 1])
                    full[v, s] = b[v, s] + out
            zv = _lse2(full[v, 0], full[v, 1])
            mu[i, v] = np.exp(full[v, 1] - zv)
            if p >= 0:
                e = pedge[v]
                f = vfirst[v]
                for s in range(2):
                    for t in range(2):
                        val = np.exp(b[v, s] + _pair(pair, e, f, s, t) + full[p, t]
                                     - msg[v, t] - zv)
                        if f:
                            mu2[i, e, s, t] = val
                        else:
                            mu2[i, e, t, s] = val
    return logz, mu, mu2


@njit(cache=True, nogil=True)
def _sigmoid(z):
    if z >= 0:
        return 1.0 / (1.0 + np.exp(-z))
    ez = np.exp(z)
    return ez / (1.0 + ez)


@njit(cache=True, nogil=True)
def sample_tree(theta, pair, order, parent, pedge, vfirst, uniforms):
    """Forward filtering (upward sum-product), backward sampling (root to leaves): for
    ``uniforms`` of shape (n, S, L) in [0, 1), returns (n, S, L) int8 draws from π(·|x_i)."""
    n, L = theta.shape[0], theta.shape[1]
    S = uniforms.shape[1]
    out = np.zeros((n, S, L), dtype=np.int8)
    b = np.empty((L, 2))
    for i in range(n):
        for v in range(L):
            b[v, 0] = theta[i, v, 0]
            b[v, 1] = theta[i, v, 1]
        for k in range(L - 1, -1, -1):
            v = order[k]
            p = parent[v]
            if p < 0:
                continue
            e = pedge[v]
            f = vfirst[v]
            for t in range(2):
                b[p, t] += _lse2(b[v, 0] + _pair(pair, e, f, 0, t),
                                 b[v, 1] + _pair(pair, e, f, 1, t))
        for j in range(S):
            for k in range(L):
                v = order[k]
                p = parent[v]
                if p < 0:
                    z = b[v, 1] - b[v, 0]
                else:
                    e = pedge[v]
                    f = vfirst[v]
                    t = out[i, j, p]
                    z = (b[v, 1] + _pair(pair, e, f, 1, t)) - (b[v, 0] + _pair(pair, e, f, 0, t))
                out[i, j, v] = 1 if uniforms[i, j, v] < _sigmoid(z) else 0
    return out


@njit(cache=True, nogil=True)
def slack_rescaled(theta, pair, order, parent, pedge, vfirst, Y):
    """Exact slack-rescaling oracle under Hamming loss: argmax_y' Δ(y, y')(1 + s(y') − s(y)).

    A tree DP whose state is (label of the node, mismatches in its subtree) gives
    M_k = max {s(y') : Δ(y, y') = k} for every k = 0..L in O(L²) per example; the answer is
    the y' of the best k·(1 + M_k − s(y)) (y itself, value 0, when no k is positive)."""
    n, L = theta.shape[0], theta.shape[1]
    NEG = -np.inf
    out = np.zeros((n, L), dtype=np.int8)
    T = np.empty((L, 2, L + 1))
    size = np.zeros(L, dtype=np.int64)
    split = np.zeros((L, 2, L + 1), dtype=np.int64)   # child's share of the mismatches
    state = np.zeros((L, 2, L + 1), dtype=np.int8)    # child's label
    best = np.empty((2, L + 1))
    bestt = np.zeros((2, L + 1), dtype=np.int8)
    new = np.empty((2, L + 1))
    G = np.empty(L + 1)
    Gnew = np.empty(L + 1)
    rsplit = np.zeros((L, L + 1), dtype=np.int64)
    rstate = np.zeros((L, L + 1), dtype=np.int8)
    cnt = np.zeros(L, dtype=np.int64)
    lab = np.zeros(L, dtype=np.int8)
    for i in range(n):
        s_true = 0.0
        for v in range(L):
            s_true += theta[i, v, Y[i, v]]
            size[v] = 1
            for s in range(2):
                for c in range(L + 1):
                    T[v, s, c] = NEG
                T[v, s, 1 if s != Y[i, v] else 0] = theta[i, v, s]
        for k in range(L - 1, -1, -1):
            u = order[k]
            p = parent[u]
            if p < 0:
                continue
            e = pedge[u]
            f = vfirst[u]
            s_true += _pair(pair, e, f, Y[i, u], Y[i, p])
            su, sp_ = size[u], size[p]
            for sp in range(2):
                for c2 in range(su + 1):
                    a = T[u, 0, c2] + _pair(pair, e, f, 0, sp)
                    b = T[u, 1, c2] + _pair(pair, e, f, 1, sp)
                    if b > a:
                        best[sp, c2] = b
                        bestt[sp, c2] = 1
                    else:
                        best[sp, c2] = a
                        bestt[sp, c2] = 0
            for sp in range(2):
                for c in range(sp_ + su + 1):
                    new[sp, c] = NEG
                    split[u, sp, c] = 0
                    state[u, sp, c] = 0
                    for c2 in range(max(0, c - sp_), min(c, su) + 1):
                        val = T[p, sp, c - c2] + best[sp, c2]
                        if val > new[sp, c]:
                            new[sp, c] = val
                            split[u, sp, c] = c2
                            state[u, sp, c] = bestt[sp, c2]
                for c in range(sp_ + su + 1):
                    T[p, sp, c] = new[sp, c]
            size[p] = sp_ + su
        # combine the roots of the forest
        for c in range(L + 1):
            G[c] = NEG
        G[0] = 0.0
        total = 0
        for k in range(L):
            r = order[k]
            if parent[r] >= 0:
                continue
            sr = size[r]
            for c in range(total + sr + 1):
                Gnew[c] = NEG
                for c2 in range(max(0, c - total), min(c, sr) + 1):
                    for s in range(2):
                        val = G[c - c2] + T[r, s, c2]
                        if val > Gnew[c]:
                            Gnew[c] = val
                            rsplit[r, c] = c2
                            rstate[r, c] = s
            total += sr
            for c in range(total + 1):
                G[c] = Gnew[c]
        # the best number of mismatches
        kbest = 0
        vbest = 0.0
        for c in range(1, L + 1):
            if G[c] > NEG:
                val = c * (1.0 + G[c] - s_true)
                if val > vbest:
                    vbest = val
                    kbest = c
        if kbest == 0:
            for v in range(L):
                out[i, v] = Y[i, v]
            continue
        # backtrack: roots in reverse order of combination, then parents before children,
        # each parent's children in reverse order of merging (= increasing position in order)
        c = kbest
        for k in range(L - 1, -1, -1):
            r = order[k]
            if parent[r] >= 0:
                continue
            lab[r] = rstate[r, c]
            cnt[r] = rsplit[r, c]
            c -= cnt[r]
        for k in range(L):
            p = order[k]
            c = cnt[p]
            sp = lab[p]
            for j in range(k + 1, L):
                u = order[j]
                if parent[u] != p:
                    continue
                lab[u] = state[u, sp, c]
                cnt[u] = split[u, sp, c]
                c -= cnt[u]
        for v in range(L):
            out[i, v] = lab[v]
    return out
