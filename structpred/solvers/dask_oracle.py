"""The oracle on a Dask distributed cluster: data partitioned once and kept on the workers.

At construction the training set is cut into contiguous partitions (one per worker unless
``n_partitions`` says otherwise, the same cut as ``LocalOracle(n_jobs=n_partitions)``); each
partition's raw examples are packed once into a few flat buffers (``_Packed``: lists of CSR
matrices and label arrays concatenated, anything else one pickle) and sent to one worker,
where ``model.make_batch`` builds the batch once and it stays in worker memory (the driver packs the
next partition meanwhile, then runs the task's input checks; it does not wait for the batches:
the first calls queue behind them on the workers; ``setup_phases`` times each step; X's data,
when it travels as one value, is filled on the worker while the rest is on the way). The model is broadcast once
(cloudpickle is the transport; persistence stays pickle-free). Each call then ships only w
(broadcast to the workers), runs the oracle on every partition where it lives, and gathers the
(δΨ rows, losses) in partition order, so D and L, and hence every solver's iterates, are
identical to the local backend's.

``overheads`` lists, per call, the wall time minus the slowest partition's compute time
(shipping w, scheduling, returning D): the price of distribution per oracle pass.
Block-coordinate calls (bcfw and subgradient call one small block at a time; ``dcd``'s fresh
passes call rows of 32 examples) run on this machine (``OracleBackend``'s defaults, from
batches built there on first use) and only full passes (the certifying passes, gap checks) go
to the cluster. Two reasons: each call is at a w that the previous call's update produced, so
the calls are sequential and a cluster could not run them side by side; and a round trip
costs more than the call's oracle: on a LocalCluster, 10-15 ms with w already on the worker
and ~76 ms when a new w (d = 2M floats, CoNLL) must go first, against ~2 ms of oracle work
for 32 CoNLL sentences (measured on a loaded 2-core machine). The answers, hence w, are the
local backend's. The n-slack solver does its row calls on the workers instead: on Dask it is
CoCoA+ (below), whose partitions call their own rows at their local point inside a round.

Partitioned solvers (``cocoa``: the n-slack solver on a cluster) keep per-partition state
where the data lives: ``start_local(factory, *args)`` builds one state per partition on its
worker, and each round ships w once, as its nonzeros when that is smaller (``KeptVector``;
CoNLL's w has 7% of d nonzero): ``round_pass(w)`` runs the partition's full oracle
pass there (checked by the same guard as ``SolverRun``'s passes), keeps it there and returns
only its hinge sum (so the driver knows the primal, and can stop, before any local work);
``round_step(w, step, *args)`` then hands it to ``step(state, w, D, L, margins, rows,
*args)`` and gathers the step's small result (O(d); its w_k as nonzeros too): neither D nor
the working sets leave the worker. As soon as every partition's step is done, each worker sums
the w_k itself and starts its pass at that w (``_pass_next``), which the next ``round_pass``
takes when it is asked for that same w: between rounds w does not go through the driver. A worker lost during a round, a
scheduler that does not answer within ``timeout`` seconds, or a partition that does not fit
its worker's memory limit (``MEMORY_FACTOR`` x its unpacked size) raises ``ClusterError``
naming it.
"""
from __future__ import annotations

import operator
import pickle
import time
import warnings

import numpy as np
import scipy.sparse as sp

from ..errors import ClusterError, InvalidInputError
from .base import KeptVector, sum_shares
from .oracle import (LocalOracle, OracleBackend, chunk_bounds, partition_pass, partition_rows,
                     run_oracle, slice_examples)

__all__ = ["DaskOracle", "connect", "probe_scheduler"]

#: a partition takes at least this many times its unpacked size in a worker's memory (its
#: batch, the solver's working sets: CoNLL x 4 peaked at ~600 MB for 86 MB, 7x), checked
#: against the worker's memory limit before it is sent
MEMORY_FACTOR = 4

#: a round's next w (``DaskOracle.round_step``'s pipelining): up to this many partitions,
#: every worker sums the partitions' w_k itself (each receives K - 1 shares from its peers);
#: above, one worker sums them and the others receive w from it (2 messages per worker, as
#: through the driver)
PEER_SUM_MAX = 4


class _Packed:
    """A partition's raw examples for the wire in few large buffers.

    A list of CSR matrices (one per example, as ``read_svmhmm`` returns sequences) travels as
    four flat arrays (rows per example, the examples' ``indptr`` one after another, their
    ``indices`` and ``data`` one after another; ``data`` as one value when every entry is that
    value, bit for bit: binary features), and a list of 1-D numeric arrays (labels) as two
    (lengths, values): Dask sends arrays as raw frames (pickle protocol 5 out of band),
    so the driver only concatenates and the worker rebuilds the examples as views of the
    received buffers (``unpack``). A stacked set (``structpred.datasets.stacked``, as
    ``read_svmhmm(..., stacked=True)`` and ``structpred learn`` read CoNLL: a partition is a
    slice of its offsets) travels as its own flat arrays for the partition's rows
    (``stacked_rows``: views, no concatenation; ``data`` as one value when constant, as above)
    and is rebuilt on the worker as the same kind of container over the received buffers, so
    the task batches it there with its vectorised stacked path (and checks the whole set on
    the driver the same way). Anything else is
    one pickle (protocol 5) per partition
    (X, Y apart), which still beats serialising thousands of small objects one by one (6.4 s against
    0.7 s for 17,872 CoNLL sentences, measured). ``nbytes``: what is sent."""

    def __init__(self, X, Y):
        self.x = _flat_stacked(X, "sequences") or _flat_csr_list(X)
        self.y = _flat_stacked(Y, "labels") or _flat_arrays(Y)
        self.x_blob = None if self.x is not None else pickle.dumps(X, protocol=5)
        self.y_blob = None if self.y is not None else pickle.dumps(Y, protocol=5)

    @property
    def nbytes(self) -> int:
        parts = [self.x or {}, self.y or {}]
        parts += [p["data"] for p in parts[:1] if isinstance(p.get("data"), dict)]
        arrays = [a for part in parts for a in part.values() if isinstance(a, np.ndarray)]
        return (sum(int(a.nbytes) for a in arrays) + len(self.x_blob or b"")
                + len(self.y_blob or b""))

    @property
    def unpacked_nbytes(self) -> int:
        """``nbytes`` with a constant ``data`` counted at its full size (what the worker
        holds once it is unpacked)."""
        data = (self.x or {}).get("data")
        if isinstance(data, dict):
            return self.nbytes + data["size"] * data["constant"].itemsize
        return self.nbytes

    def constant_data(self):
        """The ``{"constant", "size"}`` spec of X's data when it travels as one value
        (``_constant_or``), else None: the worker can fill that array before the rest
        arrives (``_full``)."""
        data = (self.x or {}).get("data")
        return data if isinstance(data, dict) else None

    def unpack(self, data=None):
        """(X, Y) as they were given (the examples as views of the received buffers);
        ``data``: X's constant data already filled on this worker (``constant_data``)."""
        X = pickle.loads(self.x_blob) if self.x is None else (
            _stacked(self.x, data) if "stacked" in self.x else _csr_list(self.x, data))
        Y = pickle.loads(self.y_blob) if self.y is None else (
            _stacked(self.y) if "stacked" in self.y else _array_list(self.y))
        return X, Y


def _writeable(a):
    """a, or a copy when it is read-only (a buffer as Dask received it): the kernels are
    compiled for writeable arrays, a read-only one would compile another specialisation."""
    return a if a.flags.writeable else a.copy()


def _constant_or(data):
    """``data``, or {"constant": its one value, "size": n} when every entry is that value bit
    for bit (binary features: the worker rebuilds it, ``_full``)."""
    if data.size and data.dtype.itemsize in (1, 2, 4, 8):
        bits = data.view(f"u{data.dtype.itemsize}")
        if (bits == bits[0]).all():
            return {"constant": data[:1].copy(), "size": int(data.shape[0])}
    return data


def _hugepage_switch():
    """NumPy's switch of its transparent-hugepage advice for new arrays
    (``_set_madvise_hugepage``, private: None where this NumPy lacks it)."""
    for where in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            return getattr(__import__(where, fromlist=["_"]), "_set_madvise_hugepage")
        except (ImportError, AttributeError):
            continue
    return None


def _full(data):
    """``_constant_or``'s result back as an array (writeable). A constant array is filled on
    ordinary 4 KiB pages: the kernels stream it in order, where huge pages give nothing, and
    a fresh worker's first huge-page faults can stall on the kernel's compaction (54 MB: 0.01-0.15 s
    with NumPy's hugepage advice, 0.03 s without, in fresh processes on the benchmark VM)."""
    if isinstance(data, dict):
        switch = _hugepage_switch()
        previous = switch(False) if switch is not None else None
        try:
            return np.full(data["size"], data["constant"][0], dtype=data["constant"].dtype)
        finally:
            if switch is not None:
                switch(previous)
    return _writeable(data)


def _flat_stacked(S, kind):
    """A stacked set of ``kind`` ("sequences": X, "labels": Y; ``structpred.datasets.stacked``,
    recognised by its ``stacked_kind`` and ``stacked_rows`` as the sequence task recognises
    it) as its flat arrays over its own rows (views of the stack, rebased row pointers), else
    None (also when its arrays are not what the stacked containers hold: the task's checks
    then name the fault)."""
    if getattr(S, "stacked_kind", None) != kind or not callable(getattr(S, "stacked_rows", None)):
        return None
    try:
        if kind == "sequences":
            indptr, indices, data, offsets = S.stacked_rows()
            return {"stacked": type(S), "indptr": np.ascontiguousarray(indptr),
                    "indices": np.ascontiguousarray(indices),
                    "data": _constant_or(np.ascontiguousarray(data)),
                    "offsets": np.ascontiguousarray(offsets), "n_cols": int(S.n_features)}
        labels, offsets = S.stacked_rows()
        return {"stacked": type(S), "labels": np.ascontiguousarray(labels),
                "offsets": np.ascontiguousarray(offsets)}
    except (ValueError, TypeError, IndexError, AttributeError):
        return None


def _stacked(flat, data=None):
    """The stacked set of ``_flat_stacked`` back: the same container class over the received
    buffers (no copy unless a buffer arrived read-only); ``data``: its data already filled."""
    cls = flat["stacked"]
    if "labels" in flat:
        return cls(_writeable(flat["labels"]), _writeable(flat["offsets"]))
    data = _full(flat["data"]) if data is None else data
    return cls(data, _writeable(flat["indices"]), _writeable(flat["indptr"]),
               _writeable(flat["offsets"]), flat["n_cols"])


def _flat_csr_list(X):
    """A list of CSR matrices (one class, one dtype each for indptr, indices and data, one
    column count) as flat arrays (``_Packed``), else None."""
    if not isinstance(X, (list, tuple)) or not X:
        return None
    first = X[0]
    if not (sp.issparse(first) and first.format == "csr"):
        return None
    cls, n_cols = type(first), first.shape[1]
    kinds = (first.indptr.dtype, first.indices.dtype, first.data.dtype)
    rows = np.empty(len(X), dtype=np.int64)
    nnz = np.empty(len(X), dtype=np.int64)
    ptrs, inds, vals = [], [], []
    for i, x in enumerate(X):
        if type(x) is not cls or x.shape[1] != n_cols or x.indptr.dtype != kinds[0] \
                or x.indices.dtype != kinds[1] or x.data.dtype != kinds[2] \
                or x.indices.shape != x.data.shape or x.indptr.ndim != 1 \
                or x.indptr.shape[0] != x.shape[0] + 1:
            return None
        rows[i] = x.shape[0]
        nnz[i] = x.indices.shape[0]
        ptrs.append(x.indptr)
        inds.append(x.indices)
        vals.append(x.data)
    data = _constant_or(np.concatenate(vals))     # binary features: one value
    return {"cls": cls, "n_cols": int(n_cols), "rows": rows, "nnz": nnz,
            "indptr": np.concatenate(ptrs), "indices": np.concatenate(inds), "data": data}


def _csr_list(flat, data=None):
    """The CSR matrices of ``_flat_csr_list`` back, as views of its arrays: each built as
    unpickling builds one (the class's instance dict, without scipy's constructor checks:
    the arrays are the ones that passed them on the driver); ``data``: already filled."""
    cls, n_cols = flat["cls"], flat["n_cols"]
    indptr, indices = _writeable(flat["indptr"]), _writeable(flat["indices"])
    data = _full(flat["data"]) if data is None else data
    rows, nnz = flat["rows"].tolist(), flat["nnz"].tolist()
    base = {k: v for k, v in cls((0, n_cols), dtype=data.dtype).__dict__.items()
            if k not in ("indptr", "indices", "data", "_shape") and not k.startswith("_has")}
    out = []
    p = q = 0
    new = object.__new__
    for r, z in zip(rows, nnz):
        m = new(cls)
        m.__dict__.update(base)
        m.__dict__.update(_shape=(r, n_cols), indptr=indptr[p:p + r + 1],
                          indices=indices[q:q + z], data=data[q:q + z])
        out.append(m)
        p += r + 1
        q += z
    return out


def _flat_arrays(Y):
    """A list of 1-D numeric numpy arrays of one dtype as (lengths, values), else None."""
    if not isinstance(Y, (list, tuple)) or not Y:
        return None
    first = Y[0]
    if not isinstance(first, np.ndarray) or first.dtype.kind not in "biuf":
        return None
    dtype = first.dtype
    lengths = np.empty(len(Y), dtype=np.int64)
    for i, y in enumerate(Y):
        if type(y) is not np.ndarray or y.ndim != 1 or y.dtype != dtype:
            return None
        lengths[i] = y.shape[0]
    return {"lengths": lengths, "values": np.concatenate(Y)}


def _array_list(flat):
    """The arrays of ``_flat_arrays`` back, as views of its values."""
    values = _writeable(flat["values"])
    ends = np.cumsum(flat["lengths"]).tolist()
    starts = [0] + ends[:-1]
    return [values[a:b] for a, b in zip(starts, ends)]


def _fill_data(spec):
    """On a worker, while its partition is still on the way: X's constant data as an array
    (``_full``; 54 MB for half of CoNLL x 4, whose first touch is then off the set-up's
    path); returns (array, CPU seconds)."""
    c0 = time.process_time()
    data = _full(spec)
    return data, time.process_time() - c0


def _build_batch(model, packed, filled=None):
    """On a worker: unpack the partition's examples (X's constant data from ``filled``,
    ``_fill_data``'s result, when given) and build its batch once; returns (batch,
    {"unpack": s, "batch": s, "cpu": s, "fill_cpu": s, "n": examples, "ready": time.time()
    at the end})."""
    t0, c0 = time.perf_counter(), time.process_time()
    data, fill_cpu = filled if filled is not None else (None, 0.0)
    X, Y = packed.unpack(data)
    del data, filled
    t1 = time.perf_counter()
    batch = model.make_batch(X, Y)
    del X, Y
    return batch, {"unpack": t1 - t0, "batch": time.perf_counter() - t1,
                   "cpu": time.process_time() - c0, "fill_cpu": fill_cpu, "n": len(batch),
                   "ready": time.time()}


#: what ``tune_malloc`` sets: glibc's own dynamic mmap threshold at its 64-bit maximum (32 MiB)
_MMAP_THRESHOLD = 32 * 2 ** 20


def tune_malloc() -> bool:
    """In this (worker) process: when ``MALLOC_TRIM_THRESHOLD_`` is set in its environment, as
    Dask's nanny sets it (64 KiB) for every worker it spawns, glibc stops adapting its mmap
    threshold, so every array above 128 KiB (w and its temporaries: 16 MB on CoNLL) is a fresh
    mmap, zero-filled page by page, and unmapped when freed: the same n-slack fit took 25-30%
    more CPU (18.5 / 17.9 s against 14.2 / 14.5 s, one-thread local runs in turn with and
    without the variable, loaded machine). Restores what glibc would do on its own: mmap
    threshold 32 MiB, trim threshold 64 MiB (freed memory up to that is kept for reuse).
    Returns whether it changed anything (False off glibc or without the variable)."""
    import os
    if not os.environ.get("MALLOC_TRIM_THRESHOLD_"):
        return False
    from ..malloc_tuning import set_malloc_thresholds
    return set_malloc_thresholds(_MMAP_THRESHOLD, 2 * _MMAP_THRESHOLD)


def small_pages() -> bool:
    """In this (worker) process, for the rest of its life: new NumPy arrays on ordinary 4 KiB
    pages (NumPy's transparent-hugepage advice off, ``_hugepage_switch``). A worker's first
    touch of a fresh d-vector is then cheap: on CoNLL x 4 the next round's w, summed on each
    worker at round 2 (16.5 MB), took 0.047-0.108 s on huge pages against 0.022-0.037 s
    (three fits each, in turn, 2 workers), while a Viterbi pass over a w on 4 KiB pages ran
    as fast as over one on huge pages (0.27-0.29 s either way, three pairs). Returns whether
    it changed anything (False where this NumPy has no such switch)."""
    switch = _hugepage_switch()
    if switch is None:
        return False
    switch(False)
    return True


def _warm_worker(model):
    """On a worker, while the driver packs the partitions: import numba and the solvers'
    kernel modules (the task's own modules came with the model), ``tune_malloc`` and
    ``small_pages``; returns (seconds, whether malloc was tuned)."""
    t0 = time.perf_counter()
    import numba  # noqa: F401
    from . import dcd_kernels, dual_pool  # noqa: F401
    tuned = tune_malloc()
    small_pages()
    return time.perf_counter() - t0, tuned


def _run_part(model, batch, w, rescaling):
    """On a worker: the partition's oracle pass at w (a ``KeptVector`` message or an
    array); (D, L, oracle seconds, δΨ seconds, wall seconds)."""
    t0 = time.perf_counter()
    if isinstance(w, KeptVector):
        w = w.dense()
    D, L, t_oracle, t_psi = run_oracle(model, batch, w, rescaling)
    return D, L, t_oracle, t_psi, time.perf_counter() - t0


def _dense_w(state, message):
    """On a worker: the round's w as a dense float64 vector from its message (a
    ``KeptVector``: its nonzeros when that is smaller, bit for bit), rebuilt once per round
    and kept on ``state`` for the round's second half (the same message object); or, when the
    message is a round key (a str), the w this worker summed itself for that round
    (``_pass_next``)."""
    if isinstance(message, np.ndarray):
        return message
    cached = getattr(state, "w_round", None)
    if isinstance(message, str):
        if cached is None or cached[0] != message:
            raise RuntimeError(f"the w of round {message!r} is not on this worker")
        return cached[1]
    if cached is not None and cached[0] is message:
        return cached[1]
    state.w_round = None                      # the previous round's w freed first
    w = message.dense()
    state.w_round = (message, w)
    return w


def _same_bits(a, b) -> bool:
    """Whether two float64 vectors hold the same floats bit for bit (zeros' signs too)."""
    a = np.ascontiguousarray(a, dtype=np.float64)
    b = np.ascontiguousarray(b, dtype=np.float64)
    return a.shape == b.shape and np.array_equal(a.view(np.uint64), b.view(np.uint64))


def _message_bytes(obj) -> int:
    """Bytes of a message as Dask sends it: pickle protocol 5, arrays out of band (raw
    frames): the pickle's own bytes plus its buffers'."""
    frames = []
    head = pickle.dumps(obj, protocol=5, buffer_callback=frames.append)
    return len(head) + sum(f.raw().nbytes for f in frames)


def _pass_part(model, batch, state, w, rescaling, exact, index0):
    """On a worker: the partition's oracle pass at w (guard-checked), kept on ``state``
    (``state.pending`` = (D, L, margins)) for the step that follows; returns its hinge sum
    Σ max(0, hinge_i) at w and its seconds ("pass_seconds": wall, "pass_cpu": this process's
    CPU; "span": its start and end on this machine's clock, ``time.time``, to see the
    workers' idle time between tasks). ``w`` is the round's message (``_dense_w``)."""
    t0, c0, start = time.perf_counter(), time.process_time(), time.time()
    h = partition_pass(model, batch, state, _dense_w(state, w), rescaling, exact, index0,
                       " (partition pass on a Dask worker)")
    return {"hinge": h, "pass_seconds": time.perf_counter() - t0,
            "pass_cpu": time.process_time() - c0, "span": (start, time.time())}


def _sum_task(outs, d):
    """On one worker (more than ``PEER_SUM_MAX`` partitions): the next w from every
    partition's step result, as a ``KeptVector`` for the others."""
    return KeptVector(sum_shares(outs, d))


def _pass_next(model, batch, state, shares, rescaling, exact, index0, key):
    """On a worker, as soon as every partition's step is done: the next round's w (the
    steps' results ``shares``, summed here, or the ``KeptVector`` one worker summed), kept on
    ``state`` under ``key``, and the partition's pass at it (``_pass_part``); its dict gets
    "sum_seconds" (building w here)."""
    t0, start = time.perf_counter(), time.time()
    state.w_round = None           # the last round's w goes before the next one is built
    if isinstance(shares, KeptVector):
        w = shares.dense()
    else:
        w = sum_shares(shares, model.size_joint_feature)
    state.w_round = (key, w)
    out = _pass_part(model, batch, state, key, rescaling, exact, index0)
    out["sum_seconds"] = time.perf_counter() - t0 - out["pass_seconds"]
    out["span"] = (start, out["span"][1])
    return out


def _step_part(model, batch, state, w, step, args, rescaling, exact, index0):
    """On a worker: ``step(state, w, D, L, margins, rows, *args)`` on the pass kept by
    ``_pass_part`` (None, None, None if none this round) and the partition's row calls; adds
    its seconds ("seconds": wall, "cpu": this process's CPU, "span": start and end,
    ``time.time``) and its size ("bytes_out", arrays counted by their bytes) to the step's dict. ``w`` is the round's message
    (``_dense_w``); the step's "wk" goes back as a ``KeptVector`` (its nonzeros when that is
    smaller: the driver adds them in place, ``cocoa.add_share``, the same floats as the
    dense vector)."""
    t0, c0, start = time.perf_counter(), time.process_time(), time.time()
    w = _dense_w(state, w)
    D, L, margins = getattr(state, "pending", None) or (None, None, None)
    state.pending = None
    rows = partition_rows(model, batch, len(batch), index0, rescaling, exact,
                          " (row call on a Dask worker)")
    out = step(state, w, D, L, margins, rows, *args)
    if isinstance(out.get("wk"), np.ndarray):
        out["wk"] = KeptVector(out["wk"])
    out["seconds"] = time.perf_counter() - t0
    out["cpu"] = time.process_time() - c0
    out["span"] = (start, time.time())
    out["bytes_out"] = _message_bytes(out)
    return out


class _PartitionOracle(LocalOracle):
    """The one-thread local backend over a partition's batch already built on this worker
    (full passes and row calls; no per-block calls: those need the raw examples)."""

    def __init__(self, model, batch, n, rescaling):
        self._hold(model, None, None, rescaling, int(n), 1, [(0, int(n))], [batch])

    def call_block(self, w, k):
        raise NotImplementedError("a partition's oracle on a Dask worker serves full passes "
                                  "and row calls only")


def _solve_partition(model, batch, solver, kwargs, rescaling):
    """On a worker: run ``solver(model, oracle, **kwargs)`` to its end over the partition held
    here (one-thread local backend); returns its SolverResult without the warm state (the
    working sets stay here) and with w as a ``KeptVector`` (its nonzeros when smaller; its
    size in ``extra["w_bytes"]``), with the worker's "worker_seconds" and "worker_cpu" and the
    warnings it raised ("worker_warnings": (category, message) pairs) in ``extra``."""
    t0, c0 = time.perf_counter(), time.process_time()
    oracle = _PartitionOracle(model, batch, len(batch), rescaling)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = solver(model, oracle, **kwargs)
    result.extra.pop("warm_state", None)
    result.w = KeptVector(result.w)      # its nonzeros when smaller; made dense on the driver
    result.extra["w_bytes"] = _message_bytes(result.w)
    result.extra["worker_warnings"] = [(w.category, str(w.message)) for w in caught]
    result.extra["worker_seconds"] = time.perf_counter() - t0
    result.extra["worker_cpu"] = time.process_time() - c0
    return result


def connect(address: str, timeout: float = 10.0):
    """A distributed.Client connected to the scheduler at ``address``; ClusterError naming
    the address when none answers within ``timeout`` seconds."""
    return _resolve_client(address, timeout)[0]


def probe_scheduler(address: str, timeout: float = 10.0) -> None:
    """Ask ``address`` who it is (Dask's "identity" call) before a Client is built on it, on
    a daemon thread given ``timeout`` (+1) seconds: ``distributed.Client`` waits forever on
    a listener that takes the connection but does not answer in Dask's protocol (an HTTP
    server, the dashboard's port), is killed by a bogus frame length from a foreign server
    (MemoryError), and a failed Client prints tracebacks and holds the exit for 20 s. Returns
    when a scheduler answered; ClusterError naming the address otherwise: no answer in time,
    an unusable address, something else answering, or a Dask worker rather than a scheduler."""
    import asyncio
    import threading

    async def identity():
        from distributed.comm import connect as comm_connect
        comm = await asyncio.wait_for(comm_connect(address, timeout=timeout), timeout)
        try:
            await asyncio.wait_for(comm.write({"op": "identity", "reply": True}), timeout)
            return await asyncio.wait_for(comm.read(), timeout)
        finally:
            comm.abort()

    box = {}

    def ask():
        try:
            box["reply"] = asyncio.run(identity())
        except BaseException as exc:  # noqa: BLE001 - reported in the caller's thread below
            box["error"] = exc
    thread = threading.Thread(target=ask, name="structpred-scheduler-probe", daemon=True)
    thread.start()
    thread.join(timeout + 1.0)
    exc = box.get("error")
    if thread.is_alive() or isinstance(exc, (OSError, TimeoutError)):
        why = (f"{type(exc).__name__}: {exc}" if exc is not None and str(exc) else
               "it took the connection but did not answer in Dask's protocol"
               if thread.is_alive() or isinstance(exc, TimeoutError) else type(exc).__name__)
        raise ClusterError(f"no Dask scheduler answered at {address!r} within {timeout:g} s "
                           f"({why})", address=address)
    if isinstance(exc, (ValueError, TypeError)):
        raise ClusterError(f"cannot connect to a Dask scheduler at {address!r}: {exc}",
                           address=address)
    if exc is not None:
        raise ClusterError(f"{address!r} did not answer as a Dask scheduler "
                           f"({type(exc).__name__}: {exc})", address=address)
    reply = box.get("reply")
    kind = reply.get("type") if isinstance(reply, dict) else None
    if kind != "Scheduler":
        what = f"a Dask {kind}" if isinstance(kind, str) else "not a Dask scheduler"
        raise ClusterError(f"{address!r} is {what}, not a scheduler: pass the scheduler's "
                           "address", address=address)


def _resolve_client(client, timeout=10.0):
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
        probe_scheduler(client, timeout)
        try:
            return Client(client, timeout=timeout, set_as_default=False), True
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            raise ClusterError(f"no Dask scheduler answered at {client!r} within {timeout:g} s "
                               f"({type(exc).__name__}: {exc})", address=client) from None
    if isinstance(client, Client):
        return client, False
    raise TypeError(f"client must be a distributed.Client, a scheduler address or None, "
                    f"got {type(client).__name__}")


#: worker hosts that are this machine: data sent to them goes straight from the driver
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def on_this_machine(address: str) -> bool:
    """Whether ``address`` names a worker on the driver's machine: an in-process worker or a
    loopback address (a LocalCluster's). Any other address: False."""
    protocol, _, rest = str(address).partition("://")
    if protocol == "inproc":
        return True
    host = rest.rsplit(":", 1)[0].strip("[]") if rest else ""
    return host in _LOOPBACK_HOSTS


def sends_direct(client, address: str) -> bool:
    """Whether the driver sends a partition to the worker at ``address`` itself (Dask's
    ``scatter(direct=True)``) rather than through the scheduler: only when the cluster was
    started by this process (``client.cluster``, e.g. a LocalCluster) and the worker is on
    this machine (``on_this_machine``). A loopback address seen through a scheduler started
    elsewhere (an SSH tunnel to another machine's LocalCluster) would name the wrong machine,
    and a remote worker may not accept the driver's connections: the scheduler relays then."""
    return getattr(client, "cluster", None) is not None and on_this_machine(address)


class DaskOracle(OracleBackend):
    """``oracle(w) -> (D, L)`` computed on the workers of a Dask cluster."""

    def __init__(self, model, X, Y, rescaling="margin", client=None, n_partitions=None,
                 timeout=10.0, check=None):
        """Place the partitions of (X, Y) on the cluster's workers (``_place``). ``check``: a
        callable (the task's input checks) run on the driver while the workers build their
        batches, so that its time hides behind theirs; what it raises is raised here, after
        the partitions are released (nothing is computed on the data before it passes)."""
        model.check_rescaling(rescaling)
        if not (isinstance(timeout, (int, float)) and np.isfinite(timeout) and timeout > 0):
            raise InvalidInputError(f"timeout must be a positive number of seconds, got {timeout!r}")
        self.timeout = float(timeout)
        self.client, self._owns_client = _resolve_client(client, self.timeout)
        self.model = model
        self.rescaling = rescaling
        self.X = X
        self.Y = Y
        self.n = X.shape[0] if hasattr(X, "tocsr") else len(X)   # scipy sparse: len is ambiguous
        workers = sorted(self.client.nthreads())   # the scheduler's list, not a cached one
        if not workers:
            raise ValueError("the Dask cluster has no workers")
        n_parts = int(n_partitions) if n_partitions else len(workers)
        self.bounds = chunk_bounds(self.n, n_parts)
        self.workers = [workers[i % len(workers)] for i in range(len(self.bounds))]
        self._place(model, X, Y, check)
        self.last_times = {"oracle": 0.0, "psi": 0.0}
        self.overheads: list[float] = []

    def __call__(self, w):
        """(D, L) at w, gathered in partition order."""
        t0 = time.perf_counter()
        message = KeptVector(np.ascontiguousarray(w, dtype=np.float64))   # nonzeros if smaller
        w_future = self.client.scatter(message, broadcast=True, hash=False)
        futures = [self.client.submit(_run_part, self._model, part, w_future, self.rescaling,
                                      workers=[worker], pure=False)
                   for part, worker in zip(self._parts, self.workers)]
        parts = self._await(futures)   # a lost worker: ClusterError naming it, no hang
        del futures, w_future
        wall = time.perf_counter() - t0
        self.overheads.append(wall - max(p[4] for p in parts))
        self.last_times = {"oracle": sum(p[2] for p in parts) / len(parts),
                           "psi": sum(p[3] for p in parts) / len(parts)}
        if len(parts) == 1:
            return parts[0][0], parts[0][1]
        return (sp.vstack([p[0] for p in parts], format="csr"),
                np.concatenate([p[1] for p in parts]))

    def _place(self, model, X, Y, check=None):
        """Send the model to every worker and each partition's examples to its worker
        (``_Packed``), where its batch is built once and stays. The driver packs partition
        k+1 while worker k unpacks and batches partition k, then runs ``check`` (if any) while
        the workers finish, and the workers load their kernels meanwhile. ``setup_seconds``
        is the wall time of it all; ``setup_phases`` splits it: "model" (broadcast), "pack"
        (driver packing), "send" (driver to workers), "check" (the driver's ``check``),
        "wait" (0: the driver does not wait for the batches, the first calls queue behind
        them), the bytes sent, and (fetched when first read) the workers' figures. X's data
        when it travels as one value is filled on each worker while the rest is on the way
        (``_fill_data``)."""
        client = self.client
        t0, start_epoch = time.perf_counter(), time.time()
        self._model = client.scatter(model, broadcast=True, hash=False)
        t_model = time.perf_counter() - t0
        warm = [client.submit(_warm_worker, self._model, workers=[wk], pure=False)
                for wk in sorted(set(self.workers))]
        built, pack, send, nbytes = [], 0.0, 0.0, []
        limits = self._memory_limits()
        try:
            for k, ((a, b), worker) in enumerate(zip(self.bounds, self.workers)):
                t1 = time.perf_counter()
                packed = _Packed(slice_examples(X, a, b), slice_examples(Y, a, b))
                t2 = time.perf_counter()
                need = MEMORY_FACTOR * packed.unpacked_nbytes * self.workers.count(worker)
                if limits.get(worker) and need > limits[worker]:
                    raise ClusterError(
                        f"partition {k} (examples {a}..{b - 1}, "
                        f"{packed.unpacked_nbytes / 2**20:.1f} MiB unpacked) does not fit Dask "
                        f"worker {worker}: its memory limit is "
                        f"{limits[worker] / 2**20:.1f} MiB and a partition needs at least "
                        f"{MEMORY_FACTOR}x that there (batch and working sets); use more "
                        "workers or workers with more memory", address=worker)
                spec = packed.constant_data()      # filled there while the rest travels
                filled = None if spec is None else client.submit(
                    _fill_data, spec, workers=[worker], pure=False)
                # straight to a worker on this machine (half the wall of going through the
                # scheduler: 0.05 against 0.09 s for CoNLL x 4's 68 MB, LocalCluster, 2 workers)
                raw = client.scatter(packed, workers=[worker], hash=False,
                                     direct=sends_direct(client, worker) or None)
                send += time.perf_counter() - t2
                pack += t2 - t1
                nbytes.append(packed.nbytes)
                built.append(client.submit(_build_batch, self._model, raw, filled,
                                           workers=[worker], pure=False))
                del raw, packed, filled
        except Exception:
            try:
                if check is not None:
                    check()     # bad data that could not even be packed: its own error
            finally:
                self.close()
            raise
        self._parts = [client.submit(operator.itemgetter(0), f, workers=[wk], pure=False)
                       for f, wk in zip(built, self.workers)]
        t_check = time.perf_counter()
        if check is not None:
            try:
                check()
            except BaseException:
                try:   # the builds end before close() cancels them (see close())
                    self._await(built, fetch=False)
                except BaseException:   # pragma: no cover - the check's error is the one to raise
                    pass
                del built, warm
                self.close()
                raise
        t3 = time.perf_counter()
        # the workers' imports are waited for (long done by now: they ran while the driver
        # packed): with workers on threads of this process, the driver's own first numba
        # import racing a worker's deadlocked in llvmlite (in-process cluster, seen in tests)
        warmed = self._await(warm)
        # the batches' figures are fetched later (``setup_phases``): the first calls queue
        # behind the builds on the workers instead of waiting here for a round trip
        self._setup_pending = ([client.submit(operator.itemgetter(1), f, workers=[wk],
                                              pure=False)
                                for f, wk in zip(built, self.workers)], warmed, start_epoch)
        del built
        self.setup_seconds = t3 - t0
        self._setup_phases = {"wall": self.setup_seconds, "model": t_model, "pack": pack,
                              "send": send, "check": t3 - t_check, "wait": 0.0,
                              "bytes": nbytes}

    @property
    def setup_phases(self) -> dict:
        """The set-up's phases (``_place``); the workers' part is fetched on first use (it
        waits for the batches): per partition "worker_unpack", "worker_batch",
        "worker_cpu" and "worker_fill_cpu" seconds, "worker_warm" and
        "worker_malloc_tuned", and "ready": seconds from the set-up's start until the last
        batch was built (the workers' clocks: meaningful on one machine). "wall" is the
        driver's part (until the checks passed and the builds were queued)."""
        pending = getattr(self, "_setup_pending", None)
        if pending is not None:
            self._setup_pending = None
            info_f, warmed, start_epoch = pending
            try:
                info = self._await(info_f)
            except Exception:     # a cluster gone: the run's own error says so
                return self._setup_phases
            sizes = [i["n"] for i in info]
            if sizes != [b - a for a, b in self.bounds]:
                raise RuntimeError(f"the workers hold batches of sizes {sizes}, expected "
                                   f"{[b - a for a, b in self.bounds]}")
            self._setup_phases.update({
                "worker_warm": [wm[0] for wm in warmed],
                "worker_malloc_tuned": [wm[1] for wm in warmed],
                "worker_unpack": [i["unpack"] for i in info],
                "worker_batch": [i["batch"] for i in info],
                "worker_cpu": [i["cpu"] for i in info],
                "worker_fill_cpu": [i["fill_cpu"] for i in info],
                "ready": max(i["ready"] for i in info) - start_epoch})
        return self._setup_phases

    # ------------------------------------------------------------ partitioned solvers
    serves_local_rounds = True

    def partition_bounds(self, n_partitions=None):
        """The partitions' example ranges (one per worker unless the backend was built with
        ``n_partitions``); asking for another count is an error (the data is already placed)."""
        if n_partitions is not None and int(n_partitions) != len(self.bounds):
            raise InvalidInputError(f"n_partitions={n_partitions!r}: the Dask backend holds "
                                    f"{len(self.bounds)} partitions (one per worker)")
        return list(self.bounds)

    def start_local(self, factory, *args):
        """Build ``factory(k, n_k, *args)``, partition k's state, on the worker holding it."""
        self._drop_next()
        # not waited for: the round's tasks queue behind them on each worker (a failure
        # is raised by the first round's wait); the states stay where they are
        self._states = [self.client.submit(factory, k, b - a, *args, workers=[worker],
                                           pure=False)
                        for k, ((a, b), worker) in enumerate(zip(self.bounds, self.workers))]

    def _send_w(self, w):
        """w (float64) to every worker once, as a ``KeptVector`` (its nonzeros when that is
        smaller: CoNLL's w has ~7% of d); later calls with the same array reuse it (or the
        key of the w the workers summed themselves, ``round_pass``). ``last_w_bytes``: the
        message's size."""
        if getattr(self, "_w_sent", None) is not w:
            self._w_sent = w
            self._w_future = None
            message = KeptVector(np.ascontiguousarray(w, dtype=np.float64))
            self.last_w_bytes = _message_bytes(message)
            self._w_future = self.client.scatter(message, broadcast=True, hash=False)
        return self._w_future

    def round_pass(self, w, exact=True):
        """A round's first half: w to every worker and each partition's oracle pass at w
        there (guard-checked), kept on the worker for ``round_step``; returns the
        partitions' hinge sums at w (dicts: "hinge", "pass_seconds", "pass_cpu") in partition
        order: the primal at w, known before any local work is done.

        When w is the sum of the previous ``round_step``'s w_k (partition order, bit for
        bit: what CoCoA+ sends next), the pass is the one the workers started on their own
        as soon as those steps were done (``_pass_next``: each sums the shares itself), so
        neither w's trip through the driver nor the driver's bookkeeping between rounds is on
        the workers' path; w itself is not sent."""
        spec, outs = getattr(self, "_next", None), getattr(self, "_next_outs", None)
        summed = getattr(self, "_next_sum", None)
        self._next = self._next_outs = self._next_sum = None
        if spec is not None:
            if summed is None and outs is not None:
                summed = sum_shares(outs, w.shape[0])
            if spec["exact"] == exact and summed is not None and _same_bits(w, summed):
                self._w_sent, self._w_future = w, spec["key"]
                sizes = [o["bytes_out"] for o in outs]
                self.last_w_bytes = (sum(sizes) - min(sizes) if len(outs) <= PEER_SUM_MAX
                                     else _message_bytes(KeptVector(w)))
                return self._await(spec["futures"])
            self._drop_next(spec)
        w_future = self._send_w(w)
        return self._await([self.client.submit(_pass_part, self._model, part, state, w_future,
                                               self.rescaling, exact, a, workers=[worker],
                                               pure=False)
                            for part, state, (a, _b), worker in zip(
                                self._parts, self._states, self.bounds, self.workers)])

    def round_step(self, w, step, *args, exact=True):
        """A round's second half: ``step(state, w, D, L, margins, rows, *args)`` on each
        partition (its pass from ``round_pass`` at the same w, or None), the steps' results
        (dicts) in partition order. ``last_round_bytes`` holds the bytes of w sent (per
        worker) and of each result returned. Each worker then starts the next round's pass
        at Σ_k w_k without waiting for the driver (``round_pass`` uses it or waits it out)."""
        w_future = self._send_w(w)
        futures = [self.client.submit(_step_part, self._model, part, state, w_future,
                                      step, args, self.rescaling, exact, a,
                                      workers=[worker], pure=False)
                   for part, state, (a, _b), worker in zip(
                       self._parts, self._states, self.bounds, self.workers)]
        self._start_next(futures, exact)
        out = self._await(futures)
        self._next_outs = out
        self.last_round_bytes = {"w_in": self.last_w_bytes,
                                 "out": [o["bytes_out"] for o in out]}
        return out

    def sum_round(self, outs, d, private=True):
        """Σ_k w_k of the last ``round_step``'s results ``outs`` in partition order
        (``sum_shares``, the floats the workers computed), remembered: the next
        ``round_pass`` compares w's bits with it instead of adding the shares again.
        ``private``: remember a copy (the caller may change the returned w in place, e.g. a
        user's callback); else the returned array itself (no 16 MB copy on the driver while
        the workers run the next pass)."""
        w = sum_shares(outs, d)
        if outs is getattr(self, "_next_outs", None):
            self._next_sum = w.copy() if private else w
        return w

    def _start_next(self, steps, exact):
        """Submit each partition's pass at the next w, to run once every step in ``steps``
        is done (the workers sum the shares: ``_pass_next``)."""
        self._round_key = getattr(self, "_round_key", 0) + 1
        key = f"round-{self._round_key}"
        if len(steps) <= PEER_SUM_MAX:
            shares, extra = steps, []
        else:
            shares = self.client.submit(_sum_task, steps, self.model.size_joint_feature,
                                        workers=[self.workers[0]], pure=False)
            extra = [shares]
        futures = [self.client.submit(_pass_next, self._model, part, state, shares,
                                      self.rescaling, exact, a, key, workers=[worker],
                                      pure=False)
                   for part, state, (a, _b), worker in zip(
                       self._parts, self._states, self.bounds, self.workers)]
        self._next = {"key": key, "exact": exact, "futures": futures, "extra": extra}

    def _drop_next(self, spec=None):
        """Let go of a started next pass that will not be used: wait until it has run (it
        writes the partitions' states, which the next task must see afterwards, whatever
        the workers' thread count), then release it."""
        spec = spec or getattr(self, "_next", None)
        self._next = self._next_outs = self._next_sum = None
        if spec is None:
            return
        try:    # polls the cluster: a lost worker ends the wait at once (ClusterError)
            self._await(spec["futures"], fetch=False)
        except Exception:      # its error (a lost worker, a bad answer) is the next call's
            pass
        self.client.cancel(spec["futures"] + spec["extra"])

    def solve_partition(self, solver, **kwargs):
        """Run ``solver(model, oracle, **kwargs)`` (a registered solver, e.g. ``fit_dcd``) to
        its end on the worker holding the only partition, over a one-thread local backend
        built from the batch there; returns its SolverResult (w and the figures: O(d)). With
        one partition there is nothing to combine: the driver sends the options and gets w."""
        if len(self.bounds) != 1:
            raise InvalidInputError(f"solve_partition needs one partition, the backend holds "
                                    f"{len(self.bounds)}")
        future = self.client.submit(_solve_partition, self._model, self._parts[0], solver,
                                    kwargs, self.rescaling, workers=[self.workers[0]],
                                    pure=False)
        result = self._await([future])[0]
        if isinstance(result.w, KeptVector):
            result.w = result.w.dense()      # bit for bit, zeros of either sign included
        return result

    def _memory_limits(self) -> dict:
        """Each worker's memory limit in bytes, as the scheduler knows it (0 or missing: none)."""
        try:
            info = self.client.scheduler_info().get("workers", {})
        except Exception:   # an older or remote scheduler without the field: no check
            return {}
        return {wk: int(v.get("memory_limit") or 0) for wk, v in info.items()}

    def _await(self, futures, fetch=True):
        """Wait for futures, polling the cluster (a worker of ours that left raises
        ClusterError naming it instead of waiting for ever on tasks pinned to it); then, with
        ``fetch``, gather their results once (without, nothing travels back: the results stay
        on the workers, e.g. the partitions' solver states)."""
        import distributed.client as dc
        from distributed import wait
        from distributed.scheduler import KilledWorker
        cancelled = tuple(getattr(dc, name) for name in ("FutureCancelledError",
                                                         "FuturesCancelledError")
                          if hasattr(dc, name))
        try:
            while True:
                try:
                    with self.client.as_current():
                        wait(futures, timeout=1.0)
                    break
                except TimeoutError:
                    self._check_workers()
            bad = [f for f in futures if f.status != "finished"]
            if bad:
                bad[0].result()          # raises the task's own exception
            return self.client.gather(futures) if fetch else None
        except (KilledWorker, OSError) + cancelled as exc:
            self._check_workers()
            raise ClusterError(f"a Dask worker was lost during training: {exc}") from None

    def _check_workers(self):
        """ClusterError naming the first of our workers that left the cluster. Asks the
        scheduler itself (``Client.nthreads``): ``scheduler_info()`` returns the client's
        cached identity, which its periodic refresh can replace by one without workers (a
        false "worker lost" seen under load)."""
        try:
            alive = set(self.client.nthreads())
        except Exception as exc:   # the scheduler itself went away
            raise ClusterError(f"lost the Dask scheduler during training ({exc})") from None
        gone = [wk for wk in self.workers if wk not in alive]
        if gone:
            raise ClusterError(f"Dask worker {gone[0]} was lost during training (it held "
                               f"examples {self._range_of(gone[0])})", address=gone[0])

    def _range_of(self, worker):
        ranges = [f"{a}..{b - 1}" for (a, b), wk in zip(self.bounds, self.workers) if wk == worker]
        return ", ".join(ranges)

    def close(self):
        """Release the partitions on the workers (and the client if we opened it)."""
        try:
            spec = getattr(self, "_next", None)
            self._next = self._next_outs = None
            if spec is not None:
                self.client.cancel(spec["futures"] + spec["extra"])
            if getattr(self, "_setup_pending", None) is not None:
                # the builds end before anything is cancelled (as when set-up waited for
                # them): cancelling a running build's result raced the scheduler (it
                # dropped an in-process worker, seen in tests)
                try:
                    self.setup_phases
                except Exception:   # e.g. batches of unexpected sizes: release them anyway
                    pass
            if self._parts:
                self.client.cancel(self._parts + [self._model] + list(getattr(self, "_states", [])))
                self._parts = []
                self._states = []
                self._w_sent = self._w_future = None
        except Exception:   # a cluster already gone has nothing left to release
            pass
        finally:
            if self._owns_client:
                self._owns_client = False
                self.client.close()
