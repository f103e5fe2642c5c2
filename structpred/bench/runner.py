"""Run tasks x solvers x peers, measure them, and collect one JSON-able record per run.

Measured per run: wall time and CPU time of ``fit`` (process CPU, all threads), iterations,
oracle calls, the share of the solver's time spent in the QP (``svm.timings_``), peak
resident memory (RSS sampled every 20 ms by a thread, psutil; else ``ru_maxrss``), final
primal objective and duality gap, test quality, and the curves (primal, dual, gap per
iteration, test quality of snapshots of w taken at geometrically spaced iterations; the
snapshots are scored after training so scoring costs no training time).
"""
from __future__ import annotations

import math
import resource
import sys
import threading
import time
import traceback
import warnings

import numpy as np

from ..solvers import SOLVERS
from ..svm import StructuredSVM
from .peers import PeerSkip, run_peer

__all__ = ["Measure", "RunLog", "fit_measured", "history_records", "run_solver", "run_task",
           "available_solvers", "default_solvers", "OPT_IN_SOLVERS", "HISTORY_KEYS"]

#: the per-iteration fields kept in a run record
HISTORY_KEYS = ("iteration", "time", "primal", "dual", "gap", "oracle_calls")


class Measure:
    """Context manager: wall time, CPU time and peak RSS of the enclosed block."""

    def __init__(self, children: bool = False, interval: float = 0.02):
        self.children = children
        self.interval = interval

    def _rss(self):
        if self._proc is not None:
            try:
                rss = self._proc.memory_info().rss
                if self.children:
                    for c in self._proc.children(recursive=True):
                        try:
                            rss += c.memory_info().rss
                        except Exception:  # noqa: BLE001 - child exited
                            pass
                return rss
            except Exception:  # noqa: BLE001
                return 0
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def _sample(self):
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self._rss())

    def __enter__(self):
        try:
            import psutil
            self._proc = psutil.Process()
            self.source = "psutil RSS sampled every 20 ms"
        except ImportError:
            self._proc = None
            self.source = "ru_maxrss (process lifetime peak)"
        self.rss_start = self._rss()
        self.peak = self.rss_start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        self._cpu0 = time.process_time()
        self._ch0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self._t0
        self.cpu = time.process_time() - self._cpu0
        if self.children:
            ch = resource.getrusage(resource.RUSAGE_CHILDREN)
            self.cpu += (ch.ru_utime - self._ch0.ru_utime) + (ch.ru_stime - self._ch0.ru_stime)
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())
        return False

    def record(self) -> dict:
        """The measurement as a dict: wall and CPU seconds, peak and starting RSS in MB."""
        return {"wall_s": self.wall, "cpu_s": self.cpu, "peak_rss_mb": self.peak / 2 ** 20,
                "rss_start_mb": self.rss_start / 2 ** 20}


class RunLog:
    """Benchmark progress lines on stderr: task headers, a line every few seconds while a solver
    runs, and a summary line per run."""

    def __init__(self, stream=None, every: float = 5.0, quiet: bool = False):
        self.stream = stream or sys.stderr
        self.every = every
        self.quiet = quiet
        self._last = 0.0
        self.t0 = time.perf_counter()

    def __call__(self, msg: str):
        if not self.quiet:
            el = time.perf_counter() - self.t0
            print(f"[{el:7.1f}s] {msg}", file=self.stream, flush=True)

    def tick(self, msg: str):
        """Log ``msg`` (indented) if at least ``every`` seconds passed since the last tick:
        progress on long steps."""
        now = time.perf_counter()
        if now - self._last >= self.every:
            self._last = now
            self(f"      {msg}")

    def reset_tick(self):
        """Restart the tick clock, so that the next tick waits a full ``every`` seconds."""
        self._last = time.perf_counter()


class _Ctx:
    """What a peer gets: quick flag, Measure, structpred's primal for a given w, progress."""

    def __init__(self, task, quick, progress, n_jobs):
        self.task = task
        self.quick = quick
        self.progress_tick = progress.tick
        self.n_jobs = n_jobs

    def measure(self, children=False):
        return Measure(children=children)

    def primal(self, w):
        """structpred's primal objective ½‖w‖² + (C/n) Σ hinge_i at w (margin rescaling)."""
        model = self.task.make_model()
        model.initialize(self.task.X_train, self.task.Y_train)
        svm = StructuredSVM(model, C=self.task.C, n_jobs=self.n_jobs)
        return float(svm.primal_objective(self.task.X_train, self.task.Y_train, w=w))


#: solvers left out of the default set, with the reason (``--solver NAME`` still runs them)
OPT_IN_SOLVERS = {
    "n-slack-smo": "the older n-slack cutting planes: same objective as 'n-slack' but many more "
                   "oracle passes; within the suite's time limit it stops short of eps (its "
                   "CoNLL chunk F1 of 59.6 / 72.8 was a cut-off run, not a bug)",
}


def default_solvers() -> list:
    """The solvers a run without ``--solver`` compares: every registered one but the
    :data:`OPT_IN_SOLVERS`."""
    return [s for s in available_solvers() if s not in OPT_IN_SOLVERS]


def available_solvers() -> list:
    """Every registered solver name (``structpred.solvers.SOLVERS``), the four classic ones
    first."""
    order = ["1-slack", "n-slack", "bcfw", "subgradient"]
    return [a for a in order if a in SOLVERS] + sorted(a for a in SOLVERS if a not in order)


def _snapshot_iterations(limit=400):
    """Iterations at which w is copied: 1, 2, 3, 4, 6, 8, 11, 16, ... (ratio ~1.4)."""
    its, x = set(), 1.0
    while x <= limit * 64:
        its.add(int(round(x)))
        x *= 1.4
    return its


def _finite(x):
    """x as a JSON-able number (ints stay ints), None when missing or not finite."""
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def history_records(svm, keys=HISTORY_KEYS) -> list:
    """The fitted estimator's per-iteration records, restricted to ``keys``, JSON-able."""
    return [{k: _finite(r[k]) for k in keys if k in r} for r in svm.history_ or []]


def fit_measured(svm, X, Y) -> dict:
    """Fit ``svm`` on (X, Y) with its warnings caught and its wall time, CPU time and peak
    RSS measured (``Measure``); returns those and what the fit reports: n_iter,
    oracle_calls, converged, timings (seconds per phase), primal, dual, gap, warnings."""
    with warnings.catch_warnings(record=True) as caught, Measure() as m:
        warnings.simplefilter("always")
        svm.fit(X, Y)
    primal, dual = _finite(svm.primal_objective_), _finite(svm.dual_objective_)
    return {**m.record(), "n_iter": int(svm.n_iter_), "oracle_calls": int(svm.n_oracle_calls_),
            "converged": bool(svm.converged_),
            "timings": {k: float(v) for k, v in (svm.timings_ or {}).items()},
            "primal": primal, "dual": dual,
            "gap": None if primal is None or dual is None else primal - dual,
            "warnings": sorted({str(w.message)[:160] for w in caught})}


def run_solver(task, solver, n_jobs=1, time_limit=None, progress=None, max_snapshots=16):
    """Train structpred's StructuredSVM with ``solver`` on ``task``; returns the run record."""
    progress = progress or RunLog(quiet=True)
    model = task.make_model()
    snap_its = _snapshot_iterations()
    snapshots = []
    t_fit = [time.perf_counter()]
    stopped = [False]

    def callback(it, w, rec):
        if it in snap_its and len(snapshots) < max_snapshots:
            snapshots.append((it, float(rec.get("time", np.nan)), np.array(w, copy=True)))
        nan = float("nan")
        progress.tick(f"{solver} it {it:5d}  t {rec.get('time', 0):7.1f}s  primal "
                      f"{rec.get('primal', nan):.6g}  dual {rec.get('dual', nan):.6g}")
        if time_limit and time.perf_counter() - t_fit[0] > time_limit:
            stopped[0] = True
            return False
        return True

    max_iter = task.max_iter.get(solver, 1000)
    svm = StructuredSVM(model, C=task.C, eps=task.eps, algorithm=solver, n_jobs=n_jobs,
                        max_iter=max_iter, callback=callback)
    progress.reset_tick()
    t_fit[0] = time.perf_counter()
    fit = fit_measured(svm, task.X_train, task.Y_train)
    pred = svm.predict(task.X_test)
    quality = task.evaluate(pred)
    tm = fit["timings"]
    total = tm.get("total") or fit["wall_s"]
    # test quality of the snapshots (and of the final w), scored after training
    curve = []
    batch = model.make_batch(task.X_test)
    for it, t, w in snapshots:
        p = model.batch_inference(batch, w, n_jobs=n_jobs)
        curve.append({"iteration": it, "time": t, **task.evaluate(p)})
    curve.append({"iteration": int(svm.n_iter_), "time": float(total), **quality})
    rec = {
        "kind": "solver", "method": f"structpred {solver}", "solver": solver, "C_peer": task.C,
        "C_note": "SVM-struct", "eps": task.eps, "n_jobs": n_jobs, **fit,
        "time_limit_hit": stopped[0],
        "qp_share": tm.get("qp", 0.0) / total if total else None,
        "oracle_share": tm.get("oracle", 0.0) / total if total else None,
        "approximate_oracle": bool(getattr(model, "approximate_inference", False)),
        "quality": quality, "history": history_records(svm), "quality_curve": curve,
    }
    return rec


def warm_up(task, solvers, n_jobs=1) -> float:
    """Compile the numba kernels before anything is timed: fit every solver on the first
    three examples (max_iter 2) and predict three test examples. Returns the seconds spent."""
    t0 = time.perf_counter()
    k = min(3, len(task.X_train))
    Xs, Ys = task.X_train[:k], task.Y_train[:k]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for s in solvers:
            try:
                svm = StructuredSVM(task.make_model(), C=task.C, eps=task.eps, algorithm=s,
                                    max_iter=2, n_jobs=n_jobs).fit(Xs, Ys)
                svm.predict(task.X_test[:k])
            except Exception:  # noqa: BLE001 - the real run reports errors
                pass
    return time.perf_counter() - t0


def _fmt_q(task, q):
    v = q.get(task.quality)
    return f"{task.quality} {v:.4g}" if v is not None else "?"


def run_task(task, solvers, peers=(), n_jobs=1, time_limit=None, progress=None, quick=False,
             time_limits=None):
    """All solvers and applicable peers / baselines on one loaded task; returns its record.
    ``time_limits`` ({solver: seconds}) overrides ``time_limit`` per solver."""
    progress = progress or RunLog(quiet=True)
    d = None
    try:
        m = task.make_model()
        m.initialize(task.X_train, task.Y_train)
        d = int(m.size_joint_feature)
    except Exception:  # noqa: BLE001 - only informative
        pass
    out = {"task": task.name, "title": task.title, "C": task.C, "eps": task.eps,
           "quality_metric": task.quality, "higher_is_better": task.higher_is_better,
           "d": d, **task.info, "runs": [], "skipped": []}
    progress("  warm-up (numba compilation, not timed)")
    out["warm_up_s"] = warm_up(task, [s for s in solvers if s not in task.skip_solvers], n_jobs)
    time_limits = time_limits or {}
    for solver in solvers:
        if solver in task.skip_solvers:
            msg = f"{solver} not run: {task.skip_solvers[solver]}"
            progress(f"  SKIP {msg}")
            out["skipped"].append(msg)
            continue
        progress(f"  {solver}: training (C={task.C:g}, eps={task.eps:g}, n={len(task.X_train)}, "
                 f"d={d})")
        try:
            rec = run_solver(task, solver, n_jobs=n_jobs,
                             time_limit=time_limits.get(solver, time_limit), progress=progress)
        except Exception as exc:  # noqa: BLE001 - report and go on
            msg = f"{solver} failed: {type(exc).__name__}: {exc}"
            progress(f"  SKIP {msg}")
            out["skipped"].append(msg)
            out.setdefault("errors", []).append(traceback.format_exc(limit=6))
            continue
        out["runs"].append(rec)
        gap = rec["gap"]
        progress(f"  {solver}: {rec['wall_s']:.1f} s wall, {rec['cpu_s']:.1f} s CPU, "
                 f"{rec['n_iter']} it, primal {rec['primal']:.6g}"
                 + (f", gap {gap:.3g}" if gap is not None else "")
                 + f", {_fmt_q(task, rec['quality'])}"
                 + (" (time limit)" if rec["time_limit_hit"] else ""))
    ctx = _Ctx(task, quick, progress, n_jobs)
    for name in peers:
        if name not in task.peers:
            continue
        progress(f"  peer {name}: training")
        try:
            recs = run_peer(name, task, ctx)
        except PeerSkip as exc:
            progress(f"  SKIP peer {name}: {exc}")
            out["skipped"].append(f"peer {name}: {exc}")
            continue
        except Exception as exc:  # noqa: BLE001
            progress(f"  SKIP peer {name} failed: {type(exc).__name__}: {exc}")
            out["skipped"].append(f"peer {name} failed: {type(exc).__name__}: {exc}")
            continue
        for rec in recs:
            out["runs"].append(rec)
            progress(f"  {rec['method']}: {rec['wall_s']:.1f} s wall, "
                     f"{_fmt_q(task, rec['quality'])}")
    if task.baselines is not None:
        progress("  task baselines")
        try:
            for rec in task.baselines():
                rec.setdefault("kind", "baseline")
                out["runs"].append(rec)
                progress(f"  baseline {rec['method']}: {_fmt_q(task, rec['quality'])}")
        except Exception as exc:  # noqa: BLE001
            out["skipped"].append(f"baselines failed: {type(exc).__name__}: {exc}")
            progress(f"  SKIP baselines failed: {type(exc).__name__}: {exc}")
    return out

