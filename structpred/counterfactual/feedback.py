"""Logged bandit feedback: the data type that counterfactual learning reads.

One logged interaction i is (x_i, y_i, δ_i, p_i): the context, the structure the logging
policy π_0 chose for it, the loss δ_i observed for that structure only, and its propensity
p_i = π_0(y_i|x_i) ∈ (0, 1]. Propensities are kept as log-propensities (a long sequence's
propensity underflows float64), so everything downstream computes importance weights
π_w(y_i|x_i)/p_i as exp(log π_w(y_i|x_i) − log p_i).
"""
from __future__ import annotations

import numpy as np

from ..boundary.arrays import check_propensities
from ..boundary.params import check_probability, check_real
from ..errors import InvalidInputError

__all__ = ["BanditFeedback"]


def _float_vector(values, name: str, n: int) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name} must be a 1-D sequence of numbers ({exc})") from None
    if arr.ndim != 1 or arr.shape[0] != n:
        raise InvalidInputError(f"{name} must have one value per logged example ({n}), got "
                                f"shape {arr.shape}")
    return arr


class BanditFeedback:
    """Logged bandit feedback (X, Y, δ, p) with its checks.

    Parameters
    ----------
    X : 2-D array or sequence of n contexts (whatever the task's ``x`` is)
    Y : sequence of n logged structures (whatever the task's ``y`` is)
    loss : n finite losses δ_i (lower is better; a reward r is the loss −r)
    propensity : n propensities p_i = π_0(y_i|x_i) in (0, 1]; or
    log_propensity : n log-propensities log p_i in (−inf, 0] (give exactly one of the two)
    logging_policy : optional name of the logging policy (kept, written by ``io``)

    Raises
    ------
    InvalidInputError naming the example: a propensity that is 0, negative, > 1 or NaN; a
    log-propensity > 0, −inf or NaN; a loss that is NaN or infinite; lengths that differ.

    Attributes
    ----------
    X, Y, loss, log_propensity, logging_policy; ``propensity`` (exp of the log form).
    """

    def __init__(self, X, Y, loss, propensity=None, log_propensity=None,
                 logging_policy: str | None = None):
        n = X.shape[0] if hasattr(X, "shape") else len(X)
        if len(Y) != n:
            raise InvalidInputError(f"Y has {len(Y)} logged structures but X has {n} contexts")
        if n < 1:
            raise InvalidInputError("feedback: no logged examples")
        if (propensity is None) == (log_propensity is None):
            raise InvalidInputError("give exactly one of propensity and log_propensity")
        loss = _float_vector(loss, "loss", n)
        bad = np.flatnonzero(~np.isfinite(loss))
        if bad.size:
            i = int(bad[0])
            raise InvalidInputError(f"loss of example {i} is {loss[i]}, not a finite number", i)
        if propensity is not None:
            lp = check_propensities(propensity, "propensity", n)
        else:
            lp = check_propensities(log_propensity, "log_propensity", n, log=True)
        if logging_policy is not None and not isinstance(logging_policy, str):
            raise InvalidInputError(f"logging_policy must be a string, got {logging_policy!r}")
        self.X = X
        self.Y = Y
        self.loss = loss
        self.log_propensity = lp
        self.logging_policy = logging_policy

    @property
    def propensity(self) -> np.ndarray:
        """p_i = exp(log p_i) (may underflow to 0 for long structures; use log_propensity)."""
        return np.exp(self.log_propensity)

    def __len__(self) -> int:
        return int(self.loss.shape[0])

    def __repr__(self) -> str:
        name = f", logging_policy={self.logging_policy!r}" if self.logging_policy else ""
        return f"BanditFeedback(n={len(self)}{name})"

    def subset(self, index) -> "BanditFeedback":
        """The logged examples at ``index`` (an integer array or a boolean mask)."""
        index = np.arange(len(self))[np.asarray(index)]
        X = self.X[index] if hasattr(self.X, "shape") else [self.X[i] for i in index]
        Y = self.Y[index] if isinstance(self.Y, np.ndarray) else [self.Y[i] for i in index]
        return BanditFeedback(X, Y, self.loss[index], log_propensity=self.log_propensity[index],
                              logging_policy=self.logging_policy)

    def split(self, fraction: float = 0.25, random_state=None):
        """(train, held_out): a random ``fraction`` of the examples held out (POEM: 25% for
        choosing hyper-parameters). Both parts keep at least one example."""
        fraction = check_probability(fraction, "fraction", allow_zero=False, allow_one=False)
        n = len(self)
        k = min(max(int(round(fraction * n)), 1), n - 1)
        if n < 2:
            raise InvalidInputError("feedback with one example cannot be split")
        perm = np.random.default_rng(random_state).permutation(n)
        return self.subset(np.sort(perm[k:])), self.subset(np.sort(perm[:k]))

    def translated(self, shift: float) -> "BanditFeedback":
        """The same feedback with every loss δ_i replaced by δ_i − shift."""
        shift = check_real(shift, "shift")
        return BanditFeedback(self.X, self.Y, self.loss - shift,
                              log_propensity=self.log_propensity,
                              logging_policy=self.logging_policy)

    # ------------------------------------------------------------------ checks against a task
    def check_task(self, task) -> None:
        """Raise InvalidInputError naming the example when a context or logged structure is
        not one the task accepts (outside its output space: a class out of range, a label
        vector of the wrong length or with values other than 0/1, ...). Uses the task's own
        ``check_input``."""
        try:
            task.check_input(self.X, self.Y)
        except InvalidInputError as exc:
            raise InvalidInputError(f"logged feedback: {exc}", getattr(exc, "index", None)) from None
        except ValueError as exc:
            raise InvalidInputError(f"logged feedback: {exc}") from None

    def check_propensities(self, task, w, atol: float = 1e-6, name: str | None = None) -> None:
        """Raise InvalidInputError naming the first example whose logged log-propensity
        differs from log π_w(y_i|x_i) under the named logging policy (weights ``w`` of
        ``task``) by more than ``atol`` (in log space)."""
        batch = task.make_batch(self.X, self.Y)
        lp = np.asarray(task.batch_log_prob(batch, np.asarray(w, dtype=np.float64)), dtype=np.float64)
        diff = np.abs(lp - self.log_propensity)
        bad = np.flatnonzero(~(diff <= atol))
        if bad.size:
            i = int(bad[0])
            who = name or self.logging_policy or "the logging policy"
            raise InvalidInputError(
                f"example {i}: logged log-propensity {self.log_propensity[i]:.6g} is not "
                f"log π_0(y|x) = {lp[i]:.6g} under {who} ({bad.size} examples differ by more "
                f"than {atol:g})", i)
