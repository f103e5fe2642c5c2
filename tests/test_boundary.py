"""The boundary package: arrays, params and bounded text reading (structpred.boundary)."""
import gzip
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
import scipy.sparse as sp

from structpred.boundary import (check_bool, check_choice, check_csr, check_grades, check_int,
                                 check_labels, check_matrix, check_probability, check_real,
                                 check_same_length, check_scores, check_seed, open_binary,
                                 open_text, read_text)
from structpred.errors import MAX_ABS_FEATURE, DataFormatError, InvalidInputError


# ----------------------------------------------------------------------------- params
@pytest.mark.parametrize("bad", [True, False, "1", None, [1.0], float("nan"), float("inf"),
                                 -float("inf"), np.bool_(True), 1j])
def test_check_real_refuses_non_numbers(bad):
    with pytest.raises(InvalidInputError, match=r"^C must be"):
        check_real(bad, "C")


def test_check_real_ranges():
    assert check_real(np.float32(2.5), "C", 0, 10) == 2.5
    assert type(check_real(np.int64(3), "C")) is float
    assert check_real(0.0, "x", 0.0) == 0.0
    with pytest.raises(InvalidInputError, match=r"C must be a finite real number > 0, got 0.0"):
        check_real(0.0, "C", 0.0, low_inclusive=False)
    with pytest.raises(InvalidInputError, match=r"<= 1"):
        check_real(1.5, "p", 0, 1)
    with pytest.raises(InvalidInputError, match="< 1"):
        check_real(1.0, "p", 0, 1, high_inclusive=False)
    assert check_real(float("inf"), "M", 0, allow_inf=True) == float("inf")
    with pytest.raises(InvalidInputError):
        check_real(float("nan"), "M", allow_inf=True)


@pytest.mark.parametrize("bad", [1.7, True, "3", float("nan"), float("inf"), None, 2.5e0])
def test_check_int_refuses(bad):
    with pytest.raises(InvalidInputError, match=r"^k must be an integer"):
        check_int(bad, "k")


def test_check_int_accepts_integral():
    assert check_int(np.int32(4), "k", 1) == 4
    assert check_int(1e3, "k") == 1000 and type(check_int(1e3, "k")) is int
    with pytest.raises(InvalidInputError, match=r"k must be an integer >= 1 and <= 10, got 11"):
        check_int(11, "k", 1, 10)
    with pytest.raises(InvalidInputError, match="got -1"):
        check_int(-1, "cutoff", 0)


def test_check_probability_choice_bool_seed():
    assert check_probability(1.0, "eps") == 1.0
    with pytest.raises(InvalidInputError, match="eps_plus"):
        check_probability(1.01, "eps_plus")
    with pytest.raises(InvalidInputError, match="propensity"):
        check_probability(0.0, "propensity", allow_zero=False)
    assert check_choice("pairs", "loss_type", ("pairs", "auc")) == "pairs"
    assert check_choice(np.int64(1), "n", (1, 2)) == 1
    with pytest.raises(InvalidInputError, match=r"loss_type must be one of 'pairs', 'auc'"):
        check_choice("bogus", "loss_type", ("pairs", "auc"))
    with pytest.raises(InvalidInputError):
        check_choice("1", "n", (1, 2))
    assert check_bool(np.bool_(False), "flag") is False
    with pytest.raises(InvalidInputError, match="flag"):
        check_bool(1, "flag")
    assert check_seed(None) is None and check_seed(5) == 5
    with pytest.raises(InvalidInputError, match="seed"):
        check_seed(-1, "seed")


# ----------------------------------------------------------------------------- arrays
def _csr(data, ind, ptr, shape):
    """A CSR matrix built without scipy's own checks (as a careless caller could)."""
    m = sp.csr_matrix(shape)
    m.data, m.indices, m.indptr = (np.asarray(data, float), np.asarray(ind, np.int32),
                                   np.asarray(ptr, np.int32))
    return m


@pytest.mark.parametrize("col", [-1, 3, 10**6])
def test_check_csr_column_out_of_range(col):
    x = _csr([1.0, 2.0], [0, col], [0, 1, 2], (2, 3))
    with pytest.raises(InvalidInputError, match=rf"query 4: column index {col} outside"):
        check_matrix(x, "query 4", index=4)


def test_check_csr_bad_indptr_and_values():
    with pytest.raises(InvalidInputError, match="row pointer"):
        check_csr(_csr([1.0, 2.0], [0, 1], [0, 2, 1], (2, 3)), "X[0]")
    with pytest.raises(InvalidInputError, match="do not fit"):
        check_csr(_csr([1.0, 2.0], [0, 1], [0, 2], (2, 3)), "X[0]")
    with pytest.raises(InvalidInputError, match="NaN, infinite"):
        check_csr(_csr([1.0, np.nan], [0, 1], [0, 1, 2], (2, 3)), "X[0]")
    with pytest.raises(InvalidInputError, match="beyond"):
        check_csr(_csr([1.0, 1e308], [0, 1], [0, 1, 2], (2, 3)), "X[0]")


def test_check_csr_canonicalises_like_scipy():
    rng = np.random.default_rng(0)
    x = _csr([1.0, 2.0, 3.0, 4.0], [2, 0, 2, 1], [0, 3, 4], (2, 3))  # unsorted + duplicate
    out = check_csr(x, "X")
    assert out.has_canonical_format
    np.testing.assert_array_equal(out.toarray(), [[2.0, 0.0, 4.0], [0.0, 4.0, 0.0]])
    coo = sp.random(5, 7, density=0.4, random_state=1, format="coo")
    np.testing.assert_array_equal(check_matrix(coo, "X").toarray(), coo.toarray())
    bad = sp.coo_matrix((5, 7))
    bad.row, bad.col, bad.data = np.array([0]), np.array([9]), np.array([1.0])
    with pytest.raises(InvalidInputError, match="column index 9"):
        check_matrix(bad, "X")
    dense = rng.normal(size=(3, 4)).astype(np.float32)
    out = check_matrix(dense, "X", n_features=4)
    assert out.dtype == np.float64 and out.flags.c_contiguous
    np.testing.assert_array_equal(out, dense.astype(np.float64))


@pytest.mark.parametrize("bad,match", [
    (np.zeros(3), "2-D"), (np.zeros((0, 3)), "0 rows"), (np.array([["a", "b"]]), "real"),
    (np.array([[1.0, np.inf]]), "infinite"), (np.zeros((2, 4)), "4 features"),
    ([[1.0], [2.0, 3.0]], "not a matrix|2-D|real")])
def test_check_matrix_dense_refusals(bad, match):
    with pytest.raises(InvalidInputError, match=match):
        check_matrix(bad, "X[2]", n_features=3, index=2)


def test_check_labels_scores_grades():
    np.testing.assert_array_equal(check_labels([0, 2.0, 1], "y", 3), [0, 2, 1])
    for bad, match in (([0, 1.5], "not an integer"), ([0, -1], "negative"), ([0, 3], "outside"),
                       (["a"], "integers"), ([[0]], "1-D"), ([np.nan], "not an integer")):
        with pytest.raises(InvalidInputError, match=match):
            check_labels(bad, "y", 3)
    with pytest.raises(InvalidInputError, match="scores: entry 1 is nan"):
        check_scores([1.0, np.nan], "scores")
    with pytest.raises(InvalidInputError, match="3 entries, expected 2"):
        check_scores([1.0, 2.0, 3.0], "scores", 2)
    with pytest.raises(InvalidInputError, match="below the minimum"):
        check_grades([1, -1], "grades")
    with pytest.raises(InvalidInputError, match="above the maximum"):
        check_grades([1, 1100], "grades", max_grade=1000)
    with pytest.raises(InvalidInputError, match="whole number"):
        check_grades([1.5], "grades", integer=True)
    assert check_same_length([1], [2], "X", "Y") == 1
    with pytest.raises(InvalidInputError, match="X has 1 entries but Y has 2"):
        check_same_length([1], [2, 3], "X", "Y")
    assert MAX_ABS_FEATURE == 1e50


# ----------------------------------------------------------------------------- text
def test_plain_and_gzip_read_the_same(tmp_path):
    text = "".join(f"line {i}\n" for i in range(5000))
    (tmp_path / "a.txt").write_text(text)
    with gzip.open(tmp_path / "a.dat", "wt") as fh:  # gzip found by its magic, not the name
        fh.write(text)
    assert read_text(tmp_path / "a.txt") == text
    assert read_text(tmp_path / "a.dat") == text
    with open_text(tmp_path / "a.dat") as fh:
        assert list(fh) == text.splitlines(keepends=True)
        assert fh.lineno == 5000


def test_pipe_is_opened_once_and_loses_nothing(tmp_path):
    """A FIFO (what <(zcat f) and /dev/stdin are) fed gzip and plain data: every byte read."""
    text = "".join(f"{i} qid:{i} 1:0.5\n" for i in range(20000))
    for payload in (gzip.compress(text.encode()), text.encode()):
        fifo = tmp_path / "fifo"
        os.mkfifo(fifo)

        def feed():
            with open(fifo, "wb") as fh:
                fh.write(payload)
        t = threading.Thread(target=feed)
        t.start()
        assert read_text(fifo) == text
        t.join()
        fifo.unlink()


def test_stdin_pipe_in_a_subprocess(tmp_path):
    text = "".join(f"row {i}\n" for i in range(30000))
    code = ("import sys; from structpred.boundary import read_text; "
            "sys.stdout.write(str(len(read_text('/dev/stdin'))))")
    out = subprocess.run([sys.executable, "-c", code], input=gzip.compress(text.encode()),
                         capture_output=True, cwd=os.getcwd(), timeout=60)
    assert out.stdout.decode() == str(len(text)), out.stderr.decode()


def test_fifo_refused_without_hanging_where_a_file_is_required(tmp_path):
    fifo = tmp_path / "model.npz"
    os.mkfifo(fifo)  # no writer: a blocking open would hang forever
    with pytest.raises(DataFormatError, match="FIFO.*regular file is required"):
        open_binary(fifo)
    with pytest.raises(IsADirectoryError):
        open_binary(tmp_path)
    with pytest.raises(FileNotFoundError):
        read_text(tmp_path / "missing.txt")


def test_endless_line_and_dev_zero_stop_at_the_line_limit(tmp_path):
    p = tmp_path / "long.txt"
    p.write_bytes(b"ok\n" + b"x" * 5000 + b"\n")
    with pytest.raises(DataFormatError, match=r"long.txt, line 2: line longer than 1,024"):
        list(open_text(p, max_line_bytes=1024))
    with pytest.raises(DataFormatError, match=r"line 2: line longer"):
        read_text(p, max_line_bytes=1024)
    with pytest.raises(DataFormatError, match=r"/dev/zero, line 1: line longer"):
        read_text("/dev/zero", max_line_bytes=4 << 20)
    with pytest.raises(DataFormatError, match="regular file is required"):
        read_text("/dev/zero", stream=False)


def test_gzip_bomb_refused_early(tmp_path):
    """100 MiB of newlines in a 100 KB gzip (100 members): refused by the ratio and the
    total limits."""
    p = tmp_path / "bomb.gz"
    p.write_bytes(gzip.compress(b"\n" * (1 << 20), 9) * 100)
    assert p.stat().st_size < 1 << 20
    with pytest.raises(DataFormatError, match="gzip bomb"):
        read_text(p)
    with pytest.raises(DataFormatError, match=r"more than 1,000,000 bytes"):
        for _ in open_text(p, max_bytes=10**6):
            pass
    plain = tmp_path / "big.txt"
    plain.write_bytes(b"a\n" * 1000)
    with pytest.raises(DataFormatError, match="more than 100 bytes"):
        read_text(plain, max_bytes=100)


def test_truncated_gzip_and_bad_bytes(tmp_path):
    p = tmp_path / "t.gz"
    p.write_bytes(gzip.compress(b"a b c\n" * 1000)[:-20])
    with pytest.raises(DataFormatError, match="t.gz: truncated"):
        read_text(p)
    with pytest.raises(DataFormatError, match="truncated"):
        list(open_text(p))
    q = tmp_path / "u.txt"
    q.write_bytes(b"fine\nbad \xff here\n")
    with pytest.raises(DataFormatError, match=r"u.txt, line 2: bytes that are not valid utf-8"):
        read_text(q)
    assert "\ufffd" in read_text(q, encoding="ascii", errors="replace")
    r = tmp_path / "notgz.gz"
    r.write_bytes(b"plain\n")
    with pytest.raises(DataFormatError, match="notgz.gz"):
        read_text(r)
