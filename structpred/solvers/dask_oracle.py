"""The oracle on a Dask distributed cluster: data partitioned once and kept on the workers.

At construction the training set is cut into contiguous partitions (one per worker unless
``n_partitions`` says otherwise, the same cut as ``LocalOracle(n_jobs=n_partitions)``); each
partition's raw examples are scattered to one worker, where ``model.make_batch`` builds the
batch once and it stays in worker memory. The model is broadcast once (cloudpickle is the
transport; persistence stays pickle-free). Each call then ships only w (broadcast to the
workers), runs the oracle on every partition where it lives, and gathers the (δΨ rows,
losses) in partition order, so D and L, and hence every solver's iterates, are identical to
the local backend's.

``overheads`` lists, per call, the wall time minus the slowest partition's compute time
(shipping w, scheduling, returning D): the price of distribution per oracle pass.
Block-coordinate solvers (bcfw, subgradient) call small blocks one at a time, and the default
n-slack solver calls rows of 32 examples; a round trip per call would cost more than the
call's oracle, so ``call_block`` and ``call_rows`` run on this machine (``OracleBackend``'s
defaults, from batches built there on first use) and only full passes (the certifying passes,
gap checks) go to the cluster. The answers, hence w, are the local backend's.
"""
from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from .oracle import OracleBackend, chunk_bounds, run_oracle, slice_examples

__all__ = ["DaskOracle"]


def _make_batch(model, XY):
    return model.make_batch(*XY)


def _run_part(model, batch, w, rescaling):
    t0 = time.perf_counter()
    D, L, t_oracle, t_psi = run_oracle(model, batch, w, rescaling)
    return D, L, t_oracle, t_psi, time.perf_counter() - t0


def _resolve_client(client):
    try:
        from distributed import Client, get_client
    except ImportError:  # pragma: no cover - exercised only without dask
        raise ImportError("backend='dask' needs dask.distributed: pip install 'structpred[dask]'") from None
    if client is None:
        try:
            return get_client(), False
        except ValueError:
            raise ValueError("backend='dask' needs a running dask.distributed Client: create one "
                             "(Client(...) or LocalCluster) or pass client=<Client or scheduler "
                             "address>") from None
    if isinstance(client, str):
        return Client(client), True
    if isinstance(client, Client):
        return client, False
    raise TypeError(f"client must be a distributed.Client, a scheduler address or None, "
                    f"got {type(client).__name__}")


class DaskOracle(OracleBackend):
    """``oracle(w) -> (D, L)`` computed on the workers of a Dask cluster."""

    def __init__(self, model, X, Y, rescaling="margin", client=None, n_partitions=None):
        model.check_rescaling(rescaling)
        self.client, self._owns_client = _resolve_client(client)
        self.model = model
        self.rescaling = rescaling
        self.X = X
        self.Y = Y
        self.n = X.shape[0] if hasattr(X, "tocsr") else len(X)   # scipy sparse: len is ambiguous
        workers = sorted(self.client.scheduler_info()["workers"])
        if not workers:
            raise ValueError("the Dask cluster has no workers")
        n_parts = int(n_partitions) if n_partitions else len(workers)
        self.bounds = chunk_bounds(self.n, n_parts)
        self.workers = [workers[i % len(workers)] for i in range(len(self.bounds))]
        t0 = time.perf_counter()
        self._model = self.client.scatter(model, broadcast=True, hash=False)
        self._parts = []
        for (a, b), worker in zip(self.bounds, self.workers):
            raw = self.client.scatter((slice_examples(X, a, b), slice_examples(Y, a, b)),
                                      workers=[worker], hash=False)
            batch = self.client.submit(_make_batch, self._model, raw,
                                       workers=[worker], pure=False)
            self._parts.append(batch)
            del raw
        sizes = self.client.gather([self.client.submit(len, part, workers=[worker], pure=False)
                                    for part, worker in zip(self._parts, self.workers)])
        if sizes != [b - a for a, b in self.bounds]:
            raise RuntimeError(f"the workers hold batches of sizes {sizes}, expected "
                               f"{[b - a for a, b in self.bounds]}")
        self.setup_seconds = time.perf_counter() - t0
        self.last_times = {"oracle": 0.0, "psi": 0.0}
        self.overheads: list[float] = []

    def __call__(self, w):
        """(D, L) at w, gathered in partition order."""
        t0 = time.perf_counter()
        w = np.ascontiguousarray(w, dtype=np.float64)
        w_future = self.client.scatter(w, broadcast=True, hash=False)
        futures = [self.client.submit(_run_part, self._model, part, w_future, self.rescaling,
                                      workers=[worker], pure=False)
                   for part, worker in zip(self._parts, self.workers)]
        parts = self.client.gather(futures)
        del futures, w_future
        wall = time.perf_counter() - t0
        self.overheads.append(wall - max(p[4] for p in parts))
        self.last_times = {"oracle": sum(p[2] for p in parts) / len(parts),
                           "psi": sum(p[3] for p in parts) / len(parts)}
        if len(parts) == 1:
            return parts[0][0], parts[0][1]
        return (sp.vstack([p[0] for p in parts], format="csr"),
                np.concatenate([p[1] for p in parts]))

    def close(self):
        """Release the partitions on the workers (and the client if we opened it)."""
        if self._parts:
            self.client.cancel(self._parts + [self._model])
            self._parts = []
        if self._owns_client:
            self.client.close()
            self._owns_client = False
