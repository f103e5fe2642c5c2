"""SolverRun.keep_best keeps the best iterate's w compactly and gives it back bit for bit."""
import numpy as np
import pytest

from structpred.solvers.base import KeptVector


@pytest.mark.parametrize("density", [0.0, 0.05, 0.5, 1.0])
def test_kept_vector_gives_back_the_same_bits(density):
    rng = np.random.default_rng(3)
    w = rng.standard_normal(5000) * (rng.random(5000) < density)
    w[::97] = -0.0
    kept = KeptVector(w)
    back = kept.dense()
    assert back.dtype == np.float64 and back.shape == w.shape
    assert np.array_equal(back.view(np.int64), w.view(np.int64))   # bits, signs of 0 too
    assert back is not w
    # sparse storage exactly when it is smaller than the dense copy
    assert (kept.full is None) == (np.count_nonzero(w) * 12 < w.size * 8)
    w[:] = 7.0      # the kept copy does not follow later changes of w
    assert np.array_equal(kept.dense().view(np.int64), back.view(np.int64))


def test_dense_kept_vector_reuses_the_old_copy():
    w = np.arange(1.0, 101.0)
    first = KeptVector(w)
    second = KeptVector(w * 2, reuse=first)
    assert second.full is first.full        # copied into, not a second array
    assert np.array_equal(second.dense(), w * 2)
