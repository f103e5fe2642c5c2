"""Exposure and fairness measures for rankings and ranking policies.

A ranking policy over n items is summarised by its rank-marginal matrix P (P[i, j] =
probability that item i is at rank j+1; doubly stochastic). With position exposure v
(v_j = 1/log2(1+j) by default, or a click model's propensities) and relevances u >= 0:

    exposure_i = (P v)_i                          expected clicks_i = u_i (P v)_i
    Exp(G) = mean_{i in G} exposure_i             U(G) = mean_{i in G} u_i
    demographic parity gap   = max_G Exp(G) - min_G Exp(G)
    disparate treatment gap  = max_G Exp(G)/U(G) - min_G Exp(G)/U(G)
    disparate impact gap     = max_G CTR(G)/U(G) - min_G CTR(G)/U(G),  CTR(G) = mean u_i exposure_i

(Singh & Joachims, KDD 2018). Individual disparity (Singh & Joachims, NeurIPS 2019):
(1/|H|) Σ_{(i,j) in H} max(0, exposure_i/u_i - exposure_j/u_j), H = {(i, j): u_i >= u_j > 0}.
Group disparity (same paper): max(0, Exp(G_hi)/U(G_hi) - Exp(G_lo)/U(G_lo)) for the two groups
ordered by merit U (G_hi the higher). A deterministic ranking is a permutation matrix; sampled
rankings give P's Monte-Carlo estimate (``exposure_from_samples`` adds its standard error).
"""
from __future__ import annotations

import numpy as np

from ...boundary.arrays import (check_finite_result, check_groups, check_permutation,
                                check_probability_matrix, check_vector)
from ...boundary.params import check_choice, check_int
from ...errors import MAX_ABS_FEATURE, InvalidInputError

#: Largest accepted exposure, relevance, gain or value (as for features: beyond it sums of
#: products overflow float64).
_BIG = MAX_ABS_FEATURE
#: Most items a ranking may have here: an n x n policy matrix of 2**14 items is 2 GiB.
MAX_ITEMS = 2 ** 14

__all__ = ["position_exposure", "ranking_matrix", "exposure_from_P", "exposure_from_ranking",
           "exposure_from_samples", "group_means", "fairness_gaps", "individual_disparity",
           "group_disparity", "expected_dcg", "expected_ndcg"]


def position_exposure(n: int, model: str = "log") -> np.ndarray:
    """v_j for ranks j = 1..n: ``"log"`` 1/log2(1+j) (DCG's discount), ``"inverse"`` 1/j."""
    n = check_int(n, "n", 1, 2 ** 28)
    model = check_choice(model, "model", ("log", "inverse"))
    r = np.arange(1, n + 1, dtype=np.float64)
    return 1.0 / np.log2(1.0 + r) if model == "log" else 1.0 / r


def ranking_matrix(order, n: int | None = None) -> np.ndarray:
    """The permutation matrix of a ranking given as item indices top first: P[order[j], j] = 1."""
    if n is not None:
        n = check_int(n, "n", 1, MAX_ITEMS)
    order = check_permutation(order, "order", n, min_length=1, max_length=MAX_ITEMS)
    n = order.shape[0]
    P = np.zeros((n, n))
    P[order, np.arange(n)] = 1.0
    return P


def _v(exposure, n):
    v = position_exposure(n) if exposure is None else check_vector(exposure, "exposure", low=0.0, high=_BIG)
    if v.shape[0] < n:
        raise InvalidInputError(f"exposure has {v.shape[0]} positions for {n} items (one "
                                "exposure per rank is needed)")
    return v[:n]


def exposure_from_P(P, exposure=None) -> np.ndarray:
    """Per-item exposure P v (exact for the policy P)."""
    P = check_probability_matrix(P, "P", doubly_stochastic=True)
    return P @ _v(exposure, P.shape[0])


def exposure_from_ranking(order, exposure=None) -> np.ndarray:
    """Per-item exposure of one deterministic ranking (item indices top first)."""
    order = check_permutation(order, "order", min_length=1)
    out = np.empty(order.shape[0])
    out[order] = _v(exposure, order.shape[0])
    return out


def exposure_from_samples(orders, exposure=None):
    """(mean, standard error) per item of the exposure over m sampled rankings (rows =
    rankings): mean_i = (1/m) Σ_s v_{rank_s(i)}, se_i = sd_i / √m with the sample standard
    deviation sd_i (ddof = 1). At least two rankings: InvalidInputError naming ``orders`` for
    one (its standard error is undefined; ``exposure_from_ranking`` gives one ranking's
    exposure)."""
    try:
        orders = np.asarray(orders)
    except (ValueError, TypeError):
        raise InvalidInputError("orders must be a (samples x items) array of rankings") from None
    if orders.ndim != 2 or orders.shape[0] < 1:
        raise InvalidInputError("orders must be a (samples x items) array of rankings, got "
                                f"shape {orders.shape}")
    if orders.shape[0] < 2:
        raise InvalidInputError("orders has 1 sampled ranking; the standard error needs at least "
                                "2 (exposure_from_ranking gives one ranking's exposure)")
    if orders.dtype.kind not in "iu" or not np.array_equal(
            np.sort(orders, axis=1), np.broadcast_to(np.arange(orders.shape[1]), orders.shape)):
        for s, o in enumerate(orders):   # the first row that is not a permutation, by name
            check_permutation(o, f"orders[{s}]")
    orders = orders.astype(np.int64)
    v = _v(exposure, orders.shape[1])
    e = np.empty(orders.shape, dtype=np.float64)
    np.put_along_axis(e, orders, np.broadcast_to(v, orders.shape), axis=1)
    return e.mean(axis=0), e.std(axis=0, ddof=1) / np.sqrt(e.shape[0])


def group_means(values, groups) -> np.ndarray:
    """Mean of ``values`` per group (groups sorted by label)."""
    values = check_vector(values, "values", low=-_BIG, high=_BIG, min_length=1)
    g, K = check_groups(groups, "groups", values.shape[0], min_groups=1, length_of="values")
    return np.bincount(g, weights=values, minlength=K) / np.bincount(g, minlength=K)


def fairness_gaps(item_exposure, relevance, groups) -> dict:
    """The three group gaps of Singh & Joachims (KDD 2018) for per-item exposures: demographic
    parity (exposure), disparate treatment (exposure per merit), disparate impact (expected
    clicks per merit); each max over groups minus min over groups (0 = fair). The two per-merit
    gaps are None when a group's mean merit is 0 (undefined). Keys: exposure, merit, clicks
    (per group, groups sorted by label), demographic_parity, disparate_treatment,
    disparate_impact."""
    e = check_vector(item_exposure, "item_exposure", low=0.0, high=_BIG, min_length=1)
    u = check_vector(relevance, "relevance", e.shape[0], low=0.0, high=_BIG,
                     length_of="item_exposure")
    g, K = check_groups(groups, "groups", e.shape[0], length_of="item_exposure")
    cnt = np.bincount(g, minlength=K)
    exp_g = np.bincount(g, weights=e, minlength=K) / cnt
    merit = np.bincount(g, weights=u, minlength=K) / cnt
    ctr = np.bincount(g, weights=u * e, minlength=K) / cnt
    out = {"exposure": exp_g, "merit": merit, "clicks": ctr,
           "demographic_parity": float(exp_g.max() - exp_g.min())}
    if np.all(merit > 0):
        with np.errstate(over="ignore", invalid="ignore"):
            t, i = exp_g / merit, ctr / merit
            gaps = float(t.max() - t.min()), float(i.max() - i.min())
        check_finite_result(gaps, "fairness_gaps: exposure per merit", "item_exposure / relevance")
        out["disparate_treatment"], out["disparate_impact"] = gaps
    else:   # a group with zero merit: exposure per merit is undefined (None, not a NaN that
        out["disparate_treatment"] = out["disparate_impact"] = None   # spreads silently)
    return out


def individual_disparity(item_exposure, relevance) -> float:
    """(1/|H|) Σ_{(i,j) in H} max(0, e_i/u_i - e_j/u_j), H = {(i, j): i != j, u_i >= u_j > 0}."""
    e = check_vector(item_exposure, "item_exposure", low=0.0, high=_BIG, min_length=1)
    u = check_vector(relevance, "relevance", e.shape[0], low=0.0, high=_BIG,
                     length_of="item_exposure")
    keep = u > 0
    with np.errstate(over="ignore", divide="ignore"):
        r, uu = e[keep] / u[keep], u[keep]
    check_finite_result(r, "individual_disparity: exposure / relevance", "item_exposure / relevance")
    H = (uu[:, None] >= uu[None, :]) & ~np.eye(uu.shape[0], dtype=bool)
    if not H.any():
        return 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        d = float(np.maximum(0.0, r[:, None] - r[None, :])[H].mean())
    return check_finite_result(d, "individual_disparity", "item_exposure / relevance")


def group_disparity(item_exposure, relevance, groups) -> float:
    """max(0, Exp(G_hi)/U(G_hi) - Exp(G_lo)/U(G_lo)) for exactly two groups ordered by merit
    (Fair-PG-Rank's group penalty; 0 when a group has merit 0)."""
    e = check_vector(item_exposure, "item_exposure", low=0.0, high=_BIG, min_length=1)
    u = check_vector(relevance, "relevance", e.shape[0], low=0.0, high=_BIG,
                     length_of="item_exposure")
    g, K = check_groups(groups, "groups", e.shape[0], length_of="item_exposure")
    if K != 2:
        raise InvalidInputError(f"groups: group disparity needs exactly two groups, got {K}")
    cnt = np.bincount(g, minlength=2)
    merit = np.bincount(g, weights=u, minlength=2) / cnt
    if np.any(merit <= 0):
        return 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        ratio = (np.bincount(g, weights=e, minlength=2) / cnt) / merit
        hi = int(np.argmax(merit))
        d = float(max(0.0, ratio[hi] - ratio[1 - hi]))
    return check_finite_result(d, "group_disparity", "item_exposure / relevance")


def expected_dcg(P, gains, exposure=None) -> float:
    """uᵀ P v: expected DCG of the policy P (exact) with gains u (e.g. 2^g - 1)."""
    u = check_vector(gains, "gains", low=0.0, high=_BIG, min_length=1)
    e = exposure_from_P(P, exposure)
    if u.shape[0] != e.shape[0]:
        raise InvalidInputError(f"gains has {u.shape[0]} entries for a {e.shape[0]} x "
                                f"{e.shape[0]} P (one gain per item, a row of P)")
    return float(u @ e)


def expected_ndcg(P, gains, exposure=None) -> float:
    """uᵀ P v / max over rankings of their DCG, (u sorted)ᵀ(v sorted), both decreasing (the
    rearrangement inequality; v need not decrease with the rank); exact; 0 when every gain
    is 0."""
    u = check_vector(gains, "gains", low=0.0, high=_BIG, min_length=1)
    ideal = float(np.sort(u)[::-1] @ np.sort(_v(exposure, u.shape[0]))[::-1])
    return expected_dcg(P, u, exposure) / ideal if ideal > 0 else 0.0

