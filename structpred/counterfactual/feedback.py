"""Logged bandit feedback: the data type that counterfactual learning reads.

One logged interaction i is (x_i, y_i, δ_i, p_i): the context, the structure the logging
policy π_0 chose for it, the loss δ_i observed for that structure only, and its propensity
p_i = π_0(y_i|x_i) ∈ (0, 1]. Propensities are kept as log-propensities (a long sequence's
propensity underflows float64), so everything downstream computes importance weights
π_w(y_i|x_i)/p_i as exp(log π_w(y_i|x_i) − log p_i).
"""
from __future__ import annotations

import numbers

import numpy as np

from ..boundary.arrays import check_propensities, check_vector
from ..boundary.params import check_probability, check_real, check_seed
from ..errors import InvalidInputError, InvalidInputTypeError

__all__ = ["BanditFeedback", "check_weights"]


def _n_items(values, name: str, what: str) -> int:
    """len(values) of a sequence or array of ``what`` (rows of a 2-D array or sparse matrix);
    InvalidInputError naming ``name`` for None, a scalar, a 0-d array, a string or a mapping."""
    shape = getattr(values, "shape", None)
    if shape is not None and not isinstance(values, (str, bytes)):
        if len(shape) == 0:
            raise InvalidInputTypeError(f"{name} must be a sequence or array of {what} (one per "
                                        f"logged example), got a 0-d {type(values).__name__}")
        return int(shape[0])
    if values is None or isinstance(values, (str, bytes, dict, set, frozenset)) \
            or not hasattr(values, "__len__") or not hasattr(values, "__getitem__"):
        raise InvalidInputTypeError(f"{name} must be a sequence or array of {what} (one per "
                                    f"logged example), got {type(values).__name__}")
    return len(values)


def _real_vector(values, name: str, n: int, *, allow_bool: bool) -> np.ndarray:
    """``values`` as n float64 numbers: real numbers only (no strings, complex numbers, None;
    no bools unless ``allow_bool``); InvalidInputError naming ``name`` and the example."""
    def bad(i, v):
        return InvalidInputError(f"{name} of example {i} is {v!r}, not a real number", i)

    if not isinstance(values, np.ndarray):
        if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
            raise InvalidInputError(f"{name} must be a 1-D sequence of numbers, one per logged "
                                    f"example ({n}), got {type(values).__name__}")
        for i, v in enumerate(values):
            if isinstance(v, (bool, np.bool_)) and not allow_bool:
                raise bad(i, v)
            if not isinstance(v, (numbers.Real, np.bool_)):
                if isinstance(v, np.ndarray) and v.ndim == 0 and v.dtype.kind in "iuf":
                    continue
                if hasattr(v, "__len__"):
                    break       # nested: the shape check below names it
                raise bad(i, v)
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name} must be a 1-D sequence of numbers ({exc})") from None
    if arr.dtype.kind not in ("iuf" + ("b" if allow_bool else "")) and arr.size:
        if arr.dtype.kind == "O" and arr.ndim == 1:
            for i, v in enumerate(arr):
                if not isinstance(v, numbers.Real) or (isinstance(v, bool) and not allow_bool):
                    raise bad(i, v)
        else:
            first = arr.ravel()[0]
            raise InvalidInputError(f"{name} must hold real numbers, got dtype {arr.dtype} "
                                    f"({first!r} at example 0)", 0)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise InvalidInputError(f"{name} must have one value per logged example ({n}), got "
                                f"shape {arr.shape}")
    return arr.astype(np.float64)


def check_weights(w, task, name: str = "w") -> np.ndarray:
    """The weight vector ``w`` of ``task``'s Gibbs policy as ``size_joint_feature`` finite
    float64 numbers; InvalidInputError naming ``name`` (a string, a wrong length, NaN) or the
    task when it has not been initialized (its size is unknown: fit it or call
    ``task.initialize(X, Y)``)."""
    d = getattr(task, "size_joint_feature", None)
    if d is None:
        raise InvalidInputError(f"{name}: the task {task!r} is not initialized "
                                "(size_joint_feature is None), so its weights cannot be "
                                "checked; call task.initialize(X, Y) or fit it first")
    return check_vector(w, name, int(d), length_of="the task's size_joint_feature")


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
    log-propensity > 0, −inf or NaN; a loss that is NaN or infinite; a propensity or
    loss that is not a real number (a string such as "0.5", a complex number, None; a bool
    as a propensity; bools are 0/1 losses); lengths that differ. X or Y that is not a
    sequence or array (None, a scalar, a string, a dict): InvalidInputTypeError naming it.

    Attributes
    ----------
    X, Y, loss, log_propensity, logging_policy; ``propensity`` (exp of the log form).
    """

    def __init__(self, X, Y, loss, propensity=None, log_propensity=None,
                 logging_policy: str | None = None):
        n = _n_items(X, "X", "contexts")
        n_y = _n_items(Y, "Y", "logged structures")
        if n_y != n:
            raise InvalidInputError(f"Y has {n_y} logged structures but X has {n} contexts")
        if n < 1:
            raise InvalidInputError("feedback: no logged examples")
        if (propensity is None) == (log_propensity is None):
            raise InvalidInputError("give exactly one of propensity and log_propensity")
        loss = _real_vector(loss, "loss", n, allow_bool=True)
        bad = np.flatnonzero(~np.isfinite(loss))
        if bad.size:
            i = int(bad[0])
            raise InvalidInputError(f"loss of example {i} is {loss[i]}, not a finite number", i)
        if propensity is not None:
            lp = check_propensities(_real_vector(propensity, "propensity", n, allow_bool=False),
                                    "propensity", n)
        else:
            lp = check_propensities(_real_vector(log_propensity, "log_propensity", n,
                                                 allow_bool=False), "log_propensity", n, log=True)
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
        """The logged examples at ``index``: a 1-D sequence of integers in [−n, n) (negative
        ones count from the end, as in numpy) or a boolean mask of length n; InvalidInputError
        naming ``index`` otherwise (out of range, fractional, a mask of another length)."""
        index = self._index(index)
        X = self.X[index] if hasattr(self.X, "shape") else [self.X[i] for i in index]
        Y = self.Y[index] if isinstance(self.Y, np.ndarray) else [self.Y[i] for i in index]
        return BanditFeedback(X, Y, self.loss[index], log_propensity=self.log_propensity[index],
                              logging_policy=self.logging_policy)

    def _index(self, index) -> np.ndarray:
        n = len(self)
        if isinstance(index, (str, bytes)) or index is None:
            raise InvalidInputError(f"index must be integers or a boolean mask, got {index!r}")
        try:
            arr = np.asarray(index)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"index must be integers or a boolean mask ({exc})") from None
        if arr.ndim != 1:
            raise InvalidInputError(f"index must be 1-D (integers or a boolean mask), got shape "
                                    f"{arr.shape}")
        if arr.dtype.kind == "b":
            if arr.shape[0] != n:
                raise InvalidInputError(f"index: a boolean mask needs one entry per logged "
                                        f"example ({n}), got {arr.shape[0]}")
            return np.flatnonzero(arr)
        if arr.size == 0:
            return np.zeros(0, dtype=np.int64)
        if arr.dtype.kind not in "iu":
            raise InvalidInputError(f"index must be integers or a boolean mask, got dtype "
                                    f"{arr.dtype} ({arr[0]!r} at position 0)")
        bad = np.flatnonzero((arr < -n) | (arr >= n))
        if bad.size:
            k = int(bad[0])
            raise InvalidInputError(f"index: entry {k} is {int(arr[k])}, outside [-{n}, {n}) "
                                    f"for feedback of {n} examples")
        return np.arange(n)[arr.astype(np.int64)]

    def split(self, fraction: float = 0.25, random_state=None):
        """(train, held_out): a random ``fraction`` of the examples held out (POEM: 25% for
        choosing hyper-parameters). Both parts keep at least one example. ``random_state``: a
        seed (None, an integer in [0, 2**32 − 1] or a numpy Generator)."""
        fraction = check_probability(fraction, "fraction", allow_zero=False, allow_one=False)
        random_state = check_seed(random_state)
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
        vector of the wrong length or with values other than 0/1, features of another width,
        ...). Uses the task's own ``check_input``; a task that is not initialized yet
        (``size_joint_feature`` None: its classes and width are unknown) is refused naming
        it."""
        if not callable(getattr(task, "check_input", None)):
            raise InvalidInputTypeError(f"task must be a StructuredModel, got "
                                        f"{type(task).__name__}")
        if getattr(task, "size_joint_feature", None) is None:
            raise InvalidInputError(f"logged feedback: the task {task!r} is not initialized "
                                    "(size_joint_feature is None); call task.initialize(X, Y) "
                                    "or fit it first")
        try:
            task.check_input(self.X, self.Y)
        except InvalidInputError as exc:
            raise InvalidInputError(f"logged feedback: {exc}", getattr(exc, "index", None)) from None
        except ValueError as exc:
            raise InvalidInputError(f"logged feedback: {exc}") from None

    def check_propensities(self, task, w, atol: float = 1e-6, name: str | None = None) -> None:
        """Raise InvalidInputError naming the first example whose logged log-propensity
        differs from log π_w(y_i|x_i) under the named logging policy (weights ``w`` of
        ``task``) by more than ``atol`` (in log space; a real number >= 0, inf accepts any).
        The logged data are checked against the task first (``check_task``) and ``w``
        against its size (``check_weights``)."""
        atol = check_real(atol, "atol", 0.0, allow_inf=True)
        self.check_task(task)
        w = check_weights(w, task, "w")
        batch = task.make_batch(self.X, self.Y)
        lp = np.asarray(task.batch_log_prob(batch, w), dtype=np.float64)
        diff = np.abs(lp - self.log_propensity)
        bad = np.flatnonzero(~(diff <= atol))
        if bad.size:
            i = int(bad[0])
            who = name or self.logging_policy or "the logging policy"
            raise InvalidInputError(
                f"example {i}: logged log-propensity {self.log_propensity[i]:.6g} is not "
                f"log π_0(y|x) = {lp[i]:.6g} under {who} ({bad.size} examples differ by more "
                f"than {atol:g})", i)
