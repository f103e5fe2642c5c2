"""Log-space helpers shared by the probabilistic hooks of the tasks and the Gibbs policy.

π_w(y|x) = exp(w·Ψ(x, y) − log Z(x; w)); every quantity stays in log space. The checks that
turn what would become NaN or a silent 0 into an :class:`~structpred.errors.InvalidInputError`
live in :mod:`structpred.boundary`: ``boundary.arrays.check_score_rows`` (scores w·Ψ(x, y)
that overflow float64: log Z would be inf − inf), ``boundary.params.check_n_samples`` and
``check_temperature``.

Imports nothing of structpred but ``errors`` and ``boundary`` (ground-floor modules, usable
by every task).
"""
from __future__ import annotations

import numpy as np

from .boundary.params import check_temperature
from .errors import InvalidInputError

__all__ = ["logsumexp_rows", "as_generator", "scaled_weights"]


def logsumexp_rows(S: np.ndarray) -> np.ndarray:
    """log Σ_j exp(S[i, j]) per row, shifted by the row maximum (exact for finite S: the
    shifted sum lies in [1, n_cols], so it neither overflows nor underflows)."""
    m = S.max(axis=1)
    return m + np.log(np.exp(S - m[:, None]).sum(axis=1))


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
