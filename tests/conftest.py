"""Shared fixtures: the data home, a skip marker for real-data tests, a Dask test cluster."""
from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from structpred.datasets.home import get_data_home


def data_file(relative: str) -> Path:
    """Path of a real-data file under the data home, or skip the test with the reason."""
    path = get_data_home() / relative
    if not path.exists():
        pytest.skip(f"real data {relative} not found under {get_data_home()} "
                    "(set STRUCTPRED_DATA to the shared data folder)")
    return path


@pytest.fixture
def data_home():
    return get_data_home()


@contextlib.contextmanager
def dask_client(n_workers: int, processes: bool = False):
    """A Dask client on a LocalCluster of ``n_workers`` one-thread workers (threads of this
    process unless ``processes``), closed on exit; skips the test without ``distributed``."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1,
                                  processes=processes, dashboard_address=":0") as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        yield client
