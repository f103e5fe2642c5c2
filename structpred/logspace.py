"""Log-space helpers shared by the probabilistic hooks of the tasks and the Gibbs policy.

π_w(y|x) = exp(w·Ψ(x, y) − log Z(x; w)); every quantity stays in log space. The checks here
turn what would become NaN or a silent 0 into an :class:`~structpred.errors.InvalidInputError`
naming the argument or the example:

* scores w·Ψ(x, y) that overflow float64 (huge w or features): log Z would be inf − inf;
* a sample count n <= 0, a temperature <= 0 or not finite.

Imports nothing of structpred but ``errors`` (a ground-floor module, usable by every task).
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .errors import InvalidInputError

__all__ = ["logsumexp_rows", "check_scores", "check_n_samples", "check_temperature",
           "as_generator", "scaled_weights"]


def logsumexp_rows(S: np.ndarray) -> np.ndarray:
    """log Σ_j exp(S[i, j]) per row, shifted by the row maximum (exact for finite S: the
    shifted sum lies in [1, n_cols], so it neither overflows nor underflows)."""
    m = S.max(axis=1)
    return m + np.log(np.exp(S - m[:, None]).sum(axis=1))


def check_scores(S: np.ndarray, what: str = "example") -> None:
    """InvalidInputError naming the first row of S (one row per example) holding a score
    w·Ψ that is not finite: the weights or features are too large for float64."""
    ok = np.isfinite(S)
    if ok.all():
        return
    rows = ok.reshape(ok.shape[0], -1).all(axis=1) if ok.ndim > 1 else ok
    i = int(np.flatnonzero(~rows)[0])
    raise InvalidInputError(f"{what} {i}: the score w·Ψ(x, y) overflows float64 (weights or "
                            "features too large); log Z(x; w) would be inf/NaN", i)


def check_n_samples(n, name: str = "n") -> int:
    """n as a positive int; InvalidInputError naming ``name`` otherwise (bools refused)."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or int(n) < 1:
        raise InvalidInputError(f"{name} must be a positive integer (number of samples), got {n!r}")
    return int(n)


def check_temperature(T, name: str = "temperature") -> float:
    """T as a positive finite float; InvalidInputError naming ``name`` otherwise."""
    if isinstance(T, bool) or not isinstance(T, numbers.Real) or not math.isfinite(float(T)) \
            or float(T) <= 0.0:
        raise InvalidInputError(f"{name} must be a positive finite number, got {T!r}")
    return float(T)


def as_generator(random_state) -> np.random.Generator:
    """A numpy Generator from None, an int seed, a SeedSequence or a Generator (returned as is)."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2 ** 31 - 1))
    return np.random.default_rng(random_state)


def scaled_weights(w, temperature: float = 1.0) -> np.ndarray:
    """w / T as float64 (the policy at temperature T is the Gibbs policy of w/T);
    InvalidInputError if T is not a positive finite number or w/T is not finite."""
    T = check_temperature(temperature)
    w = np.asarray(w, dtype=np.float64)
    out = w / T if T != 1.0 else w
    if not np.all(np.isfinite(out)):
        raise InvalidInputError(f"temperature={temperature!r}: w / temperature overflows float64")
    return out
