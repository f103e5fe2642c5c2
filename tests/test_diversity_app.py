"""The diversity application (structpred.apps.diversity): fit(data) from the loaders' data
class, any hashable subtopic IDs, and the baselines checked against their published
formulas computed independently here."""
from __future__ import annotations

import math

import numpy as np
import pytest

from structpred.apps.diversity import DiversifiedRanker
from structpred.apps.diversity import baselines as B
from structpred.apps.diversity.ranker import topic_matrix
from structpred.datasets.diversity import DiversityData, make_synthetic_diversity
from structpred.metrics.subtopics import weighted_subtopic_loss

DOCS = [{"title": "Jaguar cars", "snippet": "luxury cars made by Jaguar in Coventry"},
        {"title": "Jaguar", "snippet": "the jaguar is a big cat of the Americas"},
        {"title": "Jaguar cat", "snippet": "big cat cat facts and pictures"},
        {"title": "Atari Jaguar", "snippet": "a video game console by Atari"},
        {"title": "Coventry", "snippet": "a city in England"}]


def _words(doc):
    from structpred.tasks.diversity import tokenize
    return tokenize(doc["title"]) + tokenize(doc["snippet"])


def test_bm25_matches_robertson_formula_with_collection_stats():
    extra = [[{"title": "cars", "snippet": "car dealers"}, {"title": "cats", "snippet": "pets"}]]
    stats = B.TermStats.from_documents([DOCS] + extra)
    toks = [_words(d) for d in DOCS + extra[0]]
    N = len(toks)
    avgdl = sum(map(len, toks)) / N
    assert stats.n_docs == N and stats.avg_len == pytest.approx(avgdl)
    query = "jaguar cat cat"
    q = _words({"title": query, "snippet": ""})
    expected = []
    for t in toks[:len(DOCS)]:
        s = 0.0
        for term in set(q):
            tf = t.count(term)
            df = sum(term in u for u in toks)
            idf = math.log((N - df + 0.5) / (df + 0.5))
            s += q.count(term) * idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * len(t) / avgdl))
        expected.append(s)
    got = B.bm25_scores(query, DOCS, stats=stats)
    assert np.allclose(got, expected)
    assert B.bm25_topk(query, DOCS, 3, stats=stats).tolist() == \
        list(np.argsort(-np.array(expected), kind="stable")[:3])


def test_bm25_without_collection_uses_nonnegative_idf():
    toks = [_words(d) for d in DOCS]
    N = len(toks)
    avgdl = sum(map(len, toks)) / N
    got = B.bm25_scores("jaguar", DOCS)
    df = sum("jaguar" in t for t in toks)                 # 4 of 5: RSJ would be negative
    assert math.log((N - df + 0.5) / (df + 0.5)) < 0
    idf = math.log1p((N - df + 0.5) / (df + 0.5))
    exp = [idf * t.count("jaguar") * 2.2 / (t.count("jaguar") + 1.2 * (0.25 + 0.75 * len(t) / avgdl))
           for t in toks]
    assert np.allclose(got, exp) and np.all(got >= 0)


def _brute_mmr(query, docs, k, lam):
    """Carbonell & Goldstein's MMR with tf·log(N/df) cosine, written out independently."""
    toks = [_words(d) for d in docs]
    q = _words({"title": query, "snippet": ""})
    vocab = sorted({w for t in toks for w in t})
    N = len(toks)
    idf = {w: math.log(N / sum(w in t for t in toks)) for w in vocab}

    def vec(t):
        v = np.array([t.count(w) * idf[w] for w in vocab])
        n = np.linalg.norm(v)
        return v / n if n else v
    D = [vec(t) for t in toks]
    qv = vec([w for w in q if w in idf])
    S = []
    while len(S) < min(k, N):
        best, arg = -np.inf, None
        for i in range(N):
            if i in S:
                continue
            val = lam * D[i] @ qv - (1 - lam) * max((D[i] @ D[j] for j in S), default=0.0)
            if val > best + 1e-12:
                best, arg = val, i
        S.append(arg)
    return S


@pytest.mark.parametrize("lam", [0.3, 0.5, 0.7, 1.0])
def test_mmr_matches_its_definition(lam):
    for query in ("jaguar cat", "coventry cars", "atari console"):
        assert B.mmr(query, DOCS, 4, lam=lam).tolist() == _brute_mmr(query, DOCS, 4, lam)


def test_topic_matrix_any_hashable_ids():
    T = topic_matrix([["1.4"], [], ["1.4", "2"], "2", [("a", 3)]])
    assert T.shape == (5, 3)
    assert T.tolist() == [[True, False, False], [False, False, False], [True, True, False],
                          [False, True, False], [False, False, True]]
    # integer IDs keep their column (same as metrics.subtopics.as_topic_matrix)
    assert topic_matrix([[2], [0]]).tolist() == [[False, False, True], [True, False, False]]
    with pytest.raises(ValueError, match="query 3, document 1: subtopic ID"):
        topic_matrix([["a"], [["unhashable"]]], where="query 3")
    # the loss does not depend on the naming of the subtopics
    ints = topic_matrix([[0], [1], [0, 1], []])
    strs = topic_matrix([["x"], ["y"], ["x", "y"], []])
    assert weighted_subtopic_loss(ints, np.array([2])) == weighted_subtopic_loss(strs, np.array([2]))


def _string_ids(data):
    """The same data with subtopic labels as per-document lists of string IDs "q.t"."""
    return [[[f"{q}.{t}" for t in np.flatnonzero(row)] for row in T]
            for q, T in enumerate(data.topics)]


def test_fit_data_equals_fit_lists_and_string_ids():
    d = make_synthetic_diversity(n_queries=14, seed=3)
    assert isinstance(d, DiversityData)
    a = DiversifiedRanker(k=4, C=1.0, eps=0.1).fit(d)
    b = DiversifiedRanker(k=4, C=1.0, eps=0.1).fit(d.queries, d.documents, d.topics, d.ranks)
    c = DiversifiedRanker(k=4, C=1.0, eps=0.1).fit(d.queries, d.documents, _string_ids(d), d.ranks)
    assert np.array_equal(a.svm_.w_, b.svm_.w_)
    # string IDs number the subtopics in another order: the same problem up to a column
    # permutation, so the same objective within the solver's precision (not the same path:
    # the greedy oracle's float sums and ties follow the column order)
    assert abs(a.svm_.primal_objective_ - c.svm_.primal_objective_) <= 1.0 * 0.1
    pa, pb = a.rank_many(d), b.rank_many(d.queries, d.documents, d.ranks)
    assert all(np.array_equal(x, y) for x, y in zip(pa, pb))
    assert np.allclose(a.loss(d), b.loss(d.queries, d.documents, _string_ids(d), d.ranks))
    with pytest.raises(TypeError, match="needs a data set"):
        DiversifiedRanker().fit(["q"])
