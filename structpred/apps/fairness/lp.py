"""Fair ranking by linear programming over doubly stochastic matrices, and its sampler
(Singh & Joachims, "Fairness of Exposure in Rankings", KDD 2018).

    max_P  uᵀ P v    s.t.  P 1 = 1,  1ᵀ P = 1ᵀ,  0 <= P <= 1,
                           f_k(P) - f_l(P) <= tolerance   for every ordered pair of groups k != l,

with f linear in P: demographic parity f_k = mean_{i in G_k} (Pv)_i; disparate treatment
f_k = Σ_{G_k} (Pv)_i / Σ_{G_k} m_i; disparate impact f_k = Σ_{G_k} m_i (Pv)_i / Σ_{G_k} m_i
(m = merit, by default the relevances u). Solved with scipy's HiGHS. When the constraints
cannot be met (e.g. disparate treatment with a near-zero-merit group), ``on_infeasible=
"least_unfair"`` (default) first minimises the largest gap t, then maximises utility at gap t
(``status`` says so); ``"raise"`` raises InvalidInputError naming ``tolerance``.
Price of fairness = 1 - utility / unconstrained utility (0 when the constraint costs nothing).

The Birkhoff-von Neumann decomposition writes a doubly stochastic P as Σ_k θ_k Π_k (θ > 0,
Σ θ = 1, Π_k permutation matrices) by repeatedly taking a permutation inside P's support with
the largest total weight (a linear assignment) and subtracting θ = its smallest entry: each
step zeroes at least one entry, and the number of permutations is <= (n-1)^2 + 1
(Marcus-Ree / Birkhoff's construction).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.optimize import linear_sum_assignment, linprog
from scipy.sparse import coo_matrix

from ...errors import MAX_ABS_FEATURE, InvalidInputError
from ...boundary.arrays import check_groups, check_probability_matrix, check_vector
from ...boundary.params import check_choice, check_int, check_positive, check_real, check_seed
from .exposure import position_exposure

__all__ = ["CONSTRAINTS", "FairLPResult", "fair_ranking_lp", "group_functionals",
           "birkhoff_von_neumann", "BvNSampler"]

CONSTRAINTS = ("demographic_parity", "disparate_treatment", "disparate_impact")
#: Most items of the fair-ranking LP (it has n^2 variables and K(K-1) dense rows of n^2).
MAX_LP_ITEMS = 500
#: Most entries (rankings x items) ``BvNSampler.sample`` returns at once (int64, 1 GiB).
MAX_SAMPLE_ENTRIES = 2 ** 27
_HIGHS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}


class FairLPResult(NamedTuple):
    """P (n x n, P[i, j] = P(item i at rank j+1)), its utility uᵀPv, the unconstrained optimum,
    price_of_fairness = 1 - utility/unconstrained, gap = max_k f_k - min_k f_k (0 if no
    constraint), status ("optimal", "least_unfair: ...")."""
    P: np.ndarray
    utility: float
    unconstrained_utility: float
    price_of_fairness: float
    gap: float
    status: str


def group_functionals(constraint: str, merit, groups, v) -> np.ndarray:
    """A (K x n x n) array F with f_k(P) = Σ_ij F[k, i, j] P[i, j] (see the module docstring)."""
    check_choice(constraint, "constraint", CONSTRAINTS)
    merit = check_vector(merit, "merit", low=0.0, high=MAX_ABS_FEATURE, min_length=1)
    n = merit.shape[0]
    if n > MAX_LP_ITEMS:
        raise InvalidInputError(f"merit: {n} items, at most {MAX_LP_ITEMS} in the fair-ranking LP")
    v = check_vector(v, "v", n, low=0.0, high=MAX_ABS_FEATURE, length_of="merit")
    g, K = check_groups(groups, "groups", n, length_of="merit")
    if constraint == "demographic_parity":
        a = 1.0 / np.bincount(g, minlength=K)[g]
    else:
        tot = np.bincount(g, weights=merit, minlength=K)
        if np.any(tot <= 0):
            raise InvalidInputError(f"relevance: a group has zero total merit, so "
                                    f"{constraint} (exposure per merit) is undefined")
        a = (1.0 if constraint == "disparate_treatment" else merit) / tot[g]
    F = np.zeros((K, n, n))
    F[g, np.arange(n)] = (a[:, None] * v[None, :])
    return F


def _pair_rows(F, n):
    K = F.shape[0]
    rows = [F[k].ravel() - F[l].ravel() for k in range(K) for l in range(K) if k != l]
    return np.array(rows)


def _equalities(n):
    idx = np.arange(n * n)
    r = np.concatenate([idx // n, n + idx % n])
    c = np.concatenate([idx, idx])
    return coo_matrix((np.ones(2 * n * n), (r, c)), shape=(2 * n, n * n)).tocsr(), np.ones(2 * n)


def fair_ranking_lp(relevance, groups=None, constraint: str | None = None, exposure=None,
                    tolerance: float = 0.0, merit=None, on_infeasible: str = "least_unfair",
                    target: float | None = None) -> FairLPResult:
    """The utility-maximising probabilistic ranking under one fairness constraint family.

    Parameters
    ----------
    relevance : (n,) utilities u >= 0 (the objective uᵀ P v).
    groups : (n,) group labels (at least two groups when ``constraint`` is given).
    constraint : None or one of CONSTRAINTS.
    exposure : (n,) position exposures v >= 0 (default 1/log2(1+j)).
    tolerance : allowed gap between any two groups' f (>= 0).
    merit : (n,) merits for the constraint (default: ``relevance``).
    target : two groups only: ask for f_1 - f_0 = target (within ``tolerance``) instead of
        equality, e.g. to over-correct when the merits are estimates. ``gap`` stays max - min.
        A finite real (InvalidInputError naming ``target`` otherwise); f_1 - f_0 cannot
        leave [-B, B], B = Σ_k Σ_i max_j F[k, i, j] (each row of P sums to 1), so a target
        beyond B is solved as ±B: the same least-unfair policy (argmin_D |D - target| over
        the achievable D is the end of the range for every target beyond it), without the
        overflow a target of 1e308 would cause in the scaled LP.
    """
    u = check_vector(relevance, "relevance", low=0.0, high=MAX_ABS_FEATURE)
    n = u.shape[0]
    if n < 1:
        raise InvalidInputError("relevance is empty")
    if n > MAX_LP_ITEMS:
        raise InvalidInputError(f"relevance: {n} items, at most {MAX_LP_ITEMS} in the "
                                "fair-ranking LP (n^2 variables)")
    v = position_exposure(n) if exposure is None else \
        check_vector(exposure, "exposure", n, low=0.0, high=MAX_ABS_FEATURE, length_of="relevance")
    mer = u if merit is None else check_vector(merit, "merit", n, low=0.0, high=MAX_ABS_FEATURE,
                                                length_of="relevance")
    tolerance = check_real(tolerance, "tolerance", 0.0)
    check_choice(on_infeasible, "on_infeasible", ("least_unfair", "raise"))
    best = float(np.sort(u)[::-1] @ np.sort(v)[::-1])
    # the objective scaled to max |c| = 1 (same argmax): HiGHS refuses costs of 1e20 and more
    c = -np.outer(u / (u.max() or 1.0), v / (v.max() or 1.0)).ravel()
    A_eq, b_eq = _equalities(n)
    if constraint is None:
        res = linprog(c, A_eq=A_eq, b_eq=b_eq, bounds=(0, 1), method="highs", options=_HIGHS)
        if res.status != 0:
            raise RuntimeError(f"HiGHS failed on the ranking LP: {res.message}")
        P = _clean(res.x, n)
        return FairLPResult(P, float(u @ P @ v), best, _price(u @ P @ v, best), 0.0, "optimal")
    check_choice(constraint, "constraint (or None)", CONSTRAINTS)
    if groups is None:
        raise InvalidInputError("groups is required with a constraint")
    F = group_functionals(constraint, mer, groups, v)
    A = _pair_rows(F, n)
    offset = np.zeros(A.shape[0])
    if target is not None:
        target = check_real(target, "target")
        if F.shape[0] != 2:
            raise InvalidInputError(f"target needs exactly two groups, got {F.shape[0]}")
        reach = float(F.max(axis=2).sum())
        target = min(max(target, -reach), reach)
        offset = np.array([-float(target), float(target)])     # rows f0 - f1, f1 - f0
    # every gap row, its bound and the least gap t in units of the largest coefficient
    scale = float(np.abs(A).max()) or 1.0
    A, offset, tol = A / scale, offset / scale, float(tolerance) / scale
    res = linprog(c, A_ub=A, b_ub=tol + offset, A_eq=A_eq, b_eq=b_eq,
                  bounds=(0, 1), method="highs", options=_HIGHS)
    status = "optimal"
    if res.status == 2:
        t, x_gap = _least_gap(A, A_eq, b_eq, n, offset)
        t_orig = t * scale
        if on_infeasible == "raise":
            raise InvalidInputError(f"tolerance: no ranking policy meets {constraint} within "
                                    f"{tolerance:g}; the least achievable gap is {t_orig:.6g}")
        res = linprog(c, A_ub=A, b_ub=t + 1e-9 * max(1.0, t) + offset, A_eq=A_eq,
                      b_eq=b_eq, bounds=(0, 1), method="highs", options=_HIGHS)
        if res.status != 0:       # numerically at the boundary: keep the least-gap solution
            res = _Solved(x_gap)
        status = (f"least_unfair: {constraint} infeasible at tolerance {tolerance:g}; least gap "
                  f"{t_orig:.6g}")
    if res.status != 0:
        raise RuntimeError(f"HiGHS failed on the fair-ranking LP: {res.message}")
    P = _clean(res.x, n)
    f = np.einsum("kij,ij->k", F, P)
    util = float(u @ P @ v)
    return FairLPResult(P, util, best, _price(util, best), float(f.max() - f.min()), status)


def _least_gap(A, A_eq, b_eq, n, offset):
    """min t s.t. A vec(P) <= t + offset, P doubly stochastic."""
    m = A.shape[0]
    c = np.zeros(n * n + 1)
    c[-1] = 1.0
    A_ub = np.hstack([A, -np.ones((m, 1))])
    A_eq2 = np.hstack([A_eq.toarray(), np.zeros((A_eq.shape[0], 1))])
    res = linprog(c, A_ub=A_ub, b_ub=offset, A_eq=A_eq2, b_eq=b_eq,
                  bounds=[(0, 1)] * (n * n) + [(0, None)], method="highs", options=_HIGHS)
    if res.status != 0:
        raise RuntimeError(f"HiGHS failed on the least-gap LP: {res.message}")
    return float(res.x[-1]), res.x[:-1]


class _Solved:
    status = 0

    def __init__(self, x):
        self.x = x


def _clean(x, n):
    return np.clip(np.asarray(x, dtype=np.float64).reshape(n, n), 0.0, 1.0)


def _price(util, best):
    return float(1.0 - util / best) if best > 0 else 0.0


def birkhoff_von_neumann(P, atol: float = 1e-8, zero: float = 1e-13):
    """(weights θ, permutations) with Σ_k θ_k Π_k = P; permutations[k][i] = rank (0-based) of
    item i in Π_k. P must be doubly stochastic within ``atol`` (a positive number <= 0.1; else
    InvalidInputError naming P); entries at most ``zero`` (a real in [0, atol]; InvalidInputError
    naming it otherwise: NaN or 1 would silently leave the decomposition empty) count as 0.

    Birkhoff (1946) / von Neumann (1953), as used by Singh & Joachims (KDD 2018, Sec. 4.2) to
    sample a ranking from P: repeatedly take a permutation inside the support of the remainder
    R (a perfect matching, which exists by König's theorem while R is a scaled doubly
    stochastic matrix), subtract θ = its smallest entry, and stop when R is zero. Each step
    zeroes at least one entry, so at most (n-1)²+1 permutations (Marcus & Ree 1959).
    """
    atol = check_positive(atol, "atol", 0.1)
    zero = check_real(zero, "zero", 0.0, atol)
    P = check_probability_matrix(P, "P", doubly_stochastic=True, tol=atol)
    if P.shape[0] == 0:
        raise InvalidInputError("P must be a non-empty square matrix, got shape (0, 0)")
    n = P.shape[0]
    R = np.where(P > zero, P, 0.0)
    weights, perms = [], []
    rows = np.arange(n)
    for _ in range((n - 1) ** 2 + 1):
        if R.max() <= zero:
            break
        support = R > zero
        cost = np.where(support, -R, n + 1.0)
        _, cols = linear_sum_assignment(cost)
        if not support[rows, cols].all():
            break                         # remainder below the numerical floor
        theta = float(R[rows, cols].min())
        weights.append(theta)
        perms.append(cols.astype(np.int64))
        R[rows, cols] -= theta
        R[R <= zero] = 0.0
    return np.array(weights), np.array(perms, dtype=np.int64).reshape(len(perms), n)


class BvNSampler:
    """Draws rankings from a doubly stochastic P through its BvN decomposition: permutation k
    with probability θ_k / Σθ. ``sample`` returns orders (item indices top first)."""

    def __init__(self, P, atol: float = 1e-8):
        self.weights, self.ranks = birkhoff_von_neumann(P, atol=atol)
        self.orders = np.argsort(self.ranks, axis=1)

    def sample(self, n: int, random_state=None) -> np.ndarray:
        """(n x items) orders drawn independently: permutation k with probability θ_k/Σθ.
        ``n`` an integer >= 1 with n x items <= MAX_SAMPLE_ENTRIES, ``random_state`` a seed
        (``check_seed``); InvalidInputError naming the argument otherwise."""
        n_items = self.orders.shape[1]
        n = check_int(n, "n", 1, max(1, MAX_SAMPLE_ENTRIES // max(n_items, 1)),
                      high_name=f"MAX_SAMPLE_ENTRIES / items ({n_items} items)")
        rng = np.random.default_rng(check_seed(random_state, "random_state"))
        k = rng.choice(len(self.weights), size=n, p=self.weights / self.weights.sum())
        return self.orders[k]
