"""What every solver shares: timers, progress lines, the result record, Ctrl-C handling."""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

logger = logging.getLogger("structpred")

__all__ = ["Timers", "SolverResult", "Progress", "logger", "timed_oracle_call", "warn_interrupted"]


class Timers:
    """Wall time spent per phase (qp, oracle, psi, cache, ...)."""

    def __init__(self):
        self.totals: dict[str, float] = {}
        self.start = time.perf_counter()

    @contextmanager
    def __call__(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.totals[name] = self.totals.get(name, 0.0) + time.perf_counter() - t0

    def add(self, name: str, seconds: float) -> None:
        self.totals[name] = self.totals.get(name, 0.0) + seconds

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def shares(self) -> dict[str, float]:
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
        if self.verbose:
            extra = " (approximate oracle: gap and eps are not certified)" if self.approximate else ""
            logger.info("%s: n=%d, d=%d, C=%g, eps=%g%s", self.name, n, d, C, eps, extra)
            logger.info("%6s %9s %14s %14s %11s %7s %8s %s", "iter", "time[s]", "primal", "dual",
                        "gap", "constr", "oracle", "")

    def record(self, **row):
        self.history.append(row)
        if self.verbose and (self.verbose >= 2 or not row.get("cached", False)):
            logger.info("%6d %9.2f %14.6g %14.6g %11.3g %7d %8d %s", row["iteration"], row["time"],
                        row.get("primal", np.nan), row.get("dual", np.nan), row.get("gap", np.nan),
                        row.get("n_constraints", 0), row.get("oracle_calls", 0),
                        "cached" if row.get("cached") else "")

    def summary(self, result: SolverResult, timers: Timers):
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
    """Run ``call(*args)`` (a pass or a block of the oracle backend) and book its wall time
    to the phases the backend reports in ``last_times`` ("oracle", "psi"), in proportion."""
    t0 = timers.elapsed()
    result = call(*args)
    spent = timers.elapsed() - t0
    split = getattr(oracle, "last_times", None) or {"oracle": spent}
    known = sum(split.values())
    for name, seconds in split.items():
        timers.add(name, spent * seconds / known if known > 0 else spent / len(split))
    return result


def warn_interrupted():
    """The Ctrl-C warning every solver gives before returning its best model so far."""
    import warnings
    warnings.warn("training interrupted (Ctrl-C): returning the model with the lowest primal "
                  "objective seen so far", RuntimeWarning, stacklevel=4)
