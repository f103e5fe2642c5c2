"""Ranking.check_input's one-pass check of queries that are row views of one array (what
load_letor returns): it accepts only what the per-query checks accept, and anything it does
not accept still gets the per-query error naming the query."""
import numpy as np
import pytest

from structpred.errors import InvalidInputError
from structpred.tasks.ranking import Ranking
from structpred.tasks.ranking.model import _valid_stacked


def _stacked(rng, dtype=np.float64, n=12, d=4):
    sizes = rng.integers(1, 6, size=n)
    big = rng.normal(size=(int(sizes.sum()), d)).astype(dtype)
    o = np.r_[0, np.cumsum(sizes)]
    X = [big[a:b] for a, b in zip(o[:-1], o[1:])]
    Y = [rng.integers(0, 3, size=s).astype(float) for s in sizes]
    return big, o, X, Y


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_valid_stacked_queries_pass_at_once(dtype):
    rng = np.random.default_rng(0)
    _, _, X, Y = _stacked(rng, dtype)
    assert _valid_stacked(X, Y, 4) and _valid_stacked(X, None, None)
    Ranking(n_features=4).check_input(X, Y)


@pytest.mark.parametrize("fault", ["nan_x", "inf_x", "huge_x", "nan_y", "short_y", "str_y",
                                   "2d_y", "columns"])
def test_faults_are_named_by_the_per_query_check(fault):
    rng = np.random.default_rng(1)
    big, o, X, Y = _stacked(rng)
    q = 5
    n = 4
    if fault == "nan_x":
        big[o[q], 1] = np.nan
    elif fault == "inf_x":
        big[o[q] + X[q].shape[0] - 1, 0] = np.inf
    elif fault == "huge_x":
        big[o[q], 2] = 1e300
    elif fault == "nan_y":
        Y[q] = Y[q].copy()
        Y[q][0] = np.nan
    elif fault == "short_y":
        Y[q] = Y[q][:-1] if Y[q].size > 1 else np.zeros(2)
    elif fault == "str_y":
        Y[q] = np.array(["a"] * X[q].shape[0])
    elif fault == "2d_y":
        Y[q] = Y[q][:, None]
    else:
        n = 3
    assert not _valid_stacked(X, Y, n)
    with pytest.raises(InvalidInputError) as err:
        Ranking(n_features=n).check_input(X, Y)
    assert fault == "columns" or err.value.index == q


def test_not_stacked_queries_take_the_per_query_path():
    rng = np.random.default_rng(2)
    _, _, X, Y = _stacked(rng)
    X = [x.copy() for x in X]                   # no longer views of one array
    assert not _valid_stacked(X, Y, 4)
    Ranking(n_features=4).check_input(X, Y)
    X[3][0, 0] = np.nan
    with pytest.raises(InvalidInputError) as err:
        Ranking(n_features=4).check_input(X, Y)
    assert err.value.index == 3
