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
all queries, of their 1-based rank.
"""
from __future__ import annotations

import numpy as np

__all__ = ["ranked_grades", "dcg", "ndcg", "ndcg_per_query", "average_precision",
           "mean_average_precision", "err", "average_relevant_rank"]


def ranked_grades(y, s) -> np.ndarray:
    """Grades of one query in the order of descending score (ties: document order)."""
    y = np.asarray(y, dtype=np.float64).ravel()
    s = np.asarray(s, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"{s.shape[0]} scores for a query of {y.shape[0]} documents")
    return y[np.argsort(-s, kind="stable")]


def _check(Y, S):
    if len(Y) != len(S):
        raise ValueError(f"{len(S)} score arrays for {len(Y)} queries")


def dcg(grades_in_order, k: int, convention: str = "letor") -> float:
    """DCG@k of grades listed in ranked order."""
    g = np.asarray(grades_in_order, dtype=np.float64)[:k]
    p = np.arange(1, g.shape[0] + 1)
    if convention == "letor":
        disc = np.where(p <= 2, 1.0, 1.0 / np.log2(np.maximum(p, 2)))
    elif convention == "standard":
        disc = 1.0 / np.log2(1.0 + p)
    else:
        raise ValueError(f"convention must be 'letor' or 'standard', got {convention!r}")
    return float(np.sum((2.0 ** g - 1.0) * disc))


def ndcg_per_query(Y, S, k: int = 10, convention: str = "letor", no_relevant=0.0) -> np.ndarray:
    """NDCG@k of each query (NaN for a skipped query); see the module docstring."""
    _check(Y, S)
    out = np.empty(len(Y))
    for q, (y, s) in enumerate(zip(Y, S)):
        ranked = ranked_grades(y, s)
        ideal = dcg(np.sort(ranked)[::-1], k, convention)
        if convention == "letor" and ranked.shape[0] < k:
            out[q] = 0.0
        elif ideal == 0:
            out[q] = np.nan if convention == "standard" and no_relevant == "skip" else (
                0.0 if convention == "letor" else float(no_relevant))
        else:
            out[q] = dcg(ranked, k, convention) / ideal
    return out


def ndcg(Y, S, k: int = 10, convention: str = "letor", no_relevant=0.0) -> float:
    """Mean NDCG@k over the queries (skipped ones left out)."""
    v = ndcg_per_query(Y, S, k, convention, no_relevant)
    return float(np.nanmean(v)) if np.any(~np.isnan(v)) else float("nan")


def average_precision(y, s, relevant: float = 1) -> float:
    """AP of one query (0 without relevant documents)."""
    rel = ranked_grades(y, s) >= relevant
    if not rel.any():
        return 0.0
    hits = np.cumsum(rel)
    return float(np.mean(hits[rel] / (np.flatnonzero(rel) + 1)))


def mean_average_precision(Y, S, relevant: float = 1) -> float:
    """MAP over the queries (LETOR: queries without relevant documents count 0)."""
    _check(Y, S)
    return float(np.mean([average_precision(y, s, relevant) for y, s in zip(Y, S)]))


def err(Y, S, k: int | None = None, max_grade: float | None = None) -> float:
    """Mean ERR@k (all positions when k is None); max_grade defaults to the largest grade in Y."""
    _check(Y, S)
    if max_grade is None:
        max_grade = max(float(np.max(y)) for y in Y)
    vals = []
    for y, s in zip(Y, S):
        g = ranked_grades(y, s)[:k]
        R = (2.0 ** g - 1.0) / 2.0 ** max_grade
        not_before = np.concatenate([[1.0], np.cumprod(1.0 - R)[:-1]])
        vals.append(float(np.sum(R * not_before / np.arange(1, g.shape[0] + 1))))
    return float(np.mean(vals))


def average_relevant_rank(Y, S, relevant: float = 1) -> float:
    """Mean 1-based rank of the relevant documents (grade >= relevant), pooled over queries."""
    _check(Y, S)
    total, count = 0.0, 0
    for y, s in zip(Y, S):
        pos = np.flatnonzero(ranked_grades(y, s) >= relevant) + 1
        total += pos.sum()
        count += pos.size
    return total / count if count else float("nan")
