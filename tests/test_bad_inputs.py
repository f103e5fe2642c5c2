"""A corpus of bad and edge inputs at every trust boundary: readers, fit/predict, model files,
metrics and the command line.

Every bad input must raise its documented exception type (exactly that class) with a message
that names the culprit (file and line, example index or header field); edge inputs must be
accepted with the right result. Nothing may crash (signal, RecursionError, MemoryError,
an undocumented exception type) or import code named by a model file.
"""
from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import structpred
from structpred import StructuredSVM
from structpred.datasets.conll import read_conll
from structpred.datasets.diversity import read_ambient_folder
from structpred.datasets.ptb import read_mrg_file
from structpred.datasets.svmhmm import SvmHmmFormatError, read_svmhmm
from structpred.errors import (DataFormatError, InvalidInputError, ModelFileError,
                               ModelQualityWarning)
from structpred.metrics.brackets import bracket_scores
from structpred.metrics.chunking import chunk_scores, token_accuracy
from structpred.metrics.subtopics import as_topic_matrix, weighted_subtopic_loss
from structpred.tasks.multiclass import Multiclass
from structpred.tasks.parsing.trees import MAX_TREE_DEPTH, Tree, TreeError, binarize, normalize, parse_tree
from structpred.tasks.sequence import SequenceLabeling

ROOT = Path(__file__).resolve().parents[1]


def raises(exc_type, pattern, func, *args, **kwargs):
    """func(*args) raises exactly exc_type with a message matching pattern."""
    with pytest.raises(Exception) as info:
        func(*args, **kwargs)
    assert type(info.value) is exc_type, f"{type(info.value).__name__}: {info.value}"
    assert re.search(pattern, str(info.value)), str(info.value)
    return info.value


# ============================================================================ svm_hmm reader
GOOD_HEAD = "1 qid:1 1:1 2:0.5\n2 qid:1 2:1\n"
SVMHMM_BAD = [  # (name, body appended after two good lines, pattern after "line 3: ")
    ("fid-exponent", "1 qid:2 1e3:1", r"'1e3:1'.*not an integer"),
    ("fid-underscore", "1 qid:2 1_0:1", r"'1_0:1'"),
    ("fid-inf", "1 qid:2 inf:1", r"'inf:1'"),
    ("fid-float", "1 qid:2 2.0:1", r"'2.0:1'"),
    ("fid-plus", "1 qid:2 +2:1", r"'\+2:1'"),
    ("fid-2**31", f"1 qid:2 {2**31}:1", rf"feature id {2**31} must be"),
    ("fid-wraps-to-0", "1 qid:2 4294967297:1", r"feature id 4294967297"),
    ("fid-2**53+1", f"1 qid:2 {2**53 + 1}:1", rf"feature id {2**53 + 1}"),
    ("fid-2**63", f"1 qid:2 {2**63}:1", rf"feature id {2**63}"),
    ("fid-zero", "1 qid:2 0:1", r"feature id 0 must be >= 1"),
    ("fid-negative", "1 qid:2 -4:1", r"'-4:1'"),
    ("fid-repeated", "1 qid:2 3:1 3:1", r"increasing order \(3 after 3\)"),
    ("fid-decreasing", "1 qid:2 5:1 3:1", r"increasing order \(3 after 5\)"),
    ("tag-exponent", "1e3 qid:2 1:1", r"tag '1e3' is not an integer"),
    ("tag-underscore", "1_0 qid:2 1:1", r"tag '1_0' is not an integer"),
    ("tag-inf", "inf qid:2 1:1", r"tag 'inf'"),
    ("tag-zero", "0 qid:2 1:1", r"tag 0: token label IDs must be >= 1"),
    ("tag-negative", "-3 qid:2 1:1", r"tag '-3'.*must be >= 1"),
    ("tag-2**63", f"{2**63} qid:2 1:1", rf"tag {2**63}"),
    ("tag-float", "2.0 qid:2 1:1", r"tag '2.0'"),
    ("qid-missing", "1 1:1", r"missing qid"),
    ("qid-exponent", "1 qid:1e5 1:1", r"qid 'qid:1e5'"),
    ("qid-negative", "1 qid:-1 1:1", r"qid 'qid:-1'"),
    ("qid-decreasing", "1 qid:0 1:1", r"qids must not decrease"),
    ("qid-huge", f"1 qid:{10**19} 1:1", r"too large"),
    ("value-inf", "1 qid:2 1:inf", r"value in '1:inf'.*not finite"),
    ("value-nan", "1 qid:2 1:nan", r"value in '1:nan'"),
    ("value-hex", "1 qid:2 1:0x1p3", r"value in '1:0x1p3'"),
    ("value-overflow", "1 qid:2 1:1e999", r"feature 1: value inf is infinite"),
    ("value-too-large", "1 qid:2 1:1e300", r"beyond \+-1e\+50"),
    ("value-two-dots", "1 qid:2 1:1.2.3", r"value in '1:1.2.3'"),
    ("value-empty", "1 qid:2 1: 3:4", r"value in '1:'"),
    ("value-glued-sign", "1 qid:2 1:2+3 4: 5:6", r"value in '1:2\+3'"),
    ("value-exponent-empty", "1 qid:2 1:1e", r"value in '1:1e'"),
    ("value-underscore", "1 qid:2 1:1_0", r"value in '1:1_0'"),
    ("token-two-colons", "1 qid:2 1:2:3 4", r"'1:2:3'"),
    ("token-no-colon", "1 qid:2 1:1 7", r"'7'.*not of the form fid:value"),
    ("token-no-fid", "1 qid:2 :5", r"':5'"),
    ("non-ascii", "1 qid:2 1:\u00b2", r"value in '1:\u00b2'"),
    ("control-char", "1\x1cqid:2 1:1", r"missing qid|not an integer"),
]


@pytest.mark.parametrize("name,line,pattern", SVMHMM_BAD, ids=[c[0] for c in SVMHMM_BAD])
def test_svmhmm_rejects_with_file_and_line(tmp_path, name, line, pattern):
    p = tmp_path / "bad.dat"
    p.write_bytes((GOOD_HEAD + line + "\n1 qid:9 1:1\n").encode("latin-1"))
    raises(SvmHmmFormatError, r"bad\.dat, line 3: .*" + pattern, read_svmhmm, p)


def test_svmhmm_one_line_cannot_request_a_huge_model(tmp_path):
    p = tmp_path / "tags.dat"
    p.write_text(GOOD_HEAD + "1000000 qid:2 1:1\n")
    raises(SvmHmmFormatError, r"tags\.dat, line 3: tag 1000000 is far above the 3 distinct", read_svmhmm, p)
    p.write_text(GOOD_HEAD + f"1 qid:2 {2**30}:1\n")
    raises(SvmHmmFormatError, rf"line 3: feature id {2**30} is far above", read_svmhmm, p)
    # with n_features (a test file read against a model), high ids are just dropped
    d = read_svmhmm(p, n_features=2)
    assert d.n_features == 2 and d.X[1].nnz == 0


def test_svmhmm_gzip_faults_name_the_file(tmp_path):
    good = gzip.compress((GOOD_HEAD * 200).encode())
    (tmp_path / "cut.dat.gz").write_bytes(good[: len(good) // 2])
    raises(DataFormatError, r"cut\.dat\.gz: truncated", read_svmhmm, tmp_path / "cut.dat.gz")
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0xFF
    (tmp_path / "flip.dat.gz").write_bytes(bytes(bad))
    raises(DataFormatError, r"flip\.dat\.gz: (corrupt|truncated)", read_svmhmm, tmp_path / "flip.dat.gz")
    (tmp_path / "plain.dat.gz").write_text(GOOD_HEAD)       # .gz name, not gzip data
    raises(DataFormatError, r"plain\.dat\.gz: corrupt", read_svmhmm, tmp_path / "plain.dat.gz")
    raises(FileNotFoundError, r"missing\.dat", read_svmhmm, tmp_path / "missing.dat")
    raises(IsADirectoryError, "", read_svmhmm, tmp_path)
    raises(ValueError, r"n_features must be a positive integer", read_svmhmm,
           tmp_path / "cut.dat.gz", n_features=0)


def test_svmhmm_edge_cases_accepted(tmp_path):
    p = tmp_path / "edge.dat"
    p.write_bytes(b"# header\r\n\t3 qid:7\t1:+1 4:.5 6:5. 9:-2E-1 # c:1 x\r\n"
                  b"1 qid:7 #only a comment\n\n2 qid:8 2:1e-400 3:007\n")
    d = read_svmhmm(p)
    assert d.n_features == 9 and d.max_tag == 3 and list(d.qids) == [7, 8]
    np.testing.assert_array_equal(d.X[0].toarray()[0, [0, 3, 5, 8]], [1, 0.5, 5, -0.2])
    assert d.X[0][1].nnz == 0 and d.X[1][0, 1] == 0.0 and d.X[1][0, 2] == 7.0
    np.testing.assert_array_equal(d.Y[0], [2, 0])
    p.write_text("1 qid:1 1:0.1 2:123456789012345678901234 3:1.7976931348623157e-300\n")
    v = read_svmhmm(p).X[0].toarray()[0]
    assert v[0] == 0.1 and v[1] == float("123456789012345678901234") and v[2] == 1.7976931348623157e-300


def test_svmhmm_empty_file(tmp_path):
    p = tmp_path / "e.dat"
    p.write_text("# nothing\n\n")
    raises(SvmHmmFormatError, r"e\.dat: empty file", read_svmhmm, p)


# ============================================================================ other readers
def test_conll_reader(tmp_path):
    p = tmp_path / "c.txt"
    p.write_text("He PRP B-NP\nran VBD\n")
    raises(DataFormatError, r"c\.txt, line 2: 2 columns, expected 3", read_conll, p)
    p.write_bytes(b"He PRP B-NP\nr\xffn VBD B-VP\n")
    raises(DataFormatError, r"c\.txt, line 2: bytes that are not valid utf-8", read_conll, p)
    g = gzip.compress(b"He PRP B-NP\n" * 500)
    (tmp_path / "c.txt.gz").write_bytes(g[:-20])
    raises(DataFormatError, r"c\.txt\.gz: truncated", read_conll, tmp_path / "c.txt.gz")


MRG_BAD = [
    ("close-first", "( (S (NP (DT a))) ))\n", r"line 1: unbalanced brackets: '\)'"),
    ("unclosed", "( (S (NP (DT a))\n\n", r"unbalanced brackets: 2 '\(' not closed"),
    ("outside-text", "( (S (DT a)) ) word\n", r"line 1: text 'word' outside"),
    ("empty-bracket", "( (S (NP ) (DT a)) )\n", r"line 1: empty tree or empty bracket '\(NP\)'"),
    ("mixed", "( (S (NP a (DT b))) )\n", r"line 1: node 'NP' mixes a word"),
    ("too-deep", "\n" + "(X " * 5000 + "(DT a)" + ")" * 5000 + "\n", r"line 2: brackets nested deeper than"),
]


@pytest.mark.parametrize("name,text,pattern", MRG_BAD, ids=[c[0] for c in MRG_BAD])
def test_mrg_reader_rejects(tmp_path, name, text, pattern):
    p = tmp_path / "wsj_0001.mrg"
    p.write_text(text)
    raises(TreeError, r"wsj_0001\.mrg.*" + pattern, read_mrg_file, p)


def test_mrg_reader_bad_bytes_and_deep_api_trees(tmp_path):
    p = tmp_path / "wsj_0002.mrg"
    p.write_bytes(b"( (S (NN caf\xe9)) )\n")
    raises(DataFormatError, r"wsj_0002\.mrg, line 1: bytes that are not valid utf-8", read_mrg_file, p)
    deep = Tree("DT", ["a"])
    for _ in range(5000):
        deep = Tree("X", [deep])
    raises(TreeError, r"tree 3: nested deeper than MAX_TREE_DEPTH", normalize, deep, index=3)
    # the deepest accepted tree goes through every transform without RecursionError
    ok = Tree("DT", ["a"])
    for _ in range(MAX_TREE_DEPTH - 2):
        ok = Tree("X", [ok, Tree("NN", ["b"])])
    t = normalize(Tree("", [ok]))
    assert len(binarize(t).leaves()) == MAX_TREE_DEPTH - 1


def _ambient(tmp_path, results=None, rel=None, topics=None):
    f = tmp_path / "amb"
    f.mkdir(exist_ok=True)
    (f / "topics.txt").write_text(topics or "ID\tdescription\n1\tjaguar\n2\tpython\n")
    (f / "subTopics.txt").write_text("ID\tdescription\n1.1\tcar\n1.2\tcat\n2.1\tsnake\n")
    (f / "results.txt").write_text(results or "ID\turl\ttitle\tsnippet\n1.1\tu\tt\ts\n1.2\tu\tt\ts\n2.1\tu\tt\ts\n")
    (f / "STRel.txt").write_text(rel or "subTopicID\tresultID\n1.1\t1.1\n1.2\t1.2\n2.1\t2.1\n")
    return f


def test_ambient_reader(tmp_path):
    d = read_ambient_folder(_ambient(tmp_path))
    assert len(d) == 2 and d.topics[0].tolist() == [[True, False], [False, True]]
    raises(DataFormatError, r"STRel\.txt:3: unknown result id '1\.9'", read_ambient_folder,
           _ambient(tmp_path, rel="subTopicID\tresultID\n1.1\t1.1\n1.2\t1.9\n"))
    raises(DataFormatError, r"STRel\.txt:2: subtopic '1\.1' and result '2\.1' belong to different",
           read_ambient_folder, _ambient(tmp_path, rel="subTopicID\tresultID\n1.1\t2.1\n"))
    raises(DataFormatError, r"results\.txt:3: bad result line", read_ambient_folder,
           _ambient(tmp_path, results="ID\turl\ttitle\tsnippet\n1.1\tu\tt\ts\n1.x\tu\tt\ts\n"))
    raises(DataFormatError, r"topics\.txt:3: duplicate topic id '1'", read_ambient_folder,
           _ambient(tmp_path, topics="ID\td\n1\ta\n1\tb\n"))
    f = _ambient(tmp_path)
    data = gzip.compress((f / "results.txt").read_bytes() * 100)
    (f / "results.txt").unlink()
    (f / "results.txt.gz").write_bytes(data[:40])
    raises(DataFormatError, r"results\.txt\.gz: truncated", read_ambient_folder, f)


def test_trec_and_csv_readers(tmp_path):
    from structpred.datasets import load_iris, load_trec_aspects
    base = tmp_path / "diversity" / "trec678_interactive_aspects"
    base.mkdir(parents=True)
    (base / "TRECQueryAspects.txt").write_text("q1 d1 0101\nq1 d2 011\n")
    raises(DataFormatError, r"TRECQueryAspects\.txt:2: query q1 has 4 aspects", load_trec_aspects,
           tmp_path, queries="all")
    (base / "TRECQueryAspects.txt").write_text("q1 d1 0102\n")
    raises(DataFormatError, r"TRECQueryAspects\.txt:1: expected 'QUERY DOCNO BITS'", load_trec_aspects,
           tmp_path, queries="all")
    (tmp_path / "multiclass").mkdir()
    (tmp_path / "multiclass" / "iris.csv").write_text("h\n1,2,0\n1,nan,1\n")
    raises(DataFormatError, r"iris\.csv, line 3: NaN", load_iris, tmp_path)
    (tmp_path / "multiclass" / "iris.csv").write_text("h\n1,2,0\n1,2,0.5\n")
    raises(DataFormatError, r"iris\.csv, line 3: label 0\.5", load_iris, tmp_path)
    (tmp_path / "multiclass" / "iris.csv").write_text("h\n1,2,0\n1,x,1\n")
    raises(DataFormatError, r"iris\.csv: not a numeric CSV", load_iris, tmp_path)


# ============================================================================ fit / predict
def _seq_data(n=6, F=5, seed=0):
    rng = np.random.default_rng(seed)
    X = [sp.csr_matrix(rng.random((int(rng.integers(2, 5)), F)) * (rng.random((1, F)) < 0.6))
         for _ in range(n)]
    Y = [rng.integers(0, 3, x.shape[0]) for x in X]
    Y[0][0] = 2
    return X, Y


def _bad_csr(col, F=5):
    """A 2 x F CSR whose second entry has column index ``col`` (built without checks)."""
    m = sp.csr_matrix((F, F))
    m = sp.csr_matrix((np.array([1.0, 1.0]), np.array([0, col], dtype=np.int32),
                       np.array([0, 1, 2])), shape=(2, F))
    return m


SEQ_BAD = [  # (name, mutate(X, Y) -> (X, Y), pattern)
    ("csr-column-beyond", lambda X, Y: (X[:4] + [_bad_csr(7)] + X[5:], Y), r"X\[4\]: column index 7 outside"),
    ("csr-column-huge", lambda X, Y: (X[:3] + [_bad_csr(2**31 - 1)] + X[4:], Y), r"X\[3\]: column index 2147483647"),
    ("csr-column-negative", lambda X, Y: (X[:2] + [_bad_csr(-1)] + X[3:], Y), r"X\[2\]: column index -1"),
    ("csr-indptr-decreasing", lambda X, Y: (X[:3] + [sp.csr_matrix((np.ones(2), np.array([0, 1], dtype=np.int32),
                                                                    np.array([0, 2, 1, 2])), shape=(3, 5))] + X[4:], Y),
     r"X\[3\]: malformed CSR row pointer"),
    ("csr-indptr-short", lambda X, Y: (X[:5] + [sp.csr_matrix((np.ones(1), np.array([0], dtype=np.int32),
                                                                np.array([0, 1])), shape=(1, 5))] + X[6:], Y),
     r"X\[5\]"),
    ("token-1d-array", lambda X, Y: (X[:1] + [np.ones(5)] + X[2:], Y), r"X\[1\]: expected a 2-D"),
    ("nan-value", lambda X, Y: (X[:5] + [sp.csr_matrix(np.full((len(Y[5]), 5), np.nan))], Y), r"X\[5\]: feature value nan"),
    ("huge-value", lambda X, Y: (X[:2] + [X[2] * 0 + sp.csr_matrix(np.full(X[2].shape, 1e300))] + X[3:], Y),
     r"X\[2\]: feature value 1e\+300"),
    ("complex-dtype", lambda X, Y: (X[:1] + [X[1].toarray() + 1j] + X[2:], Y), r"X\[1\]: features must be real"),
    ("string-dtype", lambda X, Y: (X[:1] + [np.full(X[1].shape, "a")] + X[2:], Y), r"X\[1\]: features must be real"),
    ("ragged-list", lambda X, Y: (X[:1] + [[[1, 2], [3]]] + X[2:], Y), r"X\[1\]: not a \(tokens x features\)"),
    ("rows-vs-labels", lambda X, Y: (X, Y[:3] + [Y[3][:-1]] + Y[4:]), r"X\[3\] has \d+ tokens .*Y\[3\] has"),
    ("label-2d", lambda X, Y: (X, Y[:1] + [Y[1].reshape(-1, 1)] + Y[2:]), r"Y\[1\]: expected a 1-D"),
    ("label-float", lambda X, Y: (X, Y[:2] + [Y[2] + 0.5] + Y[3:]), r"Y\[2\]: labels must be integers"),
    ("label-negative", lambda X, Y: (X, Y[:4] + [Y[4] - 5] + Y[5:]), r"Y\[4\]: negative label"),
    ("label-huge-float", lambda X, Y: (X, Y[:1] + [Y[1] * 0 + 1e30] + Y[2:]), r"Y\[1\]: label 1e\+30 is out of range"),
    ("empty-sequence", lambda X, Y: (X[:1] + [sp.csr_matrix((0, 5))] + X[2:], Y[:1] + [np.zeros(0, int)] + Y[2:]),
     r"X\[1\]: empty sequence"),
    ("lengths", lambda X, Y: (X, Y[:-1]), r"len\(X\)=6, len\(Y\)=5"),
    ("X-not-a-sequence", lambda X, Y: (iter(X), Y), r"X must be a sequence"),
    ("X-none", lambda X, Y: (None, Y), r"X must be a sequence"),
]


@pytest.mark.parametrize("name,mutate,pattern", SEQ_BAD, ids=[c[0] for c in SEQ_BAD])
def test_sequence_fit_rejects_every_bad_example(name, mutate, pattern):
    X, Y = mutate(*_seq_data())
    raises(InvalidInputError, pattern, StructuredSVM(SequenceLabeling(), C=1.0).fit, X, Y)


def test_sequence_predict_checks_every_example():
    X, Y = _seq_data()
    svm = StructuredSVM(SequenceLabeling(), C=1.0).fit(X, Y)
    raises(InvalidInputError, r"X\[2\]: column index 9 outside", svm.predict, X[:2] + [_bad_csr(9)])
    raises(InvalidInputError, r"X\[1\]: expected a 2-D", svm.predict, [X[0], np.arange(3.0)])
    # edge: a list of lists is a dense matrix; wider test matrices are cut to n_features
    dense = [X[0].toarray().tolist(), sp.hstack([X[1], sp.csr_matrix(np.ones((X[1].shape[0], 3)))]).tocsr()]
    pred = svm.predict(dense)
    assert [list(p) for p in pred] == [list(p) for p in svm.predict(X[:2])]


def test_sequence_model_size_guard():
    X = [sp.csr_matrix(np.ones((2, 3000)))]
    raises(InvalidInputError, r"the model would need .* weights .*Y\[0\]", StructuredSVM(SequenceLabeling()).fit,
           X, [np.array([0, 10**6])])


MC_BAD = [
    ("ragged", lambda X, y: ([X[0], X[1][:2]] + list(X[2:]), y), r"ragged X: example 1"),
    ("nan", lambda X, y: (np.vstack([X[:3], [[np.nan] * 4], X[4:]]), y), r"example 3"),
    ("huge", lambda X, y: (np.vstack([X[:5], [[1e300] * 4], X[6:]]), y), r"too large .* example 5"),
    ("strings", lambda X, y: (X.astype(str), y), r"real numbers, got dtype <U"),
    ("label-float", lambda X, y: (X, np.r_[y[:2], 0.5, y[3:]]), r"example 2 has 0\.5"),
    ("label-1e30", lambda X, y: (X, np.r_[y[:2], 1e30, y[3:]]), r"example 2 has 1e\+30"),
    ("label-negative", lambda X, y: (X, np.r_[y[:7], -1, y[8:]]), r"example 7 is negative"),
    ("label-strings", lambda X, y: (X, y.astype(str)), r"integer labels; example 0"),
    ("label-huge-class", lambda X, y: (X, np.r_[y[:1], 10**9, y[2:]]), r"max_weights.*example 1"),
]


@pytest.mark.parametrize("name,mutate,pattern", MC_BAD, ids=[c[0] for c in MC_BAD])
def test_multiclass_fit_rejects(name, mutate, pattern):
    rng = np.random.default_rng(1)
    X, y = rng.random((12, 4)), rng.integers(0, 3, 12)
    X, y = mutate(X, y)
    raises(InvalidInputError, pattern, StructuredSVM(Multiclass()).fit, X, y)


def test_multiclass_sparse_input():
    rng = np.random.default_rng(2)
    X, y = rng.random((20, 4)), rng.integers(0, 3, 20)
    a = StructuredSVM(Multiclass(), C=3.0, eps=1e-4).fit(X, y)
    assert np.array_equal(a.predict(sp.csr_matrix(X)), a.predict(X))  # edge: predict densifies it
    b = StructuredSVM(Multiclass(), C=3.0, eps=1e-4).fit(sp.csr_matrix(X), y)  # and so does fit
    assert np.array_equal(a.w_, b.w_)


def test_parsing_and_diversity_inputs():
    from structpred.tasks.diversity import DiverseSubset
    from structpred.tasks.parsing import ConstituencyParsing
    t = normalize(parse_tree("( (S (NP (DT a)) (VP (VB b))) )"))
    x = t.pos()
    m = ConstituencyParsing()
    raises(InvalidInputError, r"sentence 1, token 0: expected a \(word, tag\) pair", m.check_input,
           [x, [("a",)]], [t, t])
    raises(InvalidInputError, r"tree 1: root label is 'S'", m.check_input, [x, x], [t, t.children[0]])
    deep = Tree("DT", ["a"])
    for _ in range(MAX_TREE_DEPTH + 5):
        deep = Tree("X", [deep])
    raises(InvalidInputError, r"tree 0: nested deeper", m.check_input, [[("a", "DT")]], [Tree("TOP", [deep])])
    raises(InvalidInputError, r"example 0: expected a CandidateSet", DiverseSubset(k=2).check_input, [None, "x"])


# ============================================================================ model files
@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(30, 3))
    y = np.argmax(X @ rng.normal(size=(3, 3)), axis=1)
    path = tmp_path_factory.mktemp("m") / "good.npz"
    StructuredSVM(Multiclass(), C=2.0).fit(X, y).save(path)
    return path, X


def _doctor(src, dst, header=None, arrays=None, drop=()):
    with np.load(src) as f:
        data = {k: f[k] for k in f.files}
    h = json.loads(data["__structpred__"].tobytes())
    if header:
        header(h)
    data["__structpred__"] = np.frombuffer(json.dumps(h).encode(), dtype=np.uint8)
    data.update(arrays or {})
    for k in drop:
        data.pop(k)
    np.savez(dst, **data)
    return dst


MODEL_BAD = [  # (name, header edit, arrays, drop, pattern)
    ("task-plugin", lambda h: h.update(task="plugin:X"), None, (), r"unknown task 'plugin:X'"),
    ("task-os-system", lambda h: h.update(task="os:system"), None, (), r"unknown task 'os:system'"),
    ("v1-class-plugin", lambda h: (h.update(version=1, model_class="plugin:X"), h.pop("task")), None, (),
     r"unknown task 'plugin:X'"),
    ("task-missing", lambda h: h.pop("task"), None, (), r"header field 'task' is missing"),
    ("fitted-predict", lambda h: h["fitted"].update(predict=1), None, (), r"unknown fitted attribute 'predict'"),
    ("fitted-w_", lambda h: h["fitted"].update(w_=[0, 0]), None, (), r"unknown fitted attribute 'w_'"),
    ("fitted-type", lambda h: h["fitted"].update(n_iter_="7"), None, (), r"'n_iter_' = '7' is not a number"),
    ("fitted-bool", lambda h: h["fitted"].update(converged_=3), None, (), r"'converged_' = 3 is not a bool"),
    ("fitted-not-dict", lambda h: h.update(fitted=[1]), None, (), r"header field 'fitted' is not a JSON object"),
    ("params-unknown", lambda h: h["model_params"].update(evil=1), None, (), r"task parameter 'evil'"),
    ("params-bad-value", lambda h: h["model_params"].update(n_classes="x"), None, (), r"cannot be rebuilt"),
    ("estimator-unknown", lambda h: h["estimator_params"].update(callback="os.system"), None, (),
     r"estimator parameter 'callback'"),
    ("estimator-C-nan", lambda h: h["estimator_params"].update(C=float("nan")), None, (), r"C must be a positive"),
    ("estimator-n_jobs-str", lambda h: h["estimator_params"].update(n_jobs="all"), None, (), r"'n_jobs' = 'all' has the wrong"),
    ("params-overflow", lambda h: h["model_params"].update(n_classes=1e400), None, (), r"cannot be rebuilt|n_classes"),
    ("state-shadows-method", lambda h: h["model_state"].update(loss=1), None, (), r"state key 'loss' would replace"),
    ("state-dunder", lambda h: h["model_state"].update(__class__=1), None, (), r"'__class__' is not a plain"),
    ("version-newer", lambda h: h.update(version=999), None, (), r"version 999 is newer"),
    ("version-string", lambda h: h.update(version="2"), None, (), r"'version' is '2'"),
    ("format", lambda h: h.update(format="other"), None, (), r"format 'other'"),
    ("w-nan", None, {"w": np.full(9, np.nan)}, (), r"9 non-finite weights \(first at index 0"),
    ("w-inf-one", None, {"w": np.r_[np.zeros(8), np.inf]}, (), r"1 non-finite weights \(first at index 8"),
    ("w-short", None, {"w": np.zeros(5)}, (), r"w has length 5 but the task expects 9"),
    ("w-2d", None, {"w": np.zeros((3, 3))}, (), r"w must be a 1-D"),
    ("w-object", None, {"w": np.array([{}] * 9, dtype=object)}, (), r"array 'w' is damaged|dtype object"),
    ("w-missing", None, None, ("w",), r"no weight vector"),
    ("w-oversized", None, {"w": np.zeros(10**6)}, (), r"more than the 9 weights"),
    ("extra-array", None, {"evil": np.zeros(2)}, (), r"unexpected array 'evil'"),
    ("no-header", None, None, ("__structpred__",), r"no header"),
]


@pytest.mark.parametrize("name,edit,arrays,drop,pattern", MODEL_BAD, ids=[c[0] for c in MODEL_BAD])
def test_model_file_rejected(model_file, tmp_path, name, edit, arrays, drop, pattern):
    bad = _doctor(model_file[0], tmp_path / "bad.npz", edit, arrays, drop)
    raises(ModelFileError, r"bad\.npz.*" + pattern, structpred.load, bad)


def test_model_file_damaged_bytes(model_file, tmp_path):
    raw = model_file[0].read_bytes()
    (tmp_path / "cut.npz").write_bytes(raw[: len(raw) // 2])
    raises(ModelFileError, r"cut\.npz is not a structpred model file", structpred.load, tmp_path / "cut.npz")
    with np.load(model_file[0]) as f:
        data = {k: f[k] for k in f.files}
    for name, blob in (("json", b"{not json"), ("list", b"[1, 2]"), ("utf8", b"\xff\xfe")):
        data["__structpred__"] = np.frombuffer(blob, dtype=np.uint8)
        np.savez(tmp_path / f"{name}.npz", **data)
        raises(ModelFileError, rf"{name}\.npz: the header is not (valid JSON|a JSON object)",
               structpred.load, tmp_path / f"{name}.npz")
    np.save(tmp_path / "bare.npy", np.zeros(3))
    raises(ModelFileError, r"bare\.npy.*bare \.npy array", structpred.load, tmp_path / "bare.npy")
    (tmp_path / "text.npz").write_text("hello")
    raises(ModelFileError, r"text\.npz is not a structpred model file", structpred.load, tmp_path / "text.npz")
    np.savez(tmp_path / "pickled.npz", __structpred__=np.array([object()], dtype=object), w=np.zeros(9))
    raises(ModelFileError, r"pickled\.npz", structpred.load, tmp_path / "pickled.npz")
    raises(FileNotFoundError, "", structpred.load, tmp_path / "absent.npz")


def test_plugin_in_cwd_is_never_imported(model_file, tmp_path):
    """A header naming plugin:X, with a plugin.py in the working directory: load and the
    command line refuse it and the module never runs."""
    _doctor(model_file[0], tmp_path / "m2.npz", lambda h: h.update(task="plugin:X"))
    _doctor(model_file[0], tmp_path / "m1.npz",
            lambda h: (h.update(version=1, model_class="plugin:X"), h.pop("task")))
    (tmp_path / "plugin.py").write_text("open('IMPORTED', 'w').write('x')\nclass X: pass\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for name in ("m1.npz", "m2.npz"):
        code = (f"import structpred, sys\ntry:\n    structpred.load({name!r})\n"
                "except structpred.errors.ModelFileError as e:\n    print('REFUSED', e)\n")
        out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=300)
        assert "REFUSED" in out.stdout and "plugin:X" in out.stdout, out.stderr
        (tmp_path / "t.dat").write_text("1 qid:1 1:1\n")
        cli = subprocess.run([sys.executable, "-m", "structpred", "classify", "t.dat", name, "o.txt"],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert cli.returncode == 1 and "unknown task 'plugin:X'" in cli.stderr, cli.stderr
        assert "Traceback" not in cli.stderr
    assert not (tmp_path / "IMPORTED").exists()


def test_model_file_edge_cases(model_file, tmp_path):
    path, X = model_file
    good = structpred.load(path)
    # a version-1 file (model_class path, no training outcome) still loads, without warnings
    old = _doctor(path, tmp_path / "v1.npz", lambda h: (
        h.update(version=1, model_class="structpred.tasks.multiclass:Multiclass"), h.pop("task"),
        h["fitted"].pop("interrupted_"), h["fitted"].pop("primal_at_zero_")))
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        v1 = structpred.load(old)
    assert np.array_equal(v1.predict(X), good.predict(X)) and getattr(v1, "interrupted_", None) is None
    import warnings as w_
    with w_.catch_warnings():
        w_.simplefilter("error")
        assert structpred.load(path).converged_   # a good model loads silently
    # StructuredSVM.load is the same reader
    assert np.array_equal(StructuredSVM.load(path).predict(X), good.predict(X))
    # an interrupted model says so on load; w = 0 says it is no better than untrained
    intr = _doctor(path, tmp_path / "intr.npz", lambda h: h["fitted"].update(interrupted_=True, converged_=False))
    with pytest.warns(ModelQualityWarning, match=r"intr\.npz: interrupted \(Ctrl-C\), after \d+ iterations"):
        structpred.load(intr)
    zero = _doctor(path, tmp_path / "zero.npz", None, {"w": np.zeros(9)})
    with pytest.warns(ModelQualityWarning, match="no better than that of w = 0"):
        structpred.load(zero)


def test_ctrl_c_at_w0_is_recorded_and_reported(tmp_path):
    rng = np.random.default_rng(4)
    X, y = rng.random((40, 3)), rng.integers(0, 3, 40)

    def stop(iteration, w, record):
        if iteration == 2:
            raise KeyboardInterrupt

    svm = StructuredSVM(Multiclass(), C=1e4, eps=1e-6, callback=stop)
    with pytest.warns(RuntimeWarning, match="interrupted"):
        svm.fit(X, y)
    assert svm.interrupted_ and svm.primal_at_zero_ == pytest.approx(1e4 * 1.0)
    svm.save(tmp_path / "ctrlc.npz")
    header = json.loads(np.load(tmp_path / "ctrlc.npz")["__structpred__"].tobytes())
    assert header["fitted"]["interrupted_"] is True and header["fitted"]["n_iter_"] == 2
    assert header["version"] == 2 and header["task"] == "Multiclass"
    with pytest.warns(ModelQualityWarning, match="interrupted") as rec:
        back = structpred.load(tmp_path / "ctrlc.npz")
    assert back.interrupted_ and back.n_iter_ == 2
    if not np.any(svm.w_):   # the best primal seen was w = 0's: said plainly
        assert "no better than that of w = 0" in str(rec[0].message)


def test_user_task_needs_tasks_argument(tmp_path):
    class Ordinal(Multiclass):
        pass
    rng = np.random.default_rng(5)
    X = rng.normal(size=(20, 3))
    y = np.argmax(X, axis=1)
    StructuredSVM(Ordinal()).fit(X, y).save(tmp_path / "u.npz")
    raises(ModelFileError, r"unknown task '.*Ordinal'.*tasks=\[MyTask\]", structpred.load, tmp_path / "u.npz")
    assert type(structpred.load(tmp_path / "u.npz", tasks=[Ordinal]).model) is Ordinal
    assert type(structpred.load(tmp_path / "u.npz", tasks={"x": Ordinal}).model) is Ordinal


# ============================================================================ metrics
def test_metrics_refuse_lists_of_different_lengths():
    t = parse_tree("(S (NP (DT a)) (VP (VB b)))")
    raises(InvalidInputError, r"gold_trees has 2 trees but test_trees has 1", bracket_scores, [t, t], [t])
    raises(InvalidInputError, r"y_true has 1 sentences but y_pred has 2", chunk_scores, [["B-NP"]], [["B-NP"], ["O"]])
    raises(InvalidInputError, r"y_true has 2 sentences but y_pred has 1", token_accuracy, [["O"], ["O"]], [["O"]])
    raises(InvalidInputError, r"weights: has 1 entries, expected 2", weighted_subtopic_loss, np.eye(2), [0], [1.0])
    raises(InvalidInputError, r"document 0: subtopic index 999999999 is far above", as_topic_matrix, [[10**9 - 1]])
    raises(InvalidInputError, r"document 1: subtopic indices must be integers", as_topic_matrix, [[0], [1.5]])


def test_bracket_scores_keep_a_non_top_root():
    """evalb on a toy pair: gold (S (NP a b) (VP c (NP d))), test (S (NP a) (VP b c d)).
    Brackets: gold S[0,4] NP[0,2] VP[2,4] NP[3,4]; test S[0,4] NP[0,1] VP[1,4]; one match (S),
    P = 1/3, R = 1/4 -> F1 = 2/7 = 28.57 (without the S bracket it would be 0)."""
    g = parse_tree("(S (NP (DT a) (NN b)) (VP (VB c) (NP (NN d))))")
    t = parse_tree("(S (NP (DT a)) (VP (NN b) (VB c) (NN d)))")
    s = bracket_scores([g], [t])
    assert (s["matched"], s["gold"], s["test"]) == (1, 4, 3)
    assert s["f1"] == pytest.approx(100 * 2 / 7)
    wrapped = bracket_scores([Tree("TOP", [g])], [Tree("", [t])])   # TOP / unlabeled wrappers dropped
    assert (wrapped["matched"], wrapped["gold"], wrapped["test"]) == (1, 4, 3)


# ============================================================================ command line
def _cli(args, cwd):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "structpred", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def test_cli_learn_and_classify_name_the_culprit(tmp_path):
    (tmp_path / "bad.dat").write_text("1 qid:1 1:1\n2 qid:1 1e3:1\n")
    out = _cli(["learn", "-c", "1", "bad.dat", "m.npz"], tmp_path)
    assert out.returncode == 1 and "bad.dat, line 2:" in out.stderr and "Traceback" not in out.stderr
    (tmp_path / "tag.dat").write_text("1 qid:1 1:1\n1000000 qid:2 1:1\n")
    out = _cli(["learn", "-c", "1", "tag.dat", "m.npz"], tmp_path)
    assert out.returncode == 1 and "tag.dat, line 2: tag 1000000" in out.stderr
    out = _cli(["learn", "-c", "1", "absent.dat", "m.npz"], tmp_path)
    assert out.returncode == 2 and "absent.dat" in out.stderr and "Traceback" not in out.stderr
    (tmp_path / "train.dat").write_text("1 qid:1 1:1\n2 qid:1 2:1\n1 qid:2 1:1\n2 qid:2 2:1\n")
    out = _cli(["learn", "-c", "1", "train.dat", "m.npz"], tmp_path)
    assert out.returncode == 0, out.stderr
    out = _cli(["learn", "-c", "1", "-o", "1", "train.dat", "m1.npz"], tmp_path)
    assert out.returncode == 2 and "no slack-rescaling oracle" in out.stderr and "Traceback" not in out.stderr
    good = gzip.compress(b"1 qid:1 1:1\n" * 300)
    (tmp_path / "cut.dat.gz").write_bytes(good[:30])
    out = _cli(["classify", "cut.dat.gz", "m.npz", "o.txt"], tmp_path)
    assert out.returncode == 1 and "cut.dat.gz: truncated" in out.stderr and "Traceback" not in out.stderr
    (tmp_path / "m_nan.npz").write_bytes(b"")
    _doctor(tmp_path / "m.npz", tmp_path / "m_nan.npz", None, {"w": np.full(np.load(tmp_path / "m.npz")["w"].size, np.nan)})
    out = _cli(["classify", "train.dat", "m_nan.npz", "o.txt"], tmp_path)
    assert out.returncode == 1 and "m_nan.npz: w has" in out.stderr and "non-finite" in out.stderr


# ============================================================================ odds and ends
def test_more_edges(tmp_path):
    from structpred.errors import NotFittedError
    p = tmp_path / "s.dat"
    p.write_bytes(b"\xef\xbb\xbf1 qid:1 1:1\n")                 # a UTF-8 BOM is not a tag
    raises(SvmHmmFormatError, r"s\.dat, line 1: tag", read_svmhmm, p)
    p.write_bytes(b"1 qid:1 1:1\x00\n")
    raises(SvmHmmFormatError, r"s\.dat, line 1: feature value in '1:1.x00'", read_svmhmm, p)
    (tmp_path / "t.gz").write_bytes(gzip.compress(b"1 qid:1 1:1\n") + b"garbage")
    raises(DataFormatError, r"t\.gz: corrupt", read_svmhmm, tmp_path / "t.gz")
    (tmp_path / "m.gz").write_bytes(gzip.compress(b"1 qid:1 1:1\n") + gzip.compress(b"2 qid:2 2:1\n"))
    assert len(read_svmhmm(os.fsencode(tmp_path / "m.gz")).X) == 2   # multi-member gzip, bytes path
    with pytest.raises(NotFittedError, match=r"not fitted yet"):  # also scikit-learn's when it is loaded
        StructuredSVM(SequenceLabeling()).predict([np.ones((1, 2))])
    raises(ValueError, r"n_labels must be a positive integer or None, got nan", SequenceLabeling, float("nan"))
    raises(InvalidInputError, r"y_true\[0\]: chunk tags must be strings", chunk_scores, [[1, 2]], [[1, 2]])
    raises(InvalidInputError, r"sentence 0: gold_trees and test_trees hold Trees", bracket_scores, ["(S a)"], ["(S a)"])


def test_parsing_model_file_cannot_index_outside_its_grammar(tmp_path):
    from structpred.tasks.parsing import ConstituencyParsing
    trees = [normalize(parse_tree(t)) for t in (
        "( (S (NP (DT the) (NN dog)) (VP (VBZ barks))) )",
        "( (S (NP (DT a) (NN cat)) (VP (VBZ sleeps) (ADVP (RB here)))) )",
        "( (S (NP (NN dog)) (VP (VBZ runs))) )")]
    svm = StructuredSVM(ConstituencyParsing(min_word_count=1), C=10.0, eps=1e-4, max_iter=20)
    svm.fit([t.pos() for t in trees], trees)
    svm.save(tmp_path / "p.npz")
    import warnings
    with warnings.catch_warnings():   # this grammar parses only the gold trees: w = 0 is optimal
        warnings.simplefilter("ignore", ModelQualityWarning)
        assert structpred.load(tmp_path / "p.npz").predict([trees[0].pos()])[0].pos() == trees[0].pos()
    bad = _doctor(tmp_path / "p.npz", tmp_path / "bad.npz",
                  lambda h: h["model_state"]["grammar"]["binary"].append([999, 0, 0, 1.0]))
    raises(ModelFileError, r"bad\.npz.*symbol ids must lie in \[0, \d+\)", structpred.load, bad)
    with np.load(tmp_path / "p.npz") as f:
        pairs = f["state.span_pairs"].copy()
    if pairs.size:
        pairs[0, 0] = -1
        bad = _doctor(tmp_path / "p.npz", tmp_path / "bad2.npz", None, {"state.span_pairs": pairs})
        raises(ModelFileError, r"bad2\.npz.*span_pairs: an index is outside", structpred.load, bad)
