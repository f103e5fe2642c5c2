"""K-fold cross-validation over queries: the trained ranker and every baseline scored by the
same code (mean weighted subtopic loss per fold), plus training time and oracle speed."""
from __future__ import annotations

import time

import numpy as np

from ...metrics.subtopics import weighted_subtopic_loss
from . import baselines as B
from .ranker import DiversifiedRanker

__all__ = ["cross_validate", "format_table", "METHODS"]

METHODS = ("svm-div (ours)", "random", "engine order", "bm25 top-k", "unweighted coverage",
           "mmr (tf-idf, λ=0.5)", "oracle (greedy on labels)")


def _baseline_rankings(data, idx, k, seed, stats=None):
    """Every baseline's ranking of the queries ``idx``. BM25 uses collection statistics
    (``stats``: every document of the data set, label-free), MMR the candidate set's."""
    rng = np.random.default_rng(seed)
    out = {m: [] for m in METHODS[1:]}
    for i in idx:
        docs = data.documents[i]
        n = len(docs)
        ranks = data.ranks[i] if data.ranks is not None else np.arange(1, n + 1)
        # random: expected loss over 20 draws (stored as a list of rankings)
        out["random"].append([B.random_subset(n, k, rng) for _ in range(20)])
        out["engine order"].append(B.engine_order(ranks, k))
        out["bm25 top-k"].append(B.bm25_topk(data.queries[i], docs, k, stats=stats))
        out["unweighted coverage"].append(B.unweighted_coverage(docs, k))
        out["mmr (tf-idf, λ=0.5)"].append(B.mmr(data.queries[i], docs, k))
        out["oracle (greedy on labels)"].append(B.oracle_greedy(data.topics[i], k))
    return out


def _loss(T, ranking):
    if isinstance(ranking, list):
        return float(np.mean([weighted_subtopic_loss(T, r) for r in ranking]))
    return weighted_subtopic_loss(T, ranking)


def cross_validate(data, k: int = 5, n_folds: int = 4, seed: int = 0, ranker_params=None,
                   log=None) -> dict:
    """Per-fold mean weighted subtopic loss of the ranker and the baselines.

    Folds: a seeded permutation of the queries split into ``n_folds`` parts. The ranker's C
    is chosen by inner CV on each training part only. Queries with no labelled subtopic are
    left out of the evaluation (their loss is 0 whatever is chosen).
    Returns {"folds": [{method: loss}], "mean": {method: loss}, "fit_time": [s],
    "oracle_calls": [int], "oracle_time": [s], "C": [float], "n_queries": int}.
    """
    params = dict(ranker_params or {})
    params.setdefault("k", k)
    stats = B.TermStats.from_documents(data.documents)
    usable = np.array([i for i, T in enumerate(data.topics) if T.any()])
    rng = np.random.default_rng(seed)
    folds = np.array_split(usable[rng.permutation(usable.size)], n_folds)
    res = {"folds": [], "fit_time": [], "oracle_calls": [], "oracle_time": [], "C": [],
           "n_iter": [], "n_queries": int(usable.size), "cv_results": []}
    for f, test in enumerate(folds):
        train = np.setdiff1d(usable, test)
        pick = lambda seq, idx: None if seq is None else [seq[i] for i in idx]  # noqa: E731
        t0 = time.perf_counter()
        ranker = DiversifiedRanker(**params).fit(pick(data.queries, train),
                                                 pick(data.documents, train),
                                                 pick(data.topics, train), pick(data.ranks, train))
        res["fit_time"].append(time.perf_counter() - t0)
        res["oracle_calls"].append(int(ranker.svm_.n_oracle_calls_))
        res["oracle_time"].append(float(ranker.svm_.timings_.get("oracle", np.nan)))
        res["C"].append(ranker.C_)
        res["n_iter"].append(int(ranker.svm_.n_iter_))
        res["cv_results"].append(dict(ranker.cv_results_))
        preds = ranker.rank_many(pick(data.queries, test), pick(data.documents, test),
                                 pick(data.ranks, test))
        fold = {METHODS[0]: float(np.mean([_loss(data.topics[i], p)
                                           for i, p in zip(test, preds)]))}
        for m, rankings in _baseline_rankings(data, test, k, seed + 1000 * f, stats).items():
            fold[m] = float(np.mean([_loss(data.topics[i], r) for i, r in zip(test, rankings)]))
        res["folds"].append(fold)
        if log:
            log(f"fold {f + 1}/{n_folds}: C={ranker.C_} ours={fold[METHODS[0]]:.4f} "
                f"engine={fold['engine order']:.4f} fit={res['fit_time'][-1]:.1f}s")
    res["mean"] = {m: float(np.mean([fo[m] for fo in res["folds"]])) for m in METHODS}
    return res


def format_table(res: dict, title: str) -> str:
    """Markdown table: one row per method, per-fold losses and the mean."""
    n_f = len(res["folds"])
    head = "| method | " + " | ".join(f"fold {i + 1}" for i in range(n_f)) + " | mean |"
    lines = [f"### {title}", "", head, "|" + "---|" * (n_f + 2)]
    for m in METHODS:
        cells = " | ".join(f"{fo[m]:.3f}" for fo in res["folds"])
        name = f"**{m}**" if m == METHODS[0] else m
        lines.append(f"| {name} | {cells} | {res['mean'][m]:.3f} |")
    return "\n".join(lines)
