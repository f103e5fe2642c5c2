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

__all__ = ["max_product", "sum_product", "sample_tree"]


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
