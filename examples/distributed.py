"""Training on a Dask cluster: the n-slack structural SVM as CoCoA+ over the workers.

    python examples/distributed.py [--scheduler tcp://host:8786 | --n-workers 2] [--C 10]

Without --scheduler a LocalCluster of --n-workers processes (1 thread each) is started here.
Generates a random-HMM sequence labelling problem, trains it on the cluster (each worker keeps
its share of the examples and of the dual working sets; per round only w and each worker's
w_k travel; with one worker the local solver runs there and only w comes back) and on this
machine, and prints both primal objectives, the certified gaps and the bytes that travelled. On a cluster the objective is SVM-struct's n-slack one,
½‖w‖² + (C/n) Σ ξ_i; training stops at a certified gap <= C·eps.
"""
import argparse
import os
import sys

# this file shares its name with the dask.distributed package: keep its folder off the path
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]


from structpred import StructuredSVM  # noqa: E402
from structpred.datasets import make_hmm_sequences  # noqa: E402
from structpred.solvers.dask_cluster import local_cluster  # noqa: E402
from structpred.tasks import SequenceLabeling  # noqa: E402


def hmm_data(n_seq=600, n_labels=4, n_features=30, seed=0):
    """Sequences from a random HMM (structpred.datasets.make_hmm_sequences)."""
    X, Y = make_hmm_sequences(n_seq, n_labels, n_features, random_state=seed)
    return X, Y, n_labels, n_features


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scheduler", default=None, help="address of a running Dask scheduler")
    ap.add_argument("--n-workers", type=int, default=2, help="LocalCluster size (>= 1)")
    ap.add_argument("--C", type=float, default=10.0)
    ap.add_argument("--eps", type=float, default=0.01)
    args = ap.parse_args()
    if args.n_workers < 1:
        ap.error(f"--n-workers must be >= 1, got {args.n_workers}")
    import distributed

    X, Y, n_labels, n_features = hmm_data()
    kw = dict(C=args.C, eps=args.eps)
    if args.scheduler:
        client = distributed.Client(args.scheduler, timeout=10)
        cluster = None
    else:
        # one-thread worker processes whose background monitors wake up rarely
        cluster = local_cluster(args.n_workers)
        client = distributed.Client(cluster)
    try:
        remote = StructuredSVM(SequenceLabeling(n_labels=n_labels, n_features=n_features),
                               backend="dask", client=client, **kw).fit(X, Y)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    local = StructuredSVM(SequenceLabeling(n_labels=n_labels, n_features=n_features),
                          **kw).fit(X, Y)
    extra = remote.solver_extra_
    setup = extra["setup"]
    if extra.get("local_solver"):   # one worker: the local solver ran there, w came back once
        print(f"cluster: 1 partition, the local n-slack solver ran on the worker: "
              f"{remote.n_iter_} passes, primal {remote.primal_objective_:.4f}, certified gap "
              f"{remote.duality_gap_:.3g} (<= C·eps = {args.C * args.eps:g}); w sent back "
              f"once ({extra.get('w_bytes', 8 * remote.w_.shape[0]):,} bytes)")
    else:
        rounds = extra["round_bytes"]     # w and w_k travel as their nonzeros when smaller
        w_in = max(r["w_in"] for r in rounds)
        w_out = max(max(r["out"]) for r in rounds)
        print(f"cluster: {extra['partitions']} partitions, {remote.n_iter_} rounds, primal "
              f"{remote.primal_objective_:.4f}, certified gap {remote.duality_gap_:.3g} "
              f"(<= C·eps = {args.C * args.eps:g}); per round at most {w_in:,} bytes to each "
              f"worker, {w_out:,} back from each (w dense: {8 * remote.w_.shape[0]:,})")
    print(f"         set-up {setup['wall']:.2f} s (examples sent once: "
          f"{sum(setup['bytes']):,} bytes), training {remote.timings_['total']:.2f} s")
    print(f"local:   {local.n_iter_} passes, primal {local.primal_objective_:.4f}, gap "
          f"{local.duality_gap_:.3g}")


if __name__ == "__main__":
    main()
