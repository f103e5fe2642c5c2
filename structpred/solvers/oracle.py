"""Oracle backends: one pass of the separation oracle over the training set, at a given w.

A backend is called with w and returns (D, L): the n x d CSR matrix of δΨ_i = Ψ(x_i, y_i) -
Ψ(x_i, ŷ_i) and the losses Δ(y_i, ŷ_i), for the most violated ŷ_i of every example (margin or
slack rescaling). The solvers only see this interface, so where the oracle runs (one thread,
several threads, a cluster) never changes the task code or the result.

``LocalOracle`` splits the set into ``n_jobs`` contiguous chunks, builds each chunk's batch once
(``model.make_batch``) and runs the chunks on threads; numba kernels compiled with
``nogil=True`` then run in parallel. Results are identical to ``n_jobs=1``.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp

from ..parallel import chunk_bounds, effective_jobs

__all__ = ["LocalOracle", "BlockOracleMixin", "chunk_bounds", "block_bounds", "slice_examples",
           "run_oracle"]


def block_bounds(n: int, block_size: int) -> list[tuple[int, int]]:
    """Contiguous (start, stop) blocks of ``block_size`` examples (the last may be shorter)."""
    block_size = max(1, int(block_size))
    return [(a, min(a + block_size, n)) for a in range(0, n, block_size)]


def slice_examples(X, start: int, stop: int):
    """X[start:stop] for arrays, sparse matrices and lists alike."""
    if hasattr(X, "shape") and not isinstance(X, list):
        return X[start:stop]
    return [X[i] for i in range(start, stop)]


def run_oracle(model, batch, w, rescaling):
    """(D, L, seconds in the argmax, seconds building δΨ) of the model's oracle on one batch."""
    t0 = time.perf_counter()
    if rescaling == "margin":
        Y_hat = model.batch_loss_augmented_inference(batch, w, n_jobs=1)
    else:
        Y_hat = model.batch_slack_rescaled_inference(batch, w, n_jobs=1)
    L = np.asarray(model.batch_loss(batch, Y_hat), dtype=np.float64)
    t1 = time.perf_counter()
    D = model.batch_delta_joint_feature(batch, Y_hat)
    if not (isinstance(D, sp.csr_matrix) and D.dtype == np.float64):
        D = sp.csr_matrix(D, dtype=np.float64)   # already a float64 CSR matrix: no copy
    return D, L, t1 - t0, time.perf_counter() - t1


class BlockOracleMixin:
    """Per-block oracle calls on this machine, for block-coordinate solvers.

    Needs ``self.model``, ``self.rescaling`` and the training data ``self.X``, ``self.Y``.
    A block's batch is built on first use and kept, so each example is batched once per
    block size."""

    def blocks(self, block_size: int = 1) -> list[tuple[int, int]]:
        """Cut range(n) into contiguous blocks of ``block_size``; returns their (start, stop)."""
        block_size = max(1, int(block_size))
        if getattr(self, "_block_size", None) != block_size:
            self._block_size = block_size
            self.block_ranges = block_bounds(self.n, block_size)
            self._block_batches = [None] * len(self.block_ranges)
        return self.block_ranges

    def call_block(self, w, k: int):
        """(D_k, L_k): δΨ rows and losses of the most violated outputs of block k at w."""
        batch = self._block_batches[k]
        if batch is None:
            a, b = self.block_ranges[k]
            batch = self.model.make_batch(slice_examples(self.X, a, b), slice_examples(self.Y, a, b))
            self._block_batches[k] = batch
        D, L, t_oracle, t_psi = run_oracle(self.model, batch, w, self.rescaling)
        self.last_times = {"oracle": t_oracle, "psi": t_psi}
        return D, L


class LocalOracle(BlockOracleMixin):
    """The oracle over (X, Y) on this machine, on ``n_jobs`` threads."""

    def __init__(self, model, X, Y, rescaling="margin", n_jobs=1):
        self.model = model
        self.rescaling = rescaling
        self.X = X
        self.Y = Y
        self.n = len(X)
        self.n_jobs = effective_jobs(n_jobs)
        self.bounds = chunk_bounds(self.n, self.n_jobs)
        self.batches = [model.make_batch(slice_examples(X, a, b), slice_examples(Y, a, b))
                        for a, b in self.bounds]
        model.check_rescaling(rescaling, self.batches[0] if self.batches else None)
        self._pool = ThreadPoolExecutor(self.n_jobs) if len(self.batches) > 1 else None
        self.last_times = {"oracle": 0.0, "psi": 0.0}
        self.last_chunk_cpu: list[float] = []

    def __call__(self, w):
        """(D, L) at w; ``last_times`` holds the seconds spent in the argmax ("oracle") and in
        building δΨ ("psi"), averaged over the threads, and ``last_chunk_cpu`` the CPU
        seconds of each chunk's thread (how evenly the work split)."""
        w = np.ascontiguousarray(w, dtype=np.float64)

        def part(batch):
            t = time.thread_time()
            out = run_oracle(self.model, batch, w, self.rescaling)
            return out + (time.thread_time() - t,)
        if self._pool is None:
            parts = [part(self.batches[0])]
        else:
            parts = list(self._pool.map(part, self.batches))
        self.last_times = {"oracle": sum(p[2] for p in parts) / len(parts),
                           "psi": sum(p[3] for p in parts) / len(parts)}
        self.last_chunk_cpu = [p[4] for p in parts]
        if len(parts) == 1:
            return parts[0][0], parts[0][1]
        return sp.vstack([p[0] for p in parts], format="csr"), np.concatenate([p[1] for p in parts])

    def close(self):
        """Shut down the oracle's thread pool (idempotent)."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
