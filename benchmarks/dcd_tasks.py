"""n-slack (dual coordinate descent) vs 1-slack on the other built-in tasks, at the same
objective: the data to choose ``StructuredSVM``'s default algorithm.

    python benchmarks/dcd_tasks.py [--task multiclass-digits parsing-ptb ...] [--out FILE]

Each task is loaded as ``structpred bench`` loads it (same split, C and eps). Both solvers run
on one thread after an untimed warm-up fit (numba compilation). Reported: wall and CPU time
of the fit, passes (oracle iterations), final primal (recomputed at the final w by a full
oracle pass) and certified gap, and "time to target": the first time each solver's certified
primal in its history was within 0.1% of the worse of the two final primals, so both are
timed to the same objective. Writes a Markdown table to --out.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

TASKS = ["multiclass-digits", "parsing-ptb", "diversity-ambient", "diversity-synthetic"]


def _time_to(history, target):
    for h in history:
        p = h.get("primal", np.nan)
        if np.isfinite(p) and p <= target:
            return h["time"]
    return np.nan


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", nargs="+", default=TASKS)
    ap.add_argument("--solver", nargs="+", default=["1-slack", "n-slack"])
    ap.add_argument("--data-home", default=None)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "dcd_tasks.md"))
    args = ap.parse_args(argv)

    from structpred import StructuredSVM
    from structpred.bench.tasks import TASKS as LOADERS, SkipTask

    lines = ["# n-slack (DCD) vs 1-slack on the other tasks, one thread", "",
             f"`python benchmarks/dcd_tasks.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
             f"2-core machine shared with other jobs (load average {os.getloadavg()[0]:.1f} at "
             "the start). 'to target' = first certified primal within 0.1% of the worse final "
             "primal of the two (diversity's greedy oracle is approximate: its primal and gap "
             "are not certified).", "",
             "| task | C | eps | solver | wall [s] | CPU [s] | passes | primal | gap | to target [s] |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name in args.task:
        try:
            task = LOADERS[name](quick=False, data_home=args.data_home)
        except SkipTask as exc:
            print(f"{name}: skipped ({exc})")
            continue
        res = {}
        for solver in args.solver:
            kw = dict(C=task.C, eps=task.eps, algorithm=solver, n_jobs=1)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # the warm-up stops early
                StructuredSVM(task.make_model(), max_iter=2, **kw).fit(task.X_train[:20],
                                                                       task.Y_train[:20])
            svm = StructuredSVM(task.make_model(), max_iter=task.max_iter.get(solver, 10000), **kw)
            c0, t0 = time.process_time(), time.perf_counter()
            svm.fit(task.X_train, task.Y_train)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            primal = svm.primal_objective(task.X_train, task.Y_train)
            res[solver] = dict(wall=wall, cpu=cpu, passes=svm.n_iter_, primal=primal,
                               gap=primal - svm.dual_objective_, history=svm.history_)
            print(name, solver, {k: v for k, v in res[solver].items() if k != "history"}, flush=True)
        target = max(r["primal"] for r in res.values()) * 1.001
        for solver, r in res.items():
            lines.append(f"| {name} | {task.C:g} | {task.eps:g} | {solver} | {r['wall']:.2f} | "
                         f"{r['cpu']:.2f} | {r['passes']} | {r['primal']:.6g} | {r['gap']:.3g} | "
                         f"{_time_to(r['history'], target):.2f} |")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
