"""ConstraintPool's storage: compaction in place and growth (of the entry arrays, and of the
Gram matrices with the working sets) move and resize, never change what the solver reads:
every slot's row, Gram entries, α and the resulting w are the same bit for bit as with a
pool whose Gram matrices are allocated at full size up front."""
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from structpred.solvers import dual_pool
from structpred.solvers.dual_pool import ConstraintPool

STEP = dual_pool._GRAM_STEP


def _rows(pool):
    """Each live slot's (example, slot, indices, values), in example and slot order."""
    out = []
    for i in range(pool.n):
        for k in range(int(pool.m[i])):
            s, ln = int(pool.start[i, k]), int(pool.length[i, k])
            out.append((i, k, pool.ind[s:s + ln].tolist(), pool.data[s:s + ln].tolist()))
    return out


def _run(seed, gram_step, monkeypatch):
    monkeypatch.setattr(dual_pool, "_GRAM_STEP", gram_step)
    rng = np.random.default_rng(seed)
    n, d, K = 40, 8, 12
    pool = ConstraintPool(n, d, K, "float64")
    w = np.zeros(d)
    log = []
    for it in range(12):
        rows = rng.integers(0, n, size=int(rng.integers(1, 2 * n)))   # repeats: several adds
        D = sp.random(rows.size, d, density=0.5, random_state=int(rng.integers(1 << 30)),
                      format="csr")
        pool.add(rows.astype(np.int64), D, rng.random(rows.size) * 2, w)
        active = np.ones(n, dtype=np.uint8)
        log.append(pool.sweep(rng.permutation(n).astype(np.int64), active, 1.0 / n, w, 1e-6))
        pool.prune(2)
        log.append(pool.dual(w))
    return pool, w, log


@pytest.mark.parametrize("seed", range(3))
def test_lazy_gram_and_in_place_compaction_change_nothing(seed, monkeypatch):
    full, w_full, log_full = _run(seed, 10 ** 6, monkeypatch)      # Gram at k x k from the start
    lazy, w_lazy, log_lazy = _run(seed, STEP, monkeypatch)
    assert full.gram.shape[1] == full.start.shape[1] == full.k
    assert STEP < lazy.gram.shape[1] == lazy.start.shape[1] <= lazy.k   # they grew together
    np.testing.assert_array_equal(w_full, w_lazy)
    assert log_full == log_lazy
    kg = lazy.gram.shape[1]
    for name in ("m", "alpha_sum"):
        np.testing.assert_array_equal(getattr(full, name), getattr(lazy, name), err_msg=name)
    for name in ("b", "alpha", "idle", "length"):       # per-slot arrays: (n, kg) of (n, k)
        np.testing.assert_array_equal(getattr(full, name)[:, :kg], getattr(lazy, name),
                                      err_msg=name)
        assert not getattr(full, name)[:, kg:].any()
    np.testing.assert_array_equal(full.gram[:, :kg, :kg], lazy.gram)
    assert not full.gram[:, kg:, :].any() and not full.gram[:, :, kg:].any()
    assert _rows(full) == _rows(lazy)


def test_compaction_in_place_keeps_every_row_and_packs_them(monkeypatch):
    pool, w, _ = _run(5, STEP, monkeypatch)
    before = _rows(pool)
    assert pool.live < pool.top                       # pruning and evictions left dead entries
    top = pool._compact_in_place(chunk=7)             # many small chunks
    assert top == pool.live == sum(len(r[2]) for r in before)
    assert _rows(pool) == before
    spans = sorted((int(pool.start[i, k]), int(pool.length[i, k]))
                   for i in range(pool.n) for k in range(int(pool.m[i])))
    pos = 0
    for s, ln in spans:                               # packed: one after another from 0
        assert s == pos
        pos += ln
    assert pos == top


def test_entry_arrays_grow_and_keep_their_contents():
    n = 300
    pool = ConstraintPool(n, 5, 4, "float64")
    w = np.zeros(5)
    D = sp.csr_matrix(np.arange(1, 5 * n + 1, dtype=float).reshape(n, 5))
    for _ in range(2):                                # 3,000 entries: past the first 1,024
        pool.add(np.arange(n, dtype=np.int64), D, np.ones(n), w)
    assert pool.data.shape[0] >= pool.top == pool.live == 2 * 5 * n
    rows = _rows(pool)
    assert len(rows) == 2 * n
    for i, k, ind, vals in rows:
        assert ind == [0, 1, 2, 3, 4] and vals == D.toarray()[i].tolist()


@pytest.mark.parametrize("mode", ["compiled", "python", "twin"])
@pytest.mark.parametrize("storage", ["float64", "float32"])
def test_gram_from_unsorted_rows_with_repeats_matches_a_dense_scatter_bit_for_bit(storage, mode,
                                                                                  monkeypatch):
    """add_constraints builds each Gram row with no d-sized buffer (the new row sorted,
    repeated features summed, a merge walk along the others): the same bits as the dense
    scatter-and-gather it replaced, for rows whose features are unsorted and repeated; the
    compiled kernel, its Python function and its numpy twin alike."""
    from structpred import jit
    if mode == "compiled":
        jit.prefer_compiled()
    else:
        monkeypatch.setattr(jit, "FORCE", mode)
    rng = np.random.default_rng(7)
    n, d, K = 3, 50, 6
    rows_data, rows_ind = [], []
    for _ in range(12):
        ln = int(rng.integers(1, 15))
        ind = rng.integers(0, d, size=ln)          # unsorted, with repeats
        if rng.random() < 0.4:
            ind = np.sort(np.unique(ind))           # some ascending rows too
        val = rng.choice([-2.0, -1.0, 0.5, 1.0, 3.0], size=ind.size)
        if storage == "float64":
            val = val * rng.random(ind.size) + rng.standard_normal(ind.size) * 1e-3
        rows_data.append(val)
        rows_ind.append(ind)
    indptr = np.concatenate([[0], np.cumsum([r.size for r in rows_ind])])
    D = sp.csr_matrix((np.concatenate(rows_data), np.concatenate(rows_ind), indptr),
                      shape=(len(rows_ind), d))
    D.has_sorted_indices = False     # keep scipy from reordering or summing anything
    pool = ConstraintPool(n, d, K, storage)
    owner = np.array([0, 1, 2, 0, 1, 2, 0, 0, 1, 2, 0, 1], dtype=np.int64)
    w = np.zeros(d)
    for r in range(len(rows_ind)):
        pool.add(owner[r:r + 1], D, np.ones(D.shape[0]), w, src=np.array([r]))
    for i in range(n):
        for j in range(pool.m[i]):
            scratch = np.zeros(d)           # the dense reference, in storage order
            sj, lj = pool.start[i, j], pool.length[i, j]
            for p in range(sj, sj + lj):
                scratch[pool.ind[p]] += float(pool.data[p])
            for k in range(pool.m[i]):
                sk, lk = pool.start[i, k], pool.length[i, k]
                acc = 0.0
                for p in range(sk, sk + lk):
                    acc += float(pool.data[p]) * scratch[pool.ind[p]]
                if k <= j:          # the kernel computes row j against slots k <= j
                    assert pool.gram[i, j, k] == acc and pool.gram[i, k, j] == acc
                    assert np.signbit(pool.gram[i, j, k]) == np.signbit(acc)


def test_weights_rebuilt_into_a_given_vector_are_the_same_bits(monkeypatch):
    """pool.weights(out=w) (fit_dcd rebuilds w in place before a certifying pass, so no
    second d-vector is alive) gives the bits of a fresh rebuild, whatever out held."""
    pool, w, _ = _run(5, STEP, monkeypatch)
    fresh = pool.weights()
    out = np.random.default_rng(1).standard_normal(pool.d)
    back = pool.weights(out=out)
    assert back is out
    assert np.array_equal(back.view(np.int64), fresh.view(np.int64))
    assert np.abs(fresh).max() > 0           # a real w, not all zeros
    with pytest.raises(ValueError):
        pool.weights(out=np.zeros(pool.d, dtype=np.float32))


def test_slacks_take_a_read_only_w_and_match_a_direct_computation(monkeypatch):
    """pool.slacks(w) = max(0, max_k b_ik - w·a_ik) per example, from a read-only w too (the
    kernel it runs writes w in its other modes)."""
    pool, w, _ = _run(7, STEP, monkeypatch)
    ref = np.zeros(pool.n)
    for i, k, ind, val in _rows(pool):
        ref[i] = max(ref[i], pool.b[i, k] - float(np.dot(w[ind], val)))
    frozen = w.copy()
    frozen.setflags(write=False)
    got = pool.slacks(frozen)
    assert np.allclose(got, ref, rtol=1e-12, atol=1e-12)
    assert np.array_equal(got, pool.slacks(w.copy()))
    assert ref.max() > 0


def test_tidying_after_pruning_changes_nothing_but_positions_and_size(monkeypatch):
    """prune's _tidy (compact in place once a fifth of the written entries are dead, then
    shrink the arrays) leaves every slot's row, the sweeps and w the same bit for bit as a
    pool that never tidies, and leaves no dead entry behind when it runs."""
    orig = dual_pool.ConstraintPool._tidy
    tidied = []

    def eager(self):
        before = self.top
        orig(self, min_entries=0)
        tidied.append((before, self.top, self.live, self.data.shape[0]))
    monkeypatch.setattr(dual_pool.ConstraintPool, "_tidy", eager)
    pool_t, w_t, log_t = _run(4, STEP, monkeypatch)
    monkeypatch.setattr(dual_pool.ConstraintPool, "_tidy", lambda self: None)
    pool_n, w_n, log_n = _run(4, STEP, monkeypatch)
    assert any(b > t for b, t, _, _ in tidied)              # it did compact
    assert all(t == lv and cap >= t for b, t, lv, cap in tidied if t < b)
    assert np.array_equal(w_t.view(np.int64), w_n.view(np.int64))
    assert repr(log_t) == repr(log_n)
    assert [r[:3] for r in _rows(pool_t)] == [r[:3] for r in _rows(pool_n)]
    assert [r[3] for r in _rows(pool_t)] == [r[3] for r in _rows(pool_n)]
    np.testing.assert_array_equal(pool_t.gram, pool_n.gram)


def _vm_rss_kib():
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mremap and /proc are Linux's")
def test_entry_arrays_grow_on_their_maps_without_touching_the_new_pages():
    """The entry arrays live on private anonymous maps: growing them to 400 MB of capacity
    makes no new page resident (numpy's ndarray.resize zero-fills, i.e. writes, the whole
    new part), the entries written before are kept, the new part reads as zeros, and a
    shrink gives the pages back."""
    pool = ConstraintPool(4, 10, 4, "float32")
    assert set(pool._maps) == {"data", "ind"}
    pool.data[:1024] = np.arange(1024)
    pool.ind[:1024] = np.arange(1024)[::-1]
    base = _vm_rss_kib()
    for name in ("data", "ind"):
        pool._resize_entries(name, 50 * 2 ** 20)          # 200 MB each
    assert pool.data.shape == pool.ind.shape == (50 * 2 ** 20,)
    assert _vm_rss_kib() - base < 16 * 1024               # no 400 MB written
    np.testing.assert_array_equal(pool.data[:1024], np.arange(1024))
    np.testing.assert_array_equal(pool.ind[:1024], np.arange(1024)[::-1])
    assert not pool.data[-5:].any() and not pool.ind[-5:].any()
    pool.data[-4 * 2 ** 20:] = 1.0                        # 16 MB written at the end
    grown = _vm_rss_kib()
    assert grown - base > 12 * 1024
    pool._resize_entries("data", 2048, grow_by_copy=False)  # shrink: pages given back
    assert pool.data.shape == (2048,)
    assert grown - _vm_rss_kib() > 12 * 1024
    np.testing.assert_array_equal(pool.data[:1024], np.arange(1024))


def test_entry_arrays_held_elsewhere_are_copied_not_lost_and_pools_pickle(monkeypatch):
    """A view of an entry array held outside the pool (the map cannot be resized under it)
    makes a growth copy the entries instead; the outside view keeps its values. A pool
    pickles and deep-copies (maps do not) and the copy trains on to the same bits."""
    import copy
    import pickle
    pool = ConstraintPool(3, 6, 4, "float64")
    pool.data[:5] = [1.0, 2.0, 3.0, 4.0, 5.0]
    outside = pool.data[:5]
    pool._resize_entries("data", 5000)
    assert pool.data.shape == (5000,)
    np.testing.assert_array_equal(pool.data[:5], [1.0, 2.0, 3.0, 4.0, 5.0])
    np.testing.assert_array_equal(outside, [1.0, 2.0, 3.0, 4.0, 5.0])
    pool.data[0] = -7.0
    assert outside[0] == 1.0                              # a copy: not the same memory
    del outside

    a, w_a, _ = _run(2, STEP, monkeypatch)
    copies = [pickle.loads(pickle.dumps(a)), copy.deepcopy(a)]
    D = sp.random(20, a.d, density=0.5, random_state=3, format="csr")
    ws, before = [], _rows(a)
    for pool in [a, *copies]:
        assert _rows(pool) == before
        w = w_a.copy()
        pool.add(np.arange(20, dtype=np.int64) % pool.n, D, np.ones(20), w)
        pool._resize_entries("data", pool.data.shape[0] * 2)   # copies grow, on maps again
        pool._resize_entries("ind", pool.ind.shape[0] * 2)
        pool.sweep(np.arange(pool.n, dtype=np.int64), np.ones(pool.n, dtype=np.uint8),
                   1.0 / pool.n, w, 1e-6)
        ws.append(w.view(np.int64))
    assert all(np.array_equal(ws[0], x) for x in ws[1:])
    assert _rows(copies[0]) == _rows(a) == _rows(copies[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="madvise and /proc are Linux's")
def test_tidy_gives_back_the_pages_of_dead_rows_and_changes_no_result(monkeypatch):
    """tidy() (before a certifying pass) compacts and releases the pages past the live rows
    (the capacity stays): 64 MB of dead rows stop being resident; a tidied pool then trains
    on to the same bits as one never tidied."""
    pool = ConstraintPool(4, 10, 4, "float64")
    for name in ("data", "ind"):
        pool._resize_entries(name, 8 * 2 ** 20)
    pool.data[:] = 1.0                                    # 64 MB written, all dead rows
    pool.ind[:] = 3
    pool.top, pool.live = pool.data.shape[0], 0
    before = _vm_rss_kib()
    pool.tidy()
    assert pool.top == pool.live == 0 and pool.data.shape == (8 * 2 ** 20,)
    assert before - _vm_rss_kib() > 60 * 1024
    assert not pool.data[-3:].any()                       # released pages read as zeros

    a, w_a, _ = _run(6, STEP, monkeypatch)
    b, w_b, _ = _run(6, STEP, monkeypatch)
    assert b.live < b.top
    b._tidy(min_entries=0, dead_share=0.0)    # (tidy() leaves pools under 65,536 entries)
    assert b.top == b.live
    assert _rows(a) == _rows(b)
    rng = np.random.default_rng(0)
    for _ in range(3):
        D = sp.random(30, a.d, density=0.5, random_state=int(rng.integers(1 << 30)), format="csr")
        rows = rng.integers(0, a.n, size=30).astype(np.int64)
        for pool, w in ((a, w_a), (b, w_b)):
            pool.add(rows, D, np.ones(30), w)
            pool.sweep(np.arange(pool.n, dtype=np.int64), np.ones(pool.n, dtype=np.uint8),
                       1.0 / pool.n, w, 1e-6)
            pool.prune(2)
    assert np.array_equal(w_a.view(np.int64), w_b.view(np.int64))
    assert a.dual(w_a) == b.dual(w_b)
