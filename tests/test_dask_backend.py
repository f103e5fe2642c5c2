"""The Dask distributed oracle backend on a 2-worker LocalCluster: same (D, L) and the same w
as the local backend (n_jobs=1 and 2), data kept on the workers, bcfw's gap passes on the
cluster, errors. Skipped when dask.distributed is not installed."""
import itertools
import time

import numpy as np
import pytest
import scipy.sparse as sp

distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed "
                                  "(pip install 'structpred[dask]')")

from structpred import StructuredSVM  # noqa: E402
from structpred.solvers.dask_oracle import DaskOracle  # noqa: E402
from structpred.solvers.oracle import LocalOracle  # noqa: E402
from structpred.tasks import Multiclass  # noqa: E402

from conftest import dask_client, data_file  # noqa: E402
from test_multiclass import _blobs  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with dask_client(2) as c:
        yield c


def _chunking_subset(tmp_path_factory, n_sentences=120):
    """The first sentences of the svm_hmm CoNLL-2000 training file, columns renumbered to
    the features they use (so that d stays small)."""
    from structpred.datasets.svmhmm import copy_first_sequences, read_svmhmm
    path = data_file("conll2000/svmhmm/train.dat.gz")
    out = tmp_path_factory.mktemp("conll") / "head.dat"
    copy_first_sequences(path, out, n_sentences)
    data = read_svmhmm(out)
    used = np.unique(np.concatenate([x.indices for x in data.X]))
    remap = np.zeros(data.n_features, dtype=np.int64)
    remap[used] = np.arange(used.size)
    X = [sp.csr_matrix((x.data, remap[x.indices], x.indptr), shape=(x.shape[0], used.size))
         for x in data.X]
    return X, data.Y, data.max_tag


def test_dask_oracle_returns_the_local_rows(client):
    X, y = _blobs(n=41, f=4, k=3, seed=1)
    model = Multiclass()
    model.initialize(X, y)
    w = np.random.default_rng(2).normal(size=model.size_joint_feature)
    local = LocalOracle(model, X, y, n_jobs=1)
    remote = DaskOracle(model, X, y, client=client)
    try:
        assert len(remote.bounds) == 2 and remote.setup_seconds >= 0
        D0, L0 = local(w)
        for _ in range(2):                                   # data stays on the workers
            D1, L1 = remote(w)
            assert np.array_equal(D0.toarray(), D1.toarray()) and np.array_equal(L0, L1)
        assert len(remote.overheads) == 2 and min(remote.overheads) >= 0
        # per-block calls for bcfw run locally, the same rows
        remote.blocks(10)
        Db, Lb = remote.call_block(w, 1)
        assert np.array_equal(Db.toarray(), D0[10:20].toarray()) and np.array_equal(Lb, L0[10:20])
    finally:
        remote.close()
        local.close()


@pytest.mark.parametrize("algorithm", ["1-slack", "bcfw"])
def test_dask_backend_same_w_as_local_multiclass(client, algorithm):
    X, y = _blobs(n=60, f=4, k=3, seed=3, noise=1.3)
    kw = dict(C=5.0, eps=1e-3, algorithm=algorithm, max_iter=2000)
    fits = [StructuredSVM(Multiclass(), n_jobs=1, **kw).fit(X, y),
            StructuredSVM(Multiclass(), n_jobs=2, **kw).fit(X, y),
            StructuredSVM(Multiclass(), backend="dask", client=client, **kw).fit(X, y)]
    for other in fits[1:]:
        assert np.max(np.abs(other.w_ - fits[0].w_)) <= 1e-8
        assert other.n_iter_ == fits[0].n_iter_
    assert fits[2].oracle_overhead_ and all(o >= 0 for o in fits[2].oracle_overhead_)
    # the data's placement on the workers is timed apart from the solver's phases
    assert fits[2].timings_["placement"] > 0 and "placement" not in fits[0].timings_


@pytest.mark.realdata
def test_dask_backend_same_w_on_conll_chunking_subset(client, tmp_path_factory):
    from structpred.tasks.sequence import SequenceLabeling
    X, Y, n_tags = _chunking_subset(tmp_path_factory)
    kw = dict(C=100.0, eps=0.5, max_iter=500, algorithm="1-slack")  # every call a full pass
    local = StructuredSVM(SequenceLabeling(n_labels=n_tags), n_jobs=2, **kw).fit(X, Y)
    remote = StructuredSVM(SequenceLabeling(n_labels=n_tags), backend="dask", client=client,
                           **kw).fit(X, Y)
    assert local.converged_ and remote.converged_
    assert np.max(np.abs(local.w_ - remote.w_)) <= 1e-8
    assert remote.n_oracle_calls_ == local.n_oracle_calls_
    assert len(remote.oracle_overhead_) == remote.n_oracle_calls_ // len(X)


def test_dask_backend_with_worker_processes():
    """Real serialisation: the model and the partitions' CoCoA+ states live in worker
    processes; w is the in-process emulation's with as many partitions, bit for bit."""
    X, y = _blobs(n=30, f=3, k=3, seed=4)
    kw = dict(C=2.0, eps=1e-3)
    local = StructuredSVM(Multiclass(), algorithm="n-slack-cocoa",
                          solver_options={"n_partitions": 2}, **kw).fit(X, y)
    with dask_client(2, processes=True) as c:
        remote = StructuredSVM(Multiclass(), backend="dask", client=c.scheduler.address, **kw)
        remote.fit(X, y)
    assert np.array_equal(local.w_, remote.w_)


def test_dask_backend_needs_a_client():
    X, y = _blobs(n=10, f=3, k=3)
    with pytest.raises(ValueError, match="Client"):
        StructuredSVM(Multiclass(), backend="dask").fit(X, y)
    with pytest.raises(TypeError, match="client must be"):
        StructuredSVM(Multiclass(), backend="dask", client=3).fit(X, y)
    with pytest.raises(ValueError, match="backend"):
        StructuredSVM(Multiclass(), backend="spark").fit(X, y)


def test_partitions_follow_local_chunking(client):
    X, y = _blobs(n=25, f=3, k=3)
    model = Multiclass()
    model.initialize(X, y)
    for parts in (1, 3):
        remote = DaskOracle(model, X, y, client=client, n_partitions=parts)
        local = LocalOracle(model, X, y, n_jobs=parts)
        try:
            assert remote.bounds == local.bounds
            assert remote.workers == list(itertools.islice(itertools.cycle(
                sorted(client.nthreads())), parts))
        finally:
            remote.close()
            local.close()


def test_partition_data_and_solver_states_never_travel_back(client, monkeypatch):
    """Set-up ships each partition once (a few flat buffers or one pickle) and the driver gathers only the
    small per-round results: neither a batch nor a CoCoA+ partition state (O(n_k) arrays)
    comes back to the driver; the set-up phases are recorded."""
    from structpred.solvers.cocoa import Partition
    X, y = _blobs(n=40, f=3, k=3, seed=5)
    fetched = []
    gather = client.gather

    def spy(futures, *args, **kwargs):
        out = gather(futures, *args, **kwargs)
        fetched.extend(out if isinstance(out, list) else [out])
        return out
    monkeypatch.setattr(client, "gather", spy)
    m = StructuredSVM(Multiclass(), C=2.0, eps=1e-3, backend="dask", client=client).fit(X, y)
    assert m.converged_ and fetched
    assert not any(isinstance(o, Partition) or hasattr(o, "__len__") and not isinstance(
        o, (dict, tuple, list, float)) for o in fetched), [type(o) for o in fetched]
    setup = m.solver_extra_["setup"]
    assert len(setup["bytes"]) == 2 and min(setup["bytes"]) > 0
    parts = setup["model"] + setup["pack"] + setup["send"] + setup["wait"]
    assert 0 <= parts <= setup["wall"] + 1e-6


@pytest.mark.parametrize("bad", ["nan", "rows"])
def test_bad_input_is_the_local_error_and_releases_the_partitions(client, bad):
    """On Dask the task's input checks run on the driver while the workers build their
    batches: bad data still gives the local backend's error (same type and message), and the
    partitions already sent are released."""
    X, y = _blobs(n=60, f=3, k=3)
    if bad == "nan":
        X[37, 1] = np.nan
    else:
        y = y[:-1]
    errors = []
    for backend in ("local", "dask"):
        with pytest.raises(ValueError) as info:
            StructuredSVM(Multiclass(), C=1.0, backend=backend,
                          client=client if backend == "dask" else None).fit(X, y)
        errors.append((type(info.value), str(info.value)))
    assert errors[0] == errors[1]

    def held():
        return client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))
    deadline = time.monotonic() + 30      # releases reach the scheduler asynchronously
    while held() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert held() == 0
