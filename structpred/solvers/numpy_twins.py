"""Numpy twins of the solver kernels a ranking run needs (``dcd_kernels``, ``guard._scan``,
``objective``), run by ``structpred.jit`` while numba is not loaded, for problems of
moderate size: a MQ2008-sized fit then never loads numba (about 0.5 s of start-up).

Each twin has its kernel's name and arguments and works on the same arrays (the n-slack
constraint pool of ``dual_pool.ConstraintPool``: slot j < m[i] of example i holds row
pool_data/pool_ind[start[i, j] : start[i, j] + length[i, j]], its offset b[i, j], its α and
idle count, and gram[i] the example's own Gram matrix), so a run can switch to the compiled
kernels midway. They do the kernels' floating-point operations in the kernels' order (sums
of products by ``np.bincount``, which adds in input order, by scipy's CSR product, which
sums each row in storage order, or down the columns of a C-ordered dense array with
``np.add.reduce(axis=0)``, which adds row after row; the SMO steps of a block solve in
Python floats), so a fit gives the same w bit for bit (tests/test_ranking_numpy.py checks
twins and whole fits).

The block sweep is a Python loop over the active examples (about 25 µs each on MQ2008,
most of it the SMO steps): the slots of the blocks to visit are gathered once per sweep as
the columns of a dense array (when the rows list their features in order, each once), so
that a block's dots are one column sum and its update w += δ·row; a twin takes problems of
at most ``MAX_EXAMPLES`` examples (and ``MAX_DENSE`` floats of temporaries); larger ones
load numba.
"""
from __future__ import annotations

from functools import cached_property
from itertools import repeat
from operator import add as _add, mul as _mul, sub as _sub

import numpy as np
import scipy.sparse as sp

from .dcd_kernels import REBUILD as _REBUILD, SLACKS as _SLACKS, SWEEP as _SWEEP

__all__ = ["add_constraints", "sweep", "_scan", "_row_margins", "_add_rows",
           "MAX_EXAMPLES", "MAX_DENSE"]

#: Largest number of examples a DCD twin takes (the sweep is a Python loop over them).
MAX_EXAMPLES = 4096
#: Block solves the sweep twin does in a process before it declines (numba then loads and
#: the compiled kernels take over, with the same results): about 1.5 s of numpy work, three
#: times numba's start-up, so a long run pays at most that much for having started in numpy.
SWEEP_BUDGET = 40000
_blocks_done = 0
#: Blocks whose slot dots a sweep computes at once (recomputed after a block changes w).
_WINDOW = 4
#: Largest dense copy (slots x features) of the working sets a sweep builds.
MAX_DENSE = 1 << 22


# ---------------------------------------------------------------- slot helpers
def _slots(m, K):
    """(example, slot) of every live slot, in example order then slot order."""
    mask = np.arange(K)[None, :] < m[:, None]
    return np.nonzero(mask)


def _positions(start, length):
    """Pool positions of the rows start[r] : start[r] + length[r], concatenated."""
    total = int(length.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    first = np.cumsum(length) - length
    return np.repeat(start - first, length) + np.arange(total)


def _dots(pool_data, pool_ind, start, length, w):
    """[row r · w] for the pool rows (start[r], length[r])."""
    pos = _positions(start, length)
    out = np.zeros(start.shape[0])
    if pos.size:
        rows = np.repeat(np.arange(start.shape[0]), length)
        out += np.bincount(rows, weights=pool_data[pos] * w[pool_ind[pos]],
                           minlength=start.shape[0])
    return out


def _local_slots(counts):
    """[0, 1, ..., c - 1 for each c in counts], concatenated."""
    total = int(counts.sum())
    return np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)


def _fits(n, d, slots):
    return n <= MAX_EXAMPLES and slots * max(d, 1) <= MAX_DENSE


# ---------------------------------------------------------------- dcd_kernels twins
def _slacks_all(m, start, length, b, pool_data, pool_ind, w):
    """ξ_i = max(0, max_k b_k - w·a_k) over each example's cached constraints."""
    out = np.zeros(m.shape[0])
    ii, kk = _slots(m, start.shape[1])
    if ii.size:
        v = b[ii, kk] - _dots(pool_data, pool_ind, start[ii, kk], length[ii, kk], w)
        np.maximum.at(out, ii, v)
    return out


def _slacks_rows(rows, m, start, length, b, pool_data, pool_ind, w):
    """ξ_i for the examples ``rows`` only (``sweep``'s SLACKS mode)."""
    sub = _slacks_all(m[rows], start[rows], length[rows], b[rows], pool_data, pool_ind, w)
    return sub


def _rebuild_w(m, start, length, alpha, pool_data, pool_ind, w):
    """(``sweep``'s REBUILD mode) w = Σ α_k a_k from scratch (removes drift); w must be zero on entry."""
    ii, kk = _slots(m, start.shape[1])
    keep = alpha[ii, kk] != 0.0
    ii, kk = ii[keep], kk[keep]
    if ii.size == 0:
        return
    ln = length[ii, kk]
    pos = _positions(start[ii, kk], ln)
    coef = np.repeat(alpha[ii, kk], ln)
    w += np.bincount(pool_ind[pos], weights=coef * pool_data[pos], minlength=w.shape[0])


def _move_slot(i, src, dst, start, length, b, alpha, idle, gram, last):
    """Slot src of example i into slot dst (dcd_kernels._drop_slot's move), then clear src."""
    start[i, dst] = start[i, src]
    length[i, dst] = length[i, src]
    b[i, dst] = b[i, src]
    alpha[i, dst] = alpha[i, src]
    idle[i, dst] = idle[i, src]
    gram[i, dst, :last + 1] = gram[i, src, :last + 1]
    gram[i, :last + 1, dst] = gram[i, :last + 1, src]
    gram[i, dst, dst] = gram[i, src, src]


def _drop_slot(i, j, m, start, length, b, alpha, idle, gram):
    """Remove slot j of example i by moving the last slot into it (α must be 0 already)."""
    last = int(m[i]) - 1
    if j != last:
        _move_slot(i, last, j, start, length, b, alpha, idle, gram, last)
    alpha[i, last] = 0.0
    b[i, last] = 0.0
    length[i, last] = 0
    m[i] = last


def _age_and_prune(m, start, length, b, alpha, idle, gram, max_idle):
    """(``add_constraints``' prune mode) idle += 1 for α = 0 slots (reset for α > 0); drop slots idle more than max_idle
    passes. Returns the nonzeros freed."""
    ii, kk = _slots(m, start.shape[1])
    if ii.size == 0:
        return 0
    new_idle = np.where(alpha[ii, kk] > 0.0, 0, idle[ii, kk] + 1)
    dropping = np.zeros(m.shape[0], dtype=bool)
    dropping[ii[new_idle > max_idle]] = True
    plain = ~dropping[ii]
    idle[ii[plain], kk[plain]] = new_idle[plain]
    freed = 0
    for i in np.flatnonzero(dropping).tolist():
        # the kernel's loop, slot by slot, on lists of the example's row (what a move leaves
        # behind in the vacated slot included), its Gram matrix moved as _move_slot does
        mi = int(m[i])
        st, ln = start[i, :mi].tolist(), length[i, :mi].tolist()
        bb, al, idl = b[i, :mi].tolist(), alpha[i, :mi].tolist(), idle[i, :mi].tolist()
        g = gram[i]
        top = mi
        j = 0
        while j < top:
            if al[j] > 0.0:
                idl[j] = 0
            else:
                idl[j] += 1
                if idl[j] > max_idle:
                    freed += ln[j]
                    last = top - 1
                    if j != last:
                        st[j], ln[j], bb[j], al[j], idl[j] = st[last], ln[last], bb[last], al[last], idl[last]
                        g[j, :last + 1] = g[last, :last + 1]
                        g[:last + 1, j] = g[:last + 1, last]
                        g[j, j] = g[last, last]
                    al[last] = 0.0
                    bb[last] = 0.0
                    ln[last] = 0
                    top = last
                    continue
            j += 1
        start[i, :mi], length[i, :mi], b[i, :mi], alpha[i, :mi], idle[i, :mi] = st, ln, bb, al, idl
        m[i] = top
    return freed


def _append_rows(rows, D_data, D_ind, D_ptr, Lb, m, start, length, b, alpha, idle, gram,
                 alpha_sum, pool_data, pool_ind, top, w):
    """Append row r of D (scaled already) as a new constraint of example rows[r], for every
    r; a full example first evicts a slot as the kernel does. Returns (new top, live nonzeros
    freed by evictions)."""
    K = start.shape[1]
    d = w.shape[0]
    R = rows.shape[0]
    if R == 0:
        return top, 0
    if np.unique(rows).shape[0] != R or np.any(m[rows] >= K):
        freed = 0
        for r in range(R):     # the rare case, one row at a time in the kernel's order
            top, f = _append_rows(rows[r:r + 1], D_data, D_ind, D_ptr[r:r + 2], Lb[r:r + 1],
                                  m, start, length, b, alpha, idle, gram, alpha_sum,
                                     pool_data, pool_ind, top, w) \
                if m[rows[r]] < K else _add_evicting(r, rows, D_data, D_ind, D_ptr, Lb, m,
                                                    start, length, b, alpha, idle, gram,
                                                    alpha_sum, pool_data, pool_ind, top, w)
            freed += f
        return top, freed
    # every example has room and appears once: one vectorised append
    counts = np.diff(D_ptr[:R + 1])
    row_of = np.repeat(np.arange(R), counts)
    lo = int(D_ptr[0])
    vals = D_data[lo:lo + row_of.size]
    cols = D_ind[lo:lo + row_of.size]
    nz = vals != 0.0
    vals, cols, row_of = vals[nz], cols[nz], row_of[nz]
    ln = np.bincount(row_of, minlength=R)
    new_top = top + int(vals.size)
    pool_data[top:new_top] = vals
    pool_ind[top:new_top] = cols
    j = m[rows].copy()
    start[rows, j] = top + np.cumsum(ln) - ln
    length[rows, j] = ln
    b[rows, j] = Lb[:R]
    alpha[rows, j] = 0.0
    idle[rows, j] = 0
    m[rows] = j + 1
    # Gram rows: the new row against every slot of its example (itself included)
    new_dense = np.zeros((R, d))
    np.add.at(new_dense, (row_of, cols), pool_data[top:new_top])
    owner = np.repeat(np.arange(R), j + 1)
    slot = _local_slots(j + 1)
    ex = rows[owner]
    sl_start, sl_len = start[ex, slot], length[ex, slot]
    pos = _positions(sl_start, sl_len)
    which = np.repeat(np.arange(owner.size), sl_len)
    g = np.bincount(which, weights=pool_data[pos] * new_dense[owner[which], pool_ind[pos]],
                    minlength=owner.size)
    gram[ex, j[owner], slot] = g
    gram[ex, slot, j[owner]] = g
    return new_top, 0


def _add_evicting(r, rows, D_data, D_ind, D_ptr, Lb, m, start, length, b, alpha, idle, gram,
                  alpha_sum, pool_data, pool_ind, top, w):
    """_append_rows for the single row r whose example is full: evict, then append."""
    i = int(rows[r])
    K = start.shape[1]
    a_row = alpha[i, :K]
    zero = np.flatnonzero(a_row == 0.0)
    if zero.size:
        victim = int(zero[np.argmax(idle[i, zero])])      # first of the longest idle
    else:
        victim = int(np.argmin(a_row))                    # first of the smallest α
        a = alpha[i, victim]
        s, ln = int(start[i, victim]), int(length[i, victim])
        np.add.at(w, pool_ind[s:s + ln], -a * pool_data[s:s + ln])
        alpha_sum[i] -= a
        alpha[i, victim] = 0.0
    freed = int(length[i, victim])
    _drop_slot(i, victim, m, start, length, b, alpha, idle, gram)
    top, _ = _append_rows(rows[r:r + 1], D_data, D_ind, D_ptr[r:r + 2], Lb[r:r + 1], m,
                          start, length, b, alpha, idle, gram, alpha_sum, pool_data, pool_ind, top,
                             w)
    return top, freed


def _add_accepts(rows, D_data, D_ind, D_ptr, Lb, m, start, length, b, alpha, idle, gram,
                 alpha_sum, pool_data, pool_ind, top, w, max_idle, iscratch=None, fscratch=None):
    if max_idle >= 0:     # the prune
        return _fits(m.shape[0], 1, 0)
    return _fits(m.shape[0], w.shape[0], rows.shape[0] * (start.shape[1] + 1))



def add_constraints(rows, src, D_data, D_ind, D_ptr, Lb, m, start, length, b, alpha, idle, gram,
                    alpha_sum, pool_data, pool_ind, top, w, max_idle, iscratch=None,
                    fscratch=None):
    """Append row src[r] of D (scaled already), offset Lb[src[r]], as a new constraint of
    example rows[r], for every r (those rows gathered, then ``_append_rows``); a full example
    first evicts a slot as the kernel does. Returns (new top, live nonzeros freed). With
    ``max_idle`` >= 0: the kernel's prune instead (``_age_and_prune``), (top, nonzeros freed).
    The kernel's scratch arrays are not used."""
    if max_idle >= 0:
        return top, int(_age_and_prune(m, start, length, b, alpha, idle, gram, max_idle))
    lo, hi = D_ptr[src], D_ptr[src + 1]
    pos = _positions(lo, hi - lo)
    ptr = np.zeros(src.shape[0] + 1, dtype=np.int64)
    np.cumsum(hi - lo, out=ptr[1:])
    return _append_rows(rows, D_data[pos], D_ind[pos], ptr, Lb[src], m, start, length, b,
                        alpha, idle, gram, alpha_sum, pool_data, pool_ind, top, w)


add_constraints.accepts = (lambda rows, src, *args: _add_accepts(rows, *args))


class _Rows:
    """The rows of the working sets of some examples, gathered once (kernel storage order):
    entry p of the gathered arrays is value data[p] at feature ind[p] of slot gslot[p]
    (counting the slots of all the examples; sl holds the slots' numbers within their
    examples); example number e owns slots first_slot[e] : first_slot[e + 1], and slot s
    entries slot_first[s] : slot_end[s]. What a caller does not read is not built."""

    def __init__(self, examples, m, start, length, pool_data, pool_ind):
        mt = m[examples]
        self.ex = ex = np.repeat(examples, mt)
        self.sl = sl = _local_slots(mt)
        self.ln = ln = length[ex, sl]
        pos = _positions(start[ex, sl], ln)
        self.raw = pool_data[pos]             # the pool's storage type
        self.ind = pool_ind[pos]
        self.gslot = np.repeat(np.arange(ln.shape[0]), ln)     # slot number over all examples
        per_example = np.concatenate([[0], np.cumsum(mt)])
        self.first_slot = per_example.tolist()

    @cached_property
    def data(self):
        return self.raw.astype(np.float64)

    @cached_property
    def slot_end(self):
        return np.cumsum(self.ln).tolist()

    @cached_property
    def slot_first(self):
        return (np.cumsum(self.ln) - self.ln).tolist()


def _smo(cap, mi, ai, alpha_sum_i, G, o, grad, tol, max_steps):
    """The kernel's SMO steps (see dcd_kernels.sweep) in Python floats, the block's
    Gram matrix row-major in the flat list G from offset o (row r: G[o + r·mi : o + r·mi + mi]);
    returns (first violation, gain, δ). The same comparisons and float operations in the same
    order: ``up`` is the first index of the largest gradient above 0, ``dn`` the first index of
    the smallest gradient below the slack variable's (0, or +inf when the slack is 0) among
    the variables that can decrease (α + δ > 0): the gradients plus a penalty, 0 for those
    and +inf for the others (g + 0 is g, up to the sign of a zero, which no comparison or
    difference below sees). The gradient update g - t·(u - v) runs as nested ``map``s of
    the same operations (no Python loop per entry)."""
    delta = [0.0] * mi
    cur = list(ai)
    inf = float("inf")
    pen = [0.0 if c > 0.0 else inf for c in cur]
    slack = cap - alpha_sum_i
    if slack < 0.0:
        slack = 0.0
    first_viol = 0.0
    gain = 0.0
    first = True
    for _ in range(max_steps):
        gup = max(grad)
        if gup > 0.0:
            up = grad.index(gup)
        else:
            up = -1
            gup = 0.0
        eligible = list(map(_add, grad, pen))
        low = min(eligible)
        if slack > 0.0:
            if low < 0.0:
                gdn = low; dn = eligible.index(low)
            else:
                gdn = 0.0; dn = -1
        elif low < inf:
            gdn = low; dn = eligible.index(low)
        else:
            break
        viol = gup - gdn
        if first:
            first_viol = viol
            first = False
        if viol <= tol or up == dn:
            break
        if up >= 0:
            pu = o + up * mi
            if dn >= 0:
                pd = o + dn * mi
                Gu = G[pu:pu + mi]
                Gd = G[pd:pd + mi]
                eta = Gu[up] + Gd[dn] - 2.0 * Gu[dn]
                room = cur[dn]
            else:
                Gu = G[pu:pu + mi]
                eta = Gu[up]
                room = slack
        else:
            pd = o + dn * mi
            Gd = G[pd:pd + mi]
            eta = Gd[dn]
            room = cur[dn]
        if eta > 1e-300:
            t = viol / eta
            if t > room:
                t = room
        else:
            t = room
        if t <= 0.0:
            break
        gain += t * viol - 0.5 * t * t * eta
        if up >= 0:
            delta[up] += t
            c = cur[up] = ai[up] + delta[up]
            pen[up] = 0.0 if c > 0.0 else inf
            if dn >= 0:
                delta[dn] -= t
                if ai[dn] + delta[dn] < 1e-300 * cap:
                    delta[dn] = -ai[dn]
                c = cur[dn] = ai[dn] + delta[dn]
                pen[dn] = 0.0 if c > 0.0 else inf
                grad = list(map(_sub, grad, map(_mul, repeat(t), map(_sub, Gu, Gd))))
            else:
                slack -= t
                if slack < 0.0:
                    slack = 0.0
                grad = list(map(_sub, grad, map(_mul, repeat(t), Gu)))
        else:
            slack += t
            delta[dn] -= t
            if ai[dn] + delta[dn] < 1e-300 * cap:
                delta[dn] = -ai[dn]
            c = cur[dn] = ai[dn] + delta[dn]
            pen[dn] = 0.0 if c > 0.0 else inf
            grad = list(map(_sub, grad, map(_mul, repeat(t), map(_sub, repeat(0.0), Gd))))
    return first_viol, gain, delta


def _dense_rows(rows, n_slots, w):
    """The gathered slots as the columns of a dense (d, n_slots + 1) float64 array (last
    column 0), or None when that would not reproduce the kernel's arithmetic bit for bit:
    unless every slot lists its features in increasing order, each at most once (the
    kernel's sequential sums then visit the nonzeros in the order of a column; the zeros in
    between add ±0, which leaves a sum started at +0 unchanged, as it is never -0), w is finite (0·w_j is then ±0) and holds no -0 (w_j + ±0 is then w_j,
    as the kernel leaves an entry its row does not list), and the array is at most
    ``MAX_DENSE`` floats."""
    d = w.shape[0]
    if (n_slots + 1) * d > MAX_DENSE or not np.all(np.isfinite(w)) \
            or np.any(np.signbit(w[w == 0.0])):
        return None
    key = rows.gslot * d + rows.ind
    if key.size > 1 and not np.all(key[1:] > key[:-1]):
        return None
    XT = np.zeros((d, n_slots + 1))
    XT[rows.ind, rows.gslot] = rows.raw
    return XT


def _sweep_blocks(order, active, cap, m, start, length, b, alpha, gram, alpha_sum, pool_data,
                  pool_ind, w, tol, max_steps):
    """(``sweep``'s SWEEP mode) One pass of block solves over the examples ``order`` whose ``active`` flag is set; an
    example whose block was already optimal (violation <= tol) is shrunk (active = 0).
    Returns (largest violation seen, total dual increase, blocks visited)."""
    on = order[active[order] != 0]
    visited = int(on.size)
    worst = 0.0
    gain = 0.0
    todo = on[m[on] > 0]
    active[on[m[on] == 0]] = 0     # an empty block: violation 0, shrunk (as in the kernel)
    if todo.size == 0:
        return worst, gain, visited
    global _blocks_done
    _blocks_done += int(todo.size)
    rows = _Rows(todo, m, start, length, pool_data, pool_ind)
    # each example's block is visited once: its b, α (flat, slot order), Gram matrix (flat,
    # row-major, mi x mi) and Σα as lists, read up front
    mt = m[todo]
    ex, sl = rows.ex, rows.sl
    b_l = b[ex, sl].tolist()
    a_l = alpha[ex, sl].tolist()
    sq = mt * mt
    cell = _local_slots(sq)
    side = np.repeat(mt, sq)
    g_l = gram[np.repeat(todo, sq), cell // side, cell % side].tolist()
    g_first = (np.cumsum(sq) - sq).tolist()
    s_l = alpha_sum[todo].tolist()
    n_slots = int(ex.size)
    XT = _dense_rows(rows, n_slots, w)
    X = None if XT is None else np.ascontiguousarray(XT.T)     # slot rows, for the updates
    wcol = w[:, None]                 # a view: follows w's in-place updates
    first_slot = rows.first_slot
    if XT is None:
        r_ind, r_data, r_gslot = rows.ind, rows.data, rows.gslot
        slot_first, slot_end = rows.slot_first, rows.slot_end
    n_todo = len(first_slot) - 1
    valid_to = 0          # the slot dots of blocks [e, valid_to) are those at the current w
    cache, base = [], 0
    for e, (i, mi) in enumerate(zip(todo.tolist(), mt.tolist())):
        s0 = first_slot[e]
        if e >= valid_to:
            # the dots of the next few blocks at once (each a sequential sum, as the kernel's):
            # valid until a block changes w
            valid_to = min(e + _WINDOW, n_todo)
            base = s0
            s1 = first_slot[valid_to]
            if XT is not None:
                # down the columns, row after row, from 0.0: sequential sums as the kernel's
                # (one more column, as a single column would be summed pairwise)
                cache = np.add.reduce(XT[:, s0:s1 + 1] * wcol, axis=0, initial=0.0).tolist()
            else:
                a, z = slot_first[s0], slot_end[s1 - 1]
                cache = np.bincount(r_gslot[a:z] - s0, weights=r_data[a:z] * w[r_ind[a:z]],
                                    minlength=s1 - s0).tolist()
        lo = s0 - base
        grad = list(map(_sub, b_l[s0:s0 + mi], cache[lo:lo + mi]))
        ai = a_l[s0:s0 + mi]
        v, g, delta = _smo(cap, mi, ai, s_l[e], g_l, g_first[e], grad, tol, max_steps)
        total = 0.0
        for k in range(mi):
            dk = delta[k]
            if dk != 0.0:
                if X is not None:
                    w += dk * X[s0 + k]                           # absent entries add ±0
                else:
                    p, q = slot_first[s0 + k], slot_end[s0 + k]
                    np.add.at(w, r_ind[p:q], dk * r_data[p:q])    # entry by entry, in order
                x = ai[k] + dk
                if x < 0.0:
                    x = 0.0
                ai[k] = x
                alpha[i, k] = x
                valid_to = e + 1
            total += ai[k]
        alpha_sum[i] = total
        gain += g
        if v > worst:
            worst = v
        if v <= tol:
            active[i] = 0
    return worst, gain, visited


def sweep(mode, order, active, cap, m, start, length, b, alpha, gram, alpha_sum, pool_data,
          pool_ind, w, tol, max_steps, out, scratch):
    """``dcd_kernels.sweep``: the pass over the working sets that ``mode`` names (SWEEP: the
    block solves; SLACKS: out[r] = ξ of example order[r]; REBUILD: w += Σ α a); returns the
    kernel's (largest violation, dual increase, blocks visited); ``scratch`` unused."""
    if mode == _SLACKS:
        out[:] = _slacks_rows(order, m, start, length, b, pool_data, pool_ind, w)
        return 0.0, 0.0, 0
    if mode == _REBUILD:
        _rebuild_w(m, start, length, alpha, pool_data, pool_ind, w)
        return 0.0, 0.0, 0
    return _sweep_blocks(order, active, cap, m, start, length, b, alpha, gram, alpha_sum,
                         pool_data, pool_ind, w, tol, max_steps)


def _sweep_accepts(mode, order, active, cap, m, start, length, b, alpha, gram, alpha_sum,
                   pool_data, pool_ind, w, tol, max_steps, out, scratch):
    if mode == _SWEEP:
        return _fits(m.shape[0], 1, 0) and _blocks_done < SWEEP_BUDGET
    if mode == _SLACKS:
        return _fits(m.shape[0], 1, 0)
    return _fits(m.shape[0], 1, 0) and (not isinstance(w, np.ndarray) or w.size <= MAX_DENSE)


sweep.accepts = _sweep_accepts


# ---------------------------------------------------------------- guard / objective twins
def _scan(data, indices, indptr, L, w, d, slack, exact, margins):
    """guard._scan's twin: (code, row, value) of the first fault in an oracle answer (code 0:
    none, 8: a warning); margins[i] = δΨ_i·w as scipy's CSR product sums it. Any fault is
    located by the kernel's own (Python) loop."""
    from .guard import _scan as kernel, _ERROR_TOL, _WARN_TOL
    n = L.shape[0]
    nnz = int(indptr[n]) if n else 0
    ok = (np.all(np.isfinite(L)) and not np.any(L < -_WARN_TOL) and indptr[0] == 0
          and np.all(np.diff(indptr[:n + 1]) >= 0)
          and (nnz == 0 or (int(indices[:nnz].min()) >= 0 and int(indices[:nnz].max()) < d)))
    if ok:
        t = data[:nnz] * w[indices[:nnz]]
        rows = np.repeat(np.arange(n), np.diff(indptr[:n + 1]))
        a = np.bincount(rows, weights=np.abs(t), minlength=n)
        ok = bool(np.all(np.isfinite(a)))
    if not ok:
        return kernel.py_func(data, indices, indptr, L, w, d, slack, exact, margins)
    M = sp.csr_matrix((data[:nnz], indices[:nnz], indptr[:n + 1]), shape=(n, d))
    s = M @ w
    margins[:n] = s
    if exact:
        if slack:
            h = L * (1.0 - s)
            size = 1.0 + np.abs(L) * (1.0 + a)
        else:
            h = L - s
            size = 1.0 + np.abs(L) + a
        bad = np.flatnonzero(h < -_ERROR_TOL * size)
        if bad.size:
            return 6, int(bad[0]), float(h[bad[0]])
        warn = np.flatnonzero(h < -_WARN_TOL * size)
        if warn.size:
            return 8, int(warn[0]), float(h[warn[0]])
    return 0, -1, 0.0


def _row_margins(data, indices, indptr, w):
    """[row i · w] of a CSR matrix, summed in row order (scipy's product)."""
    n = indptr.shape[0] - 1
    return sp.csr_matrix((data, indices, indptr), shape=(n, w.shape[0])) @ w


def _add_rows(data, indices, indptr, coef, out):
    """out += Σ_i coef_i row_i over the rows with a nonzero coefficient, added entry by entry
    in row order (np.add.at), as the kernel adds them."""
    rows = np.flatnonzero(coef != 0.0)
    if rows.size == 0:
        return
    lo, hi = indptr[rows], indptr[rows + 1]
    pos = _positions(lo, hi - lo)
    np.add.at(out, indices[pos], np.repeat(coef[rows], hi - lo) * data[pos])
