"""Multiclass (Crammer-Singer) task: oracles vs brute force, objective vs cvxpy and sklearn."""
import numpy as np
import pytest
import scipy.sparse as sp

from structpred import StructuredSVM
from structpred.tasks import Multiclass
from structpred.testing import (exhaustive_inference, exhaustive_loss_augmented_inference,
                                exhaustive_slack_rescaled_inference)

from conftest import data_file


def _blobs(n=60, f=4, k=3, seed=0, noise=1.0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=2.0, size=(k, f))
    y = rng.integers(0, k, size=n)
    return centers[y] + noise * rng.normal(size=(n, f)), y


def _primal_cvxpy(X, y, k, C):
    """The full n-slack primal with every constraint, solved by cvxpy (independent reference)."""
    import cvxpy as cp
    n, f = X.shape
    W = cp.Variable((k, f))
    xi = cp.Variable(n)
    scores = X @ W.T
    onehot = np.eye(k)[y]
    cons = [cp.reshape(xi, (n, 1), order="C") >= scores + (1 - onehot) - cp.reshape(cp.sum(cp.multiply(scores, onehot), axis=1), (n, 1), order="C")]
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(W) + C / n * cp.sum(xi)), cons)
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10)
    return prob.value


def test_oracles_match_brute_force():
    rng = np.random.default_rng(1)
    model = Multiclass(n_classes=4, n_features=3)
    for _ in range(50):
        x = rng.normal(size=3)
        y = int(rng.integers(4))
        w = rng.normal(size=12)
        labels = range(4)
        assert model.inference(x, w) == exhaustive_inference(model, x, w, labels)[0]
        la = model.loss_augmented_inference(x, y, w)
        _, best = exhaustive_loss_augmented_inference(model, x, y, w, labels)
        assert model.loss(y, la) + w @ model.joint_feature(x, la) == pytest.approx(best)
        sr = model.slack_rescaled_inference(x, y, w)
        _, best = exhaustive_slack_rescaled_inference(model, x, y, w, labels)
        s_true = w @ model.joint_feature(x, y)
        assert model.loss(y, sr) * (1 + w @ model.joint_feature(x, sr) - s_true) == pytest.approx(best)


def test_batch_forms_match_single_forms():
    X, y = _blobs(n=40, f=5, k=4, seed=2)
    model = Multiclass(n_classes=4, n_features=5)
    w = np.random.default_rng(3).normal(size=20)
    batch = model.make_batch(X, y)
    Y_hat = model.batch_loss_augmented_inference(batch, w)
    assert list(Y_hat) == [model.loss_augmented_inference(x, yi, w) for x, yi in zip(X, y)]
    D = model.batch_delta_joint_feature(batch, Y_hat)
    ref = np.vstack([model.joint_feature(x, yi) - model.joint_feature(x, yh)
                     for x, yi, yh in zip(X, y, Y_hat)])
    assert sp.issparse(D) and np.allclose(D.toarray(), ref)
    assert np.array_equal(model.batch_loss(batch, Y_hat), (np.asarray(Y_hat) != y).astype(float))
    assert list(model.batch_inference(batch, w)) == [model.inference(x, w) for x in X]


@pytest.mark.parametrize("algorithm", ["1-slack", "n-slack"])
@pytest.mark.parametrize("rescaling", ["margin", "slack"])
def test_objective_matches_cvxpy_full_qp(algorithm, rescaling):
    X, y = _blobs(n=50, f=3, k=3, seed=4, noise=1.5)
    C = 20.0
    ref = _primal_cvxpy(X, y, 3, C)
    svm = StructuredSVM(Multiclass(), C=C, eps=1e-6, algorithm=algorithm, rescaling=rescaling).fit(X, y)
    assert svm.converged_
    assert svm.primal_objective(X, y) == pytest.approx(ref, rel=1e-5)
    assert svm.dual_objective_ <= ref * (1 + 1e-7)
    assert svm.primal_objective_ >= svm.dual_objective_ - 1e-9


def test_qp_backends_agree():
    X, y = _blobs(n=30, f=3, k=3, seed=5, noise=1.5)
    a = StructuredSVM(Multiclass(), C=5.0, eps=1e-4, algorithm="1-slack", qp="active-set").fit(X, y)
    b = StructuredSVM(Multiclass(), C=5.0, eps=1e-4, algorithm="1-slack", qp="cvxpy").fit(X, y)
    assert a.primal_objective(X, y) == pytest.approx(b.primal_objective(X, y), rel=1e-4)


@pytest.mark.parametrize("name,loader", [("iris", "load_iris"), ("wine", "load_wine")])
def test_matches_sklearn_crammer_singer_small(name, loader):
    from sklearn.svm import LinearSVC
    import structpred.datasets as ds
    data_file(f"multiclass/{'iris.csv' if name == 'iris' else 'wine_data.csv'}")
    X, y = getattr(ds, loader)()
    X = (X - X.min(0)) / (X.max(0) - X.min(0))
    n, C = len(y), 10.0
    sk = LinearSVC(multi_class="crammer_singer", fit_intercept=False, C=C / n, tol=1e-8,
                   max_iter=200000).fit(X, y)
    ours = {alg: StructuredSVM(Multiclass(), C=C, eps=1e-4, algorithm=alg).fit(X, y)
            for alg in ("1-slack", "n-slack")}
    p_sk = ours["n-slack"].primal_objective(X, y, w=sk.coef_.ravel())
    for alg, svm in ours.items():
        p = svm.primal_objective(X, y)
        assert p == pytest.approx(p_sk, rel=1e-3), alg
        assert p >= svm.dual_objective_ - 1e-9


@pytest.mark.realdata
def test_digits_matches_sklearn_within_0_1_percent():
    """The issue's bar: all 1,797 digits scaled to [0, 1], C=10, eps=1e-3."""
    from sklearn.svm import LinearSVC
    from structpred.datasets import load_digits
    data_file("multiclass/digits.csv.gz")
    X, y = load_digits()
    n, C = len(y), 10.0
    sk = LinearSVC(multi_class="crammer_singer", fit_intercept=False, C=C / n, tol=1e-6,
                   max_iter=100000).fit(X, y)
    objective = {}
    for alg in ("1-slack", "n-slack"):
        svm = StructuredSVM(Multiclass(), C=C, eps=1e-3, algorithm=alg).fit(X, y)
        objective[alg] = svm.primal_objective(X, y)  # recomputed from w by the oracle
    p_sk = svm.primal_objective(X, y, w=sk.coef_.ravel())
    for alg, p in objective.items():
        assert abs(p - p_sk) <= 1e-3 * p_sk, (alg, p, p_sk)
    assert abs(objective["1-slack"] - objective["n-slack"]) <= 1e-3 * p_sk


def test_primal_objective_independent_of_solver_record():
    """primal_objective recomputed by brute force over labels equals the solver's value."""
    X, y = _blobs(n=25, f=3, k=3, seed=6)
    C = 3.0
    svm = StructuredSVM(Multiclass(), C=C, eps=1e-5).fit(X, y)
    W = svm.w_.reshape(3, 3)
    scores = X @ W.T
    hinge = np.max(scores + (np.arange(3)[None, :] != y[:, None]), axis=1) - scores[np.arange(len(y)), y]
    brute = 0.5 * svm.w_ @ svm.w_ + C / len(y) * hinge.sum()
    assert svm.primal_objective_ == pytest.approx(brute, rel=1e-10)


# --------------------------------------------------------------------------- the user's labels
def test_string_labels_round_trip_and_match_integer_labels(tmp_path):
    import structpred
    X, y = _blobs(n=60, f=4, k=3, seed=7)
    names = np.array(["cat", "dog", "emu"])[y]
    ints = StructuredSVM(Multiclass(), C=10.0, eps=1e-4).fit(X, y)
    strs = StructuredSVM(Multiclass(), C=10.0, eps=1e-4).fit(X, list(names))
    assert list(strs.classes_) == ["cat", "dog", "emu"]
    assert np.allclose(strs.w_, ints.w_)                  # same problem, labels only renamed
    pred = strs.predict(X)
    assert pred.dtype.kind == "U" and list(pred) == list(np.array(["cat", "dog", "emu"])[ints.predict(X)])
    assert strs.score(X, names) == ints.score(X, y)
    strs.save(tmp_path / "m.npz")
    back = structpred.load(tmp_path / "m.npz")
    assert list(back.predict(X)) == list(pred) and list(back.classes_) == ["cat", "dog", "emu"]


def test_sparse_labels_use_distinct_values_and_decision_function_agrees():
    X, y = _blobs(n=50, f=3, k=3, seed=8)
    labels = np.array([-5, 10, 10**9])[y]                 # any ints: no dense 0..K-1 needed
    svm = StructuredSVM(Multiclass(), C=5.0, eps=1e-4).fit(X, labels)
    assert list(svm.classes_) == [-5, 10, 10**9] and svm.w_.shape == (3 * 3,)
    D = svm.decision_function(X)
    assert D.shape == (50, 3) and np.array_equal(svm.classes_[np.argmax(D, axis=1)], svm.predict(X))
    assert np.allclose(svm.coef_, svm.w_.reshape(3, 3)) and np.allclose(D, X @ svm.coef_.T)
    binary = StructuredSVM(Multiclass(), C=5.0, eps=1e-4).fit(X, np.where(y == 0, "no", "yes"))
    d = binary.decision_function(X)                        # two classes: one margin, > 0 for classes_[1]
    assert d.shape == (50,) and np.array_equal(np.where(d > 0, "yes", "no"), binary.predict(X))


def test_unseen_label_and_mixed_types_name_Y():
    from structpred.errors import InvalidInputError
    X, y = _blobs(n=30, f=3, k=3, seed=9)
    svm = StructuredSVM(Multiclass(), eps=1e-3).fit(X, np.array(["a", "b", "c"])[y])
    with pytest.raises(InvalidInputError, match=r"Y: label 'z' of example 1 was not seen in training"):
        svm.primal_objective(X[:3], ["a", "z", "b"])
    pred = svm.predict(X[:3])                 # score: an unseen gold label is simply never right
    assert svm.score(X[:3], [pred[0], "z", pred[2]]) == pytest.approx(2 / 3)
    with pytest.raises(InvalidInputError, match=r"Y mixes label types"):
        StructuredSVM(Multiclass()).fit(X[:3], ["a", 1, "b"])
