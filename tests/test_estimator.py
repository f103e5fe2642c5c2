"""StructuredSVM: parameter checks, bad input, persistence, Ctrl-C, buggy-oracle warning."""

import numpy as np
import pytest

import structpred
from structpred import StructuredModel, StructuredSVM
from structpred.solvers import OracleWarning
from structpred.tasks import Multiclass


def _data(n=30, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    X = np.eye(3)[y] * 2 + rng.normal(size=(n, 3))
    return X, y


@pytest.mark.parametrize("param,value", [("C", 0), ("C", -1.0), ("eps", 0.0), ("eps", -0.1),
                                         ("C", float("nan")), ("algorithm", "3-slack"),
                                         ("rescaling", "both"), ("max_iter", 0)])
def test_bad_parameters_are_named(param, value):
    X, y = _data()
    with pytest.raises(ValueError, match=param):
        StructuredSVM(Multiclass(), **{param: value}).fit(X, y)


def test_bad_input_names_argument_and_example():
    X, y = _data()
    with pytest.raises(ValueError, match=r"len\(X\)=30, len\(Y\)=29"):
        StructuredSVM(Multiclass()).fit(X, y[:-1])
    with pytest.raises(ValueError, match="empty training set"):
        StructuredSVM(Multiclass()).fit([], [])
    bad = y.copy()
    bad[7] = 5
    with pytest.raises(ValueError, match="example 7"):
        StructuredSVM(Multiclass(n_classes=3)).fit(X, bad)
    bad[7] = -1                                  # any labels without n_classes, within with it
    StructuredSVM(Multiclass()).fit(X, bad)
    with pytest.raises(ValueError, match="example 7"):
        StructuredSVM(Multiclass(n_classes=3)).fit(X, bad)
    Xn = X.copy()
    Xn[4, 1] = np.nan
    with pytest.raises(ValueError, match="NaN.*example 4"):
        StructuredSVM(Multiclass()).fit(Xn, y)
    ragged = [list(x) for x in X]
    ragged[3] = ragged[3][:2]
    with pytest.raises(ValueError, match="example 3"):
        StructuredSVM(Multiclass()).fit(ragged, y)
    svm = StructuredSVM(Multiclass()).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        svm.predict(np.ones((2, 4)))


class WrongLength(StructuredModel):
    """Ψ one entry short: the contract check must catch it before training."""
    def __init__(self):
        super().__init__()
        self.size_joint_feature = 4

    def joint_feature(self, x, y):
        return np.zeros(3)

    def loss(self, y, y_hat):
        return float(y != y_hat)

    def inference(self, x, w):
        return 0

    def loss_augmented_inference(self, x, y, w):
        return 0


def test_wrong_joint_feature_length_is_caught():
    with pytest.raises(ValueError, match="WrongLength.joint_feature on example 0.*length 3.*4"):
        StructuredSVM(WrongLength()).fit([1, 2], [0, 1])


def test_not_fitted_predict():
    with pytest.raises(RuntimeError, match="not fitted"):
        StructuredSVM(Multiclass()).predict(np.ones((1, 3)))


def test_get_set_params_roundtrip():
    svm = StructuredSVM(Multiclass(), C=3.0)
    params = svm.get_params()
    assert params["C"] == 3.0 and params["algorithm"] == "n-slack"
    svm.set_params(C=7.0, eps=0.01)
    assert svm.C == 7.0 and svm.eps == 0.01
    with pytest.raises(ValueError, match="invalid parameter 'gamma'"):
        svm.set_params(gamma=1)


def test_save_load_roundtrip(tmp_path):
    X, y = _data(40, seed=1)
    svm = StructuredSVM(Multiclass(), C=5.0, eps=1e-3).fit(X, y)
    path = tmp_path / "model.npz"
    svm.save(path)
    loaded = structpred.load(path)
    assert isinstance(loaded.model, Multiclass)
    assert loaded.model.n_classes_ == 3 and loaded.model.n_classes is None and loaded.C == 5.0
    assert np.array_equal(loaded.w_, svm.w_)
    assert np.array_equal(loaded.predict(X), svm.predict(X))
    assert loaded.primal_objective_ == svm.primal_objective_


def test_load_rejects_foreign_and_newer_files(tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a structpred model file"):
        structpred.load(junk)
    X, y = _data()
    path = tmp_path / "m.npz"
    StructuredSVM(Multiclass()).fit(X, y).save(path)
    import json
    with np.load(path) as f:
        arrays = dict(f)
    header = json.loads(arrays["__structpred__"].tobytes())
    header["version"] = 999
    arrays["__structpred__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(tmp_path / "new.npz", **arrays)
    with pytest.raises(ValueError, match="version 999 is newer"):
        structpred.load(tmp_path / "new.npz")


def test_ctrl_c_returns_best_model_so_far():
    X, y = _data(60, seed=2)
    calls = []

    def interrupt(iteration, w, record):
        calls.append(iteration)
        if iteration == 4:
            raise KeyboardInterrupt

    svm = StructuredSVM(Multiclass(), C=10.0, eps=1e-6, callback=interrupt)
    with pytest.warns(RuntimeWarning, match="interrupted"):
        svm.fit(X, y)
    assert svm.interrupted_ and not svm.converged_ and calls[-1] == 4
    oracle_primals = [r["primal"] for r in svm.history_ if not np.isnan(r.get("primal", np.nan))]
    assert svm.primal_objective_ == pytest.approx(min(oracle_primals))
    assert svm.primal_objective(X, y) == pytest.approx(svm.primal_objective_)


class LazyOracle(Multiclass):
    """A deliberately broken oracle: always answers the true label after a while."""
    def batch_loss_augmented_inference(self, batch, w, n_jobs=1):
        Y_hat = super().batch_loss_augmented_inference(batch, w, n_jobs)
        if np.linalg.norm(w) > 0:
            return batch.Y.copy()
        return Y_hat


def test_buggy_oracle_is_reported():
    X, y = _data(40, seed=3)
    with pytest.warns(OracleWarning, match="not"):
        StructuredSVM(LazyOracle(), C=10.0, eps=1e-3, max_iter=20).fit(X, y)


def test_history_and_timings_are_recorded():
    X, y = _data(40, seed=4)
    svm = StructuredSVM(Multiclass(), C=10.0, eps=1e-3).fit(X, y)
    oracle_rows = [r for r in svm.history_ if not r["cached"]]
    assert oracle_rows and all(r["gap"] >= -1e-9 for r in oracle_rows)
    assert svm.duality_gap_ >= -1e-9
    assert {"qp", "oracle", "psi", "total"} <= set(svm.timings_)
    assert svm.n_iter_ == svm.history_[-1]["iteration"]


def test_max_iter_warns_and_reports_true_primal():
    X, y = _data(40, seed=5)
    svm = StructuredSVM(Multiclass(), C=100.0, eps=1e-8, max_iter=3)
    with pytest.warns(RuntimeWarning, match="did not reach"):
        svm.fit(X, y)
    assert svm.primal_objective_ == pytest.approx(svm.primal_objective(X, y))


def test_verbose_progress_lines(caplog):
    import logging
    X, y = _data(30, seed=6)
    with caplog.at_level(logging.INFO, logger="structpred"):
        StructuredSVM(Multiclass(), C=1.0, eps=1e-2, verbose=1).fit(X, y)
    text = caplog.text
    assert "primal" in text and "time shares" in text and "converged" in text


def test_n_jobs_gives_identical_model():
    X, y = _data(101, seed=8)
    one = StructuredSVM(Multiclass(), C=10.0, eps=1e-4, n_jobs=1).fit(X, y)
    two = StructuredSVM(Multiclass(), C=10.0, eps=1e-4, n_jobs=2).fit(X, y)
    three = StructuredSVM(Multiclass(), C=10.0, eps=1e-4, n_jobs=3, algorithm="n-slack").fit(X, y)
    assert np.array_equal(one.w_, two.w_)
    assert one.n_iter_ == two.n_iter_
    assert three.primal_objective_ == pytest.approx(one.primal_objective(X, y), rel=1e-3)


def test_oracle_chunks_cover_every_example():
    from structpred.solvers.oracle import LocalOracle, chunk_bounds
    assert chunk_bounds(10, 3) == [(0, 3), (3, 7), (7, 10)]
    assert chunk_bounds(2, 5) == [(0, 1), (1, 2)]
    X, y = _data(23, seed=9)
    model = Multiclass()
    model.initialize(X, y)
    w = np.random.default_rng(0).normal(size=model.size_joint_feature)
    D1, L1 = LocalOracle(model, X, y, n_jobs=1)(w)
    D4, L4 = LocalOracle(model, list(X), list(y), n_jobs=4)(w)
    assert np.array_equal(L1, L4) and np.allclose(D1.toarray(), D4.toarray())
