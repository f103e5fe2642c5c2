"""n-slack by dual coordinate descent (solvers/dcd.py): the optimum against cvxpy on the full
n-slack QP (every output enumerated), certified gaps, Ctrl-C, determinism, and the sequence
task's per-example oracle path against its batch path and brute force."""
import itertools
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from structpred import StructuredSVM
from structpred.model import to_sparse_row
from structpred.tasks import Multiclass
from structpred.tasks.sequence import SequenceLabeling
from structpred.testing import exhaustive_loss_augmented_inference

from conftest import dask_client
from test_multiclass import _blobs


def _nslack_cvxpy(model, X, Y, candidates, C, rescaling):
    """min ½‖w‖² + (C/n)Σξ_i  s.t.  s w·δΨ_i(y) >= Δ_i(y) - ξ_i for every enumerated y."""
    import cvxpy as cp
    model.initialize(X, Y)
    d = model.size_joint_feature
    rows, b, owner = [], [], []
    for i, (x, y) in enumerate(zip(X, Y)):
        psi = to_sparse_row(model.joint_feature(x, y), d).toarray().ravel()
        for c in candidates(x, y):
            loss = model.loss(y, c)
            if loss == 0:
                continue
            delta = psi - to_sparse_row(model.joint_feature(x, c), d).toarray().ravel()
            rows.append(delta * (loss if rescaling == "slack" else 1.0))
            b.append(loss)
            owner.append(i)
    A, b, owner = np.array(rows), np.array(b), np.array(owner)
    w = cp.Variable(d)
    xi = cp.Variable(len(X), nonneg=True)
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(w) + C / len(X) * cp.sum(xi)),
                      [A @ w >= b - xi[owner]])
    prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-11, tol_gap_rel=1e-11, tol_feas=1e-11)
    return prob.value


def _sequences(n=7, L=3, F=3, seed=0, max_len=3, integer=False):
    rng = np.random.default_rng(seed)
    X, Y = [], []
    for _ in range(n):
        T = int(rng.integers(1, max_len + 1))
        x = rng.integers(0, 3, size=(T, F)).astype(float) if integer else rng.normal(size=(T, F))
        X.append(sp.csr_matrix(x))
        Y.append(rng.integers(0, L, size=T))
    return X, Y


def _multiclass_problem():
    X, y = _blobs(n=30, f=3, k=3, seed=5, noise=1.5)
    return Multiclass(), X, y, lambda x, yy: range(3)


def _sequence_problem(order=1):
    X, Y = _sequences()
    model = SequenceLabeling(n_labels=3, transition_order=order)
    return model, X, Y, lambda x, yy: [np.array(c) for c in itertools.product(range(3), repeat=len(yy))]


PROBLEMS = {"multiclass": _multiclass_problem, "sequence": _sequence_problem,
            "sequence-order2": lambda: _sequence_problem(2)}


@pytest.mark.parametrize("name", sorted(PROBLEMS))
@pytest.mark.parametrize("rescaling", ["margin", "slack"])
@pytest.mark.parametrize("C", [1.0, 100.0])
def test_optimum_matches_cvxpy(name, rescaling, C):
    if rescaling == "slack" and name != "multiclass":
        pytest.skip("the sequence task has no slack-rescaling oracle")
    model, X, Y, candidates = PROBLEMS[name]()
    svm = StructuredSVM(model, C=C, eps=1e-9, algorithm="n-slack", rescaling=rescaling,
                        solver_options={"inner_tol": 1e-12, "inner_sweeps": 200})
    svm.fit(X, Y)
    ref = _nslack_cvxpy(model, X, Y, candidates, C, rescaling)
    assert svm.converged_
    assert svm.primal_objective(X, Y) == pytest.approx(svm.primal_objective_, rel=1e-12)
    assert abs(svm.primal_objective_ - ref) <= 1e-6 * ref
    assert abs(svm.dual_objective_ - ref) <= 1e-6 * ref


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_gap_is_a_true_upper_bound(name):
    model, X, Y, candidates = PROBLEMS[name]()
    C = 50.0
    ref = _nslack_cvxpy(model, X, Y, candidates, C, "margin")
    tol = 1e-7 * ref
    for max_iter in (1, 2, 3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            svm = StructuredSVM(model, C=C, eps=1e-9, algorithm="n-slack", max_iter=max_iter,
                                solver_options={"inner_sweeps": 1, "batch_size": 2})
            svm.fit(X, Y)
        assert svm.dual_objective_ <= ref + tol
        assert svm.primal_objective_ >= ref - tol
        assert svm.primal_objective_ - svm.dual_objective_ >= svm.primal_objective_ - ref - tol
        for h in svm.history_:
            assert h["dual"] <= ref + tol
            if np.isfinite(h["primal"]):
                assert h["primal"] >= ref - tol and h["gap"] >= -tol


def test_ctrl_c_returns_best_model():
    model, X, Y, _ = _sequence_problem()
    seen = []

    def callback(it, w, record):
        seen.append(record)
        if it == 4:
            raise KeyboardInterrupt

    svm = StructuredSVM(model, C=100.0, eps=1e-9, algorithm="n-slack", callback=callback,
                        solver_options={"inner_sweeps": 1, "full_every": 1})
    with pytest.warns(RuntimeWarning, match="interrupted"):
        svm.fit(X, Y)
    assert svm.interrupted_ and not svm.converged_
    certified = [r["primal"] for r in seen if np.isfinite(r["primal"])]
    assert len(certified) >= 2
    assert svm.primal_objective_ == min(certified)
    assert svm.primal_objective(X, Y) == pytest.approx(svm.primal_objective_, rel=1e-12)


def test_ctrl_c_from_the_oracle():
    model, X, Y, _ = _multiclass_problem()
    calls = {"n": 0}
    inner = model.batch_loss_augmented_inference

    def oracle(batch, w, n_jobs=1):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return inner(batch, w, n_jobs)

    model.batch_loss_augmented_inference = oracle
    with pytest.warns(RuntimeWarning, match="interrupted"):
        svm = StructuredSVM(model, C=10.0, eps=1e-9, algorithm="n-slack").fit(X, y := Y)
    assert svm.interrupted_
    primals = [h["primal"] for h in svm.history_ if np.isfinite(h["primal"])]
    assert svm.primal_objective_ == min(primals)
    del model.batch_loss_augmented_inference
    assert svm.primal_objective(X, y) == pytest.approx(svm.primal_objective_, rel=1e-12)


@pytest.mark.parametrize("name", ["multiclass", "sequence"])
def test_bit_identical_w(name):
    model, X, Y, _ = PROBLEMS[name]()
    svms = [StructuredSVM(model, C=30.0, eps=1e-3, algorithm="n-slack", n_jobs=j,
                          solver_options={"random_state": 7, "batch_size": 3}).fit(X, Y)
            for j in (1, 1, 2)]
    fits = [s.w_ for s in svms]
    assert np.array_equal(fits[0], fits[1])
    assert np.array_equal(fits[0], fits[2])
    other = StructuredSVM(model, C=30.0, eps=1e-3, algorithm="n-slack",
                          solver_options={"random_state": 8, "batch_size": 3}).fit(X, Y)
    # the primal is 1-strongly convex: ½‖w - w*‖² <= primal(w) - optimum <= certified gap
    radius = sum(np.sqrt(2.0 * (s.primal_objective_ - s.dual_objective_)) for s in (svms[0], other))
    assert np.linalg.norm(other.w_ - fits[0]) <= radius


@pytest.mark.parametrize("mode", ["compiled", "twin"])
def test_narrow_storage_changes_nothing_when_exact(mode, monkeypatch):
    """storage="auto" keeps the rows' values as int8 (then float32) while they are exact
    there: w is the same bits as with float32 and float64 storage (compiled kernels and
    their numpy twins)."""
    from structpred import jit
    if mode == "compiled":
        jit.prefer_compiled()
    else:
        monkeypatch.setattr(jit, "FORCE", mode)
    X, Y = _sequences(n=12, integer=True, seed=3)
    ws = []
    for storage in ("auto", "float32", "float64"):
        svm = StructuredSVM(SequenceLabeling(n_labels=3), C=20.0, eps=1e-4, algorithm="n-slack",
                            solver_options={"storage": storage})
        svm.fit(X, Y)
        ws.append(svm.w_.view(np.int64))
    assert np.array_equal(ws[0], ws[1]) and np.array_equal(ws[0], ws[2])
    from structpred.solvers.dcd import ConstraintPool
    pool = ConstraintPool(2, 4)
    assert pool.data.dtype == np.int8
    steps = [([[-128.0, 0, 0, 127.0]], np.int8), ([[200.0, 0, 0, 1.0]], np.float32),
             ([[0.5, 0, 0, -1.0]], np.float32), ([[0.1, 0, 0, 1.0]], np.float64)]
    for row, dtype in steps:   # 200 is no int8, 0.5 is a float32, 0.1 is not: widened
        pool.add(np.array([0]), sp.csr_matrix(np.array(row)), np.array([1.0]), np.zeros(4))
        assert pool.data.dtype == dtype
    stored = [pool.data[pool.start[0, k]:pool.start[0, k] + pool.length[0, k]].tolist()
              for k in range(int(pool.m[0]))]
    assert stored == [[-128.0, 127.0], [200.0, 1.0], [0.5, -1.0], [0.1, 1.0]]


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("boundary", [False, True])
def test_per_example_oracle_matches_batch_and_brute_force(order, boundary):
    rng = np.random.default_rng(order * 10 + boundary)
    X, Y = _sequences(n=25, L=3, F=4, seed=order, max_len=5)
    model = SequenceLabeling(n_labels=3, transition_order=order, boundary_transitions=boundary)
    model.initialize(X, Y)
    batch = model.make_batch(X, Y)
    for _ in range(5):
        w = rng.normal(size=model.size_joint_feature)
        idx = np.sort(rng.choice(len(X), size=9, replace=False))
        D, L = model.batch_oracle_rows(batch, idx, w)
        sub = model.make_batch([X[i] for i in idx], [Y[i] for i in idx])
        Yh = model.batch_loss_augmented_inference(sub, w)          # the chunk path (WT copy)
        D_ref = model.batch_delta_joint_feature(sub, Yh)
        assert np.array_equal(L, model.batch_loss(sub, Yh))
        assert abs(D - D_ref).max() == 0.0
        for r, i in enumerate(idx):
            cands = [np.array(c) for c in itertools.product(range(3), repeat=len(Y[i]))]
            _, best = exhaustive_loss_augmented_inference(model, X[i], Y[i], w, cands)
            psi = to_sparse_row(model.joint_feature(X[i], Y[i]), model.size_joint_feature)
            value = L[r] + float((psi @ w)[0]) - float((D[r] @ w)[0])
            assert value == pytest.approx(best, abs=1e-9)


def test_row_calls_read_w_in_place_and_match_the_batch_forms():
    """The oracle's weight blocks are views of w (no copy of the d floats per call), and the
    per-example row calls give the batch forms' answers bit for bit."""
    X, Y = _sequences(n=6, L=3, F=3, seed=2)
    model = SequenceLabeling(n_labels=3, n_features=400)
    model.initialize(X, Y)
    w = np.random.default_rng(0).normal(size=model.size_joint_feature)
    WT, A = model._split_w(w)[:2]           # emission and bigram blocks
    assert np.shares_memory(WT, w) and np.shares_memory(A, w)
    b = model.make_batch(X, Y)
    Y_hat = model.batch_loss_augmented_inference(b, w)
    D_ref = model.batch_delta_joint_feature(b, Y_hat)
    L_ref = model.batch_loss(b, Y_hat)
    for idx in (np.arange(6), np.array([1, 4]), np.array([5])):
        D, L = model.batch_oracle_rows(b, idx, w)
        assert abs(D - D_ref[idx]).max() == 0.0 and np.array_equal(L, L_ref[idx])


@pytest.mark.parametrize("option", [{"storage": "float16"}, {"batch_size": -1},
                                    {"inner_sweeps": 1.5}, {"early_sweeps": -1},
                                    {"gap_stop": -1.0},
                                    {"max_constraints": 0}])
def test_bad_options_are_refused(option):
    model, X, Y, _ = _multiclass_problem()
    with pytest.raises(ValueError, match=next(iter(option))):
        StructuredSVM(model, C=1.0, algorithm="n-slack", solver_options=option).fit(X, Y)


def test_early_sweeps_apply_until_the_first_full_pass():
    """No sweep after the fresh passes that precede the first full pass (early_sweeps=0),
    inner_sweeps after every pass from the first full one on; the optimum is unchanged."""
    model, X, Y, _ = _sequence_problem()
    opts = {"full_every": 3, "batch_size": 2, "inner_sweeps": 3}
    early = StructuredSVM(model, C=30.0, eps=1e-3, algorithm="n-slack",
                          solver_options=dict(opts, early_sweeps=0)).fit(X, Y)
    kinds = [h["kind"] for h in early.history_]
    first_full = kinds.index("full")
    assert first_full == 3 and all(k == "fresh" for k in kinds[:first_full])
    assert all(h["sweeps"] == 0 for h in early.history_[:first_full])
    assert early.history_[first_full]["sweeps"] > 0
    plain = StructuredSVM(model, C=30.0, eps=1e-3, algorithm="n-slack",
                          solver_options=dict(opts, early_sweeps=3)).fit(X, Y)
    assert plain.history_[0]["sweeps"] > 0
    for svm in (early, plain):
        assert svm.converged_
    # both certified within their gaps of the same optimum
    assert abs(early.primal_objective_ - plain.primal_objective_) <= max(
        early.primal_objective_ - early.dual_objective_,
        plain.primal_objective_ - plain.dual_objective_)


def test_shrinking_and_full_passes_only_reach_the_same_optimum():
    model, X, Y, candidates = _sequence_problem()
    C = 10.0
    ref = _nslack_cvxpy(model, X, Y, candidates, C, "margin")
    for options in ({"shrink_after": 1}, {"batch_size": 0}):
        svm = StructuredSVM(model, C=C, eps=1e-9, algorithm="n-slack",
                            solver_options=dict(options, inner_tol=1e-12, inner_sweeps=200))
        svm.fit(X, Y)
        assert svm.converged_
        assert abs(svm.primal_objective_ - ref) <= 1e-6 * ref, options
        kinds = {h["kind"] for h in svm.history_}
        assert kinds == ({"full"} if options.get("batch_size") == 0 else {"full", "fresh"})


def test_warm_state_resumes_at_another_C():
    model, X, Y, candidates = _sequence_problem()
    opts = {"inner_tol": 1e-12, "inner_sweeps": 200}
    svm = StructuredSVM(model, C=5.0, eps=1e-9, keep_solver_state=True, solver_options=opts)
    svm.fit(X, Y)
    cold_passes = StructuredSVM(model, C=20.0, eps=1e-9, solver_options=opts).fit(X, Y).n_iter_
    svm.set_params(C=20.0)
    svm.fit(X, Y, warm_start=True)
    ref = _nslack_cvxpy(model, X, Y, candidates, 20.0, "margin")
    assert svm.converged_ and abs(svm.primal_objective_ - ref) <= 1e-6 * ref
    assert svm.warm_state_["kind"] == "n-slack" and svm.warm_state_["C"] == 20.0
    assert svm.n_iter_ <= cold_passes


def test_dask_backend_runs_cocoa_with_the_emulated_w():
    """On Dask the n-slack solver is CoCoA+ over the workers' partitions (``cocoa``): its row
    calls run on the workers, and w equals the in-process emulation with as many partitions
    bit for bit; its primal is within C·eps of the local solver's."""
    pytest.importorskip("distributed")
    model, X, Y, _ = _sequence_problem()
    kw = dict(C=20.0, eps=1e-3)
    local = StructuredSVM(model, algorithm="n-slack", **kw).fit(X, Y)
    emulated = StructuredSVM(SequenceLabeling(n_labels=3), algorithm="n-slack-cocoa",
                             solver_options={"n_partitions": 2}, **kw).fit(X, Y)
    with dask_client(2) as client:
        remote = StructuredSVM(SequenceLabeling(n_labels=3), backend="dask", client=client,
                               algorithm="n-slack", **kw).fit(X, Y)
    assert local.converged_ and remote.converged_ and emulated.converged_
    assert np.array_equal(emulated.w_, remote.w_) and remote.n_iter_ == emulated.n_iter_
    assert remote.duality_gap_ <= kw["C"] * kw["eps"]
    # both certified: CoCoA+'s gap <= C·eps bounds its distance to the optimum
    assert remote.dual_objective_ <= local.primal_objective_ + 1e-9
    assert remote.primal_objective_ - local.primal_objective_ <= kw["C"] * kw["eps"]


_SVMHMM_TRAIN = __import__("os").path.join(__import__("os").environ.get("STRUCTPRED_DATA", ""),
                                           "conll2000", "svmhmm", "train.dat.gz")


@pytest.mark.realdata
@pytest.mark.skipif(not __import__("os").path.exists(_SVMHMM_TRAIN),
                    reason="CoNLL-2000 svm_hmm files not under STRUCTPRED_DATA")
@pytest.mark.parametrize("C", [100.0, 1000.0])
def test_default_converges_on_few_examples_at_large_C(tmp_path, C):
    """Few examples at a large C need more constraints per example than many: with a fixed
    K = 16 the working sets of 100 CoNLL sentences cycled through evictions and never met the
    stopping rule. The default K (auto_max_constraints) converges, below 1-slack's primal."""
    from structpred.datasets.svmhmm import copy_first_sequences, read_svmhmm
    from structpred.solvers.dcd import auto_max_constraints
    copy_first_sequences(_SVMHMM_TRAIN, tmp_path / "s.dat", 100)
    d = read_svmhmm(tmp_path / "s.dat")
    assert auto_max_constraints(len(d.X)) == 64 and auto_max_constraints(8936) == 21
    model = SequenceLabeling(n_labels=d.max_tag, n_features=d.n_features)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)       # no "did not reach eps"
        dcd = StructuredSVM(model, C=C, eps=0.1, max_iter=300).fit(d.X, d.Y)
    one = StructuredSVM(model, C=C, eps=0.1, algorithm="1-slack").fit(d.X, d.Y)
    assert dcd.converged_ and dcd.n_iter_ < 300
    assert dcd.primal_objective_ <= one.primal_objective_ + 1e-9
    assert dcd.duality_gap_ <= C * 0.1 + 1e-9


def test_unchecked_row_csr_is_scipys_matrix():
    """The per-example path's CSR builder (scipy's validation skipped) gives a matrix equal to
    scipy's own in every use the solvers make of it: products, row slices, sums, nnz."""
    from structpred.csr_build import checked_csr as _checked_csr
    from structpred.tasks.sequence.model import _rows_csr
    rng = np.random.default_rng(0)
    ref = sp.random(7, 40, density=0.2, format="csr", random_state=rng)
    parts = (ref.data.copy(), ref.indices.astype(np.int32), ref.indptr.astype(np.int32), ref.shape)
    a, b = _checked_csr(*parts), _rows_csr(*parts)
    assert isinstance(b, sp.csr_matrix) and b.shape == a.shape and b.nnz == a.nnz
    v = rng.normal(size=40)
    assert np.array_equal(b @ v, a @ v)
    assert abs(b[[1, 4]] - a[[1, 4]]).max() == 0.0 and abs(b - ref).max() == 0.0
    assert np.array_equal(b.sum(axis=1), a.sum(axis=1)) and b.has_canonical_format
