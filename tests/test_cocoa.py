"""CoCoA+ n-slack solver (structpred.solvers.cocoa): optimum against cvxpy on a tiny problem,
same w on a Dask cluster as emulated in process, O(d) messages, and the cluster's bad inputs
(a scheduler that does not answer, a lost worker, bad option values)."""
import time

import numpy as np
import pytest

from structpred.errors import ClusterError
from structpred.svm import StructuredSVM
from structpred.tasks.multiclass import Multiclass

from conftest import dask_client

distributed = pytest.importorskip("distributed")


def _blobs(n=90, f=4, k=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    X = rng.normal(size=(n, f)) + 1.5 * np.eye(k, f)[y]
    return X, y


@pytest.fixture(scope="module")
def client():
    with dask_client(2) as c:
        yield c


def _cvxpy_optimum(X, y, C):
    cp = pytest.importorskip("cvxpy")
    n, f = X.shape
    k = int(y.max()) + 1
    W = cp.Variable((k, f))
    xi = cp.Variable(n)
    cons = [xi >= 0]
    for i in range(n):
        for c in range(k):
            if c != y[i]:
                cons.append(W[y[i]] @ X[i] - W[c] @ X[i] >= 1 - xi[i])
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(W) + C / n * cp.sum(xi)), cons)
    prob.solve()
    return prob.value


@pytest.mark.parametrize("parts", [1, 3])
def test_emulated_cocoa_reaches_the_cvxpy_optimum_with_a_certified_gap(parts):
    X, y = _blobs()
    C, eps = 10.0, 1e-3
    m = StructuredSVM(Multiclass(), C=C, eps=eps, algorithm="n-slack-cocoa",
                      solver_options={"n_partitions": parts}).fit(X, y)
    opt = _cvxpy_optimum(X, y, C)
    assert m.converged_ and m.duality_gap_ <= C * eps + 1e-12
    assert m.dual_objective_ - 1e-6 <= opt <= m.primal_objective_ + 1e-6
    assert m.primal_objective_ - opt <= C * eps + 1e-6
    duals = [h["dual"] for h in m.history_]
    assert all(b >= a - 1e-9 for a, b in zip(duals, duals[1:]))   # σ' = K: dual ascends


def test_dask_w_equals_emulation_and_messages_are_O_d(client):
    X, y = _blobs(seed=1)
    kw = dict(C=5.0, eps=1e-3)
    emu = StructuredSVM(Multiclass(), algorithm="n-slack-cocoa",
                        solver_options={"n_partitions": 2}, **kw).fit(X, y)
    remote = StructuredSVM(Multiclass(), backend="dask", client=client, **kw)
    remote.fit(X, y)
    again = StructuredSVM(Multiclass(), backend="dask", client=client, **kw).fit(X, y)
    assert np.array_equal(emu.w_, remote.w_) and np.array_equal(remote.w_, again.w_)
    assert remote.n_iter_ == emu.n_iter_ and remote.converged_
    d = remote.w_.shape[0]
    for rb in remote.solver_extra_["round_bytes"]:   # w in: from the driver or a peer's w_k
        assert rb["w_in"] <= 8 * d + 700 and all(b <= 8 * d + 700 for b in rb["out"])


def test_sparse_w_travels_as_its_nonzeros_and_w_stays_the_dense_protocols(client):
    """w with few nonzeros (features that never fire get no weight) goes to the workers and
    w_k comes back as their nonzeros, smaller than the dense vector; the driver's sum gives
    the emulation's w (dense w_k summed in partition order) bit for bit."""
    rng = np.random.default_rng(3)
    X, y = _blobs(n=80, f=4, seed=3)
    wide = np.zeros((X.shape[0], 400))
    cols = rng.choice(400, size=4, replace=False)
    wide[:, cols] = X                            # 4 of 400 features fire
    kw = dict(C=5.0, eps=1e-3)
    emu = StructuredSVM(Multiclass(), algorithm="n-slack-cocoa",
                        solver_options={"n_partitions": 2}, **kw).fit(wide, y)
    remote = StructuredSVM(Multiclass(), backend="dask", client=client, **kw).fit(wide, y)
    assert np.array_equal(emu.w_, remote.w_) and remote.n_iter_ == emu.n_iter_
    d = remote.w_.shape[0]
    assert np.count_nonzero(remote.w_) <= 4 * 3 < d // 50
    rounds = remote.solver_extra_["round_bytes"]
    assert len(rounds) >= 2
    for rb in rounds[1:]:                         # w = 0 in the first round
        assert rb["w_in"] < 8 * d / 4 and all(b < 8 * d / 4 for b in rb["out"])


def test_add_share_is_the_dense_sum_bit_for_bit():
    """Adding the partitions' w_k as KeptVector nonzeros into a zero vector, in partition
    order, gives the dense sum's floats, zeros of either sign included."""
    from structpred.solvers.base import KeptVector
    from structpred.solvers.cocoa import add_share
    rng = np.random.default_rng(7)
    d = 5000
    shares = []
    for k in range(3):
        v = np.zeros(d)
        idx = rng.choice(d, 200, replace=False)
        v[idx] = rng.normal(size=200) * 10.0 ** rng.integers(-8, 8, 200)
        v[idx[:20]] = -0.0
        shares.append(v)
    nz0 = np.flatnonzero(shares[0])[20:60]
    shares[1][nz0] = -shares[0][nz0]                      # exact cancellations: +0 sums
    dense = np.zeros(d)
    for v in shares:
        dense += v
    sparse = np.zeros(d)
    for v in shares:
        add_share(sparse, KeptVector(v))
    assert np.array_equal(dense.view(np.int64), sparse.view(np.int64))


def test_a_scheduler_that_does_not_answer_is_a_clear_error_within_the_timeout():
    from structpred.solvers.dask_oracle import DaskOracle
    X, y = _blobs(n=10)
    model = Multiclass()
    model.initialize(X, y)
    t0 = time.perf_counter()
    with pytest.raises(ClusterError, match="no Dask scheduler answered at 'tcp://127.0.0.1:1'"):
        DaskOracle(model, X, y, client="tcp://127.0.0.1:1", timeout=2)
    assert time.perf_counter() - t0 < 60    # not a hang (generous: the machine is loaded)
    with pytest.raises(ValueError, match="timeout"):
        DaskOracle(model, X, y, client="tcp://127.0.0.1:1", timeout=0)


def test_bad_partition_options_name_themselves(client):
    X, y = _blobs(n=20)
    with pytest.raises(ValueError, match="n_partitions"):
        StructuredSVM(Multiclass(), algorithm="n-slack-cocoa",
                      solver_options={"n_partitions": 0}).fit(X, y)
    with pytest.raises(ValueError, match="add_from_pass"):
        StructuredSVM(Multiclass(), algorithm="n-slack-cocoa",
                      solver_options={"add_from_pass": "sometimes"}).fit(X, y)
    with pytest.raises(ValueError, match="n_partitions=3"):
        StructuredSVM(Multiclass(), backend="dask", client=client,
                      solver_options={"n_partitions": 3}).fit(X, y)


def test_a_worker_lost_during_training_names_it_and_keeps_the_last_good_model():
    X, y = _blobs(n=120, seed=2)
    with dask_client(2) as c:
        victim = sorted(c.nthreads())[1]

        def kill(it, w, record):
            if it == 3:
                c.retire_workers([victim], close_workers=True)

        m = StructuredSVM(Multiclass(), C=100.0, eps=1e-6, backend="dask", client=c,
                          callback=kill)
        with pytest.warns(RuntimeWarning, match=f"worker {victim} was lost.*last good model"):
            m.fit(X, y)
    assert m.interrupted_ and not m.converged_
    best = min(h["primal"] for h in m.history_)
    assert m.primal_objective_ == best and np.all(np.isfinite(m.w_)) and np.any(m.w_)


@pytest.mark.parametrize("parts,add_from_pass", [(1, True), (2, True), (2, "auto")])
def test_row_path_cocoa_brackets_the_optimum_with_dcd(parts, add_from_pass):
    """A task with row calls (SequenceLabeling), the partitions' working sets grown from the
    certifying pass and the fresh row passes (default) or from the fresh passes only
    (add_from_pass="auto"): the certified primal and dual of CoCoA+ and of the local dcd
    solver (tight eps) bracket the same optimum, within C·eps."""
    from structpred.datasets import make_hmm_sequences
    from structpred.tasks import SequenceLabeling
    X, Y = make_hmm_sequences(60, 3, 8, random_state=1)
    C, eps = 10.0, 1e-3

    def task():
        return SequenceLabeling(n_labels=3, n_features=8)
    ref = StructuredSVM(task(), C=C, eps=eps / 10, max_iter=2000).fit(X, Y)
    m = StructuredSVM(task(), C=C, eps=eps, algorithm="n-slack-cocoa", max_iter=2000,
                      solver_options={"n_partitions": parts,
                                      "add_from_pass": add_from_pass}).fit(X, Y)
    assert m.converged_ and ref.converged_
    assert m.primal_objective_ - ref.dual_objective_ <= C * eps + 1e-9
    assert ref.primal_objective_ - m.dual_objective_ >= -1e-9    # weak duality across solvers
    duals = [h["dual"] for h in m.history_]
    assert all(b >= a - 1e-9 for a, b in zip(duals, duals[1:]))


def test_one_worker_runs_the_local_solver_where_the_data_is():
    """One partition: the whole n-slack fit runs on the worker holding the data (dcd there),
    so w is the local solver's, bit for bit, with its certified gap; one_partition="rounds"
    gives CoCoA+ rounds, the emulation's w; the worker's warnings reach the driver."""
    from structpred.datasets import make_hmm_sequences
    from structpred.tasks import SequenceLabeling
    X, Y = make_hmm_sequences(40, 3, 8, random_state=2)
    kw = dict(C=10.0, eps=1e-2)

    def task():
        return SequenceLabeling(n_labels=3, n_features=8)
    local = StructuredSVM(task(), **kw).fit(X, Y)
    emu = StructuredSVM(task(), algorithm="n-slack-cocoa",
                        solver_options={"n_partitions": 1}, **kw).fit(X, Y)
    with dask_client(1) as c:
        one = StructuredSVM(task(), backend="dask", client=c, **kw).fit(X, Y)
        rounds = StructuredSVM(task(), backend="dask", client=c,
                               solver_options={"one_partition": "rounds"}, **kw).fit(X, Y)
        with pytest.warns(RuntimeWarning, match="on the Dask worker: .*did not reach"):
            short = StructuredSVM(task(), backend="dask", client=c, max_iter=1, **kw).fit(X, Y)
    assert np.array_equal(one.w_, local.w_) and one.n_iter_ == local.n_iter_
    assert one.converged_ and one.duality_gap_ == local.duality_gap_ <= kw["C"] * kw["eps"]
    assert one.solver_extra_["partitions"] == 1 and one.solver_extra_["setup"]["bytes"]
    assert np.array_equal(rounds.w_, emu.w_) and rounds.n_iter_ == emu.n_iter_
    assert not short.converged_ and short.n_iter_ == 1
    with pytest.raises(ValueError, match="one_partition"):
        StructuredSVM(task(), algorithm="n-slack-cocoa",
                      solver_options={"one_partition": "yes"}, **kw).fit(X, Y)


def test_first_round_skips_the_pass_at_zero_only_with_fresh_passes():
    """With row calls the first round makes no pass at w = 0 (gap NaN there, certified in
    every later round); without them (Multiclass) or with skip_zero_pass=False it does."""
    from structpred.datasets import make_hmm_sequences
    from structpred.tasks import SequenceLabeling
    X, Y = make_hmm_sequences(40, 3, 8, random_state=3)
    kw = dict(C=10.0, eps=1e-2, algorithm="n-slack-cocoa")
    fits = {skip: StructuredSVM(SequenceLabeling(n_labels=3, n_features=8), **kw,
                                solver_options={"n_partitions": 2, "skip_zero_pass": skip}
                                ).fit(X, Y) for skip in (True, False)}
    gaps = [h["gap"] for h in fits[True].history_]
    assert np.isnan(gaps[0]) and np.all(np.isfinite(gaps[1:])) and fits[True].converged_
    assert np.all(np.isfinite([h["gap"] for h in fits[False].history_]))
    Xm, ym = _blobs(n=30)
    mc = StructuredSVM(Multiclass(), **kw, solver_options={"n_partitions": 2}).fit(Xm, ym)
    assert np.isfinite(mc.history_[0]["gap"])
    # no fresh pass in the first round (first_fresh_passes=0, later rounds 1): it passes at w = 0
    nf = StructuredSVM(SequenceLabeling(n_labels=3, n_features=8), **kw,
                       solver_options={"n_partitions": 2, "first_fresh_passes": 0}).fit(X, Y)
    assert np.all(np.isfinite([h["gap"] for h in nf.history_])) and nf.converged_


def test_a_partition_too_big_for_its_worker_is_a_clear_error(client, monkeypatch):
    """A worker whose memory limit is below MEMORY_FACTOR x its partition's unpacked size:
    ClusterError naming the partition, its examples and the worker, before any is sent."""
    from structpred.solvers import dask_oracle
    X, y = _blobs(n=200)
    model = Multiclass()
    model.initialize(X, y)
    workers = sorted(client.nthreads())
    monkeypatch.setattr(dask_oracle.DaskOracle, "_memory_limits",
                        lambda self: {workers[0]: 10 ** 9, workers[1]: 2000})
    with pytest.raises(ClusterError, match=rf"partition 1 \(examples 100..199, .* does not fit "
                                           rf"Dask worker {workers[1]}"):
        dask_oracle.DaskOracle(model, X, y, client=client)
    monkeypatch.undo()
    ok = dask_oracle.DaskOracle(model, X, y, client=client)      # the real limits: fits
    ok.close()


def test_tune_malloc_only_where_dask_pinned_the_trim_threshold(monkeypatch):
    """Dask's nanny sets MALLOC_TRIM_THRESHOLD_ in its workers (glibc then mmaps every array
    above 128 KiB afresh); tune_malloc restores glibc's adaptive values there, and only there."""
    import platform
    from structpred.solvers.dask_oracle import tune_malloc
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    assert tune_malloc() is False
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    assert tune_malloc() is (platform.system() == "Linux" and platform.libc_ver()[0] == "glibc")


def _brute_primal(model, w, X, y, C):
    """½‖w‖² + (C/n) Σ_i max_c (Δ(y_i, c) - w·(Ψ(x_i, y_i) - Ψ(x_i, c))), every label tried."""
    hinges = []
    for x, yi in zip(X, y):
        psi = model.joint_feature(x, yi)
        hinges.append(max(model.loss(yi, c) - w @ (psi - model.joint_feature(x, c))
                          for c in range(int(y.max()) + 1)))
    return 0.5 * float(w @ w) + C / len(y) * sum(max(h, 0.0) for h in hinges)


@pytest.mark.parametrize("seed", [1, 5])
def test_next_dual_certifies_a_rounds_w_without_a_pass_only_round(seed):
    """With next_dual (default) a round may stop on the primal at its w and the dual after
    its step: the returned w's primal (brute force over every label) is the reported one,
    the gap to the reported dual is within the stop and brackets cvxpy's optimum, and it
    takes no more rounds than waiting for a pass at the new w."""
    X, y = _blobs(n=60, seed=seed)
    C, eps = 10.0, 1e-2
    fits = {}
    for next_dual in (False, True):
        fits[next_dual] = StructuredSVM(
            Multiclass(), C=C, eps=eps, algorithm="n-slack-cocoa",
            solver_options={"n_partitions": 2, "next_dual": next_dual}).fit(X, y)
    opt = _cvxpy_optimum(X, y, C)
    for m in fits.values():
        assert m.converged_ and m.duality_gap_ <= C * eps + 1e-12
        assert m.primal_objective_ == pytest.approx(_brute_primal(m.model, m.w_, X, y, C),
                                                    rel=1e-9, abs=1e-9)
        assert m.dual_objective_ - 1e-6 <= opt <= m.primal_objective_ + 1e-6
    assert fits[True].history_[-1].get("certified_by") == "next dual"   # (these seeds)
    assert fits[True].n_iter_ < fits[False].n_iter_


@pytest.mark.parametrize("parts", [2, 5])
def test_the_pass_the_workers_start_on_their_own_is_the_pass_at_the_drivers_w(client, parts):
    """After a round's steps each worker sums the partitions' w_k itself and starts the next
    pass (peer shares up to 4 partitions, one worker's sum above): ``round_pass`` at the
    driver's sum of the same w_k uses it and gives the hinge sums of a pass at that w; at
    any other w it waits it out and passes at the w it is given."""
    from structpred.solvers.base import add_share
    from structpred.solvers.cocoa import new_partition, partition_step
    from structpred.solvers.dask_oracle import DaskOracle
    from structpred.solvers.objective import hinge
    from structpred.solvers.oracle import LocalOracle
    X, y = _blobs(n=60, seed=7)
    model = Multiclass()
    model.initialize(X, y)
    d, n, C = model.size_joint_feature, len(X), 10.0
    remote = DaskOracle(model, X, y, client=client, n_partitions=parts)
    local = LocalOracle(model, X, y, n_jobs=1)

    def hinge_sums(w):
        D, L = local(w)
        h = np.maximum(hinge(L, D @ w, "margin"), 0.0)
        return [float(h[a:b].sum()) for a, b in remote.bounds]
    try:
        remote.start_local(new_partition, d, C / n, float(parts), 0.01, 0.001, 4, 5, 16,
                           "auto", 0, 1, 32, "margin", True, 1)
        w = np.zeros(d)
        for _ in range(3):
            got = remote.round_pass(w)
            assert [g["hinge"] for g in got] == pytest.approx(hinge_sums(w), rel=1e-12)
            out = remote.round_step(w, partition_step, 1)
            assert remote._next is not None           # the workers' next pass is under way
            w = np.zeros(d)
            for o in out:
                add_share(w, o["wk"])
            used = remote._next["key"]
        got = remote.round_pass(w)
        assert remote._w_future == used               # the workers' own w and pass
        assert [g["hinge"] for g in got] == pytest.approx(hinge_sums(w), rel=1e-12)
        remote.round_step(w, partition_step, 1)
        other = w * 0.5
        got = remote.round_pass(other)                # not the sum: a pass at what was sent
        assert remote._w_future != used and not isinstance(remote._w_future, str)
        assert [g["hinge"] for g in got] == pytest.approx(hinge_sums(other), rel=1e-12)
    finally:
        remote.close()
        local.close()
