"""Stochastic subgradient: reaches the cvxpy / 1-slack objective on small multiclass problems,
projection radius, lazy averaging against a direct computation, warm start, stopping."""
import numpy as np
import pytest

from structpred import StructuredSVM
from structpred.solvers.subgradient import _LazyAveragedIterate, fit_subgradient
from structpred.solvers.oracle import LocalOracle
from structpred.tasks import Multiclass

from test_multiclass import _blobs, _primal_cvxpy


@pytest.mark.parametrize("averaging", [True, False])
def test_subgradient_reaches_cvxpy_objective(averaging):
    X, y = _blobs(n=40, f=3, k=3, seed=4, noise=1.5)
    C = 1.0
    ref = _primal_cvxpy(X, y, 3, C)
    one = StructuredSVM(Multiclass(), C=C, eps=1e-5).fit(X, y)
    sg = StructuredSVM(Multiclass(), C=C, eps=1e-5, algorithm="subgradient", max_iter=150,
                       solver_options=dict(averaging=averaging, tol=0.0))
    with pytest.warns(RuntimeWarning, match="max_iter"):
        sg.fit(X, y)
    p = sg.primal_objective(X, y)
    assert p == pytest.approx(sg.primal_objective_, rel=1e-12)
    assert ref - 1e-7 <= p <= ref * (1 + 2e-3)
    assert abs(p - one.primal_objective(X, y)) <= 2e-3 * ref
    assert np.isnan(sg.dual_objective_) and np.isnan(sg.duality_gap_)


def test_subgradient_stays_in_the_ball_and_improves():
    X, y = _blobs(n=30, f=3, k=3, seed=5)
    C = 10.0
    model = Multiclass()
    model.initialize(X, y)
    p0 = C * 1.0   # P(0) = (C/n) Σ max_y Δ = C for 0/1 loss
    sg = StructuredSVM(Multiclass(), C=C, eps=1e-3, algorithm="subgradient", max_iter=30,
                       solver_options=dict(block_size=4, tol=0.0))
    with pytest.warns(RuntimeWarning):
        sg.fit(X, y)
    assert np.linalg.norm(sg.w_) <= np.sqrt(2 * p0) + 1e-9
    primals = [h["primal"] for h in sg.history_]
    assert primals[-1] < 0.5 * p0
    assert sg.primal_objective_ == min(primals)


def test_lazy_average_matches_direct_average():
    rng = np.random.default_rng(0)
    d = 12
    lazy = _LazyAveragedIterate(np.zeros(d))
    w = np.zeros(d)
    weighted = np.zeros(d)
    radius = 3.0
    for t in range(1, 60):
        idx = np.unique(rng.integers(0, d, size=4))
        val = rng.normal(size=idx.size)
        shrink = 1.0 - 1.0 / t
        w = shrink * w
        w[idx] += val
        norm = np.linalg.norm(w)
        if norm > radius:
            w *= radius / norm
        lazy.step(t, shrink, idx, val, radius)
        weighted += t * w
        assert np.allclose(lazy.w(), w)
        assert np.allclose(lazy.average(), weighted / (t * (t + 1) / 2))
        if t % 17 == 0:
            lazy.materialise()
            assert np.allclose(lazy.average(), weighted / (t * (t + 1) / 2))


def test_subgradient_stops_when_primal_stalls_and_warm_starts():
    X, y = _blobs(n=30, f=3, k=3, seed=6)
    svm = StructuredSVM(Multiclass(), C=1.0, eps=1e-2, algorithm="subgradient", max_iter=500,
                        keep_solver_state=True)
    with pytest.warns(RuntimeWarning, match="not converged"):
        svm.fit(X, y)     # stops when the primal stalls, but says the stop is not certified
    assert not svm.converged_ and svm.n_iter_ < 500
    last = svm.history_[-1]
    assert last["primal"] - last["dual_bound"] > 1e-2 * 1.0       # gap above C·eps
    one = StructuredSVM(Multiclass(), C=1.0, eps=1e-6).fit(X, y)
    assert last["dual_bound"] <= one.primal_objective_ + 1e-9 <= svm.primal_objective_ + 1e-9
    # a looser eps is certified by the same dual bound
    loose = StructuredSVM(Multiclass(), C=1.0, eps=0.05, algorithm="subgradient", max_iter=500)
    loose.fit(X, y)
    assert loose.converged_
    assert loose.primal_objective_ - loose.history_[-1]["dual_bound"] <= 0.05
    first = svm.primal_objective_
    svm.set_params(eps=1e-3)
    svm.fit(X, y, warm_start=True)
    # resumes: the first check is already about as good as the previous result
    assert svm.history_[0]["primal"] <= first * 1.01
    assert svm.history_[0]["steps"] > 30


def test_fit_subgradient_direct_call():
    X, y = _blobs(n=20, f=3, k=3, seed=9)
    model = Multiclass()
    model.initialize(X, y)
    oracle = LocalOracle(model, X, y)
    res = fit_subgradient(model, oracle, C=1.0, eps=1e-2, block_size=5, max_iter=50)
    assert res.extra["block_steps"] == res.n_iter * 4
    assert res.extra["warm_state"]["kind"] == "subgradient"


def test_large_C_does_not_diverge():
    """Regression: at C=1000 the lazily scaled iterate lost the precision of ‖v‖², the
    projection stopped acting and the primal blew up to 1e71."""
    import warnings
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, size=120)
    X = np.eye(4)[y] + 0.5 * rng.normal(size=(120, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        svm = StructuredSVM(Multiclass(), C=1000.0, eps=1e-3, algorithm="subgradient",
                            max_iter=30).fit(X, y)
    primals = [r["primal"] for r in svm.history_]
    assert np.all(np.isfinite(primals)) and max(primals) < 1e4
    assert svm.primal_objective_ < 1000.0  # below w = 0, whose primal is C * mean loss
