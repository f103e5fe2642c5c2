"""A Dask LocalCluster for training: one-thread worker processes whose background monitors
wake up rarely.

Every Dask server (the scheduler, each nanny, each worker) runs periodic callbacks on its
event loop: a "tick" that measures the loop's delay (every 20 ms), a system monitor (psutil,
every 500 ms), a worker's memory monitor (every 100 ms) and, on workers, a statistical
profiler (a thread that samples the running task's stack every 10 ms). Each is cheap, but on
a machine whose cores all run training they take turns with the solver's threads: with 2
idle one-thread workers on 2 cores, the processes of a default LocalCluster used 1.12 CPU
seconds per 10 s (0.47 the driver's scheduler, client and nannies, 0.34 and 0.31 the
workers), against 0.18 s with :data:`QUIET_MONITORS` (0.10, 0.03, 0.05). On CoNLL-2000 x 4
(C = 1000, 2 workers, 2 cores) the fit took 3.72 s against 4.01 s (medians of ten pairs in
turn, 8 of them faster; ``benchmarks/results/dask_conll.md``). Dask's own test clusters
turn the profiler and the fast tick off for the same reason (``distributed.utils_test``).

What the settings give up: the dashboard's profile pages stay empty, its system plots are
refreshed every 5 s, a worker past its memory limit is seen within 0.5 s (not 0.1 s), and
"event loop unresponsive" warnings are measured once a second. Training needs none of them.

For a cluster started elsewhere (``dask scheduler`` / ``dask worker``), the same settings go
in its Dask configuration (e.g. the environment variables
``DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False``,
``DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL=1s``,
``DASK_DISTRIBUTED__ADMIN__SYSTEM_MONITOR__INTERVAL=5s``,
``DASK_DISTRIBUTED__WORKER__MEMORY__MONITOR_INTERVAL=500ms`` on every process).
"""
from __future__ import annotations

from contextlib import contextmanager

__all__ = ["QUIET_MONITORS", "quiet_monitors", "local_cluster"]

#: Dask settings under which a training cluster's background monitors wake up rarely
#: (module docstring).
QUIET_MONITORS = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "500ms",
}


@contextmanager
def quiet_monitors():
    """Dask's configuration with :data:`QUIET_MONITORS` inside the block (restored after):
    servers, nannies and clients created inside read it at their start, and a nanny hands
    it to the worker process it starts."""
    import dask
    with dask.config.set(QUIET_MONITORS):
        yield


def local_cluster(n_workers: int, **kwargs):
    """A ``distributed.LocalCluster`` of ``n_workers`` one-thread worker processes (no
    dashboard) started under :func:`quiet_monitors`; ``kwargs`` go to ``LocalCluster`` (and
    may override those defaults). Close it (or use it as a context manager) when done."""
    from distributed import LocalCluster
    if isinstance(n_workers, bool) or int(n_workers) != n_workers or n_workers < 1:
        raise ValueError(f"n_workers must be an integer >= 1, got {n_workers!r}")
    options = dict(n_workers=int(n_workers), threads_per_worker=1, processes=True,
                   dashboard_address=None)
    options.update(kwargs)
    with quiet_monitors():
        return LocalCluster(**options)
