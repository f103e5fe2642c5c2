"""``structpred learn --scheduler ADDRESS | --n-workers N``: the Dask cluster, started on a
thread while this process reads the training file.

:func:`dask_cluster` starts the cluster (a LocalCluster of N one-thread worker processes) or
connects to the scheduler on a background thread, so that the workers' start-up (processes,
imports) overlaps the reading. Once connected, every worker gets a warm-up: a short fit
(:func:`warm_up`) on twelve made-up sentences (:func:`warm_examples`, read by the same
reader as the training file, so with its array types; the training file itself may be a pipe
and is read once), which loads the task's and the solver's numba kernels there (or compiles
them, on an empty cache). :meth:`PendingCluster.ready` waits for both; the caller times the
fit from there, so the fit time counts neither the cluster's start-up nor the workers' kernel
loading or compiling (the local run's fit time leaves out numba's compiles too, and its
kernels load from the cache in well under 0.1 s). On CoNLL-2000 x 4 (C = 1000, 2 workers, 2
cores) this took the whole ``learn`` process from 7.3-7.8 s to 6.8-7.1 s and the reported
training time from 4.7-5.2 s to 3.9-4.1 s (``benchmarks/results/dask_conll.md``).
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

__all__ = ["dask_cluster", "PendingCluster", "warm_up", "warm_examples", "quiet_worker",
           "quiet_teardown", "WARM_TIMEOUT"]

#: Longest wait (seconds) for the workers' warm-up before training starts anyway: a warm-up
#: that fails or hangs is only time not saved, the fit reports any real fault itself.
WARM_TIMEOUT = 300.0


class PendingCluster:
    """The Dask client being started on a thread (``dask_cluster``)."""

    def __init__(self, job):
        self._job = job
        self.start_seconds = None     # from the start request until the client was connected
        self.ready_seconds = None     # from the start request until the warm-up was done

    def ready(self):
        """The client once connected (a ClusterError for a scheduler that does not answer is
        raised here) and every worker's warm-up done (at most :data:`WARM_TIMEOUT` s: a
        warm-up that fails or hangs only saves no time; the fit reports real faults)."""
        client, _cluster, warm, t0, t_up = self._job.result()
        self.start_seconds = t_up - t0
        end = time.perf_counter() + WARM_TIMEOUT
        for future in warm:
            try:
                future.result(timeout=max(end - time.perf_counter(), 0.001))
            except Exception:
                pass
        self.ready_seconds = time.perf_counter() - t0
        return client


def warm_up(model, X, Y, svm_options) -> float:
    """On a worker, before training: a short fit (n-slack, two iterations, one thread, local
    backend, warnings silenced) of ``model`` on a few examples with the same array types as
    the training set's, so that every numba kernel a worker runs is loaded from numba's cache
    (or compiled, on an empty cache) before the training's first round, not inside it; and
    ``dask_oracle.tune_malloc``. Returns its seconds."""
    import warnings

    t0 = time.perf_counter()
    import numba  # noqa: F401  (loaded: every kernel runs compiled, as in training)

    from ..solvers.dask_oracle import tune_malloc
    from ..svm import StructuredSVM
    tune_malloc()
    options = dict(svm_options, algorithm="n-slack", max_iter=2, verbose=0, n_jobs=1,
                   backend="local")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        StructuredSVM(model, **options).fit(X, Y)
    return time.perf_counter() - t0


def quiet_worker() -> None:
    """On a worker process of the LocalCluster that ``--n-workers`` starts: Ctrl-C at the
    terminal reaches the whole process group, but it is the driver's to handle (it keeps the
    best model and closes the cluster), so the worker ignores SIGINT instead of printing a
    KeyboardInterrupt traceback; and Dask's warnings about tasks cancelled when the cluster
    closes early (a read error, Ctrl-C) go unprinted. Errors still print."""
    import logging
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.getLogger("distributed").setLevel(logging.ERROR)


def warm_examples(order: int, rescaling: str):
    """(model, X, Y, svm_options) of the workers' warm-up: twelve short sentences made up here
    and read by the svm_hmm reader, as the training file is (the same array types, so the
    same compiled kernels), for the n-slack solver (whose fit calls every kernel a worker
    runs: row calls, full passes, the working sets' sweeps)."""
    import os
    import tempfile

    from ..datasets.svmhmm import read_svmhmm
    from ..tasks.sequence import SequenceLabeling
    lines = [f"{1 + (s + t) % 3} qid:{s + 1} {1 + t}:1 {10 + (s * t) % 7}:1\n"
             for s in range(12) for t in range(2 + s % 4)]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "warm.dat")
        with open(path, "w") as f:
            f.writelines(lines)
        data = read_svmhmm(path, stacked=True)
    model = SequenceLabeling(n_labels=data.max_tag, n_features=data.n_features,
                             transition_order=order)
    return model, data.X, data.Y, {"C": 1.0, "eps": 0.1, "rescaling": rescaling}


def _start(args, warm):
    """(client, LocalCluster or None, the warm-up's futures, start time, connected time) for
    ``--scheduler`` / ``--n-workers``; ``warm`` = (model, X, Y, svm_options) for
    :func:`warm_up` on every worker as soon as the client is connected, or None."""
    t0 = time.perf_counter()
    cluster = None
    if args.scheduler is not None:
        from ..solvers.dask_oracle import connect
        client = connect(args.scheduler)
    else:
        from distributed import Client

        from ..solvers.dask_cluster import local_cluster, quiet_monitors
        cluster = local_cluster(args.n_workers)
        try:
            with quiet_monitors():      # the client's own periodic callbacks too
                client = Client(cluster, set_as_default=False)
            client.run(quiet_worker)    # our own worker processes only, not a scheduler's
        except BaseException:
            cluster.close()
            raise
    t_up = time.perf_counter()
    futures = []
    if warm is not None:
        try:
            futures = [client.submit(warm_up, *warm, workers=[w], pure=False)
                       for w in sorted(client.nthreads())]
        except Exception:   # no warm-up only saves no time; the fit reports real faults
            futures = []
    return client, cluster, futures, t0, t_up


#: Longest wait (seconds), when leaving early (a read error, Ctrl-C), for a cluster still
#: starting, so as to close it; past it the process leaves it to Dask's own exit handlers.
CLOSE_TIMEOUT = 60.0


def _close(job, wait=CLOSE_TIMEOUT):
    """Close what ``_start`` made (once it has finished starting, within ``wait`` seconds);
    an error of the start itself is the caller's to see, through ``ready``."""
    try:
        client, cluster = job.result(timeout=wait)[:2]
    except BaseException:
        return
    if cluster is not None:     # our own processes, being stopped: their teardown is not news
        try:
            client.run(quiet_teardown)
        except Exception:   # a worker already gone: nothing to quiet there
            pass
        quiet_teardown()
    try:
        client.close()
    finally:
        if cluster is not None:
            cluster.close()


def quiet_teardown() -> None:
    """In this process and on the workers of the LocalCluster it is closing: Dask's errors
    about a scheduler or worker going away (heartbeats failing, streams closed) are the
    closing itself, so only critical messages print from here on."""
    import logging
    logging.getLogger("distributed").setLevel(logging.CRITICAL)


@contextmanager
def dask_cluster(args, warm=None):
    """None without ``--scheduler`` / ``--n-workers``; else a :class:`PendingCluster` whose
    start runs on a thread from here on, closed (client and any LocalCluster) on exit.
    ``warm``: a callable giving :func:`warm_up`'s arguments (e.g. :func:`warm_examples`'s),
    called here only when a cluster is asked for."""
    if args.scheduler is None and args.n_workers is None:
        yield None
        return
    spec = warm() if warm is not None else None
    pool = ThreadPoolExecutor(1, thread_name_prefix="structpred-cluster")
    job = pool.submit(_start, args, spec)
    try:
        yield PendingCluster(job)
    finally:
        try:   # a LocalCluster is waited for (its worker processes are ours to stop); a
            # connection still being made to a scheduler is not (a read error need not wait
            # for its timeout; the process ends soon after)
            _close(job, CLOSE_TIMEOUT if args.scheduler is None else 0.0)
        finally:
            pool.shutdown(wait=False)
