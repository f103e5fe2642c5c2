"""The LETOR fast path (numba scanner) against the exact per-line reader: same data, or it
declines (None) and the exact reader decides; clean files never decline."""
import gzip

import numpy as np
import pytest
import scipy.sparse as sp

from structpred.datasets import letor
from structpred.errors import DataFormatError

from letor_files import exact, write_random_file


def fast(path, **kw):
    import numba  # noqa: F401  -- the fast path runs whenever numba is loaded
    return letor._load_fast(path, str(path), kw.get("n_features"), kw.get("pairless", "keep"),
                            kw.get("dense"), kw.get("group_sizes"), kw.get("strict_order", False))


def same(a, b):
    assert len(a) == len(b) and a.n_features == b.n_features
    assert (a.n_pairless, a.n_skipped) == (b.n_pairless, b.n_skipped)
    for x, y in zip(a.X, b.X):
        assert type(x) is type(y)
        if sp.issparse(x):
            assert x.nnz == y.nnz and (x != y).nnz == 0
        else:
            np.testing.assert_array_equal(x, y)
    for x, y in zip(a.y, b.y):
        assert np.array_equal(x.view(np.int64), y.view(np.int64))   # bit for bit
    np.testing.assert_array_equal(a.qids, b.qids)
    np.testing.assert_array_equal(a.lines, b.lines)
    assert list(a.comments) == list(b.comments)


@pytest.mark.parametrize("seed", range(6))
def test_random_clean_files_read_the_same(tmp_path, seed):
    path, d = write_random_file(tmp_path, seed, label=lambda rng: f"{rng.integers(0, 4)}",
                                kinds=10, carriage_returns=True)
    for kw in ({}, {"n_features": max(1, d // 2)}, {"pairless": "skip"}, {"dense": True},
               {"dense": False}):
        got = fast(path, **kw)
        assert got is not None, kw
        same(got, exact(path, **kw))


@pytest.mark.parametrize("body", [
    "1 qid:1 1:0.5\n0 qid:2 1:0.1\n1 qid:1 1:0.3\n",        # qid back after another query
    "1 qid:1 1:nan\n0 qid:1 1:0.2\n",                      # not a number
    "1 qid:1 1:1e400\n0 qid:1 1:0.2\n",                    # overflows to inf
    "1 qid:1 2:0.5 1:0.3\n",                               # fids not increasing
    "1 qid:1 cost:2 1:0.5\n",                              # a click file
    "x qid:1 1:0.5\n",                                     # TARGET not a number
    "1 1:0.5\n",                                           # no qid
    "1 qid:1 1:0.5 qid:2\n",
    "1 qid:-1 1:0.5\n",
    "1 qid:1 0:0.5\n",
    "1 qid:1 1:0x10\n",
    "1 qid:1 1:0.5\x00\n",
    "1 qid:1 1:0.5 # caf\xe9\n",
])
def test_doubtful_files_are_left_to_the_exact_reader(tmp_path, body):
    path = tmp_path / "bad.txt"
    path.write_bytes(body.encode("latin-1"))
    assert fast(path) is None
    try:
        want = exact(path)
    except letor.LetorFormatError:
        with pytest.raises(letor.LetorFormatError):
            letor.load_letor(path)
    else:
        same(letor.load_letor(path), want)


def test_truncated_gzip_is_a_named_error(tmp_path):
    path = tmp_path / "t.gz"
    data = gzip.compress(b"".join(b"1 qid:%d 1:0.5 2:0.25\n" % q for q in range(5000)))
    path.write_bytes(data[: len(data) // 2])
    assert fast(path) is None
    with pytest.raises(DataFormatError, match="t.gz"):
        letor.load_letor(path)
