"""Baselines for diverse subset selection, each returning a ranking of min(k, n) indices.

* ``random_subset``: k documents uniformly at random.
* ``engine_order``: the search engine's top k (smallest rank first).
* ``bm25_topk``: top k by Okapi BM25 (Robertson, Walker, Jones, Hancock-Beaulieu & Gatford,
  "Okapi at TREC-3", 1994; Robertson & Zaragoza 2009, eq. 3.15) of title + snippet:
  Σ_{t ∈ q} qtf_t · IDF_t · tf (k1 + 1) / (tf + k1 (1 - b + b dl / avgdl)), k1 = 1.2,
  b = 0.75, the Robertson/Spärck Jones IDF log((N - df + 0.5) / (df + 0.5)) (k3 → ∞, so a
  query term counts qtf times). N, df and avgdl are collection statistics: pass
  ``stats=TermStats.from_documents(all candidate sets)``. Without it they come from the
  candidate set alone, where the query's own terms occur in most documents and the RSJ
  weight turns negative (ranking documents *without* the query words first), so then the
  non-negative form log(1 + (N - df + 0.5) / (df + 0.5)) is used (Lucene's). On AMBIENT:
  mean weighted subtopic loss 0.475 with collection statistics, 0.699 with RSJ on the
  candidate set, 0.475 with the non-negative form. Ties by list order.
* ``unweighted_coverage``: greedy, each step the document adding the most distinct new words
  (all words weigh 1; ties by list order).
* ``mmr``: Maximal Marginal Relevance (Carbonell & Goldstein, SIGIR 1998):
  argmax_{d ∉ S} λ sim(d, q) - (1 - λ) max_{s ∈ S} sim(d, s), λ = 0.5, sim = cosine of
  tf-idf vectors with the classic weight tf · log(N / df) (Salton & Buckley 1988), N and df
  from ``stats`` or, by default, from the candidate set (the retrieved set R that MMR
  re-ranks); the first pick is the most relevant document. On AMBIENT: 0.428 with
  candidate-set statistics, 0.457 with collection statistics (the former variant, IDF
  log(N / df) + 1, gave 0.453).
* ``oracle_greedy``: greedy weighted subtopic cover on the true labels (the practical floor).

Documents are what ``DiversityFeaturizer.transform`` accepts (strings, dicts, tuples); the
text baselines read the title and snippet only.
"""
from __future__ import annotations

import numpy as np

from ...metrics.subtopics import greedy_subtopic_cover
from ...tasks.diversity.features import document_fields, tokenize

__all__ = ["random_subset", "engine_order", "bm25_topk", "bm25_scores", "unweighted_coverage",
           "mmr", "tfidf_matrix", "oracle_greedy", "TermStats", "BASELINES"]


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


class TermStats:
    """Collection statistics for BM25 and tf-idf: N documents, document frequency per term,
    average document length (tokens of title + snippet, as the baselines read them)."""

    def __init__(self, n_docs: int, df: dict, avg_len: float):
        self.n_docs = int(n_docs)
        self.df = dict(df)
        self.avg_len = float(avg_len)

    @classmethod
    def from_documents(cls, candidate_sets) -> "TermStats":
        """Statistics over every document of every candidate set (a list of document lists).
        Label-free: using the test queries' documents too is what an index would hold."""
        df, n, total = {}, 0, 0
        for docs in candidate_sets:
            for toks in _tokens(list(docs)):
                n += 1
                total += len(toks)
                for w in set(toks):
                    df[w] = df.get(w, 0) + 1
        return cls(n, df, total / n if n else 1.0)

    def document_frequency(self, term: str) -> int:
        """Number of documents of the collection that contain ``term`` (0 for an unknown term)."""
        return self.df.get(term, 0)


def _local_stats(toks) -> TermStats:
    df = {}
    for t in toks:
        for w in set(t):
            df[w] = df.get(w, 0) + 1
    n = len(toks)
    return TermStats(n, df, sum(len(t) for t in toks) / n if n else 1.0)


def bm25_scores(query: str, documents, k1: float = 1.2, b: float = 0.75,
                stats: TermStats | None = None) -> np.ndarray:
    """Okapi BM25 score of each document against the query (see the module docstring)."""
    toks = _tokens(documents)
    collection = stats is not None
    stats = stats or _local_stats(toks)
    lengths = np.array([len(t) for t in toks], dtype=np.float64)
    avg = stats.avg_len if stats.avg_len > 0 else 1.0
    N = stats.n_docs
    qtf: dict = {}
    for w in tokenize(query or ""):
        qtf[w] = qtf.get(w, 0) + 1
    scores = np.zeros(len(toks))
    for term, count in qtf.items():
        tf = np.array([t.count(term) for t in toks], dtype=np.float64)
        df = stats.document_frequency(term)
        ratio = (N - df + 0.5) / (df + 0.5)
        idf = np.log(ratio) if collection else np.log1p(ratio)
        scores += count * idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths / avg))
    return scores


def bm25_topk(query: str, documents, k: int, k1: float = 1.2, b: float = 0.75,
              stats: TermStats | None = None) -> np.ndarray:
    """Top k documents by BM25 (ties by list order)."""
    docs, kk = _check(documents, k)
    return np.argsort(-bm25_scores(query, docs, k1, b, stats), kind="stable")[:kk].astype(np.int64)


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


def tfidf_matrix(query: str, documents, stats: TermStats | None = None):
    """L2-normalised tf-idf rows for the documents and the query, weight tf · log(N / df)
    (Salton & Buckley 1988) with N, df from ``stats`` or from the candidate set."""
    toks = _tokens(documents)
    stats = stats or _local_stats(toks)
    vocab: dict = {}
    for t in toks:
        for w in t:
            vocab.setdefault(w, len(vocab))
    n, V = len(toks), len(vocab)
    M = np.zeros((n, V))
    for i, t in enumerate(toks):
        for w in t:
            M[i, vocab[w]] += 1
    terms = sorted(vocab, key=vocab.get)
    df = np.array([max(stats.document_frequency(w), 1) for w in terms], dtype=np.float64)
    idf = np.log(max(stats.n_docs, 1) / df)
    M *= idf
    qv = np.zeros(V)
    for w in tokenize(query or ""):
        if w in vocab:
            qv[vocab[w]] += idf[vocab[w]]
    norms = np.linalg.norm(M, axis=1, keepdims=True)
    M = np.divide(M, norms, out=np.zeros_like(M), where=norms > 0)
    qn = np.linalg.norm(qv)
    return M, (qv / qn if qn > 0 else qv)


def mmr(query: str, documents, k: int, lam: float = 0.5,
        stats: TermStats | None = None) -> np.ndarray:
    """Maximal Marginal Relevance (Carbonell & Goldstein 1998) with tf-idf cosine
    similarities; ties by list order."""
    docs, kk = _check(documents, k)
    M, qv = tfidf_matrix(query, docs, stats)
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
