"""SequenceLabeling oracles and kernels against brute-force enumeration on tiny chains."""
import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from structpred.tasks.sequence import SequenceLabeling, kernels
from structpred.testing import (exhaustive_inference, exhaustive_loss_augmented_inference,
                                score_output)

CONFIGS = [(1, False), (1, True), (2, False), (2, True)]


def random_set(rng, n=6, L=3, F=5, max_len=4, density=0.5):
    X, Y = [], []
    for i in range(n):
        T = int(rng.integers(1, max_len + 1))
        x = sp.random(T, F, density=density, random_state=rng, format="csr")
        x.data = rng.normal(size=x.nnz)
        X.append(x)
        Y.append(rng.integers(0, L, size=T))
    return X, Y


def fitted(order, boundary, X, Y, L=3, F=5):
    m = SequenceLabeling(n_labels=L, n_features=F, transition_order=order,
                         boundary_transitions=boundary)
    m.initialize(X, Y)
    return m


def all_labelings(T, L):
    return [np.array(c) for c in itertools.product(range(L), repeat=T)]


@pytest.mark.parametrize("order,boundary", CONFIGS)
def test_size_and_layout(order, boundary):
    L, F = 3, 5
    m = SequenceLabeling(n_labels=L, n_features=F, transition_order=order,
                         boundary_transitions=boundary)
    d = L * F + L * L + (L ** 3 if order == 2 else 0) + (2 * L if boundary else 0)
    assert m.size_joint_feature == d
    x = sp.csr_matrix(np.array([[1.0, 0, 2, 0, 0], [0, 3.0, 0, 0, 0], [0, 0, 0, 0, 4.0]]))
    y = np.array([2, 0, 1])
    psi = m.joint_feature(x, y).toarray().ravel()
    assert psi[0 * L + 2] == 1 and psi[2 * L + 2] == 2      # token 0, label 2 (f*L + l)
    assert psi[1 * L + 0] == 3 and psi[4 * L + 1] == 4
    assert psi[L * F + 2 * L + 0] == 1 and psi[L * F + 0 * L + 1] == 1   # bigrams 2->0, 0->1
    pos = L * F + L * L
    if order == 2:
        assert psi[pos + (2 * L + 0) * L + 1] == 1
        pos += L ** 3
    if boundary:
        assert psi[pos + 2] == 1 and psi[pos + L + 1] == 1
    assert psi.sum() == pytest.approx(10 + 2 + (1 if order == 2 else 0) + (2 if boundary else 0))


def test_emission_scores_kernel():
    rng = np.random.default_rng(0)
    X, Y = random_set(rng, n=3, L=4, F=7, max_len=5)
    m = fitted(1, False, X, Y, L=4, F=7)
    b = m.make_batch(X, Y)
    W = rng.normal(size=(4, 7))
    out = np.empty((b.n_tokens, 4))
    kernels.emission_scores(b.indptr, b.indices, b.data, 0, b.n_tokens,
                            np.ascontiguousarray(W.T), out)
    dense = sp.vstack(X).toarray()
    np.testing.assert_allclose(out, dense @ W.T)


@pytest.mark.parametrize("order,boundary", CONFIGS)
@pytest.mark.parametrize("seed", range(4))
def test_viterbi_matches_brute_force(order, boundary, seed):
    rng = np.random.default_rng(seed)
    X, Y = random_set(rng)
    m = fitted(order, boundary, X, Y)
    for _ in range(2):
        w = rng.normal(size=m.size_joint_feature)
        preds = m.batch_inference(m.make_batch(X), w)
        for x, p in zip(X, preds):
            best, val = exhaustive_inference(m, x, w, all_labelings(x.shape[0], 3))
            assert score_output(m, x, p, w) == pytest.approx(val)
            np.testing.assert_array_equal(p, best)


@pytest.mark.parametrize("order,boundary", CONFIGS)
@pytest.mark.parametrize("seed", range(4))
def test_loss_augmented_viterbi_matches_brute_force(order, boundary, seed):
    rng = np.random.default_rng(100 + seed)
    X, Y = random_set(rng)
    m = fitted(order, boundary, X, Y)
    b = m.make_batch(X, Y)
    w = rng.normal(size=m.size_joint_feature) * 0.7
    Y_hat = b.split(m.batch_loss_augmented_inference(b, w))
    for x, y, yh in zip(X, Y, Y_hat):
        best, val = exhaustive_loss_augmented_inference(m, x, y, w, all_labelings(len(y), 3))
        assert m.loss(y, yh) + score_output(m, x, yh, w) == pytest.approx(val)
        np.testing.assert_array_equal(yh, best)
        # the single-example form agrees with the batch form
        np.testing.assert_array_equal(m.loss_augmented_inference(x, y, w), yh)


@pytest.mark.parametrize("order,boundary", CONFIGS)
def test_delta_joint_feature_and_loss(order, boundary):
    rng = np.random.default_rng(7)
    X, Y = random_set(rng, n=12, L=3, F=5, max_len=7)
    m = fitted(order, boundary, X, Y)
    b = m.make_batch(X, Y)
    # random outputs, partly equal to the truth (so some rows and tokens cancel)
    Y_hat = [np.where(rng.random(len(y)) < 0.5, y, rng.integers(0, 3, len(y))) for y in Y]
    Y_hat[0] = Y[0].copy()
    flat = np.concatenate(Y_hat)
    D = m.batch_delta_joint_feature(b, flat)
    assert D.shape == (len(X), m.size_joint_feature) and D.has_canonical_format
    assert not np.any(D.data == 0)
    for i, (x, y, yh) in enumerate(zip(X, Y, Y_hat)):
        ref = (m.joint_feature(x, y) - m.joint_feature(x, yh)).toarray().ravel()
        np.testing.assert_allclose(D[i].toarray().ravel(), ref, atol=1e-12)
    assert D[0].nnz == 0
    np.testing.assert_array_equal(m.batch_loss(b, flat),
                                  [m.loss(y, yh) for y, yh in zip(Y, Y_hat)])
    # the list form of Y_hat is accepted too
    assert (m.batch_delta_joint_feature(b, Y_hat) != D).nnz == 0


def test_delta_psi_cancellation_within_a_row():
    # two tokens with the same features and swapped labels: emission parts cancel exactly
    x = sp.csr_matrix(np.array([[1.0, 2.0], [1.0, 2.0]]))
    m = SequenceLabeling(n_labels=2, n_features=2)
    b = m.make_batch([x], [np.array([0, 1])])
    D = m.batch_delta_joint_feature(b, np.array([1, 0]))
    ref = (m.joint_feature(x, [0, 1]) - m.joint_feature(x, [1, 0])).toarray().ravel()
    np.testing.assert_allclose(D.toarray().ravel(), ref)
    assert D.nnz == np.count_nonzero(ref) == 2    # only the two bigram weights remain


@pytest.mark.parametrize("order", [1, 2])
def test_threads_give_identical_results(order):
    rng = np.random.default_rng(3)
    X, Y = random_set(rng, n=40, L=4, F=9, max_len=9)
    m = fitted(order, True, X, Y, L=4, F=9)
    b = m.make_batch(X, Y)
    w = rng.normal(size=m.size_joint_feature)
    a1 = m.batch_loss_augmented_inference(b, w, n_jobs=1)
    a2 = m.batch_loss_augmented_inference(b, w, n_jobs=2)
    np.testing.assert_array_equal(a1, a2)
    D1 = m.batch_delta_joint_feature(b, a1, n_jobs=1)
    D2 = m.batch_delta_joint_feature(b, a1, n_jobs=3)
    np.testing.assert_array_equal(D1.indptr, D2.indptr)
    np.testing.assert_array_equal(D1.indices, D2.indices)
    np.testing.assert_array_equal(D1.data, D2.data)
    for p1, p2 in zip(m.batch_inference(b, w, 1), m.batch_inference(b, w, 2)):
        np.testing.assert_array_equal(p1, p2)


def test_length_one_and_long_sequences():
    rng = np.random.default_rng(5)
    long_x = sp.random(5000, 6, density=0.3, random_state=rng, format="csr")
    X = [sp.csr_matrix(np.ones((1, 6))), long_x]
    Y = [np.array([1]), rng.integers(0, 3, 5000)]
    for order in (1, 2):
        m = fitted(order, True, X, Y, L=3, F=6)
        w = rng.normal(size=m.size_joint_feature)
        p = m.batch_inference(m.make_batch(X), w)
        assert [len(q) for q in p] == [1, 5000]
        best, _ = exhaustive_inference(m, X[0], w, all_labelings(1, 3))
        np.testing.assert_array_equal(p[0], best)
        b = m.make_batch(X, Y)
        yh = m.batch_loss_augmented_inference(b, w)
        # optimality of the long chain: no better than its own Viterbi score + loss bound
        assert m.batch_loss(b, yh)[1] <= 5000


def test_unseen_test_labels_and_wider_test_features():
    rng = np.random.default_rng(2)
    X, Y = random_set(rng, n=5, L=3, F=5)
    m = SequenceLabeling()
    m.initialize(X, Y)
    assert (m.n_labels_, m.n_features_) == (3, 5)
    w = rng.normal(size=m.size_joint_feature)
    # a test sequence with 8 feature columns and label 5 never seen in training
    xt = sp.random(4, 8, density=0.6, random_state=rng, format="csr")
    yt = np.array([0, 5, 1, 5])
    m.check_input([xt], [yt])
    b = m.make_batch([xt], [yt])
    pred = m.batch_inference(b, w)[0]
    np.testing.assert_array_equal(pred, m.inference(xt[:, :5], w))
    assert pred.max() < 3
    yh = m.batch_loss_augmented_inference(b, w)
    assert m.batch_loss(b, yh)[0] >= 2          # label 5 can never be matched


@pytest.mark.parametrize("X,Y,match", [
    ([sp.csr_matrix((0, 3))], [np.zeros(0, int)], r"X\[0\]: empty sequence"),
    ([sp.csr_matrix(np.ones((2, 3))), sp.csr_matrix(np.ones((2, 3)))],
     [np.array([0, 1]), np.array([0])], r"X\[1\] has 2 tokens .* Y\[1\] has 1"),
    ([sp.csr_matrix(np.array([[1.0, np.nan]]))], [np.array([0])], r"X\[0\]: .*NaN"),
    ([sp.csr_matrix(np.array([[1.0, np.inf]]))], [np.array([0])], r"X\[0\]: .*infinity"),
    ([sp.csr_matrix(np.ones((1, 2)))], [np.array([-1])], r"Y\[0\]: negative label"),
    ([sp.csr_matrix(np.ones((1, 2)))], [np.array([0.5])], r"Y\[0\]: labels must be integers"),
    ([sp.csr_matrix(np.ones((1, 2)))], [np.array([0]), np.array([1])], "1 sequences but Y has 2"),
])
def test_check_input_errors(X, Y, match):
    with pytest.raises(ValueError, match=match):
        SequenceLabeling().check_input(X, Y)


def test_initialize_refuses_labels_beyond_n_labels():
    X = [sp.csr_matrix(np.ones((2, 2)))] * 3
    Y = [np.array([0, 1]), np.array([0, 3]), np.array([1, 1])]
    with pytest.raises(ValueError, match=r"Y\[1\]: label 3 out of range"):
        SequenceLabeling(n_labels=3).initialize(X, Y)


def test_bad_params():
    with pytest.raises(ValueError, match="transition_order"):
        SequenceLabeling(transition_order=3)
    with pytest.raises(ValueError, match="n_labels"):
        SequenceLabeling(n_labels=0)


def test_state_roundtrip():
    m = SequenceLabeling(transition_order=2)
    X, Y = random_set(np.random.default_rng(1))
    m.initialize(X, Y)
    m2 = SequenceLabeling(**m.get_params())
    m2.set_state(m.get_state())
    assert m2.size_joint_feature == m.size_joint_feature
    assert m.max_loss(Y[0]) == len(Y[0])


_DATA = __import__("os").environ.get("STRUCTPRED_DATA", "/work/shared/data")
_TEST_DAT = __import__("os").path.join(_DATA, "conll2000", "svmhmm", "test.dat.gz")


@pytest.mark.realdata
@pytest.mark.skipif(not __import__("os").path.exists(_TEST_DAT),
                    reason="conll2000/svmhmm/test.dat.gz not under STRUCTPRED_DATA")
def test_oracles_on_real_sentences():
    from structpred.datasets.svmhmm import read_svmhmm
    d = read_svmhmm(_TEST_DAT)
    m = SequenceLabeling(n_labels=22)
    m.initialize(d.X, d.Y)
    b = m.make_batch(d.X, d.Y)
    rng = np.random.default_rng(0)
    w = rng.normal(size=m.size_joint_feature) * 0.05
    yh = m.batch_loss_augmented_inference(b, w, n_jobs=2)
    D = m.batch_delta_joint_feature(b, yh)
    loss = m.batch_loss(b, yh)
    # the oracle's value Δ + w·Ψ(ŷ) is at least that of the truth (Δ = 0): Δ - w·δΨ >= 0
    assert np.all(loss - D @ w >= -1e-9)
    for i in rng.choice(len(d.X), 20, replace=False):
        ref = (m.joint_feature(d.X[i], d.Y[i])
               - m.joint_feature(d.X[i], b.split(yh)[i])).toarray().ravel()
        np.testing.assert_allclose(D[i].toarray().ravel(), ref, atol=1e-12)
    assert np.array_equal(np.concatenate(m.batch_inference(b, w, 2)),
                          np.concatenate(m.batch_inference(b, w, 1)))


def test_state_records_the_emission_layout_and_refuses_the_old_one():
    """A saved state carries the feature-major layout tag; a fitted state without it (a model
    file of the former label-major layout) is refused by set_state rather than misread."""
    from structpred.errors import InvalidInputError
    rng = np.random.default_rng(1)
    X, Y = random_set(rng, n=3, L=3, F=4, max_len=4)
    m = fitted(1, False, X, Y, L=3, F=4)
    state = m.get_state()
    assert state["emission_layout"] == "feature-major"
    m2 = SequenceLabeling()
    m2.set_state(state)
    assert m2.size_joint_feature == m.size_joint_feature
    old = {k: v for k, v in state.items() if k != "emission_layout"}
    with pytest.raises(InvalidInputError, match="label-major"):
        SequenceLabeling().set_state(old)
    with pytest.raises(InvalidInputError, match="emission_layout"):
        SequenceLabeling().set_state(dict(state, emission_layout="label-major"))
    # migrate_state (structpred.load calls it) converts the tagless state; see
    # tests/test_sequence_model_compat.py for whole files
    state2, _ = SequenceLabeling().migrate_state(old, np.zeros(m.size_joint_feature))
    assert state2 == state


@pytest.mark.parametrize("order,boundary", CONFIGS)
def test_one_thread_delta_rows_built_in_steps_match_joint_features(order, boundary):
    """batch_delta_joint_feature's one-thread form builds δΨ a few sequences at a time into
    int32/float64 arrays of the final size: row i equals Ψ(x_i, y_i) - Ψ(x_i, ŷ_i) (the
    task's own joint_feature), and the CSR arrays are exactly the threaded form's."""
    rng = np.random.default_rng(11)
    X, Y = random_set(rng, n=23, L=4, F=6, max_len=5)
    m = fitted(order, boundary, X, Y, L=4, F=6)
    batch = m.make_batch(X, Y)
    Y_hat = [rng.integers(0, 4, size=len(y)) for y in Y]
    flat = np.concatenate(Y_hat).astype(np.int64)
    D = m._delta_narrow(batch, batch.y, flat, order, boundary, step=4)   # 6 steps
    assert D.indices.dtype == np.int32 and D.indptr.dtype == np.int32
    def dense(v):
        return v.toarray().ravel() if sp.issparse(v) else np.asarray(v, dtype=float)
    ref = np.stack([dense(m.joint_feature(x, y)) - dense(m.joint_feature(x, yh))
                    for x, y, yh in zip(X, Y, Y_hat)])
    np.testing.assert_allclose(D.toarray(), ref, rtol=0, atol=1e-12)
    one = m.batch_delta_joint_feature(batch, flat, n_jobs=1)
    threaded = m.batch_delta_joint_feature(batch, flat, n_jobs=2)
    for A in (one, D):
        np.testing.assert_array_equal(A.indptr, threaded.indptr)
        np.testing.assert_array_equal(A.indices, threaded.indices)
        np.testing.assert_array_equal(A.data.view(np.int64), threaded.data.view(np.int64))


@pytest.mark.parametrize("order,boundary", CONFIGS)
def test_delta_rows_room_bounds_every_row(order, boundary):
    """The numpy room bound of the δΨ kernel (``_room``) is the per-sequence count of its
    docstring (counted here token by token) and is at least each row's nonzeros."""
    from structpred.tasks.sequence.model import _room
    rng = np.random.default_rng(11)
    X, Y = random_set(rng, n=15, L=3, F=5, max_len=7, density=0.8)
    m = fitted(order, boundary, X, Y)
    b = m.make_batch(X, Y)
    flat = np.concatenate([np.where(rng.random(len(y)) < 0.4, y, rng.integers(0, 3, len(y)))
                           for y in Y])
    room = _room(b, b.y, flat, order, boundary)
    D = m.batch_delta_joint_feature(b, flat)
    for s, (x, y) in enumerate(zip(X, Y)):
        yh = flat[b.offsets[s]:b.offsets[s + 1]]
        count = sum(2 * x[t].nnz + (10 if order == 2 else 4)
                    for t in range(len(y)) if y[t] != yh[t]) + (4 if boundary else 0)
        assert room[s + 1] - room[s] == count >= D[s].nnz
