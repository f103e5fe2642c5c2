"""Off-policy estimators of a stochastic policy's risk from logged bandit feedback.

Risk R(π) = E_x E_{y~π(·|x)}[δ(x, y)]. From feedback (x_i, y_i, δ_i, p_i) logged by π_0, with
importance weights w_i = π(y_i|x_i)/p_i computed as exp(log π(y_i|x_i) − log p_i):

* IPS            R̂ = (1/n) Σ δ_i w_i                        (unbiased when π_0 has full support)
* clipped IPS    R̂ = (1/n) Σ δ_i min(M, w_i)                 (Bottou et al. 2013; biased, lower variance)
* SNIPS          R̂ = Σ δ_i w_i / Σ w_i                        (Swaminathan & Joachims, NIPS 2015)
* direct method  R̂ = (1/n) Σ E_{y~π(·|x_i)}[m(x_i, y)]       (m: a model of the loss)
* doubly robust  R̂ = DM + (1/n) Σ w_i (δ_i − m(x_i, y_i))    (Dudík, Langford & Li, ICML 2011)

Each returns an :class:`Estimate` with a normal-approximation confidence interval: the standard
error is the sample standard deviation of the per-example terms over sqrt(n) (IPS, DM, DR), and
the delta-method one for SNIPS, sqrt(Σ w_i²(δ_i − R̂)²)/Σ w_i · sqrt(n/(n−1)). The DM interval
only reflects the spread over contexts, not the loss model's own error.

Weights beyond float64 (π(y_i|x_i)/p_i > 1.8e308, a propensity below about 1e-308 in log
form): IPS and doubly robust cannot average them and refuse them naming the example and its
propensity unless a ``clip`` caps them; SNIPS is invariant to a common scale of the weights
and computes q_i = w_i / Σ w_j in log space (exp(log w_i − max) normalised by its sum, so the
q_i sum to 1 and the estimate lies within [min δ, max δ]), with a RuntimeWarning naming the
example, since its estimate and standard error then rest on the few largest weights.

The target policy is given as a :class:`GibbsTarget` (a task and its weights w:
π_w(y|x) ∝ exp(w·Ψ(x, y))), a tuple ``(task, w)``, a :class:`TabularTarget` (a matrix of
action probabilities on the logged contexts, for a finite action set), or an n x K array.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import warnings

from scipy.special import logsumexp
from scipy.stats import norm

from ..boundary.arrays import (check_finite_result, check_labels, check_probability_matrix,
                               check_vector)
from ..boundary.params import check_draws, check_level, check_positive, check_seed
from ..errors import InvalidInputError, InvalidInputTypeError, NotFittedError
from .feedback import BanditFeedback, check_weights
from .objectives import LOG_MAX_WEIGHT, _self_normalized_weights

__all__ = ["Estimate", "GibbsTarget", "TabularTarget", "as_target", "log_importance_weights",
           "ips", "snips", "direct_method", "doubly_robust", "JointFeatureRidge",
           "default_clip", "variance_calibration"]


@dataclass(frozen=True)
class Estimate:
    """A risk estimate: ``value`` ± ``stderr``, and the interval [low, high] at ``level``."""
    value: float
    stderr: float
    low: float
    high: float
    level: float
    n: int
    estimator: str

    def covers(self, truth: float) -> bool:
        """True when ``truth`` lies in [low, high]."""
        return self.low <= truth <= self.high


def _estimate(value, stderr, level, n, name) -> Estimate:
    check_finite_result((value, stderr), f"{name}: the estimate or its standard error",
                        "feedback.loss or the importance weights π(y|x)/feedback.propensity")
    z = float(norm.ppf(0.5 + level / 2))
    return Estimate(float(value), float(stderr), float(value - z * stderr),
                    float(value + z * stderr), level, n, name)


# --------------------------------------------------------------------------- target policies
class GibbsTarget:
    """π_w(y|x) = exp(w·Ψ(x, y) − log Z(x; w)) of a task with probabilistic hooks.

    ``task`` must be initialized (its size known) and ``w`` must hold its
    ``size_joint_feature`` finite weights: InvalidInputError naming ``w`` (or the task)
    otherwise. The logged contexts and structures are checked against the task
    (``BanditFeedback.check_task``: features of another width, structures outside the output
    space) before any log-probability is computed."""

    def __init__(self, task, w):
        if not callable(getattr(task, "check_probabilistic", None)):
            raise InvalidInputTypeError(f"target: the task must be a StructuredModel with "
                                        f"probabilistic hooks, got {type(task).__name__}")
        task.check_probabilistic(needs=("log_prob",))
        self.task = task
        self.w = check_weights(w, task, "w")

    def log_prob(self, feedback: BanditFeedback) -> np.ndarray:
        """log π_w(y_i|x_i) of the logged structures."""
        feedback.check_task(self.task)
        batch = self.task.make_batch(feedback.X, feedback.Y)
        return np.asarray(self.task.batch_log_prob(batch, self.w), dtype=np.float64)

    def expectation(self, feedback, predict, outputs=None, n_samples: int = 100,
                    random_state=None) -> np.ndarray:
        """E_{y~π_w(·|x_i)}[predict(X, Y)] per logged context: exact over ``outputs`` (every
        structure of a small output space, each once) when given, else the mean of
        ``n_samples`` draws (at most MAX_DRAWS draws in all). ``outputs`` must carry all of
        π_w(·|x_i): where the listed structures' probabilities do not sum to 1 (a structure
        left out or listed twice) InvalidInputError names ``outputs`` and the example."""
        X, n = feedback.X, len(feedback)
        feedback.check_task(self.task)
        if outputs is not None:
            outputs = _outputs(outputs, n)
            logp = np.empty((n, len(outputs)))
            vals = np.empty((n, len(outputs)))
            for k, y in enumerate(outputs):
                Yk = [y] * n
                logp[:, k] = self.task.batch_log_prob(self.task.make_batch(X, Yk), self.w)
                vals[:, k] = _predicted(predict, X, Yk, n)
            total = logsumexp(logp, axis=1)
            off = np.flatnonzero(~(np.abs(total) <= 1e-6))
            if off.size:
                i = int(off[0])
                mass = math.exp(total[i]) if np.isfinite(total[i]) else 0.0
                raise InvalidInputError(
                    f"outputs: the {len(outputs)} structures listed carry probability "
                    f"{mass:.6g} under π(·|x_{i}) (example {i}), not 1: outputs must list every "
                    "structure of the output space exactly once", i)
            probs = np.exp(logp - total[:, None])
            return (probs * vals).sum(axis=1)
        n_samples = check_draws(n_samples, n, "n_samples")
        batch = self.task.make_batch(X)
        draws = self.task.batch_sample(batch, self.w, n_samples, random_state)
        total = np.zeros(n)
        for s in range(n_samples):
            total += _predicted(predict, X, [d[s] for d in draws], n)
        return total / n_samples


class TabularTarget:
    """A policy over a finite action set {0..K−1} given by its probabilities on the logged
    contexts: ``probs[i, a]`` = π(a|x_i) (rows sum to 1)."""

    def __init__(self, probs, name: str = "probs"):
        self.probs = check_probability_matrix(probs, name, square=False, stochastic_rows=True,
                                              tol=1e-8)
        self.name = name

    def _check(self, feedback):
        if self.probs.shape[0] != len(feedback):
            raise InvalidInputError(f"{self.name}: the target's probabilities cover "
                                    f"{self.probs.shape[0]} contexts, the feedback has "
                                    f"{len(feedback)}")

    def _actions(self, feedback):
        """The logged actions as int64, each one of the target's K actions."""
        K = self.probs.shape[1]
        try:
            return check_labels(feedback.Y, "feedback.Y (logged actions)", K)
        except InvalidInputError as exc:
            raise InvalidInputError(f"{self.name} gives probabilities for {K} actions 0..{K - 1}"
                                    f"; {exc}", exc.index) from None

    def log_prob(self, feedback) -> np.ndarray:
        """log π(y_i|x_i) of each logged action (-inf where the target gives it probability 0)."""
        self._check(feedback)
        a = self._actions(feedback)
        with np.errstate(divide="ignore"):
            return np.log(self.probs[np.arange(len(a)), a])

    def expectation(self, feedback, predict, outputs=None, n_samples=None, random_state=None):
        """E_{a~π(·|x_i)}[predict(x_i, a)] for each logged context i, exactly over the K actions."""
        self._check(feedback)
        self._actions(feedback)   # the feedback's actions are the target's (a mismatch is a bug)
        n, K = self.probs.shape
        vals = np.column_stack([_predicted(predict, feedback.X, [k] * n, n) for k in range(K)])
        return (self.probs * vals).sum(axis=1)


def as_target(target):
    """A target policy object from a GibbsTarget/TabularTarget, a (task, w) pair or an n x K array."""
    if isinstance(target, (GibbsTarget, TabularTarget)) or hasattr(target, "log_prob") \
            and hasattr(target, "expectation"):
        return target
    if isinstance(target, tuple) and len(target) == 2:
        return GibbsTarget(*target)
    if isinstance(target, np.ndarray) and target.ndim == 2:
        return TabularTarget(target, "target")
    raise InvalidInputError("target must be a GibbsTarget, a TabularTarget, a (task, w) pair or "
                            f"an n x K probability matrix; got {type(target).__name__}")


def _outputs(outputs, n):
    """``outputs`` (every structure of the output space) as a non-empty list."""
    if isinstance(outputs, (str, bytes, dict)) or not hasattr(outputs, "__iter__"):
        raise InvalidInputError(f"outputs must be a sequence of structures (every structure of "
                                f"the output space), got {type(outputs).__name__}")
    outputs = list(outputs)
    if not outputs:
        raise InvalidInputError("outputs is empty: list every structure of the output space")
    check_draws(len(outputs), n, "outputs")
    seen = {}
    for k, y in enumerate(outputs):
        try:
            key = (np.shape(y), tuple(np.ravel(np.asarray(y, dtype=object)).tolist()))
            hash(key)
        except (TypeError, ValueError):
            continue                       # an unhashable structure: the mass check names it
        if key in seen:
            raise InvalidInputError(f"outputs: entry {k} repeats entry {seen[key]} ({y!r}); list "
                                    "every structure of the output space exactly once")
        seen[key] = k
    return outputs


def _target_log_prob(target, feedback):
    """The target's log π(y_i|x_i): n numbers <= 0 or −inf (checked: a target object of the
    user's own that answers NaN, > 0 or the wrong length is named)."""
    lp = check_vector(target.log_prob(feedback), "target.log_prob(feedback)", len(feedback),
                      finite=False, length_of="feedback")
    bad = np.flatnonzero(lp > 1e-9)
    if bad.size:
        i = int(bad[0])
        raise InvalidInputError(f"target.log_prob(feedback): entry {i} is {float(lp[i])!r}, "
                                "not a log-probability (<= 0)", i)
    return np.minimum(lp, 0.0)


def log_importance_weights(feedback: BanditFeedback, target) -> np.ndarray:
    """log w_i = log π(y_i|x_i) − log p_i (may be −inf where π gives the structure no mass)."""
    _feedback(feedback, "log_importance_weights")
    return _target_log_prob(as_target(target), feedback) - feedback.log_propensity


def _representable(log_w, feedback, name):
    """InvalidInputError naming the first example whose (unclipped) importance weight is
    beyond float64's largest number (log w_i > LOG_MAX_WEIGHT)."""
    big = np.flatnonzero(log_w > LOG_MAX_WEIGHT)
    if big.size:
        i = int(big[0])
        lp = float(feedback.log_propensity[i])
        raise InvalidInputError(
            f"{name}: example {i}: its importance weight π(y|x)/p = exp({float(log_w[i]):.6g}) "
            f"is beyond float64's largest number (feedback.propensity of example {i} is "
            f"exp({lp:.6g})); it cannot be averaged: clip the weights (clip=M) or drop the "
            "example", i)


def default_clip(feedback: BanditFeedback) -> float:
    """POEM's clipping constant M: the ratio p_(90) / p_(10) of the 90th to the 10th
    percentile of the logged propensities (Swaminathan & Joachims, ICML 2015, Sec. 7),
    computed in log space as exp(log p_(90) − log p_(10)) (percentiles of the
    log-propensities, linear interpolation). InvalidInputError naming ``log_propensity`` when
    M is beyond float64 (the propensities span more than 308 orders of magnitude): pass a
    clip explicitly then. M = 1 when the two percentiles coincide (e.g. a uniform logger):
    every weight of a policy no better than the logger is then clipped (see ``CRM``)."""
    _feedback(feedback, "default_clip")
    lo, hi = np.percentile(feedback.log_propensity, [10, 90])
    log_m = float(hi - lo)
    if not log_m <= LOG_MAX_WEIGHT:
        raise InvalidInputError(
            f"default_clip: POEM's ratio of the 90th to the 10th percentile propensity is "
            f"exp({log_m:.6g}), beyond float64 (feedback.log_propensity spans "
            f"[{float(np.min(feedback.log_propensity)):.6g}, "
            f"{float(np.max(feedback.log_propensity)):.6g}]); pass clip=M explicitly")
    return float(np.exp(log_m))


def variance_calibration(feedback: BanditFeedback) -> float:
    """POEM's calibration of the variance weight (ICML 2015, Sec. 4.2 and 7): λ* =
    −mean(δ) / sqrt(V̂(δ)/n), the λ at which the bound mean + λ·sqrt(V̂/n) of the logging policy
    itself is 0; the paper searches λ = c·λ* over powers of 10 c. Needs losses translated to a
    negative mean (as POEM learns) and that are not all equal."""
    _need_two(feedback, "variance_calibration")
    loss = feedback.loss
    sd = float(np.std(loss, ddof=1))
    if not loss.mean() < 0 or sd == 0:
        raise InvalidInputError(
            "variance_calibration: the losses must have a negative mean and differ "
            f"(mean {loss.mean():g}, standard deviation {sd:g}); translate them first, e.g. "
            "feedback.translated(max loss)")
    return float(-loss.mean() / (sd / math.sqrt(len(loss))))


def _feedback(feedback, name):
    if not isinstance(feedback, BanditFeedback):
        raise InvalidInputError(f"{name}: feedback must be a BanditFeedback (logged x, y, loss, "
                                f"propensity), got {type(feedback).__name__}")
    return feedback


def _predicted(predict, X, Y, n):
    """loss_model.predict(X, Y) checked: n finite numbers."""
    return check_vector(predict(X, Y), "loss_model.predict(X, Y)", n)


def _loss_model(loss_model, name):
    if not callable(getattr(loss_model, "predict", None)):
        raise InvalidInputError(f"{name}: loss_model must be an object with a predict(X, Y) "
                                f"method, got {type(loss_model).__name__}")
    return loss_model


def _need_two(feedback, name):
    _feedback(feedback, name)
    if len(feedback) < 2:
        raise InvalidInputError(f"{name}: feedback with one example has no sample variance; "
                                "a confidence interval needs at least 2 logged examples")


def _clip(clip):
    """The clipping constant M > 0 (None, or inf: no clipping, returned as None)."""
    clip = check_positive(clip, "clip", allow_inf=True, allow_none=True)
    return None if clip is None or math.isinf(clip) else clip


def _clipped_weights(log_w, clip):
    if clip is not None:
        log_w = np.minimum(log_w, math.log(clip))
    return np.exp(log_w)


def ips(feedback: BanditFeedback, target, clip=None, level: float = 0.95) -> Estimate:
    """(Clipped) inverse propensity scoring: (1/n) Σ δ_i min(M, π(y_i|x_i)/p_i); ``clip`` = M
    (None: no clipping). An unclipped weight beyond float64 is refused naming its example."""
    level, clip = check_level(level), _clip(clip)
    _need_two(feedback, "ips")
    log_w = log_importance_weights(feedback, target)
    if clip is None:
        _representable(log_w, feedback, "ips")
    w = _clipped_weights(log_w, clip)
    terms = feedback.loss * w
    n = len(feedback)
    return _estimate(terms.mean(), terms.std(ddof=1) / math.sqrt(n), level, n,
                     "ips" if clip is None else f"clipped ips (M={clip:g})")


def snips(feedback: BanditFeedback, target, clip=None, level: float = 0.95) -> Estimate:
    """Self-normalized IPS: R̂ = Σ δ_i w_i / Σ w_i = Σ q_i δ_i (w_i clipped at ``clip`` when
    given), with q_i = exp(log w_i − max_j log w_j) / Σ_k exp(log w_k − max_j log w_j) so that
    Σ q_i = 1 and R̂ ∈ [min δ, max δ] for any log-weights; interval by the delta method,
    stderr = sqrt(Σ q_i² (δ_i − R̂)² · n/(n−1)). A weight beyond float64 (log w_i > 709.78)
    gives a RuntimeWarning naming its example (the estimate rests on the largest weights:
    effective sample size 1/Σ q_i²)."""
    level, clip = check_level(level), _clip(clip)
    _need_two(feedback, "snips")
    log_w = log_importance_weights(feedback, target)
    if clip is not None:
        log_w = np.minimum(log_w, math.log(clip))
    if not np.any(np.isfinite(log_w)):
        raise InvalidInputError("snips: the target policy gives every logged structure "
                                "probability 0; the self-normalized estimate is undefined")
    q, _ = _self_normalized_weights(log_w)     # w_i / Σ w_j, summing to 1, without overflow
    loss = feedback.loss
    value = float(np.clip(np.dot(q, loss), loss.min(), loss.max()))
    n = len(feedback)
    big = np.flatnonzero(log_w > LOG_MAX_WEIGHT)
    if big.size:
        i = int(big[0])
        warnings.warn(
            f"snips: example {i}: its importance weight π(y|x)/p = exp({float(log_w[i]):.6g}) is "
            f"beyond float64 (feedback.propensity exp({float(feedback.log_propensity[i]):.6g})); "
            "the self-normalized estimate is computed in log space but it and its standard "
            f"error rest on the largest weights (effective sample size "
            f"{1.0 / float(np.sum(q ** 2)):.3g} of {n})", RuntimeWarning, stacklevel=2)
    se = math.sqrt(float(np.sum(q ** 2 * (feedback.loss - value) ** 2)) * n / (n - 1))
    return _estimate(value, se, level, n, "snips")


def _model_terms(feedback, target, loss_model, outputs, n_samples, random_state):
    target = as_target(target)
    if outputs is not None:
        _outputs(outputs, len(feedback))
    _loss_model(loss_model, "the loss model")
    expected = target.expectation(feedback, loss_model.predict, outputs=outputs,
                                  n_samples=n_samples, random_state=random_state)
    return target, np.asarray(expected, dtype=np.float64)


def direct_method(feedback: BanditFeedback, target, loss_model, outputs=None,
                  n_samples: int = 100, random_state=None, level: float = 0.95) -> Estimate:
    """Direct method: (1/n) Σ_i E_{y~π(·|x_i)}[m(x_i, y)], m = ``loss_model.predict(X, Y)``
    (exact over ``outputs``, every structure of the output space once, when given; else by
    ``n_samples`` draws per context, at most MAX_DRAWS in all; ``random_state`` a seed)."""
    level = check_level(level)
    random_state = check_seed(random_state)
    _need_two(feedback, "direct_method")
    check_draws(n_samples, len(feedback), "n_samples")
    _loss_model(loss_model, "direct_method")
    _, terms = _model_terms(feedback, target, loss_model, outputs, n_samples, random_state)
    n = len(feedback)
    return _estimate(terms.mean(), terms.std(ddof=1) / math.sqrt(n), level, n, "direct method")


def doubly_robust(feedback: BanditFeedback, target, loss_model=None, outputs=None,
                  n_samples: int = 100, random_state=None, level: float = 0.95,
                  clip=None) -> Estimate:
    """Doubly robust: (1/n) Σ_i [E_{π}[m(x_i, ·)] + w_i (δ_i − m(x_i, y_i))]. ``loss_model``:
    any object with ``predict(X, Y)``; None fits a :class:`JointFeatureRidge` by 2-fold
    cross-fitting (each half's terms use the model fitted on the other half). An unclipped
    weight beyond float64 is refused naming its example; ``n_samples`` (at most MAX_DRAWS
    draws in all) and ``random_state`` (a seed) as in ``direct_method``."""
    level, clip = check_level(level), _clip(clip)
    random_state = check_seed(random_state)
    _need_two(feedback, "doubly_robust")
    check_draws(n_samples, len(feedback), "n_samples")
    target = as_target(target)
    n = len(feedback)
    log_w = log_importance_weights(feedback, target)
    if clip is None:
        _representable(log_w, feedback, "doubly_robust")
    w = _clipped_weights(log_w, clip)
    if loss_model is not None:
        _loss_model(loss_model, "doubly_robust")
        _, dm = _model_terms(feedback, target, loss_model, outputs, n_samples, random_state)
        fitted = _predicted(loss_model.predict, feedback.X, feedback.Y, n)
    else:
        if not isinstance(target, GibbsTarget):
            raise InvalidInputError("doubly_robust: pass a loss_model for a non-Gibbs target "
                                    "(a fitted one needs the task's joint feature map)")
        if n < 4:
            raise InvalidInputError("doubly_robust: fitting a loss model by cross-fitting needs "
                                    "at least 4 logged examples")
        perm = np.random.default_rng(0).permutation(n)
        folds = [np.sort(perm[: n // 2]), np.sort(perm[n // 2:])]
        dm, fitted = np.empty(n), np.empty(n)
        for k in range(2):
            train, held = feedback.subset(folds[1 - k]), feedback.subset(folds[k])
            model = JointFeatureRidge(target.task).fit(train)
            _, dm[folds[k]] = _model_terms(held, target, model, outputs, n_samples, random_state)
            fitted[folds[k]] = model.predict(held.X, held.Y)
    terms = dm + w * (feedback.loss - np.asarray(fitted, dtype=np.float64))
    return _estimate(terms.mean(), terms.std(ddof=1) / math.sqrt(n), level, n, "doubly robust")


class JointFeatureRidge:
    """A loss model m(x, y) = θ·Ψ(x, y) + b fitted by ridge regression on the logged
    (Ψ(x_i, y_i), δ_i): min_θ,b Σ (θ·Ψ_i + b − δ_i)² + alpha‖θ‖² (the task's own joint
    feature map, so it serves any task: per-class linear models for multiclass, per-label
    ones for multi-label)."""

    def __init__(self, task, alpha: float = 1.0):
        self.task = task
        self.alpha = alpha

    def _design(self, X, Y):
        """Rows Ψ(x_i, y_i), dense when they fit in 64 MB, else CSR."""
        d = self.task.size_joint_feature
        rows = [self.task.joint_feature(X[i], y) for i, y in enumerate(Y)]
        if len(rows) * d <= 8 * 2 ** 20 and not any(sp.issparse(r) for r in rows):
            return sp.csr_matrix(np.vstack([np.asarray(r, dtype=np.float64).ravel() for r in rows]))
        return sp.vstack([sp.csr_matrix(r).reshape(1, d) for r in rows], format="csr")

    def fit(self, feedback: BanditFeedback) -> "JointFeatureRidge":
        """Fit θ, b by ridge regression of the logged losses δ_i on Ψ(x_i, y_i) (centred,
        alpha‖θ‖²): θ = (Φ_cᵀΦ_c + alpha·I)⁻¹ Φ_cᵀ(δ − δ̄); returns self. InvalidInputError
        naming ``alpha`` when that system is singular or its solution not finite in float64
        (alpha too small for the data)."""
        alpha = check_positive(self.alpha, "alpha")
        _feedback(feedback, "JointFeatureRidge.fit")
        feedback.check_task(self.task)
        Phi = self._design(feedback.X, feedback.Y)
        delta = feedback.loss
        mean_phi = np.asarray(Phi.mean(axis=0)).ravel()
        mean_delta = float(delta.mean())
        G = (Phi.T @ Phi).toarray() - len(delta) * np.outer(mean_phi, mean_phi)
        rhs = Phi.T @ delta - len(delta) * mean_phi * mean_delta
        G[np.diag_indices_from(G)] += alpha
        try:
            coef = np.linalg.solve(G, rhs)
        except np.linalg.LinAlgError:
            coef = None
        if coef is None or not np.all(np.isfinite(coef)):
            raise InvalidInputError(f"alpha={alpha:g} is too small for these logged features: "
                                    "the ridge system Φᵀ Φ + alpha·I is singular in float64; "
                                    "use a larger alpha")
        self.coef_ = coef
        self.intercept_ = mean_delta - float(mean_phi @ self.coef_)
        return self

    def predict(self, X, Y) -> np.ndarray:
        """m(x_i, y_i) = θ·Ψ(x_i, y_i) + b for paired contexts and structures (checked by the
        task's ``check_input``); NotFittedError before ``fit``."""
        if getattr(self, "coef_", None) is None:
            raise NotFittedError("this JointFeatureRidge is not fitted yet: call fit(feedback)")
        self.task.check_input(X, Y)
        return self._design(X, Y) @ self.coef_ + self.intercept_
