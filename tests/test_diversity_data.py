"""Weighted subtopic loss, greedy label construction and the diversity loaders (AMBIENT, TREC
6-8 aspect labels, synthetic generator), including malformed label files."""
import gzip
import itertools
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from structpred.datasets.diversity import (load_ambient, load_trec_aspects,
                                           make_synthetic_diversity, read_ambient_folder)
from structpred.metrics.subtopics import (as_topic_matrix, greedy_subtopic_cover,
                                          subtopic_weights, weighted_subtopic_loss)
from structpred.tasks.diversity import DiverseSubset, DiversityFeaturizer

DATA = Path(os.environ.get("STRUCTPRED_DATA", "/nonexistent"))
AMBIENT = DATA / "diversity" / "ambient"
TREC = DATA / "diversity" / "trec678_interactive_aspects"
need_ambient = pytest.mark.skipif(not (AMBIENT / "STRel.txt").exists(),
                                  reason="AMBIENT not under $STRUCTPRED_DATA/diversity/ambient")
need_trec = pytest.mark.skipif(not (TREC / "TRECQueryAspects.txt").exists(),
                               reason="TREC aspects not under $STRUCTPRED_DATA/diversity/"
                                      "trec678_interactive_aspects")
BOUND = 1 - 1 / np.e


# ----------------------------------------------------------------------------- the metric
def test_weighted_subtopic_loss_by_hand():
    T = np.array([[1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 0]], dtype=bool)
    np.testing.assert_array_equal(subtopic_weights(T), [3, 1, 1, 0])   # t3: no candidate
    assert weighted_subtopic_loss(T, []) == 1.0
    assert weighted_subtopic_loss(T, [0]) == pytest.approx(2 / 5)
    assert weighted_subtopic_loss(T, [1, 2]) == 0.0
    assert weighted_subtopic_loss(T, [2]) == pytest.approx(4 / 5)
    # list-of-subtopic-index input gives the same matrix
    assert weighted_subtopic_loss([[0], [0, 1], [2], [0]], [0]) == pytest.approx(2 / 5)
    # a query with no labelled subtopic: documented loss 0
    assert weighted_subtopic_loss(np.zeros((3, 2), bool), [0]) == 0.0
    with pytest.raises(ValueError, match="out of range"):
        weighted_subtopic_loss(T, [4])
    with pytest.raises(ValueError, match="negative subtopic"):
        as_topic_matrix([[0], [-1]])
    with pytest.raises(ValueError, match="2 rows for 3 documents"):
        as_topic_matrix([[0], []], n_docs=3)
    np.testing.assert_array_equal(as_topic_matrix([[1], [], [0, 1]]),
                                  [[0, 1], [0, 0], [1, 1]])


def _best_cover(T, u, k):
    best = -1.0
    for S in itertools.combinations(range(T.shape[0]), min(k, T.shape[0])):
        best = max(best, u[T[list(S)].any(axis=0)].sum())
    return best


def test_greedy_cover_vs_exhaustive_random():
    rng = np.random.default_rng(0)
    equal = 0
    for _ in range(120):
        T = rng.random((int(rng.integers(3, 9)), int(rng.integers(1, 7)))) < 0.3
        k = int(rng.integers(1, 5))
        u = T.sum(0).astype(float)
        g = greedy_subtopic_cover(T, k)
        assert len(set(g.tolist())) == len(g) == min(k, T.shape[0])
        val = u[T[g].any(axis=0)].sum()
        opt = _best_cover(T, u, k)
        assert BOUND * opt - 1e-9 <= val <= opt + 1e-9
        equal += np.isclose(val, opt)
    assert equal >= 100


# ----------------------------------------------------------------------------- TREC labels
@pytest.mark.realdata
@need_trec
def test_trec_aspect_statistics():
    d = load_trec_aspects(DATA)
    assert len(d) == 17 and d.documents is None and d.ranks is None
    assert sum(T.shape[0] for T in d.topics) == 2021
    per_doc = np.concatenate([T.sum(axis=1) for T in d.topics])
    assert (per_doc > 0).sum() == 787
    counts = np.bincount(per_doc)
    # README: 625 / 106 / 36 / "25" cover 1 / 2 / 3 / 4+; the file gives 20 for 4+ (and
    # 625 + 106 + 36 + 20 = 787, the README's own relevant-document count)
    assert counts[1:4].tolist() == [625, 106, 36] and counts[4:].sum() == 20
    sizes = [T.shape[1] for T in d.topics]
    assert min(sizes) == 7 and max(sizes) == 56 and np.median(sizes) == 16
    assert len(load_trec_aspects(DATA, queries="all")) == 20


def _unique_rows(T):
    rows, first = np.unique(T, axis=0, return_index=True)
    return T[np.sort(first)]


@pytest.mark.realdata
@need_trec
def test_trec_loss_and_greedy_label_on_real_subtopics():
    d = load_trec_aspects(DATA)
    m = DiverseSubset(k=3)
    for T in d.topics:
        u = subtopic_weights(T)
        y = m.make_label(T)
        assert 0 <= y.own_loss < 1
        # loss is monotone: adding documents never raises it; all candidates -> 0
        losses = [weighted_subtopic_loss(T, y.ranking[:j]) for j in range(len(y) + 1)]
        assert losses[0] == 1.0 and all(a >= b for a, b in zip(losses, losses[1:]))
        assert weighted_subtopic_loss(T, np.arange(T.shape[0])) == 0.0
        # greedy label vs exhaustive best 3-subset (duplicate documents merged)
        U = _unique_rows(T[T.any(axis=1)])
        opt = _best_cover(U, u, 3)
        val = u.sum() * (1 - y.own_loss)
        assert BOUND * opt - 1e-6 <= val <= opt + 1e-6
        # the greedy label is at least as good as any single document's first pick
        assert y.own_loss <= min(weighted_subtopic_loss(T, [i]) for i in range(T.shape[0]))


@pytest.mark.realdata
@need_trec
def test_trec_greedy_oracle_reproduces_label_construction():
    """Documents whose words are their aspect ids: with w putting weight n on the
    document-frequency-share feature of level 1, w·Ψ(S) is the weighted subtopic coverage of S,
    so the model's greedy inference is the greedy label (same coverage, same loss), and
    loss-augmented inference with w = 0 finds a subset of loss 1 (nothing covered) when the
    query has enough non-relevant documents."""
    d = load_trec_aspects(DATA)
    feat = DiversityFeaturizer(n_levels=1, use_rank=False, use_url=False)
    from structpred.tasks.diversity.features import WORD_FEATURE_NAMES
    j = WORD_FEATURE_NAMES.index("df_share")
    for T in d.topics:
        docs = [" ".join(f"asp{t}" for t in np.flatnonzero(row)) for row in T]
        x = feat.transform("", docs)            # non-relevant documents have no words
        m = DiverseSubset(k=5)
        m.initialize([x])
        w = np.zeros(m.size_joint_feature)
        w[j] = T.shape[0]
        y = m.make_label(T)
        pred = m.inference(x, w)
        assert weighted_subtopic_loss(T, pred) == pytest.approx(y.own_loss)
        np.testing.assert_allclose(m.joint_feature(x, pred) @ w,
                                   subtopic_weights(T)[T[pred].any(0)].sum())
        la = m.loss_augmented_inference(x, y, np.zeros(m.size_joint_feature))
        if (~T.any(axis=1)).sum() >= 5:
            assert weighted_subtopic_loss(T, la) == 1.0
            assert m.loss(y, la) == pytest.approx(1 - y.own_loss)


def test_trec_bad_files(tmp_path):
    base = tmp_path / "diversity" / "trec678_interactive_aspects"
    base.mkdir(parents=True)
    (base / "TRECQueryAspects.txt").write_text("q1 D1 0101\r\nq1 D2 011\r\n")
    with pytest.raises(ValueError, match=r"TRECQueryAspects.txt:2: query q1 has 4 aspects"):
        load_trec_aspects(tmp_path, queries="all")
    (base / "TRECQueryAspects.txt").write_text("q1 D1 0101\nq1 D1 0111\n")
    with pytest.raises(ValueError, match="duplicate document D1"):
        load_trec_aspects(tmp_path, queries="all")
    (base / "TRECQueryAspects.txt").write_text("q1 D1 0101\n")
    (base / "Trec68Queries.txt").write_text("q1\nq9\n")
    with pytest.raises(ValueError, match="query q9 has no judgments"):
        load_trec_aspects(tmp_path)
    with pytest.raises(FileNotFoundError, match="TREC"):
        load_trec_aspects(tmp_path / "elsewhere")


# ----------------------------------------------------------------------------- AMBIENT
@pytest.mark.realdata
@need_ambient
def test_ambient_statistics_and_reference_losses():
    d = load_ambient(DATA)
    assert len(d) == 44 and all(len(docs) == 100 for docs in d.documents)
    assert sum(T.shape[1] for T in d.topics) == 790
    assert sum(int(T.sum()) for T in d.topics) == 2257
    assert sum(int(T.any(axis=0).sum()) for T in d.topics) == 349
    assert sum(int(T.any(axis=1).sum()) for T in d.topics) == 2224
    assert d.queries[0] == "Aida" and d.documents[0][0]["title"] == "AIDA International"
    eng = np.mean([weighted_subtopic_loss(T, np.argsort(r)[:5]) for T, r in zip(d.topics, d.ranks)])
    orc = np.mean([weighted_subtopic_loss(T, greedy_subtopic_cover(T, 5)) for T in d.topics])
    assert eng == pytest.approx(0.40, abs=0.01)      # independently measured: 0.40
    assert orc == pytest.approx(0.09, abs=0.01)      # independently measured: 0.09


def _copy_ambient(tmp_path):
    dst = tmp_path / "diversity" / "ambient"
    shutil.copytree(AMBIENT, dst)
    return dst


@pytest.mark.realdata
@need_ambient
def test_ambient_unknown_ids_in_label_file(tmp_path):
    dst = _copy_ambient(tmp_path)
    rel = dst / "STRel.txt"
    lines = rel.read_text().splitlines()
    rel.write_text("\n".join(lines + ["1.4\t1.101"]) + "\n")
    with pytest.raises(ValueError, match=rf"STRel.txt:{len(lines) + 1}: unknown result id '1.101'"):
        load_ambient(tmp_path)
    rel.write_text("\n".join(lines + ["1.99\t1.3"]) + "\n")
    with pytest.raises(ValueError, match="unknown subtopic id '1.99'"):
        load_ambient(tmp_path)
    rel.write_text("\n".join(lines + ["1.4\t2.3"]) + "\n")
    with pytest.raises(ValueError, match="different topics"):
        load_ambient(tmp_path)
    (dst / "STRel.txt").unlink()
    with pytest.raises(FileNotFoundError, match="Carpineto"):
        load_ambient(tmp_path)
    unl = read_ambient_folder(dst)                  # unlabelled folder: still readable
    assert all(T.shape[0] == 100 and not T.any() for T in unl.topics)


def test_ambient_format_small_folder(tmp_path):
    (tmp_path / "topics.txt").write_text("ID\tdescription\n1\tjaguar\n")
    with gzip.open(tmp_path / "results.txt.gz", "wt") as fh:
        fh.write("ID\turl\ttitle\tsnippet\n1.1\thttp://a\tJaguar cars\tluxury cars\n"
                 "1.2\thttp://b\tJaguar cat\tbig cat\n")
    (tmp_path / "subTopics.txt").write_text("ID\tdescription\n1.1\tcar\n1.2\tanimal\n")
    (tmp_path / "STRel.txt").write_text("subTopicID\tresultID\n1.1\t1.1\n1.2\t1.2\n")
    d = read_ambient_folder(tmp_path)
    np.testing.assert_array_equal(d.topics[0], np.eye(2, dtype=bool))
    np.testing.assert_array_equal(d.ranks[0], [1, 2])
    with gzip.open(tmp_path / "results.txt.gz", "wt") as fh:
        fh.write("ID\turl\ttitle\tsnippet\n1.x\thttp://a\tJaguar\tcars\n")
    with pytest.raises(ValueError, match=r"results.txt.gz:2: bad result line"):
        read_ambient_folder(tmp_path)


# ----------------------------------------------------------------------------- synthetic
def test_synthetic_generator_is_seeded_and_calibrated():
    a = make_synthetic_diversity(60, seed=3)
    b = make_synthetic_diversity(60, seed=3)
    assert a.documents[5] == b.documents[5]
    assert all(np.array_equal(x, y) for x, y in zip(a.topics, b.topics))
    assert make_synthetic_diversity(2, seed=4).documents[0] != a.documents[0]
    sizes = [T.shape[1] for T in a.topics]
    assert 7 <= min(sizes) and max(sizes) <= 56 and 12 <= np.median(sizes) <= 20
    per_doc = np.concatenate([T.sum(axis=1) for T in a.topics])
    frac = np.bincount(per_doc, minlength=5)[1:] / (per_doc > 0).sum()
    assert frac[0] == pytest.approx(0.79, abs=0.04) and frac[1] == pytest.approx(0.13, abs=0.04)
    top_share = np.mean([T.sum(0).max() / T.sum() for T in a.topics])
    assert 0.2 <= top_share <= 0.4
    for docs, r, T in zip(a.documents, a.ranks, a.topics):
        assert len(docs) == T.shape[0] == r.size
        assert sorted(r.tolist()) == list(range(1, r.size + 1))
    # the engine prefers relevant documents but is not diverse: oracle << engine << random
    eng = np.mean([weighted_subtopic_loss(T, np.argsort(r)[:5]) for T, r in zip(a.topics, a.ranks)])
    orc = np.mean([weighted_subtopic_loss(T, greedy_subtopic_cover(T, 5)) for T in a.topics])
    assert orc < eng < 0.6
    with pytest.raises(ValueError):
        make_synthetic_diversity(0)
