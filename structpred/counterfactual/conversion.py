"""The supervised-to-bandit conversion of the counterfactual-learning papers (POEM, Norm-POEM,
BanditNet): a logging CRF trained on a small fraction of a labelled training set, then the
training set replayed k times, one structure sampled from the logger per example and replay,
with its loss against the true label and its propensity recorded."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from ..errors import InvalidInputError, InvalidInputTypeError
from ..model import StructuredModel
from ..parallel import limit_threads
from ..boundary.arrays import check_labels, check_probability_matrix
from ..boundary.params import (check_choice, check_draws, check_int, check_positive,
                               check_probability, check_seed)
from ..svm import _n_examples
from .feedback import BanditFeedback, check_weights
from .learners import MAX_ITER, _take

__all__ = ["Conversion", "fit_crf", "supervised_to_bandit", "mix_uniform", "classification_to_bandit"]


@dataclass
class Conversion:
    """What ``supervised_to_bandit`` returns: the logged ``feedback``, the logger's weights
    ``logger_w``, the training examples it was fitted on (``logger_index``) and, per logged
    example, the training example it replays (``source_index``)."""
    feedback: BanditFeedback
    logger_w: np.ndarray
    logger_index: np.ndarray
    source_index: np.ndarray


def _task(task):
    if not isinstance(task, StructuredModel):
        raise InvalidInputTypeError(f"task must be a StructuredModel (a task such as "
                                    f"Multiclass()), got {type(task).__name__}")
    return task


def _n(X, Y):
    """len(X) == len(Y) >= 1, else InvalidInputError naming them."""
    n, n_y = _n_examples(X, "X"), _n_examples(Y, "Y")
    if n != n_y:
        raise InvalidInputError(f"X has {n} examples but Y has {n_y}")
    if n == 0:
        raise InvalidInputError("X and Y have no examples")
    return n


def fit_crf(task, X, Y, C: float = 1.0, max_iter: int = 500, tol: float = 1e-6) -> np.ndarray:
    """Weights of the L2-regularised CRF: min_w ½‖w‖² + (C/n) Σ_i −log π_w(y_i|x_i), by L-BFGS
    on the task's ``batch_log_prob_grad`` (``max_iter`` an integer in [1, 2**31 − 1], ``tol``
    > 0 its gradient tolerance). An uninitialized task is initialized from (X, Y) first; the
    examples are checked by the task's ``check_input``."""
    C = check_positive(C, "C")
    max_iter = check_int(max_iter, "max_iter", 1, MAX_ITER)
    tol = check_positive(tol, "tol")
    _task(task).check_probabilistic(needs=("log_prob", "log_prob_grad"))
    n = _n(X, Y)
    if task.size_joint_feature is None:
        task.initialize(X, Y)
    task.check_input(X, Y)
    batch = task.make_batch(X, Y)
    coef = np.full(n, -C / n)

    def fun(w):
        lp, g = task.batch_log_prob_grad(batch, w, coef)
        return 0.5 * float(w @ w) - C * float(np.mean(lp)), w + g

    with limit_threads(1):
        res = minimize(fun, np.zeros(task.size_joint_feature), jac=True, method="L-BFGS-B",
                       options={"maxiter": max_iter, "gtol": tol})
    return res.x


def supervised_to_bandit(task, X, Y, logger_fraction: float = 0.05, n_replays: int = 4,
                         logger_C: float = 1.0, replay: str = "rest", logger_w=None,
                         random_state=None, logging_policy: str = "crf-logger") -> Conversion:
    """Logged bandit feedback from a labelled set (x_i, y_i).

    A logging CRF π_0 (``fit_crf`` with ``logger_C``) is trained on a random
    ``logger_fraction`` of the examples (POEM: 5%) unless ``logger_w`` is given; then the
    examples (``replay="rest"``: those the logger did not see; ``"all"``: every one) are
    replayed ``n_replays`` times (POEM: 4): y ~ π_0(·|x_i), δ = Δ(y_i, y),
    log p = log π_0(y|x_i). One Generator seeded by ``random_state`` drives the split and
    every draw, so a seed gives the same feedback. Needs at least 2 examples (one to fit the
    logger on, one to replay); at most MAX_DRAWS logged examples in all (``n_replays`` times
    the replayed ones). An uninitialized task is initialized from (X, Y) first, as
    ``StructuredSVM.fit`` does; a given ``logger_w`` must hold its ``size_joint_feature``
    finite weights.
    """
    n = _n(X, Y)
    logger_fraction = check_probability(logger_fraction, "logger_fraction", allow_zero=False,
                                        allow_one=False)
    n_replays = check_int(n_replays, "n_replays", 1, strict=True)
    check_choice(replay, "replay", ("rest", "all"))
    logger_C = check_positive(logger_C, "logger_C")
    random_state = check_seed(random_state)
    if logging_policy is not None and not isinstance(logging_policy, str):
        raise InvalidInputError(f"logging_policy must be a string or None, got "
                                f"{type(logging_policy).__name__}")
    if n < 2:
        raise InvalidInputError(f"X has {n} example: supervised_to_bandit needs at least 2 "
                                "(one to fit the logger on, one to replay)")
    _task(task).check_probabilistic(needs=("log_prob", "sample"))
    if task.size_joint_feature is None:
        task.initialize(X, Y)
    task.check_input(X, Y)
    if logger_w is not None:
        logger_w = check_weights(logger_w, task, "logger_w")
    rng = np.random.default_rng(random_state)
    perm = rng.permutation(n)
    m = min(max(int(round(logger_fraction * n)), 1), n - 1)
    check_draws(n_replays, n - m if replay == "rest" else n, "n_replays")
    logger_index = np.sort(perm[:m])
    if logger_w is None:
        logger_w = fit_crf(task, _take(X, logger_index), [Y[i] for i in logger_index], C=logger_C)
    logger_w = np.asarray(logger_w, dtype=np.float64)
    rest = np.sort(perm[m:]) if replay == "rest" else np.arange(n)
    Xr = _take(X, rest)
    draws = task.batch_sample(task.make_batch(Xr), logger_w, n_replays, rng)
    source = np.tile(rest, n_replays)
    Xl = _take(X, source)
    Yl = [draws[j][r] for r in range(n_replays) for j in range(len(rest))]
    loss = np.array([task.loss(Y[i], y) for i, y in zip(source, Yl)], dtype=np.float64)
    lp = np.asarray(task.batch_log_prob(task.make_batch(Xl, Yl), logger_w), dtype=np.float64)
    feedback = BanditFeedback(Xl, Yl, loss, log_propensity=lp, logging_policy=logging_policy)
    return Conversion(feedback, logger_w, logger_index, source)


def mix_uniform(probs, epsilon: float) -> np.ndarray:
    """(1 − ε)·probs + ε/K: a policy over K actions mixed with the uniform one (Open Bandit
    Pipeline's multiclass reduction builds its logging policies this way)."""
    probs = check_probability_matrix(probs, "probs", square=False, stochastic_rows=True)
    epsilon = check_probability(epsilon, "epsilon")
    return (1 - epsilon) * probs + epsilon / probs.shape[1]


def classification_to_bandit(X, y, probs, random_state=None,
                             logging_policy: str | None = None) -> BanditFeedback:
    """Bandit feedback from a multiclass set: per example one action a ~ probs[i] (an n x K
    matrix of logging probabilities), loss δ = 1[a ≠ y_i] (reward 1[a = y_i]), propensity
    probs[i, a] (an action of probability 0 is never drawn). ``random_state``: a seed."""
    probs = check_probability_matrix(probs, "probs", square=False, stochastic_rows=True)
    random_state = check_seed(random_state)
    n = probs.shape[0]
    y = check_labels(y, "y", probs.shape[1], length=n)
    rng = np.random.default_rng(random_state)
    cum = np.cumsum(probs, axis=1)
    u = rng.random(n) * cum[:, -1]
    a = np.minimum((u[:, None] >= cum).sum(axis=1), probs.shape[1] - 1)
    loss = (a != y).astype(np.float64)
    return BanditFeedback(X, a, loss, propensity=probs[np.arange(n), a],
                          logging_policy=logging_policy)
