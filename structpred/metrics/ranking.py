"""Ranking metrics over a list of queries: NDCG@k, MAP, ERR, average rank of relevant documents.

Every function takes ``Y`` (per-query arrays of grades) and ``S`` (per-query score arrays of
the same lengths) and ranks each query's documents by descending score, ties broken by
document order (a stable sort, as LETOR's Eval-Score-4.0.pl does with its line order).

NDCG, ``convention="letor"`` (the default; what LETOR 4.0's Eval-Score-4.0.pl computes):
gain 2^g - 1, discount 1 at positions 1 and 2 and 1/log2(p) from position 3 on, NDCG = 0 for a
query whose ideal DCG is 0 (**no relevant document: NDCG 0**), and NDCG@k = 0 for a query
with fewer than k documents (the script fills NDCG only up to the query's length and sums the
missing positions as 0). ``convention="standard"``: gain 2^g - 1, discount 1/log2(1 + p),
NDCG@k over the min(k, m) first positions, and ``no_relevant`` (default 0; 1 or
"skip" elsewhere, e.g. LightGBM counts such queries as 1) for queries without a relevant
document.

MAP (LETOR): a document is relevant when its grade >= ``relevant`` (1); AP = mean over the
relevant documents of precision at their rank; AP = 0 for a query without relevant documents.
ERR (Chapelle et al. 2009): R = (2^g - 1) / 2^g_max, ERR = Σ_r (1/r) R_r Π_{i<r} (1 - R_i).
Average relevant rank (Joachims et al. WSDM 2017): the mean, over all relevant documents of
all queries, of their 1-based rank; undefined (InvalidInputError naming Y and ``relevant``,
not NaN) when no document of any query is relevant.

Inputs are checked at the boundary (:mod:`structpred.boundary`): grades finite and >= 0,
scores finite, one score per document, k an integer >= 1, at least one query, Y and S
sequences of per-query arrays (a dict, whose iteration gives its keys, or a set is refused);
anything else raises InvalidInputError naming the argument and query. Gains are computed relative to the
query's largest grade (2^(g - g_max) - 2^-g_max), so grades beyond 1023 (where 2^g overflows
float64) give the exact NDCG instead of inf/inf; ``dcg`` itself refuses such grades.
"""
from __future__ import annotations

from collections.abc import Mapping, Set

import numpy as np

from ..boundary.arrays import check_grades, check_scores, check_same_length
from ..boundary.params import check_choice, check_int, check_real
from ..errors import InvalidInputError

__all__ = ["ranked_grades", "dcg", "ndcg", "ndcg_per_query", "average_precision",
           "mean_average_precision", "err", "average_relevant_rank"]


#: Largest grade ``dcg`` takes: 2^g - 1 is finite in float64 up to g = 1023.
MAX_DCG_GRADE = 1023.0
_CONVENTIONS = ("letor", "standard")


def _query(y, s, q=None):
    """(grades, scores) of one query, checked: grades finite >= 0, one finite score each."""
    where = "" if q is None else f"[{q}]"
    g = check_grades(np.ravel(y) if np.ndim(y) == 0 else y, f"Y{where} (grades)", index=q)
    sc = check_scores(np.ravel(s) if np.ndim(s) == 0 else s, f"S{where} (scores)", g.shape[0],
                      index=q)
    return g, sc


def ranked_grades(y, s) -> np.ndarray:
    """Grades of one query in the order of descending score (ties: document order)."""
    g, sc = _query(y, s)
    return g[np.argsort(-sc, kind="stable")]


def _ranked(Y, S):
    """Ranked grades of every query (the inputs checked once, naming the query)."""
    for name, v in (("Y", Y), ("S", S)):
        if isinstance(v, (Mapping, Set, str, bytes)):
            raise InvalidInputError(f"{name} must be a sequence of per-query arrays (a list), "
                                    f"got a {type(v).__name__} (iterating it gives its keys)")
    n = check_same_length(Y, S, "Y (grades per query)", "S (scores per query)")
    if n == 0:
        raise InvalidInputError("Y has no queries: a mean over no query is undefined")
    out = []
    for q, (y, s) in enumerate(zip(Y, S)):
        g, sc = _query(y, s, q)
        out.append(g[np.argsort(-sc, kind="stable")])
    return out


def _discounts(n, convention):
    p = np.arange(1, n + 1)
    if convention == "letor":
        return np.where(p <= 2, 1.0, 1.0 / np.log2(np.maximum(p, 2)))
    return 1.0 / np.log2(1.0 + p)


def _scaled_dcg(g, k, convention, top):
    """DCG@k / 2^top (gains 2^(g - top) - 2^-top): finite for any grade."""
    g = g[:k]
    gains = np.exp2(g - top) - np.exp2(-top)
    return float(np.sum(gains * _discounts(g.shape[0], convention)))


def dcg(grades_in_order, k: int, convention: str = "letor") -> float:
    """DCG@k = Σ_{p<=k} (2^g_p - 1) d_p of grades listed in ranked order (grades in
    [0, MAX_DCG_GRADE]: beyond it 2^g overflows; ndcg has no such limit)."""
    k = check_int(k, "k", 1)
    convention = check_choice(convention, "convention", _CONVENTIONS)
    g = check_grades(grades_in_order, "grades_in_order", max_grade=MAX_DCG_GRADE)[:k]
    return float(np.sum((np.exp2(g) - 1.0) * _discounts(g.shape[0], convention)))


def _no_relevant_value(convention, no_relevant):
    if convention == "letor":
        return 0.0
    if isinstance(no_relevant, str):
        check_choice(no_relevant, "no_relevant", ("skip",))
        return None
    return check_real(no_relevant, "no_relevant", 0.0, 1.0)


def ndcg_per_query(Y, S, k: int = 10, convention: str = "letor", no_relevant=0.0) -> np.ndarray:
    """NDCG@k of each query (NaN only for a query skipped by ``no_relevant="skip"``); see
    the module docstring."""
    k = check_int(k, "k", 1)
    convention = check_choice(convention, "convention", _CONVENTIONS)
    fill = _no_relevant_value(convention, no_relevant)
    ranked_all = _ranked(Y, S)
    out = np.empty(len(ranked_all))
    for q, ranked in enumerate(ranked_all):
        top = float(ranked.max()) if ranked.size else 0.0
        ideal = _scaled_dcg(np.sort(ranked)[::-1], k, convention, top)
        if convention == "letor" and ranked.shape[0] < k:
            out[q] = 0.0
        elif ideal == 0:
            out[q] = np.nan if fill is None else fill
        else:
            out[q] = min(1.0, _scaled_dcg(ranked, k, convention, top) / ideal)
    return out


def ndcg(Y, S, k: int = 10, convention: str = "letor", no_relevant=0.0) -> float:
    """Mean NDCG@k over the queries; only queries skipped by ``no_relevant="skip"`` are left
    out (NaN when all are)."""
    v = ndcg_per_query(Y, S, k, convention, no_relevant)
    kept = ~np.isnan(v)
    return float(np.mean(v[kept])) if kept.any() else float("nan")


def average_precision(y, s, relevant: float = 1) -> float:
    """AP of one query (0 without relevant documents)."""
    relevant = check_real(relevant, "relevant")
    rel = ranked_grades(y, s) >= relevant
    if not rel.any():
        return 0.0
    hits = np.cumsum(rel)
    return float(np.mean(hits[rel] / (np.flatnonzero(rel) + 1)))


def mean_average_precision(Y, S, relevant: float = 1) -> float:
    """MAP over the queries (LETOR: queries without relevant documents count 0)."""
    relevant = check_real(relevant, "relevant")
    vals = []
    for ranked in _ranked(Y, S):
        rel = ranked >= relevant
        hits = np.cumsum(rel)
        vals.append(float(np.mean(hits[rel] / (np.flatnonzero(rel) + 1))) if rel.any() else 0.0)
    return float(np.mean(vals))


def err(Y, S, k: int | None = None, max_grade: float | None = None) -> float:
    """Mean ERR@k (all positions when k is None), in [0, 1]: R = (2^g - 1) / 2^max_grade,
    ERR = Σ_r (1/r) R_r Π_{i<r} (1 - R_i). ``max_grade`` defaults to the largest grade in Y;
    a grade above a given max_grade is refused (R would exceed 1)."""
    ranked_all = _ranked(Y, S)
    if k is not None:
        k = check_int(k, "k", 1)
    top = max(float(r.max()) if r.size else 0.0 for r in ranked_all)
    if max_grade is None:
        max_grade = top
    max_grade = check_real(max_grade, "max_grade", 0.0)
    if top > max_grade:
        raise InvalidInputError(f"max_grade={max_grade:g} is below the largest grade in Y "
                                f"({top:g}): R = (2^g - 1)/2^max_grade would exceed 1")
    vals = []
    for ranked in ranked_all:
        g = ranked[:k]
        R = np.exp2(g - max_grade) - np.exp2(-max_grade)
        not_before = np.concatenate([[1.0], np.cumprod(1.0 - R)[:-1]])
        vals.append(float(np.sum(R * not_before / np.arange(1, g.shape[0] + 1))))
    return float(np.mean(vals))


def average_relevant_rank(Y, S, relevant: float = 1) -> float:
    """Mean 1-based rank of the relevant documents (grade >= relevant), pooled over queries:
    Σ_q Σ_{d relevant} rank_q(d) / #relevant, in [1, inf). InvalidInputError naming Y and
    ``relevant`` when no document of any query is relevant (the mean is then undefined)."""
    relevant = check_real(relevant, "relevant")
    total, count = 0.0, 0
    for ranked in _ranked(Y, S):
        pos = np.flatnonzero(ranked >= relevant) + 1
        total += pos.sum()
        count += pos.size
    if not count:
        raise InvalidInputError(f"Y: no document of any query has a grade >= relevant "
                                f"({relevant:g}), so the average rank of relevant documents is "
                                "undefined")
    return total / count
