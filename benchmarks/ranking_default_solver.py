"""Which solver should ranking use by default? n-slack (dual coordinate descent) vs 1-slack
(cutting planes, svm_rank's algorithm) on LETOR 4.0 MQ2008 Fold1 at C = 0.1, 1, 10.

    STRUCTPRED_DATA=../shared/data python benchmarks/ranking_default_solver.py [--repeat 3]

Both solve the same objective (svm_rank -l 1: ½‖w‖² + (C/n) Σ_q swapped-pair hinge), with
svm_rank's stopping rule (eps = 0.001 × mean pairs per query, as ``structpred learn --task
rank`` sets it). Reported per (C, solver): wall time of fit (best of --repeat, one thread,
numba compiled by a warm-up fit first), iterations, oracle calls, final primal objective and
test NDCG@10 / MAP. Writes benchmarks/results/ranking_default_solver.md.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from structpred import StructuredSVM  # noqa: E402
from structpred.datasets.letor import load_mq2008  # noqa: E402
from structpred.metrics.ranking import mean_average_precision, ndcg  # noqa: E402
from structpred.tasks.ranking import Ranking  # noqa: E402

SOLVERS = ("n-slack", "1-slack")
C_GRID = (0.1, 1.0, 10.0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "ranking_default_solver.md"))
    args = ap.parse_args(argv)
    tr, te = load_mq2008(1, "train"), load_mq2008(1, "test")
    model = Ranking()
    pairs = [model.n_pairs(y, x.shape[0]) for x, y in zip(tr.X, tr.y)]
    eps = 0.001 * float(np.mean(pairs))
    StructuredSVM(Ranking(), C=1.0, eps=eps, algorithm="n-slack").fit(tr.X[:20], tr.y[:20])
    StructuredSVM(Ranking(), C=1.0, eps=eps, algorithm="1-slack").fit(tr.X[:20], tr.y[:20])
    rows = []
    for C in C_GRID:
        for solver in SOLVERS:
            times = []
            for _ in range(args.repeat):
                svm = StructuredSVM(Ranking(), C=C, eps=eps, algorithm=solver, n_jobs=1)
                t0 = time.perf_counter()
                svm.fit(tr.X, tr.y)
                times.append(time.perf_counter() - t0)
            S = [np.asarray(x @ svm.w_).ravel() for x in te.X]
            row = dict(C=C, solver=solver, time=min(times), median=float(np.median(times)),
                       iters=svm.n_iter_, calls=svm.n_oracle_calls_,
                       primal=svm.primal_objective_, converged=svm.converged_,
                       ndcg=ndcg(te.y, S, 10), map=mean_average_precision(te.y, S))
            rows.append(row)
            print(row, flush=True)
    load = os.getloadavg()
    lines = ["# Ranking: default solver (MQ2008 Fold1)", "",
             f"`python benchmarks/ranking_default_solver.py --repeat {args.repeat}`; "
             f"{len(tr)} training queries, {sum(pairs)} pairs, eps = 0.001 x mean pairs = "
             f"{eps:.4g} (svm_rank's rule), one thread, numba compiled before timing; "
             f"{platform.processor() or platform.machine()}, load average at the end "
             f"{load[0]:.1f} on {os.cpu_count()} cores (a shared, loaded machine: compare the "
             "solvers within a row pair, not across runs).", "",
             "| C | solver | fit time s (best / median) | iterations | oracle calls | primal | "
             "converged | test NDCG@10 | test MAP |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['C']:g} | {r['solver']} | {r['time']:.2f} / {r['median']:.2f} | "
                     f"{r['iters']} | {r['calls']} | {r['primal']:.6g} | {r['converged']} | "
                     f"{r['ndcg']:.4f} | {r['map']:.4f} |")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
