"""svm_hmm reader/writer, CoNLL reader, feature extractor, conlleval metrics."""
import gzip
import os
import random

import numpy as np
import pytest

from structpred.errors import InvalidInputError
import scipy.sparse as sp

from structpred.datasets.conll import load_conll2000, read_conll
from structpred.datasets.svmhmm import SvmHmmFormatError, read_svmhmm, write_svmhmm
from structpred.metrics.chunking import chunk_scores, get_chunks, iob1_to_iob2, token_accuracy
from structpred.tasks.sequence.features import ConllFeatures, encode_tags

DATA = os.environ.get("STRUCTPRED_DATA", "/work/shared/data")
SVMHMM = os.path.join(DATA, "conll2000", "svmhmm")

GOOD = """# a comment line
2 qid:1 1:1 3:0.5 # the
1 qid:1 2:1
3 qid:3 1:1 4:2.5e-1
1 qid:3 1:1

1 qid:3 5:1 # trailing comment
"""


def write(tmp_path, text, name="f.dat"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_read_svmhmm_good(tmp_path):
    d = read_svmhmm(write(tmp_path, GOOD))
    assert len(d.X) == 2 and d.n_features == 5 and d.max_tag == 3
    np.testing.assert_array_equal(d.qids, [1, 3])
    np.testing.assert_array_equal(d.Y[0], [1, 0])
    np.testing.assert_array_equal(d.Y[1], [2, 0, 0])
    np.testing.assert_array_equal(d.X[0].toarray(), [[1, 0, 0.5, 0, 0], [0, 1, 0, 0, 0]])
    np.testing.assert_array_equal(d.X[1].toarray()[:, [0, 3, 4]], [[1, 0.25, 0], [1, 0, 0], [0, 0, 1]])
    # test features beyond the training maximum are dropped
    d3 = read_svmhmm(write(tmp_path, GOOD), n_features=3)
    assert d3.X[1].shape == (3, 3) and d3.X[1].nnz == 2
    np.testing.assert_array_equal(d3.X[0].toarray(), [[1, 0, 0.5], [0, 1, 0]])


def test_roundtrip_gz(tmp_path):
    rng = np.random.default_rng(0)
    X = [sp.random(int(rng.integers(1, 5)), 7, density=0.4, random_state=rng, format="csr")
         for _ in range(5)]
    Y = [rng.integers(0, 4, x.shape[0]) for x in X]
    for name in ("r.dat", "r.dat.gz"):
        write_svmhmm(tmp_path / name, X, Y, qids=[1, 3, 4, 9, 10])
        d = read_svmhmm(tmp_path / name, n_features=7)
        np.testing.assert_array_equal(d.qids, [1, 3, 4, 9, 10])
        for a, b in zip(X, d.X):
            np.testing.assert_array_equal(a.toarray(), b.toarray())
        for a, b in zip(Y, d.Y):
            np.testing.assert_array_equal(a, b)
    with gzip.open(tmp_path / "r.dat.gz", "rt") as fh:
        assert fh.readline().split()[1] == "qid:1"


@pytest.mark.parametrize("text,line,what", [
    ("1 qid:1 1:1\n1 1:1 2:1\n", 2, "missing qid"),
    ("1 qid:1 3:1 2:1\n", 1, "increasing order"),
    ("1 qid:1 2:1 2:1\n", 1, "increasing order"),
    ("1 qid:1 1:1\n0 qid:1 1:1\n", 2, "must be >= 1"),
    ("1 qid:1 1:1\n-3 qid:1 1:1\n", 2, "must be >= 1"),
    ("1 qid:1 1:1\n1 qid:2 1:1\n1 qid:1 1:1\n", 3, "qids must not decrease"),
    ("1 qid:1 1:1\n1 qid:1 1:abc\n", 2, "not a number"),
    ("1 qid:1 1:1\n1 qid:1 x:1\n", 2, "not an integer"),
    ("1 qid:1 0:1\n", 1, "feature id 0 must be >= 1"),
    ("1 qid:1 1:1 7\n", 1, "not of the form fid:value"),
    ("B qid:1 1:1\n", 1, "tag 'B' is not an integer"),
    ("1 qid:1 1:nan\n", 1, "not finite"),
])
def test_read_svmhmm_errors_name_file_and_line(tmp_path, text, line, what):
    p = write(tmp_path, text, "bad.dat")
    with pytest.raises(SvmHmmFormatError, match=rf"bad\.dat, line {line}: .*{what}"):
        read_svmhmm(p)


def test_read_svmhmm_empty_file(tmp_path):
    for text in ("", "# only a comment\n\n"):
        with pytest.raises(SvmHmmFormatError, match=r"empty\.dat: empty file"):
            read_svmhmm(write(tmp_path, text, "empty.dat"))


def test_read_conll(tmp_path):
    p = tmp_path / "c.txt"
    p.write_text("-DOCSTART- -X- O\n\nHe PRP B-NP\nran VBD B-VP\n\n\nOk UH O\n")
    assert read_conll(p) == [[("He", "PRP", "B-NP"), ("ran", "VBD", "B-VP")], [("Ok", "UH", "O")]]
    p.write_text("He PRP B-NP\nran B-VP\n")
    with pytest.raises(ValueError, match=r"c\.txt, line 2: 2 columns, expected 3"):
        read_conll(p)


def test_load_conll2000_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="CoNLL-2000"):
        load_conll2000(data_home=tmp_path)


def test_features_and_tags():
    train = [[("The", "DT", "B-NP"), ("cat", "NN", "I-NP"), ("sat", "VBD", "B-VP")]]
    test = [[("A", "DT", "B-NP"), ("dog-1", "NN", "I-NP")]]
    fx = ConllFeatures().fit(train)
    X = fx.transform(train)
    assert X[0].shape == (3, fx.n_features_)
    assert set(X[0].data) == {1.0}
    v = fx.vocabulary_
    for f in ("b", "w=the", "p=DT", "s3=cat", "p3=sat", "cap", "w+1=cat", "p-2=<PAD>",
              "pp-=DT|NN", "sh=Xx"):
        assert f in v
    row0 = set(X[0][0].indices)
    assert {v["w=the"], v["p=DT"], v["w+2=sat"], v["cap"]} <= row0
    assert v["w=cat"] not in row0
    Xt = fx.transform(test)               # unseen features are dropped
    assert Xt[0].shape == (2, fx.n_features_) and v["b"] in Xt[0][1].indices
    Y, tags = encode_tags(train)
    assert tags == ["B-NP", "B-VP", "I-NP"]
    np.testing.assert_array_equal(Y[0], [0, 2, 1])
    Yt, _ = encode_tags([[("x", "X", "B-PP")]], tags=tags, unknown="extra")
    assert Yt[0][0] == 3
    with pytest.raises(InvalidInputError, match=r"sentences\[0\], token 1: tag 'B-PP' is not in tags"):
        encode_tags([[("x", "X", "B-NP"), ("y", "Y", "B-PP")]], tags=tags)


# ------------------------------------------------------------------ conlleval
def conlleval_reference(y_true, y_pred):
    """A line-by-line transcription of conlleval's state machine (Perl, 2004-01-26)."""
    from structpred.metrics.chunking import _end_of_chunk as end, _split
    from structpred.metrics.chunking import _start_of_chunk as start
    lines = []
    for ts, ps in zip(y_true, y_pred):
        lines += list(zip(ts, ps)) + [None]
    correct_chunk = found_correct = found_guessed = correct_tags = tokens = 0
    in_correct = False
    lc, lct, lg, lgt = "O", "", "O", ""
    for item in lines:
        if item is None:
            c, ct, g, gt = "O", "", "O", ""
        else:
            (c, ct), (g, gt) = _split(item[0]), _split(item[1])
        if in_correct:
            if end(lc, c, lct, ct) and end(lg, g, lgt, gt) and lgt == lct:
                in_correct = False
                correct_chunk += 1
            elif end(lc, c, lct, ct) != end(lg, g, lgt, gt) or gt != ct:
                in_correct = False
        if start(lc, c, lct, ct) and start(lg, g, lgt, gt) and gt == ct:
            in_correct = True
        found_correct += start(lc, c, lct, ct)
        found_guessed += start(lg, g, lgt, gt)
        if item is not None:
            correct_tags += (c == g and gt == ct)
            tokens += 1
        lc, lct, lg, lgt = c, ct, g, gt
    if in_correct:
        correct_chunk += 1
    return correct_chunk, found_correct, found_guessed, correct_tags, tokens


def test_chunks_iob2_and_iob1():
    iob2 = ["B-NP", "I-NP", "B-NP", "B-VP", "O", "B-PP", "I-PP"]
    iob1 = ["I-NP", "I-NP", "B-NP", "I-VP", "O", "I-PP", "I-PP"]
    expected = [("NP", 0, 2), ("NP", 2, 3), ("VP", 3, 4), ("PP", 5, 7)]
    assert get_chunks(iob2) == expected
    assert get_chunks(iob1) == expected
    assert iob1_to_iob2(iob1) == iob2


def test_chunk_scores_hand_example():
    true = [["B-NP", "I-NP", "B-VP", "O"], ["B-NP"]]
    pred = [["B-NP", "I-NP", "B-VP", "B-NP"], ["I-NP"]]   # I-NP after a boundary starts a chunk
    s = chunk_scores(true, pred)
    assert (s.n_true, s.n_guessed, s.n_correct, s.n_tokens) == (3, 4, 3, 5)
    assert s.precision == pytest.approx(75.0) and s.recall == pytest.approx(100.0)
    assert s.f1 == pytest.approx(2 * 75 * 100 / 175)
    assert s.accuracy == pytest.approx(60.0)
    assert token_accuracy(true, pred) == pytest.approx(0.6)
    assert "FB1:  85.71" in str(s)


@pytest.mark.parametrize("seed", range(3))
def test_chunk_scores_match_conlleval_state_machine(seed):
    rnd = random.Random(seed)
    tags = ["O", "B-NP", "I-NP", "B-VP", "I-VP", "I-PP", "B-PP"]
    true = [[rnd.choice(tags) for _ in range(rnd.randint(1, 12))] for _ in range(300)]
    pred = [[t if rnd.random() < 0.6 else rnd.choice(tags) for t in s] for s in true]
    s = chunk_scores(true, pred)
    cc, fc, fg, ct, n = conlleval_reference(true, pred)
    assert (s.n_correct, s.n_true, s.n_guessed, s.n_tokens) == (cc, fc, fg, n)
    assert s.accuracy == pytest.approx(100.0 * ct / n)


@pytest.mark.realdata
@pytest.mark.skipif(not os.path.exists(os.path.join(SVMHMM, "train.dat.gz")),
                    reason="CoNLL-2000 svm_hmm files not under STRUCTPRED_DATA")
@pytest.mark.skipif(not os.path.exists(os.path.join(DATA, "conll2000", "train.txt.gz")),
                    reason="CoNLL-2000 text files not under STRUCTPRED_DATA")
def test_real_svmhmm_files_and_conll_agree():
    tr = read_svmhmm(os.path.join(SVMHMM, "test.dat.gz"), n_features=93671)
    assert len(tr.X) == 2012 and sum(x.shape[0] for x in tr.X) == 47377
    assert tr.n_features == 93671 and tr.X[0].shape[1] == 93671
    train, test = load_conll2000(DATA)
    assert (len(train), len(test)) == (8936, 2012)
    names = {}
    with open(os.path.join(SVMHMM, "tags.txt")) as fh:
        for line in fh:
            i, name = line.split()
            names[int(i)] = name
    # the tags of the svm_hmm test file are the CoNLL chunk tags (where seen in training)
    agree = np.mean([names[int(t) + 1] == tok[2] for y, s in zip(tr.Y, test)
                     for t, tok in zip(y, s)])
    assert agree > 0.999


def test_read_tag_names_and_its_errors(tmp_path):
    from structpred.datasets.svmhmm import SvmHmmFormatError, read_tag_names
    p = tmp_path / "tags.txt"
    p.write_text("1 B-NP\n\n2 I-NP\n")
    assert read_tag_names(p) == {1: "B-NP", 2: "I-NP"}
    for text, needle in (("1 B-NP\nx I-NP\n", "line 2: expected 'ID NAME'"),
                         ("1 B-NP\n1 I-NP\n", "line 2: tag 1 named twice"),
                         ("1e3 B-NP\n", "line 1: expected 'ID NAME'")):
        p.write_text(text)
        with pytest.raises(SvmHmmFormatError, match=needle):
            read_tag_names(p)


def test_read_svmhmm_sequences_share_one_buffer_and_batch_takes_it_without_copy(tmp_path):
    """The reader's per-sequence CSRs are views of one stacked buffer (no per-sequence copy),
    and make_batch takes that buffer as it is; the batch equals the one built from
    independent copies of the same sequences (the copying path)."""
    from structpred.tasks.sequence import SequenceLabeling
    rng = np.random.default_rng(0)
    lines = []
    for q in range(1, 30):
        for _ in range(int(rng.integers(1, 6))):
            fids = np.sort(rng.choice(np.arange(1, 40), size=int(rng.integers(0, 5)), replace=False))
            feats = " ".join(f"{f}:{rng.choice([1, 0.5, -2.25, 1e-3])}" for f in fids)
            lines.append(f"{int(rng.integers(1, 4))} qid:{q} {feats}")
    d = read_svmhmm(write(tmp_path, "\n".join(lines) + "\n"))
    base_data, base_ind = d.X[0].data.base, d.X[0].indices.base
    assert all(x.data.base is base_data and x.indices.base is base_ind for x in d.X)
    assert all(x.indptr.dtype == x.indices.dtype for x in d.X)   # one index dtype for scipy
    model = SequenceLabeling(n_features=d.n_features)
    model.initialize(d.X, d.Y)
    shared = model.make_batch(d.X, d.Y)
    assert np.shares_memory(shared.data, base_data) and np.shares_memory(shared.indices, base_ind)
    copied = model.make_batch([sp.csr_matrix(x.toarray()) for x in d.X], [y.copy() for y in d.Y])
    assert not np.shares_memory(copied.data, base_data)
    for name in ("indptr", "indices", "data", "offsets", "y"):
        np.testing.assert_array_equal(getattr(shared, name), getattr(copied, name))
    # a list that is not consecutive slices (reordered) is copied, and still right
    order = list(range(len(d.X)))[::-1]
    rev = model.make_batch([d.X[i] for i in order], [d.Y[i] for i in order])
    assert not np.shares_memory(rev.data, base_data)
    np.testing.assert_array_equal(rev.data, np.concatenate([d.X[i].data for i in order]))
