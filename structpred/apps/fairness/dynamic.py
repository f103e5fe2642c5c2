"""Dynamic learning to rank and the rich-get-richer loop: the news simulation of Morik, Singh,
Hong & Joachims, "Controlling Fairness and Bias in Dynamic Learning-to-Rank" (SIGIR 2020), with
the Naive (click count) ranker, D-ULTR (IPS relevance estimates), FairCo for exposure and for
impact, and the fair-ranking LP re-solved online.

The setup (``NewsSetup``; every parameter is a field, defaults as in the paper's news experiment
and the authors' code, MarcoMorik/Dynamic-Fairness):

* n_items = 30 articles with polarity ρ_d ~ Uniform[-1, 1], or (``polarity_pool``) drawn
  without replacement from a pool, e.g. the Ad Fontes article ratings / 40 as the paper
  (``structpred.datasets.load_adfontes``); group 0 = polarity <= 0, group 1 = polarity > 0 (the
  authors' GROUP_BOUNDARIES put 0 in the left group).
* users arrive one by one: polarity ~ N(+0.5, 0.2) with probability ``p_plus`` = 0.5, else
  N(-0.5, 0.2), clipped to [-1, 1]; openness o ~ Uniform[0.05, 0.55].
* user u finds article d relevant with probability exp(-(ρ_d - ρ_u)^2 / (2 o_u^2)) (a Bernoulli
  draw, r_d(u) in {0, 1}); true merit R(d) = E_u[that probability], by quadrature
  (``news_merit``; ``merit_users`` > 0: Monte Carlo over that many users, as the authors' code
  with 50,000, whose error, about 0.5% of a group's merit, shows in the unfairness measure).
* position-based clicks: the article at rank k is examined with probability v_k = 1/log2(1+k)
  (``position_bias="log"``; ``"none"`` examines every rank, v_k = 1, for tests); click =
  examined and relevant.
* head start h (as in the authors' code, Simulation.simulate): the first h users all come from
  the ``head_start_group``'s side (polarity N(+0.5, 0.2) for group 1, N(-0.5, 0.2) for group
  0), the next h users from the other side, then the mixture; the 3,000 users are balanced
  between the sides in expectation, so the true merit R(d) stays that of the mixture.
* n_users = 3000; counts start at zero (the head-start experiment of the authors' code; their
  other news runs start every article at one click and one IPS unit).

Rankers at user τ (all sorted by a score, ties by item index):

* ``naive``: number of clicks so far, c_τ(d).
* ``d-ultr``: IPS estimate R̂_τ(d) = 1/(τ-1) Σ_{t<τ} click_t(d) / v_{rank_t(d)} over the users
  seen (unbiased for R(d); known propensities, no clipping; the authors divide by τ). With
  ``merit_estimator="stratified"`` R̂_τ(d) = Σ_c w_c S_c(d)/n_c / Σ_{c seen} w_c instead: the
  users are split into strata c by their features (``strata`` = (K, M): K equal polarity bins
  on [-1, 1] x M equal openness bins), S_c(d) and n_c are the IPS sum and the user count of
  stratum c, and w_c is the stratum's population probability (``user_strata``): a per-stratum
  personalised IPS model averaged over the population distribution of the user features
  rather than over the users who happened to come (w_c = n_c/(τ-1) gives the plain IPS
  exactly). ``"ratio"`` divides the clicks by the summed propensities instead, Σ_t click_t(d)
  / Σ_t v_{rank_t(d)}, and ``"mle"`` is the position-based model's maximum-likelihood relevance
  with the known propensities; ``"stratified-ratio"`` / ``"stratified-mle"`` use them per
  stratum (``merit_from_log`` states each with its bias and variance). ``"pooled-mle"`` fits
  one relevance model for all items, σ(θ·φ(ρ_d - ρ_u, o_u)) with φ Legendre polynomials of the
  polarity difference and the openness (``pooled_degree``, ``pooled_ridge``), by the
  position-based likelihood over every shown (user, item) pair, refitted each time the users
  seen grow by the factor ``pooled_refit`` (the LP: at each re-solve), and averages it over
  the known user distribution (pooled.py states the model and its assumptions). The estimator applies to D-ULTR, FairCo
  (score and error term) and the LP.
* ``fairco-exposure``: R̂_τ(d) + λ err_τ(d), err_τ(d) = (τ - 1) max_G D̂_τ(G, G_d),
  D̂_τ(G, G') = Exp_τ(G)/R̂_τ(G) - Exp_τ(G')/R̂_τ(G'), Exp_τ(G) = mean over d in G of the average
  exposure v_{rank_t(d)} so far, R̂_τ(G) = mean over G of R̂_τ(d) (floored at 1e-4). So
  err_τ(d) = max_G Σ_{t<τ} Exp_t(G)/R̂_τ(G) - Σ_{t<τ} Exp_t(G_d)/R̂_τ(G_d): the cumulative
  exposure per estimated merit, as the authors' get_unfairness; λ = 0 is D-ULTR.
  ``simulate(..., control_merit=R)`` puts a given merit (e.g. the true R, a skyline that no
  real system has) in place of R̂_τ in the error term only, to separate the controller's
  tracking from the estimation error of the merit.
* ``fairco-impact``: the same with the average clicks c_τ(d)/τ in place of exposure.
* ``lp``: every ``lp_every`` users the fair-ranking LP (disparate treatment: exposure
  proportional to estimated merit R̂, least-unfair when infeasible) is re-solved on R̂ and the
  rankings of the next k users are drawn from its Birkhoff-von Neumann decomposition. With
  ``lp_compensate`` (default, as the authors' LP, which moves the constraint by the unfairness
  accumulated so far) the LP asks for f_1 - f_0 = -X/k instead of 0, X = Σ_{t<τ} (f_1 - f_0)
  of the past rankings under the current R̂ (f_G = Σ_G exposure / Σ_G R̂), so that the next k
  users cancel the past disparity; least-unfair when that is infeasible.

Measures per user: NDCG of the ranking against the user's relevances (1 when none is relevant,
as in the authors' code), exposure unfairness |Exp_τ(G0)/R(G0) - Exp_τ(G1)/R(G1)| and impact
unfairness |Imp_τ(G0)/R(G0) - Imp_τ(G1)/R(G1)| with the true merits R(G) (the expected relevance
over the user distribution, as the authors' code: Exp_τ(G) = (1/τ) Σ_t Exp_t(G), the pairwise
mean over groups of |·|, one pair here), and the item at rank 1. ``group_unfairness`` gives the
same measure against any other merit (the IPS estimates, the mean relevance of the users so far).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numba import njit

from ...boundary.arrays import (check_finite_result, check_flags, check_groups, check_labels,
                                check_matrix, check_vector)
from ...boundary.params import (check_bool, check_choice, check_int, check_probability,
                                check_real, check_seed)
from ...errors import MAX_ABS_FEATURE, InvalidInputError, InvalidInputTypeError
from .clicklog import check_click_log
from .lp import BvNSampler, fair_ranking_lp
from .pooled import _fit_rows, check_model, log_features, merit_of, population_features

__all__ = ["NewsSetup", "NewsTrial", "METHODS", "make_trial", "simulate", "SimulationResult",
           "group_unfairness", "lp_policy", "news_merit", "user_strata", "ESTIMATORS",
           "estimate_merit", "merit_from_log"]

METHODS = ("naive", "d-ultr", "fairco-exposure", "fairco-impact", "lp")
#: merit estimator -> the kernel's kind (0 IPS, 1 ratio, 2 maximum likelihood, 3 the pooled
#: model of pooled.py, fitted outside the kernel)
_EST_KIND = {"ips": 0, "stratified": 0, "ratio": 1, "stratified-ratio": 1, "mle": 2,
             "stratified-mle": 2, "pooled-mle": 3}
ESTIMATORS = tuple(_EST_KIND)
_CODE = {"naive": 0, "d-ultr": 1, "fairco-exposure": 2, "fairco-impact": 3, "lp": 4}

#: Most items of a simulation (each user's ranking is a sort of n_items scores).
MAX_SIM_ITEMS = 4096
#: Largest array the simulation allocates, in entries: n_users x n_items (the relevance and
#: examination draws, 9 bytes an entry), merit_users x n_items (the Monte-Carlo merit), strata
#: x n_items (the per-stratum sums) and strata x n_items^2 (the per-rank counts of the maximum-
#: likelihood estimators): 2**26 entries is about 0.6 GB for the draws.
MAX_SIM_ENTRIES = 2 ** 26
#: Largest FairCo λ: the error term λ (τ - 1) (ratio gap) must stay finite in float64 (at
#: 1e308 it is inf, and inf x 0 makes NaN scores).
MAX_LAM = 1e100
#: Range of the users' polarity spread (user_std) and openness: 1/σ² and 1/o² stay finite.
_SPREAD = (1e-6, 1e3)


def _check_lam(value, name):
    """FairCo's λ: a finite real number in [0, MAX_LAM] (``setup.lam`` and simulate's ``lam``)."""
    return check_real(value, name, 0.0, MAX_LAM)


def _entries(count, name, what):
    if count > MAX_SIM_ENTRIES:
        raise InvalidInputError(f"{name}: {what} = {count} entries, more than the simulation's "
                                f"limit of {MAX_SIM_ENTRIES} (structpred.apps.fairness.dynamic."
                                "MAX_SIM_ENTRIES; it bounds the memory of one array)")


@dataclass
class NewsSetup:
    """Every parameter of the news simulation (see the module docstring), checked at
    construction and again by ``make_trial`` / ``simulate`` (``check``: a field changed later
    is caught too); InvalidInputError naming ``setup.<field>``."""
    n_items: int = 30
    n_users: int = 3000
    p_plus: float = 0.5
    user_mean: float = 0.5
    user_std: float = 0.2
    openness: tuple = (0.05, 0.55)
    head_start: int = 0
    head_start_group: int = 1
    merit_users: int = 0
    lam: float = 0.01
    lp_every: int = 100
    lp_compensate: bool = True
    position_bias: str = "log"
    polarity_pool: tuple | None = None
    merit_estimator: str = "ips"
    strata: tuple = (8, 2)
    pooled_degree: tuple = (6, 2)
    pooled_ridge: float = 1e-3
    pooled_refit: float = 1.2

    def __post_init__(self):
        self.check()

    def check(self) -> "NewsSetup":
        """Check every field (``replace``, ``make_trial`` and ``simulate`` call it, so a field
        changed after construction is checked too) and store it converted (ints, floats,
        tuples); InvalidInputError naming ``setup.<field>`` otherwise:

        * n_items an integer in [2, MAX_SIM_ITEMS]; n_users >= 1, merit_users >= 0 and
          head_start >= 0 integers with 2 head_start <= n_users; n_users x n_items and
          merit_users x n_items at most MAX_SIM_ENTRIES (the arrays drawn);
        * p_plus a probability; user_mean a real in [-1, 1] (polarities live there);
          user_std a real in [1e-6, 1e3]; openness a pair 1e-6 <= lo < hi <= 1e3;
        * head_start_group 0 or 1; lam a real in [0, MAX_LAM] (as ``simulate(lam=)``);
          lp_every an integer >= 1; lp_compensate a bool; position_bias "log" or "none";
          merit_estimator one of ESTIMATORS;
        * polarity_pool None or at least n_items finite reals of magnitude <= 1e50;
          strata two integers >= 1 with strata[0] x strata[1] x n_items <= MAX_SIM_ENTRIES;
          pooled_degree / pooled_ridge as ``pooled.check_model``; pooled_refit a real >= 1.
        """
        n = check_int(self.n_items, "setup.n_items", 2, MAX_SIM_ITEMS)
        T = check_int(self.n_users, "setup.n_users", 1)
        _entries(T * n, "setup.n_users", f"n_users x n_items = {T} x {n}")
        mu = check_int(self.merit_users, "setup.merit_users", 0)
        _entries(mu * n, "setup.merit_users", f"merit_users x n_items = {mu} x {n}")
        h = check_int(self.head_start, "setup.head_start", 0)
        if 2 * h > T:
            raise InvalidInputError(f"setup.head_start must be in 0..n_users/2 (h users from each "
                                    f"side), got {h}")
        p_plus = check_probability(self.p_plus, "setup.p_plus")
        mean = check_real(self.user_mean, "setup.user_mean", -1.0, 1.0)
        std = check_real(self.user_std, "setup.user_std", *_SPREAD)
        op = self.openness
        if isinstance(op, (str, bytes)) or not hasattr(op, "__len__") or len(op) != 2:
            raise InvalidInputError(f"setup.openness must be a pair (lo, hi) of reals with "
                                    f"{_SPREAD[0]:g} <= lo < hi <= {_SPREAD[1]:g}, got {op!r}")
        lo = check_real(op[0], "setup.openness[0] (lo)", *_SPREAD)
        hi = check_real(op[1], "setup.openness[1] (hi)", *_SPREAD)
        if not lo < hi:
            raise InvalidInputError(f"setup.openness must be a pair (lo, hi) with lo < hi, got "
                                    f"{op!r}")
        hg = check_choice(self.head_start_group, "setup.head_start_group", (0, 1))
        lam = _check_lam(self.lam, "setup.lam")
        every = check_int(self.lp_every, "setup.lp_every", 1)
        comp = check_bool(self.lp_compensate, "setup.lp_compensate")
        bias = check_choice(self.position_bias, "setup.position_bias", ("log", "none"))
        est = check_choice(self.merit_estimator, "setup.merit_estimator", ESTIMATORS)
        pool = self.polarity_pool
        if pool is not None:
            arr = check_vector(pool, "setup.polarity_pool", low=-MAX_ABS_FEATURE,
                               high=MAX_ABS_FEATURE)
            if arr.size < n:
                raise InvalidInputError(f"setup.polarity_pool has {arr.size} polarities, fewer "
                                        f"than n_items = {n}")
            pool = tuple(arr.tolist())
        st = self.strata
        if isinstance(st, (str, bytes)) or not hasattr(st, "__len__") or len(st) != 2:
            raise InvalidInputError(f"setup.strata must be two positive integers (polarity bins, "
                                    f"openness bins), got {st!r}")
        st = (check_int(st[0], "setup.strata[0] (polarity bins)", 1, strict=True),
              check_int(st[1], "setup.strata[1] (openness bins)", 1, strict=True))
        _entries(st[0] * st[1] * n, "setup.strata",
                 f"strata x n_items = {st[0]} x {st[1]} x {n}")
        degree, ridge = check_model(self.pooled_degree, self.pooled_ridge, "setup.pooled_")
        refit = check_real(self.pooled_refit, "setup.pooled_refit", 1.0)
        (self.n_items, self.n_users, self.merit_users, self.head_start, self.p_plus,
         self.user_mean, self.user_std, self.openness, self.head_start_group, self.lam,
         self.lp_every, self.lp_compensate, self.position_bias, self.merit_estimator,
         self.polarity_pool, self.strata, self.pooled_degree, self.pooled_ridge,
         self.pooled_refit) = (n, T, mu, h, p_plus, mean, std, (lo, hi), hg, lam, every, comp,
                               bias, est, pool, st, degree, ridge, refit)
        return self


def _setup(setup, name="setup"):
    """``setup`` checked (``NewsSetup.check``); InvalidInputTypeError for another type."""
    if not isinstance(setup, NewsSetup):
        raise InvalidInputTypeError(f"{name} must be a NewsSetup, got {type(setup).__name__}")
    return setup.check()


@dataclass
class NewsTrial:
    """One seeded draw of the world: items, users, and the random numbers of relevance and
    examination (shared by every ranker, so rankers are compared on the same users)."""
    polarity: np.ndarray
    groups: np.ndarray
    relevant: np.ndarray          # (n_users, n_items) bool
    exam_u: np.ndarray            # (n_users, n_items) uniforms for examination
    merit: np.ndarray             # true R(d)
    group_merit: np.ndarray       # true R(G)
    v: np.ndarray                 # position exposure 1/log2(1+k)
    user_polarity: np.ndarray = field(default=None)
    user_openness: np.ndarray = field(default=None)
    user_cell: np.ndarray = field(default=None)     # (n_users,) stratum of each user
    cell_weight: np.ndarray = field(default=None)   # population probability of each stratum


@dataclass
class SimulationResult:
    """Per-user histories of one run: ndcg, exposure / impact unfairness, top item; final state
    (clicks, IPS sums, exposure sums, final order, the final merit estimate)."""
    ndcg: np.ndarray
    unfair_exposure: np.ndarray
    unfair_impact: np.ndarray
    top: np.ndarray
    clicks: np.ndarray
    ips: np.ndarray
    exposure: np.ndarray
    final_order: np.ndarray = field(default=None)
    estimate: np.ndarray = field(default=None)    # final merit estimate R̂ (the estimator's)


def _users(rng, n, setup, side=None):
    plus = rng.random(n) < setup.p_plus if side is None else np.full(n, side == 1)
    pol = np.where(plus, setup.user_mean, -setup.user_mean) + setup.user_std * rng.normal(size=n)
    lo, hi = setup.openness
    return np.clip(pol, -1, 1), lo + (hi - lo) * rng.random(n)


def _affinity(item_pol, user_pol, user_open):
    return np.exp(-(item_pol[None, :] - user_pol[:, None]) ** 2 / (2 * user_open[:, None] ** 2))


def news_merit(polarity, setup: NewsSetup) -> np.ndarray:
    """The true merit R(d) = E_u[exp(-(ρ_d - ρ_u)^2 / (2 o_u^2))] over the user distribution,
    by quadrature: for each openness o the integral over the clipped normal ρ_u is closed form
    (a Gaussian product integrated over (-1, 1) plus the clipped masses at ±1), then o ~ U[lo, hi]
    by 64-point Gauss-Legendre."""
    from scipy.special import ndtr
    setup = _setup(setup)
    rho = check_vector(polarity, "polarity", low=-MAX_ABS_FEATURE, high=MAX_ABS_FEATURE)[:, None]
    lo, hi = setup.openness
    x, w = np.polynomial.legendre.leggauss(64)
    o = (lo + (hi - lo) * (x + 1) / 2)[None, :]
    w = w / 2
    s = setup.user_std
    out = np.zeros(rho.shape[0])
    for m, p in ((setup.user_mean, setup.p_plus), (-setup.user_mean, 1 - setup.p_plus)):
        var = 1.0 / (1.0 / s ** 2 + 1.0 / o ** 2)
        sd = np.sqrt(var)
        mu = var * (m / s ** 2 + rho / o ** 2)
        inner = (sd / s) * np.exp(-(m - rho) ** 2 / (2 * (s ** 2 + o ** 2))) * (
            ndtr((1 - mu) / sd) - ndtr((-1 - mu) / sd))
        inner = inner + ndtr((-1 - m) / s) * np.exp(-(rho + 1) ** 2 / (2 * o ** 2))
        inner = inner + (1 - ndtr((1 - m) / s)) * np.exp(-(rho - 1) ** 2 / (2 * o ** 2))
        out += p * (inner @ w)
    return out


def make_trial(setup: NewsSetup, seed) -> NewsTrial:
    """Draw the items (uniform polarities, or ``n_items`` drawn without replacement from
    ``polarity_pool``), the users (head start first: h users from ``head_start_group``'s side,
    h from the other side, then the mixture) and their randomness for one trial; each user's
    stratum (``strata`` = (polarity bins, openness bins)) and the strata's population
    probabilities for the stratified merit estimate."""
    setup = _setup(setup)
    seed = check_seed(seed, "seed")
    rng = np.random.default_rng(seed)
    if setup.polarity_pool is None:
        pol = rng.uniform(-1, 1, setup.n_items)
    else:
        pol = rng.choice(np.asarray(setup.polarity_pool, dtype=float), setup.n_items,
                         replace=False)
    groups = (pol > 0).astype(np.int64)
    if groups.min() == groups.max():          # keep two groups
        pol[0] = -pol[0] if pol[0] != 0 else 1e-3
        groups = (pol > 0).astype(np.int64)
    h, g = setup.head_start, setup.head_start_group
    parts = [_users(rng, h, setup, side=g), _users(rng, h, setup, side=1 - g),
             _users(rng, setup.n_users - 2 * h, setup)]
    up = np.concatenate([p[0] for p in parts])
    uo = np.concatenate([p[1] for p in parts])
    relevant = rng.random((setup.n_users, setup.n_items)) < _affinity(pol, up, uo)
    exam_u = rng.random((setup.n_users, setup.n_items))
    if setup.merit_users > 0:         # Monte Carlo, as the authors (50,000 users)
        mp, mo = _users(rng, setup.merit_users, setup)
        merit = _affinity(pol, mp, mo).mean(axis=0)
    else:
        merit = news_merit(pol, setup)
    gm = np.array([merit[groups == k].mean() for k in (0, 1)])
    if not np.all(np.isfinite(gm) & (gm > 0)):
        k = int(np.flatnonzero(~(np.isfinite(gm) & (gm > 0)))[0])
        raise InvalidInputError(f"setup: the true merit of group {k} is {gm[k]!r}, so the "
                                "unfairness (exposure per merit) is undefined: the items' "
                                "polarities (setup.polarity_pool) are too far from every user "
                                "for setup.openness / setup.user_std")
    if setup.position_bias == "log":
        v = 1.0 / np.log2(2.0 + np.arange(setup.n_items))
    else:
        v = np.ones(setup.n_items)
    cell, weight = user_strata(up, uo, setup)
    return NewsTrial(pol, groups, relevant, exam_u, merit, gm, v, up, uo, cell, weight)


def user_strata(user_polarity, user_openness, setup: NewsSetup):
    """Each user's stratum k·M + m (polarity bin k of K equal bins on [-1, 1], openness bin m
    of M equal bins on the openness range; (K, M) = ``setup.strata``) and the strata's
    population probabilities P(k)/M, P(k) = Σ_side p_side [Φ((b_k+1 - μ)/σ) - Φ((b_k - μ)/σ)]
    under the clipped bimodal polarity (the end bins take the clipped mass)."""
    from scipy.special import ndtr
    setup = _setup(setup)
    user_polarity = check_vector(user_polarity, "user_polarity")
    user_openness = check_vector(user_openness, "user_openness", user_polarity.shape[0],
                                 length_of="user_polarity")
    K, M = (int(k) for k in setup.strata)
    edges = np.linspace(-1.0, 1.0, K + 1)
    kb = np.clip(np.searchsorted(edges[1:-1], user_polarity, side="right"), 0, K - 1)
    lo, hi = setup.openness
    mb = np.clip(((user_openness - lo) / (hi - lo) * M).astype(np.int64), 0, M - 1)
    e = edges.copy()
    e[0], e[-1] = -np.inf, np.inf
    pk = np.zeros(K)
    for m, p in ((setup.user_mean, setup.p_plus), (-setup.user_mean, 1 - setup.p_plus)):
        pk += p * np.diff(ndtr((e - m) / setup.user_std))
    return (kb * M + mb).astype(np.int64), np.repeat(pk / M, M)


def group_unfairness(per_item, merit, groups) -> float:
    """Mean over pairs of groups G, G' of |mean_G(x)/mean_G(R) - mean_G'(x)/mean_G'(R)|, with x
    the average exposure (or clicks) per user of each item and R a merit per item (true,
    estimated or realised); the paper's exposure / impact unfairness when R is the true merit.

    ``per_item`` and ``merit`` are finite, >= 0 and of magnitude <= 1e50, one per item;
    ``groups`` one label per item, two groups or more. InvalidInputError naming the argument,
    and naming ``merit`` when a group's mean merit is 0 (exposure per merit is then undefined;
    it used to be read as 1e-12, giving unfairness of order 1e12) or so small that the ratio
    overflows float64."""
    x = check_vector(per_item, "per_item", low=0.0, high=MAX_ABS_FEATURE, min_length=1)
    R = check_vector(merit, "merit", x.shape[0], low=0.0, high=MAX_ABS_FEATURE,
                     length_of="per_item")
    g, K = check_groups(groups, "groups", x.shape[0], length_of="per_item")
    cnt = np.bincount(g, minlength=K)
    mx = np.bincount(g, weights=x, minlength=K) / cnt
    mR = np.bincount(g, weights=R, minlength=K) / cnt
    if np.any(mR <= 0):
        k = int(np.flatnonzero(mR <= 0)[0])
        raise InvalidInputError(f"merit: group {k} (in sorted label order) has mean merit 0, so "
                                "its exposure per merit is undefined")
    with np.errstate(over="ignore", invalid="ignore"):
        ratio = mx / mR
        pairs = [abs(ratio[a] - ratio[b]) for a in range(K) for b in range(a + 1, K)]
        out = float(np.mean(pairs))
    return check_finite_result(out, "group_unfairness (exposure per merit)", "per_item / merit")


@njit(cache=True, nogil=True)
def _mle_item(clk, views, v, r0):
    """The maximum-likelihood relevance of one item under the position-based model with known
    propensities: argmax_r Σ_k c_k log(v_k r) + (n_k - c_k) log(1 - v_k r) over r in [0, 1]
    (c_k clicks in n_k views at rank k), by Newton from r0 safeguarded by bisection on the sign
    of the derivative (the log-likelihood is concave in r); 0 without clicks."""
    K = v.shape[0]
    ctot = 0.0
    for k in range(K):
        ctot += clk[k]
    if ctot <= 0.0:
        return 0.0
    # r is a probability: search (0, 1); with v_k <= 1 every 1 - v_k r stays positive there
    lo, hi = 0.0, 1.0
    r = min(max(r0, 1e-6 * hi), hi * (1.0 - 1e-9))
    for _ in range(60):
        g = ctot / r
        h = -ctot / (r * r)
        for k in range(K):
            m = views[k] - clk[k]
            if m > 0:
                q = 1.0 - v[k] * r
                g -= m * v[k] / q
                h -= m * v[k] * v[k] / (q * q)
        if g > 0:
            lo = r
        else:
            hi = r
        step = r - g / h
        if step <= lo or step >= hi:
            step = 0.5 * (lo + hi)
        if abs(step - r) <= 1e-12 * max(r, 1e-12):
            return step
        r = step
    return r


@njit(cache=True, nogil=True)
def _estimate(t, kind, ips, ips_cell, clk_cell, prop_cell, rank_clk, rank_views, v, n_cell,
              cell_weight, cell_est, dirty, out):
    """R̂_τ(d) into ``out``. Per stratum c: kind 0 (IPS) S_c(d)/n_c, kind 1 (ratio)
    K_c(d)/P_c(d) (clicks over summed propensities), kind 2 (PBM maximum likelihood with the
    known propensities, ``_mle_item`` on the per-rank clicks and views, from the ratio estimate).
    One stratum: that estimate (IPS: ips/max(t, 1)); several: Σ_c w_c R̂_c(d) / Σ_c w_c over the
    strata c seen so far (n_c > 0). ``cell_est`` caches R̂_c(d); only the strata flagged in
    ``dirty`` (their sums changed) are recomputed."""
    n = out.shape[0]
    C = cell_weight.shape[0]
    if kind == 3:                     # the pooled model's estimate, refitted by simulate
        for d in range(n):
            out[d] = cell_est[0, d]
        return
    if C == 1 and kind == 0:
        for d in range(n):
            out[d] = ips[d] / max(t, 1)
        return
    wsum = 0.0
    for d in range(n):
        out[d] = 0.0
    for c in range(C):
        if n_cell[c] > 0:
            if dirty[c]:
                for d in range(n):
                    r0 = clk_cell[c, d] / prop_cell[c, d] if prop_cell[c, d] > 0 else 0.0
                    if kind == 0:
                        r = ips_cell[c, d] / n_cell[c]
                    elif kind == 1:
                        r = r0
                    else:
                        r = _mle_item(rank_clk[c, d], rank_views[c, d], v, r0)
                    cell_est[c, d] = r
                dirty[c] = 0
            wsum += cell_weight[c]
            for d in range(n):
                out[d] += cell_weight[c] * cell_est[c, d]
    if wsum > 0:
        for d in range(n):
            out[d] /= wsum


@njit(cache=True, nogil=True)
def _run(method, kind, lam, t0, t1, groups, relevant, exam_u, v, group_merit, orders,
         ctrl_merit, cells, cell_weight, clicks, ips, cumexp, ips_cell, clk_cell, prop_cell,
         rank_clk, rank_views, n_cell, cell_est, dirty, log_pos, log_clk, ndcg, unfair_e,
         unfair_i, top):
    n = groups.shape[0]
    score = np.empty(n)
    est = np.empty(n)
    pos = np.empty(n, dtype=np.int64)
    for t in range(t0, t1):
        tau = t + 1
        if method == 4:
            order = orders[t - t0]
        else:
            if method == 0:
                for d in range(n):
                    score[d] = clicks[d]
            else:
                _estimate(t, kind, ips, ips_cell, clk_cell, prop_cell, rank_clk, rank_views, v,
                          n_cell, cell_weight, cell_est, dirty, est)
                for d in range(n):
                    score[d] = est[d]
                if method >= 2 and t > 0:
                    # group averages of exposure (or impact) and estimated merit so far
                    ge = np.zeros(2)
                    gr = np.zeros(2)
                    gc = np.zeros(2)
                    for d in range(n):
                        g = groups[d]
                        gc[g] += 1.0
                        if ctrl_merit.shape[0] == n:
                            gr[g] += ctrl_merit[d]
                        else:
                            gr[g] += est[d]
                        if method == 2:
                            ge[g] += cumexp[d] / t
                        else:
                            ge[g] += clicks[d] / t
                    ratio = np.empty(2)
                    for g in range(2):
                        ratio[g] = (ge[g] / gc[g]) / max(gr[g] / gc[g], 1e-4)
                    best = max(ratio[0], ratio[1])
                    for d in range(n):
                        score[d] += lam * (tau - 1) * (best - ratio[groups[d]])
            order = np.argsort(-score, kind="mergesort")
        for k in range(n):
            pos[order[k]] = k
        top[t] = order[0]
        dcg = 0.0
        ideal = 0.0
        n_rel = 0
        for d in range(n):
            if relevant[t, d]:
                n_rel += 1
        for k in range(n):
            d = order[k]
            if relevant[t, d]:
                dcg += v[k]
            if k < n_rel:
                ideal += v[k]
        ndcg[t] = dcg / ideal if n_rel > 0 else 1.0
        c = cells[t]
        n_cell[c] += 1.0
        dirty[c] = 1
        for d in range(n):
            k = pos[d]
            cumexp[d] += v[k]
            prop_cell[c, d] += v[k]
            if kind == 2:
                rank_views[c, d, k] += 1.0
            if kind == 3:
                log_pos[t, d] = k
            if relevant[t, d] and exam_u[t, d] < v[k]:
                if kind == 3:
                    log_clk[t, d] = 1
                clicks[d] += 1.0
                ips[d] += 1.0 / v[k]
                ips_cell[c, d] += 1.0 / v[k]
                clk_cell[c, d] += 1.0
                if kind == 2:
                    rank_clk[c, d, k] += 1.0
        ge = np.zeros(2)
        gi = np.zeros(2)
        gc = np.zeros(2)
        for d in range(n):
            g = groups[d]
            gc[g] += 1.0
            ge[g] += cumexp[d] / tau
            gi[g] += clicks[d] / tau
        unfair_e[t] = abs(ge[0] / gc[0] / group_merit[0] - ge[1] / gc[1] / group_merit[1])
        unfair_i[t] = abs(gi[0] / gc[0] / group_merit[0] - gi[1] / gc[1] / group_merit[1])


def estimate_merit(ips_cell, n_cell, cell_weight) -> np.ndarray:
    """The stratified IPS merit estimate R̂(d) = Σ_c w_c S_c(d)/n_c / Σ_c w_c over the strata
    with n_c > 0 users (S_c(d) = Σ_{t in c} click_t(d)/v_{rank_t(d)}); with the empirical
    weights w_c = n_c/τ it is the plain IPS mean, with the population probabilities it is
    E_x[R̂(d|x)] for the per-stratum (personalised) IPS model R̂(d|x).

    ``ips_cell`` is (C, n) with finite entries >= 0 (C strata, n items), ``n_cell`` C user
    counts >= 0 and ``cell_weight`` C weights >= 0, all finite: checked before the compiled
    kernel reads them (a shorter ``n_cell`` or ``cell_weight`` would be read past its end).
    InvalidInputError naming the argument otherwise; also when no stratum with users has a
    positive weight (the estimate would be 0/0)."""
    S = check_matrix(ips_cell, "ips_cell", allow_sparse=False)
    if np.any(S < 0):
        raise InvalidInputError("ips_cell: IPS sums are >= 0, got a negative entry")
    C, n = S.shape
    cnt = check_vector(n_cell, "n_cell", C, low=0.0, high=MAX_ABS_FEATURE,
                       length_of="the rows (strata) of ips_cell")
    w = check_vector(cell_weight, "cell_weight", C, low=0.0, high=MAX_ABS_FEATURE,
                     length_of="the rows (strata) of ips_cell")
    if C == 1:
        return S[0] / max(cnt[0], 1.0)
    if cnt.any() and not np.any(w[cnt > 0] > 0):
        raise InvalidInputError("cell_weight: every stratum with users has weight 0, so the "
                                "weighted mean over the strata is undefined")
    out = np.empty(n)
    z = np.zeros_like(S)
    _estimate(0, 0, np.zeros(n), S, z, z, np.zeros((1, 1, 1)), np.zeros((1, 1, 1)),
              np.ones(1), cnt, w, np.zeros_like(S), np.ones(C, dtype=np.uint8), out)
    return out


class _Stats:
    """The running sums every merit estimator reads (one row per user stratum c): IPS sums
    S_c(d) = Σ click/v, clicks K_c(d), summed propensities P_c(d) = Σ v_{rank_t(d)}, per-rank
    clicks and views (the maximum-likelihood estimators only) and the users n_c; the cached
    per-stratum estimates and which of them are out of date."""

    def __init__(self, C, n, n_ranks, kind):
        self.ips_cell, self.clk_cell, self.prop_cell = (np.zeros((C, n)) for _ in range(3))
        shape = (C, n, n_ranks) if kind == 2 else (1, 1, 1)
        self.rank_clk, self.rank_views = np.zeros(shape), np.zeros(shape)
        self.n_cell = np.zeros(C)
        self.cell_est = np.zeros((C, n))
        self.dirty = np.ones(C, dtype=np.uint8)

    def args(self):
        return (self.ips_cell, self.clk_cell, self.prop_cell, self.rank_clk, self.rank_views)


def _estimator(name):
    if name not in ESTIMATORS:
        raise InvalidInputError(f"merit_estimator must be one of {ESTIMATORS}, got {name!r}")
    return _EST_KIND[name], name.startswith("stratified")


def merit_from_log(clicked, ranks, v, estimator="ips", cells=None, cell_weight=None):
    """A merit estimate R̂(d) from a click log: ``clicked`` (T, n) bool, ``ranks`` (T, n) the
    0-based rank of item d for user t, ``v`` the propensity per rank, ``cells`` / ``cell_weight``
    the users' strata and the strata's population probabilities (the stratified estimators).
    Per stratum c (one stratum when not stratified):
      * ``ips``: S_c(d)/n_c = (1/n_c) Σ_{t∈c} click_t(d)/v_{rank_t(d)}, unbiased for every fixed
        (or past-dependent) ranking;
      * ``ratio`` (self-normalised by the propensities): K_c(d)/P_c(d) = Σ_t click_t(d) /
        Σ_t v_{rank_t(d)}. With users i.i.d. and rankings chosen before the user is seen,
        E[click_t | past] = v_t R(d), so Σ_t (click_t - v_t R) is a martingale and the ratio is
        consistent (bias O(1/T)); its (delta-method) variance Σ_t v_t R(1 - v_t R)/(Σ_t v_t)^2
        is at most IPS's Σ_t (R/v_t - R^2)/T^2 (the harmonic-arithmetic mean inequality and
        Σ v_t^2 >= (Σ v_t)^2/T; equal when v_t is constant), so it gains when the item moves
        between ranks;
      * ``mle``: the maximum-likelihood R under the position-based model with the known
        propensities, click_t ~ Bernoulli(v_t R) given the past (the EM fixed point of Wang
        et al., WSDM 2018, with the propensities fixed): argmax Σ_k c_k log(v_k R) +
        (n_k - c_k) log(1 - v_k R), consistent and asymptotically efficient.
    When the ranking follows the estimate (D-ULTR, FairCo), an item with unlucky early clicks
    moves down and collects less propensity, so the ratio and the MLE carry a small negative
    O(1/T) bias that IPS does not; their lower variance still gives a lower mean squared error
    (tests/test_fairness_dynamic_estimation.py, on the news simulator's true merit).
    Stratified: Σ_c w_c R̂_c(d) / Σ_c w_c over the strata seen (``estimate_merit``).
    InvalidInputError for a row of ``ranks`` that is not a permutation, ``clicked`` of another
    shape or not 0/1, a propensity outside (0, 1], a stratum outside ``cell_weight``, weights
    that are not finite and >= 0 or all 0 on the strata with users."""
    kind, strat = _estimator(estimator)
    if kind == 3:
        raise InvalidInputError("merit_estimator='pooled-mle' needs the item and user features: "
                                "use structpred.apps.fairness.pooled.pooled_merit")
    clicked, ranks, v = check_click_log(clicked, ranks, v)
    T, n = ranks.shape
    if strat:
        if cells is None or cell_weight is None:
            raise InvalidInputError(f"merit_estimator={estimator!r} needs cells and cell_weight")
        cw = check_vector(cell_weight, "cell_weight", low=0.0, high=MAX_ABS_FEATURE,
                          min_length=1)
        cells = check_labels(cells, "cells", cw.size, length=T)
        if T and not np.any(cw[np.unique(cells)] > 0):
            raise InvalidInputError("cell_weight: every stratum with users has weight 0, so the "
                                    "weighted mean over the strata is undefined")
    else:
        cells, cw = np.zeros(T, dtype=np.int64), np.ones(1)
    st = _Stats(cw.size, n, v.size, kind)
    vr = v[ranks]
    np.add.at(st.n_cell, cells, 1.0)
    np.add.at(st.ips_cell, cells, clicked / vr)
    np.add.at(st.clk_cell, cells, clicked.astype(float))
    np.add.at(st.prop_cell, cells, vr)
    if kind == 2:
        at = (np.repeat(cells, n), np.tile(np.arange(n), T), ranks.ravel())
        np.add.at(st.rank_views, at, 1.0)
        np.add.at(st.rank_clk, at, clicked.ravel().astype(float))
    out = np.empty(n)
    ips = st.ips_cell.sum(0)
    _estimate(T, kind, ips, *st.args(), v, st.n_cell, cw, st.cell_est, st.dirty, out)
    return out


def lp_policy(est, groups, v, cum_exposure, k, compensate=True):
    """The online LP's ranking policy for the next ``k`` users: max Σ_d R̂(d) (P v)_d over
    doubly stochastic P s.t. f_1(P) - f_0(P) = target, f_G = Σ_G (P v)_d / Σ_G R̂(d)
    (disparate treatment); target = -X/k with X = Σ_G1 cum_exposure / Σ_G1 R̂ - the same for
    G0 when ``compensate`` (the next k users cancel the past disparity), else 0; least-unfair
    when infeasible. Returns the FairLPResult.

    ``est`` and ``cum_exposure`` are finite and >= 0, one per item, ``groups`` two labels 0/1
    (both present), ``v`` one propensity in (0, 1] per rank, ``k`` an integer >= 1,
    ``compensate`` a bool; InvalidInputError naming the argument otherwise, and naming ``est``
    when a group's estimated merit sums to 0 (f_G is then undefined)."""
    est = check_vector(est, "est", low=0.0, high=MAX_ABS_FEATURE, min_length=2)
    n = est.shape[0]
    groups = check_labels(groups, "groups", 2, length=n)
    if np.bincount(groups, minlength=2).min() == 0:
        raise InvalidInputError("groups: the LP's disparate treatment needs items of both "
                                "groups 0 and 1")
    v = check_vector(v, "v", n, low=np.finfo(float).tiny, high=1.0, length_of="est")
    cum_exposure = check_vector(cum_exposure, "cum_exposure", n, low=0.0, high=MAX_ABS_FEATURE,
                                length_of="est")
    k = check_int(k, "k", 1)
    tot = np.bincount(groups, weights=est, minlength=2)
    if np.any(tot <= 0):
        raise InvalidInputError(f"est: group {int(np.argmin(tot))} has estimated merit 0, so "
                                "its exposure per merit (disparate treatment) is undefined")
    target = None
    if check_bool(compensate, "compensate"):
        f = np.bincount(groups, weights=cum_exposure, minlength=2) / tot
        target = -(f[1] - f[0]) / k
    return fair_ranking_lp(est, groups, "disparate_treatment", v, target=target)


class _PooledFit:
    """The pooled model's state during one run (pooled.py): every user-item pair's features
    (known before the run: item polarity, user polarity and openness), the run's log of ranks
    and clicks, the warm-started θ, and the population features for R̂."""

    def __init__(self, trial, setup):
        if trial.user_polarity is None or trial.user_openness is None:
            raise InvalidInputError("merit_estimator='pooled-mle' needs a trial with user "
                                    "features (make_trial)")
        self.degree, self.ridge = check_model(setup.pooled_degree, setup.pooled_ridge)
        self.refit = check_real(setup.pooled_refit, "setup.pooled_refit", 1.0)
        T, n = trial.relevant.shape
        self.v, self.n = trial.v, n
        self.Phi = log_features(trial.polarity, trial.user_polarity, trial.user_openness,
                                setup.openness, self.degree)
        self.pop, self.W = population_features(trial.polarity, setup, self.degree)
        self.pos = np.zeros((T, n), dtype=np.int64)
        self.clk = np.zeros((T, n), dtype=np.uint8)
        self.theta = None

    def schedule(self, T):
        """Refit points: each time the users seen grow by the factor ``pooled_refit`` (at least
        10 users apart), then T. (The LP refits at each of its re-solves instead.)"""
        pts, t = [], 0
        while t < T:
            t = min(T, max(t + 10, int(np.ceil(t * self.refit))))
            pts.append(t)
        return pts

    def merit(self, t):
        """R̂ from the first t users' log (zeros before the first user)."""
        if t == 0:
            return np.zeros(self.n)
        vv = self.v[self.pos[:t]].ravel()
        self.theta = _fit_rows(self.Phi, vv, self.clk[:t].ravel(), t * self.n, self.theta,
                               self.ridge)
        return merit_of(self.theta, self.pop, self.W)


def _check_trial(trial, cells: bool, features: bool) -> dict:
    """The arrays of ``trial`` the compiled simulation reads, checked and in the kernel's
    dtypes (an index out of range there is memory corruption, not an exception):
    relevant (T, n) bools, exam_u (T, n) uniforms, groups n labels 0/1 (both present), v n
    propensities in (0, 1], group_merit two finite positive merits; with ``cells`` the users'
    strata (T labels < len(cell_weight)) and the strata's weights (>= 0, not all 0); with
    ``features`` the users' polarity and openness (T each). InvalidInputError naming
    ``trial.<field>``."""
    if not isinstance(trial, NewsTrial):
        raise InvalidInputTypeError(f"trial must be a NewsTrial (make_trial), got "
                                    f"{type(trial).__name__}")
    rel = np.asarray(trial.relevant)
    if rel.ndim != 2 or rel.shape[0] < 1 or rel.shape[1] < 2:
        raise InvalidInputError(f"trial.relevant must be a (users x items) array with at least "
                                f"one user and two items, got shape {rel.shape}")
    T, n = rel.shape
    out = {"relevant": np.ascontiguousarray(check_flags(rel.ravel(), "trial.relevant")
                                            .reshape(T, n))}
    ex = check_matrix(trial.exam_u, "trial.exam_u", allow_sparse=False)
    if ex.shape != (T, n) or ex.min() < 0 or ex.max() > 1:
        raise InvalidInputError(f"trial.exam_u must be a {(T, n)} array of uniforms in [0, 1] "
                                f"(that of trial.relevant), got shape {ex.shape}")
    out["exam_u"] = ex
    g = check_labels(trial.groups, "trial.groups", 2, length=n)
    if np.bincount(g, minlength=2).min() == 0:
        raise InvalidInputError("trial.groups must hold items of both groups 0 and 1")
    out["groups"] = np.ascontiguousarray(g)
    out["v"] = check_vector(trial.v, "trial.v", n, low=np.finfo(float).tiny, high=1.0,
                            length_of="the items")
    out["group_merit"] = check_vector(trial.group_merit, "trial.group_merit", 2,
                                      low=np.finfo(float).tiny, high=MAX_ABS_FEATURE,
                                      length_of="the groups")
    if cells:
        if trial.user_cell is None or trial.cell_weight is None:
            raise InvalidInputError("a stratified merit_estimator needs a trial with user "
                                    "strata (trial.user_cell, trial.cell_weight: make_trial)")
        cw = check_vector(trial.cell_weight, "trial.cell_weight", low=0.0,
                          high=MAX_ABS_FEATURE, min_length=1)
        if not cw.sum() > 0:
            raise InvalidInputError("trial.cell_weight: every stratum has weight 0")
        out["cell_weight"] = cw
        out["user_cell"] = np.ascontiguousarray(check_labels(trial.user_cell, "trial.user_cell",
                                                             cw.size, length=T))
    if features:
        for name in ("user_polarity", "user_openness"):
            if getattr(trial, name) is None:
                raise InvalidInputError("merit_estimator='pooled-mle' needs a trial with user "
                                        "features (make_trial)")
            check_vector(getattr(trial, name), f"trial.{name}", T, length_of="the users")
        check_vector(trial.polarity, "trial.polarity", n, low=-MAX_ABS_FEATURE,
                     high=MAX_ABS_FEATURE, length_of="the items")
    return out


def simulate(trial: NewsTrial, method: str, setup: NewsSetup | None = None, lam=None,
             seed=0, control_merit=None, merit_estimator=None) -> SimulationResult:
    """Run one ranker over the trial's users (``lam``: FairCo's λ, default setup.lam; ``seed``
    drives the LP's BvN sampling; ``control_merit``: per-item merits that replace the IPS
    estimates R̂_τ in FairCo's error term, a diagnostic skyline; None = the paper's FairCo;
    ``merit_estimator``: one of ESTIMATORS (``merit_from_log`` states each): "ips" (the paper's
    R̂_τ = 1/(τ-1) Σ click/v), "ratio" (Σ click / Σ v), "mle" (position-based maximum
    likelihood), each also "stratified" (per-stratum estimates weighted by the strata's
    population probabilities; "stratified" alone is the IPS one), "pooled-mle" (one model of
    the item and user features for all items, pooled.py); default
    setup.merit_estimator; it is R̂_τ in the ranking score and in the error term of D-ULTR,
    FairCo and the LP)."""
    setup = NewsSetup() if setup is None else _setup(setup)
    method = check_choice(method, "method", METHODS)
    lam = setup.lam if lam is None else _check_lam(lam, "lam")
    seed = check_seed(seed, "seed")
    est_name = setup.merit_estimator if merit_estimator is None else merit_estimator
    kind, strat = _estimator(est_name)
    tr = _check_trial(trial, strat, kind == 3)
    T, n = tr["relevant"].shape
    if control_merit is None:
        ctrl = np.zeros(0)
    else:
        ctrl = check_vector(control_merit, "control_merit", length=n, low=0.0,
                            high=MAX_ABS_FEATURE, length_of="the trial's items")
    if not strat:
        cells, cw = np.zeros(T, dtype=np.int64), np.ones(1)
    else:
        cells, cw = tr["user_cell"], tr["cell_weight"]
    _entries(cw.size * n, "trial.cell_weight", f"strata x items = {cw.size} x {n}")
    if kind == 2:
        _entries(cw.size * n * n, "merit_estimator",
                 f"per-rank counts of {est_name!r}: strata x items x ranks = {cw.size} x {n} x {n}")
    es = _Stats(cw.size, n, n, kind)
    st = [np.zeros(n) for _ in range(3)]
    out = [np.zeros(T) for _ in range(3)] + [np.zeros(T, dtype=np.int64)]
    args = (tr["groups"], tr["relevant"], tr["exam_u"], tr["v"], tr["group_merit"])
    dummy = np.zeros((1, n), dtype=np.int64)
    pooled = _PooledFit(trial, setup) if kind == 3 else None
    logs = (pooled.pos, pooled.clk) if kind == 3 else (dummy, np.zeros((1, n), dtype=np.uint8))

    def estimate(t):
        if pooled is not None:
            es.cell_est[0] = pooled.merit(t)
        est = np.empty(n)
        _estimate(t, kind, st[1], *es.args(), args[3], es.n_cell, cw, es.cell_est, es.dirty, est)
        return est

    def run(code, t0, t1, orders=dummy):
        _run(code, kind, lam, t0, t1, *args, orders, ctrl, cells, cw, *st, *es.args(), es.n_cell,
             es.cell_est, es.dirty, *logs, *out)

    if method != "lp":
        t0 = 0
        for t1 in (pooled.schedule(T) if pooled is not None else [T]):
            if pooled is not None:     # the refit: R̂ for the users t0..t1 (the kernel's)
                es.cell_est[0] = pooled.merit(t0)
            run(_CODE[method], t0, t1)
            t0 = t1
    else:
        rng = np.random.default_rng(seed)
        every = setup.lp_every
        for t0 in range(0, T, every):
            t1 = min(T, t0 + every)
            est = estimate(t0)
            if t0 == 0 or np.any(np.bincount(args[0], weights=est, minlength=2) <= 0):
                orders = np.tile(np.argsort(-est, kind="stable"), (t1 - t0, 1))
            else:
                res = lp_policy(est, args[0], args[3], st[2], t1 - t0, setup.lp_compensate)
                orders = BvNSampler(res.P, atol=1e-6).sample(t1 - t0, rng)
            run(4, t0, t1, np.ascontiguousarray(orders, dtype=np.int64))
    est = estimate(T)
    final = np.argsort(-(st[0] if method == "naive" else est), kind="stable")
    return SimulationResult(out[0], out[1], out[2], out[3], st[0], st[1], st[2], final, est)
