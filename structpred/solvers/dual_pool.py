"""The n-slack dual's working sets, shared by the one-machine DCD solver (``dcd``) and the
distributed one (``cocoa``): per-example constraint pools in flat arrays, and the exact block
QP sweeps over them (numba kernels in ``dcd_kernels``).

Dual (SVM-struct's C convention): max_α Σ_iy α_iy b_iy - ½‖Σ_iy α_iy a_iy‖², α >= 0,
Σ_y α_iy <= C/n, with w = Σ α_iy a_iy.
"""
from __future__ import annotations

import mmap
import warnings

import numpy as np
import scipy.sparse as sp

from . import dcd_kernels as K
from .guard import OracleWarning

__all__ = ["ConstraintPool", "auto_max_constraints", "check_oracle_order", "solve_working_sets"]


def check_oracle_order(h, xi, C, it, rows=None):
    """SVM-struct's buggy-oracle check: the answer must be at least as violated as every
    constraint already in the example's working set."""
    bad = np.flatnonzero(h < xi - 1e-7 * max(1.0, float(np.abs(xi).max(initial=0.0))))
    if bad.size:
        i = int(bad[0] if rows is None else rows[bad[0]])
        warnings.warn(f"iteration {it}: for example {i} a cached constraint is more violated "
                      f"({xi[bad[0]]:.6g}) than the oracle's answer ({h[bad[0]]:.6g}); the "
                      "oracle is not returning the most violated constraint", OracleWarning,
                      stacklevel=4)


def auto_max_constraints(n: int) -> int:
    """Working-set size K per example when the user gives none: the K whose per-example Gram
    matrices (n·K² float64) fit in 32 MB, within [16, 64]. Few examples need more constraints
    each (C/n is large): with K = 16, 100-300 CoNLL sentences at C >= 100 cycled through
    evictions and never met the stopping rule; 32-64 converge in 50-60 passes."""
    return int(min(64, max(16, np.sqrt(32 * 2 ** 20 / (8.0 * max(int(n), 1))))))


#: Slots by which the per-example slot arrays and Gram matrices grow at least (by kg // 8
#: once that is more: a working set grows by at most one constraint per pass, and past 8
#: slots the copies of every growth would add up, n·kg² each).
_GRAM_STEP = 1


class ConstraintPool:
    """Per-example working sets (at most ``max_constraints`` each) in flat arrays."""

    def __init__(self, n, d, max_constraints=None, dtype="auto"):
        self.n, self.d = n, d
        if max_constraints is None:
            max_constraints = auto_max_constraints(n)
        if int(max_constraints) < 1:
            raise ValueError(f"max_constraints must be >= 1, got {max_constraints!r}")
        # the per-example Gram matrices take n·K²·8 bytes: at most 256 MB
        k = max(2, min(int(max_constraints), int(np.sqrt(2 ** 28 / (8.0 * max(n, 1))))))
        self.k = k
        # the per-slot arrays (n, kg) and gram (n, kg, kg) grow together (kg <= k, in steps
        # of _GRAM_STEP) as the working sets do, so memory follows the largest working set
        # reached, not k; ``_ensure_gram`` grows them before an add would fill kg, so the
        # kernels, which evict at m = start.shape[1], evict only once kg = k
        kg = min(k, _GRAM_STEP)
        self.m = np.zeros(n, dtype=np.int64)
        self.start = np.zeros((n, kg), dtype=np.int64)
        self.length = np.zeros((n, kg), dtype=np.int64)
        self.b = np.zeros((n, kg))
        self.alpha = np.zeros((n, kg))
        self.idle = np.zeros((n, kg), dtype=np.int64)
        self.gram = np.zeros((n, kg, kg))
        self.alpha_sum = np.zeros(n)
        self.dtype_mode = dtype
        # "auto" starts at int8 (small integer rows, as a sequence task's counts) and widens
        # as values need (``_storage_for``); every stored value converts to the same float64
        # in the kernels, so no result depends on the storage
        store = (np.float64 if dtype in ("float64", np.float64) else
                 np.int8 if dtype == "auto" else np.float32)
        ind = np.int32 if d < np.iinfo(np.int32).max else np.int64
        # the entry arrays live on their own memory maps where the platform allows
        # (``_mapped_zeros``): they grow and shrink in place and only written pages are
        # resident
        self._maps = {}
        self.data = self._new_entries("data", 1024, store)
        self.ind = self._new_entries("ind", 1024, ind)
        self.top = 0
        self.live = 0

    @property
    def n_constraints(self) -> int:
        """Number of constraints in all working sets together."""
        return int(self.m.sum())

    def nbytes(self) -> int:
        """Memory held by the pool's arrays, in bytes."""
        return int(self.data.nbytes + self.ind.nbytes + self.gram.nbytes + self.b.nbytes * 5)

    def _ensure(self, extra):
        """Room for ``extra`` more entries after ``top``. A full pool whose dead entries are
        a quarter of it or more is first compacted in place (the live rows moved down, in
        position order); when the entries and the extra would then fill more than 2/3 of
        it, the arrays are enlarged to 1.5x that by ``_resize_entries`` (in place: mremap on
        their map, else ``ndarray.resize``; no second copy alive)."""
        size = self.data.shape[0]
        if self.top + extra <= size:
            return
        if 4 * (self.top - self.live) >= size:
            self.top = self.live = self._compact_in_place()
        need = self.top + extra
        if 3 * need > 2 * size:
            new = max(1024, (3 * need + 1) // 2)
            for name in ("data", "ind"):
                self._resize_entries(name, new)

    def _new_entries(self, name, size, dtype):
        """A zero entry array of ``size`` on its own map (recorded in ``_maps``), or a plain
        array where maps are unavailable."""
        arr, mm = _mapped_zeros(size, dtype)
        if mm is None:
            self._maps.pop(name, None)
        else:
            self._maps[name] = mm
        return arr

    def _resize_entries(self, name, new, grow_by_copy=True):
        """Resize entry array ``name`` to ``new`` entries keeping its first ones. On a map:
        in place (mremap: no copy, no page touched; pages past a shrunk end are given back,
        pages past the old end stay untouched until written), so a growth costs only the
        entries later written. Without a map (or while a view of it is held elsewhere):
        ``ndarray.resize`` (realloc; numpy zero-fills the new part, touching it), else a
        copy when ``grow_by_copy`` (a shrink is then skipped)."""
        arr = getattr(self, name)
        old, dtype = arr.shape[0], arr.dtype
        mm = self._maps.get(name)
        if mm is not None:
            setattr(self, name, None)
            del arr                      # the map cannot be resized while exported
            try:
                mm.resize(max(new, 1) * dtype.itemsize)
                setattr(self, name, np.frombuffer(mm, dtype, count=new))
                return
            except (BufferError, OSError, SystemError, ValueError):   # views elsewhere
                arr = np.frombuffer(mm, dtype, count=old)
                setattr(self, name, arr)
        try:
            arr.resize(new, refcheck=True)
            self._maps.pop(name, None)
        except ValueError:               # referred to elsewhere, or not its own data
            if grow_by_copy:
                fresh = self._new_entries(name, new, dtype)
                fresh[:min(old, new)] = arr[:new]
                setattr(self, name, fresh)

    def __getstate__(self):
        """Pickled (and deep-copied) with plain arrays: maps do not pickle."""
        state = dict(self.__dict__)
        state["_maps"] = {}
        for name in ("_scratch", "_iscratch", "_fscratch"):
            state.pop(name, None)
        for name in ("data", "ind"):
            state[name] = np.array(state[name])
        return state

    def _ensure_gram(self, rows):
        """Grow the slot dimension kg of the per-slot arrays and gram (in steps of
        max(_GRAM_STEP, kg // 8), at most k) so that adding a constraint to every example in
        ``rows`` fits: an example's slots then never pass kg while kg < k (one that is full,
        m = k, evicts first). Existing slots keep their values; new ones are zero."""
        k, kg = self.k, self.gram.shape[1]
        if kg >= k or rows.size == 0:
            return
        if rows.size == 1 or bool((rows[1:] > rows[:-1]).all()):   # distinct examples
            need = int(self.m[rows].max()) + 1
        else:
            need = int((self.m + np.bincount(rows, minlength=self.n)).max())
        if need <= kg:
            return
        new = min(k, max(need, kg + max(_GRAM_STEP, kg // 8)))
        for name in ("start", "length", "b", "alpha", "idle", "gram"):
            old = getattr(self, name)
            grown = np.zeros((self.n,) + (new,) * (old.ndim - 1), dtype=old.dtype)
            grown[(slice(None),) + (slice(0, kg),) * (old.ndim - 1)] = old
            setattr(self, name, None)     # (the old array can go before the next one grows)
            setattr(self, name, grown)
            del old, grown

    def _compact_in_place(self, chunk=1 << 18):
        """Move the live rows to the front of data/ind, in the order of their positions
        (each row moves down, never onto a row not yet moved), a chunk of about ``chunk``
        entries at a time; returns the new top. Only positions change: every row keeps its
        entries in order, so sums over rows are unchanged bit for bit."""
        k = self.start.shape[1]
        ii, kk = np.nonzero(np.arange(k)[None, :] < self.m[:, None])
        if ii.size == 0:
            return 0
        st = self.start[ii, kk]
        order = np.argsort(st, kind="stable")
        ii, kk, st = ii[order], kk[order], st[order]
        ln = self.length[ii, kk]
        ends = np.cumsum(ln)
        dst = ends - ln
        self.start[ii, kk] = dst
        cuts = np.searchsorted(ends, np.arange(chunk, int(ends[-1]), chunk), side="left")
        lo = 0
        for hi in [*np.unique(cuts + 1).tolist(), ii.size]:
            if hi <= lo:
                continue
            a, z = int(dst[lo]), int(ends[hi - 1])
            rel = np.cumsum(ln[lo:hi]) - ln[lo:hi]
            pos = np.repeat(st[lo:hi] - rel - a, ln[lo:hi]) + np.arange(a, z)
            self.data[a:z] = self.data[pos]
            self.ind[a:z] = self.ind[pos]
            lo = hi
        return int(ends[-1])

    def add(self, rows, D, Lb, w, src=None):
        """Add row src[r] of CSR D (already scaled) with offset Lb[src[r]] to example rows[r]
        (src None: row r), evicting as ``dcd_kernels.add_constraints`` says."""
        if not (isinstance(D, sp.csr_matrix) and D.dtype == np.float64):
            D = sp.csr_matrix(D, dtype=np.float64)
        rows = np.ascontiguousarray(rows, dtype=np.int64)
        src = (np.arange(rows.shape[0], dtype=np.int64) if src is None
               else np.ascontiguousarray(src, dtype=np.int64))
        if rows.shape != src.shape or (src.size and (src.min() < 0 or src.max() >= D.shape[0])):
            raise ValueError("add: src must give one row of D for every example in rows")
        if self.data.dtype != np.float64 and self.dtype_mode == "auto" and D.nnz:
            store = _storage_for(D.data, self.data.dtype)
            if store != self.data.dtype:     # not exact in the storage: widen for good
                wide = self._new_entries("data", self.data.shape[0], store)
                wide[:] = self.data
                self.data = wide
        lens = D.indptr[src + 1] - D.indptr[src]
        self._ensure(int(lens.sum()))
        self._ensure_gram(rows)
        iscratch, fscratch = self._add_scratch(int(lens.max(initial=0)))
        top, freed = K.add_constraints(rows, src, D.data,
                                       D.indices.astype(self.ind.dtype, copy=False),
                                       D.indptr.astype(np.int64, copy=False),
                                       np.ascontiguousarray(Lb, dtype=np.float64), self.m,
                                       self.start, self.length, self.b, self.alpha, self.idle,
                                       self.gram, self.alpha_sum, self.data, self.ind, self.top,
                                       w, -1, iscratch, fscratch)
        self.live += (int(top) - self.top) - int(freed)
        self.top = int(top)

    def prune(self, max_idle):
        """Age every constraint whose α is 0 and drop those idle for more than ``max_idle``
        passes (``dcd_kernels.add_constraints`` in its prune mode); then ``_tidy``."""
        no_rows, no_f = self._no_rows, self._no_w
        _top, freed = K.add_constraints(no_rows, no_rows, no_f, self._no_ind(), no_rows, no_f,
                                        self.m, self.start, self.length, self.b, self.alpha,
                                        self.idle, self.gram, self.alpha_sum, self.data,
                                        self.ind, self.top, no_f, max(int(max_idle), 0),
                                        no_rows, no_f)
        self.live -= int(freed)
        self._tidy()

    def _tidy(self, min_entries=1 << 16, dead_share=0.2):
        """Once dead entries (pruned or evicted rows) are ``dead_share`` of those written,
        compact in place and give back the pages past the live entries: on a map they are
        released (``madvise``: the capacity stays, the pages read as zeros and cost nothing
        until written again), else the arrays shrink to 1.25x the live entries
        (``ndarray.resize``). So dead rows do not stay resident until the next growth. Only
        positions change (see ``_compact_in_place``)."""
        if self.top < min_entries or self.top - self.live < dead_share * self.top:
            return
        self.top = self.live = self._compact_in_place()
        new = max(1024, self.top + self.top // 4)
        for name in ("data", "ind"):
            mm = self._maps.get(name)
            if mm is not None and hasattr(mm, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
                lo = -(-self.top * getattr(self, name).dtype.itemsize // mmap.PAGESIZE)
                lo *= mmap.PAGESIZE
                if lo < len(mm):
                    try:
                        mm.madvise(mmap.MADV_DONTNEED, lo, len(mm) - lo)
                    except (OSError, ValueError):   # advice refused: the pages stay
                        pass
            elif new < getattr(self, name).shape[0]:   # referred to elsewhere: keep the size
                self._resize_entries(name, new, grow_by_copy=False)

    def tidy(self, dead_share=0.05):
        """Compact the entry arrays and release the pages of dead rows once they are
        ``dead_share`` of the entries written (before a moment of peak memory, such as a
        certifying pass); only positions change."""
        self._tidy(dead_share=dead_share)

    def slacks(self, w, rows=None):
        """ξ_i = max(0, max_k b_ik − w·a_ik) over each example's working set (or the examples ``rows``)."""
        if rows is None:    # the rows kernel over every example: one kernel less to compile
            rows = np.arange(self.n, dtype=np.int64)
        out = np.empty(rows.shape[0], dtype=np.float64)
        if not w.flags.writeable:   # the sweep kernel's signature takes w writeable (SLACKS only reads it)
            w = w.copy()
        self._pass(K.SLACKS, np.ascontiguousarray(rows, dtype=np.int64), self._no_flags, 0.0,
                   w, 0.0, 0, out)
        return out

    def weights(self, out=None):
        """w = Σ_i Σ_k α_ik a_ik rebuilt from the stored constraints (float64): into ``out``
        (a float64 d-vector, overwritten: no second d-vector alive) when given, else a new
        array."""
        if out is None:
            w = np.zeros(self.d)
        else:
            if not (isinstance(out, np.ndarray) and out.dtype == np.float64
                    and out.shape == (self.d,) and out.flags.c_contiguous):
                raise ValueError("weights: out must be a contiguous float64 array of length d")
            w = out
            w.fill(0.0)
        self._pass(K.REBUILD, self._no_rows, self._no_flags, 0.0, w, 0.0, 0, self._no_out)
        return w

    def linear(self):
        """Σ_i Σ_k α_ik b_ik, summed as over (n, k) arrays (the products in the first kg
        columns, zeros after): numpy's pairwise sum depends on where the zeros are, so the
        bits do not depend on how far the slot arrays have grown."""
        prod = np.zeros((self.n, self.k))
        np.multiply(self.alpha, self.b, out=prod[:, :self.alpha.shape[1]])
        return float(prod.sum())

    def dual(self, w):
        """The n-slack dual objective Σ_i Σ_k α_ik b_ik − ½‖w‖² at w = Σ α_ik a_ik."""
        return self.linear() - 0.5 * float(np.dot(w, w))

    def sweep(self, order, active, cap, w, tol, max_steps=200):
        """One sweep of exact per-example block solves of the dual over the working sets in ``order`` (w updated in place); returns the kernel's (largest violation seen, total dual increase, blocks visited)."""
        return self._pass(K.SWEEP, order, active, float(cap), w, float(tol), int(max_steps),
                          self._no_out)

    #: empty stand-ins for the arguments a mode of ``dcd_kernels.sweep`` does not read (of
    #: the types the other modes pass, so that every mode runs the same compiled kernel)
    _no_rows = np.empty(0, dtype=np.int64)
    _no_flags = np.empty(0, dtype=np.uint8)
    _no_w = np.empty(0, dtype=np.float64)
    _no_out = np.empty(0, dtype=np.float64)

    def _scratch_of(self, name, size, dtype):
        """The pool's scratch array ``name`` (kept across calls, not pickled), grown to at
        least ``size`` entries."""
        arr = self.__dict__.get(name)
        if arr is None or arr.shape[0] < size:
            arr = np.empty(size, dtype=dtype)
            setattr(self, name, arr)
        return arr

    def _add_scratch(self, longest):
        """``add_constraints``' scratch for rows of at most ``longest`` entries (2x int64, 1x
        float64)."""
        return (self._scratch_of("_iscratch", 2 * longest, np.int64),
                self._scratch_of("_fscratch", longest, np.float64))

    def _no_ind(self):
        """An empty array of the pool's index dtype (``add_constraints``' D_ind when it prunes)."""
        return self._no_rows if self.ind.dtype == np.int64 else self._no_ind32

    _no_ind32 = np.empty(0, dtype=np.int32)

    def _pass(self, mode, order, active, cap, w, tol, max_steps, out):
        """``dcd_kernels.sweep`` in ``mode`` over this pool's arrays (its 2K floats of scratch
        kept on the pool)."""
        scratch = self._scratch_of("_scratch", 2 * self.start.shape[1], np.float64)
        return K.sweep(mode, order, active, cap, self.m, self.start, self.length, self.b,
                       self.alpha, self.gram, self.alpha_sum, self.data, self.ind, w, tol,
                       max_steps, out, scratch)


def _storage_for(values, current):
    """The narrowest of ``current`` and the wider storages (int8, float32, float64) that
    holds every float64 of ``values`` exactly."""
    ladder = (np.dtype(np.int8), np.dtype(np.float32), np.dtype(np.float64))
    for store in ladder[ladder.index(np.dtype(current)):]:
        if store == np.int8:
            with np.errstate(invalid="ignore", over="ignore"):
                # a cast that is undefined (NaN, inf, out of range) cannot compare equal
                if np.array_equal(values.astype(np.int8), values):
                    return store
        elif store == np.float32:
            if np.array_equal(values.astype(np.float32).astype(np.float64), values):
                return store
        else:
            return store
    return ladder[-1]


def _mapped_zeros(size, dtype):
    """(a zero 1-d array of ``size`` ``dtype`` entries, its map): the array is a view of a
    private anonymous memory map of its own, whose pages are resident only once written and
    which ``mmap.resize`` grows or shrinks in place (Linux: mremap); (np.zeros, None) where
    private anonymous maps are unavailable."""
    dtype = np.dtype(dtype)
    flags = getattr(mmap, "MAP_PRIVATE", None)
    if flags is not None and hasattr(mmap, "MAP_ANONYMOUS"):
        try:
            mm = mmap.mmap(-1, max(int(size), 1) * dtype.itemsize,
                           flags=flags | mmap.MAP_ANONYMOUS)
            return np.frombuffer(mm, dtype, count=int(size)), mm
        except (OSError, ValueError, TypeError):
            pass
    return np.zeros(int(size), dtype=dtype), None


def solve_working_sets(pool, active, cap, w, tol, inner_sweeps, rng):
    """Up to ``inner_sweeps`` seeded random-order sweeps of exact block solves over the
    working sets (blocks flagged in ``active``; a sweep shrinks the optimal ones), updating
    ``pool.alpha`` and w in place; when the shrunk sweep finds nothing to do, one unshrunk
    sweep checks every block. Returns (sweeps run, solved: every block's KKT violation <= tol)."""
    sweeps = 0
    for _ in range(inner_sweeps):
        order = rng.permutation(pool.n).astype(np.int64)
        worst, _gain, visited = pool.sweep(order, active, cap, w, tol)
        sweeps += 1
        if visited == 0 or worst <= tol:
            # the shrunk blocks were optimal: check every block once, unshrunk
            active[pool.m > 0] = 1
            worst, _gain, _v = pool.sweep(order, active, cap, w, tol)
            sweeps += 1
            if worst <= tol:
                return sweeps, True
    return sweeps, False
