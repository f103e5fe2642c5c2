"""Block-Coordinate Frank-Wolfe: objective vs the cvxpy full primal and the 1-slack solver,
certified gaps, per-block oracle, options, Ctrl-C and a broken oracle."""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from structpred import StructuredSVM
from structpred.solvers import OracleWarning
from structpred.solvers.frank_wolfe import fit_bcfw
from structpred.solvers.objective import sparse_rows_sum
from structpred.solvers.oracle import LocalOracle
from structpred.tasks import Multiclass

from test_multiclass import _blobs, _primal_cvxpy


def _gaps_ok(svm):
    gaps = [h["gap"] for h in svm.history_]
    scale = max(1.0, abs(svm.primal_objective_))
    assert gaps, "no gap check recorded"
    assert all(g >= -1e-10 * scale for g in gaps), gaps
    for h in svm.history_:      # every evaluated point has its own certified gap >= 0
        for key in ("gap_iterate", "gap_average"):
            if key in h:
                assert h[key] >= -1e-10 * scale
    return gaps


@pytest.mark.parametrize("rescaling", ["margin", "slack"])
def test_bcfw_reaches_cvxpy_and_one_slack_objective(rescaling):
    X, y = _blobs(n=40, f=3, k=3, seed=4, noise=1.5)
    C, eps = 2.0, 1e-4
    one = StructuredSVM(Multiclass(), C=C, eps=eps, rescaling=rescaling).fit(X, y)
    fw = StructuredSVM(Multiclass(), C=C, eps=eps, algorithm="bcfw", rescaling=rescaling,
                       max_iter=2000).fit(X, y)
    assert fw.converged_
    gaps = _gaps_ok(fw)
    assert gaps[-1] <= C * eps
    p_fw = fw.primal_objective(X, y)
    assert p_fw == pytest.approx(fw.primal_objective_, rel=1e-12)
    # the certificate: P(w) - D(α) <= C·eps, so both are within C·eps of the optimum
    assert fw.primal_objective_ - fw.dual_objective_ <= C * eps
    assert abs(p_fw - one.primal_objective(X, y)) <= C * eps
    if rescaling == "margin":
        ref = _primal_cvxpy(X, y, 3, C)
        assert ref - 1e-7 <= p_fw <= ref + C * eps
        assert fw.dual_objective_ <= ref + 1e-7


def test_bcfw_units_relation_to_paper_objective():
    """Ours = C · (λ/2‖w‖² + (1/n)Σ H_i) with λ = 1/C, checked on the returned w."""
    X, y = _blobs(n=30, f=3, k=3, seed=1)
    C = 3.0
    fw = StructuredSVM(Multiclass(), C=C, eps=1e-3, algorithm="bcfw").fit(X, y)
    W = fw.w_.reshape(3, 3)
    s = X @ W.T
    H = np.max(s + (np.arange(3)[None, :] != y[:, None]), axis=1) - s[np.arange(len(y)), y]
    lam = 1.0 / C
    paper = lam / 2 * fw.w_ @ fw.w_ + H.mean()
    assert fw.primal_objective_ == pytest.approx(C * paper, rel=1e-12)


@pytest.mark.parametrize("options", [dict(block_size=7), dict(sample="uniform"),
                                     dict(averaging=False), dict(block_size=3, gap_every=2)])
def test_bcfw_options_converge(options):
    X, y = _blobs(n=36, f=4, k=3, seed=2, noise=1.2)
    C, eps = 1.0, 1e-3
    ref = _primal_cvxpy(X, y, 3, C)
    fw = StructuredSVM(Multiclass(), C=C, eps=eps, algorithm="bcfw", max_iter=3000,
                       solver_options=options).fit(X, y)
    assert fw.converged_
    _gaps_ok(fw)
    assert ref - 1e-7 <= fw.primal_objective(X, y) <= ref + C * eps
    if options.get("gap_every") == 2:
        assert all(h["iteration"] % 2 == 0 for h in fw.history_)


def test_bcfw_without_line_search_still_decreases_the_gap():
    X, y = _blobs(n=30, f=3, k=3, seed=3)
    fw = StructuredSVM(Multiclass(), C=1.0, eps=1e-2, algorithm="bcfw", max_iter=400,
                       solver_options=dict(line_search=False)).fit(X, y)
    gaps = _gaps_ok(fw)
    assert fw.converged_ and gaps[-1] <= 1e-2 < gaps[0]


def test_bcfw_deterministic_given_random_state():
    X, y = _blobs(n=30, f=3, k=3, seed=3)
    a, b, c = (StructuredSVM(Multiclass(), C=1.0, eps=1e-3, algorithm="bcfw",
                             solver_options=dict(random_state=s)).fit(X, y) for s in (5, 5, 6))
    assert np.array_equal(a.w_, b.w_)
    assert not np.array_equal(a.w_, c.w_)


def test_block_oracle_matches_full_pass():
    X, y = _blobs(n=23, f=4, k=4, seed=7)
    model = Multiclass()
    model.initialize(X, y)
    w = np.random.default_rng(0).normal(size=model.size_joint_feature)
    for rescaling in ("margin", "slack"):
        oracle = LocalOracle(model, X, y, rescaling=rescaling, n_jobs=2)
        D, L = oracle(w)
        ranges = oracle.blocks(5)
        assert ranges[0] == (0, 5) and ranges[-1] == (20, 23)
        rows = [oracle.call_block(w, k) for k in range(len(ranges))]
        assert np.array_equal(sp.vstack([r[0] for r in rows]).toarray(), D.toarray())
        assert np.array_equal(np.concatenate([r[1] for r in rows]), L)
        assert oracle._block_batches[0] is not None          # built once, kept
        oracle.close()


def test_sparse_rows_sum():
    rng = np.random.default_rng(0)
    D = sp.random(4, 30, density=0.3, random_state=1, format="csr")
    coef = rng.normal(size=4)
    idx, val = sparse_rows_sum(D, coef)
    dense = np.zeros(30)
    dense[idx] = val
    assert np.allclose(dense, D.T @ coef)
    assert np.all(np.diff(idx) > 0)


def test_ctrl_c_returns_best_with_warning():
    X, y = _blobs(n=30, f=3, k=3, seed=3)
    calls = []

    def stop(it, w, record):
        calls.append(record["primal"])
        if it == 3:
            raise KeyboardInterrupt

    svm = StructuredSVM(Multiclass(), C=5.0, eps=1e-8, algorithm="bcfw", callback=stop)
    with pytest.warns(RuntimeWarning, match="interrupted"):
        svm.fit(X, y)
    assert svm.interrupted_ and not svm.converged_
    assert svm.primal_objective_ == pytest.approx(min(calls + [svm.primal_objective_]))
    assert svm.primal_objective(X, y) == pytest.approx(svm.primal_objective_, rel=1e-12)


class _LazyFullPass(Multiclass):
    """Exact on small blocks, but the full pass (batches > 5 examples) answers ŷ = y."""
    def batch_loss_augmented_inference(self, batch, w, n_jobs=1):
        if len(batch) > 5:
            return np.asarray(batch.Y).copy()
        return super().batch_loss_augmented_inference(batch, w, n_jobs)


def test_broken_full_pass_oracle_gives_negative_gap_warning():
    X, y = _blobs(n=30, f=3, k=3, seed=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        StructuredSVM(_LazyFullPass(), C=5.0, eps=1e-3, algorithm="bcfw", max_iter=3).fit(X, y)
    assert any(issubclass(c.category, OracleWarning) and "negative duality gap" in str(c.message)
               for c in caught)


def test_bad_solver_options_are_named():
    X, y = _blobs(n=10, f=3, k=3)
    with pytest.raises(TypeError, match="block_sise"):
        StructuredSVM(Multiclass(), algorithm="bcfw", solver_options={"block_sise": 2}).fit(X, y)
    with pytest.raises(ValueError, match="sample"):
        StructuredSVM(Multiclass(), algorithm="bcfw", solver_options={"sample": "x"}).fit(X, y)
    with pytest.raises(TypeError, match="C"):
        StructuredSVM(Multiclass(), algorithm="bcfw", solver_options={"C": 2}).fit(X, y)
    with pytest.raises(ValueError, match="solver_options"):
        StructuredSVM(Multiclass(), solver_options=[1]).fit(X, y)


def test_fit_bcfw_direct_call_reports_extra():
    X, y = _blobs(n=20, f=3, k=3, seed=9)
    model = Multiclass()
    model.initialize(X, y)
    oracle = LocalOracle(model, X, y)
    res = fit_bcfw(model, oracle, C=1.0, eps=1e-3, block_size=4)
    assert res.extra["block_steps"] == res.n_iter * 5
    assert res.extra["warm_state"]["kind"] == "bcfw"
    assert res.n_constraints == 5
    assert {"oracle", "psi", "update"} <= set(res.timings)
