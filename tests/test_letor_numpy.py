"""The numpy LETOR reader (used while numba is not loaded) against the exact per-line reader:
the same data bit for bit, or it declines (None) and the exact reader decides."""
import gzip

import numpy as np
import pytest
import scipy.sparse as sp

from structpred.datasets import letor
from structpred.datasets.letor_numpy import parse_numpy

from letor_files import exact, write_random_file


def numpy_reader(path, **kw):
    groups = kw.get("group_sizes")
    parts = parse_numpy(path, kw.get("n_features"), kw.get("dense"), groups is None,
                        letor.MAX_FID, letor.FEATURE_FLOOR)
    if parts is None:
        return None
    return letor._assemble(str(path), *parts, groups, kw.get("strict_order", False),
                           kw.get("pairless", "keep"))


def same(a, b):
    assert len(a) == len(b) and a.n_features == b.n_features
    assert (a.n_pairless, a.n_skipped) == (b.n_pairless, b.n_skipped)
    for x, y in zip(a.X, b.X):
        assert sp.issparse(x) == sp.issparse(y)
        if sp.issparse(x):
            assert x.shape == y.shape and x.nnz == y.nnz
            np.testing.assert_array_equal(x.indices, y.indices)
            assert np.array_equal(x.data.view(np.int64), y.data.view(np.int64))
        else:
            assert x.shape == y.shape
            assert np.array_equal(np.ascontiguousarray(x).view(np.int64),
                                  np.ascontiguousarray(y).view(np.int64))   # bit for bit
    for x, y in zip(a.y, b.y):
        assert np.array_equal(x.view(np.int64), y.view(np.int64))
    np.testing.assert_array_equal(a.qids, b.qids)
    np.testing.assert_array_equal(a.lines, b.lines)
    assert list(a.comments) == list(b.comments)


@pytest.mark.parametrize("seed", range(8))
def test_random_clean_files_read_the_same(tmp_path, seed):
    path, d = write_random_file(tmp_path, seed,
                                label=lambda rng: rng.choice(["0", "1", "2", "1.5", "-1"]),
                                min_qid_step=0 if seed == 6 else 1, min_fids=0,
                                fixed=seed in (0, 2))
    for kw in ({}, {"n_features": max(1, d // 2)}, {"n_features": d + 3}, {"pairless": "skip"},
               {"dense": True}, {"dense": False}):
        got = numpy_reader(path, **kw)
        assert got is not None, kw
        same(got, exact(path, **kw))


@pytest.mark.parametrize("body", [
    "1 qid:1 1:0.5\n0 qid:2 1:0.1\n1 qid:1 1:0.3\n",        # qid back after another query
    "1 qid:1 1:nan\n0 qid:1 1:0.2\n",                      # not a number
    "1 qid:1 1:1e400\n0 qid:1 1:0.2\n",                    # overflows to inf
    "1 qid:1 2:0.5 1:0.3\n",                               # fids not increasing
    "1 qid:1 1:0.5 1:0.3\n",                               # a fid twice
    "1 qid:1 cost:2 1:0.5\n",                              # a click file
    "x qid:1 1:0.5\n",                                     # TARGET not a number
    "1 1:0.5\n",                                           # no qid
    "1 qid:1 1:0.5 qid:2\n",
    "1 qid:-1 1:0.5\n",
    "1 qid: 1:0.5\n",
    "1 qid:1 0:0.5\n",
    "1 qid:1 1:0x10\n",
    "1 qid:1 1e0:0.5\n",                                   # a fid that is not digits
    "1 qid:1 +1:0.5\n",
    "1 qid:1 1:0.5:2\n",
    "1 qid:1 1::0.5\n",
    "1 qid:1 1: 0.5\n",
    "1 qid:1 :0.5\n",
    "1 qid:1 1:0.5-1\n",
    "1 qid:1 1:.\n",
    "1 qid:1 1:-\n",
    "1 qid:1 1:1_0\n",
    "1 qid:1 12345678901:0.5\n",                           # fid beyond int32
    "1 qid:1 1:0.5\x00\n",
    "1 qid:1 1:0.5\r\n0 qid:1 1:0.25\r\n",
    "1 qid:1 1:0.5 # caf\xe9\n",
    "1_0 qid:1 1:0.5\n",
    "1 qid:1_0 1:0.5\n",
    "1 qid:1 1:0.5 2:1e999999\n",
])
def test_doubtful_files_are_left_to_the_exact_reader(tmp_path, body):
    path = tmp_path / "bad.txt"
    path.write_bytes(body.encode("latin-1"))
    got = numpy_reader(path)
    try:
        want = exact(path)
    except letor.LetorFormatError:
        assert got is None
        with pytest.raises(letor.LetorFormatError):
            letor.load_letor(path)
    else:
        if got is not None:
            same(got, want)
        same(letor.load_letor(path), want)


def test_corrupt_gzip_declines(tmp_path):
    path = tmp_path / "t.gz"
    data = gzip.compress(b"".join(b"1 qid:%d 1:0.5 2:0.25\n" % q for q in range(5000)))
    path.write_bytes(data[: len(data) // 2])
    assert numpy_reader(path) is None
    path.write_bytes(data[:100] + b"\x00" * 50 + data[150:])
    assert numpy_reader(path) is None


def test_group_sizes_without_qids(tmp_path):
    path = tmp_path / "g.txt"
    path.write_text("2 1:0.5 3:0.25\n0 2:1.5\n1 1:0.125\n0 3:2\n")
    got = numpy_reader(path, group_sizes=[3, 1])
    assert got is not None
    same(got, exact(path, group_sizes=[3, 1]))
    assert numpy_reader(path, group_sizes=[2, 1]) is None    # sizes that do not add up


@pytest.mark.parametrize("digits", [(1, 6), (3, 2), (0, 7)])
def test_fixed_point_numbers_in_several_chunks_read_as_float_does(digits):
    """More than one chunk of 65,536 numbers d...d.d...d (and the integer fast path of
    one- and two-digit feature ids): every value is Python's float of its text."""
    from structpred.datasets import letor_numpy as LN
    rng = np.random.default_rng(sum(digits))
    whole, frac = digits
    K = 70_001
    ints = rng.integers(0, 10 ** whole, size=K) if whole else np.zeros(K, dtype=np.int64)
    fracs = rng.integers(0, 10 ** frac, size=K)
    toks = [f"{i:0{whole}d}.{f:0{frac}d}" if whole else f".{f:0{frac}d}" for i, f in zip(ints, fracs)]
    text = (" ".join(toks) + "\n").encode()
    arr = np.frombuffer(text, dtype=np.uint8)
    start = np.r_[0, np.flatnonzero(arr == 32) + 1]
    stop = np.r_[np.flatnonzero(arr == 32), arr.shape[0] - 1]
    got = LN._decimals(arr, start, stop, text)
    assert np.array_equal(got.view(np.int64), np.array([float(t) for t in toks]).view(np.int64))
    ids = [str(int(v)) for v in rng.integers(1, 100, size=K)]
    text = (" ".join(ids) + "\n").encode()
    arr = np.frombuffer(text, dtype=np.uint8)
    start = np.r_[0, np.flatnonzero(arr == 32) + 1]
    stop = np.r_[np.flatnonzero(arr == 32), arr.shape[0] - 1]
    np.testing.assert_array_equal(LN._decimals(arr, start, stop, text, integer=True),
                                  np.array([float(t) for t in ids]))
    bad = text.replace(b" 7 ", b" 7/ ", 1)
    arr = np.frombuffer(bad, dtype=np.uint8)
    start = np.r_[0, np.flatnonzero(arr == 32) + 1]
    stop = np.r_[np.flatnonzero(arr == 32), arr.shape[0] - 1]
    assert LN._decimals(arr, start, stop, bad, integer=True) is None
