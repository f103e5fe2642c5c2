"""The solver core: what every solver shares, so that a solver file holds only its algorithm.

* ``SolverRun``: one training run's bookkeeping: timers, progress lines, oracle calls
  (``full_pass``, ``block_pass``, ``row_pass``: the only door to the task, timed, counted and
  every answer checked by ``guard.check_answer``), the parameters (``guard.check_solver_params``),
  the best iterate, the iteration loop
  (``iterations``: max_iter and its warning), Ctrl-C (``interruptible``: stop and return the
  best iterate), the callback stop, the primal at the returned w (``final_primal``: one more
  pass after a max_iter or callback stop), and the ``SolverResult`` with its summary line;
  ``result`` never reports "converged" with a non-finite objective, with a primal above the
  best one seen by more than C·eps, or at w = 0 when w = 0 is not within C·eps of the optimum
  (it warns and says not converged instead), and raises FloatingPointError rather than return
  non-finite weights.
* ``SolverResult``, ``Timers``, ``Progress``, ``OracleWarning``.

A solver is ``fit_<name>(model, oracle, *, C, eps, rescaling, max_iter, verbose, callback, w0,
[warm_state], <its own options>)``, all keyword-only after ``oracle``, no ``**kwargs``: its
signature declares its options (see ``structpred.solvers.registry``), and
``@declare_options(...)`` (``structpred.solvers.options``) their types and ranges. Its
skeleton::

    run = SolverRun("name", model, oracle, C=C, eps=eps, rescaling=rescaling,
                    max_iter=max_iter, verbose=verbose, callback=callback)
    with run.interruptible():
        for it in run.iterations():
            D, L = run.full_pass(w)      # or run.block_pass(w, k), run.row_pass(w, index)
            p = primal(w, D, L, C, rescaling)        # structpred.solvers.objective
            run.keep_best(p, w, dual)
            ... the algorithm's step ...
            run.record(primal=p, dual=dual, gap=p - dual, n_constraints=...)
            if converged:
                run.converged = True
                break
            if run.callback_stops(w):
                break
    p = run.final_primal(w, p)      # when the step moved w after the last pass
    return run.result(w, p, dual, n_constraints=...)
"""
from __future__ import annotations

import logging
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from ..compile_notice import compile_seconds, install as install_compile_notice
from . import objective
from .guard import OracleWarning, check_answer, check_solver_params

logger = logging.getLogger("structpred")

__all__ = ["SolverRun", "KeptVector", "SolverResult", "Timers", "Progress", "OracleWarning", "logger",
           "timed_oracle_call", "warn_interrupted", "add_share", "sum_shares"]


class Timers:
    """Wall time spent per phase (qp, oracle, psi, cache, ...), numba compiles excluded
    (``structpred.compile_notice``: a first run's compile is not a phase's cost)."""

    def __init__(self):
        install_compile_notice()
        self.totals: dict[str, float] = {}
        self.start = time.perf_counter()
        self.compile0 = compile_seconds()

    @contextmanager
    def __call__(self, name: str):
        t0 = time.perf_counter()
        c0 = compile_seconds()
        try:
            yield
        finally:
            spent = time.perf_counter() - t0 - (compile_seconds() - c0)
            self.totals[name] = self.totals.get(name, 0.0) + spent

    def add(self, name: str, seconds: float) -> None:
        """Add ``seconds`` to phase ``name`` (oracle, psi, qp, cache, ...)."""
        self.totals[name] = self.totals.get(name, 0.0) + seconds

    def elapsed(self) -> float:
        """Seconds since the start, numba compile time excluded."""
        return time.perf_counter() - self.start - (compile_seconds() - self.compile0)

    def shares(self) -> dict[str, float]:
        """Each phase's seconds as a fraction of the elapsed time (what ``verbose=1`` prints at the
        end)."""
        total = max(self.elapsed(), 1e-12)
        return {k: v / total for k, v in self.totals.items()}


@dataclass
class SolverResult:
    """What a solver hands back to the estimator."""
    w: np.ndarray
    primal: float
    dual: float
    n_iter: int
    converged: bool
    interrupted: bool
    history: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    n_oracle_calls: int = 0
    n_constraints: int = 0
    extra: dict = field(default_factory=dict)


def _cell(value, fmt: str) -> str:
    """A progress-table number, or '-' where the pass has none (e.g. no primal on a pass
    that did not call the oracle at one w)."""
    if value is None or not np.isfinite(value):
        return "-"
    return format(float(value), fmt).strip()


class Progress:
    """Per-iteration progress lines on the 'structpred' logger (and history records)."""

    def __init__(self, verbose: int, name: str, approximate: bool):
        self.verbose = verbose
        self.name = name
        self.approximate = approximate
        self.history: list[dict] = []
        if verbose:
            if not logger.handlers and not logging.getLogger().handlers:
                handler = logging.StreamHandler()
                handler.setFormatter(logging.Formatter("%(message)s"))
                logger.addHandler(handler)
                logger.propagate = False
            if logger.getEffectiveLevel() > logging.INFO:
                logger.setLevel(logging.INFO)  # asked for progress: show it

    def header(self, n, d, C, eps):
        """Log the problem (n, d, C, eps) and the column titles of the progress lines (when
        verbose)."""
        if self.verbose:
            extra = " (approximate oracle: gap and eps are not certified)" if self.approximate else ""
            logger.info("%s: n=%d, d=%d, C=%g, eps=%g%s", self.name, n, d, C, eps, extra)
            logger.info("%6s %9s %14s %14s %11s %7s %8s %s", "iter", "time[s]", "primal", "dual",
                        "gap", "constr", "oracle", "")

    def record(self, **row):
        """Append one iteration's row (iteration, time, primal, dual, gap, constraints, oracle
        calls) to the history and log it when verbose."""
        self.history.append(row)
        if self.verbose and (self.verbose >= 2 or not row.get("cached", False)):
            logger.info("%6d %9.2f %14s %14s %11s %7d %8d %s", row["iteration"], row["time"],
                        _cell(row.get("primal"), "14.6g"), _cell(row.get("dual"), "14.6g"),
                        _cell(row.get("gap"), "11.3g"), row.get("n_constraints", 0),
                        row.get("oracle_calls", 0), "cached" if row.get("cached") else "")

    def summary(self, result: SolverResult, timers: Timers):
        """Log the outcome (converged, interrupted, or stopped at max_iter), the final objectives
        and where the time went: the shares of oracle, psi, qp and cache (see
        ``StructuredSVM.timings_``)."""
        if not self.verbose:
            return
        shares = timers.shares()
        parts = ", ".join(f"{k} {100 * v:.1f}%" for k, v in sorted(shares.items(), key=lambda kv: -kv[1]))
        state = "converged" if result.converged else ("interrupted" if result.interrupted else "stopped at max_iter")
        logger.info("%s %s after %d iterations, %.2f s: primal %.6g, dual %.6g, gap %.3g, "
                    "%d oracle calls, %d constraints", self.name, state, result.n_iter,
                    timers.elapsed(), result.primal, result.dual, result.primal - result.dual,
                    result.n_oracle_calls, result.n_constraints)
        logger.info("time shares: %s", parts)


def timed_oracle_call(timers: Timers, oracle, call, *args):
    """Run ``call(*args)`` (a pass, a block or any other call of the oracle backend) and book
    its wall time to the phases the backend reports in ``last_times`` ("oracle", "psi"), in
    proportion."""
    t0 = timers.elapsed()
    result = call(*args)
    spent = timers.elapsed() - t0
    split = getattr(oracle, "last_times", None) or {"oracle": spent}
    known = sum(split.values())
    for name, seconds in split.items():
        timers.add(name, spent * seconds / known if known > 0 else spent / len(split))
    return result


def warn_interrupted(stacklevel: int = 3) -> None:
    """The Ctrl-C warning: training stopped, the model returned is the best seen so far.
    ``stacklevel`` counts from the caller (3: a solver called by StructuredSVM.fit)."""
    warnings.warn("training interrupted (Ctrl-C): returning the model with the lowest primal "
                  "objective seen so far", RuntimeWarning, stacklevel=stacklevel + 1)


class _Interruptible:
    """Context: Ctrl-C inside ends the loop; the run then returns its best iterate."""

    def __init__(self, run: "SolverRun", stacklevel: int = 4):
        self.run = run
        self.stacklevel = stacklevel

    def __enter__(self):
        return self.run

    def __exit__(self, kind, value, tb):
        if kind is not None and issubclass(kind, KeyboardInterrupt):
            self.run.interrupted = True
            warn_interrupted(self.stacklevel)  # __exit__, the solver, StructuredSVM.fit, the user
            return True
        return False


class KeptVector:
    """A float64 vector kept for later (SolverRun's best iterate): its nonzeros as (index,
    float64 value) pairs when that is smaller than the dense vector, else a dense copy;
    ``dense()`` gives the vector back bit for bit (zeros of either sign included)."""

    def __init__(self, w, reuse: "KeptVector | None" = None):
        w = np.asarray(w, dtype=np.float64)
        self.shape = w.shape
        flat = w.reshape(-1)
        itype = np.int32 if flat.size < np.iinfo(np.int32).max else np.int64
        nz = np.flatnonzero(flat)
        self.full = self.index = self.values = self.negative_zeros = None
        if nz.size * (8 + np.dtype(itype).itemsize) < flat.size * 8:
            self.index = nz.astype(itype)
            self.values = flat[nz]
            neg = np.flatnonzero(np.signbit(flat) & (flat == 0.0))
            self.negative_zeros = neg.astype(itype) if neg.size else None
        else:
            full = None if reuse is None else reuse.full
            if full is not None and full.shape == flat.shape:
                np.copyto(full, flat)   # into the old copy: no second d-vector at the peak
            else:
                full = flat.copy()
            self.full = full

    def dense(self) -> np.ndarray:
        """The kept vector, as a new float64 array of its original shape."""
        if self.full is not None:
            return self.full.reshape(self.shape).copy()
        out = np.zeros(int(np.prod(self.shape)))
        out[self.index] = self.values
        if self.negative_zeros is not None:
            out[self.negative_zeros] = -0.0
        return out.reshape(self.shape)


def add_share(total, share) -> None:
    """``total += share`` in place, for a partition's w_k sent dense or as a ``KeptVector``
    (its nonzeros): the nonzeros are added where they are, which gives the same floats as the
    dense sum when ``total`` holds no negative zero (x + ±0 = x for every other x; a sum
    started from +0 never makes -0 in round-to-nearest), so w = Σ_k w_k is bit for bit the
    dense protocol's."""
    if isinstance(share, KeptVector):
        if share.full is not None:
            total += share.full.reshape(total.shape)
        elif share.index.size:
            total[share.index] += share.values
    else:
        total += share


def sum_shares(outs, d):
    """w = Σ_k w_k from the partitions' step results ``outs`` (their "wk") in partition order
    (``add_share``): the same floats on every run and every backend."""
    w = np.zeros(d)
    for o in outs:
        add_share(w, o["wk"])
    return w


class SolverRun:
    """One training run's shared bookkeeping (see the module docstring for the skeleton).

    Attributes a solver reads or sets: ``n``, ``d``, ``timers``, ``progress``,
    ``last_margins`` (δΨ_i·w of the last answer at the w it was asked for, from the guard's
    pass over it: the same floats as ``D @ w``),
    ``oracle_calls`` (examples sent through the oracle so far), ``n_iter``, ``converged``
    (set it before breaking out of ``iterations`` on convergence), ``interrupted``,
    ``approximate`` (the task's oracle is approximate: skip exactness checks).
    """

    def __init__(self, name: str, model, oracle, *, C: float, eps: float, rescaling: str,
                 max_iter: int, verbose: int = 0, callback=None, unit: str = "iterations"):
        C, eps, max_iter = check_solver_params(C, eps, max_iter)
        self.name = name
        self.oracle = oracle
        self.n = oracle.n
        self.d = model.size_joint_feature
        self.task = type(model).__name__
        self.C, self.eps, self.rescaling = C, eps, rescaling
        self.max_iter = max_iter
        self.unit = unit
        self.callback = callback
        self.approximate = bool(model.approximate_inference)
        self.timers = Timers()
        self.progress = Progress(verbose, name, self.approximate)
        self.progress.header(self.n, self.d, C, eps)
        self.oracle_calls = 0
        self.n_iter = 0
        self.converged = False
        self.interrupted = False
        self.best: tuple | None = None   # (primal, KeptVector(w), dual), the lowest primal so far
        self.last_margins = np.zeros(0)  # D @ w of the last answer, at the w it was asked for

    # ------------------------------------------------------------ oracle
    def _answer(self, kind: str, call, w, arg, m: int, index):
        """Run one oracle call (timed), note the call on any exception the task raises, and
        check the answer (``guard.check_answer``); counts its m examples."""
        try:
            if arg is None:
                out = timed_oracle_call(self.timers, self.oracle, call, w)
            else:
                out = timed_oracle_call(self.timers, self.oracle, call, w, arg)
        except Exception as exc:
            if index is None:
                which = f"examples 0..{m - 1}"
            elif isinstance(index, (int, np.integer)):
                which = f"examples {int(index)}..{int(index) + m - 1}"
            else:
                which = f"{m} examples from {int(index[0]) if m else '-'}"
            exc.add_note(f"raised by {self.task}'s oracle during a {kind} ({which}) at "
                         f"iteration {self.n_iter} of the {self.name} solver")
            raise
        D, L, self.last_margins = check_answer(out[0], out[1], w, d=self.d, m=m, index=index,
                            rescaling=self.rescaling, exact=not self.approximate,
                            task=self.task, where=f" ({kind}, iteration {self.n_iter} of "
                                                  f"{self.name})")
        self.oracle_calls += m
        return D, L

    def full_pass(self, w):
        """(D, L) of every example at w; counts n oracle calls."""
        return self._answer("full pass", self.oracle, w, None, self.n, None)

    def block_pass(self, w, k: int):
        """(D_k, L_k) of block k (``oracle.blocks(size)[k]``) at w; counts the block's
        examples."""
        a, b = self.oracle.block_ranges[k]
        return self._answer("block", self.oracle.call_block, w, k, b - a, a)

    def row_pass(self, w, index):
        """(D, L) of the examples ``index`` (increasing) at w, from the backend's row calls
        (``oracle.rows_available``: the task declares ``batch_oracle_rows``); counts them."""
        index = np.ascontiguousarray(index, dtype=np.int64)
        return self._answer("row call", self.oracle.call_rows, w, index, index.shape[0], index)

    # ------------------------------------------------------------ loop
    def interruptible(self) -> _Interruptible:
        """``with run.interruptible():`` around the loop: Ctrl-C sets ``interrupted``, warns and
        leaves the block; ``result`` then returns the best iterate."""
        return _Interruptible(self)

    def final_primal(self, w, primal: float) -> float:
        """The primal at the w the solver returns. ``primal`` (the loop's last certified
        value) when the run converged or was interrupted; else one more full pass at w, since
        the loop may have moved w after its last pass (max_iter, a callback stop). Ctrl-C
        during that pass counts as an interruption: ``result`` then returns the best iterate."""
        if self.interrupted or self.converged:
            return primal
        with _Interruptible(self, stacklevel=5):   # one frame deeper: this method
            D, L = self.full_pass(w)
            primal = objective.primal(w, D, L, self.C, self.rescaling)
        return primal

    def iterations(self, warning: str | None = None):
        """Yield 1..max_iter (kept in ``n_iter``). Running to the end without a ``break``
        warns (RuntimeWarning) that the solver did not converge: ``warning`` or a default."""
        for it in range(1, self.max_iter + 1):
            self.n_iter = it
            yield it
        if warning is None:
            warning = (f"{self.name} solver did not reach eps={self.eps} in "
                       f"max_iter={self.max_iter} {self.unit}")
        # stack: this generator, the solver, StructuredSVM.fit, the user's call
        warnings.warn(warning, RuntimeWarning, stacklevel=4)

    def keep_best(self, primal: float, w, dual: float) -> None:
        """Remember (primal, w, dual) when primal is the lowest seen. w is kept as a
        ``KeptVector``: its nonzeros only (index, value) when that takes less memory than a
        dense copy (a structured model's w is mostly zeros: 7% nonzero on CoNLL-2000, 1.8
        instead of 16 MiB), given back bit for bit."""
        if self.best is None or primal < self.best[0]:
            keep = None if self.best is None else self.best[1]
            self.best = None     # (the old copy can go before the new one is made)
            self.best = (primal, KeptVector(w, reuse=keep), dual)

    def record(self, **row) -> dict:
        """Append a progress record (iteration, time and oracle_calls filled in) and print it."""
        full = {"iteration": self.n_iter, "time": self.timers.elapsed(), **row}
        full.setdefault("oracle_calls", self.oracle_calls)
        self.progress.record(**full)
        return full

    def callback_stops(self, w) -> bool:
        """Call ``callback(iteration, w, last record)``; True when it returned False."""
        return (self.callback is not None
                and self.callback(self.n_iter, w, self.progress.history[-1]) is False)

    # ------------------------------------------------------------ result
    def _check_claim(self, w, primal: float) -> None:
        """Withdraw a "converged" claim (RuntimeWarning) whose objective is not finite, whose
        primal is above the best seen by more than C·eps, or that is at w = 0 while w = 0 is
        not within C·eps of the optimum (certified with one more pass at w = 0)."""
        tol = self.C * self.eps + 1e-9 * abs(primal)
        reason = None
        if not np.isfinite(primal):
            reason = f"its primal objective is {primal!r}"
        elif self.best is not None and self.best[0] < primal - tol:
            reason = (f"its primal {primal:.6g} is above the best one seen ({self.best[0]:.6g}) "
                      "by more than C·eps")
        elif not np.any(w):
            gap = self._gap_at_zero()
            if gap > tol:
                reason = (f"it stopped at w = 0, whose primal is above the optimum by up to "
                          f"{gap:.6g} > C·eps = {self.C * self.eps:.6g}")
        if reason is not None:
            self.converged = False
            warnings.warn(f"{self.name} did not converge: {reason}", RuntimeWarning, stacklevel=4)

    def _gap_at_zero(self) -> float:
        """P(0) minus a dual lower bound of the optimum from the oracle at w = 0: α_i = γC/n
        on each example's answer ŷ_i (loss > 0), the best γ in [0, 1]; then
        w(α) = γg, g = (C/n)Σ s_i δΨ_i, and D = γP(0) - γ²‖g‖²/2 (weak duality: D <= optimum)."""
        w0 = np.zeros(self.d)
        D, L = self.full_pass(w0)
        coef = np.where(L > 0, objective.scale(L, self.rescaling), 0.0) * (self.C / self.n)
        g = objective.aggregate_rows(D, coef, np.zeros(self.d))
        p0 = objective.primal(w0, D, L, self.C, self.rescaling)
        gg = float(g @ g)
        gamma = 1.0 if gg <= 0.0 else min(1.0, p0 / gg)
        return p0 - (gamma * p0 - 0.5 * gamma * gamma * gg)

    def result(self, w, primal: float, dual: float, *, n_constraints: int = 0,
               extra: dict | None = None, return_best: bool = False) -> SolverResult:
        """The SolverResult at (w, primal, dual), or at the best iterate when interrupted (or,
        with ``return_best``, whenever the best iterate has the lower primal); logs the
        summary."""
        if self.best is not None and (self.interrupted or (return_best and self.best[0] < primal)):
            primal, kept, dual = self.best
            w = kept.dense()
        if not np.all(np.isfinite(w)):
            raise FloatingPointError(f"{self.name}: the weights became non-finite (C={self.C:g}); "
                                     "the problem is too badly scaled for float64")
        if self.converged:
            self._check_claim(w, primal)
        result = SolverResult(w=w, primal=primal, dual=dual, n_iter=self.n_iter,
                              converged=self.converged, interrupted=self.interrupted,
                              history=self.progress.history,
                              timings=dict(self.timers.totals, total=self.timers.elapsed()),
                              n_oracle_calls=self.oracle_calls, n_constraints=n_constraints,
                              extra=extra or {})
        self.progress.summary(result, self.timers)
        return result
