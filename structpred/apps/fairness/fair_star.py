"""FA*IR: top-k ranked group fairness (Zehlike, Bonchi, Castillo, Hajian, Megahed & Baeza-Yates,
CIKM 2017), as published in the fairsearch library (fairsearch-fair-python, the reference).

A top-k ranking passes the ranked group fairness test at significance α with minimum protected
proportion p when, for every prefix i = 1..k, it holds at least m(i) protected candidates,

    m(i) = F^{-1}(α; i, p)    (the α-quantile of Binomial(i, p); ``mtable``).

Testing k prefixes at level α inflates the probability that a fair ranking (each position
protected independently with probability p) fails some prefix; ``adjusted_alpha`` finds α_c so
that this fail probability is close to α (fairsearch's bisection over α, which stops when the
mtables of the bracketing α differ by one protected candidate in total and returns the one whose
fail probability is nearest α).

Two fail probabilities are offered:

* ``method="fairsearch"`` (default): fairsearch's published recursion over the blocks between
  the positions where m(i) increases (positions 1..k-1), each block's protected count drawn as
  Binomial(min(block size, protected still available), p). It reproduces fairsearch's numbers
  exactly: k=20, p=0.25, α=0.1 gives 0.11517506930977106 (unadjusted) and
  0.10515247355215251 (adjusted).
* ``method="exact"``: the plain probability that a ranking whose positions are independently
  protected with probability p violates m(i) at some i <= k (a dynamic programme over positions):
  0.146887... for the same setting. The two differ because the published recursion ignores an
  increase of m at position k and caps each block's binomial.

``fair_top_k`` is FA*IR's re-ranking: it fills positions greedily with the best remaining
candidate, except that a protected candidate is taken whenever the prefix would otherwise fall
below m(i); it keeps each group's own order.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.stats import binom

from ...errors import InvalidInputError
from ...boundary.arrays import check_flags, check_labels, check_scores
from ...boundary.params import check_choice, check_int, check_probability

__all__ = ["mtable", "fail_probability", "adjusted_alpha", "adjusted_mtable",
           "is_fair", "fair_top_k"]

_EPS = 1e-16
#: Longest top-k handled (mtable and the fail-probability recursions are O(k) to O(k^2)).
MAX_K = 100_000


def _params(k, p, alpha):
    check_int(k, "k", 1, MAX_K, strict=True)
    check_probability(p, "p", allow_zero=False, allow_one=False)
    check_probability(alpha, "alpha", allow_one=False)


def mtable(k: int, p: float, alpha: float) -> np.ndarray:
    """m(i) = max(0, binom.ppf(α, i, p)) for i = 1..k (int array of length k)."""
    _params(k, p, alpha)
    return _mtable(k, p, alpha)


def _mtable(k, p, alpha):
    m = binom.ppf(alpha, np.arange(1, k + 1), p)
    return np.maximum(0, np.nan_to_num(m, nan=0.0)).astype(np.int64)


def _blocks(m):
    """Sizes of the blocks between the positions (1..k-1) where m increases by one."""
    out, last_m, last_pos = [], 0, 0
    for pos in range(1, m.shape[0]):
        if m[pos - 1] == last_m + 1:
            last_m += 1
            out.append(pos - last_pos)
            last_pos = pos
        elif m[pos - 1] != last_m:
            raise InvalidInputError("mtable must be non-decreasing in steps of at most one")
    return out


def _check_mtable(m) -> np.ndarray:
    """m as int64: 1 to MAX_K whole numbers with 0 <= m(i) <= i, rising by 0 or 1 per position."""
    m = check_labels(m, "m (mtable)", min_length=1)
    if m.shape[0] > MAX_K:
        raise InvalidInputError(f"m (mtable): {m.shape[0]} positions, at most {MAX_K}")
    steps = np.diff(np.concatenate([[0], m]))
    bad = np.flatnonzero((steps < 0) | (steps > 1))
    if bad.size:
        i = int(bad[0])
        raise InvalidInputError(f"m (mtable): m({i + 1}) = {int(m[i])} after {int(m[i - 1]) if i else 0}"
                                "; an mtable rises by 0 or 1 per position from m(0) = 0")
    return m


def fail_probability(m, p: float, method: str = "fairsearch") -> float:
    """P(a ranking with independently protected positions (prob. p) fails the mtable m)."""
    m = _check_mtable(m)
    check_probability(p, "p", allow_zero=False, allow_one=False)
    check_choice(method, "method", ("fairsearch", "exact"))
    if method == "exact":
        k = m.shape[0]
        dist = np.zeros(k + 1)
        dist[0] = 1.0
        for i in range(k):
            new = dist * (1 - p)
            new[1:] += dist[:-1] * p
            new[:m[i]] = 0.0
            dist = new
        return float(1.0 - dist.sum())
    blocks = _blocks(m)
    total = sum(blocks)
    state = {0: 1.0}                       # protected assigned so far -> probability
    for j, size in enumerate(blocks, start=1):
        new = {}
        for done, prob in state.items():
            cap = min(size, total - done)
            for here in range(max(0, j - done), cap + 1):
                new[done + here] = new.get(done + here, 0.0) + prob * binom.pmf(here, cap, p)
        state = new
    success = sum(state.values())
    return 0.0 if success == 0 else float(1.0 - success)


def _boundary(k, p, a):
    m = _mtable(k, p, a)
    return a, fail_probability(m, p), m


def adjusted_alpha(k: int, p: float, alpha: float):
    """(α_c, fail probability of its mtable, its mtable): fairsearch's bisection of α in [0, α]."""
    _params(k, p, alpha)
    lo, hi = 0.0, float(alpha)
    minb, maxb = _boundary(k, p, lo), _boundary(k, p, hi)
    mid = (lo + hi) / 2
    midb = _boundary(k, p, mid)
    while minb[2].sum() < maxb[2].sum() and midb[1] != alpha:
        if midb[1] < alpha:
            lo, minb = mid, _boundary(k, p, mid)
        elif midb[1] > alpha:
            hi, maxb = mid, _boundary(k, p, mid)
        mid = (lo + hi) / 2
        midb = _boundary(k, p, mid)
        mx, mn, md = maxb[2].sum(), minb[2].sum(), midb[2].sum()
        if mx - mn == 1 or maxb[0] - minb[0] <= _EPS:
            return minb if abs(minb[1] - alpha) <= abs(maxb[1] - alpha) else maxb
        if mx - md == 1 and md - mn == 1:
            cands = [midb, minb, maxb]
            return min(cands, key=lambda b: abs(b[1] - alpha))
    return midb


def adjusted_mtable(k: int, p: float, alpha: float) -> np.ndarray:
    """The mtable at the adjusted significance α_c (cached per (k, p, α)).

    Zehlike et al. (CIKM 2017), Algorithm 2 (as in fairsearch): α_c is found by bisection so that
    the probability that a ranking drawn with protected share p fails *some* prefix test of the
    mtable at α_c is as close to α as an integer table allows (the unadjusted table tests k
    prefixes at α each, so it fails more often than α).
    """
    _params(k, p, alpha)
    return _adjusted_cached(int(k), float(p), float(alpha)).copy()


@lru_cache(maxsize=256)
def _adjusted_cached(k, p, alpha):
    return adjusted_alpha(k, p, alpha)[2]


def is_fair(protected, p: float, alpha: float, adjust: bool = True) -> bool:
    """The ranked group fairness test of a top-k ranking (``protected``: bool per position,
    top first; k = its length)."""
    prot = check_flags(protected, "protected", min_length=1)
    k = check_int(prot.shape[0], "k (length of protected)", 1, MAX_K)
    m = adjusted_mtable(k, p, alpha) if adjust else mtable(k, p, alpha)
    return bool(np.all(np.cumsum(prot) >= m))


def fair_top_k(scores, protected, k: int, p: float, alpha: float, adjust: bool = True) -> np.ndarray:
    """FA*IR re-ranking: the indices of the k selected candidates, top first."""
    s = check_scores(scores, "scores")
    prot = check_flags(protected, "protected", s.shape[0], length_of="scores")
    k = check_int(k, "k", 1, s.shape[0], high_name="the number of candidates", strict=True)
    m = adjusted_mtable(k, p, alpha) if adjust else mtable(k, p, alpha)
    P = [int(i) for i in np.flatnonzero(prot)[np.argsort(-s[prot], kind="stable")]]
    N = [int(i) for i in np.flatnonzero(~prot)[np.argsort(-s[~prot], kind="stable")]]
    out, n_prot = [], 0
    for i in range(k):
        if n_prot < m[i]:
            if not P:
                raise InvalidInputError(f"protected: too few protected candidates to meet "
                                        f"m({i + 1}) = {m[i]}")
            out.append(P.pop(0))
            n_prot += 1
        elif P and (not N or s[P[0]] >= s[N[0]]):
            out.append(P.pop(0))
            n_prot += 1
        else:
            out.append(N.pop(0))
    return np.array(out, dtype=np.int64)
