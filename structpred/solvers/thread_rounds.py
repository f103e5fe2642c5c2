"""CoCoA+'s partitions on the threads of this process: the n-slack solver on two or more cores.

The n-slack dual (SVM-struct's C convention, as in ``dcd`` and ``cocoa``)::

    max_α Σ α_iy b_iy - ½‖Σ α_iy a_iy‖²,   α >= 0,  Σ_y α_iy <= C/n,   w = Σ α a,

is solved by CoCoA+ rounds (``cocoa.fit_cocoa``) over K contiguous partitions of the examples.
``ThreadRoundsOracle`` is the backend that serves those rounds (``serves_local_rounds``, the
interface the Dask backend implements): each partition keeps its batch (built once) and its
dual state (``cocoa.new_partition``), and a round's two halves run one partition per task on
a pool of ``n_jobs`` threads:

* ``round_pass(w)``: each partition's oracle pass at w (guard-checked), kept for its step;
  the partitions' hinge sums in partition order;
* ``round_step(w, step, ...)``: each partition's ``step`` (``cocoa.partition_step``: its
  working sets, its row calls at its local point), results in partition order.

The partitions share nothing but w, which every step only reads, and the driver adds their
w_k in partition order: w depends on the seed and K only, and is bit for bit the in-process
emulation's (``fit_cocoa`` on a ``LocalOracle`` with ``n_partitions=K``), whatever the
threads' timing. The heavy work (Viterbi, δΨ rows, block solves, slacks) is in numba kernels
compiled ``nogil=True``, so the threads run it side by side; what still holds the GIL is the
Python glue per row call (a ``batch_size`` block of examples: CSR construction, the guard's
and the working sets' checks, the hinge): 11% of a step's time with blocks of 32 on CoNLL
(benchmarks/results/dcd_threads.md, ``--gil``).

Measured on CoNLL-2000 (whole ``structpred learn`` runs, two cores): 1.8x slower than the
one-thread ``dcd`` at C = 1000 (CoCoA+ needs 19 rounds of σ' = 2-scaled local steps where
``dcd`` needs 12 passes), as fast at C = 100, 1.4x faster on CoNLL x 4.

This is ``StructuredSVM(algorithm="n-slack-cocoa", n_jobs=K)`` on the local backend (K >= 2;
``solver_options={"n_partitions": P}`` for P partitions on K threads). It does not change the
default solver: ``n-slack`` (``dcd``) is sequential by nature and stays one thread.
"""
from __future__ import annotations

import time
from concurrent.futures import wait

import numpy as np

from ..errors import InvalidInputError
from ..parallel import effective_jobs
from .oracle import LocalOracle, partition_pass, partition_rows

__all__ = ["ThreadRoundsOracle"]


class ThreadRoundsOracle(LocalOracle):
    """The oracle over (X, Y) cut into ``n_partitions`` contiguous partitions (default
    ``n_jobs``; the cut of ``chunk_bounds``, as the emulation's), each with its batch, run on
    ``n_jobs`` threads; serves CoCoA+'s local rounds (module docstring). Full passes and row
    calls are ``LocalOracle``'s over the same batches (the same answers)."""

    serves_local_rounds = True

    def __init__(self, model, X, Y, rescaling="margin", n_jobs=2, n_partitions=None):
        parts = effective_jobs(n_jobs) if n_partitions is None else n_partitions
        if isinstance(parts, bool) or int(parts) != parts or parts < 1:
            raise InvalidInputError(f"n_partitions must be None or an integer >= 1, got "
                                    f"{n_partitions!r}")
        super().__init__(model, X, Y, rescaling, n_jobs=n_jobs, n_chunks=int(parts))
        self._states = None
        self.last_round_bytes = {"w_in": 0, "out": [0] * len(self.bounds)}   # shared memory

    # ------------------------------------------------------------ partitioned solvers
    def partition_bounds(self, n_partitions=None):
        """The partitions' example ranges; asking for another count than the backend holds is
        an error (its batches are built per partition)."""
        if n_partitions is not None and int(n_partitions) != len(self.bounds):
            raise InvalidInputError(f"n_partitions={n_partitions!r}: this thread backend holds "
                                    f"{len(self.bounds)} partitions (build it with "
                                    f"n_partitions={n_partitions!r})")
        return list(self.bounds)

    def start_local(self, factory, *args):
        """Build ``factory(k, n_k, *args)``, partition k's state, for every partition."""
        self._states = [factory(k, b - a, *args) for k, (a, b) in enumerate(self.bounds)]

    def _map(self, task):
        """[task(k) for each partition k] on the pool, in partition order. On an exception in
        a task or Ctrl-C here, waits for the tasks already running (no thread goes on
        changing a partition's state after the solver returns) and raises it."""
        K = len(self.bounds)
        if self._pool is None:
            return [task(k) for k in range(K)]
        futures = [self._pool.submit(task, k) for k in range(K)]
        try:
            return [f.result() for f in futures]
        except BaseException:
            for f in futures:
                f.cancel()
            wait(futures)
            raise

    def round_pass(self, w, exact=True):
        """A round's first half: each partition's oracle pass at w (guard-checked), kept on
        its state for ``round_step``; returns dicts ("hinge": Σ max(0, hinge_i) at w,
        "pass_seconds": wall, "pass_cpu": the thread's CPU) in partition order."""
        w = np.ascontiguousarray(w, dtype=np.float64)

        def one(k):
            t0, c0 = time.perf_counter(), time.thread_time()
            h = partition_pass(self.model, self.batches[k], self._states[k], w, self.rescaling,
                               exact, self.bounds[k][0],
                               f" (partition {k}'s pass on a thread)")
            return {"hinge": h, "pass_seconds": time.perf_counter() - t0,
                    "pass_cpu": time.thread_time() - c0}
        return self._map(one)

    def round_step(self, w, step, *args, exact=True):
        """A round's second half: ``step(state, w, D, L, margins, rows, *args)`` on each
        partition (its pass from ``round_pass``, or None) with ``rows`` its row oracle (None
        when the task serves no row calls); the steps' dicts, in partition order, with
        "seconds" (wall) and "cpu" (the thread's CPU) added. w is only read."""
        w = np.ascontiguousarray(w, dtype=np.float64)

        def one(k):
            t0, c0 = time.perf_counter(), time.thread_time()
            a, b = self.bounds[k]
            state = self._states[k]
            pending = getattr(state, "pending", None) or (None, None, None)
            state.pending = None
            rows = partition_rows(self.model, self.batches[k], b - a, a, self.rescaling, exact,
                                  f" (row call of partition {k} on a thread)")
            out = step(state, w, *pending, rows, *args)
            out["seconds"] = time.perf_counter() - t0
            out["cpu"] = time.thread_time() - c0
            return out
        return self._map(one)

    def solve_partition(self, solver, **kwargs):
        """With one partition there is nothing to combine: ``solver(model, self, **kwargs)``
        (e.g. ``fit_dcd``) on this backend; its warnings are raised here as they come."""
        if len(self.bounds) != 1:
            raise InvalidInputError(f"solve_partition needs one partition, the backend holds "
                                    f"{len(self.bounds)}")
        t0, c0 = time.perf_counter(), time.process_time()
        result = solver(self.model, self, **kwargs)
        result.extra.update(worker_warnings=[], worker_seconds=time.perf_counter() - t0,
                            worker_cpu=time.process_time() - c0)
        return result

    def close(self):
        """Drop the partitions' states and shut the threads down (idempotent)."""
        self._states = None
        LocalOracle.close(self)
