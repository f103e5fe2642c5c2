"""Stacked sequence sets (``structpred.datasets.stacked``, as ``read_svmhmm(stacked=True)`` and
``structpred learn`` read CoNLL) on the Dask backend: a partition travels as its slice of the
stacked arrays and is rebuilt on the worker as a stacked set over the received buffers; the fit
gives the same w as the list form of the same data (same seed, same number of workers), and
bad stacked input gives the local backend's error naming the example."""
import numpy as np
import pytest
import scipy.sparse as sp

distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed "
                                  "(pip install 'structpred[dask]')")

from distributed.protocol import deserialize, serialize  # noqa: E402

from structpred import StructuredSVM  # noqa: E402
from structpred.datasets.stacked import StackedLabels, StackedSequences  # noqa: E402
from structpred.errors import InvalidInputError  # noqa: E402
from structpred.solvers.dask_oracle import _Packed  # noqa: E402
from structpred.tasks.sequence import SequenceLabeling  # noqa: E402

from conftest import dask_client  # noqa: E402

F, L = 12, 3


def _sequences(n=60, binary=True, seed=0):
    """n random sequences whose labels follow their features (learnable), as lists."""
    rng = np.random.default_rng(seed)
    X, Y = [], []
    for _ in range(n):
        T = int(rng.integers(1, 7))
        y = rng.integers(0, L, T)
        dense = (rng.random((T, F)) < 0.25) * (1.0 if binary else rng.normal(size=(T, F)))
        dense[np.arange(T), y] = 1.0                     # a feature that tells the label
        X.append(sp.csr_matrix(dense))
        Y.append(y.astype(np.int64))
    return X, Y


def _stack(X, Y):
    """The same sets stacked, as the reader builds them (one CSR cut by offsets)."""
    rows = np.array([x.shape[0] for x in X])
    offsets = np.zeros(len(X) + 1, np.int64)
    np.cumsum(rows, out=offsets[1:])
    big = sp.vstack(X, format="csr")
    return (StackedSequences(big.data.astype(np.float64), big.indices.astype(np.int32),
                             big.indptr.astype(np.int64), offsets, F),
            StackedLabels(np.concatenate(Y).astype(np.int64), offsets.copy()))


@pytest.fixture(scope="module")
def client():
    with dask_client(2) as c:
        yield c


@pytest.mark.parametrize("binary", [True, False])
def test_a_stacked_slice_travels_as_its_own_rows_and_gives_the_same_batch(binary):
    X, Y = _sequences(binary=binary)
    SX, SY = _stack(X, Y)
    part_x, part_y = SX[17:41], SY[17:41]                 # a partition: a slice of the offsets
    packed = _Packed(part_x, part_y)
    assert packed.x_blob is None and packed.y_blob is None
    assert isinstance(packed.x["data"], dict) == binary   # one value for binary features
    nnz = sum(x.nnz for x in X[17:41])
    assert packed.x["indices"].shape == (nnz,)            # only the partition's own rows
    header, frames = serialize(packed)
    X2, Y2 = deserialize(header, frames).unpack()
    assert type(X2) is StackedSequences and type(Y2) is StackedLabels and len(X2) == 24
    assert X2.data.flags.writeable and X2.indices.flags.writeable
    for a, b in zip(X[17:41], X2):
        assert np.array_equal(a.toarray(), b.toarray())
    assert all(np.array_equal(a, b) for a, b in zip(Y[17:41], Y2))
    model = SequenceLabeling(n_labels=L, n_features=F)
    ref, got = model.make_batch(X[17:41], Y[17:41]), model.make_batch(X2, Y2)
    for name in ("indptr", "indices", "data", "offsets", "y"):
        u, v = getattr(ref, name), getattr(got, name)
        assert u.dtype == v.dtype and np.array_equal(u, v), name


@pytest.fixture(scope="module")
def one_worker():
    with dask_client(1) as c:
        yield c


@pytest.mark.parametrize("workers", [2, 1])
def test_stacked_input_on_dask_gives_the_list_forms_w(client, one_worker, workers):
    """CoCoA+ over 2 workers (and the one-worker path: dcd on the worker) from stacked sets
    and from lists of the same sequences: the same w, bit for bit (same seed, same K): the
    in-process emulation's with K partitions, and at K = 1 the local one-thread fit's."""
    X, Y = _sequences(n=80, seed=3)
    SX, SY = _stack(X, Y)
    kw = dict(C=10.0, eps=0.05)
    cluster = client if workers == 2 else one_worker
    fits = [StructuredSVM(SequenceLabeling(n_labels=L, n_features=F), backend="dask",
                          client=cluster, **kw).fit(Xa, Ya) for Xa, Ya in ((X, Y), (SX, SY))]
    assert fits[0].converged_ and fits[1].converged_
    assert np.array_equal(fits[0].w_, fits[1].w_)
    assert fits[0].solver_extra_["partitions"] == workers == fits[1].solver_extra_["partitions"]
    if workers == 1:
        ref = StructuredSVM(SequenceLabeling(n_labels=L, n_features=F), n_jobs=1, **kw)
    else:
        ref = StructuredSVM(SequenceLabeling(n_labels=L, n_features=F),
                            algorithm="n-slack-cocoa", solver_options={"n_partitions": 2},
                            **kw)
    assert np.array_equal(ref.fit(SX, SY).w_, fits[1].w_)


def _broken(kind):
    X, Y = _sequences(n=50, binary=False, seed=5)
    SX, SY = _stack(X, Y)
    a = int(SX.indptr[SX.offsets[37]])           # first entry of sequence 37
    if kind == "nan":
        SX.data[a] = np.nan
    elif kind == "column":
        SX.indices[a] = F + 4
    elif kind == "label":
        SY.labels[SY.offsets[41]] = -2
    return SX, SY, {"nan": 37, "column": 37, "label": 41}[kind]


@pytest.mark.parametrize("kind", ["nan", "column", "label"])
def test_bad_stacked_input_is_the_local_error_naming_the_example(client, kind):
    errors = []
    for backend in ("local", "dask"):
        SX, SY, index = _broken(kind)
        with pytest.raises(InvalidInputError) as info:
            StructuredSVM(SequenceLabeling(n_labels=L, n_features=F), C=1.0, backend=backend,
                          client=client if backend == "dask" else None).fit(SX, SY)
        errors.append((type(info.value), str(info.value)))
        assert f"[{index}]" in str(info.value)
    assert errors[0] == errors[1]
