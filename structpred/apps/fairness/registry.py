"""The fairness measures' registry: every public function of ``exposure`` (and of
``fair_star`` and ``lp``, and the news simulation's ``group_unfairness``) with its tiny
example and an independent reference, so that tests/test_registry_battery.py throws its
hostile battery at each and compares each example with its reference.

The references do not call the measured code: exposures and expected DCGs of a policy are
summed over the permutations of a known mixture (the example's P is built from it), ideal
DCGs by enumerating every ranking, group quantities with explicit loops.

``COVERS`` maps each module whose public functions must all be registered to the names
left out and why; the battery fails on a public function that is neither registered nor
listed there (the next measure added to ``exposure`` is covered by construction).
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from ...metrics import Metric

__all__ = ["MEASURES", "COVERS"]

_MOD = "structpred.apps.fairness.exposure"

# four items, two groups, a policy mixing two rankings (item indices top first)
_REL = (3.0, 1.0, 0.0, 2.0)
_GROUPS = (0, 1, 0, 1)
_MIX = ((0.6, (0, 3, 1, 2)), (0.4, (3, 0, 2, 1)))
_EXPO = (1.0, 0.5, 0.2, 0.8)     # per-item exposures
_V = (1.0, 0.6, 0.5, 0.25)        # per-rank exposures (a click model's propensities)
_V_UNORDERED = (0.6, 1.0, 0.25, 0.5)   # exposures that do not fall with the rank (a grid)


def _P():
    P = np.zeros((4, 4))
    for theta, order in _MIX:
        for rank, item in enumerate(order):
            P[item, rank] += theta
    return P


def _dcg_v(n):
    return [1.0 / math.log2(2.0 + j) for j in range(n)]


def _item_exposure_of_mix(v):
    e = [0.0] * 4
    for theta, order in _MIX:
        for rank, item in enumerate(order):
            e[item] += theta * v[rank]
    return np.array(e)


def _by_group(values, groups):
    out = {}
    for x, g in zip(values, groups):
        out.setdefault(g, []).append(x)
    return [sum(out[g]) / len(out[g]) for g in sorted(out)]


# ------------------------------------------------------------------ references
def _ref_position_exposure(args, kw):
    n = args[0]
    if kw.get("model", "log") == "inverse":
        return np.array([1.0 / (j + 1) for j in range(n)])
    return np.array(_dcg_v(n))


def _ref_ranking_matrix(args, kw):
    order = list(args[0])
    return np.array([[1.0 if order[j] == i else 0.0 for j in range(len(order))]
                     for i in range(len(order))])


def _ref_exposure_from_P(args, kw):
    v = list(args[1]) if len(args) > 1 and args[1] is not None else _dcg_v(4)
    return _item_exposure_of_mix(v)


def _ref_exposure_from_ranking(args, kw):
    order = list(args[0])
    v = list(args[1]) if len(args) > 1 and args[1] is not None else _dcg_v(len(order))
    e = [0.0] * len(order)
    for rank, item in enumerate(order):
        e[item] = v[rank]
    return np.array(e)


def _ref_exposure_from_samples(args, kw):
    orders = [list(o) for o in args[0]]
    v = list(args[1]) if len(args) > 1 and args[1] is not None else _dcg_v(len(orders[0]))
    per_item = [[0.0] * len(orders) for _ in orders[0]]
    for s, order in enumerate(orders):
        for rank, item in enumerate(order):
            per_item[item][s] = v[rank]
    m = len(orders)
    mean = [sum(x) / m for x in per_item]
    se = [math.sqrt(sum((a - mu) ** 2 for a in x) / (m - 1)) / math.sqrt(m)
          for x, mu in zip(per_item, mean)]
    return (np.array(mean), np.array(se))


def _ref_group_means(args, kw):
    return np.array(_by_group(args[0], args[1]))


def _ref_fairness_gaps(args, kw):
    e, u, g = list(args[0]), list(args[1]), list(args[2])
    exp_g, merit = _by_group(e, g), _by_group(u, g)
    clicks = _by_group([a * b for a, b in zip(u, e)], g)
    treat = [a / m for a, m in zip(exp_g, merit)]
    impact = [c / m for c, m in zip(clicks, merit)]
    return {"exposure": np.array(exp_g), "merit": np.array(merit), "clicks": np.array(clicks),
            "demographic_parity": max(exp_g) - min(exp_g),
            "disparate_treatment": max(treat) - min(treat),
            "disparate_impact": max(impact) - min(impact)}


def _ref_individual_disparity(args, kw):
    e, u = list(args[0]), list(args[1])
    total, pairs = 0.0, 0
    for i in range(len(e)):
        for j in range(len(e)):
            if i != j and u[i] >= u[j] > 0:
                total += max(0.0, e[i] / u[i] - e[j] / u[j])
                pairs += 1
    return total / pairs if pairs else 0.0


def _ref_group_disparity(args, kw):
    e, u, g = list(args[0]), list(args[1]), list(args[2])
    exp_g, merit = _by_group(e, g), _by_group(u, g)
    hi = 0 if merit[0] >= merit[1] else 1
    return max(0.0, exp_g[hi] / merit[hi] - exp_g[1 - hi] / merit[1 - hi])


def _expected_dcg(gains, v):
    return sum(theta * sum(gains[item] * v[rank] for rank, item in enumerate(order))
               for theta, order in _MIX)


def _ref_expected_dcg(args, kw):
    v = list(args[2]) if len(args) > 2 and args[2] is not None else _dcg_v(4)
    return _expected_dcg(list(args[1]), v)


def _ref_expected_ndcg(args, kw):
    gains = list(args[1])
    v = list(args[2]) if len(args) > 2 and args[2] is not None else _dcg_v(4)
    ideal = max(sum(gains[item] * v[rank] for rank, item in enumerate(perm))
                for perm in itertools.permutations(range(len(gains))))
    return _expected_dcg(gains, v) / ideal


# ------------------------------------------------------------------ examples
def _ex(*args, **kw):
    return lambda: ([np.array(a) if isinstance(a, tuple) else a for a in args], dict(kw))


def _samples():
    orders = np.array([o for _, o in _MIX] + [(1, 0, 2, 3), (0, 3, 1, 2)])
    return [orders, np.array(_V)], {}


def _P_example(*rest):
    return lambda: ([_P(), *(np.array(r) for r in rest)], {})


_INF = (0.0, math.inf)
_E = _MOD + ":"

MEASURES: dict[str, Metric] = {
    "position_exposure": Metric(_E + "position_exposure", ("n",), ("count",), _ex(4),
                                value_range=_INF, reference=_ref_position_exposure),
    "position_exposure_inverse": Metric(_E + "position_exposure", ("n",), ("count",),
                                        _ex(4, model="inverse"), value_range=_INF,
                                        reference=_ref_position_exposure),
    "ranking_matrix": Metric(_E + "ranking_matrix", ("order",), ("permutation",),
                             _ex((2, 0, 3, 1)), reference=_ref_ranking_matrix),
    "exposure_from_P": Metric(_E + "exposure_from_P", ("P", "exposure"),
                              ("prob_matrix", "nonneg_vector"), _P_example(_V),
                              value_range=_INF, reference=_ref_exposure_from_P),
    "exposure_from_P_default_v": Metric(_E + "exposure_from_P", ("P",), ("prob_matrix",),
                                        _P_example(), value_range=_INF,
                                        reference=_ref_exposure_from_P),
    "exposure_from_ranking": Metric(_E + "exposure_from_ranking", ("order", "exposure"),
                                    ("permutation", "nonneg_vector"), _ex((2, 0, 3, 1), _V),
                                    value_range=_INF, reference=_ref_exposure_from_ranking),
    "exposure_from_samples": Metric(_E + "exposure_from_samples", ("orders", "exposure"),
                                    ("permutations", "nonneg_vector"), _samples,
                                    value_range=_INF, reference=_ref_exposure_from_samples),
    "group_means": Metric(_E + "group_means", ("values", "groups"), ("vector", "groups_any"),
                          _ex((0.5, -1.0, 2.0, 4.0), _GROUPS), value_range=(-math.inf, math.inf),
                          reference=_ref_group_means),
    "fairness_gaps": Metric(_E + "fairness_gaps", ("item_exposure", "relevance", "groups"),
                            ("nonneg_vector", "nonneg_vector", "groups"),
                            _ex(_EXPO, _REL, _GROUPS), value_range=_INF,
                            reference=_ref_fairness_gaps),
    "individual_disparity": Metric(_E + "individual_disparity", ("item_exposure", "relevance"),
                                   ("nonneg_vector", "nonneg_vector"), _ex(_EXPO, _REL),
                                   value_range=_INF, reference=_ref_individual_disparity),
    "group_disparity": Metric(_E + "group_disparity", ("item_exposure", "relevance", "groups"),
                              ("nonneg_vector", "nonneg_vector", "groups2"),
                              _ex(_EXPO, _REL, _GROUPS), value_range=_INF,
                              reference=_ref_group_disparity),
    "expected_dcg": Metric(_E + "expected_dcg", ("P", "gains", "exposure"),
                           ("prob_matrix", "nonneg_vector", "nonneg_vector"),
                           _P_example(_REL, _V), value_range=_INF, reference=_ref_expected_dcg),
    "expected_ndcg": Metric(_E + "expected_ndcg", ("P", "gains", "exposure"),
                            ("prob_matrix", "nonneg_vector", "nonneg_vector"),
                            _P_example(_REL, _V), reference=_ref_expected_ndcg),
    "expected_ndcg_unordered_v": Metric(_E + "expected_ndcg", ("P", "gains", "exposure"),
                                        ("prob_matrix", "nonneg_vector", "nonneg_vector"),
                                        _P_example(_REL, _V_UNORDERED),
                                        reference=_ref_expected_ndcg),
    "expected_ndcg_default_v": Metric(_E + "expected_ndcg", ("P", "gains"),
                                      ("prob_matrix", "nonneg_vector"), _P_example(_REL),
                                      reference=_ref_expected_ndcg),
}


# ------------------------------------------------------------------ FA*IR (fair_star)
_STAR = "structpred.apps.fairness.fair_star:"
_SCORES = (0.9, 0.85, 0.8, 0.7, 0.65, 0.6, 0.5, 0.4, 0.3, 0.2)
_PROT = (False, False, True, False, False, False, True, False, True, True)
_PROT_LOW = (False, False, False, False, False, False, True, False, True, True)  # binds


def _binom_ppf(q, i, p):
    """The smallest x in 0..i with P(Binomial(i, p) <= x) >= q (summed term by term)."""
    cdf = 0.0
    for x in range(i + 1):
        cdf += math.comb(i, x) * p ** x * (1 - p) ** (i - x)
        if cdf >= q:
            return x
    return i


def _brute_mtable(k, p, alpha):
    return [max(0, _binom_ppf(alpha, i, p)) for i in range(1, k + 1)]


def _ref_mtable(args, kw):
    return np.array(_brute_mtable(*args))


def _ref_fail_exact(args, kw):
    """P(some prefix i holds fewer than m(i) protected), summed over all 2^k patterns."""
    m, p = list(args[0]), args[1]
    total = 0.0
    for pattern in itertools.product((0, 1), repeat=len(m)):
        counts = list(itertools.accumulate(pattern))
        if any(c < need for c, need in zip(counts, m)):
            total += p ** sum(pattern) * (1 - p) ** (len(m) - sum(pattern))
    return total


def _ref_is_fair(args, kw):
    counts = list(itertools.accumulate(int(b) for b in args[0]))
    return all(c >= need for c, need in zip(counts, _brute_mtable(len(counts), *args[1:3])))


def _ref_fair_top_k(args, kw):
    """FA*IR's greedy (Zehlike et al. 2017, Alg. 2): the best remaining candidate, except a
    protected one whenever the prefix would fall below m(i)."""
    scores, prot, k, p, alpha = list(args[0]), list(args[1]), *args[2:5]
    m = _brute_mtable(k, p, alpha)
    P = sorted((i for i in range(len(scores)) if prot[i]), key=lambda i: -scores[i])
    N = sorted((i for i in range(len(scores)) if not prot[i]), key=lambda i: -scores[i])
    out = []
    for i in range(k):
        taken = sum(1 for j in out if prot[j])
        if taken < m[i] or (P and (not N or scores[P[0]] >= scores[N[0]])):
            out.append(P.pop(0))
        else:
            out.append(N.pop(0))
    return np.array(out)


#: fairsearch's published numbers for k = 20, p = 0.25, alpha = 0.1 (fairsearch-fair-python,
#: the FA*IR authors' library; quoted in fair_star's docstring): the fail probability of the
#: unadjusted mtable and of the mtable at the adjusted significance.
_FAIRSEARCH_FAIL = 0.11517506930977106
_FAIRSEARCH_ADJUSTED_FAIL = 0.10515247355215251

_STAR_MEASURES = {
    "mtable": Metric(_STAR + "mtable", ("k", "p", "alpha"), ("count", "open_probability",
                                                             "alpha"),
                     lambda: ([10, 0.3, 0.1], {}), value_range=_INF, reference=_ref_mtable),
    "fail_probability_exact": Metric(
        _STAR + "fail_probability", ("m", "p"), ("mtable", "open_probability"),
        lambda: ([np.array(_brute_mtable(8, 0.5, 0.1)), 0.5], {"method": "exact"}),
        reference=_ref_fail_exact),
    "fail_probability_fairsearch": Metric(
        _STAR + "fail_probability", ("m", "p"), ("mtable", "open_probability"),
        lambda: ([np.array(_brute_mtable(20, 0.25, 0.1)), 0.25], {}),
        reference=lambda a, k: _FAIRSEARCH_FAIL),
    "adjusted_alpha": Metric(_STAR + "adjusted_alpha", ("k", "p", "alpha"),
                             ("count", "open_probability", "alpha"),
                             lambda: ([20, 0.25, 0.1], {}), value_range=_INF,
                             reference=lambda a, k: {1: _FAIRSEARCH_ADJUSTED_FAIL}),
    "adjusted_mtable": Metric(_STAR + "adjusted_mtable", ("k", "p", "alpha"),
                              ("count", "open_probability", "alpha"),
                              lambda: ([20, 0.25, 0.1], {}), value_range=_INF),
    "is_fair": Metric(_STAR + "is_fair", ("protected", "p", "alpha"),
                      ("flags_k", "open_probability", "alpha"),
                      lambda: ([np.array(_PROT), 0.3, 0.1], {"adjust": False}),
                      reference=_ref_is_fair),
    "fair_top_k": Metric(_STAR + "fair_top_k", ("scores", "protected", "k", "p", "alpha"),
                         ("scores", "flags", "top_k", "open_probability", "alpha"),
                         lambda: ([np.array(_SCORES), np.array(_PROT_LOW), 6, 0.6, 0.1],
                                  {"adjust": False}),
                         value_range=_INF, reference=_ref_fair_top_k),
}
MEASURES.update(_STAR_MEASURES)


# ------------------------------------------------------------------ the fair-ranking LP (lp)
_LP = "structpred.apps.fairness.lp:"


def _best_utility(u, v):
    """max over all rankings of Σ_j u[order[j]] v[j] (every permutation enumerated)."""
    return max(sum(u[i] * v[j] for j, i in enumerate(order))
               for order in itertools.permutations(range(len(u))))


def _ref_lp_unconstrained(args, kw):
    u = list(args[0])
    best = _best_utility(u, _dcg_v(len(u)))
    return {"utility": best, "unconstrained_utility": best, "price_of_fairness": 0.0, "gap": 0.0}


def _ref_lp_parity(args, kw):
    """The same LP written from the definitions in cvxpy (an independent solver), the
    unconstrained optimum by enumerating every ranking."""
    import cvxpy as cp
    u, g = np.asarray(args[0], dtype=float), np.asarray(args[1])
    v = np.asarray(args[3], dtype=float) if len(args) > 3 and args[3] is not None \
        else np.array(_dcg_v(len(u)))
    tol = args[4] if len(args) > 4 else 0.0
    n = len(u)
    P = cp.Variable((n, n), nonneg=True)
    f = [cp.sum(P[g == k, :] @ v) / (g == k).sum() for k in np.unique(g)]
    cons = [cp.sum(P, axis=0) == 1, cp.sum(P, axis=1) == 1] + \
        [a - b <= tol for a in f for b in f]
    prob = cp.Problem(cp.Maximize(u @ P @ v), cons)
    prob.solve(solver="CLARABEL")
    best = _best_utility(list(u), list(v))
    return {"utility": prob.value, "unconstrained_utility": best,
            "price_of_fairness": 1.0 - prob.value / best}


def _ref_group_functionals(args, kw):
    constraint, merit, groups, v = args[0], list(args[1]), list(args[2]), list(args[3])
    labels = sorted(set(groups))
    n = len(merit)
    F = np.zeros((len(labels), n, n))
    for k, lab in enumerate(labels):
        members = [i for i in range(n) if groups[i] == lab]
        total = sum(merit[i] for i in members)
        for i in members:
            a = {"demographic_parity": 1.0 / len(members), "disparate_treatment": 1.0 / total,
                 "disparate_impact": merit[i] / total}[constraint]
            for j in range(n):
                F[k, i, j] = a * v[j]
    return F


_LP_MEASURES = {
    "fair_ranking_lp_unconstrained": Metric(_LP + "fair_ranking_lp", ("relevance",),
                                            ("nonneg_vector",), _ex(_REL), value_range=_INF,
                                            reference=_ref_lp_unconstrained),
    "fair_ranking_lp_parity": Metric(
        _LP + "fair_ranking_lp", ("relevance", "groups", "constraint", "exposure", "tolerance"),
        ("nonneg_vector", "groups", "constraint", "nonneg_vector", "nonneg_real"),
        lambda: ([np.array(_REL), np.array(_GROUPS), "demographic_parity", np.array(_V), 0.0],
                 {}), value_range=_INF, reference=_ref_lp_parity, rtol=1e-6),
    "group_functionals": Metric(_LP + "group_functionals", ("constraint", "merit", "groups", "v"),
                                ("constraint", "nonneg_vector", "groups", "nonneg_vector"),
                                lambda: (["disparate_impact", np.array(_REL), np.array(_GROUPS),
                                          np.array(_V)], {}),
                                value_range=_INF, reference=_ref_group_functionals),
    "birkhoff_von_neumann": Metric(_LP + "birkhoff_von_neumann", ("P",), ("prob_matrix",),
                                   lambda: ([_P()], {}), value_range=_INF),
}
MEASURES.update(_LP_MEASURES)

# ------------------------------------------------------------------ the news simulation (dynamic)
def _ref_group_unfairness(args, kw):
    """Mean over pairs of groups of |mean_G(x)/mean_G(R) - mean_G'(x)/mean_G'(R)|, by loops."""
    x, R, g = list(args[0]), list(args[1]), list(args[2])
    ratio = [a / b for a, b in zip(_by_group(x, g), _by_group(R, g))]
    pairs = [abs(ratio[a] - ratio[b]) for a in range(len(ratio))
             for b in range(a + 1, len(ratio))]
    return sum(pairs) / len(pairs)


_DYN = "structpred.apps.fairness.dynamic:"
MEASURES["group_unfairness"] = Metric(
    _DYN + "group_unfairness", ("per_item", "merit", "groups"),
    ("nonneg_vector", "nonneg_vector", "groups"), _ex(_EXPO, _REL, _GROUPS), value_range=_INF,
    reference=_ref_group_unfairness)
# the decomposition with its two thresholds poisoned (NaN or 1 for ``zero`` would silently leave
# it empty): the battery's nonneg_real cases for both
MEASURES["birkhoff_von_neumann_thresholds"] = Metric(
    _LP + "birkhoff_von_neumann", ("P", "atol", "zero"),
    ("prob_matrix", "nonneg_real", "nonneg_real"), lambda: ([_P(), 1e-8, 1e-13], {}),
    value_range=_INF)

#: Modules whose every public function must be registered above, and the exceptions.
COVERS = {_MOD: {}, "structpred.apps.fairness.fair_star": {},
          "structpred.apps.fairness.lp": {
              "CONSTRAINTS": "the names of the constraint families (a tuple, not a function)",
              "FairLPResult": "the result type of fair_ranking_lp",
              "BvNSampler": "a sampler class built on birkhoff_von_neumann (registered)"}}
