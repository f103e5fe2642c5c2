"""How a partition's examples travel to a Dask worker (structpred.solvers.dask_oracle._Packed):
lists of CSR matrices and of label arrays as a few flat buffers, rebuilt on the worker as views;
the rebuilt examples equal the originals entry for entry and give the same batch, through
Dask's own serialisation; anything else falls back to one pickle."""
import numpy as np
import pytest
import scipy.sparse as sp

distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed "
                                  "(pip install 'structpred[dask]')")

from distributed.protocol import deserialize, serialize  # noqa: E402

from structpred.solvers.dask_oracle import _Packed  # noqa: E402
from structpred.tasks.sequence import SequenceLabeling  # noqa: E402


def _sequences(n=40, F=30, L=4, binary=True, seed=0):
    rng = np.random.default_rng(seed)
    X, Y = [], []
    for _ in range(n):
        T = int(rng.integers(1, 9))
        dense = (rng.random((T, F)) < 0.2) * (1.0 if binary else rng.normal(size=(T, F)))
        X.append(sp.csr_matrix(dense))
        Y.append(rng.integers(0, L, T))
    return X, Y


def _through_dask(packed):
    header, frames = serialize(packed)
    return deserialize(header, frames)


def _same_csr(a, b):
    return (type(a) is type(b) and a.shape == b.shape and a.dtype == b.dtype
            and np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
            and np.array_equal(a.data.view(np.uint64), b.data.view(np.uint64)))


@pytest.mark.parametrize("binary", [True, False])
def test_csr_lists_travel_flat_and_give_the_same_batch(binary):
    X, Y = _sequences(binary=binary)
    X[3], Y[3] = sp.csr_matrix((2, 30)), np.array([0, 1])  # tokens without features
    packed = _Packed(X, Y)
    assert packed.x is not None and packed.y is not None and packed.x_blob is None
    assert isinstance(packed.x["data"], dict) == binary   # one value for binary features
    X2, Y2 = _through_dask(packed).unpack()
    assert len(X2) == len(X) and all(_same_csr(a, b) for a, b in zip(X, X2))
    assert all(y.dtype == z.dtype and np.array_equal(y, z) for y, z in zip(Y, Y2))
    assert all(x.data.flags.writeable and x.indices.flags.writeable for x in X2)
    model = SequenceLabeling(n_labels=4, n_features=30)
    a, b = model.make_batch(X, Y), model.make_batch(X2, Y2)
    for name in ("indptr", "indices", "data", "offsets", "y"):
        u, v = getattr(a, name), getattr(b, name)
        assert u.dtype == v.dtype and np.array_equal(u, v), name
    w = np.random.default_rng(1).normal(size=model.size_joint_feature)
    assert np.array_equal(model.batch_loss_augmented_inference(a, w),
                          model.batch_loss_augmented_inference(b, w))


def test_zeros_of_either_sign_are_not_one_constant():
    X, Y = _sequences(n=5, binary=False)
    for x in X:
        x.data[:] = 0.0
    X[2].data[:1] = -0.0
    packed = _Packed(X, Y)
    assert not isinstance(packed.x["data"], dict)
    X2, _ = _through_dask(packed).unpack()
    assert all(_same_csr(a, b) for a, b in zip(X, X2))


def test_other_examples_fall_back_to_one_pickle():
    X, Y = _sequences(n=6)
    mixed = list(X)
    mixed[1] = mixed[1].astype(np.float32)                # another dtype: not flat
    tags = [np.array(["B", "I", "O"][: len(y)], dtype=object) for y in Y]
    for Xa, Ya, flat_x, flat_y in ((mixed, Y, False, True), (X, tags, True, False),
                                   (np.ones((6, 3)), np.arange(6), False, False)):
        packed = _Packed(Xa, Ya)
        assert (packed.x is not None) == flat_x and (packed.y is not None) == flat_y
        X2, Y2 = _through_dask(packed).unpack()
        if isinstance(Xa, list):
            assert all(_same_csr(a, b) for a, b in zip(Xa, X2))
        else:
            assert np.array_equal(Xa, X2)
        assert all(np.array_equal(a, b) for a, b in zip(Ya, Y2))
        assert packed.nbytes > 0


def test_sparse_arrays_travel_flat_too():
    """scipy's csr_array (not only csr_matrix) is rebuilt as its own class, same entries."""
    rng = np.random.default_rng(2)
    X = [sp.csr_array(rng.random((3, 5)) * (rng.random((3, 5)) < 0.5)) for _ in range(4)]
    packed = _Packed(X, [np.arange(3)] * 4)
    assert packed.x is not None
    X2, _ = _through_dask(packed).unpack()
    assert all(_same_csr(a, b) for a, b in zip(X, X2))
    assert np.array_equal(X2[2] @ np.ones(5), X[2] @ np.ones(5))


@pytest.mark.parametrize("stacked", [False, True])
def test_data_filled_ahead_gives_the_same_examples(stacked):
    """X's constant data filled on the worker before the partition arrives (``_fill_data``)
    rebuilds the same examples, bit for bit, as the partition's own unpacking; without a
    constant there is nothing to fill."""
    from structpred.solvers.dask_oracle import _fill_data
    X, Y = _sequences(seed=3)
    if stacked:
        from structpred.datasets.stacked import StackedLabels, StackedSequences
        ptr = np.concatenate([[0]] + [np.diff(x.indptr) for x in X]).cumsum()
        off = np.concatenate([[0], np.cumsum([x.shape[0] for x in X])])
        X = StackedSequences(np.concatenate([x.data for x in X]),
                             np.concatenate([x.indices for x in X]).astype(np.int32),
                             ptr.astype(np.int64), off.astype(np.int64), 30)
        Y = StackedLabels(np.concatenate(Y).astype(np.int64), off.astype(np.int64))
    packed = _through_dask(_Packed(X, Y))
    spec = packed.constant_data()
    assert spec is not None and spec["size"] == sum(x.nnz for x in X)
    data, _cpu = _fill_data(spec)
    X1, Y1 = packed.unpack()
    X2, Y2 = packed.unpack(data)
    assert len(X2) == len(X1) and all(_same_csr(a, b) for a, b in zip(X1, X2))
    assert all(np.array_equal(a, b) for a, b in zip(Y1, Y2))
    assert all(_same_csr(sp.csr_matrix(a), b) for a, b in zip(X, X2))
    X3, _ = _sequences(binary=False)
    assert _Packed(X3, Y).constant_data() is None


@pytest.mark.parametrize("address, local", [
    ("tcp://127.0.0.1:40123", True), ("tls://localhost:8786", True), ("tcp://[::1]:1234", True),
    ("inproc://10.1.2.3/4567/1", True), ("tcp://10.0.0.5:8786", False),
    ("tcp://node7.cluster:8786", False), ("ucx://192.168.1.2:1", False), ("", False)])
def test_data_goes_straight_only_to_workers_on_this_machine(address, local):
    """The driver sends a partition directly (scatter(direct=True)) only to a worker on its own
    machine; to any other it goes through the scheduler, which can always reach it."""
    from structpred.solvers.dask_oracle import on_this_machine
    assert on_this_machine(address) is local


def test_data_goes_straight_only_from_the_process_that_started_the_cluster():
    """A loopback worker address seen through a scheduler this process did not start (an SSH
    tunnel to another machine's LocalCluster) may name another machine: the scheduler relays."""
    from types import SimpleNamespace

    from structpred.solvers.dask_oracle import sends_direct
    here, elsewhere = SimpleNamespace(cluster=object()), SimpleNamespace(cluster=None)
    assert sends_direct(here, "tcp://127.0.0.1:40123")
    assert not sends_direct(elsewhere, "tcp://127.0.0.1:40123")
    assert not sends_direct(here, "tcp://10.0.0.5:8786")
    assert not sends_direct(SimpleNamespace(), "inproc://10.1.2.3/4567/1")


@pytest.mark.parametrize("advice", [True, False])
def test_constant_data_is_filled_and_numpys_hugepage_advice_restored(advice):
    """``_full`` fills a constant array on ordinary pages and leaves NumPy's own hugepage
    advice as it found it."""
    from structpred.solvers.dask_oracle import _full, _hugepage_switch
    switch = _hugepage_switch()
    if switch is None:
        pytest.skip("this NumPy has no hugepage switch")
    original = switch(advice)
    try:
        got = _full({"constant": np.array([0.5], dtype=np.float32), "size": 7})
        assert got.dtype == np.float32 and got.flags.writeable
        assert np.array_equal(got, np.full(7, 0.5, dtype=np.float32))
        assert switch(advice) is advice     # what _full found is what it left
    finally:
        switch(original)


def test_small_pages_turns_numpys_hugepage_advice_off():
    from structpred.solvers.dask_oracle import _hugepage_switch, small_pages
    switch = _hugepage_switch()
    if switch is None:
        pytest.skip("this NumPy has no hugepage switch")
    original = switch(True)
    try:
        assert small_pages() is True
        assert switch(False) is False       # what small_pages left
    finally:
        switch(original)


def _advice_now():
    from structpred.solvers.dask_oracle import _hugepage_switch
    switch = _hugepage_switch()
    if switch is None:
        return None
    was = switch(True)
    switch(was)
    return was


def test_the_workers_of_a_fit_allocate_on_small_pages():
    """Every worker of a Dask fit gets ``small_pages`` (with ``tune_malloc``) while the driver
    packs: afterwards its NumPy hugepage advice is off."""
    distributed = pytest.importorskip("distributed")
    from structpred import StructuredSVM
    from structpred.solvers.dask_cluster import local_cluster
    from structpred.tasks import Multiclass
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 3)), np.arange(20) % 2
    with local_cluster(1) as cluster, distributed.Client(cluster, set_as_default=False) as c:
        before = c.run(_advice_now)
        if set(before.values()) != {True}:    # else this test could not fail
            pytest.skip("NumPy gives no hugepage advice on this platform")
        StructuredSVM(Multiclass(), C=1.0, backend="dask", client=c).fit(X, y)
        assert set(c.run(_advice_now).values()) == {False}
