"""Featurizer, baselines, DiversifiedRanker (fit / rank / save / load) and the CLI."""
import json
import warnings

import numpy as np
import pytest

from structpred.datasets.diversity import make_synthetic_diversity
from structpred.metrics.subtopics import weighted_subtopic_loss
from structpred.apps.diversity import DiversifiedRanker
from structpred.apps.diversity import baselines as B
from structpred.tasks.diversity import DiversityFeaturizer, tokenize
from structpred.tasks.diversity.features import WORD_FEATURE_NAMES, doc_feature_names


# ----------------------------------------------------------------------------- featurizer
def test_featurizer_levels_and_features():
    docs = [{"title": "Jaguar cars", "snippet": "luxury cars by Jaguar", "url": "http://jaguar.com"},
            {"title": "Jaguar", "snippet": "the big cat cat cat", "url": "http://en.wikipedia.org/wiki/Jaguar"},
            "the of and",                                  # only stopwords: no words
            ("Atari Jaguar", "game console")]
    x = DiversityFeaturizer(n_levels=3).transform("jaguar", docs, ranks=[1, 2, 3, 4])
    assert x.n_docs == 4 and x.n_levels == 3
    assert x.phi.shape == (len(x.vocab), len(WORD_FEATURE_NAMES))
    assert x.doc_feats.shape == (4, len(doc_feature_names()))
    v = {w: i for i, w in enumerate(x.vocab)}

    def covers(level, d):
        ptr, idx = x.cover[level]
        return {x.vocab[i] for i in idx[ptr[d]:ptr[d + 1]]}
    assert covers(0, 0) == {"jaguar", "cars", "luxury"}          # url word jaguar, com dropped
    assert covers(1, 0) == {"jaguar", "cars"}                    # title / repeated
    assert covers(2, 0) == {"jaguar", "cars"}                    # title and twice
    assert covers(0, 1) == {"jaguar", "big", "cat", "wikipedia", "wiki"}
    assert covers(2, 1) == {"cat"} | {"jaguar"}                  # cat x3; jaguar title+url
    assert covers(0, 2) == set()
    for lvl in (1, 2):                                            # nested levels
        for d in range(4):
            assert covers(lvl, d) <= covers(lvl - 1, d)
    q = WORD_FEATURE_NAMES.index("query_word")
    assert x.phi[v["jaguar"], q] == 1 and x.phi[v["cat"], q] == 0
    dfs = WORD_FEATURE_NAMES.index("df_share")
    assert x.phi[v["jaguar"], dfs] == pytest.approx(3 / 4)
    names = doc_feature_names()
    assert x.doc_feats[1, names.index("wikipedia_url")] == 1
    assert x.doc_feats[2, names.index("no_words")] == 1
    assert x.doc_feats[0, names.index("rank<=1")] == 1 and x.doc_feats[1, names.index("rank<=1")] == 0


def test_featurizer_bad_input():
    f = DiversityFeaturizer()
    with pytest.raises(ValueError, match="empty candidate set"):
        f.transform("q", [])
    with pytest.raises(TypeError, match="document 1"):
        f.transform("q", ["ok", 42])
    with pytest.raises(ValueError, match="ranks must be 2"):
        f.transform("q", ["a b", "c d"], ranks=[1])
    with pytest.raises(ValueError, match="query 1: empty candidate set"):
        f.transform_many(["a", "b"], [["x y"], []])
    with pytest.raises(ValueError, match="n_levels"):
        DiversityFeaturizer(n_levels=4)
    x = f.transform("q", ["", "   "])                   # documents without words are fine
    assert x.n_words == 0 and x.n_docs == 2
    assert tokenize("The Hubble's 1991 launch!") == ["hubble", "1991", "launch"]


# ----------------------------------------------------------------------------- baselines
def test_baselines_on_toy_query():
    docs = ["jaguar car dealer", "jaguar car price", "jaguar cat habitat", "football team"]
    assert B.engine_order([3, 1, 2, 4], 2).tolist() == [1, 2]
    assert B.bm25_topk("jaguar car", docs, 2).tolist() == [0, 1]
    assert B.unweighted_coverage(docs, 4).tolist()[:2] == [0, 2]
    # λ = 0.5: relevance wins (doc 1 shares "jaguar car"); λ = 0.1: novelty wins (doc 3)
    assert B.mmr("jaguar car", docs, 2).tolist() == [0, 1]
    assert B.mmr("jaguar car", docs, 2, lam=0.1).tolist() == [0, 3]
    assert B.oracle_greedy(np.array([[1, 0], [1, 0], [0, 1], [0, 0]], bool), 2).tolist() == [0, 2]
    r = B.random_subset(4, 3, 0)
    assert len(set(r.tolist())) == 3 and r.max() < 4
    for f in (lambda k: B.bm25_topk("q", docs, k), lambda k: B.mmr("q", docs, k),
              lambda k: B.unweighted_coverage(docs, k)):
        assert sorted(f(10).tolist()) == [0, 1, 2, 3]            # fewer than k: all, ranked
    with pytest.raises(ValueError, match="empty candidate set"):
        B.mmr("q", [], 5)
    with pytest.raises(ValueError, match="empty candidate set"):
        B.random_subset(0, 5, 0)


# ----------------------------------------------------------------------------- ranker
@pytest.fixture(scope="module")
def small_data():
    return make_synthetic_diversity(24, seed=11, n_relevant=20, n_nonrelevant=15)


@pytest.fixture(scope="module")
def fitted(small_data):
    d = small_data
    return DiversifiedRanker(k=5, C=1.0, eps=0.05).fit(d.queries[:16], d.documents[:16],
                                                        d.topics[:16], d.ranks[:16])


def test_ranker_learns_something(fitted, small_data):
    d = small_data
    test = range(16, 24)
    ours = np.mean(fitted.loss([d.queries[i] for i in test], [d.documents[i] for i in test],
                               [d.topics[i] for i in test], [d.ranks[i] for i in test]))
    rnd = np.mean([np.mean([weighted_subtopic_loss(d.topics[i], B.random_subset(len(d.documents[i]), 5, s))
                            for s in range(10)]) for i in test])
    assert ours < rnd
    assert fitted.svm_.model.approximate_inference
    assert fitted.n_train_queries_ == 16 and fitted.C_ == 1.0


def test_ranker_rank_contract(fitted, small_data):
    d = small_data
    r = fitted.rank(d.queries[20], d.documents[20], d.ranks[20])
    assert r.shape == (5,) and len(set(r.tolist())) == 5
    assert sorted(fitted.rank("q", ["a b", "c d", "b e"]).tolist()) == [0, 1, 2]   # n < k
    with pytest.raises(ValueError, match="empty candidate set"):
        fitted.rank("q", [])
    with pytest.raises(RuntimeError, match="not fitted"):
        DiversifiedRanker().rank("q", ["a"])


def test_ranker_save_load_roundtrip(fitted, small_data, tmp_path):
    d = small_data
    path = tmp_path / "div.npz"
    fitted.save(path)
    again = DiversifiedRanker.load(path)
    a = fitted.rank_many(d.queries[16:], d.documents[16:], d.ranks[16:])
    b = again.rank_many(d.queries[16:], d.documents[16:], d.ranks[16:])
    assert [x.tolist() for x in a] == [x.tolist() for x in b]


def test_ranker_inner_cv_and_unlabelled_queries(small_data):
    d = small_data
    topics = list(d.topics[:9])
    topics[2] = np.zeros_like(topics[2])
    with pytest.warns(UserWarning, match=r"skipping 1 queries with no labelled subtopic: \[2\]"):
        r = DiversifiedRanker(k=3, C_grid=(0.1, 1.0), inner_folds=2, eps=0.1).fit(
            d.queries[:9], d.documents[:9], topics, d.ranks[:9])
    assert set(r.cv_results_) == {0.1, 1.0} and r.C_ in (0.1, 1.0)
    assert r.n_train_queries_ == 8
    with pytest.raises(ValueError, match="no training query has a labelled subtopic"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            DiversifiedRanker(C=1.0).fit(d.queries[:2], d.documents[:2],
                                         [np.zeros_like(t) for t in d.topics[:2]])
    with pytest.raises(ValueError, match="query 0: topics has"):
        DiversifiedRanker(C=1.0).fit(d.queries[:1], d.documents[:1], [d.topics[1][:3]])


# ----------------------------------------------------------------------------- CLI
def test_cli_train_and_apply_jsonl(small_data, tmp_path, capsys):
    from structpred.cli.diversity import main
    d = small_data
    path = tmp_path / "train.jsonl"
    with open(path, "w") as fh:
        for i in range(10):
            subs = [[f"s{t}" for t in np.flatnonzero(row)] for row in d.topics[i]]
            fh.write(json.dumps({"id": d.query_ids[i], "query": d.queries[i],
                                 "documents": d.documents[i], "ranks": d.ranks[i].tolist(),
                                 "subtopics": subs}) + "\n")
    model = tmp_path / "m.npz"
    assert main(["train", str(path), "-m", str(model), "--C", "1", "--eps", "0.1"]) == 0
    out = tmp_path / "pred.tsv"
    assert main(["apply", str(path), "-m", str(model), "-o", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "query_id\tposition\tdocument_index\tdocument_id"     # the TSV header
    assert len(lines) == 51 and lines[1].split("\t")[:2] == [d.query_ids[0], "1"]
    assert "mean weighted subtopic loss over 10 labelled queries" in capsys.readouterr().out
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"query": "x", "documents": ["a"], "subtopics": [["s"], ["t"]]}\n')
    assert main(["train", str(bad), "-m", str(model), "--C", "1"]) == 1
    assert "bad.jsonl, line 1: 'subtopics' must be a list with one entry per document" \
        in capsys.readouterr().err
    empty = tmp_path / "empty.jsonl"
    empty.write_text('{"query": "x", "documents": []}\n')
    assert main(["apply", str(empty), "-m", str(model)]) == 1
    assert "empty candidate set" in capsys.readouterr().err
