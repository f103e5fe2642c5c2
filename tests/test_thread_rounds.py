"""CoCoA+'s partitions on threads (structpred.solvers.thread_rounds): w bit for bit the
one-thread emulation's for the same partitions and seed (a task with row calls and one
without), reproducible, the optimum reached, Ctrl-C returning the best model, bad n_jobs /
n_partitions named."""
import os
import signal
import threading

import numpy as np
import pytest

from structpred.datasets import make_hmm_sequences
from structpred.errors import InvalidInputError
from structpred.solvers import objective
from structpred.solvers.oracle import LocalOracle
from structpred.solvers.thread_rounds import ThreadRoundsOracle
from structpred.svm import StructuredSVM
from structpred.tasks import SequenceLabeling
from structpred.tasks.multiclass import Multiclass


def _blobs(n=90, f=4, k=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    X = rng.normal(size=(n, f)) + 1.5 * np.eye(k, f)[y]
    return X, y


def _seq():
    return SequenceLabeling(n_labels=3, n_features=8)


def _cocoa(task, parts=None, n_jobs=1, **kw):
    opts = dict(kw.pop("solver_options", {}))
    if parts is not None:
        opts["n_partitions"] = parts
    return StructuredSVM(task, algorithm="n-slack-cocoa", n_jobs=n_jobs,
                         solver_options=opts or None, **kw)


def _same_fit(a, b):
    assert np.array_equal(a.w_, b.w_)
    assert a.n_iter_ == b.n_iter_ and a.converged_ == b.converged_
    assert a.primal_objective_ == b.primal_objective_
    assert a.dual_objective_ == b.dual_objective_


@pytest.mark.parametrize("parts,n_jobs", [(2, 2), (3, 2), (4, 4)])
def test_threads_give_the_emulations_w_bit_for_bit_with_row_calls(parts, n_jobs):
    """SequenceLabeling (row calls: fresh passes at each partition's local point): the
    partitions on n_jobs threads give the one-thread emulation's w, objectives and rounds, and
    the same again on a second run; the fit used the thread backend (per-thread CPU)."""
    X, Y = make_hmm_sequences(80, 3, 8, random_state=4)
    kw = dict(C=10.0, eps=1e-2, max_iter=500)
    emu = _cocoa(_seq(), parts, 1, **kw).fit(X, Y)
    thr = _cocoa(_seq(), parts if parts != n_jobs else None, n_jobs, **kw).fit(X, Y)
    again = _cocoa(_seq(), parts, n_jobs, **kw).fit(X, Y)
    _same_fit(emu, thr)
    _same_fit(thr, again)
    assert thr.converged_ and thr.solver_extra_["partitions"] == parts
    assert all(len(h["local_cpu"]) == parts for h in thr.history_ if "local_cpu" in h)
    assert not any("local_cpu" in h for h in emu.history_)


def test_threads_give_the_emulations_w_bit_for_bit_without_row_calls():
    """Multiclass (no row calls: the working sets grow from the certifying passes only)."""
    X, y = _blobs(seed=5)
    kw = dict(C=5.0, eps=1e-3)
    emu = _cocoa(Multiclass(), 2, 1, **kw).fit(X, y)
    thr = _cocoa(Multiclass(), None, 2, **kw).fit(X, y)
    _same_fit(emu, thr)
    assert thr.converged_ and thr.duality_gap_ <= kw["C"] * kw["eps"]


def test_threaded_rounds_bracket_the_optimum_with_dcd():
    """The threaded fit's certified primal and dcd's (tight eps) dual bracket one optimum."""
    X, Y = make_hmm_sequences(60, 3, 8, random_state=1)
    C, eps = 10.0, 1e-3
    ref = StructuredSVM(_seq(), C=C, eps=eps / 10, max_iter=2000).fit(X, Y)
    m = _cocoa(_seq(), None, 2, C=C, eps=eps, max_iter=2000).fit(X, Y)
    assert m.converged_ and ref.converged_
    assert m.primal_objective_ - ref.dual_objective_ <= C * eps + 1e-9
    assert ref.primal_objective_ - m.dual_objective_ >= -1e-9
    duals = [h["dual"] for h in m.history_]
    assert all(b >= a - 1e-9 for a, b in zip(duals, duals[1:]))   # σ' = K: dual ascends


def test_one_thread_or_one_partition_stays_on_the_emulation():
    """n_jobs=1, or n_partitions=1 on 2 threads: no thread backend (one partition has nothing
    to run side by side), the emulation's w; the default n-slack solver ignores it."""
    X, Y = make_hmm_sequences(40, 3, 8, random_state=2)
    kw = dict(C=10.0, eps=1e-2)
    svm = _cocoa(_seq(), 1, 2, **kw)
    assert svm._thread_partitions() == 0
    assert _cocoa(_seq(), None, 1, **kw)._thread_partitions() == 0
    assert _cocoa(_seq(), None, 2, **kw)._thread_partitions() == 2
    assert StructuredSVM(_seq(), n_jobs=2, **kw)._thread_partitions() == 0
    _same_fit(svm.fit(X, Y), _cocoa(_seq(), 1, 1, **kw).fit(X, Y))


class _Interrupting(SequenceLabeling):
    """Ctrl-C mid-round at the ``after`` + 1-th row call (on whichever partition's thread
    makes it): ``how="raise"`` raises KeyboardInterrupt in that thread, ``how="signal"``
    sends SIGINT to the process (the main thread, waiting for the round, gets it)."""

    def __init__(self, after, how="raise", **kw):
        super().__init__(**kw)
        self.after, self.how = after, how
        self.calls = 0
        self.lock = threading.Lock()

    def batch_oracle_rows(self, batch, index, w, rescaling="margin"):
        with self.lock:
            self.calls += 1
            fire = self.calls == self.after + 1
        if fire and self.how == "raise":
            raise KeyboardInterrupt
        if fire:
            os.kill(os.getpid(), signal.SIGINT)
        return super().batch_oracle_rows(batch, index, w, rescaling)


@pytest.mark.parametrize("how", ["raise", "signal"])
def test_ctrl_c_during_a_threaded_round_returns_the_best_model(how):
    """Ctrl-C mid-round (in a partition's thread, or a SIGINT to the main thread waiting for
    the round): the running steps finish, the fit returns the model with the lowest certified
    primal seen, flagged interrupted."""
    X, Y = make_hmm_sequences(80, 3, 8, random_state=6)
    task = _Interrupting(after=30, how=how, n_labels=3, n_features=8)
    m = _cocoa(task, None, 2, C=10.0, eps=1e-4, max_iter=500)
    # Python's own Ctrl-C handler (a process started in the background inherits SIGINT ignored)
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.warns(RuntimeWarning, match="interrupted"):
            m.fit(X, Y)
    finally:
        signal.signal(signal.SIGINT, old)
    assert m.interrupted_ and not m.converged_
    # the best primal seen: the recorded rounds', or the cut round's own certifying pass
    best = min(h["primal"] for h in m.history_ if np.isfinite(h["primal"]))
    assert m.primal_objective_ <= best and np.any(m.w_)
    task = _seq()
    task.initialize(X, Y)
    oracle = LocalOracle(task, X, Y)
    D, L = oracle(m.w_)
    assert np.isclose(objective.primal(m.w_, D, L, 10.0, "margin"), m.primal_objective_,
                      rtol=1e-12, atol=0)
    # the same fit uninterrupted went further (the interruption really cut it short)
    full = _cocoa(_seq(), None, 2, C=10.0, eps=1e-4, max_iter=500).fit(X, Y)
    assert full.n_iter_ > m.n_iter_


@pytest.mark.parametrize("n_jobs", [0, 1.5, "2", True])
def test_bad_n_jobs_is_named(n_jobs):
    X, Y = make_hmm_sequences(20, 3, 8, random_state=0)
    with pytest.raises(InvalidInputError, match="n_jobs"):
        _cocoa(_seq(), None, n_jobs, C=1.0).fit(X, Y)


@pytest.mark.parametrize("parts", [0, -1, 2.5])
def test_bad_n_partitions_is_named(parts):
    X, Y = make_hmm_sequences(20, 3, 8, random_state=0)
    with pytest.raises(ValueError, match="n_partitions"):
        _cocoa(_seq(), parts, 2, C=1.0).fit(X, Y)
    with pytest.raises(InvalidInputError, match="n_partitions"):
        ThreadRoundsOracle(_seq(), X, Y, n_jobs=2, n_partitions=parts)


def test_backend_answers_as_the_local_backend_and_holds_its_partitions():
    """Full passes and row calls are LocalOracle's answers; asking the backend for another
    partition count than it holds is an error naming it."""
    X, Y = make_hmm_sequences(30, 3, 8, random_state=3)
    task = _seq()
    task.initialize(X, Y)
    w = np.random.default_rng(0).normal(size=task.size_joint_feature)
    thr = ThreadRoundsOracle(task, X, Y, n_jobs=2, n_partitions=3)
    ref = LocalOracle(task, X, Y)
    try:
        for a, b in zip(thr(w), ref(w)):
            assert (a != b).nnz == 0 if hasattr(a, "nnz") else np.array_equal(a, b)
        idx = np.array([0, 9, 10, 29])
        for a, b in zip(thr.call_rows(w, idx), ref.call_rows(w, idx)):
            assert (a != b).nnz == 0 if hasattr(a, "nnz") else np.array_equal(a, b)
        assert thr.partition_bounds() == [(0, 10), (10, 20), (20, 30)]
        with pytest.raises(InvalidInputError, match="holds 3 partitions"):
            thr.partition_bounds(2)
    finally:
        thr.close()
        thr.close()      # idempotent
        ref.close()


def test_cli_algorithm_option_runs_the_threaded_rounds(tmp_path, capsys, monkeypatch):
    """structpred learn --algorithm n-slack-cocoa --n-jobs 2: the partitions on 2 threads, the
    model the one-thread emulation's with 2 partitions (the same file, bit for bit in w);
    --algorithm names every registered solver and refuses others (one error line)."""
    from structpred import load
    from structpred.cli.svmstruct import _ALGORITHMS, learn_main
    from structpred.datasets.svmhmm import read_svmhmm, write_svmhmm
    from structpred.solvers.registry import SOLVERS
    monkeypatch.setenv("STRUCTPRED_COMPILE_AHEAD", "0")
    assert sorted(_ALGORITHMS) == sorted(SOLVERS)
    X, Y = make_hmm_sequences(50, 3, 8, random_state=7)
    path = tmp_path / "train.dat"
    write_svmhmm(path, X, [y + 1 for y in Y])
    model = tmp_path / "m.npz"
    assert learn_main(["-c", "10", "-e", "0.01", "--algorithm", "n-slack-cocoa", "--n-jobs",
                       "2", "-v", "0", str(path), str(model)]) == 0
    data = read_svmhmm(path, stacked=True)
    emu = _cocoa(SequenceLabeling(n_labels=data.max_tag, n_features=data.n_features), 2, 1,
                 C=10.0, eps=0.01, max_iter=100000).fit(data.X, data.Y)
    assert np.array_equal(load(model).w_, emu.w_)
    assert learn_main(["-c", "1", "--algorithm", "fast", str(path), str(model)]) == 2
    err = capsys.readouterr().err
    assert "--algorithm" in err and err.count("\n") == 1


def test_one_partition_backend_runs_the_local_solver_on_its_own_batch():
    """Built with one partition (by hand: the estimator starts it with two or more), the thread
    backend serves CoCoA+'s one-partition path as the Dask backend does: the whole n-slack fit
    on that partition (``solve_partition``), so w is the one-thread solver's bit for bit, with
    its certified gap and the worker's clock; with two partitions it refuses, naming the count."""
    from structpred.solvers.cocoa import fit_cocoa
    from structpred.solvers.dcd import fit_dcd
    X, Y = make_hmm_sequences(40, 3, 8, random_state=3)
    C, eps = 10.0, 1e-2

    def fresh():
        task = _seq()
        task.initialize(X, Y)
        return task
    task = fresh()
    ref = fit_dcd(task, LocalOracle(task, X, Y), C=C, eps=eps)
    task = fresh()
    backend = ThreadRoundsOracle(task, X, Y, n_jobs=2, n_partitions=1)
    try:
        got = fit_cocoa(task, backend, C=C, eps=eps)
    finally:
        backend.close()
    assert np.array_equal(got.w, ref.w) and got.primal == ref.primal and got.dual == ref.dual
    assert got.primal - got.dual <= C * eps
    assert got.extra["partitions"] == 1 and got.extra["worker_seconds"] > 0
    task = fresh()
    two = ThreadRoundsOracle(task, X, Y, n_jobs=2)
    try:
        with pytest.raises(InvalidInputError, match="needs one partition.*holds 2"):
            two.solve_partition(fit_dcd, C=C, eps=eps)
    finally:
        two.close()


def test_more_partitions_than_cores_warns():
    """n-slack-cocoa with one partition per thread and more threads than CPUs: the partitions
    take turns, and σ' = K scales every step down, so the run warns (it is not refused: the
    w is the one of K partitions on any machine)."""
    X, Y = _blobs(n=24)
    jobs = (os.cpu_count() or 1) + 1
    with pytest.warns(RuntimeWarning, match=rf"on {jobs} partitions .* beyond the cores"):
        StructuredSVM(Multiclass(), algorithm="n-slack-cocoa", n_jobs=jobs, eps=0.1).fit(X, Y)
