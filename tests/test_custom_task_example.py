"""The subclassing example (examples/custom_task.py): oracles vs brute force, end-to-end fit,
objective vs cvxpy, save/load of a task defined outside the package."""
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import structpred
from structpred import StructuredSVM


@pytest.fixture(scope="module")
def example():
    path = Path(__file__).resolve().parents[1] / "examples" / "custom_task.py"
    spec = importlib.util.spec_from_file_location("custom_task", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["custom_task"] = module
    spec.loader.exec_module(module)
    return module


def test_oracles_match_brute_force(example):
    X, Y = example.make_data(50, seed=3)
    model = example.OrdinalRegression(n_grades=5, n_features=X.shape[1])
    assert example.check_oracles(model, X, Y, n_checks=300, seed=4) == 300


def test_trains_and_beats_constant_baseline(example):
    mae, baseline = example.main()
    assert mae < 0.5 * baseline


def test_objective_against_cvxpy(example):
    import cvxpy as cp
    X, Y = example.make_data(40, n_features=3, n_grades=4, seed=5)
    model = example.OrdinalRegression(n_grades=4, n_features=3)
    C = 10.0
    svm = StructuredSVM(model, C=C, eps=1e-6).fit(X, Y)
    w = cp.Variable(model.size_joint_feature)
    xi = cp.Variable(len(Y))
    cons = []
    for i, (x, y) in enumerate(zip(X, Y)):
        for g in range(4):
            d = model.joint_feature(x, y) - model.joint_feature(x, g)
            cons.append(w @ d >= model.loss(y, g) - xi[i])
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(w) + C / len(Y) * cp.sum(xi)), cons)
    prob.solve(solver=cp.CLARABEL)
    assert svm.primal_objective_ == pytest.approx(prob.value, rel=1e-5)


def test_save_load_user_task(example, tmp_path):
    X, Y = example.make_data(60, seed=6)
    svm = StructuredSVM(example.OrdinalRegression(5, X.shape[1]), C=10.0).fit(X, Y)
    svm.save(tmp_path / "ordinal.npz")
    with pytest.raises(ValueError, match="unknown task .*OrdinalRegression.*tasks="):
        structpred.load(tmp_path / "ordinal.npz")      # never imported from the file
    loaded = structpred.load(tmp_path / "ordinal.npz", tasks=[example.OrdinalRegression])
    assert loaded.model.n_grades == 5
    assert np.array_equal(loaded.predict(X), svm.predict(X))


def test_bad_grade_named(example):
    X, Y = example.make_data(20, seed=7)
    Y[5] = 9
    with pytest.raises(ValueError, match="example 5"):
        StructuredSVM(example.OrdinalRegression(5, X.shape[1])).fit(X, Y)
