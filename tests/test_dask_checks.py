"""The input checks the Dask driver runs during set-up (``check_values``'s two-reduction
fast path): the same verdicts and messages as the element-wise check, brute-forced."""
import numpy as np
import pytest

from structpred.boundary.arrays import check_values
from structpred.errors import MAX_ABS_FEATURE, InvalidInputError


def _brute(data, limit):
    """The first flat position whose value is not finite or beyond ``limit``, or None."""
    for k, v in enumerate(np.asarray(data).ravel().tolist()):
        if not (abs(v) <= limit):
            return k
    return None


@pytest.mark.parametrize("seed", range(20))
def test_check_values_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    data = rng.normal(size=n) * 10
    limit = 25.0
    for _ in range(int(rng.integers(0, 3))):
        data[rng.integers(n)] = rng.choice([np.nan, np.inf, -np.inf, 25.0, -25.0, 25.5, -30.0])
    bad = _brute(data, limit)
    lengths = [0] + np.sort(rng.integers(0, n, size=3)).tolist() + [n]
    ends = np.cumsum(np.diff(lengths))

    def example_of(k):
        return int(np.searchsorted(ends, k, side="right"))
    if bad is None:
        check_values(data, "X", limit=limit, example_of=example_of)
        return
    with pytest.raises(InvalidInputError) as err:
        check_values(data, "X", limit=limit, example_of=example_of)
    i = example_of(bad)
    assert err.value.index == i
    assert str(err.value).startswith(f"X[{i}]: feature value {float(data[bad])!r}")


def test_check_values_integer_and_bounds():
    check_values(np.array([-3, 0, 7], dtype=np.int64), "X", limit=7)
    with pytest.raises(InvalidInputError, match=r"X: feature value 8\.0"):
        check_values(np.array([-3, 8, 7], dtype=np.int64), "X", limit=7)
    check_values(np.array([MAX_ABS_FEATURE, -MAX_ABS_FEATURE]), "X")
    with pytest.raises(InvalidInputError, match="NaN"):
        check_values(np.array([[1.0, 2.0], [np.nan, 0.0]]), "X", index=4)
    check_values(np.zeros(0), "X")


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_check_values_rejects_non_finite_in_narrow_floats(dtype, bad):
    """float16 / float32 data: MAX_ABS_FEATURE (1e50) is inf in those types, so the limit
    must be compared in float64, or infinities would pass."""
    data = np.array([1.0, bad, 2.0], dtype=dtype)
    with pytest.raises(InvalidInputError, match="NaN, infinity"):
        check_values(data, "X", index=3)
    check_values(np.array([1.0, -2.0, 65504.0], dtype=dtype), "X")   # finite: passes
