"""The solver core: one primal, declared solver options, early contract errors."""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from structpred import ExampleBatch, StructuredModel, StructuredSVM
from structpred.solvers import SOLVERS, get_solver, primal, solver_options
from structpred.solvers.oracle import LocalOracle
from structpred.solvers.registry import check_options
from structpred.tasks import Multiclass, SequenceLabeling


def _blobs(n=12, f=3, k=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    X = rng.normal(size=(n, f)) + 2.0 * np.eye(k, f)[y]
    return X, y


# ---------------------------------------------------------------- primal
@pytest.mark.parametrize("rescaling", ["margin", "slack"])
def test_primal_matches_brute_force_hinge(rescaling):
    """½‖w‖² + C/n Σ_i max_y' [Δ(y_i, y')(s) - ...]⁺ by enumerating every label."""
    X, y = _blobs(n=9, f=3, k=3, seed=1)
    model = Multiclass()
    model.initialize(X, y)
    rng = np.random.default_rng(2)
    w = rng.normal(size=model.size_joint_feature)
    C = 3.7
    oracle = LocalOracle(model, X, y, rescaling=rescaling)
    D, L = oracle(w)
    total = 0.0
    for x, yi in zip(X, y):
        own = w @ model.joint_feature(x, yi)
        worst = 0.0
        for yp in range(model.n_classes_ if hasattr(model, "n_classes_") else 3):
            delta = model.loss(yi, yp)
            margin = own - w @ model.joint_feature(x, yp)
            worst = max(worst, delta - margin if rescaling == "margin" else delta * (1 - margin))
        total += worst
    expected = 0.5 * w @ w + C / len(X) * total
    assert primal(w, D, L, C, rescaling) == pytest.approx(expected, rel=1e-12)
    svm = StructuredSVM(Multiclass(), C=C, rescaling=rescaling)
    svm.model.initialize(X, y)
    assert svm.primal_objective(X, y, w=w) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("algorithm", sorted(SOLVERS))
def test_every_solver_reports_the_core_primal(algorithm):
    X, y = _blobs(n=15, seed=3)
    svm = StructuredSVM(Multiclass(), C=2.0, eps=1e-3, algorithm=algorithm, max_iter=300).fit(X, y)
    assert svm.primal_objective_ == pytest.approx(svm.primal_objective(X, y), rel=1e-9)


# ---------------------------------------------------------------- options
def test_unknown_solver_option_is_a_type_error_naming_it():
    X, y = _blobs()
    with pytest.raises(TypeError, match="block_sise"):
        StructuredSVM(Multiclass(), algorithm="bcfw", solver_options={"block_sise": 2}).fit(X, y)
    with pytest.raises(TypeError, match="qp_tol"):
        StructuredSVM(Multiclass(), algorithm="1-slack", solver_options={"qp_tol": 1e-3}).fit(X, y)
    with pytest.raises(TypeError, match="frobnicate"):
        check_options("n-slack", {"frobnicate": 1})
    with pytest.raises(TypeError, match="cache_size"):
        get_solver("n-slack")(Multiclass(), None, C=1.0, eps=0.1, cache_size=5)


def test_n_slack_rejects_one_slack_options_set_explicitly():
    X, y = _blobs()
    for name, value in [("cache_size", 3), ("qp", "cvxpy"), ("inactive_window", 7)]:
        with pytest.raises(TypeError, match=name):
            StructuredSVM(Multiclass(), algorithm="n-slack", **{name: value}).fit(X, y)
    # the estimator's defaults, and "off" (as `structpred learn -w 0` passes), are fine
    StructuredSVM(Multiclass(), algorithm="n-slack").fit(X, y)
    StructuredSVM(Multiclass(), algorithm="n-slack", cache_size=0, inactive_window=0).fit(X, y)


def test_solver_options_are_declared_by_signature():
    assert set(solver_options("1-slack")) == {"cache_size", "qp", "inactive_window", "check_oracle"}
    assert set(solver_options("bcfw")) == {"block_size", "line_search", "averaging", "gap_every",
                                            "sample", "random_state"}
    for name in SOLVERS:
        params = __import__("inspect").signature(get_solver(name)).parameters
        assert not any(p.kind is p.VAR_KEYWORD for p in params.values()), name


# ---------------------------------------------------------------- contract
def test_slack_rescaling_without_the_oracle_fails_at_the_start_of_fit():
    X = [sp.csr_matrix(np.eye(3)[[0, 1, 2]]), sp.csr_matrix(np.eye(3)[[2, 1]])]
    Y = [np.array([0, 1, 2]), np.array([2, 1])]
    calls = []
    svm = StructuredSVM(SequenceLabeling(), rescaling="slack", callback=lambda *a: calls.append(a))
    with pytest.raises(NotImplementedError, match="slack_rescaled_inference") as info:
        svm.fit(X, Y)
    assert "SequenceLabeling" in str(info.value) and "rescaling='margin'" in str(info.value)
    assert calls == []


class _OwnBatch:
    def __init__(self, X, Y):
        self.rows, self.labels = list(X), None if Y is None else list(Y)

    def __len__(self):
        return len(self.rows)


class _OwnBatchTask(StructuredModel):
    """A task with its own batch class that overrides only the single-example oracles."""
    size_joint_feature = 2

    def make_batch(self, X, Y=None):
        return _OwnBatch(X, Y)

    def joint_feature(self, x, y):
        return np.array([x * y, float(y)])

    def loss(self, y, y_hat):
        return float(y != y_hat)

    def inference(self, x, w):
        return int(w @ self.joint_feature(x, 1) > 0)

    def loss_augmented_inference(self, x, y, w):
        return max((0, 1), key=lambda c: self.loss(y, c) + w @ self.joint_feature(x, c))


def test_default_batch_forms_name_the_method_to_override():
    task = _OwnBatchTask()
    with pytest.raises(NotImplementedError, match="batch_loss_augmented_inference"):
        StructuredSVM(task).fit([0.5, -1.0], [1, 0])
    with pytest.raises(NotImplementedError, match="override batch_loss"):
        task.batch_loss(task.make_batch([1.0], [1]), [0])
    # the plain ExampleBatch works, and a label-free batch is refused by name
    assert task.batch_loss(ExampleBatch([1.0], [1]), [0]).tolist() == [1.0]
    with pytest.raises(ValueError, match="without Y"):
        task.batch_loss_augmented_inference(ExampleBatch([1.0]), np.zeros(2))


def test_local_oracle_reports_each_chunks_thread_cpu():
    X, y = _blobs(n=30, seed=4)
    model = Multiclass()
    model.initialize(X, y)
    w = np.random.default_rng(0).normal(size=model.size_joint_feature)
    results = {}
    for jobs in (1, 2):
        oracle = LocalOracle(model, X, y, n_jobs=jobs)
        results[jobs] = oracle(w)
        assert len(oracle.last_chunk_cpu) == jobs and min(oracle.last_chunk_cpu) >= 0.0
        oracle.close()
    assert (results[1][0] != results[2][0]).nnz == 0
    assert np.array_equal(results[1][1], results[2][1])


# ---------------------------------------------------------------- loop tail
def test_final_primal_is_taken_at_the_returned_w_and_ctrl_c_there_returns_the_best():
    """n-slack stopped by max_iter: its sweeps moved w after the last pass, so one more pass
    gives the primal at the returned w; a Ctrl-C in that pass returns the best iterate."""
    X, y = _blobs(n=20, seed=6)
    opts = {"batch_size": 0}                      # full passes only: one oracle call per pass
    with pytest.warns(RuntimeWarning, match="max_iter=2"):
        svm = StructuredSVM(Multiclass(), C=50.0, eps=1e-9, max_iter=2,
                            solver_options=opts).fit(X, y)
    assert svm.primal_objective_ == pytest.approx(svm.primal_objective(X, y), rel=1e-12)
    assert svm.primal_objective_ != svm.history_[-1]["primal"]   # w moved after the pass
    model = Multiclass()
    inner = model.batch_loss_augmented_inference
    calls = []

    def oracle(batch, w, n_jobs=1):
        calls.append(1)
        if len(calls) == 3:                        # the pass after max_iter=2
            raise KeyboardInterrupt
        return inner(batch, w, n_jobs)

    model.batch_loss_augmented_inference = oracle
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cut = StructuredSVM(model, C=50.0, eps=1e-9, max_iter=2, solver_options=opts).fit(X, y)
    del model.batch_loss_augmented_inference
    assert any("interrupted" in str(w.message) for w in caught)
    assert cut.interrupted_ and len(calls) == 3
    assert cut.primal_objective_ == min(h["primal"] for h in cut.history_)
    assert cut.primal_objective(X, y) == pytest.approx(cut.primal_objective_, rel=1e-12)


def test_run_oracle_keeps_a_float64_csr_and_converts_anything_else():
    from structpred.solvers.oracle import run_oracle
    X, y = _blobs(n=6, seed=7)
    model = Multiclass()
    model.initialize(X, y)
    batch = model.make_batch(X, y)
    w = np.random.default_rng(1).normal(size=model.size_joint_feature)
    made = sp.csr_matrix(np.random.default_rng(2).normal(size=(6, model.size_joint_feature)))
    model.batch_delta_joint_feature = lambda b, Y_hat: made
    assert run_oracle(model, batch, w, "margin")[0] is made          # no copy
    for other in (made.astype(np.float32), made.tocoo(), made.toarray(), sp.csr_array(made)):
        model.batch_delta_joint_feature = lambda b, Y_hat, o=other: o
        D = run_oracle(model, batch, w, "margin")[0]
        assert isinstance(D, sp.csr_matrix) and D.dtype == np.float64
        assert abs(D - made.astype(other.dtype).astype(np.float64)).max() == 0.0
