"""structpred.parallel: thread counts, contiguous chunks, order-keeping maps."""
import os
import threading

import numpy as np
import pytest

from structpred.parallel import (balanced_bounds, chunk_bounds, effective_jobs, map_chunks,
                                 map_threads)


def test_effective_jobs():
    assert effective_jobs(None) == 1 and effective_jobs(1) == 1 and effective_jobs(3) == 3
    assert effective_jobs(-1) == max(1, os.cpu_count() or 1)
    assert effective_jobs(-1000) == 1


@pytest.mark.parametrize("n,k", [(0, 1), (1, 4), (7, 3), (10, 10), (5, 9)])
def test_chunk_bounds_cover_range_contiguously(n, k):
    b = chunk_bounds(n, k)
    flat = [i for a, e in b for i in range(a, e)]
    assert flat == list(range(n)) and len(b) <= max(1, k)
    if b:
        sizes = [e - a for a, e in b]
        assert max(sizes) - min(sizes) <= 1


def test_balanced_bounds_balance_the_weights():
    sizes = np.array([1, 1, 1, 1, 10, 1, 1, 1, 1, 10])
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    b = balanced_bounds(offsets, 2)
    assert [i for a, e in b for i in range(a, e)] == list(range(10))
    weights = [int(offsets[e] - offsets[a]) for a, e in b]
    assert len(b) == 2 and abs(weights[0] - weights[1]) <= 10
    assert balanced_bounds(offsets, 1) == [(0, 10)]
    assert balanced_bounds(np.array([0]), 4) == [(0, 0)]


def test_maps_keep_order_and_use_threads():
    seen = set()

    def f(x):
        seen.add(threading.get_ident())
        return x * x
    assert map_threads(f, range(50), 3) == [x * x for x in range(50)]
    assert map_threads(f, range(5), 1) == [0, 1, 4, 9, 16]
    assert map_chunks(lambda a, b: (a, b), [(0, 2), (2, 5)], 2) == [(0, 2), (2, 5)]
