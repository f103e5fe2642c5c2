"""StructuredSVM and the tasks follow scikit-learn's estimator protocol.

GridSearchCV / cross_val_score / clone / pickle / nested parameters, and scikit-learn's own
``check_estimator`` suite on StructuredSVM(Multiclass()) with the checks that cannot apply to
structured outputs listed (and asserted to fail, so that the list stays honest).
"""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import scipy.sparse as sp

sklearn = pytest.importorskip("sklearn")
from sklearn.base import clone, is_classifier  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import (GridSearchCV, KFold, StratifiedKFold,  # noqa: E402
                                     cross_val_score)
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from structpred import StructuredSVM  # noqa: E402
from structpred.svm import NotFittedError  # noqa: E402
from structpred.tasks import Multiclass, SequenceLabeling  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _sequences(n=60, seed=0, n_features=8, n_labels=3):
    rng = np.random.default_rng(seed)
    X, Y = [], []
    for _ in range(n):
        T = int(rng.integers(2, 7))
        y = rng.integers(0, n_labels, size=T)
        dense = rng.normal(scale=0.3, size=(T, n_features))
        dense[np.arange(T), y] += 1.0          # feature l says "label l"
        X.append(sp.csr_matrix(dense))
        Y.append(y)
    return X, Y


# --------------------------------------------------------------------------- the bar
def test_grid_search_best_score_equals_manual_three_fold_loop(digits):
    X, y = digits
    grid = [0.1, 1, 10]
    search = GridSearchCV(StructuredSVM(Multiclass(), eps=1e-2), {"C": grid}, cv=3).fit(X, y)
    # is_classifier -> GridSearchCV's cv=3 is StratifiedKFold(3) without shuffling
    folds = list(StratifiedKFold(3).split(X, y))
    manual = {}
    for C in grid:
        scores = []
        for tr, te in folds:
            est = StructuredSVM(Multiclass(), C=C, eps=1e-2).fit(X[tr], y[tr])
            scores.append(np.mean(est.predict(X[te]) == y[te]))   # accuracy, independently
        manual[C] = float(np.mean(scores))
    best = max(manual, key=manual.get)
    assert search.best_params_ == {"C": best}
    assert search.best_score_ == pytest.approx(manual[best], abs=1e-12)
    assert np.allclose(search.cv_results_["mean_test_score"], [manual[C] for C in grid])
    # refit=True: the best estimator is fitted on all the data with the best C
    assert search.best_estimator_.C == best and search.best_estimator_.w_.shape == (10 * 64,)


def test_cross_val_score_on_sequences():
    X, Y = _sequences()
    est = StructuredSVM(SequenceLabeling(), C=10.0, eps=1e-2)
    assert not is_classifier(est)          # plain KFold: Y is a list of label arrays
    scores = cross_val_score(est, X, Y, cv=3)
    manual = []
    for tr, te in KFold(3).split(X):
        fitted = clone(est).fit([X[i] for i in tr], [Y[i] for i in tr])
        pred = fitted.predict([X[i] for i in te])
        gold = np.concatenate([Y[i] for i in te])
        manual.append(np.mean(np.concatenate(pred) == gold))   # token accuracy
    assert np.allclose(scores, manual)
    assert np.all(scores > 0.6)


def test_clone_unfitted_and_fitted(digits):
    X, y = digits
    est = StructuredSVM(Multiclass(n_classes=10), C=3.0, eps=1e-2)
    c1 = clone(est)
    assert c1 is not est and c1.model is not est.model
    assert c1.get_params(deep=False).keys() == est.get_params(deep=False).keys()
    assert c1.C == 3.0 and c1.model.n_classes == 10
    est.fit(X[:300], y[:300])
    c2 = clone(est)
    assert not hasattr(c2, "w_") and c2.model.n_classes_ == 10 and c2.model.n_features_ is None
    with pytest.raises(NotFittedError):
        c2.predict(X[:3])
    c2.fit(X[:300], y[:300])
    assert np.array_equal(c2.predict(X), est.predict(X))


def test_refit_on_data_with_another_number_of_features(digits):
    X, y = digits
    est = StructuredSVM(Multiclass(), eps=1e-2).fit(X[:200], y[:200])
    assert est.model.n_features is None and est.model.n_features_ == 64
    est.fit(X[:200, :20], y[:200] % 4)
    assert est.model.n_features is None and est.model.n_classes is None
    assert est.model.n_features_ == 20 and est.model.n_classes_ == 4
    assert est.w_.shape == (4 * 20,) and est.n_features_in_ == 20
    with pytest.raises(ValueError, match="X has 64 features, but StructuredSVM is expecting 20"):
        est.predict(X[:5])


def test_pickle_round_trip_predicts_identically(digits):
    X, y = digits
    est = StructuredSVM(Multiclass(), C=1.0, eps=1e-2).fit(X[:500], y[:500])
    back = pickle.loads(pickle.dumps(est))
    assert np.array_equal(back.w_, est.w_)
    assert np.array_equal(back.predict(X[500:]), est.predict(X[500:]))
    Xs, Ys = _sequences(30)
    seq = StructuredSVM(SequenceLabeling(), C=10.0, eps=1e-2).fit(Xs, Ys)
    back = pickle.loads(pickle.dumps(seq))
    assert all(np.array_equal(a, b) for a, b in zip(back.predict(Xs), seq.predict(Xs)))


def test_predict_shape_and_default_scorer(digits):
    X, y = digits
    est = StructuredSVM(Multiclass(), eps=1e-2).fit(X[:300], y[:300])
    pred = est.predict(X[300:])
    assert isinstance(pred, np.ndarray) and pred.shape == (len(X) - 300,)
    assert est.score(X[300:], y[300:]) == pytest.approx(np.mean(pred == y[300:]))
    assert np.array_equal(est.classes_, np.arange(10))


def test_nested_params_and_repr():
    est = StructuredSVM(SequenceLabeling(transition_order=2), C=5.0)
    params = est.get_params(deep=True)
    assert params["model__transition_order"] == 2 and params["C"] == 5.0
    assert "model__transition_order" not in est.get_params(deep=False)
    est.set_params(model__transition_order=1, model__boundary_transitions=True, eps=0.5)
    assert est.model.transition_order == 1 and est.model.boundary_transitions and est.eps == 0.5
    with pytest.raises(ValueError, match="invalid parameter 'nope' for SequenceLabeling"):
        est.set_params(model__nope=1)
    with pytest.raises(ValueError, match="invalid parameter 'gamma' for StructuredSVM"):
        est.set_params(gamma=1)
    assert repr(est) == ("StructuredSVM(model=SequenceLabeling(boundary_transitions=True), "
                         "C=5.0, eps=0.5)")
    assert repr(Multiclass()) == "Multiclass()"


def test_grid_search_over_a_nested_task_parameter():
    X, Y = _sequences(45)
    search = GridSearchCV(StructuredSVM(SequenceLabeling(), C=10.0, eps=1e-2),
                          {"model__transition_order": [1, 2]}, cv=3).fit(X, Y)
    assert search.best_params_["model__transition_order"] in (1, 2)
    assert search.best_estimator_.model.transition_order == search.best_params_["model__transition_order"]


# --------------------------------------------------------------------------- check_estimator
#: scikit-learn checks that cannot apply to a structural SVM, and why. Each is run and must
#: fail (``expected_failed_checks`` makes an unexpected pass an xpass, visible in the report).
NOT_APPLICABLE = {
    "check_estimators_overwrite_params":
        "the task object (a parameter) is where initialize stores the learnt sizes "
        "(n_classes_, n_features_, size_joint_feature): the model contract of every task; its "
        "constructor parameters are untouched",
}


@parametrize_with_checks([StructuredSVM(Multiclass(), eps=1e-2)],
                         expected_failed_checks=lambda est: NOT_APPLICABLE)
def test_sklearn_check_estimator(estimator, check):
    check(estimator)


def test_every_task_clones_with_its_parameters_kept():
    from structpred.tasks import ConstituencyParsing, DiverseSubset
    tasks = [Multiclass(n_classes=np.int64(3)), SequenceLabeling(n_labels=4, transition_order=2),
             ConstituencyParsing(horizontal=2, grammar_trees=["(TOP (S (NN a)))"]),
             DiverseSubset(k=np.int64(4), redundancy=True)]
    for task in tasks:
        est = StructuredSVM(task, C=2.0)
        copy = clone(est)
        assert type(copy.model) is type(task) and copy.model is not task
        assert copy.model.get_params() == task.get_params()
        # learnt state lives in attributes ending in "_" and is not a parameter
        assert not any(k.endswith("_") for k in task.get_params())
