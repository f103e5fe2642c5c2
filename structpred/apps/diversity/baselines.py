"""Baselines for diverse subset selection, each returning a ranking of min(k, n) indices.

* ``random_subset``: k documents uniformly at random.
* ``engine_order``: the search engine's top k (smallest rank first).
* ``bm25_topk``: top k by Okapi BM25 score of title + snippet against the query (k1 = 1.2,
  b = 0.75, IDF log(1 + (N - df + .5) / (df + .5)) over the candidate set); ties by list order.
* ``unweighted_coverage``: greedy, each step the document adding the most distinct new words
  (all words weigh 1; ties by list order).
* ``mmr``: Maximal Marginal Relevance (Carbonell & Goldstein 1998) on TF-IDF cosine:
  argmax_d λ sim(d, q) - (1 - λ) max_{s ∈ S} sim(d, s), λ = 0.5.
* ``oracle_greedy``: greedy weighted subtopic cover on the true labels (the practical floor).

Documents are what ``DiversityFeaturizer.transform`` accepts (strings, dicts, tuples); the
text baselines read the title and snippet only.
"""
from __future__ import annotations

import numpy as np

from ...metrics.subtopics import greedy_subtopic_cover
from ...tasks.diversity.features import document_fields, tokenize

__all__ = ["random_subset", "engine_order", "bm25_topk", "unweighted_coverage", "mmr",
           "oracle_greedy", "BASELINES"]


def _check(documents, k):
    docs = list(documents)
    if not docs:
        raise ValueError("empty candidate set")
    if int(k) < 1:
        raise ValueError(f"k must be >= 1, got {k!r}")
    return docs, min(int(k), len(docs))


def _tokens(documents):
    out = []
    for i, doc in enumerate(documents):
        title, snippet, _ = document_fields(doc, i)
        out.append(tokenize(title) + tokenize(snippet))
    return out


def random_subset(n: int, k: int, rng) -> np.ndarray:
    """k of n indices uniformly at random (``rng``: a numpy Generator or a seed)."""
    if n < 1:
        raise ValueError("empty candidate set")
    rng = np.random.default_rng(rng)
    return rng.choice(n, size=min(int(k), n), replace=False).astype(np.int64)


def engine_order(ranks, k: int) -> np.ndarray:
    """Indices of the k best engine ranks (rank 1 = top; ties by list order)."""
    r = np.asarray(ranks, dtype=np.float64).ravel()
    if r.size < 1:
        raise ValueError("empty candidate set")
    return np.argsort(r, kind="stable")[:min(int(k), r.size)].astype(np.int64)


def bm25_scores(query: str, documents, k1: float = 1.2, b: float = 0.75) -> np.ndarray:
    """Okapi BM25 score of each document against the query (IDF from the candidate set)."""
    toks = _tokens(documents)
    n = len(toks)
    lengths = np.array([len(t) for t in toks], dtype=np.float64)
    avg = lengths.mean() if lengths.mean() > 0 else 1.0
    q = set(tokenize(query or ""))
    scores = np.zeros(n)
    for term in q:
        tf = np.array([t.count(term) for t in toks], dtype=np.float64)
        df = np.count_nonzero(tf)
        idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5))
        scores += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths / avg))
    return scores


def bm25_topk(query: str, documents, k: int, k1: float = 1.2, b: float = 0.75) -> np.ndarray:
    """Top k documents by BM25 (ties by list order)."""
    docs, kk = _check(documents, k)
    return np.argsort(-bm25_scores(query, docs, k1, b), kind="stable")[:kk].astype(np.int64)


def unweighted_coverage(documents, k: int) -> np.ndarray:
    """Greedy: each step the document with the most words not yet covered."""
    docs, kk = _check(documents, k)
    sets = [set(t) for t in _tokens(docs)]
    covered, order = set(), []
    for _ in range(kk):
        gains = [-1 if i in order else len(s - covered) for i, s in enumerate(sets)]
        i = int(np.argmax(gains))
        order.append(i)
        covered |= sets[i]
    return np.asarray(order, dtype=np.int64)


def tfidf_matrix(query: str, documents):
    """L2-normalised TF-IDF rows for the documents and the query (IDF: log(N / df) + 1)."""
    toks = _tokens(documents)
    vocab = {}
    for t in toks:
        for w in t:
            vocab.setdefault(w, len(vocab))
    n, V = len(toks), len(vocab)
    M = np.zeros((n, V))
    for i, t in enumerate(toks):
        for w in t:
            M[i, vocab[w]] += 1
    df = np.count_nonzero(M, axis=0)
    idf = np.log(n / np.maximum(df, 1)) + 1.0
    M *= idf
    qv = np.zeros(V)
    for w in tokenize(query or ""):
        if w in vocab:
            qv[vocab[w]] += idf[vocab[w]]
    norms = np.linalg.norm(M, axis=1, keepdims=True)
    M = np.divide(M, norms, out=np.zeros_like(M), where=norms > 0)
    qn = np.linalg.norm(qv)
    return M, (qv / qn if qn > 0 else qv)


def mmr(query: str, documents, k: int, lam: float = 0.5) -> np.ndarray:
    """Maximal Marginal Relevance with TF-IDF cosine similarities."""
    docs, kk = _check(documents, k)
    M, qv = tfidf_matrix(query, docs)
    rel = M @ qv
    sim = M @ M.T
    order: list[int] = []
    for _ in range(kk):
        red = sim[:, order].max(axis=1) if order else np.zeros(len(docs))
        score = lam * rel - (1 - lam) * red
        score[order] = -np.inf
        order.append(int(np.argmax(score)))
    return np.asarray(order, dtype=np.int64)


def oracle_greedy(topics, k: int) -> np.ndarray:
    """Greedy weighted subtopic cover on the true labels."""
    return greedy_subtopic_cover(topics, k)


BASELINES = ("random", "engine", "bm25", "unweighted_coverage", "mmr", "oracle")
