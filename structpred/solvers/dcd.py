"""n-slack structural SVM by dual coordinate descent over per-example working sets.

Problem (SVM-struct's C convention, n examples, margin or slack rescaling):

    min_w ½‖w‖² + (C/n) Σ_i ξ_i   s.t.  w·a_iy >= b_iy - ξ_i,   ξ_i >= 0,

with a_iy = s δΨ_i(y), b_iy = Δ_i(y), s = 1 (margin) or Δ_i(y) (slack). Its dual over the
working sets W_i is

    max_α  Σ_iy α_iy b_iy - ½‖Σ_iy α_iy a_iy‖²   s.t.  α >= 0,  Σ_y α_iy <= C/n for every i,

and w = Σ α_iy a_iy. This is the DCD-SSVM scheme of Chang & Yih (TACL 2013) / the sequential
dual method of Balamurugan et al. (SDM 2011): each outer iteration runs one oracle pass over
all examples at the current w, adds every answer violated by more than ε beyond the example's
slack to its working set, then sweeps the working sets (random order, seeded) solving each
example's block QP exactly with w updated at once; examples whose block is optimal are shrunk
until the next pass. Rows are sparse, stored in one flat pool (int8 or float32 when every
stored value is exactly representable, else float64); the per-example Gram matrices make a block solve
O(nonzeros of the block).

Stopping rule (on a full oracle pass at w): the certified gap primal(w) - dual(α) <= C·ε/2,
or SVM-struct's n-slack rule: no example with Δ_i(ŷ_i) - w·a_iŷ > ξ_i + ε (ξ_i the slack of
its working set at the same w) while the working-set QP is solved to KKT violation <= ε/10
(margin units). The gap is certified: primal from that pass at w, dual from α, w rebuilt
from α.
"""
from __future__ import annotations


import numpy as np
import scipy.sparse as sp

from .base import SolverRun
from .dual_pool import ConstraintPool, auto_max_constraints, check_oracle_order, solve_working_sets
from .objective import hinge, primal_of_hinge
from .oracle import block_bounds
from .options import Choice, Count, Flag, Real, Seed, declare_options, inner_tolerance


__all__ = ["fit_dcd", "ConstraintPool", "auto_max_constraints"]


@declare_options(max_constraints=Count(1, none=True), inner_sweeps=Count(1),
                 inner_tol=Real(0.0, low_open=True, none=True), max_idle=Count(1),
                 storage=Choice("auto", "float32", "float64"), batch_size=Count(0),
                 full_every=Count(0), gap_stop=Real(0.0, 1.0), shrink_after=Count(0),
                 random_state=Seed(), check_oracle=Flag(), early_sweeps=Count(0))
def fit_dcd(model, oracle, *, C, eps, rescaling="margin", max_iter=1000, verbose=0,
            callback=None, w0=None, max_constraints=None, inner_sweeps=4, inner_tol=None,
            max_idle=5, storage="auto", batch_size=32, full_every=5, gap_stop=0.5,
            shrink_after=0, random_state=0, check_oracle=True, warm_state=None, early_sweeps=2):
    """Train the n-slack structural SVM by dual coordinate descent; returns a SolverResult.

    Each outer iteration is one pass over the examples, of one of two kinds:

    * fresh (when the backend serves row calls, ``oracle.rows_available``: the task
      declares ``batch_oracle_rows``, margin rescaling): blocks of ``batch_size``
      consecutive examples in a seeded random order; each block calls the oracle at the
      current w (``run.row_pass``), adds its violated answers and solves those examples'
      dual blocks at once, so the next block sees the updated w (Chang & Yih's DCD-SSVM);
    * full: one oracle pass over all examples at a fixed w (any backend, e.g. Dask). Only
      this pass gives the exact primal, so it alone can stop training: it runs every
      ``full_every`` passes, when a fresh pass added nothing, when a fresh pass's estimated
      gap reached C·ε, and always when no fresh path exists.

    Both are followed by up to ``inner_sweeps`` sweeps over the cached working sets.

    Stopping (checked on a full pass at w, α the current dual point, w = Σ α a): the certified
    gap primal(w) - dual(α) <= ``gap_stop``·C·ε (default C·ε/2, half of what 1-slack's rule
    guarantees: primal(w) is then within C·ε/2 of the optimum, so of any 1-slack solution's
    primal too), or SVM-struct's n-slack rule: no example has
    Δ_i(ŷ_i) - w·a_iŷ > ξ_i + ε (ξ_i the slack of its working set at w) while every block is
    solved to KKT violation <= ``inner_tol``. The first bounds primal(w) - optimum by
    gap_stop·C·ε; the second by about C·ε.

    The common parameters (model, oracle, C, eps, rescaling, max_iter, verbose, callback, w0)
    are every solver's; the options below are this solver's own.

    Parameters
    ----------
    max_constraints : int or None
        Working-set size K per example; a full set evicts its longest-idle α = 0 constraint.
        None: ``auto_max_constraints(n)`` (the K whose Gram matrices fit in 32 MB, within
        [16, 64]: 21 for CoNLL's 8,936 sentences, 64 below ~1,000 examples). Capped so that
        the per-example Gram matrices (n·K² floats) stay under 256 MB.
    inner_sweeps : int
        Most sweeps over the working sets after a pass (shrunk blocks are skipped). On
        CoNLL-2000 (C = 100, 1000) 4 sweeps cost least in all: 10 made the same number of
        passes or one fewer at 2.4x the sweeps, 3 or fewer made 2-12 more passes.
    early_sweeps : int
        Most sweeps (at most ``inner_sweeps``) after each pass that comes before the first
        full pass, while w still
        moves a lot (the first ``full_every`` fresh passes); on CoNLL-2000 2 sweeps there
        saved a fifth (C = 1000) to a third (C = 100) of all block solves at the same number of
        passes.
    inner_tol : float or None
        Block KKT violation (margin units) at which a block counts as solved; ε/10 if None.
    max_idle : int
        Drop a constraint whose α stayed 0 for more than this many passes. On CoNLL-2000
        2 left the passes as they were (12 at C = 1000, 6 at C = 100) with 22% fewer row
        entries read by the block solves at C = 1000, but on the same corpus repeated 4 times
        it made 8 passes instead of 6 (CPU 1.3x, C = 1000), and 1 made 14 passes at C = 1000:
        5 is kept.
    storage : {"auto", "float32", "float64"}
        Storage of the constraint rows' values; "auto" keeps int8 while every stored value
        is an integer in [-128, 127] (a sequence task's count differences), then float32
        while every one is exactly a float32, else float64: each converts to the same
        float64 in the kernels, so no result changes.
    batch_size : int
        Examples per oracle call (block) in fresh passes; 0 turns fresh passes off.
    full_every : int
        A full (certifying) pass at least every this many passes.
    shrink_after : int
        Fresh passes skip an example whose last ``shrink_after`` oracle answers were not
        violated by more than ε beyond its slack (full passes visit every example); 0 (the
        default) never skips: on CoNLL-2000 skipping made more passes, not fewer.
    gap_stop : float
        Stop when the certified gap is <= gap_stop·C·ε (0 disables: SVM-struct's rule only).
    random_state : int
        Seed of the visiting order: same seed and data give a bit-identical w, for any n_jobs.

    check_oracle : bool
        Warn (``OracleWarning``) when an oracle answer is less violated than a constraint
        already in the example's working set: the oracle is then not exact.
    warm_state : dict or None
        ``result.extra["warm_state"]`` of an earlier fit on the same training set (any C):
        its working sets are reused, α scaled by min(1, C/C_old) so it stays feasible.

    ``w0`` is used for the first oracle pass only (the dual starts at α = 0, w = 0), unless
    a ``warm_state`` is given (then w = Σ α a of that state).
    """
    run = SolverRun("n-slack (dcd)", model, oracle, C=C, eps=eps, rescaling=rescaling,
                    max_iter=max_iter, verbose=verbose, callback=callback, unit="passes")
    n, d, timers = run.n, run.d, run.timers
    cap = C / n
    tol = inner_tolerance(inner_tol, run.eps)
    rng = np.random.default_rng(random_state)
    check_oracle = check_oracle and not run.approximate
    pool = ConstraintPool(n, d, max_constraints, storage)
    resumed = (warm_state is not None and warm_state.get("kind") == "n-slack"
               and warm_state["n"] == n and warm_state["d"] == d)
    if resumed:
        pool = warm_state["pool"]  # consumed: the new fit's state replaces it
        ratio = min(1.0, C / warm_state["C"])
        pool.alpha *= ratio
        pool.alpha_sum *= ratio
    # blocks are not scaled by n_jobs: the same w for any n_jobs and backend
    fresh_ok = bool(batch_size) and oracle.rows_available
    fresh_ranges = block_bounds(n, batch_size) if fresh_ok else []
    w = np.zeros(d) if w0 is None else np.array(w0, dtype=np.float64)
    start_w0 = w0 is not None and not resumed
    dual = 0.0
    if resumed:
        w = pool.weights()
        dual = pool.dual(w)
    primal = np.inf
    sweeps_total = 0
    solved = False
    full_next = start_w0 or not fresh_ok
    since_full = 0
    certified_once = False      # a full pass has run: ``inner_sweeps`` from then on
    active = np.zeros(n, dtype=np.uint8)
    quiet = np.zeros(n, dtype=np.int64)     # consecutive oracle answers within ε of ξ_i
    last_hinge = np.zeros(n)                # each example's hinge at its last oracle call
    with run.interruptible():
        for it in run.iterations(f"n-slack (dcd) did not reach eps={eps} in "
                                 f"max_iter={max_iter} passes"):
            row = dict(n_constraints=pool.n_constraints, cached=False)
            if full_next:
                since_full = 0
                certified_once = True
                D, L = run.full_pass(w)
                with timers("psi"):
                    D = sp.csr_matrix(D)
                    h = hinge(L, run.last_margins, rescaling)    # = D @ w
                    xi = pool.slacks(w)
                primal = primal_of_hinge(w, h, C)
                add = np.flatnonzero(h > xi + eps)
                stop = (add.size == 0 and solved) or primal - dual <= gap_stop * C * eps
                if not stop:
                    # (a stopping pass returns this w itself: keeping a copy too would only
                    # add its transients to the run's peak memory)
                    run.keep_best(primal, w, dual)
                if check_oracle:
                    check_oracle_order(h, xi, C, it)
                quiet += 1
                quiet[add] = 0
                last_hinge[:] = np.maximum(h, 0.0)
                # time: when the primal at w was measured (the sweeps below come after)
                row.update(time=timers.elapsed(), primal=primal, dual=dual,
                           gap=primal - dual, violation=float(np.max(h - xi, initial=0.0)),
                           oracle_calls=run.oracle_calls, added=int(add.size), kind="full")
                if stop:
                    run.converged = True
                    run.record(**row)
                    break
                with timers("cache"):
                    if add.size:
                        at = np.zeros(d) if start_w0 else w
                        if rescaling == "slack":
                            pool.add(add, sp.diags(L[add]) @ D[add], L[add], at)
                        else:
                            pool.add(add, D, L, at, src=add)
                        del at   # (not to keep an old w alive once w is rebuilt)
                    if start_w0:
                        start_w0 = False
                        w = pool.weights()
                D = None   # the pass's δΨ rows are in the pool now
                n_added = int(add.size)
            else:
                since_full += 1
                n_added = 0
                visited = 0
                for k in rng.permutation(len(fresh_ranges)):
                    a, b = fresh_ranges[k]
                    if shrink_after and np.all(quiet[a:b] >= shrink_after):
                        continue
                    visited += b - a
                    idx = np.arange(a, b, dtype=np.int64)
                    D, L = run.row_pass(w, idx)
                    with timers("psi"):
                        h = hinge(L, run.last_margins, "margin")     # = D @ w
                        xi = pool.slacks(w, idx)
                        last_hinge[idx] = np.maximum(h, 0.0)
                        sel = np.flatnonzero(h > xi + eps)
                        if check_oracle:
                            check_oracle_order(h, xi, C, it, idx)
                        quiet[idx] += 1
                        quiet[idx[sel]] = 0
                    with timers("cache"):
                        if sel.size:
                            pool.add(idx[sel], D, L, w, src=sel)
                            n_added += int(sel.size)
                    with timers("qp"):
                        active[idx] = 1
                        pool.sweep(idx, active, cap, w, tol)
                # not certified: each example's hinge is from its own block's w
                row.update(oracle_calls=run.oracle_calls, added=n_added, kind="fresh",
                           visited=visited, primal_estimate=primal_of_hinge(w, last_hinge, C))
            with timers("cache"):
                pool.prune(max_idle)
            with timers("qp"):
                active[:] = 0
                active[pool.m > 0] = 1
                sweeps, solved = solve_working_sets(pool, active, cap, w, tol,
                                                    inner_sweeps if certified_once else
                                                    min(early_sweeps, inner_sweeps), rng)
                sweeps_total += sweeps
                dual = pool.dual(w)     # w = Σ α a up to the sweeps' rounding
            if row["kind"] == "fresh":
                est_gap = row["primal_estimate"] - dual
                row.update(time=timers.elapsed(), primal=np.nan, dual=dual, gap=np.nan,
                           gap_estimate=est_gap)
                full_next = (n_added == 0 or est_gap <= gap_stop * C * eps
                             or since_full >= full_every)
            else:
                full_next = not fresh_ok
            if full_next:
                with timers("qp"):
                    # w = Σ α a exactly before a certifying pass (rebuilt in place: one d-vector)
                    w = pool.weights(out=w)
                    dual = pool.dual(w)
                with timers("cache"):
                    pool.tidy()    # no dead rows resident under the pass's δΨ (the peak)
            row.update(dual_after=dual, sweeps=sweeps_total)
            run.record(**row)
            if run.callback_stops(w):
                break
    if not (run.converged or run.interrupted):
        w = pool.weights(out=w)     # stopped after a fresh pass: w = Σ α a exactly
        dual = pool.dual(w)
    primal = run.final_primal(w, primal)
    return run.result(w, primal, dual, n_constraints=pool.n_constraints,
                      extra={"sweeps": sweeps_total, "pool_bytes": pool.nbytes(),
                             "storage": str(pool.data.dtype),
                             "warm_state": {"kind": "n-slack", "n": n, "d": d, "C": C,
                                            "pool": pool}})
