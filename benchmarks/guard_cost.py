"""The cost of the solvers' shared checks (``structpred.solvers.guard``) on CoNLL-2000.

    python benchmarks/guard_cost.py [--C 100 1000] [--eps 0.1]

Trains the default n-slack solver on the svm_hmm CoNLL-2000 training file (one thread) with
``check_answer`` wrapped in a CPU-time counter (``time.thread_time``), and prints, per C, the
fit's CPU seconds, the passes, the number of checked oracle answers and the CPU seconds spent
checking them. The check's pass over each answer also yields D @ w, which the n-slack solver
would otherwise compute itself, so the figure is an upper bound of what the checks add.
Numba kernels are compiled before the timed fit (one small fit first).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--C", type=float, nargs="+", default=[100.0, 1000.0])
    parser.add_argument("--eps", type=float, default=0.1)
    args = parser.parse_args(argv)

    import structpred.solvers.base as base
    from structpred import StructuredSVM
    from structpred.datasets.svmhmm import read_svmhmm
    from structpred.tasks.sequence import SequenceLabeling

    data_home = os.environ.get("STRUCTPRED_DATA", "")
    path = os.path.join(data_home, "conll2000", "svmhmm", "train.dat.gz")
    if not os.path.exists(path):
        sys.exit(f"no CoNLL-2000 svm_hmm training file at {path} (set STRUCTPRED_DATA)")
    data = read_svmhmm(path)
    spent = {"seconds": 0.0, "calls": 0}
    check = base.check_answer

    def counted(*a, **k):
        t = time.thread_time()
        try:
            return check(*a, **k)
        finally:
            spent["seconds"] += time.thread_time() - t
            spent["calls"] += 1
    base.check_answer = counted
    StructuredSVM(SequenceLabeling(n_labels=data.max_tag), C=1.0, eps=1.0).fit(data.X[:20], data.Y[:20])
    for C in args.C:
        spent.update(seconds=0.0, calls=0)
        t = time.process_time()
        svm = StructuredSVM(SequenceLabeling(n_labels=data.max_tag), C=C, eps=args.eps,
                            n_jobs=1).fit(data.X, data.Y)
        fit = time.process_time() - t
        print(f"C={C:g}: fit {fit:.2f} s CPU, {svm.n_iter_} passes, {spent['calls']} checked "
              f"answers, checks {spent['seconds']:.3f} s CPU ({100 * spent['seconds'] / fit:.1f}%)")


if __name__ == "__main__":
    main()
