"""The probabilistic estimator: a Gibbs (CRF) policy over a task's joint feature map.

    π_w(y|x) = exp(w·Ψ(x, y) − log Z(x; w)),     log Z(x; w) = log Σ_y exp(w·Ψ(x, y))

trained by L2-regularised conditional log-likelihood, in the C convention of
:class:`~structpred.StructuredSVM`'s n-slack objective (½‖w‖² + (C/n) Σ_i ξ_i):

    min_w  J(w) = ½‖w‖² + (C/n) Σ_i −log π_w(y_i|x_i)

Conversions: scikit-learn's ``LogisticRegression(C=C_sk, fit_intercept=False)`` (multinomial,
L2) minimises ½‖w‖² + C_sk Σ_i −log p, so C_sk = C/n (the same objective value, not just the
same minimiser); CRFsuite's L-BFGS minimises Σ_i −log p + c2‖w‖², i.e. J·n/C, so c2 = n/(2C)
(and C = n/(2 c2)).

The task supplies the probabilistic hooks (``batch_log_prob_grad`` for training; ``sample``,
``marginals``, ``expected_loss`` for the other methods); a task without one fails at the start
naming it.
"""
from __future__ import annotations

import logging
import time

import numpy as np

from .boundary.params import (check_bool, check_draws, check_int, check_n_jobs, check_n_samples,
                               check_positive, check_seed, check_verbose)
from .boundary.arrays import check_vector
from .errors import InvalidInputError, InvalidInputTypeError
from .boundary.text import _available_memory
from .logspace import scaled_weights
from .model import StructuredModel, has_hook
from .parallel import limit_threads
from .svm import StructuredSVM, _as_examples, _n_examples
from . import persistence

__all__ = ["GibbsPolicy"]

logger = logging.getLogger("structpred")

#: Largest max_iter / period accepted (L-BFGS's counters are C ints).
MAX_ITER = 2 ** 31 - 1
#: L-BFGS workspace always accepted, in float64 numbers (2 GiB): scipy's L-BFGS-B allocates
#: (2m + 5)·d + 11m² + 8m of them for m = ``memory`` corrections of d weights. A larger one
#: is accepted when this machine has that much memory available, else refused naming memory.
MAX_LBFGS_WORKSPACE = 2 ** 28


class GibbsPolicy:
    """Conditional random field / Gibbs policy on any task with the probabilistic hooks.

    Objective (C as in StructuredSVM's n-slack form; see the module docstring for the
    conversions to scikit-learn's and CRFsuite's conventions)::

        min_w ½‖w‖² + (C/n) Σ_i −log π_w(y_i|x_i),   π_w(y|x) ∝ exp(w·Ψ(x, y))

    solved by L-BFGS (scipy) on the task's batch hook ``batch_log_prob_grad``.

    Parameters
    ----------
    model : StructuredModel
        The task (Multiclass, SequenceLabeling, ...), with the probabilistic hooks.
    C : float
        Regularisation: weight of the mean negative log-likelihood against ½‖w‖².
    tol : float
        CRFsuite's two stopping tests with one threshold (its defaults are 1e-5 both): stop
        when J fell by less than ``tol`` relative to J over the last ``period`` iterations,
        or when ‖∇J(w)‖ <= tol·max(1, ‖w‖).
    max_iter : int
        Largest number of L-BFGS iterations.
    n_jobs : int or None
        Threads for the task's batch hooks (and the BLAS limit): a non-zero integer with
        |n_jobs| <= 2**15 (negative counts back from the number of CPUs), or None (1).
    verbose : int
        0 silent; 1 a line per L-BFGS iteration on the 'structpred' logger (a bool or an
        integer >= 0).
    warm_start : bool
        Start the next ``fit`` from the current ``w_`` (same task layout) instead of 0.
    memory : int
        Corrections kept by L-BFGS (scipy's ``maxcor``; CRFsuite's ``num_memories`` is 6);
        the L-BFGS workspace of (2·memory + 5)·d + 11·memory² + 8·memory float64 numbers
        must fit in 2 GiB (MAX_LBFGS_WORKSPACE) or in the memory available now, checked at
        ``fit`` naming ``memory``.
    period : int
        The window of the relative-decrease test (CRFsuite's ``period``, 10).

    Every parameter is checked at ``fit`` before any work: InvalidInputError (a ValueError)
    naming it; ``max_iter`` and ``period`` at most 2**31 − 1; a model that is not a
    StructuredModel is an InvalidInputTypeError (also a TypeError).

    Attributes
    ----------
    w_ : ndarray (d,)
    objective_ : float           J(w_); also ``primal_objective_`` (the name model files use)
    primal_at_zero_ : float      J(0) = (C/n) Σ_i log |Y(x_i)| (no better than w = 0 warns)
    n_iter_, n_fun_evals_ : int
    converged_ : bool            a stopping test held (``stop_reason_``), or no step lowers J
    stop_reason_ : str           "objective", "gradient", or scipy's message
    history_ : list of dict (iteration, time, objective, grad_max)
    """

    def __init__(self, model: StructuredModel, C: float = 1.0, tol: float = 1e-5,
                 max_iter: int = 1000, n_jobs: int = 1, verbose: int = 0,
                 warm_start: bool = False, memory: int = 10, period: int = 10):
        self.model = model
        self.C = C
        self.tol = tol
        self.max_iter = max_iter
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.warm_start = warm_start
        self.memory = memory
        self.period = period

    # ------------------------------------------------------------ shared with StructuredSVM
    get_params = StructuredSVM.get_params
    set_params = StructuredSVM.set_params
    __repr__ = StructuredSVM.__repr__
    _estimator_type = StructuredSVM._estimator_type
    _check_feature_matrix = StructuredSVM._check_feature_matrix
    _check_fitted = StructuredSVM._check_fitted
    _from_flat = StructuredSVM._from_flat
    _policy_batch = StructuredSVM._policy_batch
    predict = StructuredSVM.predict
    score = StructuredSVM.score
    log_prob = StructuredSVM.log_prob
    save = StructuredSVM.save

    @classmethod
    def load(cls, path, tasks=None) -> "GibbsPolicy":
        """Read a GibbsPolicy model file written by ``save`` (see structpred.persistence)."""
        return persistence.load(path, tasks=tasks, estimator_class=cls)

    def __sklearn_tags__(self):
        """A classifier when the task says so (Multiclass), else a plain estimator."""
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags
        kind = self._estimator_type
        return Tags(estimator_type=kind, target_tags=TargetTags(required=True),
                    transformer_tags=None, regressor_tags=None,
                    classifier_tags=ClassifierTags() if kind == "classifier" else None,
                    input_tags=InputTags(two_d_array=kind == "classifier",
                                         sparse=kind == "classifier"))

    def _more_tags(self):
        kind = self._estimator_type
        return {"requires_y": True,
                "X_types": ["2darray"] if kind == "classifier" else ["2darray", "string"]}

    def _check_params(self):
        if not isinstance(self.model, StructuredModel):
            raise InvalidInputTypeError(f"model must be a StructuredModel, got "
                                        f"{type(self.model).__name__}")
        # InvalidInputError is a ValueError, as scikit-learn's parameter checks expect
        for name in ("C", "tol"):
            check_positive(getattr(self, name), name)
        for name in ("max_iter", "memory", "period"):
            check_int(getattr(self, name), name, 1, MAX_ITER, strict=True)
        check_n_jobs(self.n_jobs, "n_jobs")
        check_verbose(self.verbose)
        check_bool(self.warm_start, "warm_start")

    # ------------------------------------------------------------ training
    def objective(self, X, Y, w=None) -> float:
        """J(w) = ½‖w‖² + (C/n) Σ_i −log π_w(y_i|x_i) on (X, Y) (default w: ``w_``; a given w
        must hold the task's ``size_joint_feature`` finite weights, InvalidInputError naming
        w otherwise)."""
        if w is None:
            self._check_fitted()
            w = self.w_
        d = self.model.size_joint_feature
        if d is None:
            raise InvalidInputError("w: the task is not initialized (size_joint_feature is None);"
                                    " fit first")
        w = check_vector(w, "w", int(d), length_of="the task's size_joint_feature")
        batch, n = self._checked_batch(X, Y)
        lp = self.model.batch_log_prob(batch, w, n_jobs=self.n_jobs)
        return float(0.5 * w @ w - self.C / n * lp.sum())

    def _checked_batch(self, X, Y):
        X, Y = _as_examples(X), _as_examples(Y)
        n, n_y = _n_examples(X, "X"), _n_examples(Y, "Y")
        if n != n_y:
            raise InvalidInputError(f"X and Y have different lengths: len(X)={n}, len(Y)={n_y}")
        if n == 0:
            raise InvalidInputError("empty training set: X and Y have no examples")
        X = self._check_feature_matrix(X, fitting=False)
        self.model.check_input(X, Y)
        return self.model.make_batch(X, Y), n

    def fit(self, X, Y, initialize: bool = True) -> "GibbsPolicy":
        """Minimise J(w) = ½‖w‖² + (C/n) Σ_i −log π_w(y_i|x_i) by L-BFGS; returns self."""
        from scipy.optimize import minimize
        self._check_params()
        if Y is None:
            raise InvalidInputError("GibbsPolicy requires y to be passed, but the target y is None")
        X, Y = _as_examples(X), _as_examples(Y)
        n, n_y = _n_examples(X, "X"), _n_examples(Y, "Y")
        if n != n_y:
            raise InvalidInputError(f"X and Y have different lengths: len(X)={n}, len(Y)={n_y}")
        if n == 0:
            raise InvalidInputError("empty training set: X and Y have no examples")
        X = self._check_feature_matrix(X, fitting=True)
        if hasattr(X, "tocsr"):
            raise InvalidInputError("X is a scipy sparse matrix: fit needs a sequence of "
                                    "examples (a dense array or a list); predict accepts it")
        model = self.model
        previous = getattr(self, "w_", None) if self.warm_start else None
        if initialize:
            model.initialize(X, Y)
        model.check_input(X, Y)
        model.check_probabilistic(("log_prob_grad",))
        d = int(model.size_joint_feature)
        m = int(self.memory)
        workspace = (2 * m + 5) * d + 11 * m * m + 8 * m
        if workspace > MAX_LBFGS_WORKSPACE and 8 * workspace > _available_memory():
            raise InvalidInputError(f"memory={m}: L-BFGS would keep (2·memory + 5)·d + "
                                    f"11·memory² + 8·memory = {workspace:,} float64 numbers "
                                    f"for d={d:,} weights, more than 2 GiB and more than the "
                                    "memory available; use a smaller memory")
        batch = model.make_batch(X, Y)
        c = float(self.C) / n
        ones = np.ones(n)
        w0 = np.zeros(d)
        if previous is not None and previous.shape == (d,):
            w0 = previous.astype(np.float64, copy=True)
        history, start, evals = [], time.perf_counter(), [0]
        first, stopped = {}, []

        def fun(w):
            lp, g = model.batch_log_prob_grad(batch, w, ones, n_jobs=self.n_jobs)
            evals[0] += 1
            f = 0.5 * float(w @ w) - c * float(lp.sum())
            grad = w - c * np.asarray(g, dtype=np.float64)
            if not first:
                first["f"] = f
            fun.last = (f, grad)
            return f, grad

        def callback(wk):
            f, grad = fun.last
            row = {"iteration": len(history) + 1, "time": time.perf_counter() - start,
                   "objective": f, "grad_max": float(np.max(np.abs(grad))) if d else 0.0}
            history.append(row)
            if self.verbose:
                logger.info("GibbsPolicy iter %4d  %8.2fs  J=%.10g  max|grad|=%.3g",
                            row["iteration"], row["time"], f, row["grad_max"])
            tol, k = float(self.tol), int(self.period)
            if np.linalg.norm(grad) <= tol * max(1.0, float(np.linalg.norm(wk))):
                stopped.append("gradient")
            elif len(history) > k and history[-k - 1]["objective"] - f <= tol * abs(f):
                stopped.append("objective")
            if stopped:
                raise StopIteration

        if self.verbose and not logger.handlers and not logging.getLogger().handlers:
            logging.basicConfig(level=logging.INFO, format="%(message)s")
        with limit_threads(self.n_jobs):
            res = minimize(fun, w0, jac=True, method="L-BFGS-B", callback=callback,
                           options={"maxiter": int(self.max_iter), "gtol": 0.0, "ftol": 0.0,
                                    "maxcor": int(self.memory), "maxls": 50})
        self.w_ = np.asarray(res.x, dtype=np.float64)
        self.objective_ = self.primal_objective_ = float(res.fun)
        self.primal_at_zero_ = first.get("f") if previous is None else None
        self.dual_objective_ = self.duality_gap_ = None
        self.n_iter_ = int(res.nit)
        self.n_fun_evals_ = int(evals[0])
        # converged: one of the two tests held, or L-BFGS could not lower J any further
        # (a line search failing at machine precision, ABNORMAL_TERMINATION)
        self.converged_ = bool(stopped) or int(res.nit) < int(self.max_iter)
        self.stop_reason_ = stopped[0] if stopped else str(res.message)
        self.interrupted_ = False
        self.history_ = history
        classes = getattr(model, "classes_", None)
        if classes is not None:
            self.classes_ = classes
        return self

    # ------------------------------------------------------------ the policy
    def sample(self, X, n: int = 1, random_state=None, temperature: float = 1.0) -> list:
        """n structures per example drawn from the Gibbs policy at temperature T,
        π(y|x) ∝ exp(w·Ψ(x, y) / T), as the task's labels (what ``predict`` returns: the
        user's class labels for Multiclass); [list of n draws] per example, at most
        MAX_DRAWS draws in all; a seed (``random_state``) repeats the draws."""
        self._check_fitted()
        n = check_n_samples(n, "n")
        random_state = check_seed(random_state)
        X = _as_examples(X)
        check_draws(n, _n_examples(X, "X"), "n")
        return StructuredSVM.sample(self, X, n, random_state, temperature)

    def expected_loss(self, X, Y, n_samples: int = 1000, random_state=None,
                      temperature: float = 1.0):
        """(means, stderrs): E_{y'~π}[Δ(y_i, y')] per example under the policy at temperature
        T (π ∝ exp(w·Ψ/T)); exact (stderr 0) where the task's loss decomposes over its
        marginals, else a Monte-Carlo mean of ``n_samples`` draws (at most MAX_DRAWS in all)
        with its standard error."""
        self._check_fitted()
        w = scaled_weights(self.w_, temperature)
        n_samples = check_n_samples(n_samples, "n_samples")
        random_state = check_seed(random_state)
        self.model.check_probabilistic(("expected_loss",))
        batch, m = self._policy_batch(X, Y)
        if not m:
            return np.zeros(0), np.zeros(0)
        check_draws(n_samples, m, "n_samples")
        means, errs = self.model.batch_expected_loss(batch, w, n_samples, random_state)
        return np.asarray(means, dtype=np.float64), np.asarray(errs, dtype=np.float64)

    def predict_marginals(self, X, temperature: float = 1.0) -> list:
        """The task's marginals of π(·|x) per example (exact; layout per task: class
        probabilities for Multiclass, tokens x labels for SequenceLabeling, ...)."""
        self._check_fitted()
        w = scaled_weights(self.w_, temperature)
        self.model.check_probabilistic(("marginals",))
        batch, m = self._policy_batch(X)
        if not m:
            return []
        if has_hook(self.model, "batch_marginals"):
            return self.model.batch_marginals(batch, w, n_jobs=self.n_jobs)
        X = self._check_feature_matrix(_as_examples(X), fitting=False)
        return [self.model.marginals(x, w) for x in X]

    def predict_proba(self, X, temperature: float = 1.0) -> np.ndarray:
        """n x n_classes class probabilities (scikit-learn's predict_proba), for tasks whose
        output is one class (Multiclass): exact softmax."""
        self._check_fitted()
        if not hasattr(self.model, "predict_proba"):
            raise NotImplementedError(f"{type(self.model).__name__} has no class probabilities; "
                                      "use predict_marginals")
        w = scaled_weights(self.w_, temperature)
        batch, m = self._policy_batch(X)
        if not m:
            return np.zeros((0, getattr(self.model, "n_classes_", 0) or 0))
        return self.model.predict_proba(batch, w)

    def predict_log_proba(self, X, temperature: float = 1.0) -> np.ndarray:
        """log of ``predict_proba``, computed in log space (no underflow to -inf)."""
        self._check_fitted()
        if not hasattr(self.model, "predict_log_proba"):
            raise NotImplementedError(f"{type(self.model).__name__} has no class probabilities")
        w = scaled_weights(self.w_, temperature)
        batch, m = self._policy_batch(X)
        if not m:
            return np.zeros((0, getattr(self.model, "n_classes_", 0) or 0))
        return self.model.predict_log_proba(batch, w)
