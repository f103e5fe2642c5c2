"""Warm start (fit(..., warm_start=True)) and the regularisation path over C."""
import inspect

import numpy as np
import pytest

from structpred import StructuredSVM
from structpred.path import regularization_path
from structpred.solvers.cutting_plane import fit_one_slack
from structpred.tasks import Multiclass

from test_multiclass import _blobs, _primal_cvxpy

ONE_SLACK_REUSES_WORKING_SET = "warm_state" in inspect.signature(fit_one_slack).parameters


def _data():
    return _blobs(n=40, f=3, k=3, seed=11, noise=1.3)


def test_bcfw_warm_start_resumes_with_fewer_passes():
    X, y = _data()
    C = 2.0
    cold = StructuredSVM(Multiclass(), C=C, eps=1e-4, algorithm="bcfw", max_iter=3000).fit(X, y)
    warm = StructuredSVM(Multiclass(), C=C, eps=1e-2, algorithm="bcfw", max_iter=3000,
                         keep_solver_state=True).fit(X, y)
    first = warm.n_iter_
    warm.set_params(eps=1e-4)
    warm.fit(X, y, warm_start=True)
    assert warm.converged_ and cold.converged_
    assert warm.n_iter_ < cold.n_iter_
    assert first + warm.n_iter_ <= 1.1 * cold.n_iter_     # resumed, not restarted
    # the resumed dual state is the previous one: the first gap is already small
    assert warm.history_[0]["gap"] < cold.history_[0]["gap"]
    assert abs(warm.primal_objective_ - cold.primal_objective_) <= C * 1e-4


def test_bcfw_warm_start_across_C_rescales_the_dual():
    X, y = _data()
    a = StructuredSVM(Multiclass(), C=1.0, eps=1e-3, algorithm="bcfw", keep_solver_state=True).fit(X, y)
    a.set_params(C=2.0)
    a.fit(X, y, warm_start=True)
    b = StructuredSVM(Multiclass(), C=2.0, eps=1e-3, algorithm="bcfw").fit(X, y)
    ref = _primal_cvxpy(X, y, 3, 2.0)
    for svm in (a, b):
        assert svm.converged_
        assert ref - 1e-7 <= svm.primal_objective_ <= ref + 2.0 * 1e-3
        assert min(h["gap"] for h in svm.history_) >= -1e-10
    assert a.n_iter_ < b.n_iter_


def test_bcfw_warm_state_from_other_data_is_ignored_with_warning():
    X, y = _data()
    svm = StructuredSVM(Multiclass(), C=1.0, eps=1e-2, algorithm="bcfw", keep_solver_state=True).fit(X, y)
    with pytest.warns(RuntimeWarning, match="does not match"):
        svm.fit(X[:30], y[:30], warm_start=True)
    assert svm.converged_


def test_warm_start_false_is_a_fresh_fit():
    X, y = _data()
    a = StructuredSVM(Multiclass(), C=1.0, eps=1e-3, algorithm="bcfw", keep_solver_state=True).fit(X, y)
    w1 = a.w_.copy()
    a.fit(X, y)                                  # warm_start=False: same result again
    assert np.array_equal(a.w_, w1)


@pytest.mark.parametrize("algorithm", ["bcfw", "1-slack"])
def test_path_objectives_match_individual_fits(algorithm):
    X, y = _data()
    Cs = [0.3, 1.0, 3.0, 10.0]
    eps = 1e-3
    base = StructuredSVM(Multiclass(), eps=eps, algorithm=algorithm, max_iter=5000)
    path = regularization_path(base, X, y, Cs[::-1])          # sorted internally
    assert list(path.Cs) == Cs
    assert not hasattr(base, "w_")                             # estimator left unchanged
    for j, C in enumerate(Cs):
        single = StructuredSVM(Multiclass(), C=C, eps=eps, algorithm=algorithm,
                               max_iter=5000).fit(X, y)
        # both are within C·eps of the optimum
        assert abs(path.primal_[j] - single.primal_objective_) <= C * eps
        est = path.estimators_[j]
        assert est.C == C and np.array_equal(est.w_, path.coefs_[j])
        assert est.primal_objective(X, y) == pytest.approx(path.primal_[j], rel=1e-9)
    assert path.converged_.all()
    assert len(path.records()) == 4 and path.records()[1]["C"] == 1.0


def test_bcfw_path_is_cheaper_than_cold_path():
    X, y = _data()
    base = StructuredSVM(Multiclass(), eps=1e-3, algorithm="bcfw", max_iter=5000)
    Cs = [1.0, 2.0, 4.0, 8.0]
    warm = regularization_path(base, X, y, Cs)
    cold = regularization_path(base, X, y, Cs, warm_start=False, keep_estimators=False)
    assert warm.n_iter_[1:].sum() < cold.n_iter_[1:].sum()
    assert warm.n_oracle_calls_.sum() < cold.n_oracle_calls_.sum()
    assert np.all(np.abs(warm.primal_ - cold.primal_) <= np.array(Cs) * 1e-3)


@pytest.mark.skipif(not ONE_SLACK_REUSES_WORKING_SET,
                    reason="fit_one_slack has no warm_state parameter yet (working-set reuse)")
def test_one_slack_path_reuses_the_working_set():
    X, y = _data()
    base = StructuredSVM(Multiclass(), eps=1e-3)
    Cs = [1.0, 2.0, 4.0, 8.0]
    warm = regularization_path(base, X, y, Cs)
    cold = regularization_path(base, X, y, Cs, warm_start=False, keep_estimators=False)
    assert warm.n_oracle_calls_[1:].sum() < cold.n_oracle_calls_[1:].sum()
    assert np.all(np.abs(warm.primal_ - cold.primal_) <= np.array(Cs) * 1e-3)


def test_path_input_checks():
    X, y = _data()
    base = StructuredSVM(Multiclass())
    with pytest.raises(ValueError, match="Cs is empty"):
        regularization_path(base, X, y, [])
    with pytest.raises(ValueError, match="positive"):
        regularization_path(base, X, y, [1.0, -2.0])


def test_solver_state_is_dropped_unless_asked_for():
    X, y = _data()
    assert StructuredSVM(Multiclass(), C=1.0).fit(X, y).warm_state_ is None
    kept = StructuredSVM(Multiclass(), C=1.0, keep_solver_state=True).fit(X, y)
    assert kept.warm_state_ is not None and kept.warm_state_["kind"] == "n-slack"
