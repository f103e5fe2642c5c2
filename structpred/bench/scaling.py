"""Scaling study: structpred's training time and time per iteration on 1/8, 1/4, 1/2 and all
of the CoNLL-2000 training set (svm_hmm files), with least-squares slopes in log-log space.

With the 1-slack solver the number of iterations does not grow with n (it is O(1/eps) for
fixed C), and each oracle iteration is one pass over the data, so the oracle time grows
linearly in n (slope near 1) and the training time at most linearly: the per-iteration work
on the working set (dense vectors of length d) does not depend on n and dominates at small n,
which pulls the slope of the total time below 1.
"""
from __future__ import annotations

import numpy as np

from ..svm import StructuredSVM
from .runner import Measure, RunLog, warm_up
from .tasks import conll_svmhmm

__all__ = ["run_scaling", "loglog_fit"]

FRACTIONS = (0.125, 0.25, 0.5, 1.0)


def loglog_fit(n, y) -> dict:
    """log y = intercept + slope log n (least squares); with R²."""
    ln, ly = np.log(np.asarray(n, float)), np.log(np.asarray(y, float))
    slope, intercept = np.polyfit(ln, ly, 1)
    pred = intercept + slope * ln
    ss = float(np.sum((ly - ly.mean()) ** 2))
    r2 = 1.0 - float(np.sum((ly - pred) ** 2)) / ss if ss > 0 else 1.0
    return {"slope": float(slope), "intercept": float(intercept), "r2": r2}


def run_scaling(quick=False, data_home=None, solver="1-slack", n_jobs=1, progress=None,
                C=100.0, eps=0.1, base=None, time_limit=None):
    """Train on nested seeded subsets; returns {"points": [...], "fits": {...}, ...}."""
    progress = progress or RunLog(quiet=True)
    task = conll_svmhmm(quick=False, data_home=data_home)
    N = len(task.X_train)
    if quick:
        N, C, eps = min(N, 240), 10.0, 0.5
    if base is not None:
        N = min(N, int(base))
    perm = np.random.default_rng(7).permutation(len(task.X_train))[:N]
    warm_up(task, [solver], n_jobs)  # numba compilation outside the timings
    points = []
    for f in FRACTIONS:
        n = max(2, int(round(f * N)))
        idx = np.sort(perm[:n])
        X = [task.X_train[i] for i in idx]
        Y = [task.Y_train[i] for i in idx]
        model = task.make_model()
        stop = {"hit": False}

        def callback(it, w, rec):
            progress.tick(f"scaling n={n}: it {it} t {rec.get('time', 0):.1f}s")
            if time_limit and rec.get("time", 0) > time_limit:
                stop["hit"] = True
                return False
            return True

        svm = StructuredSVM(model, C=C, eps=eps, algorithm=solver, n_jobs=n_jobs,
                            callback=callback)
        progress(f"  scaling: n = {n} sentences ({f:g} of {N})")
        import warnings
        with warnings.catch_warnings(), Measure() as m:
            warnings.simplefilter("ignore")
            svm.fit(X, Y)
        tm = svm.timings_ or {}
        pt = {"fraction": f, "n_train": n, "tokens": int(sum(len(y) for y in Y)),
              **m.record(), "n_iter": int(svm.n_iter_),
              "oracle_calls": int(svm.n_oracle_calls_),
              "time_per_iter_s": m.wall / max(svm.n_iter_, 1),
              "oracle_s_per_call": tm.get("oracle", 0.0) / max(svm.n_oracle_calls_, 1),
              "oracle_s": tm.get("oracle", 0.0),
              "oracle_s_per_iter": tm.get("oracle", 0.0) / max(svm.n_iter_, 1),
              "qp_share": tm.get("qp", 0.0) / tm["total"] if tm.get("total") else None,
              "primal": float(svm.primal_objective_), "converged": bool(svm.converged_),
              "time_limit_hit": stop["hit"]}
        points.append(pt)
        progress(f"  scaling: n = {n}: {pt['wall_s']:.1f} s, {pt['n_iter']} it, "
                 f"{pt['time_per_iter_s'] * 1e3:.0f} ms/it")
    n_arr = [p["n_train"] for p in points]
    fits = {k: loglog_fit(n_arr, [max(p[k], 1e-9) for p in points])
            for k in ("wall_s", "time_per_iter_s", "oracle_s_per_call", "oracle_s",
                      "oracle_s_per_iter")}
    fits["n_iter"] = loglog_fit(n_arr, [p["n_iter"] for p in points])
    return {"task": "scaling", "data": "svm_hmm files", "solver": solver, "C": C, "eps": eps,
            "n_jobs": n_jobs, "base_n": N, "points": points, "fits": fits}
