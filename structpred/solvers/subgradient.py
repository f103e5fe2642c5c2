"""Stochastic subgradient descent on the structural SVM primal (Pegasos step, projection and
weighted averaging; Ratliff, Bagnell & Zinkevich 2007; Shalev-Shwartz et al. 2011;
Lacoste-Julien, Schmidt & Bach 2012 for the averaging).

Objective, our units: P(w) = ½‖w‖² + (C/n) Σ_i H_i(w), H_i(w) = max_y Δ_i(y) - s_i w·δΨ_i(y)
(= C times the λ/2‖w‖² + (1/n)Σ H_i form with λ = 1/C). A step on a block B of examples at
step t uses the Pegasos rate η_t = C/t (1/(λt) in the λ form):
    w ← Π_R[(1 - 1/t) w + (C/t) (1/|B|) Σ_{i∈B, H_i>0} s_i δΨ_i(ŷ_i)],
Π_R the projection on the ball ‖w‖ <= R = sqrt(2 P(w_0)) which holds the optimum
(½‖w*‖² <= P(w*) <= P(w_0)). Averaging: w̄_t = Σ_{s≤t} s w_s / T_t, T_t = t(t+1)/2.
The iterate is kept as a·v (scaling is O(1)) and the average lazily, so a step costs only the
nonzeros of its δΨ rows.

Stopping: every ``check_every`` passes the primal at the returned point is computed with one
full oracle pass, and training stops when it decreased by less than C·eps/10 over the last
check (``tol`` overrides), or at ``max_iter`` passes. It reports "converged" only when a dual
lower bound certifies the stop: the steps' own answers define a dual point (each step puts
mass C/(τ|B|) on the answer ŷ_i of every violated example of its block, so
w(α) = S/τ with S = Σ_steps (C/|B|) Σ s_i δΨ_i(ŷ_i), and Σ α Δ = ℓ/τ likewise), scaled by
the largest c <= 1 that keeps every example's mass <= C/n and then by the best c for the
dual D(cα) = c ℓ/τ - c²‖S‖²/(2τ²) <= optimum. Stopped with P - D > C·eps, the run warns
and says not converged (the returned w is the same).
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .base import SolverRun
from .objective import hinge, primal as primal_value, scale, sparse_rows_sum
from .options import Count, Flag, Real, Seed, declare_options

__all__ = ["fit_subgradient"]


class _LazyAveragedIterate:
    """w = a·v with sparse updates of v, and w̄ = (S0 + A·v - U) / T where, since the last
    materialisation at step t0, A = Σ_{s>t0} s a_s and U = Σ_r A_{r-1} Δv_r."""

    def __init__(self, w):
        self.v = np.array(w, dtype=np.float64)
        self.vv = float(self.v @ self.v)     # ‖v‖², kept up to date by the sparse updates
        self.a = 1.0
        self.t = 0
        self.S0 = np.zeros_like(self.v)     # Σ_{s<=t0} s w_s
        self.A = 0.0
        self.U = np.zeros_like(self.v)

    def w(self):
        return self.a * self.v

    def step(self, t, shrink, idx, val, radius):
        """w_t = Π_R(shrink·w_{t-1} + Σ val e_idx), then accumulate t a_t for the average."""
        self.t = t
        if shrink == 0.0:                    # t = 1 (before any accumulation): w_1 = the step
            self.v[:] = 0.0
            self.vv = 0.0
            self.a = 1.0
        else:
            self.a *= shrink
        if idx.size:
            dv = val / self.a
            old = self.v[idx]
            new = old + dv
            self.v[idx] = new
            self.vv += float(new @ new - old @ old)
            self.U[idx] += self.A * dv
        norm = self.a * math.sqrt(max(self.vv, 0.0))
        if norm > radius > 0:
            self.a *= radius / norm
        self.A += t * self.a
        if not 1e-3 < self.a < 1e3:
            # fold the scale in before v grows so large that the running ‖v‖² loses its
            # precision (a large C makes the first steps and projections extreme)
            self.materialise()

    def average(self):
        T = 0.5 * self.t * (self.t + 1.0)
        if T == 0:
            return self.w()
        return (self.S0 + self.A * self.v - self.U) / T

    def materialise(self):
        """Fold the accumulators into dense vectors (keeps the numbers in range)."""
        self.S0 = self.S0 + self.A * self.v - self.U
        self.v = self.a * self.v
        self.vv = float(self.v @ self.v)
        self.a = 1.0
        self.A = 0.0
        self.U[:] = 0.0


@declare_options(block_size=Count(1), averaging=Flag(), check_every=Count(1),
                 tol=Real(0.0, none=True), random_state=Seed())
def fit_subgradient(model, oracle, *, C, eps, rescaling="margin", max_iter=1000, verbose=0,
                    callback=None, w0=None, warm_state=None, block_size=1, averaging=True,
                    check_every=1, tol=None, random_state=0):
    """Train with stochastic subgradient descent; returns a SolverResult (dual = nan).

    ``max_iter`` counts passes (n/block_size steps each); ``averaging`` returns the weighted
    average rather than the last iterate; ``check_every``, ``tol``: the stopping rule above;
    ``random_state`` seeds the order of the blocks. A warm start (``warm_state`` of a
    previous subgradient fit, or ``w0``) continues the step-size schedule where it would be
    after the previous passes (one pass for a bare ``w0``)."""
    run = SolverRun("subgradient", model, oracle, C=C, eps=eps, rescaling=rescaling,
                    max_iter=max_iter, verbose=verbose, callback=callback)
    d, timers = run.d, run.timers
    tol = C * eps / 10.0 if tol is None else float(tol)
    ranges = oracle.blocks(block_size)
    n_blocks = len(ranges)
    t = 0
    if warm_state and warm_state.get("kind") == "subgradient" and warm_state["d"] == d:
        w_start = np.array(warm_state["w"], dtype=np.float64)
        t = int(warm_state["t"])
    elif w0 is not None:
        w_start = np.array(w0, dtype=np.float64)
        t = n_blocks if np.any(w_start) else 0
    else:
        w_start = np.zeros(d)
    rng = np.random.default_rng(random_state)
    # the radius from the starting point's primal
    D, L = run.full_pass(w_start)
    primal = primal_value(w_start, D, L, C, rescaling)
    radius = math.sqrt(2.0 * primal) if primal > 0 else 0.0
    state = _LazyAveragedIterate(w_start)
    state.t = t
    state.S0 = 0.5 * t * (t + 1.0) * w_start      # as if the past average were w_start
    run.keep_best(primal, w_start, np.nan)
    history_primal = [primal]
    w_eval = w_start
    n = run.n
    S = np.zeros(d)              # Σ_steps (C/|B|) Σ_{violated i} s_i δΨ_i: w(α) = S/τ
    ell = 0.0                    # Σ_steps (C/|B|) Σ_{violated i} Δ_i: Σ α Δ = ell/τ
    mass = np.zeros(n)           # Σ_steps 1/|B| per example: α mass (C/τ)·mass_i
    tau = 0
    dual_bound = -np.inf
    with run.interruptible():
        for epoch in run.iterations(f"subgradient: primal still decreasing by more than {tol:g} "
                                    f"per check after max_iter={max_iter} passes"):
            for k in rng.permutation(n_blocks):
                with timers("update"):
                    wk = state.w()
                D, L = run.block_pass(wk, k)
                with timers("update"):
                    t += 1
                    h = hinge(L, D @ wk, rescaling)
                    coef = np.where(h > 0, scale(L, rescaling), 0.0) * (C / t / D.shape[0])
                    idx, val = sparse_rows_sum(D, coef)
                    state.step(t, 1.0 - 1.0 / t, idx, val, radius)
                    tau += 1                      # the dual point of the steps' answers
                    S[idx] += val * t
                    a, b = ranges[k]
                    ell += (C / D.shape[0]) * float(L[h > 0].sum())
                    mass[a:b] += 1.0 / D.shape[0]
            if epoch % max(1, int(check_every)) and epoch != max_iter:
                continue
            with timers("update"):
                w_eval = state.average() if averaging else state.w()
                state.materialise()
            D, L = run.full_pass(w_eval)
            with timers("psi"):
                primal = primal_value(w_eval, D, L, C, rescaling)
                dual_bound = max(dual_bound, _dual_bound(S, ell, mass, tau, n, w_eval, D, L,
                                                         C, rescaling))
            run.keep_best(primal, w_eval, np.nan)
            run.record(primal=primal, dual=np.nan, gap=np.nan, n_constraints=n_blocks, steps=t,
                       dual_bound=dual_bound)
            decrease = history_primal[-1] - primal
            history_primal.append(primal)
            if 0 <= decrease < tol:
                bound_gap = min(primal, run.best[0]) - dual_bound
                if bound_gap <= C * eps:
                    run.converged = True
                else:
                    warnings.warn(f"subgradient stopped: the primal decreased by less than "
                                  f"{tol:g} per check, but the duality gap {bound_gap:.6g} is "
                                  f"above C*eps={C * eps:g}: not converged", RuntimeWarning,
                                  stacklevel=3)
                break
            if run.callback_stops(w_eval):
                break
    return run.result(w_eval, primal, np.nan, n_constraints=n_blocks, return_best=True,
                      extra={"warm_state": {"kind": "subgradient", "d": d, "t": t,
                                            "w": state.w().copy()}, "block_steps": t,
                             "dual_bound": dual_bound})


def _dual_bound(S, ell, mass, tau, n, w, D, L, C, rescaling) -> float:
    """A lower bound of the optimum: the steps' dual point scaled into feasibility (the best
    c, see the module docstring), then one Frank-Wolfe line search towards the corner of the
    full pass (D, L) at w (mass C/n on each violated example's answer): weak duality."""
    if tau == 0:
        w_a, ell_a = np.zeros_like(S), 0.0
    else:
        peak = float(mass.max(initial=0.0))
        c_max = 1.0 if peak <= 0 else min(1.0, tau / (n * peak))
        A = ell / tau
        B = float(S @ S) / (tau * tau)
        c = c_max if B <= 0 else min(max(A / B, 0.0), c_max)
        w_a, ell_a = (c / tau) * S, c * A
    h = hinge(L, D @ w, rescaling)
    coef = np.where(h > 0, scale(L, rescaling), 0.0) * (C / n)
    w_s = np.asarray(D.T @ coef).ravel()
    ell_s = (C / n) * float(L[h > 0].sum())
    diff = w_s - w_a
    dd = float(diff @ diff)
    num = (ell_s - ell_a) - float(w_a @ diff)
    gamma = (1.0 if num > 0 else 0.0) if dd <= 0 else min(max(num / dd, 0.0), 1.0)
    w_g = w_a + gamma * diff
    return ell_a + gamma * (ell_s - ell_a) - 0.5 * float(w_g @ w_g)
