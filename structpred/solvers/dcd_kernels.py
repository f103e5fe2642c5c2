"""numba kernels of the dual coordinate-descent n-slack solver (see ``dcd.py``).

Constraint storage: every cached constraint (a_k, b_k) of example i lives in slot j < m[i] of
that example (arrays of shape (n, K)); its sparse row a_k sits in one flat pool
(``pool_data``, ``pool_ind``) at ``start[i, j] : start[i, j] + length[i, j]``. ``gram[i]`` (K x K)
holds the dot products a_k·a_l of the example's own constraints, so that the block QP of one
example needs no pass over d.

The small helpers are inlined (``inline="always"``): a cached kernel calling a shared helper
compiled for several argument types (float32 and float64 pools) then links no other
specialisation's code, which numba's on-disk cache was seen to get wrong for the sequence
kernels.

First-run compile (each compiled kernel costs its code plus a fixed share of numba and LLVM
work): two kernels, ``add_constraints`` (which also prunes idle slots) and ``sweep`` (which
also gives the working sets' slacks and rebuilds w), reusing their own loops for those modes;
neither allocates (scratch comes from ``dual_pool.ConstraintPool``), so both compile with
``_nrt=False``: numba emits no reference counting of their arrays, and no ``np.empty``
overload is compiled for them.
"""
from __future__ import annotations

import numpy as np
from ..jit import njit


@njit(cache=True, nogil=True, inline="always")
def _row_dot(pool_data, pool_ind, s, ln, w):
    acc = 0.0
    for p in range(s, s + ln):
        acc += pool_data[p] * w[pool_ind[p]]
    return acc


@njit(cache=True, nogil=True, inline="always")
def _row_axpy(pool_data, pool_ind, s, ln, c, w):
    for p in range(s, s + ln):
        w[pool_ind[p]] += c * pool_data[p]


@njit(cache=True, nogil=True, inline="always")
def _sorted_dot(pool_data, pool_ind, s, ln, sk, sv, u):
    """Row (s, ln) of the pool dotted with the sparse vector (sk[:u] strictly ascending
    features, sv[:u] values), summed in the row's storage order (a feature not in sk adds a
    product with 0.0). A merge walk: linear when the row's features ascend, restarted from
    the front where they do not."""
    acc = 0.0
    q = 0
    last = -1
    for p in range(s, s + ln):
        f = pool_ind[p]
        if f < last:
            q = 0
        last = f
        while q < u and sk[q] < f:
            q += 1
        x = sv[q] if q < u and sk[q] == f else 0.0
        acc += pool_data[p] * x
    return acc


@njit(cache=True, nogil=True, inline="always")
def _drop_slot(i, j, m, start, length, b, alpha, idle, gram):
    """Remove slot j of example i by moving the last slot into it (α must be 0 already)."""
    last = m[i] - 1
    if j != last:
        start[i, j] = start[i, last]
        length[i, j] = length[i, last]
        b[i, j] = b[i, last]
        alpha[i, j] = alpha[i, last]
        idle[i, j] = idle[i, last]
        for k in range(last + 1):
            gram[i, j, k] = gram[i, last, k]
            gram[i, k, j] = gram[i, k, last]
        gram[i, j, j] = gram[i, last, last]
    alpha[i, last] = 0.0
    b[i, last] = 0.0
    length[i, last] = 0
    m[i] = last


@njit(cache=True, nogil=True, _nrt=False)
def add_constraints(rows, src, D_data, D_ind, D_ptr, Lb, m, start, length, b, alpha, idle, gram,
                    alpha_sum, pool_data, pool_ind, top, w, max_idle, iscratch, fscratch):
    """Append row src[r] of D (scaled already), offset Lb[src[r]], as a new constraint of
    example rows[r], for every r.

    A full example first evicts its slot with α = 0 idle longest (or, if every α > 0, the
    one with the smallest α, whose contribution is taken out of w). Returns (new top,
    live nonzeros freed by evictions).

    With ``max_idle`` >= 0 it prunes instead (rows, src, D, Lb, w unread: empty arrays of
    the same types): idle += 1 for every α = 0 slot (reset for α > 0), slots idle more than
    max_idle passes dropped; returns (top, nonzeros freed). The prune shares the eviction's
    slot drop (one inlined copy of ``_drop_slot``, a dozen 2-d and 3-d copies, instead of a
    second kernel's own).

    Scratch from the caller: ``iscratch`` at least 2 x and ``fscratch`` at least 1 x the
    longest row src[r] of D (entries D_ptr[q + 1] - D_ptr[q]), so that the kernel allocates
    nothing and compiles with ``_nrt=False`` (no reference counting emitted)."""
    K = start.shape[1]
    freed = 0
    prune = max_idle >= 0
    for r in range(m.shape[0] if prune else rows.shape[0]):
        i = r if prune else rows[r]
        jp = 0           # prune: the next slot to age
        while True:
            victim = -1
            if prune:
                # age the slots from jp on up to the next one to drop (a slot moved into a
                # dropped one's place is aged there: every slot once)
                while jp < m[i]:
                    if alpha[i, jp] > 0.0:
                        idle[i, jp] = 0
                    else:
                        idle[i, jp] += 1
                        if idle[i, jp] > max_idle:
                            victim = jp
                            break
                    jp += 1
                if victim < 0:
                    break
            elif m[i] == K:
                # the first of the α = 0 slots idle longest, else the first of the smallest α
                worst = -1
                small = 0
                for jv in range(K):
                    av = alpha[i, jv]
                    if av == 0.0:
                        if idle[i, jv] > worst:
                            worst = idle[i, jv]
                            victim = jv
                    elif av < alpha[i, small]:
                        small = jv
                if victim < 0:
                    victim = small
                    a = alpha[i, victim]
                    _row_axpy(pool_data, pool_ind, start[i, victim], length[i, victim], -a, w)
                    alpha_sum[i] -= a
                    alpha[i, victim] = 0.0
            if victim >= 0:
                freed += length[i, victim]
                _drop_slot(i, victim, m, start, length, b, alpha, idle, gram)
            if not prune:
                break
        if prune:
            continue
        j = m[i]
        s = top
        qs = src[r]
        for pc in range(D_ptr[qs], D_ptr[qs + 1]):
            v = D_data[pc]
            if v != 0.0:
                pool_data[top] = v
                pool_ind[top] = D_ind[pc]
                top += 1
        ln = top - s
        start[i, j] = s
        length[i, j] = ln
        b[i, j] = Lb[qs]
        alpha[i, j] = 0.0
        idle[i, j] = 0
        # Gram row: the new row's entries sorted by feature (repeated features summed in
        # storage order), looked up by a merge walk along every row of the example: the
        # same products summed in the same order as a dense d-sized scatter would give,
        # with no d-sized buffer
        sk = iscratch[:ln]
        sv = fscratch[:ln]
        # the entries in stable order of feature (np.argsort(kind="mergesort")'s order,
        # without compiling numba's mergesort): Shell sort of the distinct keys
        # feature * ln + position; one path for every row (a sorted row's sort moves
        # nothing: a second path for ascending rows cost compile time, not run time)
        key = iscratch[ln:2 * ln]
        for tk in range(ln):
            key[tk] = pool_ind[s + tk] * np.int64(ln) + tk
        gap = 1
        while 3 * gap + 1 < ln:
            gap = 3 * gap + 1
        while gap > 0:
            for h in range(gap, ln):
                x = key[h]
                q = h
                while q >= gap and key[q - gap] > x:
                    key[q] = key[q - gap]
                    q -= gap
                key[q] = x
            gap //= 3
        u = 0
        for tm in range(ln):
            pm = s + key[tm] % ln
            fm = pool_ind[pm]
            if u > 0 and sk[u - 1] == fm:
                sv[u - 1] += pool_data[pm]
            else:
                sk[u] = fm
                sv[u] = 0.0 + pool_data[pm]
                u += 1
        for k in range(j + 1):
            g = _sorted_dot(pool_data, pool_ind, start[i, k], length[i, k], sk, sv, u)
            gram[i, j, k] = g
            gram[i, k, j] = g
        m[i] = j + 1
    return top, freed



#: ``sweep``'s modes: the block sweep, the slacks of some examples, w rebuilt from the
#: working sets (one kernel: each kernel compiled costs a fixed share of numba and LLVM work
#: on a first run besides its code, and the modes share the block solve's loops).
SWEEP, SLACKS, REBUILD = 0, 1, 2


@njit(cache=True, nogil=True, _nrt=False)
def sweep(mode, order, active, cap, m, start, length, b, alpha, gram, alpha_sum, pool_data,
          pool_ind, w, tol, max_steps, out, scratch):
    """The pass over the working sets that ``mode`` names.

    SWEEP: one pass of block solves over the examples ``order`` whose ``active`` flag is set.
    The block of example i is solved exactly (to ``tol``) with the others fixed:

        max_δ  Σ_k δ_k g_k - ½ δᵀ G δ   s.t.  α + δ >= 0,  Σ_k (α_k + δ_k) <= cap,

    g_k = b_k - w·a_k, G the block's Gram, by pairwise (SMO) steps on the equality form with a
    slack variable (a_0 = 0, b_0 = 0, α_0 = cap - Σα); then w += Σ δ_k a_k. An example whose
    block was already optimal (KKT violation before the solve <= tol) is shrunk (active = 0).
    Returns (largest violation seen, total dual increase, blocks visited).

    SLACKS: out[r] = ξ_i = max(0, max_k b_ik - w·a_ik) for i = order[r]. REBUILD: w += Σ_ik
    α_ik a_ik (w zero on entry: w rebuilt from scratch, without drift). These two return
    (0.0, 0.0, 0); the arguments they do not read may be empty arrays of the same types.

    ``scratch``: at least 2K floats (K = start.shape[1]), the block's gradient and step.

    First-run compile: the block solve is written in, not a kernel of its own (numba would
    compile it as a second function, and LLVM optimise its code again inside this one); the
    kernel allocates nothing (scratch from the caller), so it compiles with ``_nrt=False``
    and numba emits no reference counting of its arrays."""
    K = start.shape[1]
    grad = scratch[:K]
    delta = scratch[K:2 * K]
    worst = 0.0
    gain = 0.0
    visited = 0
    # SLACKS and REBUILD share the loops of the block solve that they need (one copy of each
    # inlined row helper): SLACKS the gradient's, REBUILD the final update's, with δ = α
    rebuild = mode == REBUILD
    for r in range(m.shape[0] if rebuild else order.shape[0]):
        i = r if rebuild else order[r]
        if mode == SWEEP:
            if not active[i]:
                continue
            visited += 1
        v = 0.0          # the block's KKT violation before the solve
        g = 0.0          # its dual increase
        mi = m[i]
        if mode == SLACKS:
            out[r] = 0.0
        if mi > 0:
            for k in range(mi):
                if rebuild:
                    delta[k] = alpha[i, k]
                else:
                    grad[k] = b[i, k] - _row_dot(pool_data, pool_ind, start[i, k], length[i, k],
                                                 w)
                    delta[k] = 0.0
                    if mode == SLACKS and grad[k] > out[r]:
                        out[r] = grad[k]
            if mode != SWEEP:
                max_steps = 0     # no block solve: straight to the update (all δ = 0 for SLACKS)
            slack = cap - alpha_sum[i]
            if slack < 0.0:
                slack = 0.0
            for step in range(max_steps):
                # up: the largest gradient (slack variable has gradient 0)
                up = -1
                gup = 0.0
                for k in range(mi):
                    if grad[k] > gup:
                        gup = grad[k]
                        up = k
                # down: the smallest gradient among variables that can decrease
                dn = -2
                gdn = np.inf
                if slack > 0.0:
                    dn = -1
                    gdn = 0.0
                for k in range(mi):
                    if alpha[i, k] + delta[k] > 0.0 and grad[k] < gdn:
                        gdn = grad[k]
                        dn = k
                if dn == -2:
                    break
                viol = gup - gdn
                if step == 0:
                    v = viol
                if viol <= tol or up == dn:
                    break
                if up >= 0 and dn >= 0:
                    eta = gram[i, up, up] + gram[i, dn, dn] - 2.0 * gram[i, up, dn]
                    room = alpha[i, dn] + delta[dn]
                elif up >= 0:
                    eta = gram[i, up, up]
                    room = slack
                else:
                    eta = gram[i, dn, dn]
                    room = alpha[i, dn] + delta[dn]
                if eta > 1e-300:
                    t = viol / eta
                    if t > room:
                        t = room
                else:
                    t = room
                if t <= 0.0:
                    break
                g += t * viol - 0.5 * t * t * eta
                if up >= 0:
                    delta[up] += t
                else:
                    slack += t
                if dn >= 0:
                    delta[dn] -= t
                    if alpha[i, dn] + delta[dn] < 1e-300 * cap:
                        delta[dn] = -alpha[i, dn]
                else:
                    slack -= t
                    if slack < 0.0:
                        slack = 0.0
                for k in range(mi):
                    c = 0.0
                    if up >= 0:
                        c += gram[i, k, up]
                    if dn >= 0:
                        c -= gram[i, k, dn]
                    grad[k] -= t * c
            s = 0.0
            for k in range(mi):
                if delta[k] != 0.0:
                    _row_axpy(pool_data, pool_ind, start[i, k], length[i, k], delta[k], w)
                    if not rebuild:
                        alpha[i, k] += delta[k]
                        if alpha[i, k] < 0.0:
                            alpha[i, k] = 0.0
                s += alpha[i, k]
            if mode == SWEEP:
                alpha_sum[i] = s
        gain += g
        if v > worst:
            worst = v
        if v <= tol and mode == SWEEP:
            active[i] = 0
    return worst, gain, visited


