"""Multiclass softmax hooks against brute-force enumeration; sampling by chi-square."""
import numpy as np
import pytest

from structpred.errors import InvalidInputError
from structpred.tasks import Multiclass
from structpred.testing import check_batch_hooks, check_probabilistic_hooks, sampling_chi_square


def _task(k=4, f=3):
    return Multiclass(n_classes=k, n_features=f)


def test_hooks_match_brute_force():
    rng = np.random.default_rng(0)
    model = _task()
    for trial in range(30):
        x = rng.normal(size=3) * (1 + 3 * (trial % 3))
        y = int(rng.integers(4))
        w = rng.normal(size=12) * 2
        check_probabilistic_hooks(model, x, y, w, list(range(4)),
                                  indicator=lambda c: np.eye(4)[c])


def test_batch_forms_match_single_forms():
    rng = np.random.default_rng(1)
    model = _task(k=3, f=5)
    X = rng.normal(size=(12, 5))
    Y = rng.integers(0, 3, size=12)
    w = rng.normal(size=15)
    check_batch_hooks(model, X, Y, w, coef=rng.normal(size=12), Y_other=rng.integers(0, 3, 12))


def test_sampling_frequencies_pass_chi_square():
    rng = np.random.default_rng(2)
    model = _task(k=5, f=2)
    x = rng.normal(size=2)
    w = rng.normal(size=10)
    p = sampling_chi_square(model, x, w, list(range(5)), n=20000, random_state=3)
    assert p > 1e-3
    # and a wrong distribution is caught: the test has power
    w_other = w + rng.normal(size=10)
    draws = model.sample(x, w_other, 20000, random_state=3)
    model_other = _task(k=5, f=2)
    model_other.sample = lambda x_, w_, n, rs: draws
    assert sampling_chi_square(model_other, x, w, list(range(5)), n=20000) < 1e-6


def test_sampling_repeats_for_a_seed():
    model = _task()
    w = np.random.default_rng(4).normal(size=12)
    x = np.ones(3)
    assert model.sample(x, w, 50, random_state=7) == model.sample(x, w, 50, random_state=7)


def test_huge_scores_stay_finite_in_log_space():
    model = _task(k=3, f=2)
    w = np.array([1e200, 0, 0, 0, -1e200, 0.0])
    x = np.array([1e100, 1.0])
    lz = model.log_partition(x, w)
    assert np.isfinite(lz) and lz == pytest.approx(1e300)
    lp = model.log_prob(x, 1, w)
    assert np.isfinite(lp) and lp == pytest.approx(-1e300)   # not a silent 0 probability
    assert model.log_prob(x, 0, w) == 0.0
    g = model.log_prob_grad(x, 1, w)
    assert np.all(np.isfinite(g))


def test_overflowing_scores_raise_naming_the_example():
    model = _task(k=2, f=2)
    w = np.array([1e300, 0, 0, 0.0])
    X = np.array([[1.0, 0.0], [1e10, 0.0]])
    with pytest.raises(InvalidInputError, match="example 1"):
        model.batch_log_prob(model.make_batch(X, [0, 1]), w)


@pytest.mark.parametrize("n", [0, -3, 2.5, True])
def test_bad_sample_count(n):
    model = _task()
    with pytest.raises(InvalidInputError, match="n must be a positive integer"):
        model.sample(np.ones(3), np.zeros(12), n)


def test_labels_out_of_range_are_named():
    model = _task(k=3, f=2)
    batch = model.make_batch(np.ones((3, 2)))
    with pytest.raises(InvalidInputError, match="example 2"):
        model.batch_log_prob(batch, np.zeros(6), Y=[0, 1, 3])
