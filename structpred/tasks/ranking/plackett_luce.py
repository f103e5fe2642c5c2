"""The Plackett-Luce ranking policy over a query's documents (numpy + numba kernels).

With scores s_d (s = Xw for the Ranking task), a permutation σ (σ_1 = the top document) has

    π(σ) = Π_{k=1..m} exp(s_{σ_k}) / Σ_{j>=k} exp(s_{σ_j}),
    log π(σ) = Σ_k s_{σ_k} - L_k,   L_k = logsumexp_{j>=k} s_{σ_j},
    ∂ log π(σ) / ∂ s_d = 1 - Σ_{k <= pos(d)} exp(s_d - L_k),

and ∂/∂w = Xᵀ ∂/∂s. Sampling: σ = argsort(-(s + Gumbel noise)) draws exactly from π (the
Gumbel-max trick applied to the whole order). Exact quantities: ``log_prob``, ``log_prob_grad``,
``pairwise_before`` (P(i ranked above j) = e^{s_i} / (e^{s_i} + e^{s_j})) and ``rank_marginals``
(P[i, r] = P(document i at rank r), a dynamic programme over subsets: O(2^m m), m <= 16).
Sampled (Monte-Carlo mean with its standard error): ``expected_dcg``, ``expected_ndcg`` and
``sampled_exposure``. Everything is computed in log space or after shifting s by its maximum.

PL is not a Gibbs policy of the Ranking task's Ψ: π(σ) is not exp(w·Ψ(x, σ)) / Z for a joint
feature map Ψ of the permutation with one normaliser Z; its normalisation is the product of the
m per-step softmax denominators. So there is no log-partition function log Z(x; w) to return.
"""
from __future__ import annotations

import numpy as np
from ...jit import njit

__all__ = ["sample_permutations", "log_prob", "log_prob_grad_scores", "log_prob_grads", "pairwise_before",
           "rank_marginals", "position_discount", "expected_dcg", "expected_ndcg",
           "sampled_exposure", "MAX_EXACT_MARGINALS"]

#: Largest list for ``rank_marginals`` (2^m subsets).
MAX_EXACT_MARGINALS = 16


def position_discount(m: int) -> np.ndarray:
    """DCG's position discount (and the exposure model of Singh & Joachims): v_r = 1/log2(1+r)."""
    return 1.0 / np.log2(2.0 + np.arange(m))


def sample_permutations(scores, n: int, rng) -> np.ndarray:
    """(n, m) int64 array: n permutations drawn independently from PL(scores) by Gumbel keys."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    rng = np.random.default_rng(rng)
    keys = s[None, :] + rng.gumbel(size=(int(n), s.shape[0]))
    return np.argsort(-keys, axis=1, kind="stable").astype(np.int64)


@njit(cache=True, nogil=True)
def _suffix_lse(s, perm):
    """L_k = logsumexp_{j>=k} s[perm[j]] for every k."""
    m = perm.shape[0]
    L = np.empty(m)
    acc = -np.inf
    for k in range(m - 1, -1, -1):
        v = s[perm[k]]
        if acc == -np.inf:
            acc = v
        elif v > acc:
            acc = v + np.log1p(np.exp(acc - v))
        else:
            acc = acc + np.log1p(np.exp(v - acc))
        L[k] = acc
    return L


@njit(cache=True, nogil=True)
def _log_prob(s, perm):
    L = _suffix_lse(s, perm)
    out = 0.0
    for k in range(perm.shape[0]):
        out += s[perm[k]] - L[k]
    return out


@njit(cache=True, nogil=True)
def _log_prob_grad(s, perm, g):
    """g[d] = ∂ log π(perm) / ∂ s_d (see the module docstring); returns log π(perm)."""
    m = perm.shape[0]
    L = _suffix_lse(s, perm)
    acc = -np.inf            # log Σ_{k<=p} exp(-L_k)
    lp = 0.0
    for p in range(m):
        v = -L[p]
        if acc == -np.inf:
            acc = v
        elif v > acc:
            acc = v + np.log1p(np.exp(acc - v))
        else:
            acc = acc + np.log1p(np.exp(v - acc))
        d = perm[p]
        g[d] = 1.0 - np.exp(s[d] + acc)
        lp += s[d] - L[p]
    return lp


def log_prob(scores, perm) -> float:
    """log π(σ) = Σ_k s_{σ_k} - logsumexp_{j>=k} s_{σ_j} (exact)."""
    s = np.ascontiguousarray(scores, dtype=np.float64).ravel()
    return float(_log_prob(s, np.ascontiguousarray(perm, dtype=np.int64)))


def log_prob_grad_scores(scores, perm):
    """(log π(σ), ∂ log π(σ)/∂s) (exact; O(m))."""
    s = np.ascontiguousarray(scores, dtype=np.float64).ravel()
    g = np.empty(s.shape[0])
    lp = _log_prob_grad(s, np.ascontiguousarray(perm, dtype=np.int64), g)
    return float(lp), g


def pairwise_before(scores) -> np.ndarray:
    """B[i, j] = P_PL(i ranked above j) = 1 / (1 + exp(s_j - s_i)) (exact; B[i, i] = 0)."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    d = s[None, :] - s[:, None]
    B = np.where(d > 0, np.exp(-np.abs(d)) / (1.0 + np.exp(-np.abs(d))),
                 1.0 / (1.0 + np.exp(-np.abs(d))))
    np.fill_diagonal(B, 0.0)
    return B


@njit(cache=True, nogil=True)
def _lse2(a, b):
    if a == -np.inf:
        return b
    if b == -np.inf:
        return a
    if a > b:
        return a + np.log1p(np.exp(b - a))
    return b + np.log1p(np.exp(a - b))


@njit(cache=True, nogil=True)
def _rank_marginals(s, P):
    """Log-space DP: lf[S] = log P(the first |S| documents are the set S), lmass[S] =
    logsumexp_{d in S} s_d; placing d next has probability exp(s_d - lmass[complement of S])."""
    m = s.shape[0]
    n_sets = 1 << m
    full = n_sets - 1
    lmass = np.empty(n_sets)
    lmass[0] = -np.inf
    for S in range(1, n_sets):
        low = S & (-S)
        b = 0
        while (1 << b) != low:
            b += 1
        lmass[S] = _lse2(lmass[S ^ low], s[b])
    lf = np.full(n_sets, -np.inf)
    lf[0] = 0.0
    for S in range(n_sets - 1):
        if lf[S] == -np.inf:
            continue
        r = 0
        T = S
        while T:
            T &= T - 1
            r += 1
        rest = lmass[full ^ S]
        for d in range(m):
            if not (S >> d) & 1:
                lq = lf[S] + s[d] - rest
                P[d, r] += np.exp(lq)
                lf[S | (1 << d)] = _lse2(lf[S | (1 << d)], lq)


def rank_marginals(scores) -> np.ndarray:
    """P[i, r] = P_PL(document i at rank r+1), exact by a dynamic programme over the 2^m
    subsets of documents placed first (m <= MAX_EXACT_MARGINALS). P is doubly stochastic."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    m = s.shape[0]
    if m > MAX_EXACT_MARGINALS:
        raise ValueError(f"exact rank marginals need m <= {MAX_EXACT_MARGINALS} documents, "
                         f"got {m}; use sampled_exposure")
    P = np.zeros((m, m))
    if m:
        _rank_marginals(np.ascontiguousarray(s), P)
    return P


def _dcg_of_samples(gains, perms, discount):
    return gains[perms] @ discount


def expected_dcg(scores, gains, n_samples: int, rng, discount=None):
    """(mean, standard error) of DCG = Σ_r gains[σ_r] v_r under PL, by Monte-Carlo
    (v = ``discount``, default 1/log2(1+r)). The exact value is gainsᵀ P v (``rank_marginals``)."""
    g = np.asarray(gains, dtype=np.float64).ravel()
    v = position_discount(g.shape[0]) if discount is None else np.asarray(discount, float)
    vals = _dcg_of_samples(g, sample_permutations(scores, n_samples, rng), v[:g.shape[0]])
    return _mean_se(vals)


def expected_ndcg(scores, gains, n_samples: int, rng, k: int | None = None):
    """(mean, standard error) of NDCG@k = DCG@k / ideal DCG@k under PL (Monte-Carlo; gains are
    used as given, e.g. 2^g - 1; 0 when the ideal DCG is 0)."""
    g = np.asarray(gains, dtype=np.float64).ravel()
    m = g.shape[0]
    k = m if k is None else min(int(k), m)
    v = position_discount(m)
    v[k:] = 0.0
    ideal = np.sort(g)[::-1] @ v
    if ideal <= 0:
        return 0.0, 0.0
    vals = _dcg_of_samples(g, sample_permutations(scores, n_samples, rng), v) / ideal
    return _mean_se(vals)


def sampled_exposure(scores, n_samples: int, rng, discount=None):
    """(mean, standard error) per document of its exposure v_{rank(d)} under PL (Monte-Carlo)."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    m = s.shape[0]
    v = position_discount(m) if discount is None else np.asarray(discount, float)[:m]
    perms = sample_permutations(s, n_samples, rng)
    exp = np.empty_like(perms, dtype=np.float64)
    np.put_along_axis(exp, perms, np.broadcast_to(v, perms.shape), axis=1)
    mean = exp.mean(axis=0)
    se = exp.std(axis=0, ddof=1) / np.sqrt(n_samples) if n_samples > 1 else np.zeros(m)
    return mean, se


def _mean_se(vals):
    vals = np.asarray(vals, dtype=np.float64)
    if vals.shape[0] < 2:
        return float(vals.mean()), float("nan")
    return float(vals.mean()), float(vals.std(ddof=1) / np.sqrt(vals.shape[0]))


@njit(cache=True, nogil=True)
def _log_prob_grads(s, perms, lp, G):
    for i in range(perms.shape[0]):
        lp[i] = _log_prob_grad(s, perms[i], G[i])


def log_prob_grads(scores, perms):
    """(log π(σ_i) for each row σ_i of ``perms``, (samples x m) ∂ log π(σ_i)/∂s) (exact)."""
    s = np.ascontiguousarray(scores, dtype=np.float64).ravel()
    perms = np.ascontiguousarray(perms, dtype=np.int64)
    lp = np.empty(perms.shape[0])
    G = np.empty((perms.shape[0], s.shape[0]))
    _log_prob_grads(s, perms, lp, G)
    return lp, G
