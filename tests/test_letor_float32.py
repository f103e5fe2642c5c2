"""Documents stored as float32 (``load_letor(dtype=np.float32)``, what ``learn --task rank``
uses, as svm_rank stores feature values): every reader path holds each value rounded to
the nearest float32 of what the float64 readers give, and the ranking task trains on float32
documents without a float64 copy, to the same model as on the same values in float64."""
import numpy as np
import pytest
import scipy.sparse as sp

from structpred import StructuredSVM
from structpred.datasets import letor
from structpred.errors import InvalidInputError
from structpred.tasks.ranking import Ranking
from structpred.tasks.ranking.model import stack_queries


def _write(path, rng, n_queries=30, d=7, sparse=False):
    lines = []
    for q in range(1, n_queries + 1):
        for _ in range(int(rng.integers(1, 9))):
            fids = (np.sort(rng.choice(np.arange(1, d + 1), size=int(rng.integers(1, d)),
                                       replace=False)) if sparse else np.arange(1, d + 1))
            vals = [f"{v:.6f}" if k % 3 else repr(float(v)) for k, v in
                    enumerate(rng.normal(size=fids.size) * 10.0 ** rng.integers(-3, 3))]
            toks = " ".join(f"{f}:{v}" for f, v in zip(fids, vals))
            lines.append(f"{int(rng.integers(0, 3))} qid:{q} {toks} # d{q}\n")
    path.write_text("".join(lines))
    return path


def _as32(x):
    return x.astype(np.float32)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("seed", range(3))
def test_every_reader_path_rounds_to_float32(tmp_path, seed, sparse):
    rng = np.random.default_rng(seed)
    path = _write(tmp_path / "f.txt", rng, sparse=sparse)
    ref = letor._load_exact(path, str(path), None, "auto", "keep", None, None, False)
    got = [letor.load_letor(path, dtype=np.float32)]                  # default path
    got.append(letor._load_fast(path, str(path), None, "keep", None, None, False,
                                np.dtype(np.float32)) if _numba() else None)
    for data in got:
        if data is None:
            continue
        assert len(data.X) == len(ref.X)
        for x, r in zip(data.X, ref.X):
            assert x.dtype == np.float32
            a = x.toarray() if sp.issparse(x) else x
            b = r.toarray() if sp.issparse(r) else r
            np.testing.assert_array_equal(a, _as32(b))
        for y, r in zip(data.y, ref.y):
            np.testing.assert_array_equal(y, r)


def _numba():
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def test_float32_documents_are_not_copied_and_train_the_same_model():
    rng = np.random.default_rng(3)
    d, sizes = 6, rng.integers(2, 12, size=40)
    big = rng.normal(size=(int(sizes.sum()), d)).astype(np.float32)
    o = np.r_[0, np.cumsum(sizes)]
    X32 = [big[a:b] for a, b in zip(o[:-1], o[1:])]
    X64 = [x.astype(np.float64) for x in X32]
    Y = [rng.integers(0, 3, size=s).astype(float) for s in sizes]
    Xs, _ = stack_queries(X32)
    assert Xs.dtype == np.float32 and np.shares_memory(Xs, big)      # no float64 copy
    model = Ranking()
    b32, b64 = model.make_batch(X32, Y), model.make_batch(X64, Y)
    w = rng.normal(size=d)
    np.testing.assert_allclose(model._scores(b32, w), model._scores(b64, w), rtol=1e-14)
    a32 = model.batch_loss_augmented_inference(b32, w)
    a64 = model.batch_loss_augmented_inference(b64, w)
    D32 = model.batch_delta_joint_feature(b32, a32).toarray()
    D64 = model.batch_delta_joint_feature(b64, a64).toarray()
    np.testing.assert_array_equal(D32, D64)
    f32 = StructuredSVM(Ranking(), C=1.0, eps=0.01).fit(X32, Y)
    f64 = StructuredSVM(Ranking(), C=1.0, eps=0.01).fit(X64, Y)
    np.testing.assert_allclose(f32.w_, f64.w_, rtol=1e-12, atol=1e-15)
    assert abs(f32.primal_objective_ - f64.primal_objective_) <= 1e-9 * f64.primal_objective_


def test_psi_in_blocks_of_rows_equals_one_product(monkeypatch):
    """Several cast blocks (a query never split): the same δΨ rows as one block."""
    from structpred.tasks.ranking import model as M
    rng = np.random.default_rng(4)
    sizes = rng.integers(1, 9, size=50)
    big = rng.normal(size=(int(sizes.sum()), 5)).astype(np.float32)
    o = np.r_[0, np.cumsum(sizes)]
    X = [big[a:b] for a, b in zip(o[:-1], o[1:])]
    Y = [rng.integers(0, 3, size=s).astype(float) for s in sizes]
    model = Ranking()
    batch = model.make_batch(X, Y)
    ans = model.batch_loss_augmented_inference(batch, rng.normal(size=5))
    one = model.batch_delta_joint_feature(batch, ans).toarray()
    monkeypatch.setattr(M, "_ROWS_PER_CAST", 7)
    np.testing.assert_array_equal(model.batch_delta_joint_feature(batch, ans).toarray(), one)
    np.testing.assert_allclose(model._scores(batch, np.arange(5.0)),
                               big.astype(np.float64) @ np.arange(5.0), rtol=1e-14)


def test_bad_dtype_is_refused(tmp_path):
    path = _write(tmp_path / "f.txt", np.random.default_rng(0), n_queries=2)
    for bad in (np.int32, "float16", object()):
        with pytest.raises(InvalidInputError, match="dtype"):
            letor.load_letor(path, dtype=bad)
