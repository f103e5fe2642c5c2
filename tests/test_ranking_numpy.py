"""The numba-free path of a moderate ranking run: numpy twins of the ranking oracle and of the
n-slack solver's kernels (structpred.jit.TWINS) compute what the kernels compute, bit for bit,
down to whole fits; a MQ2008-sized run loads no numba."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import structpred.jit as jit
from structpred import StructuredSVM
from structpred.solvers import dcd_kernels, numpy_twins
from structpred.solvers.dual_pool import ConstraintPool
from structpred.tasks.ranking import Ranking
from structpred.tasks.ranking import kernels, kernels_numpy


@pytest.fixture
def force():
    """Set structpred.jit.FORCE for the test, restored afterwards."""
    def set_mode(mode):
        jit.FORCE = mode
        numpy_twins._blocks_done = 0      # the sweep twin's work budget, fresh
    yield set_mode
    jit.FORCE = None


def _queries(rng, n, d, max_docs=30, grades=5):
    w0 = rng.normal(size=d)
    X = [rng.normal(size=(int(rng.integers(1, max_docs)), d)) for _ in range(n)]
    Y = [np.floor(np.clip(x @ w0 + rng.normal(size=x.shape[0]), 0, grades - 1)) for x in X]
    return X, Y


def test_every_twin_has_its_kernels_arguments():
    """A twin whose arguments differ from its kernel's would be ignored: none does."""
    import importlib
    for module, names in ((kernels, ["rank_oracle"]),
                          (dcd_kernels, ["add_constraints", "sweep"])):
        twins = importlib.import_module(jit.TWINS[module.__name__])
        for name in names:
            kernel = getattr(module, name)     # a LazyKernel, or numba's dispatcher once compiled
            fn = getattr(twins, name)
            forms = [jit._arg_names(f) for f in (fn, *getattr(fn, "variants", ()))]
            assert jit._arg_names(kernel.py_func) in forms, name


@pytest.mark.parametrize("seed", range(4))
def test_rank_oracle_twin_counts_exactly(seed):
    rng = np.random.default_rng(seed)
    X, Y = _queries(rng, int(rng.integers(1, 40)), 3, grades=int(rng.integers(1, 7)))
    b = Ranking(n_features=3).make_batch(X, Y)
    N = int(b.offsets[-1])
    # scores on a coarse grid: ties and pairs exactly at the margin
    s = np.round(rng.normal(size=N) * 4) / rng.choice([1.0, 2.0, 4.0])
    for margin in (1.0, 0.0):
        out = []
        for fn in (kernels.rank_oracle.py_func, kernels_numpy.rank_oracle):
            coef, loss = np.zeros(N), np.zeros(len(X))
            fn(s, b.grade_rank, b.offsets, b.n_grades, b.scale, coef, loss, margin)
            out.append((coef, loss))
        np.testing.assert_array_equal(out[0][0], out[1][0])
        np.testing.assert_array_equal(out[0][1], out[1][1])


def _pool_state(seed, n=12, d=7, K=3):
    """A constraint pool after random additions, evictions, pruning and sweeps (by the
    kernels' Python code)."""
    import scipy.sparse as sp
    rng = np.random.default_rng(seed)
    jit.FORCE = "python"
    try:
        pool = ConstraintPool(n, d, K, "float64")
        w = np.zeros(d)
        for it in range(8):
            rows = np.unique(rng.integers(0, n, size=int(rng.integers(1, n))))
            if it % 3 == 2:
                rows = np.r_[rows, rows[:2]]          # an example twice in one call
            D = sp.random(rows.size, d, density=0.6, random_state=int(rng.integers(1 << 30)),
                          format="csr")
            pool.add(rows, D, rng.random(rows.size) * 3, w)
            active = np.ones(n, dtype=np.uint8)
            pool.sweep(rng.permutation(n).astype(np.int64), active, 1.0 / n, w, 1e-3)
            pool.prune(4)
        return pool, w
    finally:
        jit.FORCE = None


def _copy(pool):
    import copy
    return copy.deepcopy(pool)


def _same_pool(a, b):
    for name in ("m", "start", "length", "b", "alpha", "idle", "gram", "alpha_sum"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.top == b.top and a.live == b.live
    np.testing.assert_array_equal(a.data[:a.top], b.data[:b.top])
    np.testing.assert_array_equal(a.ind[:a.top], b.ind[:b.top])


def _same_run(a, b):
    """Two (pool, w, outputs) runs: same pool, same w, same outputs one by one."""
    (pa, wa, oa), (pb, wb, ob) = a, b
    _same_pool(pa, pb)
    np.testing.assert_array_equal(wa, wb)
    for x, y in zip(oa, ob):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("seed", range(3))
def test_dcd_twins_leave_the_same_pool_bit_for_bit(seed, force):
    """slacks, weights, a sweep, additions with evictions, pruning and compaction: the twins
    and the kernels' code leave the same pool and w, bit for bit."""
    import scipy.sparse as sp
    base, w0 = _pool_state(seed)
    n, d = base.n, base.d
    assert np.any(base.m == base.start.shape[1])     # some examples are full: they evict
    D = sp.random(n, d, density=0.5, random_state=seed, format="csr")
    Lb = np.random.default_rng(100 + seed).random(n)
    rows = np.arange(n, dtype=np.int64)
    order = np.random.default_rng(seed).permutation(n).astype(np.int64)
    results = []
    for mode in ("python", "twin"):
        force(mode)
        pool, w = _copy(base), w0.copy()
        out = [pool.slacks(w), pool.slacks(w, rows[::2]), pool.weights()]
        active = np.ones(n, dtype=np.uint8)
        out.append(np.asarray(pool.sweep(order, active, 0.5 / n, w, 1e-4), dtype=float))
        out.append(active.copy())
        pool.add(rows, D, Lb, w)            # every example: the full ones evict
        out.append(pool.dual(w))
        pool.prune(1)
        pool._ensure(10 ** 4)               # compaction into new arrays
        results.append((pool, w, out))
    _same_run(*results)


@pytest.mark.parametrize("seed", range(3))
def test_fit_with_twins_equals_fit_with_kernel_code(seed, force):
    """The default solver (n-slack DCD) on random ranking problems: the twins and the
    kernels' own code give the same w bit for bit, and primal within C·eps of each other
    trivially (equal)."""
    rng = np.random.default_rng(seed)
    X, Y = _queries(rng, int(rng.integers(30, 80)), int(rng.integers(2, 12)))
    C = float(rng.choice([0.1, 1.0, 10.0]))
    fits = []
    for mode in ("python", "twin"):
        force(mode)
        fits.append(StructuredSVM(Ranking(), C=C, eps=0.01, max_iter=300).fit(X, Y))
    assert fits[0].n_iter_ == fits[1].n_iter_
    np.testing.assert_array_equal(fits[0].w_, fits[1].w_)
    assert fits[0].primal_objective_ == fits[1].primal_objective_


def test_moderate_run_loads_no_numba(tmp_path):
    """A 60-query, 1,500-document learn --task rank process reads, trains and writes its
    model without importing numba (the twins take every call)."""
    rng = np.random.default_rng(5)
    lines = []
    for q in range(60):
        for _ in range(25):
            x = rng.random(20)
            lines.append(f"{int(rng.integers(0, 3))} qid:{q + 1} "
                         + " ".join(f"{j + 1}:{v:.6f}" for j, v in enumerate(x)) + " # d")
    data = tmp_path / "train.txt"
    data.write_text("\n".join(lines) + "\n")
    code = textwrap.dedent(f"""
        import sys
        from structpred.cli.ranking import learn_rank
        rc = learn_rank(["-c", "1", "-v", "0", {str(data)!r}, {str(tmp_path / 'm')!r}])
        print(rc, "numba" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "False"], out.stdout + out.stderr


def test_add_constraints_with_row_selection_form():
    """The twin of the kernel form add_constraints(rows, src, D, ...) adds row src[r] of D
    (offset Lb[src[r]]) to example rows[r]: the same pool as adding the selected rows."""
    import scipy.sparse as sp
    rng = np.random.default_rng(0)
    D = sp.random(6, 5, density=0.7, random_state=1, format="csr")
    Lb = rng.random(6)
    rows, src = np.array([3, 0, 2], dtype=np.int64), np.array([5, 1, 1], dtype=np.int64)
    pools = []
    for form in ("src", "plain"):
        pool = ConstraintPool(4, 5, 3, "float64")
        pool._ensure(D.nnz)
        w = np.zeros(5)
        args = (pool.m, pool.start, pool.length, pool.b, pool.alpha, pool.idle, pool.gram,
                pool.alpha_sum, pool.data, pool.ind, pool.top, w)
        if form == "src":
            top, _ = numpy_twins.add_constraints(rows, src, D.data, D.indices.astype(np.int32),
                                                 D.indptr.astype(np.int64), Lb, *args, -1)
        else:
            Ds = D[src]
            top, _ = numpy_twins._append_rows(rows, Ds.data, Ds.indices.astype(np.int32),
                                              Ds.indptr.astype(np.int64), Lb[src], *args)
        pool.top = int(top)
        pools.append(pool)
    for name in ("m", "start", "length", "b", "gram"):
        np.testing.assert_array_equal(getattr(pools[0], name), getattr(pools[1], name))
    np.testing.assert_array_equal(pools[0].data[:pools[0].top], pools[1].data[:pools[1].top])
    assert np.all(pools[0].m[[3, 0, 2]] == 1) and pools[0].b[3, 0] == Lb[5]


def test_twins_decline_large_problems(monkeypatch):
    big = np.zeros(numpy_twins.MAX_EXAMPLES + 1, dtype=np.int64)
    for mode in (dcd_kernels.SWEEP, dcd_kernels.SLACKS, dcd_kernels.REBUILD):
        assert not numpy_twins.sweep.accepts(mode, big, big, 1.0, big, *([None] * 13))
    # the prune (add_constraints with max_idle >= 0) likewise
    assert not numpy_twins.add_constraints.accepts(big, big, *([None] * 4), big, *([None] * 11), 3)
    small = np.zeros(10, dtype=np.int64)
    assert numpy_twins.sweep.accepts(dcd_kernels.SWEEP, small, small, 1.0, small, *([None] * 13))
    assert numpy_twins.add_constraints.accepts(small, small, *([None] * 4), small, *([None] * 11),
                                               3)
    # a long run: after SWEEP_BUDGET block solves the compiled kernels take over the sweeps
    monkeypatch.setattr(numpy_twins, "_blocks_done", numpy_twins.SWEEP_BUDGET)
    assert not numpy_twins.sweep.accepts(dcd_kernels.SWEEP, small, small, 1.0, small,
                                         *([None] * 13))
    assert numpy_twins.sweep.accepts(dcd_kernels.SLACKS, small, small, 1.0, small, *([None] * 13))
    offsets = np.array([0, kernels_numpy.MAX_DOCUMENTS + 1])
    s = np.zeros(kernels_numpy.MAX_DOCUMENTS + 1)
    assert not kernels_numpy.rank_oracle.accepts(s, s, offsets, np.array([2]), None, None, None)


def test_guard_and_objective_twins_match_the_kernels_code():
    """_add_rows adds entry by entry in row order, _row_margins and _scan's margins sum each
    row in storage order: the kernels' floats; _scan reports the kernel's first fault."""
    import scipy.sparse as sp
    from structpred.solvers import guard, objective
    rng = np.random.default_rng(0)
    codes = set()
    for t in range(60):
        D = sp.random(int(rng.integers(1, 40)), int(rng.integers(1, 30)), density=0.4,
                      random_state=t, format="csr")
        coef = rng.normal(size=D.shape[0])
        coef[rng.random(D.shape[0]) < 0.3] = 0.0
        out = [rng.normal(size=D.shape[1])] * 2
        out = [out[0].copy(), out[0].copy()]
        objective._add_rows.py_func(D.data, D.indices, D.indptr, coef, out[0])
        numpy_twins._add_rows(D.data, D.indices, D.indptr, coef, out[1])
        assert np.array_equal(out[0].view(np.int64), out[1].view(np.int64))
        w = rng.normal(size=D.shape[1])
        np.testing.assert_array_equal(objective._row_margins.py_func(D.data, D.indices, D.indptr, w),
                                      numpy_twins._row_margins(D.data, D.indices, D.indptr, w))
        L = np.abs(rng.normal(size=D.shape[0])) * rng.choice([0, 1, 3]) + (D @ w) * rng.choice([1, 0.5])
        if rng.random() < 0.2:
            L[int(rng.integers(L.size))] = np.nan
        for slack in (False, True):
            m = [np.zeros(D.shape[0]), np.zeros(D.shape[0])]
            r = [fn(D.data, D.indices, D.indptr, L, w, D.shape[1], slack, True, mm)
                 for fn, mm in ((guard._scan.py_func, m[0]), (numpy_twins._scan, m[1]))]
            codes.add(int(r[0][0]))
            assert (int(r[0][0]), int(r[0][1])) == (int(r[1][0]), int(r[1][1]))
            assert np.array_equal(np.float64(r[0][2]), np.float64(r[1][2]), equal_nan=True)
            if r[0][0] in (0, 8):
                np.testing.assert_array_equal(m[0], m[1])
    assert {0, 1, 6} <= codes        # clean answers, a NaN loss and a violated answer


@pytest.mark.parametrize("duplicates", [False, True])
def test_sweep_twin_long_unchanged_runs_and_repeated_features(duplicates, force):
    """Sweeps over many examples, most blocks already optimal after the first (the twin's
    window of precomputed dots then grows), and rows that list a feature twice (w is then
    updated entry by entry): the twin and the kernel's code agree bit for bit."""
    import scipy.sparse as sp
    rng = np.random.default_rng(7)
    n, d, K = 300, 9, 4
    rows_of = []
    for _ in range(2):
        nnz = rng.integers(1, d, size=n)
        ind = np.concatenate([np.sort(rng.choice(d, size=k, replace=False)) for k in nnz])
        ptr = np.r_[0, np.cumsum(nnz)]
        if duplicates:
            ind[ptr[1:-1] - 1] = ind[ptr[1:-1] - 2].clip(0)   # some rows repeat a feature
        D = sp.csr_matrix((rng.normal(size=ind.size), ind, ptr), shape=(n, d))
        rows_of.append(D)
    out = []
    for mode in ("python", "twin"):
        force(mode)
        pool = ConstraintPool(n, d, K, "float64")
        w = np.zeros(d)
        res = []
        for D in rows_of:
            pool.add(np.arange(n, dtype=np.int64), D, rng.random(n) * 0 + 1.0, w)
            for s in range(4):
                active = np.ones(n, dtype=np.uint8)
                order = np.random.default_rng(s).permutation(n).astype(np.int64)
                res.append(np.asarray(pool.sweep(order, active, 0.01, w, 1e-6), dtype=float))
                res.append(active.copy())
        out.append((pool, w, res))
    _same_run(*out)


@pytest.mark.parametrize("layout", ["sorted", "unsorted", "negative-zero-w"])
def test_sweep_twin_dense_columns_match_the_kernel(layout, force, monkeypatch):
    """The sweep twin's dense path (slots as columns of a dense array: sequential column
    sums for the dots, w += δ·column for the updates) and its fallbacks (a row listing its
    features out of order; a w holding -0) agree with the kernel's code bit for bit, over
    blocks of 1 to K slots and float32 storage; the dense path is taken exactly when the
    layout allows it (the w holding -0 until the first sweep's additions clear it)."""
    import scipy.sparse as sp
    rng = np.random.default_rng({"sorted": 1, "unsorted": 2, "negative-zero-w": 3}[layout])
    n, d, K = 60, 23, 6
    taken = []
    real = numpy_twins._dense_rows
    monkeypatch.setattr(numpy_twins, "_dense_rows",
                        lambda *a: taken.append(real(*a) is not None) or real(*a))
    batches = []
    for _ in range(K + 1):
        nnz = rng.integers(1, d, size=n)
        ind = np.concatenate([rng.choice(d, size=k, replace=False) for k in nnz])
        ptr = np.r_[0, np.cumsum(nnz)]
        if layout != "unsorted":
            ind = np.concatenate([np.sort(ind[a:b]) for a, b in zip(ptr[:-1], ptr[1:])])
        # values exact in float32, over many magnitudes (so summation order shows)
        val = (rng.normal(size=ind.size) * 2.0 ** rng.integers(-20, 20, size=ind.size))
        D = sp.csr_matrix((val.astype(np.float32).astype(np.float64), ind, ptr), shape=(n, d))
        D.has_sorted_indices = layout != "unsorted"
        rows = np.flatnonzero(rng.random(n) < 0.6).astype(np.int64)   # blocks of 1..K slots
        batches.append((rows, D[rows], rng.random(rows.size) * 3))
    out = []
    for mode in ("python", "twin"):
        force(mode)
        pool = ConstraintPool(n, d, K, "auto")
        w = np.zeros(d)
        if layout == "negative-zero-w":
            w[::3] = -0.0
        res = []
        for s, (rows, D, Lb) in enumerate(batches):
            pool.add(rows, D, Lb, w)
            for r in range(3):
                active = np.ones(n, dtype=np.uint8)
                order = np.random.default_rng(10 * s + r).permutation(n).astype(np.int64)
                res.append(np.asarray(pool.sweep(order, active, 0.3 / n, w, 1e-7), dtype=float))
                res.append(active.copy())
            for i in range(0, n, 7):        # one block alone: a window of a single slot
                active = np.zeros(n, dtype=np.uint8)
                active[i] = 1
                res.append(np.asarray(pool.sweep(order, active, 0.3 / n, w, 1e-7), dtype=float))
        out.append((pool, w.copy(), res))
    (pa, wa, _), (pb, wb, _) = out
    assert str(pa.data.dtype) == "float32"
    assert wa.tobytes() == wb.tobytes()
    _same_run(*out)
    if layout == "sorted":
        assert taken and all(taken)
    elif layout == "unsorted":
        assert taken and not any(taken)
    else:
        assert not taken[0]      # the first sweep sees the -0 entries (later adds clear them)
