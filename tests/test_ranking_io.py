"""load_letor / write_letor: svm_rank, LETOR and svm_proprank files, and every bad input."""
from __future__ import annotations

import gzip

import numpy as np
import pytest

from structpred.datasets.letor import (LetorFormatError, load_letor, load_lightgbm_rank,
                                       load_mq2008, write_letor)
from structpred.tasks.ranking import Click

from conftest import data_file

SVMRANK_EXAMPLE = """\
# svm_rank's example3 layout
3 qid:1 1:1 2:1 3:0 4:0.2 5:0 # 1A
2 qid:1 1:0 2:0 3:1 4:0.1 5:1 # 1B
1 qid:1 1:0 2:1 3:0 4:0.4 5:0 # 1C
1 qid:1 1:0 2:0 3:1 4:0.3 5:0 # 1D
1 qid:2 1:0 2:0 3:1 4:0.2 5:0 # 2A
2 qid:2 1:1 2:0 3:1 4:0.4 5:0 # 2B
1 qid:2 1:0 2:0 3:1 4:0.1 5:0 # 2C
1 qid:2 1:0 2:0 3:1 4:0.2 5:0 # 2D
2 qid:3 1:0 2:0 3:1 4:0.1 5:1 # 3A
3 qid:3 1:1 2:1 3:0 4:0.3 5:0 # 3B
4 qid:3 1:1 2:0 3:0 4:0.4 5:1 # 3C
1 qid:3 1:0 2:1 3:1 4:0.5 5:0 # 3D
"""


def _write(tmp_path, text, name="f.dat"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_reads_svm_rank_file_and_gz(tmp_path):
    p = _write(tmp_path, SVMRANK_EXAMPLE)
    d = load_letor(p)
    assert len(d) == 3 and d.n_features == 5 and d.costs is None
    assert list(d.qids) == [1, 2, 3] and list(d.lines) == [2, 6, 10]
    assert np.array_equal(d.y[2], [2, 3, 4, 1])
    assert d.X[0][0].tolist() == [1, 1, 0, 0.2, 0]
    assert d.comments[0][1] == "1B"
    gz = tmp_path / "f.dat.gz"
    gz.write_bytes(gzip.compress(SVMRANK_EXAMPLE.encode()))
    d2 = load_letor(gz)
    assert all(np.array_equal(a, b) for a, b in zip(d.X, d2.X))
    sparse = load_letor(p, dense=False)
    assert np.array_equal(sparse.X[1].toarray(), d.X[1])
    capped = load_letor(p, n_features=3)
    assert capped.n_features == 3 and capped.X[0].shape == (4, 3)


def test_write_read_roundtrip_rank_and_proprank(tmp_path):
    rng = np.random.default_rng(0)
    X = [rng.random((int(m), 4)) for m in (3, 5, 2)]
    y = [np.array([2.0, 0, 1]), np.array([0, 1, 0, 0, 2.0]), np.array([1.0, 0])]
    write_letor(tmp_path / "r.dat", X, y, qids=[4, 9, 11])
    d = load_letor(tmp_path / "r.dat")
    assert list(d.qids) == [4, 9, 11]
    assert all(np.allclose(a, b) for a, b in zip(d.X, X))
    yc = [np.array([0, 1.0, 0]), np.array([1.0, 0, 0, 0, 0]), np.array([0, 1.0])]
    write_letor(tmp_path / "p.dat", X, yc, costs=[2.5, 1.0, 7.0])
    dp = load_letor(tmp_path / "p.dat")
    assert list(dp.costs) == [2.5, 1.0, 7.0]
    assert dp.clicks() == [Click(1, 2.5), Click(0, 1.0), Click(1, 7.0)]


BAD = [
    ("x qid:1 1:1\n", 1, "TARGET 'x' is not a number"),
    ("1 1:1\n", 1, "missing qid"),
    ("1 qid:a 1:1\n", 1, "qid 'a' is not a decimal integer"),
    ("1 qid:1_0 1:1\n", 1, "qid '1_0' is not a decimal integer"),
    ("1 qid:1 1e3:1\n0 qid:1 2:1\n", 1, "feature id '1e3'"),
    ("1 qid:1 4294967297:1\n0 qid:1 2:1\n", 1, "feature id '4294967297'"),
    ("1 qid:1 1:1\n0 qid:1 2147483647:1\n", 2, "feature id 2147483647 is far above"),
    ("1 qid:1 1:1e300\n0 qid:1 2:1\n", 1, "beyond \\+-1e\\+50"),
    ("1 qid:1 1:1_0\n0 qid:1 2:1\n", 1, "feature value '1_0'"),
    ("1 qid:1 1:1\n0 qid:2 1:1\n0 qid:1 1:2\n", 3, "qid 1 comes back after qid 2 .first seen at line 1"),
    ("1 qid:1 2:1 1:1\n", 1, "increasing order"),
    ("1 qid:1 0:1\n", 1, "must be >= 1"),
    ("1 qid:1 1:nan\n", 1, "not finite"),
    ("1 qid:1 1:abc\n", 1, "not a number"),
    ("1 qid:1 1\n", 1, "not of the form fid:value"),
    ("1 qid:1 1:1 cost:2\n", 1, "cost: must come right after"),
]


@pytest.mark.parametrize("text,line,msg", BAD)
def test_bad_input_names_file_and_line(tmp_path, text, line, msg):
    p = _write(tmp_path, text)
    with pytest.raises(LetorFormatError, match=msg) as exc:
        load_letor(p)
    assert f"{p}, line {line}:" in str(exc.value)


BAD_PROPRANK = [
    ("1 qid:1 cost:0 1:1\n0 qid:1 1:0\n", 1, "positive finite"),
    ("1 qid:1 cost:-2 1:1\n0 qid:1 1:0\n", 1, "positive finite"),
    ("1 qid:1 cost:nan 1:1\n0 qid:1 1:0\n", 1, "positive finite"),
    ("1 qid:1 cost:inf 1:1\n0 qid:1 1:0\n", 1, "positive finite"),
    ("1 qid:1 cost:x 1:1\n0 qid:1 1:0\n", 1, "not a number"),
    ("1 qid:1 cost:2 1:1\n0 qid:1 1:0\n0 qid:2 1:1\n0 qid:2 1:0\n", 3, "no clicked document"),
    ("1 qid:1 cost:2 1:1\n1 qid:1 cost:2 1:0\n", 2, "two clicked documents"),
    ("1 qid:1 1:1\n0 qid:1 1:0\n0 qid:2 cost:3 1:1\n1 qid:2 cost:3 1:3\n", 1, "has no cost"),
    ("2 qid:1 cost:2 1:1\n0 qid:1 1:0\n", 1, "TARGET 2 in an svm_proprank file"),
    ("1 qid:1 cost:2 1:1\n0 qid:1 cost:5 1:0\n", 2, "differs from the click's cost"),
]


@pytest.mark.parametrize("text,line,msg", BAD_PROPRANK)
def test_bad_proprank_input_names_file_and_line(tmp_path, text, line, msg):
    p = _write(tmp_path, text)
    with pytest.raises(LetorFormatError, match=msg) as exc:
        load_letor(p, kind="proprank")
    assert f"{p}, line {line}:" in str(exc.value)


def test_qid_order(tmp_path):
    p = _write(tmp_path, "1 qid:2 1:1\n0 qid:2 1:0\n1 qid:1 1:1\n0 qid:1 1:3\n")
    assert list(load_letor(p).qids) == [2, 1]          # contiguous, not ascending: accepted
    with pytest.raises(LetorFormatError, match=rf"{p}, line 3: qid 1 after qid 2: qids must be in ascending"):
        load_letor(p, strict_order=True)


def test_cost_in_a_rank_file_is_rejected(tmp_path):
    p = _write(tmp_path, "1 qid:1 cost:2 1:1\n0 qid:1 1:0\n")
    with pytest.raises(LetorFormatError, match=r"line 1: cost: in a file read as svm_rank"):
        load_letor(p, kind="rank")


def test_pairless_queries_keep_skip_error(tmp_path):
    text = ("2 qid:1 1:1\n0 qid:1 1:0\n"    # pairs
            "1 qid:2 1:1\n"                  # one document
            "0 qid:3 1:1\n0 qid:3 1:2\n"     # all one grade
            "1 qid:4 1:1\n0 qid:4 1:2\n")
    p = _write(tmp_path, text)
    kept = load_letor(p)
    assert len(kept) == 4 and kept.n_pairless == 2 and kept.n_skipped == 0
    skipped = load_letor(p, pairless="skip")
    assert list(skipped.qids) == [1, 4] and skipped.n_skipped == 2
    with pytest.raises(LetorFormatError, match=rf"{p}, line 3: query qid:2 has one document"):
        load_letor(p, pairless="error")
    p2 = _write(tmp_path, "0 qid:3 1:1\n0 qid:3 1:2\n", "g.dat")
    with pytest.raises(LetorFormatError, match=r"line 1: query qid:3 has all 2 documents of grade 0"):
        load_letor(p2, pairless="error")


def test_empty_file_and_group_sizes(tmp_path):
    with pytest.raises(LetorFormatError, match="empty file"):
        load_letor(_write(tmp_path, "# only a comment\n\n"))
    p = _write(tmp_path, "1 1:1\n0 2:1\n2 1:3\n", "ng.dat")
    d = load_letor(p, group_sizes=[2, 1])
    assert [x.shape[0] for x in d.X] == [2, 1]
    with pytest.raises(LetorFormatError, match="group sizes sum to 4"):
        load_letor(p, group_sizes=[2, 2])


def test_missing_data_names_the_source(tmp_path):
    with pytest.raises(FileNotFoundError, match="LETOR 4.0 MQ2008"):
        load_mq2008(1, "train", data_home=tmp_path)
    with pytest.raises(FileNotFoundError, match="LightGBM"):
        load_lightgbm_rank("train", data_home=tmp_path)


@pytest.mark.realdata
def test_mq2008_fold1_counts():
    data_file("ranking/mq2008/Fold1/train.txt.gz")
    tr = load_mq2008(1, "train")
    assert len(tr) == 471 and sum(x.shape[0] for x in tr.X) == 9630 and tr.n_features == 46
    labels = np.concatenate(tr.y)
    assert np.bincount(labels.astype(int)).tolist() == [7820, 1223, 587]
    te = load_mq2008(1, "test")
    assert len(te) == 156 and sum(x.shape[0] for x in te.X) == 2874


@pytest.mark.realdata
def test_lightgbm_sample_counts():
    data_file("ranking/lightgbm_lambdarank/rank.train.gz")
    tr = load_lightgbm_rank("train")
    assert len(tr) == 201 and sum(x.shape[0] for x in tr.X) == 3005
    te = load_lightgbm_rank("test")
    assert len(te) == 50 and sum(x.shape[0] for x in te.X) == 768
