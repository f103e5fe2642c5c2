"""Shared fixtures: the data home and a skip marker for real-data tests."""
from __future__ import annotations

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
