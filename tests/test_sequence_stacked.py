"""Stacked sequence sets (``read_svmhmm(..., stacked=True)``): the same items, batch, checks
and fitted w as the list of per-sequence matrices the reader returns by default."""
import pickle

import numpy as np
import pytest
import scipy.sparse as sp

from structpred import StructuredSVM
from structpred.datasets.svmhmm import read_svmhmm, write_svmhmm
from structpred.errors import InvalidInputError
from structpred.solvers.oracle import slice_examples
from structpred.datasets.stacked import StackedLabels, StackedSequences
from structpred.tasks.sequence import SequenceLabeling


def _random_file(tmp_path, seed, n=40, F=12, L=4):
    rng = np.random.default_rng(seed)
    X = [sp.random(int(rng.integers(1, 7)), F, density=0.35, random_state=rng, format="csr")
         for _ in range(n)]
    X = [sp.csr_matrix(np.round(x.toarray() * 4) / 4) for x in X]
    Y = [rng.integers(0, L, x.shape[0]) for x in X]
    path = tmp_path / f"r{seed}.dat"
    write_svmhmm(path, X, Y, qids=np.arange(1, n + 1))
    return path


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stacked_items_batch_and_fit_equal_the_list_path(tmp_path, seed):
    path = _random_file(tmp_path, seed)
    a = read_svmhmm(path)
    b = read_svmhmm(path, stacked=True)
    assert isinstance(b.X, StackedSequences) and isinstance(b.Y, StackedLabels)
    assert len(b.X) == len(a.X) and b.X.n_tokens == sum(x.shape[0] for x in a.X)
    for xa, xb, ya, yb in zip(a.X, b.X, a.Y, b.Y):    # iteration builds the same items
        assert xa.shape == xb.shape and (xa != xb).nnz == 0
        np.testing.assert_array_equal(xa.indptr, xb.indptr)
        np.testing.assert_array_equal(ya, yb)
    assert (b.X[-1] != a.X[-1]).nnz == 0
    with pytest.raises(IndexError):
        b.X[len(a.X)]
    ma = SequenceLabeling(n_labels=a.max_tag, n_features=a.n_features)
    mb = SequenceLabeling(n_labels=b.max_tag, n_features=b.n_features)
    ma.initialize(a.X, a.Y)
    mb.initialize(b.X, b.Y)
    assert ma.size_joint_feature == mb.size_joint_feature
    ba, bb = ma.make_batch(a.X, a.Y), mb.make_batch(b.X, b.Y)
    for f in ("indptr", "indices", "data", "offsets", "y"):
        x, z = getattr(ba, f), getattr(bb, f)
        assert x.dtype == z.dtype
        np.testing.assert_array_equal(x, z)
    # a fit on either is the same, bit for bit (one thread and two: slices of the stack)
    for n_jobs in (1, 2):
        wa = StructuredSVM(SequenceLabeling(), C=10.0, eps=0.01, n_jobs=n_jobs).fit(a.X, a.Y).w_
        wb = StructuredSVM(SequenceLabeling(), C=10.0, eps=0.01, n_jobs=n_jobs).fit(b.X, b.Y).w_
        np.testing.assert_array_equal(wa.view(np.int64), wb.view(np.int64))


def test_stacked_slices_and_pickles_hold_their_own_rows(tmp_path):
    path = _random_file(tmp_path, 3, n=30)
    a = read_svmhmm(path)
    b = read_svmhmm(path, stacked=True)
    s = slice_examples(b.X, 10, 20)
    assert isinstance(s, StackedSequences) and len(s) == 10
    assert all((s[i] != a.X[10 + i]).nnz == 0 for i in range(10))
    assert isinstance(b.X[::2], list) and len(b.X[::2]) == 15   # other steps: a list
    p = pickle.loads(pickle.dumps(s))
    assert p.data.shape[0] == sum(x.nnz for x in a.X[10:20])     # only its rows travel
    assert all((p[i] != a.X[10 + i]).nnz == 0 for i in range(10))
    y = pickle.loads(pickle.dumps(slice_examples(b.Y, 10, 20)))
    assert all(np.array_equal(y[i], a.Y[10 + i]) for i in range(10))
    m = SequenceLabeling(n_labels=b.max_tag, n_features=b.n_features)
    m.initialize(b.X, b.Y)
    bs, bl = m.make_batch(s, slice_examples(b.Y, 10, 20)), m.make_batch(a.X[10:20], a.Y[10:20])
    for f in ("indptr", "indices", "data", "offsets", "y"):
        np.testing.assert_array_equal(getattr(bs, f), getattr(bl, f))


def _stack(X, Y, F):
    ptr = np.concatenate([[0], np.cumsum([x.nnz for x in X])])
    indptr = np.concatenate([[0]] + [x.indptr[1:] + ptr[i] for i, x in enumerate(X)])
    offsets = np.concatenate([[0], np.cumsum([x.shape[0] for x in X])])
    return (StackedSequences(np.concatenate([x.data for x in X]).astype(np.float64),
                             np.concatenate([x.indices for x in X]).astype(np.int32),
                             indptr.astype(np.int64), offsets.astype(np.int64), F),
            StackedLabels(np.concatenate(Y).astype(np.int64), offsets.astype(np.int64)))


def test_stacked_bad_input_names_the_example():
    X = [sp.csr_matrix(np.eye(3)), sp.csr_matrix(np.ones((2, 3))), sp.csr_matrix(np.eye(3)[:2])]
    Y = [np.array([0, 1, 2]), np.array([1, 1]), np.array([0, 1])]
    m = SequenceLabeling()
    Xs, Ys = _stack(X, Y, 3)
    m.initialize(Xs, Ys)
    m.check_input(Xs, Ys)   # good
    bad = _stack(X, Y, 3)[0]
    bad.data[3] = np.nan                                     # in sequence 1
    with pytest.raises(InvalidInputError, match=r"X\[1\]"):
        m.check_input(bad, Ys)
    bad = _stack(X, Y, 3)[0]
    bad.indices[-1] = 3                                      # outside 3 columns, sequence 2
    with pytest.raises(InvalidInputError, match=r"X\[2\]: column index 3"):
        m.check_input(bad, Ys)
    bad = _stack(X, Y, 3)[0]
    bad.indices[0] = -1
    with pytest.raises(InvalidInputError, match=r"X\[0\]: column index -1"):
        m.check_input(bad, Ys)
    bad = _stack(X, Y, 3)[0]
    bad.offsets[2] = bad.offsets[1]                          # an empty sequence 1
    with pytest.raises(InvalidInputError, match=r"X\[1\]: empty sequence"):
        m.check_input(bad, Ys)
    bad = _stack(X, Y, 3)[0]
    bad.offsets[-1] = 99                                     # beyond the stacked rows
    with pytest.raises(InvalidInputError, match="malformed stacked"):
        m.check_input(bad, Ys)
    bad = _stack(X, Y, 3)[0]
    bad.indptr[2] = bad.indptr[1] - 1                        # falling row pointer
    with pytest.raises(InvalidInputError, match=r"X\[0\]: malformed CSR row pointer"):
        m.check_input(bad, Ys)
    Yb = _stack(X, Y, 3)[1]
    Yb.offsets[1] = 2                                        # 2 labels for 3 tokens
    with pytest.raises(InvalidInputError, match=r"X\[0\] has 3 tokens"):
        m.check_input(Xs, Yb)
    Yb = _stack(X, Y, 3)[1]
    Yb.labels[4] = -1                                        # in sequence 1
    with pytest.raises(InvalidInputError, match=r"Y\[1\]: negative label"):
        m.check_input(Xs, Yb)
    with pytest.raises(InvalidInputError, match=r"Y\[1\]: negative label"):
        SequenceLabeling().initialize(Xs, Yb)
    Yb = _stack(X, Y, 3)[1]
    Yb.labels[5] = 7
    with pytest.raises(InvalidInputError, match=r"Y\[2\]: label 7 out of range"):
        SequenceLabeling(n_labels=3).initialize(Xs, Yb)
    with pytest.raises(ValueError):
        StackedSequences(np.zeros(2), np.zeros(2, np.int64), np.zeros(2, np.int64),
                         np.zeros(2, np.int64), 3)   # indices must be int32


def test_stacked_batch_with_repeated_columns_takes_the_list_path():
    """A row whose columns repeat is summed by the list path, as for a plain list."""
    X = [sp.csr_matrix(np.eye(3)), sp.csr_matrix(np.ones((2, 3)))]
    Y = [np.array([0, 1, 2]), np.array([1, 1])]
    Xs, Ys = _stack(X, Y, 3)
    Xs.indices[3] = 1       # sequence 1's first row: columns 1, 1, 2
    m = SequenceLabeling()
    m.initialize(Xs, Ys)
    b = m.make_batch(Xs, Ys)
    dense = sp.csr_matrix((b.data, b.indices, b.indptr), shape=(5, 3)).toarray()
    np.testing.assert_array_equal(dense[3], [0, 2, 1])
    np.testing.assert_array_equal(np.diff(b.indptr), [1, 1, 1, 2, 3])


@pytest.mark.parametrize("seed", range(6))
def test_stacked_path_is_taken_exactly_when_every_row_increases(seed):
    """Brute force: the stacked batch (no list path) iff every token's columns are strictly
    increasing; a drop across a row boundary, and empty rows, are allowed."""
    rng = np.random.default_rng(seed)
    F, rows = 6, []
    for _ in range(int(rng.integers(3, 12))):
        k = int(rng.integers(0, 4))
        cols = np.sort(rng.choice(F, size=k, replace=False))
        if k >= 2 and rng.random() < 0.25:       # break this row: a repeat or a swap
            cols[1] = cols[0] if rng.random() < 0.5 else cols[1]
            if rng.random() < 0.5:
                cols[[0, 1]] = cols[[1, 0]]
        rows.append(cols)
    indptr = np.concatenate([[0], np.cumsum([len(c) for c in rows])]).astype(np.int64)
    indices = (np.concatenate(rows) if indptr[-1] else np.zeros(0)).astype(np.int32)
    n_tok = len(rows)
    X = StackedSequences(np.ones(indices.size), indices, indptr,
                         np.array([0, n_tok], dtype=np.int64), F)
    Y = StackedLabels(rng.integers(0, 3, n_tok), np.array([0, n_tok], dtype=np.int64))
    m = SequenceLabeling(n_labels=3, n_features=F)
    increasing = all(np.all(np.diff(c) > 0) for c in rows)
    assert (m._stacked_batch(X, Y) is not None) == increasing
