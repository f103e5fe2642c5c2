"""Ranking on flat X with qid / group (scikit-learn's svmlight reader, LightGBM's group)."""
from __future__ import annotations

import gzip

import numpy as np
import pytest
import scipy.sparse as sp

from structpred import StructuredSVM
from structpred.errors import InvalidInputError
from structpred.tasks import PropensityRanking, Ranking
from structpred.tasks.ranking import join_scores, query_rows, split_queries

from conftest import data_file


def _flat(seed=0, n_queries=12, f=5):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 7, size=n_queries)
    w = rng.normal(size=f)
    X = rng.normal(size=(int(sizes.sum()), f))
    y = np.digitize(X @ w + 0.3 * rng.normal(size=X.shape[0]), [-0.5, 0.5]).astype(float)
    qid = np.repeat(np.arange(100, 100 + n_queries), sizes)
    return X, y, qid, sizes


def test_qid_and_group_give_the_per_query_model():
    X, y, qid, sizes = _flat()
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    Xs = [X[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    ys = [y[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    ref = StructuredSVM(Ranking(), C=1.0, eps=1e-4).fit(Xs, ys)
    by_qid = StructuredSVM(Ranking(), C=1.0, eps=1e-4).fit(X, y, qid=qid)
    by_group = StructuredSVM(Ranking(), C=1.0, eps=1e-4).fit(sp.csr_matrix(X), y, group=sizes)
    assert np.array_equal(ref.w_, by_qid.w_)
    assert np.allclose(ref.w_, by_group.w_, atol=1e-10)
    scores = by_qid.predict(X, qid=qid)                  # flat: one score per row
    assert scores.shape == (X.shape[0],) and np.allclose(scores, X @ ref.w_)
    assert by_qid.score(X, y, qid=qid) == pytest.approx(ref.score(Xs, ys))


def test_interleaved_qids_group_by_value_in_order_of_first_row():
    rows = query_rows(6, qid=np.array([7, 3, 7, 3, 9, 7]))
    assert [list(r) for r in rows] == [[0, 2, 5], [1, 3], [4]]
    X = np.arange(12.0).reshape(6, 2)
    Xs, ys = split_queries(X, np.arange(6), qid=[7, 3, 7, 3, 9, 7])
    assert [list(g) for g in ys] == [[0, 2, 5], [1, 3], [4]]
    assert np.array_equal(Xs[0], X[[0, 2, 5]])
    back = join_scores([np.array([0., 2, 5]), np.array([1., 3]), np.array([4.])], 6,
                       qid=[7, 3, 7, 3, 9, 7])
    assert np.array_equal(back, np.arange(6.0))


@pytest.mark.parametrize("kwargs,pattern", [
    ({"qid": np.arange(5)}, r"qid has 5 entries but X has 6 rows"),
    ({"group": [2, 3]}, r"group sums to 5 but X has 6 rows"),
    ({"group": [3, 0, 3]}, r"group\[1\] = 0"),
    ({"group": [2.5, 3.5]}, r"group must hold integer query sizes"),
    ({}, r"exactly one of qid .* or group"),
    ({"qid": np.arange(6), "group": [6]}, r"exactly one of qid"),
])
def test_bad_qid_or_group_names_the_argument(kwargs, pattern):
    X = np.ones((6, 2))
    with pytest.raises(InvalidInputError, match=pattern):
        split_queries(X, np.zeros(6), **kwargs)
    if kwargs:
        with pytest.raises(InvalidInputError, match=pattern):
            StructuredSVM(Ranking()).fit(X, np.zeros(6), **kwargs)


def test_grades_length_and_tasks_without_a_flat_form():
    X = np.ones((6, 2))
    with pytest.raises(InvalidInputError, match=r"y has 5 entries but X has 6 rows"):
        split_queries(X, np.zeros(5), group=[6])
    with pytest.raises(TypeError, match=r"^qid/group: PropensityRanking takes no flat input"):
        StructuredSVM(PropensityRanking()).fit(X, np.zeros(6), group=[6])


@pytest.mark.realdata
def test_mq2008_fold1_svmlight_qid_gives_the_per_query_model():
    """The issue's bar: load_svmlight_file(query_id=True) + qid= (or group=) on MQ2008 Fold1
    train gives the same model as the per-query form of structpred's LETOR reader."""
    from sklearn.datasets import load_svmlight_file
    from structpred.datasets import load_mq2008
    path = data_file("ranking/mq2008/Fold1/train.txt.gz")
    with gzip.open(path, "rb") as fh:
        X, y, qid = load_svmlight_file(fh, query_id=True)
    per_query = load_mq2008(1, "train")
    assert len(per_query.X) == np.unique(qid).size == 471
    assert np.array_equal(np.vstack(per_query.X), X.toarray())   # the same numbers, read twice
    assert np.array_equal(np.concatenate(per_query.y), y)
    C, eps = 1.0, 1e-3
    ref = StructuredSVM(Ranking(), C=C, eps=eps).fit(per_query.X, per_query.y)
    dense = StructuredSVM(Ranking(), C=C, eps=eps).fit(X.toarray(), y, qid=qid)
    assert np.array_equal(dense.w_, ref.w_)                       # bit for bit
    # LightGBM's group on the sparse matrix: the same problem, summed in another order
    _, sizes = np.unique(qid, return_counts=True)                 # qids ascend in the file
    grouped = StructuredSVM(Ranking(), C=C, eps=eps).fit(X, y, group=sizes)
    assert grouped.primal_objective(per_query.X, per_query.y) == pytest.approx(
        ref.primal_objective(per_query.X, per_query.y), rel=1e-4)
    # the primal is 1-strongly convex: ½‖w - w*‖² <= primal(w) - optimum <= certified gap
    radius = sum(np.sqrt(2.0 * (s.primal_objective_ - s.dual_objective_)) for s in (grouped, ref))
    assert np.linalg.norm(grouped.w_ - ref.w_) <= radius
    flat_scores = dense.predict(X, qid=qid)
    assert np.allclose(flat_scores, np.concatenate(ref.predict(per_query.X)), rtol=1e-12, atol=1e-12)
