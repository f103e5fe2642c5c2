"""dask_cluster.local_cluster: the training LocalCluster whose background monitors wake up
rarely, in the driver and in the worker processes the nannies start; the CLI's
``--n-workers`` cluster is that one."""
from types import SimpleNamespace

import pytest

from structpred.solvers.dask_cluster import QUIET_MONITORS, local_cluster, quiet_monitors

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")


def _settings(dask_worker):
    """On a worker (``Client.run``): its Dask settings for QUIET_MONITORS' keys, and whether
    its statistical profiler is scheduled."""
    import dask as dask_
    return ({k: dask_.config.get(k) for k in QUIET_MONITORS},
            "profile" in dask_worker.periodic_callbacks)


def _assert_quiet(client):
    for settings, profiling in client.run(_settings).values():
        assert settings == QUIET_MONITORS
        assert not profiling


def test_the_worker_processes_get_the_quiet_settings_and_the_driver_keeps_its_own():
    before = {k: dask.config.get(k) for k in QUIET_MONITORS}
    assert before != QUIET_MONITORS            # else this test could not fail
    with local_cluster(1) as cluster, distributed.Client(cluster,
                                                         set_as_default=False) as client:
        _assert_quiet(client)                  # handed over by the nanny to its process
        assert cluster.scheduler.periodic_callbacks["tick"].callback_time == 1000
        assert {k: dask.config.get(k) for k in QUIET_MONITORS} == before


def test_the_options_override_the_defaults():
    with local_cluster(2, processes=False) as cluster:
        assert len(cluster.workers) == 2
        assert all(w.state.nthreads == 1 for w in cluster.workers.values())
        assert all("profile" not in w.periodic_callbacks for w in cluster.workers.values())
    with quiet_monitors():
        assert {k: dask.config.get(k) for k in QUIET_MONITORS} == QUIET_MONITORS


@pytest.mark.parametrize("n", [0, -1, 1.5, True, "2"])
def test_the_number_of_workers_must_be_a_positive_integer(n):
    with pytest.raises((ValueError, TypeError)):
        local_cluster(n)


def test_the_cli_cluster_is_the_quiet_one():
    from structpred.cli.cluster import _close, _start

    job = _start(SimpleNamespace(scheduler=None, n_workers=1), None)
    client = job[0]
    try:
        _assert_quiet(client)
    finally:
        _close(SimpleNamespace(result=lambda timeout=None: job))
