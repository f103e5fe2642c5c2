"""Thread helpers for tasks and oracle backends: how many threads, contiguous chunks, maps.

numba kernels compiled with ``nogil=True`` run in parallel on Python threads, so a batch
method can cut its examples into contiguous chunks and map a kernel over them; results are
identical for every ``n_jobs`` (each chunk writes only its own examples).
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence

import numpy as np

__all__ = ["effective_jobs", "limit_threads", "map_threads", "map_chunks", "chunk_bounds",
           "balanced_bounds"]


def effective_jobs(n_jobs: int | None) -> int:
    """Threads to use: n_jobs >= 1 as is; None -> 1; negative counts back from the number of
    CPUs (-1 = all, -2 = all but one), as in scikit-learn."""
    if n_jobs is None:
        return 1
    if n_jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    return max(1, int(n_jobs))


def map_threads(func: Callable, items: Sequence, n_jobs: int | None) -> list:
    """[func(item) for item in items], on ``effective_jobs(n_jobs)`` threads (order kept)."""
    items = list(items)
    jobs = effective_jobs(n_jobs)
    if jobs == 1 or len(items) < 2:
        return [func(it) for it in items]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(func, items))


def map_chunks(func: Callable, bounds: Sequence[tuple[int, int]], n_jobs: int | None) -> list:
    """[func(start, stop) for each (start, stop) in bounds], on threads (order kept)."""
    return map_threads(lambda c: func(*c), bounds, n_jobs)


def chunk_bounds(n: int, n_chunks: int) -> list[tuple[int, int]]:
    """Contiguous (start, stop) ranges covering range(n) in n_chunks near-equal parts."""
    n_chunks = max(1, min(n_chunks, n))
    edges = np.linspace(0, n, n_chunks + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def balanced_bounds(offsets: np.ndarray, n_chunks: int) -> list[tuple[int, int]]:
    """Contiguous example ranges with about equal total size, example i having size
    offsets[i+1] - offsets[i] (e.g. tokens of a sequence); at most n_chunks ranges."""
    n = len(offsets) - 1
    if n_chunks <= 1 or n < 2:
        return [(0, n)]
    k = min(n, n_chunks)
    cuts = np.searchsorted(offsets, np.linspace(0, offsets[-1], k + 1)[1:-1])
    bounds = np.unique(np.concatenate([[0], np.clip(cuts, 0, n), [n]]))
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def limit_threads(n_jobs: int | None):
    """Context manager: at most ``effective_jobs(n_jobs)`` threads in the native libraries we
    call too (OpenBLAS/MKL run one thread per core for numpy's dense products, e.g. ‖w‖² over
    d = 2M, even at n_jobs=1). Our numba kernels are not parallel, so numba starts none."""
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=effective_jobs(n_jobs))
