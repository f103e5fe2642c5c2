"""CoCoA+ on Dask against the one-thread local n-slack solver, CoNLL-2000 repeated 4x.

    STRUCTPRED_DATA=... python benchmarks/dask_conll.py [--repeat 4] [--C 1000] [--eps 0.1]

Runs, each in its own process (so peak RSS is per run): ``local`` (StructuredSVM n-slack, one
thread), ``dask2`` (LocalCluster, 2 worker processes x 1 thread), ``dask1`` (1 worker). Reports
wall (fit only; reading and the cluster start apart), primal, rounds, peak RSS of the driver and
of each worker, per-round message sizes (w sent to each worker, w_k returned) and per-round
compute. The numba cache is warmed first (a tiny fit in each process), so compile time is not
in any figure. Results go to stdout as JSON lines.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _maxrss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def child(mode: str, repeat: int, C: float, eps: float) -> dict:
    sys.path.insert(0, ROOT)
    from structpred import StructuredSVM
    from structpred.datasets.svmhmm import read_svmhmm
    from structpred.tasks.sequence import SequenceLabeling
    path = os.path.join(os.environ["STRUCTPRED_DATA"], "conll2000", "svmhmm", "train.dat.gz")
    t0 = time.perf_counter()
    data = read_svmhmm(path)
    X, Y = list(data.X) * repeat, list(data.Y) * repeat
    t_read = time.perf_counter() - t0

    def model():
        return SequenceLabeling(n_labels=data.max_tag, n_features=data.n_features)
    StructuredSVM(model(), C=1.0, eps=1.0).fit(X[:20], Y[:20])     # warm numba cache
    out = {"mode": mode, "n": len(X), "read_s": t_read}
    if mode == "local":
        svm = StructuredSVM(model(), C=C, eps=eps, n_jobs=1)
        t1 = time.perf_counter()
        svm.fit(X, Y)
        out["fit_s"] = time.perf_counter() - t1
    else:
        import distributed
        k = int(mode[4:])
        t1 = time.perf_counter()
        with distributed.LocalCluster(n_workers=k, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster, \
                distributed.Client(cluster, set_as_default=False) as client:
            out["cluster_start_s"] = time.perf_counter() - t1

            def warm():
                StructuredSVM(model(), C=1.0, eps=1.0).fit(X[:20], Y[:20])
            client.run(warm)
            svm = StructuredSVM(model(), C=C, eps=eps, backend="dask", client=client)
            t2 = time.perf_counter()
            svm.fit(X, Y)
            out["fit_s"] = time.perf_counter() - t2
            out["worker_rss_mb"] = sorted(client.run(_maxrss_mb).values())
        extra = svm.solver_extra_
        rb = extra["round_bytes"]
        out["w_in_bytes"] = rb[0]["w_in"] if rb else None
        out["w_out_bytes"] = max(max(r["out"]) for r in rb) if rb else None
        loc = [max(h["local_seconds"]) for h in svm.history_]
        out["round_local_s_median"] = sorted(loc)[len(loc) // 2]
        rs = [h["round_seconds"] for h in svm.history_]
        out["round_wall_s_median"] = sorted(rs)[len(rs) // 2]
    out.update(primal=svm.primal_objective_, dual=svm.dual_objective_, iters=svm.n_iter_,
               converged=svm.converged_, d=int(svm.w_.shape[0]), timings=svm.timings_,
               driver_rss_mb=_maxrss_mb())
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=4)
    ap.add_argument("--C", type=float, default=1000.0)
    ap.add_argument("--eps", type=float, default=0.1)
    ap.add_argument("--modes", default="local,dask2,dask1")
    ap.add_argument("--child", default=None)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.child, a.repeat, a.C, a.eps)), flush=True)
        return
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    for mode in a.modes.split(","):
        subprocess.run([sys.executable, __file__, "--child", mode, "--repeat", str(a.repeat),
                        "--C", str(a.C), "--eps", str(a.eps)], env=env, check=True)


if __name__ == "__main__":
    main()
