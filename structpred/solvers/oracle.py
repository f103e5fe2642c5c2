"""Oracle backends: the one seam between the solvers and a task.

Every solver reaches the task only through an ``OracleBackend`` (and ``SolverRun``, which
times, counts and checks every answer, ``structpred.solvers.guard``). A backend answers, at a
given w, with (D, L): the CSR matrix of δΨ_i = Ψ(x_i, y_i) - Ψ(x_i, ŷ_i) and the losses
Δ(y_i, ŷ_i) of the most violated ŷ_i (margin or slack rescaling) of

* every example: ``backend(w)`` (a full pass);
* block k of ``backend.blocks(block_size)``: ``backend.call_block(w, k)``;
* the examples ``index`` (increasing): ``backend.call_rows(w, index)``, when
  ``backend.rows_available`` (the task declares ``batch_oracle_rows``, margin rescaling).

w always comes first. Where the oracle runs (one thread, several threads, a cluster) never
changes the task code or the answers.

``LocalOracle`` splits the set into ``n_jobs`` contiguous chunks, builds each chunk's batch once
(``model.make_batch``) and runs the chunks on threads; numba kernels compiled with
``nogil=True`` then run in parallel. Results are identical to ``n_jobs=1``. Its row calls read
the rows of those same batches (no new batch) and cut a call into one piece per thread.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp

from ..model import has_hook
from ..parallel import chunk_bounds, effective_jobs
from .guard import check_answer
from .objective import hinge

__all__ = ["OracleBackend", "LocalOracle", "BlockOracleMixin", "rows_declared", "rows_on",
           "chunk_bounds", "block_bounds", "slice_examples", "run_oracle", "partition_pass",
           "partition_rows"]


def block_bounds(n: int, block_size: int) -> list[tuple[int, int]]:
    """Contiguous (start, stop) blocks of ``block_size`` examples (the last may be shorter)."""
    block_size = max(1, int(block_size))
    return [(a, min(a + block_size, n)) for a in range(0, n, block_size)]


def slice_examples(X, start: int, stop: int):
    """X[start:stop] for arrays, sparse matrices and lists alike (and for containers that
    declare ``slices_as_examples``, e.g. the sequence task's stacked sets: their own slice)."""
    if (hasattr(X, "shape") and not isinstance(X, list)) or getattr(X, "slices_as_examples", False):
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


def rows_declared(model, rescaling: str) -> bool:
    """Whether the task serves per-example row calls: it declares ``batch_oracle_rows`` (the
    contract's optional hook, detected with ``has_hook`` like slack rescaling) and the
    rescaling is margin."""
    return rescaling == "margin" and has_hook(model, "batch_oracle_rows")


#: Smallest number of examples per thread for which ``rows_on`` cuts a row call over its
#: pool: below it the call runs on the calling thread (cut only where it crosses batches).
ROWS_PER_THREAD = 128


def rows_on(model, batches, bounds, pool, w, index):
    """(D, L) of the examples ``index`` (increasing) from the batches that hold the contiguous
    example ranges ``bounds``: one ``batch_oracle_rows`` call per piece, the call cut into one
    piece per thread of ``pool`` (None: one thread) and again where it crosses from one batch
    to the next. All pieces use the same w, so the answers do not depend on the cut."""
    index = np.ascontiguousarray(index, dtype=np.int64)
    m = index.shape[0]
    if m == 0:
        return sp.csr_matrix((0, model.size_joint_feature)), np.zeros(0)
    if len(batches) == 1 and (pool is None or m == 1):     # one thread, one batch: one call
        a = bounds[0][0]
        D, L = model.batch_oracle_rows(batches[0], index if a == 0 else index - a, w, "margin")
        return (D if isinstance(D, sp.csr_matrix) else sp.csr_matrix(D)), np.asarray(L, dtype=np.float64)
    starts = np.array([a for a, _ in bounds], dtype=np.int64)
    chunk = np.searchsorted(starts, index, side="right") - 1
    # threads only for calls large enough to pay for the hand-off and the stacking
    jobs = len(batches) if pool is not None and m >= ROWS_PER_THREAD * len(batches) else 1
    cuts = sorted(set(np.linspace(0, m, min(jobs, m) + 1).round().astype(int).tolist())
                  | set((np.flatnonzero(np.diff(chunk)) + 1).tolist()))
    parts = [(int(chunk[lo]), index[lo:hi] - starts[chunk[lo]]) for lo, hi in zip(cuts[:-1], cuts[1:])]

    def part(p):
        return model.batch_oracle_rows(batches[p[0]], p[1], w, "margin")
    if len(parts) == 1 or pool is None:
        out = [part(p) for p in parts]
    else:
        out = list(pool.map(part, parts))
    if len(out) == 1:
        D, L = out[0]
    else:
        D = sp.vstack([o[0] for o in out], format="csr")
        L = np.concatenate([o[1] for o in out])
    return sp.csr_matrix(D), np.asarray(L, dtype=np.float64)


def partition_pass(model, batch, state, w, rescaling, exact, index0, where):
    """A CoCoA+ partition's oracle pass at w over its ``batch`` (guard-checked, errors naming
    example ``index0`` + i and ``where``), kept on ``state`` (``state.pending`` = (D, L,
    margins)) for the step that follows; returns its hinge sum Σ max(0, hinge_i) at w."""
    D, L, _t_oracle, _t_psi = run_oracle(model, batch, w, rescaling)
    D, L, margins = check_answer(D, L, w, d=model.size_joint_feature, m=int(np.shape(L)[0]),
                                 index=index0, rescaling=rescaling, exact=exact,
                                 task=type(model).__name__, where=where)
    state.pending = (D, L, margins)
    return float(np.maximum(hinge(L, margins, rescaling), 0.0).sum())


def partition_rows(model, batch, m, index0, rescaling, exact, where):
    """A CoCoA+ partition's row oracle over its ``batch`` of ``m`` examples: rows(v, idx) ->
    (D, L, margins) of its examples ``idx`` at v (guard-checked, errors naming example
    ``index0`` + idx and ``where``); None when the task serves no row calls."""
    if not rows_declared(model, rescaling):
        return None
    d, task = model.size_joint_feature, type(model).__name__

    def rows(v, idx):
        Dr, Lr = rows_on(model, [batch], [(0, m)], None, v, idx)
        return check_answer(Dr, Lr, v, d=d, m=len(idx), index=np.asarray(idx) + index0,
                            rescaling=rescaling, exact=exact, task=task, where=where)
    return rows


class OracleBackend:
    """The oracle interface every solver uses and every backend implements (see the module
    docstring). A backend sets ``model``, ``rescaling``, ``n`` and the training data ``X``,
    ``Y``, and implements ``__call__(w)``; per-block and per-row calls run on this machine by
    default, from batches built on first use (each example batched once per block size, and
    once for rows), which a backend may override. ``last_times`` holds the seconds of the last
    call by phase ("oracle": the argmax, "psi": building δΨ)."""

    model = None
    rescaling = "margin"
    n = 0
    last_times: dict = {}

    def __call__(self, w):
        """(D, L) of every example at w."""
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(w)")

    # ------------------------------------------------------------ blocks
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

    # ------------------------------------------------------------ rows
    @property
    def rows_available(self) -> bool:
        """Whether ``call_rows`` is served (``rows_declared``)."""
        return rows_declared(self.model, self.rescaling)

    def call_rows(self, w, index):
        """(D, L) of the examples ``index`` (increasing ints) at w; margin rescaling, for a
        task that declares ``batch_oracle_rows``. Default: on this machine, from one batch of
        the whole training set built on first use."""
        if not self.rows_available:
            raise NotImplementedError(
                f"{type(self.model).__name__} serves no per-example row calls"
                + ("" if self.rescaling == "margin" else " with slack rescaling")
                + ": declare batch_oracle_rows (see StructuredModel), or use full passes")
        if getattr(self, "_row_batch", None) is None:
            self._row_batch = self.model.make_batch(self.X, self.Y)
        t0 = time.perf_counter()
        out = rows_on(self.model, [self._row_batch], [(0, self.n)], None,
                      np.ascontiguousarray(w, dtype=np.float64), index)
        self.last_times = {"oracle": time.perf_counter() - t0}
        return out

    # ------------------------------------------------------------ partitions
    #: whether ``round_pass`` / ``round_step`` run a solver's per-partition step where the
    #: data lives (a cluster); otherwise a partitioned solver runs its steps here on full passes
    serves_local_rounds = False

    def partition_bounds(self, n_partitions=None) -> list[tuple[int, int]]:
        """The contiguous example ranges of the backend's partitions (``n_partitions`` of
        them, the same cut as ``LocalOracle(n_jobs=n_partitions)``; None: one)."""
        return chunk_bounds(self.n, max(1, int(n_partitions or 1)))

    def close(self):
        """Release threads, workers or memory held for the calls."""


#: the former name of the backend base class (per-block calls on this machine)
BlockOracleMixin = OracleBackend


class LocalOracle(OracleBackend):
    """The oracle over (X, Y) on this machine, on ``n_jobs`` threads (the examples cut into
    ``n_chunks`` contiguous chunks, default ``n_jobs``, each with its batch)."""

    def __init__(self, model, X, Y, rescaling="margin", n_jobs=1, n_chunks=None):
        n = X.shape[0] if hasattr(X, "tocsr") else len(X)   # scipy sparse: len is ambiguous
        n_jobs = effective_jobs(n_jobs)
        bounds = chunk_bounds(n, n_jobs if n_chunks is None else int(n_chunks))
        batches = [model.make_batch(slice_examples(X, a, b), slice_examples(Y, a, b))
                   for a, b in bounds]
        model.check_rescaling(rescaling, batches[0] if batches else None)
        self._hold(model, X, Y, rescaling, n, n_jobs, bounds, batches)

    def _hold(self, model, X, Y, rescaling, n, n_jobs, bounds, batches):
        """The backend's state: the examples, their chunk bounds and batches (a thread pool
        when there are several)."""
        self.model, self.rescaling, self.X, self.Y = model, rescaling, X, Y
        self.n, self.n_jobs, self.bounds, self.batches = n, n_jobs, bounds, batches
        self._pool = ThreadPoolExecutor(n_jobs) if len(batches) > 1 else None
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

    def call_rows(self, w, index):
        """(D, L) of the examples ``index`` at w, read from this backend's own chunk batches
        on its threads (O(size of those examples) per call, no new batch)."""
        if not self.rows_available:
            return OracleBackend.call_rows(self, w, index)   # the error naming the hook
        t0 = time.perf_counter()
        out = rows_on(self.model, self.batches, self.bounds, self._pool, w, index)
        self.last_times = {"oracle": time.perf_counter() - t0}
        return out

    def close(self):
        """Shut down the oracle's thread pool (idempotent)."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
