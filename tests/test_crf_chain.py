"""Linear-chain CRF hooks of SequenceLabeling against brute-force enumeration on tiny chains
(first and second order, with and without start/end weights, scaled and log-space paths)."""
import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from structpred.errors import InvalidInputError
from structpred.tasks import SequenceLabeling
from structpred.tasks.sequence import crf_kernels
from structpred.testing import check_batch_hooks, check_probabilistic_hooks, sampling_chi_square


def _chain(T, F, rng, density=0.6):
    x = rng.normal(size=(T, F)) * (rng.random((T, F)) < density)
    return sp.csr_matrix(x)


def _task(L, F, order, boundary, force_log=False):
    t = SequenceLabeling(n_labels=L, n_features=F, transition_order=order,
                         boundary_transitions=boundary)
    t.force_log_space = force_log
    return t


def _outputs(T, L):
    return [np.array(o) for o in itertools.product(range(L), repeat=T)]


def _token_indicator(L):
    return lambda o: np.eye(L)[o]


CASES = [(1, False, False), (1, True, False), (1, True, True), (2, False, False), (2, True, False)]


@pytest.mark.parametrize("order,boundary,force_log", CASES)
def test_hooks_match_brute_force(order, boundary, force_log):
    rng = np.random.default_rng(order * 10 + boundary + 100 * force_log)
    L, F = 3, 4
    task = _task(L, F, order, boundary, force_log)
    for T in (1, 2, 3, 5):
        for scale in (0.3, 3.0):
            x = _chain(T, F, rng)
            y = rng.integers(0, L, size=T)
            w = rng.normal(size=task.size_joint_feature) * scale
            check_probabilistic_hooks(task, x, y, w, _outputs(T, L), indicator=_token_indicator(L))


@pytest.mark.parametrize("order,boundary", [(1, True), (2, True)])
def test_transition_counts_match_brute_force(order, boundary):
    rng = np.random.default_rng(5)
    L, F, T = 3, 2, 4
    task = _task(L, F, order, boundary)
    x = _chain(T, F, rng)
    w = rng.normal(size=task.size_joint_feature)

    def bigrams(o):
        c = np.zeros((L, L))
        for a, b in zip(o[:-1], o[1:]):
            c[a, b] += 1
        return c
    ref = check_probabilistic_hooks(task, x, np.zeros(T, int), w, _outputs(T, L), indicator=bigrams,
                                    hooks=())
    np.testing.assert_allclose(task.transition_counts(x, w), ref["marginals"], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("order", [1, 2])
def test_batch_forms_match_single_forms(order):
    rng = np.random.default_rng(order)
    L, F = 4, 6
    task = _task(L, F, order, True)
    X = [_chain(int(T), F, rng) for T in rng.integers(1, 7, size=9)]
    Y = [rng.integers(0, L, size=x.shape[0]) for x in X]
    Y2 = [rng.integers(0, L, size=x.shape[0]) for x in X]
    w = rng.normal(size=task.size_joint_feature)
    check_batch_hooks(task, X, Y, w, coef=rng.normal(size=9), Y_other=Y2)
    # threads: the same numbers
    batch = task.make_batch(X, Y)
    lp1, g1 = task.batch_log_prob_grad(batch, w, np.ones(9), n_jobs=1)
    lp2, g2 = task.batch_log_prob_grad(batch, w, np.ones(9), n_jobs=2)
    np.testing.assert_allclose(lp1, lp2, rtol=1e-13)
    np.testing.assert_allclose(g1, g2, rtol=1e-12, atol=1e-12)
    marg = task.batch_marginals(batch, w)
    for x, m in zip(X, marg):
        np.testing.assert_allclose(m, task.marginals(x, w), rtol=1e-12)
        np.testing.assert_allclose(m.sum(axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("order", [1, 2])
def test_sampling_passes_chi_square(order):
    rng = np.random.default_rng(20 + order)
    L, F, T = 3, 3, 4
    task = _task(L, F, order, True)
    x = _chain(T, F, rng, density=1.0)
    w = rng.normal(size=task.size_joint_feature)
    p = sampling_chi_square(task, x, w, _outputs(T, L), n=20000, random_state=order)
    assert p > 1e-3


def test_sampling_repeats_for_a_seed_and_differs_otherwise():
    rng = np.random.default_rng(3)
    task = _task(3, 3, 1, False)
    x = _chain(6, 3, rng)
    w = rng.normal(size=task.size_joint_feature)
    a = task.sample(x, w, 10, random_state=11)
    b = task.sample(x, w, 10, random_state=11)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    c = task.sample(x, w, 10, random_state=12)
    assert not all(np.array_equal(u, v) for u, v in zip(a, c))


def test_extreme_weights_fall_back_to_log_space():
    """Transitions that forbid what the emissions demand underflow the scaled recursion; the
    log-space rerun still gives the brute-force values (no NaN, no silent zero)."""
    L, F, T = 2, 2, 4
    task = _task(L, F, 1, False)
    x = sp.csr_matrix(np.array([[1.0, 0], [0, 1], [1, 0], [0, 1]]))
    W = np.array([[800.0, -800.0], [-800.0, 800.0]])         # emissions: alternate 0 1 0 1
    A = np.array([[0.0, -900.0], [-900.0, 0.0]])              # transitions: never switch
    w = np.concatenate([W.ravel(), A.ravel()])
    ref = check_probabilistic_hooks(task, x, np.array([0, 1, 0, 1]), w, _outputs(T, L),
                                    indicator=_token_indicator(L))
    assert np.isfinite(ref["log_partition"])
    assert task.log_prob(x, np.array([0, 0, 0, 0]), w) < -700     # log space, not -inf
    em = np.array([[800.0, -800], [-800, 800], [800, -800], [-800, 800]])
    mu = np.empty((T, L))
    z = np.zeros(L)
    ws = [np.empty((T, L)) for _ in range(3)] + [np.empty(T), np.empty(L)]
    lz = crf_kernels.fb1_scaled(em, T, A, z, z, mu, 0.0, A, z, z, 0,
                                *crf_kernels.transition_factors(A), *ws)
    assert np.isnan(lz)          # the scaled recursion underflowed: the log-space rerun served


def test_overflowing_scores_raise_naming_the_sequence():
    task = _task(2, 2, 1, False)
    X = [sp.csr_matrix(np.ones((2, 2))), sp.csr_matrix(np.array([[1e10, 0], [0, 1.0]]))]
    w = np.array([1e300, 0, 0, 0, 0, 0, 0, 0.0])
    with pytest.raises(InvalidInputError, match=r"X\[1\]"):
        task.batch_log_prob(task.make_batch(X, [np.zeros(2, int)] * 2), w)


def test_labels_outside_the_task_range_are_named():
    task = _task(3, 2, 1, False)
    X = [sp.csr_matrix(np.ones((2, 2)))] * 3
    batch = task.make_batch(X)
    w = np.zeros(task.size_joint_feature)
    with pytest.raises(InvalidInputError, match=r"Y\[2\]: label 3"):
        task.batch_log_prob(batch, w, Y=[[0, 1], [2, 2], [1, 3]])
    with pytest.raises(InvalidInputError, match=r"Y\[1\] has 3 labels"):
        task.batch_log_prob(batch, w, Y=[[0, 1], [2, 2, 1], [1, 1]])


def test_scaled_and_log_space_paths_agree_on_long_chains():
    """Beyond brute force: L=12 labels, 60 tokens; the scaled recursion (fastmath reassociation)
    and the pure log-space one give the same log Z, marginals and gradient."""
    rng = np.random.default_rng(9)
    L, F = 12, 30
    X = [_chain(int(T), F, rng, density=0.3) for T in (60, 1, 17)]
    Y = [rng.integers(0, L, size=x.shape[0]) for x in X]
    fast, slow = _task(L, F, 1, True), _task(L, F, 1, True, force_log=True)
    w = rng.normal(size=fast.size_joint_feature) * 2
    b = fast.make_batch(X, Y)
    lp1, g1 = fast.batch_log_prob_grad(b, w, np.ones(3))
    lp2, g2 = slow.batch_log_prob_grad(b, w, np.ones(3))
    np.testing.assert_allclose(lp1, lp2, rtol=1e-11)
    np.testing.assert_allclose(g1, g2, rtol=1e-9, atol=1e-9)
    for m1, m2 in zip(fast.batch_marginals(b, w), slow.batch_marginals(b, w)):
        np.testing.assert_allclose(m1, m2, rtol=1e-9, atol=1e-13)
