"""SVM-div oracles against exhaustive search and plain-Python references (tiny instances)."""
import itertools

import numpy as np
import pytest

from structpred.tasks.diversity import CandidateSet, DiverseSubset, SubsetLabel
from structpred.testing import exhaustive_inference, exhaustive_loss_augmented_inference

BOUND = 1 - 1 / np.e


# ----------------------------------------------------------------------------- helpers
def random_candidate_set(rng, n_docs=7, n_words=9, n_levels=2, p=3, q=2, density=0.35):
    """A CandidateSet with random nested coverage levels and non-negative features."""
    cover1 = rng.random((n_docs, n_words)) < density
    levels = [cover1]
    for _ in range(1, n_levels):
        levels.append(levels[-1] & (rng.random((n_docs, n_words)) < 0.5))
    cover = []
    for M in levels:
        ptr = np.zeros(n_docs + 1, dtype=np.int64)
        idx = []
        for d in range(n_docs):
            nz = np.flatnonzero(M[d])
            idx.extend(nz.tolist())
            ptr[d + 1] = len(idx)
        cover.append((ptr, np.asarray(idx, dtype=np.int32)))
    phi = rng.random((n_words, p))
    phi[:, 0] = 1.0
    return CandidateSet(n_docs, [f"w{i}" for i in range(n_words)], phi, cover,
                        rng.random((n_docs, q)))


def random_topics(rng, n_docs, n_topics=5, density=0.3):
    T = rng.random((n_docs, n_topics)) < density
    if not T.any():
        T[0, 0] = True
    return T


def subsets(n, k):
    return [np.array(c, dtype=np.int64) for c in itertools.combinations(range(n), min(k, n))]


def objective(model, x, w, S, y=None):
    """w·Ψ(x, S) (+ Δ(y, S) when y is given), from the task's own joint_feature and loss."""
    v = float(np.dot(model.joint_feature(x, S), w))
    return v + (model.loss(y, S) if y is not None else 0.0)


def make_model(x, k=3, redundancy=False):
    m = DiverseSubset(k=k, redundancy=redundancy)
    m.initialize([x])
    return m



def _instances(seed, count, **kw):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        x = random_candidate_set(rng, n_docs=int(rng.integers(4, 9)),
                                 n_words=int(rng.integers(4, 12)),
                                 n_levels=int(rng.integers(1, 4)))
        m = DiverseSubset(k=int(rng.integers(1, 5)), **kw)
        m.initialize([x])
        y = m.make_label(random_topics(rng, x.n_docs))
        w = rng.random(m.size_joint_feature) * rng.choice([0.01, 0.1, 1.0, 10.0])
        yield rng, x, m, y, w


def _psi_reference(m, x, S):
    """Ψ(x, S) written out directly from the definition."""
    p, L = x.phi.shape[1], x.n_levels
    out = np.zeros(m.size_joint_feature)
    for lvl, (ptr, idx) in enumerate(x.cover):
        words = set()
        for d in S:
            words |= set(idx[ptr[d]:ptr[d + 1]].tolist())
        for v in words:
            out[lvl * p:(lvl + 1) * p] += x.phi[v]
    if m.redundancy:
        ptr, idx = x.cover[0]
        counts = {}
        for d in S:
            for v in idx[ptr[d]:ptr[d + 1]]:
                counts[int(v)] = counts.get(int(v), 0) + 1
        for v, c in counts.items():
            if c >= 2:
                out[L * p:(L + 1) * p] += x.phi[v]
    base = (L + int(m.redundancy)) * p
    for d in S:
        out[base:] += x.doc_feats[d]
    return out


def _greedy_reference(m, x, w, y=None):
    """Plain greedy on f(S) = w·Ψ(S) [+ Δ(y, S)] using the reference Ψ (ties: lowest index)."""
    def f(S):
        v = float(_psi_reference(m, x, S) @ w)
        if y is not None:
            from structpred.metrics.subtopics import weighted_subtopic_loss
            v += weighted_subtopic_loss(y.topics, S, y.weights)
        return v
    S = []
    for _ in range(min(m.k, x.n_docs)):
        base = f(S)
        gains = [(f(S + [i]) - base if i not in S else -np.inf) for i in range(x.n_docs)]
        S.append(int(np.argmax(gains)))
    return S


def test_joint_feature_matches_reference():
    rng = np.random.default_rng(0)
    for trial in range(40):
        x = random_candidate_set(rng, n_levels=1 + trial % 3)
        m = make_model(x, k=4, redundancy=bool(trial % 2))
        S = rng.choice(x.n_docs, size=int(rng.integers(0, 5)), replace=False)
        np.testing.assert_allclose(m.joint_feature(x, S), _psi_reference(m, x, S.tolist()))


def test_greedy_kernel_matches_python_greedy():
    for rng, x, m, y, w in _instances(1, 60):
        w = rng.normal(size=w.size)          # any sign: the kernel is plain greedy
        assert m.inference(x, w).tolist() == _greedy_reference(m, x, w)
    for rng, x, m, y, w in _instances(2, 60, local_search=0):
        got = m.loss_augmented_inference(x, y, w).tolist()
        assert got == _greedy_reference(m, x, w, y)


def test_inference_within_bound_of_exhaustive():
    """Non-negative word/document scores: f is monotone submodular, greedy >= (1-1/e) OPT."""
    ratios, equal = [], 0
    for rng, x, m, y, w in _instances(3, 150):
        opt_y, opt = exhaustive_inference(m, x, w, subsets(x.n_docs, m.k))
        g = objective(m, x, w, m.inference(x, w))
        assert g <= opt + 1e-9
        assert g >= BOUND * opt - 1e-9
        ratios.append(g / opt if opt > 0 else 1.0)
        equal += np.isclose(g, opt)
    assert equal >= 0.8 * len(ratios), f"greedy optimal on only {equal}/{len(ratios)}"


def test_loss_augmented_within_bound_of_exhaustive():
    """Δ + w·Ψ: the loss term is supermodular, so no (1-1/e) guarantee exists; greedy + 1-swap
    local search (+ extra starts when n <= 4k) must never beat the optimum, reach the bound on
    at least 97% of instances and the optimum on at least 85%. (Measured: 150/150 here; the
    benchmark's instance family with k close to n and tiny w shows ~1% below the bound.)"""
    equal = below = n = 0
    for seed, count in ((4, 150), (14, 150)):
        for rng, x, m, y, w in _instances(seed, count):
            _, opt = exhaustive_loss_augmented_inference(m, x, y, w, subsets(x.n_docs, m.k))
            got = m.loss_augmented_inference(x, y, w)
            assert len(set(got.tolist())) == len(got) == min(m.k, x.n_docs)
            g = objective(m, x, w, got, y)
            assert g <= opt + 1e-9
            below += g < BOUND * opt - 1e-9
            equal += np.isclose(g, opt)
            n += 1
    assert below <= 0.03 * n, f"{below}/{n} loss-augmented results below (1-1/e) OPT"
    assert equal >= 0.85 * n, f"loss-augmented greedy optimal on only {equal}/{n}"


def test_local_search_never_worse_than_plain_greedy():
    for (_, x, m, y, w), (_, _, m0, _, _) in zip(_instances(5, 80),
                                               _instances(5, 80, local_search=0)):
        g = objective(m, x, w, m.loss_augmented_inference(x, y, w), y)
        g0 = objective(m0, x, w, m0.loss_augmented_inference(x, y, w), y)
        assert g >= g0 - 1e-12


def test_negative_weights_and_redundancy_greedy_is_sane():
    """With any-sign weights (and the redundancy block) greedy has no guarantee; it never
    beats the optimum and still finds it on most tiny instances."""
    equal = n = 0
    for rng, x, m, y, w in _instances(6, 100, redundancy=True):
        w = rng.normal(size=w.size)
        _, opt = exhaustive_inference(m, x, w, subsets(x.n_docs, m.k))
        g = objective(m, x, w, m.inference(x, w))
        assert g <= opt + 1e-9
        equal += np.isclose(g, opt)
        n += 1
    assert equal >= 0.7 * n


def test_batch_forms_agree_with_single_forms_and_threads():
    rng = np.random.default_rng(7)
    X = [random_candidate_set(rng, n_docs=int(rng.integers(2, 9))) for _ in range(12)]
    m = DiverseSubset(k=3, redundancy=True)
    m.initialize(X)
    Y = [m.make_label(random_topics(rng, x.n_docs)) for x in X]
    w = rng.normal(size=m.size_joint_feature)
    batch = m.make_batch(X, Y)
    single = [m.inference(x, w) for x in X]
    for jobs in (1, 2):
        got = m.batch_inference(batch, w, n_jobs=jobs)
        assert [g.tolist() for g in got] == [s.tolist() for s in single]
    Yh1 = m.batch_loss_augmented_inference(batch, w, n_jobs=1)
    Yh2 = m.batch_loss_augmented_inference(batch, w, n_jobs=2)
    np.testing.assert_array_equal(Yh1, Yh2)
    for i, (x, y) in enumerate(zip(X, Y)):
        sel = Yh1[i][Yh1[i] >= 0]
        assert sel.tolist() == m.loss_augmented_inference(x, y, w).tolist()
    L = m.batch_loss(batch, Yh1)
    np.testing.assert_allclose(L, [m.loss(y, r[r >= 0]) for y, r in zip(Y, Yh1)], atol=1e-12)
    D = m.batch_delta_joint_feature(batch, Yh1).toarray()
    for i, (x, y) in enumerate(zip(X, Y)):
        np.testing.assert_allclose(
            D[i], m.joint_feature(x, y) - m.joint_feature(x, Yh1[i][Yh1[i] >= 0]), atol=1e-12)
    # the label itself: zero loss, zero delta
    own = np.array([np.r_[y.ranking, -np.ones(3 - len(y), int)] for y in Y])
    assert np.all(m.batch_loss(batch, own) == 0)
    assert m.batch_delta_joint_feature(batch, own).nnz == 0


def test_loss_properties():
    T = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0], [0, 0, 1], [1, 0, 0]], dtype=bool)
    m = DiverseSubset(k=2)
    y = m.make_label(T)                           # weights u = (3, 1, 1)
    assert y.ranking.tolist() == [1, 3]           # covers all: loss 0
    assert m.loss(y, y) == 0.0
    assert m.loss(y, [2, 0]) == pytest.approx(2 / 5)
    assert m.loss(y, [2]) == pytest.approx(1.0)
    assert m.max_loss(y) == pytest.approx(1.0)
    with pytest.raises(TypeError):
        m.loss([0, 1], [0, 1])
    assert m.approximate_inference is True


def test_fewer_candidates_than_k_and_wordless_documents():
    rng = np.random.default_rng(8)
    x = random_candidate_set(rng, n_docs=3, n_words=4, density=0.0)   # no document has words
    m = make_model(x, k=5)
    w = rng.random(m.size_joint_feature)
    r = m.inference(x, w)
    assert sorted(r.tolist()) == [0, 1, 2]
    y = m.make_label(np.array([[1], [0], [0]], dtype=bool))
    assert len(y) == 3
    assert sorted(m.loss_augmented_inference(x, y, w).tolist()) == [0, 1, 2]
    assert m.loss(y, r) == 0.0


def test_check_input_rejects_bad_examples():
    rng = np.random.default_rng(9)
    x = random_candidate_set(rng, n_docs=4)
    m = make_model(x, k=2)
    with pytest.raises(ValueError, match="example 0: expected a CandidateSet"):
        m.check_input(["not a candidate set"])
    with pytest.raises(ValueError, match="example 1: label has 3 documents"):
        m.check_input([x, x], [m.make_label(np.eye(4, dtype=bool)),
                               m.make_label(np.eye(3, dtype=bool))])
    with pytest.raises(ValueError, match="example 0: the query has no labelled subtopic"):
        m.check_input([x], [m.make_label(np.zeros((4, 2), dtype=bool))])
    with pytest.raises(ValueError, match="training labels must be SubsetLabel"):
        m.check_input([x], [np.array([0, 1])])
    bad = random_candidate_set(rng, n_docs=4, n_levels=3)
    with pytest.raises(ValueError, match="example 0: 3 coverage levels"):
        m.check_input([bad])
    with pytest.raises(ValueError, match="out of range"):
        SubsetLabel([0, 7], np.eye(4, dtype=bool))
    with pytest.raises(ValueError, match="repeats"):
        SubsetLabel([1, 1], np.eye(4, dtype=bool))
    with pytest.raises(ValueError, match="k must be"):
        DiverseSubset(k=0)
    # malformed inputs built by hand never reach the numba kernels
    ptr, idx = x.cover[0]
    broken = CandidateSet(x.n_docs, x.vocab, x.phi, [(ptr, idx + 100)] + x.cover[1:],
                          x.doc_feats)
    w = np.zeros(m.size_joint_feature)
    with pytest.raises(ValueError, match="example 0: coverage level 1 names a word outside"):
        m.inference(broken, w)
    broken = CandidateSet(x.n_docs, x.vocab, x.phi, [(ptr[:-1], idx)] + x.cover[1:], x.doc_feats)
    with pytest.raises(ValueError, match="malformed row pointer"):
        m.check_input([broken])
    with pytest.raises(ValueError, match="w has length"):
        m.inference(x, np.zeros(3))
    with pytest.raises(ValueError, match="outside the candidate sets"):
        m.batch_loss(m.make_batch([x], [m.make_label(np.eye(4, dtype=bool))]), [[0, 9]])
    with pytest.raises(ValueError, match="not distinct indices"):
        m.joint_feature(x, [0, 0])


def test_state_roundtrip_sets_size():
    rng = np.random.default_rng(10)
    x = random_candidate_set(rng)
    m = make_model(x, redundancy=True)
    m2 = DiverseSubset(**m.get_params())
    m2.set_state(m.get_state())
    assert m2.size_joint_feature == m.size_joint_feature
    assert list(itertools.islice(m2.get_params(), 3)) == ["k", "redundancy", "local_search"]
