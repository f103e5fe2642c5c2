"""Sequence tasks take and return the user's tag strings; ConllFeatures goes in a Pipeline."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

import structpred
from structpred import StructuredSVM
from structpred.errors import InvalidInputError
from structpred.tasks import SequenceLabeling
from structpred.tasks.sequence.features import ConllFeatures

from conftest import data_file

TAGS = np.array(["B-NP", "I-NP", "O"])


def _sequences(n=40, seed=0, f=6):
    rng = np.random.default_rng(seed)
    X, Y = [], []
    for _ in range(n):
        T = int(rng.integers(2, 6))
        y = rng.integers(0, 3, size=T)
        dense = rng.normal(scale=0.3, size=(T, f))
        dense[np.arange(T), y] += 1.0
        X.append(sp.csr_matrix(dense))
        Y.append(y)
    return X, Y


def test_string_tags_give_the_same_model_as_int_labels_and_round_trip(tmp_path):
    X, Y = _sequences()
    names = [list(TAGS[y]) for y in Y]                       # lists of str, as sklearn-crfsuite
    ints = StructuredSVM(SequenceLabeling(), C=10.0, eps=1e-3).fit(X, Y)
    strs = StructuredSVM(SequenceLabeling(), C=10.0, eps=1e-3).fit(X, names)
    assert list(strs.model.tags_) == list(TAGS)               # sorted, so label l = TAGS[l] here
    assert np.array_equal(ints.w_, strs.w_)
    pred = strs.predict(X)
    assert all(p.dtype.kind == "U" for p in pred)
    assert all(list(p) == list(TAGS[q]) for p, q in zip(pred, ints.predict(X)))
    assert strs.score(X, names) == ints.score(X, Y)
    strs.save(tmp_path / "tags.npz")
    back = structpred.load(tmp_path / "tags.npz")
    assert list(back.model.tags_) == list(TAGS)
    assert all(list(a) == list(b) for a, b in zip(back.predict(X), pred))


def test_unseen_tags_rule():
    X, Y = _sequences(seed=1)
    names = [list(TAGS[y]) for y in Y]
    svm = StructuredSVM(SequenceLabeling(), C=10.0, eps=1e-2).fit(X, names)
    gold = [list(t) for t in svm.predict(X[:2])]
    gold[1][0] = "B-PP"                                      # never seen in training
    # score: never predicted, so counted wrong (one token of the two sequences)
    n_tokens = sum(len(g) for g in gold)
    assert svm.score(X[:2], gold) == pytest.approx(1 - 1 / n_tokens)
    # anything that needs its weights names Y[i] and the tag
    with pytest.raises(InvalidInputError, match=r"Y\[1\]: tag 'B-PP' \(token 0\) was not seen in training"):
        svm.primal_objective(X[:2], gold)
    with pytest.raises(InvalidInputError, match=r"Y mixes label types: Y\[0\] holds tag strings, Y\[1\] int"):
        StructuredSVM(SequenceLabeling()).fit(X[:2], [names[0], Y[1]])


def _toy_sentences(n=30, seed=0):
    """Sentences of (word, POS) with chunk tags that follow the POS (learnable)."""
    rng = np.random.default_rng(seed)
    rule = {"DT": "B-NP", "NN": "I-NP", "VB": "B-VP", "IN": "B-PP", ".": "O"}
    words = {"DT": ["the", "a"], "NN": ["cat", "dog", "mat"], "VB": ["sat", "ran"], "IN": ["on"], ".": ["."]}
    X, Y = [], []
    for _ in range(n):
        pos = ["DT", "NN", "VB", "IN", "DT", "NN", "."][:int(rng.integers(3, 8))]
        X.append([(str(rng.choice(words[p])), p) for p in pos])
        Y.append([rule[p] for p in pos])
    return X, Y


def test_pipeline_features_to_svm_with_string_tags():
    X, Y = _toy_sentences()
    pipe = make_pipeline(ConllFeatures(), StructuredSVM(SequenceLabeling(), C=10.0, eps=1e-2))
    pipe.fit(X, Y)
    pred = pipe.predict(X)
    assert [list(p) for p in pred] == Y                       # separable: all tags right
    assert pipe.score(X, Y) == 1.0
    # the step's output and the labels must agree: the error names X[i] / Y[i]
    bad = [list(y) for y in Y]
    bad[3] = bad[3][:-1]
    with pytest.raises(InvalidInputError, match=r"X\[3\] has \d+ tokens \(rows\) but Y\[3\] has"):
        pipe.fit(X, bad)
    with pytest.raises(InvalidInputError, match=r"len\(X\)=30, len\(Y\)=29"):
        pipe.fit(X, Y[:-1])
    with pytest.raises(InvalidInputError, match=r"X\[0\]: tokens must be tuples of strings"):
        pipe.fit([["the", "cat"]] + X[1:], Y)


def test_grid_search_over_the_pipeline():
    X, Y = _toy_sentences(24)
    pipe = make_pipeline(ConllFeatures(), StructuredSVM(SequenceLabeling(), eps=1e-2))
    grid = {"structuredsvm__C": [1e-4, 10.0], "conllfeatures__window": [0, 1]}
    search = GridSearchCV(pipe, grid, cv=2).fit(X, Y)
    from sklearn.base import clone
    from sklearn.model_selection import KFold
    for params, mean in zip(search.cv_results_["params"], search.cv_results_["mean_test_score"]):
        accs = []                                  # token accuracy per fold, computed by hand
        for tr, te in KFold(2).split(X):
            est = clone(pipe).set_params(**params).fit([X[i] for i in tr], [Y[i] for i in tr])
            pred = est.predict([X[i] for i in te])
            accs.append(np.mean(np.concatenate([np.asarray(p) == np.asarray(Y[i])
                                                for p, i in zip(pred, te)])))
        assert mean == pytest.approx(np.mean(accs))
    assert search.best_score_ == max(search.cv_results_["mean_test_score"])
    assert all(isinstance(t, str) for p in search.predict(X[:3]) for t in p)


@pytest.mark.realdata
def test_conll_pipeline_grid_search_on_a_slice():
    """The issue's bar on real data: CoNLL-2000 sentences and tag strings in, tag strings out."""
    from structpred.datasets import load_conll2000
    from structpred.metrics.chunking import chunk_scores
    data_file("conll2000/train.txt.gz")
    train, test = load_conll2000()
    train, test = train[:300], test[:100]
    X = [[tok[:2] for tok in s] for s in train]
    Y = [[tok[2] for tok in s] for s in train]
    pipe = make_pipeline(ConllFeatures(), StructuredSVM(SequenceLabeling(), C=10.0, eps=0.5))
    search = GridSearchCV(pipe, {"structuredsvm__C": [1.0, 10.0]}, cv=2).fit(X, Y)
    pred = search.predict([[tok[:2] for tok in s] for s in test])
    assert all(isinstance(t, str) for p in pred for t in p)
    gold = [[tok[2] for tok in s] for s in test]
    f1 = chunk_scores(gold, [list(p) for p in pred]).f1
    assert f1 > 80.0, f1                      # 300 sentences already give about 91 on this slice
