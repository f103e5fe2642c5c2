"""Regularisation path: one StructuredSVM fit per C, each warm-started from the previous one.

For C_1 < C_2 < ... each fit starts from the previous solver state: BCFW's dual variables
(the same α with w_k, ℓ_k rescaled by C_j / C_{j-1}), the 1-slack working set
(its constraints (a_k, b_k) do not depend on C; α is scaled into Σα <= C_j and the dual
QP re-solved) where the 1-slack solver accepts ``warm_state``, and w otherwise. Every fit
still stops on its own criterion, so each point of the path is a solution for its C with the
same guarantee as an individual fit, usually after far fewer iterations.

    path = regularization_path(StructuredSVM(model, eps=0.01), X, Y, Cs=[0.1, 1, 10, 100])
    path.primal_, path.coefs_, path.n_iter_, path.estimators_[j].predict(X_test)
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import numpy as np

__all__ = ["regularization_path", "RegularizationPath"]


@dataclass
class RegularizationPath:
    """Results of ``regularization_path``, one entry per C (in increasing C)."""
    Cs: np.ndarray
    coefs_: np.ndarray                       # (len(Cs), d)
    primal_: np.ndarray
    dual_: np.ndarray
    n_iter_: np.ndarray
    n_oracle_calls_: np.ndarray
    fit_seconds_: np.ndarray
    converged_: np.ndarray
    estimators_: list = field(default_factory=list)

    def records(self) -> list[dict]:
        """One JSON-able dict per C."""
        return [dict(C=float(c), primal=float(p), dual=float(d), n_iter=int(i),
                     oracle_calls=int(o), seconds=float(s), converged=bool(v))
                for c, p, d, i, o, s, v in zip(self.Cs, self.primal_, self.dual_, self.n_iter_,
                                               self.n_oracle_calls_, self.fit_seconds_,
                                               self.converged_)]


def regularization_path(estimator, X, Y, Cs, *, warm_start: bool = True,
                        keep_estimators: bool = True) -> RegularizationPath:
    """Fit ``estimator`` (a StructuredSVM, left unchanged) for every C in ``Cs``.

    Parameters
    ----------
    estimator : StructuredSVM
        Its parameters (algorithm, eps, solver_options, ...) are used for every fit; C is set
        from ``Cs``.
    X, Y : training set
    Cs : sequence of positive floats
        Sorted increasingly (the warm start goes from strong to weak regularisation).
    warm_start : bool
        False refits each C from scratch (a reference for the warm-started path).
    keep_estimators : bool
        Keep one fitted estimator per C (with its w) in ``estimators_``.
    """
    Cs = np.sort(np.asarray(Cs, dtype=np.float64).ravel())
    if Cs.size == 0:
        raise ValueError("Cs is empty: give at least one value of C")
    if not np.all(np.isfinite(Cs)) or np.any(Cs <= 0):
        raise ValueError(f"Cs must be positive finite numbers, got {Cs.tolist()}")
    svm = copy.copy(estimator)
    svm.model = copy.deepcopy(estimator.model)
    svm.keep_solver_state = True
    for attr in ("w_", "warm_state_"):
        if attr in svm.__dict__:
            del svm.__dict__[attr]
    out = {k: [] for k in ("coefs", "primal", "dual", "n_iter", "calls", "seconds", "converged")}
    estimators = []
    for j, C in enumerate(Cs):
        svm.set_params(C=float(C))
        t0 = time.perf_counter()
        svm.fit(X, Y, warm_start=warm_start and j > 0)
        out["seconds"].append(time.perf_counter() - t0)
        out["coefs"].append(svm.w_.copy())
        out["primal"].append(svm.primal_objective_)
        out["dual"].append(svm.dual_objective_)
        out["n_iter"].append(svm.n_iter_)
        out["calls"].append(svm.n_oracle_calls_)
        out["converged"].append(svm.converged_)
        if keep_estimators:
            snapshot = copy.copy(svm)
            snapshot.__dict__.pop("warm_state_", None)
            estimators.append(snapshot)
    return RegularizationPath(Cs=Cs, coefs_=np.vstack(out["coefs"]),
                              primal_=np.array(out["primal"], dtype=np.float64),
                              dual_=np.array(out["dual"], dtype=np.float64),
                              n_iter_=np.array(out["n_iter"]),
                              n_oracle_calls_=np.array(out["calls"]),
                              fit_seconds_=np.array(out["seconds"]),
                              converged_=np.array(out["converged"]), estimators_=estimators)
