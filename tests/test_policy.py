"""GibbsPolicy: objective vs scikit-learn's multinomial LogisticRegression, the scikit-learn
protocol, model files, bad input; StructuredSVM.sample / log_prob at a temperature."""
import warnings

import numpy as np
import pytest

import structpred
from structpred import GibbsPolicy, StructuredModel, StructuredSVM
from structpred.errors import InvalidInputError, ModelFileError
from structpred.tasks import Multiclass
from structpred.testing import sampling_chi_square


def _blobs(n=80, f=4, k=3, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=1.5, size=(k, f))
    y = rng.integers(0, k, size=n)
    return centers[y] + rng.normal(size=(n, f)), y


def _sk_objective(X, y, W, C_sk):
    from sklearn.metrics import log_loss
    S = X @ W.T
    S -= S.max(axis=1, keepdims=True)
    P = np.exp(S) / np.exp(S).sum(axis=1, keepdims=True)
    return 0.5 * np.sum(W ** 2) + C_sk * len(y) * log_loss(y, P, labels=np.arange(W.shape[0]))


@pytest.mark.parametrize("C", [0.5, 10.0])
def test_multiclass_objective_equals_sklearn_logistic_regression(C):
    from sklearn.linear_model import LogisticRegression
    X, y = _blobs()
    n = len(y)
    pol = GibbsPolicy(Multiclass(), C=C, tol=1e-10).fit(X, y)
    sk = LogisticRegression(C=C / n, fit_intercept=False, tol=1e-12, max_iter=10000).fit(X, y)
    W_sk = sk.coef_
    # the same objective function (our J, evaluated independently via sklearn's log_loss) ...
    assert pol.objective(X, y, W_sk.ravel()) == pytest.approx(_sk_objective(X, y, W_sk, C / n),
                                                              rel=1e-12)
    # ... and the same minimum and minimiser
    assert pol.objective_ == pytest.approx(_sk_objective(X, y, W_sk, C / n), rel=1e-6)
    assert pol.objective_ <= _sk_objective(X, y, W_sk, C / n) * (1 + 1e-9)
    np.testing.assert_allclose(pol.w_.reshape(W_sk.shape), W_sk, atol=1e-4 * max(1, np.abs(W_sk).max()))
    np.testing.assert_allclose(pol.predict_proba(X), sk.predict_proba(X), atol=1e-5)
    assert pol.converged_


def test_policy_methods_on_multiclass():
    X, y = _blobs(n=60, seed=1)
    pol = GibbsPolicy(Multiclass(), C=5.0).fit(X, y)
    P = pol.predict_proba(X)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.exp(pol.predict_log_proba(X)), P, rtol=1e-12)
    np.testing.assert_array_equal(pol.predict(X), P.argmax(axis=1))
    np.testing.assert_allclose(np.exp(pol.log_prob(X, y)), P[np.arange(60), y], rtol=1e-12)
    marg = pol.predict_marginals(X[:3])
    np.testing.assert_allclose(np.array(marg), P[:3], rtol=1e-12)
    means, errs = pol.expected_loss(X, y)
    np.testing.assert_allclose(means, 1 - P[np.arange(60), y], atol=1e-14)
    assert np.all(errs == 0)
    draws = pol.sample(X[:2], 5, random_state=0)
    assert len(draws) == 2 and all(len(d) == 5 for d in draws)
    assert pol.sample(X[:2], 5, random_state=0) == draws
    assert 0 <= pol.score(X, y) <= 1


def test_temperature_scales_the_scores():
    X, y = _blobs(n=40, seed=2)
    pol = GibbsPolicy(Multiclass(), C=5.0).fit(X, y)
    W = pol.w_.reshape(3, -1)
    for T in (0.25, 1.0, 4.0):
        S = X @ W.T / T
        ref = S[np.arange(40), y] - np.log(np.exp(S).sum(axis=1))
        np.testing.assert_allclose(pol.log_prob(X, y, temperature=T), ref, rtol=1e-10)
    # a cold policy samples its MAP prediction
    cold = pol.sample(X[:5], 20, random_state=1, temperature=1e-6)
    assert all(set(d) == {p} for d, p in zip(cold, pol.predict(X[:5])))


def test_structured_svm_as_a_logging_policy():
    X, y = _blobs(n=50, seed=3)
    svm = StructuredSVM(Multiclass(), C=10.0).fit(X, y)
    T = 0.5
    W = svm.w_.reshape(3, -1) / T
    S = X @ W.T
    ref = S[np.arange(50), y] - np.log(np.exp(S).sum(axis=1))
    np.testing.assert_allclose(svm.log_prob(X, y, temperature=T), ref, rtol=1e-10)
    # its draws follow the softmax of w/T (chi-square, fixed seed)
    model = svm.model
    assert sampling_chi_square(model, X[0], svm.w_ / T, [0, 1, 2], n=5000, random_state=4) > 1e-3
    draws = svm.sample(X[:1], 5000, random_state=4, temperature=T)[0]
    assert draws == model.sample(X[0], svm.w_ / T, 5000, 4)


@pytest.mark.parametrize("T", [0.0, -1.0, float("nan"), float("inf"), "hot", None])
def test_bad_temperatures(T):
    X, y = _blobs(n=20, seed=4)
    pol = GibbsPolicy(Multiclass(), C=1.0).fit(X, y)
    svm = StructuredSVM(Multiclass(), C=1.0).fit(X, y)
    for est in (pol, svm):
        with pytest.raises(InvalidInputError, match="temperature"):
            est.log_prob(X, y, temperature=T)
        with pytest.raises(InvalidInputError, match="temperature"):
            est.sample(X, 2, temperature=T)


@pytest.mark.parametrize("n", [0, -1, 1.5, "3"])
def test_bad_sample_counts(n):
    X, y = _blobs(n=20, seed=5)
    pol = GibbsPolicy(Multiclass()).fit(X, y)
    with pytest.raises(InvalidInputError, match="n must be a positive integer"):
        pol.sample(X, n)
    with pytest.raises(InvalidInputError, match="n_samples"):
        pol.expected_loss(X, y, n_samples=n)


def test_labels_outside_the_range_are_named():
    X, y = _blobs(n=20, seed=6)
    pol = GibbsPolicy(Multiclass()).fit(X, y)
    bad = y.copy()
    bad[7] = 3
    with pytest.raises(InvalidInputError, match="example 7"):
        pol.log_prob(X, bad)
    bad[7] = -1
    with pytest.raises(InvalidInputError, match="example 7"):
        pol.expected_loss(X, bad)


def test_huge_features_never_give_nan():
    X, y = _blobs(n=30, seed=7)
    pol = GibbsPolicy(Multiclass(), C=100.0).fit(X, y)
    big = X * 1e45                       # features up to MAX_ABS_FEATURE are accepted
    lp = pol.log_prob(big, y)
    assert np.all(np.isfinite(lp)) and np.all(lp <= 0)
    assert np.min(lp) < -1e40           # a log-probability, not an underflow to 0 probability
    means, _ = pol.expected_loss(big, y)
    assert np.all(np.isfinite(means))
    pol.w_ = pol.w_ * 1e270             # w·Ψ beyond float64: refused, not NaN
    with pytest.raises(InvalidInputError, match="overflows"):
        pol.log_prob(big, y)


def test_sklearn_protocol_clone_and_grid_search():
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV
    X, y = _blobs(n=90, seed=8)
    pol = GibbsPolicy(Multiclass(), C=2.0, tol=1e-6)
    c = clone(pol)
    assert c.get_params()["C"] == 2.0 and c.model is not pol.model
    gs = GridSearchCV(pol, {"C": [0.01, 1.0, 100.0]}, cv=3).fit(X, y)
    assert gs.best_params_["C"] in (0.01, 1.0, 100.0)
    assert gs.best_estimator_.predict(X).shape == (90,)
    assert repr(GibbsPolicy(Multiclass(), C=3.0)) == "GibbsPolicy(model=Multiclass(), C=3.0)"


def test_save_and_load_round_trip(tmp_path):
    X, y = _blobs(n=40, seed=9)
    pol = GibbsPolicy(Multiclass(), C=3.0, tol=1e-7).fit(X, y)
    path = tmp_path / "crf.npz"
    pol.save(path)
    for loaded in (structpred.load(path), GibbsPolicy.load(path)):
        assert isinstance(loaded, GibbsPolicy)
        assert loaded.C == 3.0 and loaded.tol == 1e-7
        np.testing.assert_array_equal(loaded.w_, pol.w_)
        np.testing.assert_array_equal(loaded.log_prob(X, y), pol.log_prob(X, y))
        assert loaded.converged_ and loaded.primal_objective_ == pol.objective_
    svm_path = tmp_path / "svm.npz"
    StructuredSVM(Multiclass()).fit(X, y).save(svm_path)
    assert isinstance(structpred.load(svm_path), StructuredSVM)
    with pytest.raises(ModelFileError, match="holds a StructuredSVM"):
        GibbsPolicy.load(svm_path)


class _NoHooks(StructuredModel):
    size_joint_feature = 1

    def joint_feature(self, x, y):
        return np.array([float(x * y)])

    def loss(self, y, yh):
        return float(y != yh)

    def inference(self, x, w):
        return 1

    def loss_augmented_inference(self, x, y, w):
        return 1


def test_task_without_hooks_fails_at_the_start_naming_the_hook():
    with pytest.raises(NotImplementedError, match="log_prob_grad"):
        GibbsPolicy(_NoHooks()).fit([1.0, 2.0], [0, 1])
    svm = StructuredSVM(_NoHooks())
    svm.w_ = np.zeros(1)
    with pytest.raises(NotImplementedError, match="sample"):
        svm.sample([1.0], 3)


@pytest.mark.parametrize("params", [{"C": 0}, {"C": float("nan")}, {"tol": -1}, {"max_iter": 0}])
def test_bad_parameters(params):
    X, y = _blobs(n=10)
    with pytest.raises(ValueError, match=list(params)[0]):
        GibbsPolicy(Multiclass(), **params).fit(X, y)


def test_warm_start_resumes():
    X, y = _blobs(n=60, seed=10)
    pol = GibbsPolicy(Multiclass(), C=5.0, warm_start=True, tol=1e-8).fit(X, y)
    n_first = pol.n_iter_
    pol.fit(X, y)
    assert pol.n_iter_ < n_first
