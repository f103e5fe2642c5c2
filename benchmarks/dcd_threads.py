"""Oracle phase on 1 and 2 threads, CoNLL-2000 svm_hmm training file: a full pass
(``LocalOracle``, n_jobs chunks) and a fresh pass of the n-slack DCD solver (blocks of
``--block`` examples at the current w, each cut into one piece per thread).

    python benchmarks/dcd_threads.py [--block 256] [--repeat 4]

Prints wall and process CPU seconds per pass with the load average: on a shared machine a
2-thread speedup shows only while the second core is free (CPU > wall).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--block", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=4)
    ap.add_argument("--data-home", default=None)
    args = ap.parse_args(argv)
    from structpred.datasets.home import get_data_home
    from structpred.datasets.svmhmm import read_svmhmm
    from structpred.solvers.dcd import RowOracle
    from structpred.solvers.oracle import LocalOracle
    from structpred.tasks.sequence import SequenceLabeling
    path = get_data_home(args.data_home) / "conll2000" / "svmhmm" / "train.dat.gz"
    if not path.exists():
        sys.exit(f"{path} not found: set STRUCTPRED_DATA or --data-home")
    tr = read_svmhmm(path)
    model = SequenceLabeling(n_labels=tr.max_tag, n_features=tr.n_features)
    model.initialize(tr.X, tr.Y)
    w = np.random.default_rng(0).normal(size=model.size_joint_feature) * 0.01
    for _ in range(args.repeat):
        for nj in (1, 2):
            o = LocalOracle(model, tr.X, tr.Y, n_jobs=nj)
            ro = RowOracle(model, o, "margin", args.block)
            o(w)  # warm
            c0, t0 = time.process_time(), time.perf_counter()
            o(w)
            c1, t1 = time.process_time(), time.perf_counter()
            for k in range(len(ro.ranges)):
                ro(k, w)
            c2, t2 = time.process_time(), time.perf_counter()
            print(f"n_jobs {nj}: full pass wall {t1 - t0:.3f} s cpu {c1 - c0:.3f} s | fresh pass "
                  f"(blocks of {args.block}) wall {t2 - t1:.3f} s cpu {c2 - c1:.3f} s | "
                  f"load {os.getloadavg()[0]:.2f}", flush=True)
            ro.close()
            o.close()


if __name__ == "__main__":
    main()
