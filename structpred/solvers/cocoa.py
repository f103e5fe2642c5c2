"""The n-slack structural SVM out of one machine: CoCoA+ over per-partition DCD.

Same problem and dual as ``dcd`` (SVM-struct's C convention)::

    min_w ½‖w‖² + (C/n) Σ_i ξ_i      <->     max_α Σ α_iy b_iy - ½‖Σ α_iy a_iy‖²,
                                              α >= 0, Σ_y α_iy <= C/n,  w = Σ α a.

The examples are cut into K partitions (one per Dask worker); partition k keeps its examples
and its working sets where they live (CoCoA, Jaggi et al. NIPS 2014; CoCoA+, Ma et al. ICML
2015; for structural SVMs Lee, Chang et al. 2015). A round:

1. the driver sends w (= Σ_k w_k, w_k = Σ_{i in k} α_i a_i) to every partition;
2. each partition runs its oracle pass at w (the primal's hinge terms) and solves its CoCoA+
   local subproblem with σ' = K, max_δ Σ δ b - w·Aδ - (σ'/2)‖Aδ‖², by the same exact block
   sweeps as ``dcd`` (``dual_pool.solve_working_sets``: with α' = σ'α and cap σ'·C/n the block
   QP is the usual one at w_loc = w + σ'·AΔα) and, when the task serves row calls, fresh
   passes of row blocks at w_loc whose violated answers join the working sets, as do the
   pass's own violated answers (unless ``add_from_pass`` says otherwise). With row calls a
   round is then what ``dcd`` does between two passes, on the partition: the pass's answers,
   one sweep (``first_sweeps``), the fresh pass with its block solves, up to
   ``inner_sweeps`` sweeps; the first round (at w = 0) makes no pass at w and three fresh
   passes (``skip_zero_pass``, ``first_fresh_passes``);
3. it sends back w_k (O(d)), its hinge sum and Σ α b; the driver adds (CoCoA+'s adding:
   w ← w + Σ_k Δw_k, computed as Σ_k w_k in partition order so no rounding drifts); on Dask
   each worker also sums them, the same floats, and starts the next round's pass without
   waiting for the driver (``DaskOracle.round_step``).

The gap of each round is certified (but the first one's when it skips the pass at w = 0,
``skip_zero_pass``): the primal at w from the partitions' hinge sums, the dual
at the α that give that w. Stop when it is <= gap_stop·C·ε (C·ε by default), or by SVM-struct's n-slack rule
(as ``dcd``): no example violated by more than ε beyond its slack at w and every working-set
block within ``inner_tol`` of its KKT conditions at w (the gap is then about C·ε at most). σ' = K makes the sum of the local
subproblems a lower bound of the dual's change, so the dual never decreases. w depends on the
seed and the number of partitions only: a Dask cluster with K workers and the in-process
emulation with ``n_partitions=K`` (any other backend) give the same floats.

With one partition on a cluster there is nothing to combine: ``dcd`` itself runs to its end
on the worker holding the data (``one_partition``) and only its result comes back.
"""
from __future__ import annotations

import inspect
import time
import warnings

import numpy as np

from ..errors import ClusterError
from .base import SolverRun, add_share, sum_shares  # add_share: re-exported (beside KeptVector)
from .dual_pool import ConstraintPool, auto_max_constraints, solve_working_sets
from .objective import hinge
from .options import Choice, Count, Flag, Real, Seed, declare_options, inner_tolerance

__all__ = ["fit_cocoa", "Partition", "new_partition", "partition_step", "add_share"]


class Partition:
    """One partition's dual state: its working sets (``ConstraintPool``), its share
    w_k = Σ_{i in k} α_i a_i of w, and its own seeded random stream."""

    def __init__(self, k, n_k, d, cap, sigma, eps, tol, inner_sweeps, max_idle,
                 max_constraints, storage, seed, fresh_passes, batch_size, rescaling,
                 add_from_pass=True, first_sweeps=None):
        self.pool = ConstraintPool(n_k, d, max_constraints, storage)
        self.rng = np.random.default_rng([int(seed), int(k)])
        self.wk = np.zeros(d)
        # the step's local point, one buffer from round to round: its pages stay resident (a
        # fresh d-vector per round cost each of CoNLL x 4's Dask workers 0.03-0.07 s of faults)
        self.w_loc = np.empty(d)
        self.cap, self.sigma, self.eps, self.tol = cap, sigma, eps, tol
        self.inner_sweeps, self.max_idle = inner_sweeps, max_idle
        self.fresh_passes, self.batch_size, self.rescaling = fresh_passes, batch_size, rescaling
        self.add_from_pass = add_from_pass
        self.first_sweeps = inner_sweeps if first_sweeps is None else first_sweeps
        self.active = np.zeros(n_k, dtype=np.uint8)
        self.pending = None     # this round's pass (D, L, margins) at w, until the step


def new_partition(k, n_k, *args):
    """Partition k's initial state (α = 0); run where its data lives."""
    return Partition(k, n_k, *args)


def partition_step(part: Partition, w, D, L, margins, rows, fresh_passes=None):
    """One CoCoA+ local step of ``part`` at the shared w, given its oracle pass (D, L) at w and
    ``margins`` = D @ w (all three None: no pass this round, the hinge sum is then NaN). Adds the answers violated by more than ε beyond their example's slack,
    solves the σ'-scaled local subproblem (sweeps; with ``rows``, the partition's row oracle,
    ``fresh_passes`` (None: the partition's own count) passes of row blocks at the local
    point w_loc in between), and returns
    {"wk": new w_k, "hinge": Σ max(0, hinge_i) at w, "lin": Σ α b, "added", "sweeps",
    "n_constraints", "kkt_at_w", "cpu_phases": this thread's CPU seconds per phase}."""
    pool, sigma, eps, tol = part.pool, part.sigma, part.eps, part.tol
    clock = time.thread_time               # CPU of this thread, per phase ("cpu_phases")
    phases = {"pass_answers": 0.0, "first_sweeps": 0.0, "row_calls": 0.0, "row_updates": 0.0,
              "sweeps": 0.0, "w_k": 0.0}
    c0 = clock()
    certified = D is not None
    if certified:
        h = hinge(L, margins, part.rescaling)
        xi = pool.slacks(w)
        hinge_sum = float(np.maximum(h, 0.0).sum())
        add = np.flatnonzero(h > xi + eps)
    else:           # no pass at w this round (the first one, at w = 0): nothing certified
        hinge_sum = np.nan
        add = np.zeros(0, dtype=np.int64)
    w_loc = part.w_loc
    np.copyto(w_loc, w)             # w, until evictions take their α out of it (below)
    n_fresh = part.fresh_passes if fresh_passes is None else int(fresh_passes)
    fresh = rows is not None and part.batch_size and n_fresh
    use_pass = part.add_from_pass is True or (part.add_from_pass == "auto" and not fresh)
    if add.size and use_pass:
        # w_loc: evictions take their α out
        if part.rescaling == "slack":
            pool.add(add, D[add].multiply(L[add][:, None]).tocsr(), L[add], w_loc)
        else:
            pool.add(add, D, L, w_loc, src=add)   # rows of D picked in place, as dcd does
    pool.prune(part.max_idle)     # (drops α = 0 constraints only: w_k(α) unchanged)
    # the local point w_loc = w + σ'·(w_k(α) - w_k), w_k = Σ α a at the last step's end:
    # since then only evictions changed α, and they took their α·a out of w_loc (= w before
    # them), so w_k(α) - w_k = w_loc - w; in place, no rebuild over the working sets
    # (without evictions w_loc is w, bit for bit)
    np.subtract(w_loc, w, out=w_loc)
    np.multiply(w_loc, sigma, out=w_loc)
    np.add(w_loc, w, out=w_loc)
    pool.alpha *= sigma
    pool.alpha_sum *= sigma
    cap = sigma * part.cap
    part.active[:] = 0
    part.active[pool.m > 0] = 1
    c1 = clock()
    phases["pass_answers"] += c1 - c0
    sweeps, solved = solve_working_sets(pool, part.active, cap, w_loc, tol,
                                        part.first_sweeps if fresh else part.inner_sweeps,
                                        part.rng)
    phases["first_sweeps"] += clock() - c1
    # SVM-struct's rule at w: nothing violated by more than ε beyond its slack, and the first
    # (unshrunk) sweep found every block within tol of its KKT conditions at w (at Δα = 0 the
    # σ'-scaled subproblem's KKT conditions are the full dual's)
    kkt_at_w = bool(certified and add.size == 0 and solved and sweeps == 2
                    and np.array_equal(w_loc, w))
    added = int(add.size) if use_pass else 0
    n_k = pool.n
    if rows is not None and part.batch_size:
        blocks = [(a, min(a + part.batch_size, n_k)) for a in range(0, n_k, part.batch_size)]
        for _ in range(n_fresh):
            for j in part.rng.permutation(len(blocks)):
                a, b = blocks[j]
                idx = np.arange(a, b, dtype=np.int64)
                c1 = clock()
                Dr, Lr, mr = rows(w_loc, idx)
                c2 = clock()
                phases["row_calls"] += c2 - c1
                hr = hinge(Lr, mr, "margin")
                sel = np.flatnonzero(hr > pool.slacks(w_loc, idx) + eps)
                if sel.size:
                    pool.add(idx[sel], Dr, Lr, w_loc, src=sel)
                    added += int(sel.size)
                part.active[idx] = 1
                pool.sweep(idx, part.active, cap, w_loc, tol)
                phases["row_updates"] += clock() - c2
            c1 = clock()
            pool.prune(part.max_idle)
            part.active[:] = 0
            part.active[pool.m > 0] = 1
            s, _solved = solve_working_sets(pool, part.active, cap, w_loc, tol,
                                            part.inner_sweeps, part.rng)
            sweeps += s
            phases["sweeps"] += clock() - c1
    c1 = clock()
    pool.alpha /= sigma
    pool.alpha_sum /= sigma
    # exact Σ α a of the partition, rebuilt in place (the last step's w_k has been summed
    # by now: into the next w, and on Dask into a message of its own)
    pool.weights(out=part.wk)
    lin = pool.linear()
    phases["w_k"] += clock() - c1
    return {"wk": part.wk, "hinge": hinge_sum, "lin": lin,
            "added": added, "sweeps": sweeps, "n_constraints": pool.n_constraints,
            "kkt_at_w": kkt_at_w, "cpu_phases": phases}


def _emulated_pass(run, bounds, parts, w):
    """A round's first half on this machine: one checked full pass (``run.full_pass``), each
    partition's rows kept on it (``part.pending``) for its step; the partitions' hinge sums."""
    D, L = run.full_pass(w)
    margins = run.last_margins
    out = []
    for (a, b), part in zip(bounds, parts):
        part.pending = (D[a:b], L[a:b], margins[a:b])
        h = hinge(L[a:b], margins[a:b], run.rescaling)
        out.append({"hinge": float(np.maximum(h, 0.0).sum())})
    return out


def _emulated_step(run, bounds, parts, w, fresh_passes):
    """A round's second half on this machine: each partition's step on the pass kept by
    ``_emulated_pass`` (or none), row calls through ``run.row_pass``."""
    out = []
    for (a, b), part in zip(bounds, parts):
        def rows(v, idx, a=a):
            Dr, Lr = run.row_pass(v, np.asarray(idx) + a)
            return Dr, Lr, run.last_margins
        pending = getattr(part, "pending", None) or (None, None, None)
        part.pending = None
        t0 = time.perf_counter()
        res = partition_step(part, w, *pending, rows if run.oracle.rows_available else None,
                             fresh_passes)
        res["seconds"] = time.perf_counter() - t0
        out.append(res)
    return out


@declare_options(n_partitions=Count(1, none=True), sigma=Real(1.0, none=True),
                 inner_sweeps=Count(1), inner_tol=Real(0.0, low_open=True, none=True),
                 fresh_passes=Count(0), batch_size=Count(0), max_constraints=Count(1, none=True),
                 max_idle=Count(1), storage=Choice("auto", "float32", "float64"),
                 gap_stop=Real(0.0, 1.0, low_open=True, none=True),
                 add_from_pass=Choice(True, False, "auto"), one_partition=Choice("dcd", "rounds"),
                 skip_zero_pass=Flag(), first_sweeps=Count(0), first_fresh_passes=Count(0),
                 next_dual=Flag(), random_state=Seed(none=False, generator=False))
def fit_cocoa(model, oracle, *, C, eps, rescaling="margin", max_iter=1000, verbose=0,
              callback=None, w0=None, n_partitions=None, sigma=None, inner_sweeps=4,
              inner_tol=None, fresh_passes=1, batch_size=32, max_constraints=None, max_idle=5,
              storage="auto", gap_stop=None, add_from_pass=True, one_partition="dcd",
              skip_zero_pass=True, first_sweeps=1, first_fresh_passes=3, next_dual=True,
              random_state=0):
    """Train the n-slack structural SVM by CoCoA+ rounds over partitions (module docstring);
    returns a SolverResult. One round = one oracle pass over every example at the shared w
    (certifying the gap) plus local work on each partition; only O(d) vectors travel.

    On a backend that ``serves_local_rounds`` (Dask) each worker's partition steps where its
    data lives; on any other backend the partitions are emulated here (same w for the same
    seed and number of partitions).

    Parameters
    ----------
    n_partitions : int or None
        K, the number of partitions: None = the backend's (one per Dask worker; 1 otherwise).
    sigma : float or None
        CoCoA+'s σ'; None = K (safe for adding the K updates).
    inner_sweeps, inner_tol, max_constraints, max_idle, storage, batch_size
        As in ``dcd`` (per partition: working-set size from the partition's size).
        ``inner_sweeps`` = 4 as ``dcd``'s: on CoNLL x 4 (C = 1000, K = 2, emulated, loaded
        machine) the same 4 rounds as with 10 and about 30% less CPU per round (primal
        1755.4 against 1742.1, gap 67 against 48, both within the stop C·ε = 100).
    fresh_passes : int
        Passes of row blocks (``batch_size`` examples, oracle at the partition's local point)
        after each round's sweeps, when the task serves row calls; 0 = sweeps only.
    add_from_pass : {True, "auto", False}
        Whether the answers of the round's certifying pass at w that are violated beyond their
        slack join the working sets (default). "auto": only when no fresh pass follows (no
        row calls, or ``fresh_passes=0``); otherwise the pass only certifies the gap and the
        working sets grow from the fresh answers at the local point, as in ``dcd``'s fresh
        passes. On CoNLL x 4 (C = 1000, emulated, loaded machine) "auto" held ~40% fewer
        constraints at the peak (70k against 112k at K = 1) and took ~6% less CPU, but one
        round more (5 against 4 at K = 1 and 2), so it is not the default.
    first_fresh_passes : int
        Fresh passes in the first round (``fresh_passes`` in the later ones): far from the
        optimum a round's local work gains more than its certifying pass and messages cost.
        On CoNLL x 4 (C = 1000, K = 2, emulated, two runs in turn): 3 gives 3 rounds against 4
        with 2 (the slowest partition's step CPU 2.7 against 2.9 s in all, one certifying pass
        fewer: about 0.5 s less on the critical path), primal 1768.4 against 1755.4 (the local
        solver's: 1745.9; both within C·ε/2); 4 gives 2 rounds but no gain (3.1 s in round 1)
        and primal 1786.9.
    first_sweeps : int
        Sweeps (at most) over the working sets between the certifying pass and the fresh
        passes, when fresh passes follow (``inner_sweeps`` after each fresh pass, and when
        none follows): the fresh pass's block solves visit every example anyway, so sweeping
        to convergence first duplicates that work. The first sweep still tells whether every
        block is within ``inner_tol`` of its KKT conditions at w (SVM-struct's rule).
    skip_zero_pass : bool
        When the task serves row calls (fresh passes): the first round makes no pass at
        w = 0 (its answers, the largest-loss outputs, would only bloat the working sets, and
        its primal, at w = 0, is never near the stop) and goes straight to the fresh passes;
        its gap is then not certified (NaN), every later round's is. On CoNLL x 4 (C = 1000,
        K = 2, emulated): see benchmarks/results/dask_conll.md.
    one_partition : {"dcd", "rounds"}
        With one partition on a cluster (one Dask worker) and no callback: "dcd" (default)
        runs the one-machine n-slack solver (``dcd``, its own fresh and certifying passes) to
        its end on the worker holding the data and returns its w (the local solver's w, bit
        for bit, same seed: the options ``dcd`` shares are passed on only when set away from
        this solver's defaults) and certified gap: there is nothing to combine, so rounds would
        only add work. "rounds": CoCoA+ rounds as for K > 1.
    gap_stop : float or None
        Stop when the certified gap is <= gap_stop·C·ε (or by SVM-struct's rule, see above).
        None: 1 for rounds, the bound 1-slack's rule guarantees (``dcd``'s own default, 1/2,
        on the one-partition path). 1/2 would bound the primal within C·ε/2 of the optimum,
        but the rounds' tail is long when the partitions differ: on 300 CoNLL sentences
        (C = 100, K = 2) 825 rounds against 100 at 1 (the local solver: 48 passes). On
        CoNLL x 4 (C = 1000, K = 2) both stop after 4 rounds at gap 48 (primal 21 above the
        local solver's).
    next_dual : bool
        Also stop when the primal at a round's w and the dual after that round's step (at
        the new α, known once the partitions' w_k are summed) are within the stop: the pass
        at w then certifies w (P(w) - optimum <= P(w) - D(α_new)) and no further round is
        needed only to pass over the data at the new w (a pass-only round). w is then the
        round's w, not the new one.
    random_state : int
        Seed; partition k uses the stream (random_state, k).

    ``w0`` is not used: the dual starts at α = 0 (w = 0).
    """
    run = SolverRun("n-slack (cocoa+)", model, oracle, C=C, eps=eps, rescaling=rescaling,
                    max_iter=max_iter, verbose=verbose, callback=callback, unit="rounds")
    n, d, timers = run.n, run.d, run.timers
    bounds = oracle.partition_bounds(n_partitions)
    K = len(bounds)
    sigma = float(K if sigma is None else sigma)
    if not (sigma >= 1.0 and np.isfinite(sigma)):
        raise ValueError(f"sigma must be >= 1 (CoCoA+'s safe value is K = {K}), got {sigma!r}")
    remote = bool(oracle.serves_local_rounds)
    if remote and K == 1 and one_partition == "dcd" and callback is None:
        # the options dcd shares, forwarded only when set away from this solver's defaults:
        # left alone they are dcd's own defaults, so w is the local solver's
        given = dict(inner_sweeps=inner_sweeps, inner_tol=inner_tol, max_idle=max_idle,
                     max_constraints=max_constraints, storage=storage, batch_size=batch_size,
                     random_state=random_state, gap_stop=gap_stop)
        ours = inspect.signature(fit_cocoa).parameters
        opts = {k: v for k, v in given.items() if v != ours[k].default}
        return _one_partition(run, oracle, opts)
    tol = inner_tolerance(inner_tol, run.eps)
    if max_constraints is None:
        max_constraints = auto_max_constraints(max(b - a for a, b in bounds))
    args = (d, C / n, sigma, eps, tol, int(inner_sweeps), int(max_idle), max_constraints,
            storage, random_state, int(fresh_passes), int(batch_size), rescaling, add_from_pass,
            int(first_sweeps))
    rows_ok = bool(oracle.rows_available and batch_size)
    gap_stop = 1.0 if gap_stop is None else gap_stop
    if remote:
        with timers("setup"):
            oracle.start_local(new_partition, *args)
        parts = None
    else:
        parts = [new_partition(k, b - a, *args) for k, (a, b) in enumerate(bounds)]
    w = np.zeros(d)
    dual = 0.0
    primal = np.inf
    rounds_bytes = []
    n_cons = 0
    failure = None
    with run.interruptible():
        for _it in run.iterations(f"n-slack (cocoa+) did not reach eps={eps} in "
                                  f"max_iter={max_iter} rounds"):
            t0 = timers.elapsed()
            # the first round at w = 0 goes straight to the fresh row passes when there are
            # any: that pass's answers (the largest-loss outputs) would only bloat the working
            # sets, and its primal (at w = 0) is never near the stop
            certify = not (skip_zero_pass and _it == 1 and rows_ok and first_fresh_passes)
            n_fresh = int(first_fresh_passes) if _it == 1 else int(fresh_passes)
            row = dict(primal=np.nan, dual=dual, gap=np.nan, n_constraints=n_cons)
            try:
                if certify:     # the primal at w first: the last round does no local work
                    if remote:
                        got = oracle.round_pass(w, exact=not run.approximate)
                        run.oracle_calls += n
                    else:
                        got = _emulated_pass(run, bounds, parts, w)
                    primal = 0.5 * float(w @ w) + (C / n) * sum(o["hinge"] for o in got)
                    row.update(primal=primal, gap=primal - dual)
                    if remote:
                        row.update(pass_seconds=[o["pass_seconds"] for o in got],
                                   pass_cpu=[o["pass_cpu"] for o in got],
                                   pass_span=[o.get("span") for o in got])
                    if primal - dual <= gap_stop * C * eps:
                        run.converged = True
                        row.update(round_seconds=timers.elapsed() - t0)
                        run.record(**row)
                        break
                    # (a stopping round returns this w itself: no copy of it kept)
                    run.keep_best(primal, w, dual)
                if remote:
                    out = oracle.round_step(w, partition_step, n_fresh,
                                            exact=not run.approximate)
                else:
                    out = _emulated_step(run, bounds, parts, w, n_fresh)
            except ClusterError as exc:
                failure = exc
                if not np.isnan(row["primal"]):   # the pass at w was done: keep its row
                    row.update(round_seconds=timers.elapsed() - t0, failed="local step")
                    run.record(**row)
                break
            wall = timers.elapsed() - t0
            compute = max(o["seconds"] for o in out)
            timers.add("local", compute)
            if remote:   # emulated: the rest is the full pass, booked by SolverRun
                timers.add("communication", max(wall - compute - max(
                    row.get("pass_seconds") or [0.0]), 0.0))
                rounds_bytes.append(dict(oracle.last_round_bytes))
            n_cons = sum(o["n_constraints"] for o in out)
            row.update(n_constraints=n_cons,
                       added=sum(o["added"] for o in out), round_seconds=wall,
                       local_seconds=[o["seconds"] for o in out],
                       cpu_phases=[o["cpu_phases"] for o in out])
            if remote:   # the workers' own clocks
                row.update(local_cpu=[o["cpu"] for o in out],
                           step_span=[o.get("span") for o in out])
            if certify and all(o["kkt_at_w"] for o in out):
                run.converged = True     # SVM-struct's rule at w (w is kept)
                run.record(**row)
                break
            # partition order: the same floats on every run (a Dask backend remembers the
            # sum, so its next round_pass knows w is the workers' own without adding again)
            # (kept by the backend as it is unless a callback could change it in place)
            w_new = (oracle.sum_round(out, d, private=run.callback is not None)
                     if remote and hasattr(oracle, "sum_round") else sum_shares(out, d))
            dual_new = sum(o["lin"] for o in out) - 0.5 * float(w_new @ w_new)
            if certify and next_dual and primal - dual_new <= gap_stop * C * eps:
                # the pass at w and the dual after this round's step certify w (weak
                # duality: P(w) - opt <= P(w) - D(α')): no pass at the new w is needed
                run.converged = True
                dual = dual_new
                row.update(dual=dual, gap=primal - dual, certified_by="next dual")
                run.record(dual_after=dual, **row)
                break
            w, dual = w_new, dual_new
            del w_new
            run.record(dual_after=dual, **row)
            if run.callback_stops(w):
                break
    if failure is not None:
        run.interrupted = True
        good = "no round finished" if run.best is None else (
            f"returning the last good model (primal {run.best[0]:.6g}, certified dual "
            f"{run.best[2]:.6g})")
        warnings.warn(f"{failure}; training stopped at round {run.n_iter}: {good}",
                      RuntimeWarning, stacklevel=3)
        if run.best is None:
            raise failure
    elif not run.converged and not run.interrupted:
        primal = run.final_primal(w, primal) if not remote else _remote_primal(oracle, w, C, n)
    n_constraints = run.progress.history[-1]["n_constraints"] if run.progress.history else 0
    return run.result(w, primal, dual, n_constraints=n_constraints,
                      extra={"partitions": K, "sigma": sigma, "round_bytes": rounds_bytes,
                             "setup": getattr(oracle, "setup_phases", None)})


def _one_partition(run, oracle, opts):
    """The whole fit on the worker holding the only partition: ``dcd`` there (its passes,
    working sets and certified gap), w back once; the worker's warnings re-raised here."""
    from .registry import get_solver    # solvers do not import each other (layering)
    t0 = run.timers.elapsed()
    res = oracle.solve_partition(get_solver("n-slack"), C=run.C, eps=run.eps, rescaling=run.rescaling,
                                 max_iter=run.max_iter, verbose=run.progress.verbose, callback=None,
                                 w0=None, **opts)
    wall = run.timers.elapsed() - t0
    for category, message in res.extra.pop("worker_warnings", []):
        warnings.warn(f"on the Dask worker: {message}", category, stacklevel=3)
    timings = {k: v for k, v in res.timings.items() if k != "total"}
    timings["communication"] = max(wall - res.extra["worker_seconds"], 0.0)
    res.timings = dict(timings, total=wall)
    res.extra.update(partitions=1, sigma=1.0, local_solver="dcd", round_bytes=[],
                     setup=getattr(oracle, "setup_phases", None))
    return res


def _remote_primal(oracle, w, C, n):
    """The primal at w from one more pass on the partitions (no local work)."""
    got = oracle.round_pass(w, exact=False)
    return 0.5 * float(w @ w) + (C / n) * sum(o["hinge"] for o in got)
