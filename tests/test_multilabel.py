"""MultiLabel task: every oracle and probabilistic hook against brute-force enumeration over
all 2^L label vectors, sampling by a chi-square test, Chow-Liu against enumeration of
spanning trees, every solver against the cvxpy n-slack primal, bad input."""
import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats
from scipy.special import logsumexp

from structpred import StructuredSVM, load
from structpred.errors import InvalidInputError
from structpred.solvers import SOLVERS
from structpred.tasks import MultiLabel
from structpred.tasks.multilabel import chow_liu_edges, mutual_information
from structpred.testing import (exhaustive_inference, exhaustive_loss_augmented_inference,
                                exhaustive_slack_rescaled_inference)

from conftest import data_file

# (n_labels, edges): independent, a chain, a star, a forest, a 5-label tree
STRUCTURES = [(3, None), (3, [(0, 1), (1, 2)]), (4, [(2, 0), (2, 1), (3, 2)]),
              (4, [(3, 1), (0, 2)]), (5, [(0, 4), (4, 1), (1, 3), (4, 2)])]


def _outputs(L):
    return [np.array(c, dtype=np.int64) for c in itertools.product((0, 1), repeat=L)]


def _brute(model, x, w):
    """(outputs, scores, probabilities) by enumeration, scores from joint_feature."""
    ys = _outputs(model.n_labels_)
    s = np.array([w @ model.joint_feature(x, y) for y in ys])
    return ys, s, np.exp(s - logsumexp(s))


def _instance(L, edges, seed, F=3, scale=1.5, sparse=False):
    rng = np.random.default_rng(seed)
    model = MultiLabel(n_labels=L, n_features=F, edges=edges)
    w = scale * rng.normal(size=model.size_joint_feature)
    x = rng.normal(size=F)
    if sparse:
        x[0] = 0.0
        x = sp.csr_matrix(x)
    y = rng.integers(0, 2, size=L)
    return model, w, x, y


def _close(a, b, rtol=1e-9):
    b = np.asarray(b, dtype=np.float64)
    scale = max(1.0, float(np.max(np.abs(b)))) if b.size else 1.0
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize("L,edges", STRUCTURES)
@pytest.mark.parametrize("seed", [0, 1])
def test_probabilistic_hooks_match_brute_force(L, edges, seed):
    model, w, x, y = _instance(L, edges, seed, sparse=seed == 1)
    ys, s, p = _brute(model, x, w)
    _close(model.log_partition(x, w), logsumexp(s))
    i = next(k for k, c in enumerate(ys) if np.array_equal(c, y))
    _close(model.log_prob(x, y, w), s[i] - logsumexp(s))
    _close(model.marginals(x, w), sum(pk * c for pk, c in zip(p, ys)))
    pair = np.zeros((len(model.edges_), 2, 2))
    for pk, c in zip(p, ys):
        for e, (a, b) in enumerate(model.edges_):
            pair[e, c[a], c[b]] += pk
    _close(model.pairwise_marginals(x, w), pair)
    grad = model.joint_feature(x, y) - sum(pk * model.joint_feature(x, c) for pk, c in zip(p, ys))
    _close(model.log_prob_grad(x, y, w), grad)
    mean, err = model.expected_loss(x, y, w)
    _close(mean, sum(pk * model.loss(y, c) for pk, c in zip(p, ys)))
    assert err == 0.0


@pytest.mark.parametrize("L,edges", STRUCTURES)
def test_oracles_match_brute_force(L, edges):
    for seed in range(10):
        model, w, x, y = _instance(L, edges, 100 + seed, scale=3.0)
        ys = _outputs(L)
        _, best = exhaustive_inference(model, x, w, ys)
        y_hat = model.inference(x, w)
        assert w @ model.joint_feature(x, y_hat) == pytest.approx(best, rel=1e-12, abs=1e-12)
        _, best = exhaustive_loss_augmented_inference(model, x, y, w, ys)
        y_hat = model.loss_augmented_inference(x, y, w)
        value = model.loss(y, y_hat) + w @ model.joint_feature(x, y_hat)
        assert value == pytest.approx(best, rel=1e-12, abs=1e-12)
        _, best = exhaustive_slack_rescaled_inference(model, x, y, w, ys)
        y_hat = model.slack_rescaled_inference(x, y, w)
        s_true = w @ model.joint_feature(x, y)
        value = model.loss(y, y_hat) * (1 + w @ model.joint_feature(x, y_hat) - s_true)
        assert value == pytest.approx(max(best, 0.0), rel=1e-12, abs=1e-12)


def test_batch_forms_match_single_forms():
    L, edges = 4, [(0, 1), (1, 2), (1, 3)]
    rng = np.random.default_rng(5)
    X, Y = rng.normal(size=(7, 3)), rng.integers(0, 2, size=(7, L))
    model = MultiLabel(edges=edges)
    model.initialize(X, Y)
    w = rng.normal(size=model.size_joint_feature)
    for Xb in (X, sp.csr_matrix(X)):
        batch = model.make_batch(Xb, Y)
        Y_hat = model.batch_loss_augmented_inference(batch, w)
        assert [list(r) for r in Y_hat] == [list(model.loss_augmented_inference(x, y, w))
                                            for x, y in zip(X, Y)]
        D = model.batch_delta_joint_feature(batch, Y_hat).toarray()
        ref = [model.joint_feature(x, y) - model.joint_feature(x, yh) for x, y, yh in zip(X, Y, Y_hat)]
        _close(D, np.array(ref), rtol=1e-12)
        np.testing.assert_array_equal(model.batch_loss(batch, Y_hat),
                                      [model.loss(y, yh) for y, yh in zip(Y, Y_hat)])
        coef = rng.normal(size=7)
        lp, g = model.batch_log_prob_grad(batch, w, coef)
        _close(lp, [model.log_prob(x, y, w) for x, y in zip(X, Y)])
        _close(g, sum(c * model.log_prob_grad(x, y, w) for c, x, y in zip(coef, X, Y)))
        means, errs = model.batch_expected_loss(batch, w)
        _close(means, [model.expected_loss(x, y, w)[0] for x, y in zip(X, Y)])
        assert not errs.any()
        np.testing.assert_array_equal(model.batch_inference(batch, w),
                                      [model.inference(x, w) for x in X])


@pytest.mark.parametrize("L,edges", [(3, None), (4, [(2, 0), (2, 1), (3, 2)]), (4, [(3, 1), (0, 2)])])
def test_sampling_frequencies_pass_chi_square(L, edges):
    model, w, x, _ = _instance(L, edges, 7, scale=0.8)
    ys, _, p = _brute(model, x, w)
    n = 20000
    draws = np.asarray(model.sample(x, w, n, random_state=11))
    assert draws.shape == (n, L)
    codes = draws @ (2 ** np.arange(L - 1, -1, -1))
    observed = np.bincount(codes, minlength=2 ** L)
    assert stats.chisquare(observed, n * p).pvalue > 1e-3
    # the same seed gives the same draws; the batch form draws per example
    again = np.asarray(model.sample(x, w, n, random_state=11))
    np.testing.assert_array_equal(draws, again)
    batch = model.make_batch(np.vstack([x, x]))
    both = model.batch_sample(batch, w, 3, random_state=0)
    assert len(both) == 2 and all(len(d) == 3 and d[0].shape == (L,) for d in both)


def test_large_weights_stay_in_log_space_and_overflow_is_refused():
    model, w, x, y = _instance(4, [(0, 1), (1, 2), (2, 3)], 3)
    big = 1e150 * w
    lp = model.log_prob(x, model.inference(x, big), big)
    assert np.isfinite(lp) and lp <= 0
    worst = model.log_prob(x, 1 - model.inference(x, big), big)
    assert np.isfinite(worst) and worst < -1e140
    assert np.all(np.isfinite(model.marginals(x, big)))
    with pytest.raises(InvalidInputError, match="overflow"):
        model.log_partition(np.full(3, 1e10), np.full(model.size_joint_feature, 1e300))


def test_chow_liu_is_the_maximum_spanning_tree_of_mutual_information():
    from sklearn.metrics import mutual_info_score
    rng = np.random.default_rng(0)
    Z = rng.integers(0, 2, size=(300, 2))
    flip = lambda col, q: np.where(rng.random(300) < q, 1 - col, col)
    Y = np.column_stack([Z[:, 0], flip(Z[:, 0], 0.1), flip(Z[:, 0], 0.3), Z[:, 1], flip(Z[:, 1], 0.2)])
    mi = mutual_information(Y)
    for k, l in itertools.combinations(range(5), 2):
        assert mi[k, l] == pytest.approx(mutual_info_score(Y[:, k], Y[:, l]), rel=1e-9, abs=1e-12)
    edges = chow_liu_edges(Y)
    assert len(edges) == 4
    best = 0.0
    for subset in itertools.combinations(itertools.combinations(range(5), 2), 4):
        try:
            MultiLabel(n_labels=5, edges=list(subset))
        except InvalidInputError:       # a cycle
            continue
        best = max(best, sum(mi[k, l] for k, l in subset))
    assert sum(mi[k, l] for k, l in edges) == pytest.approx(best, rel=1e-12)
    model = MultiLabel(edges="chow-liu")
    model.initialize(rng.normal(size=(300, 2)), Y)
    np.testing.assert_array_equal(model.edges_, edges)


def _primal_cvxpy(model, X, Y, C):
    """The full n-slack primal with a constraint per example and output (2^L), by cvxpy."""
    import cvxpy as cp
    ys = _outputs(model.n_labels_)
    w = cp.Variable(model.size_joint_feature)
    xi = cp.Variable(len(X))
    cons = []
    for i, (x, y) in enumerate(zip(X, Y)):
        psi = model.joint_feature(x, y)
        A = np.array([psi - model.joint_feature(x, c) for c in ys])
        loss = np.array([model.loss(y, c) for c in ys])
        cons.append(xi[i] >= loss - A @ w)
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(w) + C / len(X) * cp.sum(xi)), cons)
    prob.solve(solver=cp.CLARABEL)
    return prob.value


@pytest.mark.parametrize("edges", [None, "chow-liu"])
def test_every_solver_reaches_the_cvxpy_primal(edges):
    rng = np.random.default_rng(2)
    n, F, L = 24, 3, 3
    X = rng.normal(size=(n, F))
    Y = (X @ rng.normal(size=(F, L)) + rng.normal(size=(n, L)) > 0).astype(int)
    Y[:, 2] = np.where(rng.random(n) < 0.8, Y[:, 1], 1 - Y[:, 1])
    model = MultiLabel(edges=edges)
    model.initialize(X, Y)
    reference = _primal_cvxpy(model, X, Y, C=5.0)
    for algorithm in SOLVERS:
        slow = algorithm in ("bcfw", "subgradient")
        svm = StructuredSVM(MultiLabel(edges=edges), C=5.0, eps=1e-3 if slow else 1e-4,
                            algorithm=algorithm, max_iter=3000 if slow else 1000).fit(X, Y)
        tol = 1e-2 if algorithm == "subgradient" else 2e-3
        assert svm.primal_objective(X, Y) == pytest.approx(reference, rel=tol), algorithm


def test_independent_labels_are_one_vs_rest_hinge_svms():
    """Without edges, max_y' Δ + w·δΨ splits into Σ_l max(0, 1 − s_l w_l·x̃) (s_l = ±1): the
    n-slack objective is L binary L1-hinge SVMs, liblinear's with C_sklearn = C / n (bias
    penalised: sklearn sees a column of ones and no intercept)."""
    from sklearn.svm import LinearSVC
    rng = np.random.default_rng(6)
    n = 60
    X = rng.normal(size=(n, 3))
    Y = (X @ rng.normal(size=(3, 2)) + rng.normal(size=(n, 2)) > 0).astype(int)
    svm = StructuredSVM(MultiLabel(), C=20.0, eps=1e-6).fit(X, Y)
    Xb = np.column_stack([X, np.ones(n)])
    total = 0.0
    for l in range(2):
        ref = LinearSVC(C=20.0 / n, loss="hinge", fit_intercept=False, tol=1e-8, max_iter=10 ** 6,
                        dual=True).fit(Xb, Y[:, l])
        v = ref.coef_[0]
        total += 0.5 * v @ v + 20.0 / n * np.maximum(0, 1 - (2 * Y[:, l] - 1) * (Xb @ v)).sum()
    assert svm.primal_objective(X, Y) == pytest.approx(total, rel=1e-5)


def test_fit_predict_save_load(tmp_path):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(30, 4))
    Y = (X[:, :3] + 0.3 * rng.normal(size=(30, 3)) > 0).astype(np.int8)
    svm = StructuredSVM(MultiLabel(edges="chow-liu"), C=10.0).fit(X, Y)
    pred = svm.predict(X)
    assert pred.shape == (30, 3) and svm.score(X, Y) == pytest.approx(1 - (pred != Y).mean())
    svm.save(tmp_path / "m.npz")
    back = load(tmp_path / "m.npz")
    np.testing.assert_array_equal(back.model.edges_, svm.model.edges_)
    np.testing.assert_array_equal(back.predict(X), pred)
    np.testing.assert_array_equal(svm.predict(sp.csr_matrix(X)), pred)


def _slack_primal_cvxpy(model, X, Y, C):
    """The n-slack primal under slack rescaling, ξ_i >= Δ(y_i, y')(1 − w·δΨ_i(y')), by cvxpy."""
    import cvxpy as cp
    ys = _outputs(model.n_labels_)
    w = cp.Variable(model.size_joint_feature)
    xi = cp.Variable(len(X))
    cons = []
    for i, (x, y) in enumerate(zip(X, Y)):
        psi = model.joint_feature(x, y)
        loss = np.array([model.loss(y, c) for c in ys])
        A = np.array([psi - model.joint_feature(x, c) for c in ys]) * loss[:, None]
        cons.append(xi[i] >= loss - A @ w)
    cons.append(xi >= 0)
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(w) + C / len(X) * cp.sum(xi)), cons)
    prob.solve(solver=cp.CLARABEL)
    return prob.value


def test_slack_rescaling_trains_to_the_cvxpy_primal():
    rng = np.random.default_rng(8)
    n, F, L = 20, 3, 3
    X = rng.normal(size=(n, F))
    Y = (X @ rng.normal(size=(F, L)) + rng.normal(size=(n, L)) > 0).astype(int)
    model = MultiLabel(edges=[(0, 1), (1, 2)])
    model.initialize(X, Y)
    reference = _slack_primal_cvxpy(model, X, Y, C=5.0)
    svm = StructuredSVM(MultiLabel(edges=[(0, 1), (1, 2)]), C=5.0, eps=1e-4, rescaling="slack",
                        algorithm="1-slack").fit(X, Y)
    assert svm.primal_objective(X, Y) == pytest.approx(reference, rel=2e-3)


@pytest.mark.parametrize("edges,match", [
    ([(0, 1), (1, 2), (2, 0)], r"edges\[2\].*cycle"), ([(0, 0)], r"edges\[0\].*self-loop"),
    ([(0, 1), (1, 0)], r"edges\[1\].*duplicates"), ([(0, 5)], r"edges\[0\].*out of range"),
    ([(0, -1)], "out of range"), ([(0, 1.5)], "integers"), ([(0, 1, 2)], "pair"), ("tree", "chow-liu")])
def test_bad_edges(edges, match):
    with pytest.raises(InvalidInputError, match=match):
        MultiLabel(n_labels=3, edges=edges)


def test_out_of_range_edge_found_at_fit():
    X, Y = np.zeros((2, 2)), np.array([[0, 1, 1], [1, 0, 0]])
    with pytest.raises(InvalidInputError, match=r"edges\[1\].*out of range"):
        StructuredSVM(MultiLabel(edges=[(0, 1), (1, 3)])).fit(X, Y)


@pytest.mark.parametrize("Y,match", [
    ([[0, 1], [1, 2]], r"Y\[1\] is not a 0/1"), ([[0, 1], [1, 0.5]], r"Y\[1\] is not a 0/1"),
    ([[0, 1], [1, 0, 1]], r"Y\[1\] has 3 labels"), ([[0, 1], [np.nan, 1]], r"Y\[1\]"),
    ([["a", "b"], ["c", "d"]], "0/1")])
def test_bad_labels(Y, match):
    with pytest.raises(InvalidInputError, match=match):
        StructuredSVM(MultiLabel()).fit(np.zeros((2, 2)), Y)


def test_bad_features_and_widths():
    Y = np.array([[0, 1], [1, 0], [1, 1]])
    X = np.ones((3, 2))
    X[2, 1] = np.nan
    with pytest.raises(InvalidInputError, match=r"X\[2\]") as info:
        StructuredSVM(MultiLabel()).fit(X, Y)
    assert info.value.index == 2
    svm = StructuredSVM(MultiLabel(), C=1.0).fit(np.ones((3, 2)), Y)
    with pytest.raises(InvalidInputError, match="3 features"):
        svm.predict(np.ones((2, 3)))
    with pytest.raises(InvalidInputError, match="3 labels per example"):
        svm.model.check_input(np.ones((1, 2)), [[0, 1, 1]])
    with pytest.raises(InvalidInputError, match="positive integer"):
        svm.model.sample(np.ones(2), svm.w_, 0)


def test_shared_brute_force_checks_and_gibbs_policy_equals_logistic_regression():
    from sklearn.linear_model import LogisticRegression
    from structpred import GibbsPolicy
    from structpred.testing import check_batch_hooks, check_probabilistic_hooks, sampling_chi_square
    model, w, x, y = _instance(4, [(0, 1), (0, 2), (2, 3)], 9)
    check_probabilistic_hooks(model, x, y, w, _outputs(4), indicator=lambda o: o)
    assert sampling_chi_square(model, x, w, _outputs(4), n=5000, random_state=1) > 1e-3
    rng = np.random.default_rng(9)
    X, Y = rng.normal(size=(6, 3)), rng.integers(0, 2, size=(6, 4))
    check_batch_hooks(model, X, Y, w, coef=rng.normal(size=6), Y_other=1 - Y)
    # independent labels: the CRF is one L2 logistic regression per label (bias penalised
    # too: sklearn sees a column of ones, no intercept), with C_sklearn = C / n
    X, Y = rng.normal(size=(80, 3)), (rng.random((80, 3)) < 0.4).astype(int)
    policy = GibbsPolicy(MultiLabel(), C=8.0, tol=1e-10).fit(X, Y)
    W = policy.w_.reshape(3, 4)
    Xb = np.column_stack([X, np.ones(80)])
    for l in range(3):
        lr = LogisticRegression(C=8.0 / 80, fit_intercept=False, tol=1e-12, max_iter=10000)
        lr.fit(Xb, Y[:, l])
        np.testing.assert_allclose(W[l], lr.coef_[0], atol=1e-5)
    np.testing.assert_allclose(policy.predict_marginals(X)[:, 2], lr.predict_proba(Xb)[:, 1], atol=1e-5)


def test_scene_loader():
    data_file("multilabel/scene/scene.npz")
    from structpred.datasets import load_scene
    X, Y, Xt, Yt = load_scene()
    assert X.shape == (1211, 294) and Y.shape == (1211, 6) and Xt.shape == (1196, 294)
    assert Yt.shape == (1196, 6) and Y.dtype == np.int8
    assert Y.sum(axis=1).mean() == pytest.approx(1.062, abs=1e-3)
    assert 0.0 <= X.min() and X.max() <= 1.0
