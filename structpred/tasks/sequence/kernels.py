"""numba kernels of the sequence labeling task (first- and second-order chains).

All kernels read the training set stacked into one CSR matrix (``indptr``, ``indices``,
``data``; one row per token) cut into sequences by ``offsets`` (sequence s owns rows
``offsets[s]:offsets[s+1]``), and work on a list of sequences ``seqs`` so that a caller can
run several ranges on threads (every kernel is ``nogil``) or a few examples at a time.

Weights are handed over split by block, as views of w (see ``SequenceLabeling`` for the
layout): ``WT`` (n_features x n_labels) is the emission block, feature-major, so that the
emission score of one token, s_t(l) = Σ_f x_tf WT[f, l], reads one contiguous row of WT per
nonzero, and the two entries f*L + y_t, f*L + ŷ_t of a δΨ row share a cache line or two.

First-run compile: a first-order training run compiles two kernels here, ``decode_rows1``
and ``_delta_psi_rows`` (behind ``delta_psi_rows``, which hands it this thread's scratch).
Helpers are written into their callers rather than called as kernels (each would be compiled
on its own and then optimised again inside its caller) or numba-inlined (``inline="always"``
types a helper again per call site); arrays are allocated as ``np.empty(n, dtype=np.float64 /
np.int32)`` only (each spelling and dtype of an allocation compiles its own numba overload),
and 2-D scratch comes from the caller. ``_delta_psi_rows`` allocates nothing and compiles
with ``_nrt=False`` (no reference counting emitted); ``decode_rows1`` keeps its three small
vectors (caller's scratch for them made its Viterbi 1-5% slower).
"""
from __future__ import annotations

import threading

import numpy as np
from numba import njit, types

from ...compile_notice import install as _install_compile_notice
from ...jit import numba_options

# numba is loaded from here on: announce (and time) any first-run compile that follows, the
# svm_hmm reader's included
_install_compile_notice()

NEG_INF = -np.inf


@njit(cache=True, nogil=True)
def emission_scores(indptr, indices, data, r0, r1, WT, out):
    """out[t - r0, l] = Σ_k data[k] · WT[indices[k], l] for tokens t in [r0, r1)."""
    L = WT.shape[1]
    for t in range(r0, r1):
        i = t - r0
        for l in range(L):
            out[i, l] = 0.0
        for k in range(indptr[t], indptr[t + 1]):
            f = indices[k]
            v = data[k]
            for l in range(L):
                out[i, l] += v * WT[f, l]


@njit(cache=True, nogil=True)
def viterbi2(em, T, trans, tri, start, end, back, out, o0):
    """Second-order Viterbi: adds Σ_{t>1} tri[y_{t-2}, y_{t-1}, y_t] to the first-order score.

    The state is the label pair (y_{t-1}, y_t); back[t, b, c] holds the best y_{t-2}.
    """
    L = em.shape[1]
    if T == 1:
        best = NEG_INF
        arg = 0
        for l in range(L):
            v = start[l] + em[0, l] + end[l]
            if v > best:
                best = v
                arg = l
        out[o0] = arg
        return best
    cur = np.empty((L, L))
    nxt = np.empty((L, L))
    for a in range(L):
        for b in range(L):
            cur[a, b] = start[a] + em[0, a] + trans[a, b] + em[1, b]
    for t in range(2, T):
        for b in range(L):
            for c in range(L):
                best = NEG_INF
                arg = 0
                for a in range(L):
                    v = cur[a, b] + tri[a, b, c]
                    if v > best:
                        best = v
                        arg = a
                nxt[b, c] = best + trans[b, c] + em[t, c]
                back[t, b, c] = arg
        for b in range(L):
            for c in range(L):
                cur[b, c] = nxt[b, c]
    best = NEG_INF
    ba = 0
    bb = 0
    for a in range(L):
        for b in range(L):
            v = cur[a, b] + end[b]
            if v > best:
                best = v
                ba = a
                bb = b
    out[o0 + T - 1] = bb
    out[o0 + T - 2] = ba
    for t in range(T - 1, 1, -1):
        a = back[t, out[o0 + t - 1], out[o0 + t]]
        out[o0 + t - 2] = a
    return best


@njit(cache=True, nogil=True)
def decode_rows1(indptr, indices, data, offsets, seqs, WT, trans, start, end, y, augment, out,
                 em, back):
    """``decode_rows`` for first-order chains: per sequence, the emission scores
    em[t, l] = Σ_k data[k] · WT[indices[k], l] (+1 on l != y_t when augmenting), then Viterbi.

    Score of y: Σ_t em[t, y_t] + Σ_{t>0} trans[y_{t-1}, y_t] + start[y_0] + end[y_{T-1}].
    Ties go to the smallest label. The recursion runs over the previous label p outside and
    the current label c inside (a contiguous row of trans, independent lanes that the
    compiler can vectorise): the same sums and comparisons, in the same order per c, as
    max_p over a column.

    ``em`` (float64) and ``back`` (int32) are the caller's scratch, at least (longest
    sequence) x L each; trans is read in place (C order: a view of w).

    First-run compile: one function, no callee kernels (numba would compile each and then
    optimise its code again inside this one), and no 2-D allocation (each ``np.empty``
    specialisation is one more numba compile).
    """
    L = WT.shape[1]
    cur = np.empty(L, dtype=np.float64)
    best = np.empty(L, dtype=np.float64)
    arg = np.empty(L, dtype=np.int32)
    total = 0.0
    for r in range(seqs.shape[0]):
        s = seqs[r]
        r0 = offsets[s]
        T = offsets[s + 1] - r0
        for i in range(T):                           # emission scores
            t = r0 + i
            for l in range(L):
                em[i, l] = 0.0
            for k in range(indptr[t], indptr[t + 1]):
                f = indices[k]
                v = data[k]
                for l in range(L):
                    em[i, l] += v * WT[f, l]
            if augment:   # then +1 on every label l != y_t (the Hamming loss)
                for l in range(L):
                    if l != y[t]:
                        em[i, l] += 1.0
        for l in range(L):                           # Viterbi
            cur[l] = start[l] + em[0, l]
        for i in range(1, T):
            for c in range(L):
                best[c] = NEG_INF
                arg[c] = 0
            for p in range(L):
                cp = cur[p]
                row = trans[p]
                for c in range(L):
                    v = cp + row[c]
                    if v > best[c]:
                        best[c] = v
                        arg[c] = p
            for c in range(L):
                cur[c] = best[c] + em[i, c]
                back[i, c] = arg[c]
        bst = NEG_INF
        a = 0
        for l in range(L):
            v = cur[l] + end[l]
            if v > bst:
                bst = v
                a = l
        out[r0 + T - 1] = a
        for i in range(T - 1, 0, -1):
            a = back[i, a]
            out[r0 + i - 1] = a
        total += bst
    return total


@njit(cache=True, nogil=True)
def decode_rows2(indptr, indices, data, offsets, seqs, WT, trans, tri, start, end, y, augment,
                 out):
    """``decode_rows`` for second-order chains."""
    L = WT.shape[1]
    maxT = 1
    for r in range(seqs.shape[0]):
        if offsets[seqs[r] + 1] - offsets[seqs[r]] > maxT:
            maxT = offsets[seqs[r] + 1] - offsets[seqs[r]]
    em = np.empty((maxT, L))
    back = np.empty((maxT, L, L), dtype=np.int32)
    total = 0.0
    for r in range(seqs.shape[0]):
        s = seqs[r]
        r0, r1 = offsets[s], offsets[s + 1]
        emission_scores(indptr, indices, data, r0, r1, WT, em)
        if augment:       # +1 on every label l != y_t (the Hamming loss)
            for t in range(r1 - r0):
                for l in range(L):
                    if l != y[r0 + t]:
                        em[t, l] += 1.0
        total += viterbi2(em, r1 - r0, trans, tri, start, end, back, out, r0)
    return total


def decode_rows(indptr, indices, data, offsets, seqs, WT, trans, tri, start, end, y, augment,
                order, out, em=None, back=None):
    """Viterbi (augment=False) or loss-augmented Viterbi (augment=True: +1 on every label
    l != y_t, i.e. argmax Δ_Hamming(y, y') + w·Ψ(x, y')) on the sequences ``seqs`` (any
    order). WT (n_features x n_labels) is the emission block as laid out in w (a view, no
    copy): cost O(the sequences' size), not O(d). Labels go to out at the tokens' own
    offsets. Returns the sum of the optimal (augmented) scores. One compiled kernel per
    chain order (``decode_rows1``, ``decode_rows2``), so a run compiles only its own; the
    first-order one takes its scratch ``em`` / ``back`` from the caller (``decode_rows1``:
    required for order 1; the second-order kernel allocates its own)."""
    if order == 2:
        return decode_rows2(indptr, indices, data, offsets, seqs, WT, trans, tri, start, end, y,
                            augment, out)
    return decode_rows1(indptr, indices, data, offsets, seqs, WT, trans, start, end, y, augment,
                        out, em, back)


_GAPS = np.array([1, 4, 10, 23, 57, 132, 301, 701, 1750, 4376, 10941, 27353, 68383, 170958,
                  427396, 1068491, 2671228, 6678071], dtype=np.int64)


# delta_psi_rows' scalar locals, declared (the types inference finds anyway, every integer as
# int64): its types then settle in fewer propagation rounds on a first compile
_DPSI_LOCALS = {name: types.int64 for name in (
    "a", "b", "base", "bigram0", "c", "end0", "f", "g", "gap", "i", "j", "k", "l", "m", "maxT",
    "maxnz", "n", "nt", "nz", "pa", "pb", "pos", "q", "qa", "qb", "r", "r0", "r1", "s", "sl",
    "start0", "t", "tri0", "u", "wrong", "x", "ml", "ni")}
_DPSI_LOCALS["v"] = types.float64


def delta_psi_rows(indptr, indices, data, offsets, seqs, y, yh, L, F, order, use_boundary,
                   slot, out_indptr, out_indices, out_data, losses):
    """Rows of δΨ_s = Ψ(x_s, y_s) - Ψ(x_s, ŷ_s) for the sequences ``seqs`` into preallocated
    CSR arrays: ``_delta_psi_rows`` (see there) with this thread's scratch, grown when the
    kernel asks for more. Returns the nnz."""
    sc = _DPSI_SCRATCH
    if getattr(sc, "f", None) is None:
        sc.f = np.empty(0, dtype=np.float64)
        sc.i = np.empty(0, dtype=np.int64)
        sc.need = np.zeros(2, dtype=np.int64)
    for _attempt in range(2):   # the second with the scratch the kernel asked for
        nnz = _delta_psi_rows(indptr, indices, data, offsets, seqs, y, yh, L, F, order,
                              use_boundary, slot, out_indptr, out_indices, out_data, losses,
                              sc.f, sc.i, sc.need)
        if nnz >= 0:
            return nnz
        sc.f = np.empty(int(sc.need[0]), dtype=np.float64)
        sc.i = np.empty(int(sc.need[1]), dtype=np.int64)
    raise RuntimeError("delta_psi_rows: the kernel asked for more scratch than it was given "
                       "after growing it")   # pragma: no cover - the kernel's sizes are exact


#: Per thread: ``_delta_psi_rows``' scratch (float64, int64) and its request (2 ints).
_DPSI_SCRATCH = threading.local()


@njit(**numba_options(dict(cache=True, nogil=True, locals=_DPSI_LOCALS, _nrt=False)))
def _delta_psi_rows(indptr, indices, data, offsets, seqs, y, yh, L, F, order, use_boundary,
                    slot, out_indptr, out_indices, out_data, losses, fscratch, iscratch, need):
    """Rows of δΨ_s = Ψ(x_s, y_s) - Ψ(x_s, ŷ_s) for the sequences ``seqs`` (row r for
    seqs[r]) into preallocated CSR arrays (room for at least 2 entries per feature of every
    wrong token, 4 (order 2: 10) per wrong token, 4 per sequence: the model's ``_room``).
    Columns sorted, duplicates summed, exact zeros dropped; only tokens with y_t != ŷ_t and
    label n-grams that differ contribute. ``losses[r]`` gets the Hamming loss of sequence
    seqs[r] (its wrong tokens). ``slot`` (F ints, all -1) is scratch kept by the caller
    across calls (left as found), so the cost is O(the sequences' size), not O(F). Returns
    the nnz.

    Scratch from the caller: ``fscratch`` (float64) and ``iscratch`` (int64); when they are
    shorter than the call needs (maxnz·L floats, 2·maxnz·L + 2·maxnz + 6·maxT + 8 ints for
    the longest sequence's maxT tokens and maxnz nonzeros), need[:] = those sizes and the
    kernel returns -1 having written nothing.

    First-run compile: one function, no callee kernel and no numba-level inlining (each
    would be compiled, or typed, again), and no allocation (so ``_nrt=False``: no reference
    counting emitted, and no ``np.empty`` overload compiled for it); the sequence's touched
    features and its label n-gram keys are sorted together in one Shell sort.
    """
    maxT = 1
    maxnz = 1
    for r in range(seqs.shape[0]):
        s = seqs[r]
        n = offsets[s + 1] - offsets[s]
        if n > maxT:
            maxT = n
        nz = indptr[offsets[s + 1]] - indptr[offsets[s]]
        if nz > maxnz:
            maxnz = nz
    ml = maxnz * L
    ni = 2 * ml + 2 * maxnz + 6 * maxT + 8
    if fscratch.shape[0] < ml or iscratch.shape[0] < ni:
        need[0] = ml
        need[1] = ni
        return -1
    buf = fscratch[:ml]
    seen = iscratch[:ml]     # 0/1
    for k in range(ml):
        buf[k] = 0.0
        seen[k] = 0
    labs = iscratch[ml:2 * ml]
    cnt = iscratch[2 * ml:2 * ml + maxnz]
    # keys[:nt]: the touched features f (< F); keys[nt:nt + m]: 2·column + (0 for +1, 1 for
    # -1) of the label n-gram entries (columns >= L·F, so every key >= F): after one sort the
    # features come first, in order, then the n-gram keys
    keys = iscratch[2 * ml + maxnz:ni]
    bigram0 = L * F
    tri0 = bigram0 + L * L
    start0 = tri0 + (L * L * L if order == 2 else 0)
    end0 = start0 + L
    pos = 0
    out_indptr[0] = 0
    for r in range(seqs.shape[0]):
        s = seqs[r]
        r0 = offsets[s]
        r1 = offsets[s + 1]
        # ---- emission (columns f*L + l): each wrong token adds +x_t to label y_t and -x_t to
        # label ŷ_t; per touched feature an L-row of buf sums them (in token order) and labs
        # lists the labels it touched, so the cost is O(the wrong tokens' nonzeros)
        nt = 0
        wrong = 0
        for t in range(r0, r1):
            a = y[t]
            b = yh[t]
            if a != b:
                wrong += 1
                for k in range(indptr[t], indptr[t + 1]):
                    f = indices[k]
                    sl = slot[f]
                    if sl < 0:
                        sl = nt
                        slot[f] = nt
                        keys[nt] = f
                        cnt[nt] = 0
                        nt += 1
                    base = sl * L
                    if seen[base + a] == 0:
                        seen[base + a] = 1
                        labs[base + cnt[sl]] = a
                        cnt[sl] += 1
                    if seen[base + b] == 0:
                        seen[base + b] = 1
                        labs[base + cnt[sl]] = b
                        cnt[sl] += 1
                    v = data[k]
                    buf[base + a] += v
                    buf[base + b] -= v
        # ---- transitions, start, end (columns after the emission block)
        m = nt
        for t in range(r0 + 1, r1):
            a = y[t]
            b = yh[t]
            pa = y[t - 1]
            pb = yh[t - 1]
            if pa != pb or a != b:
                keys[m] = 2 * (bigram0 + pa * L + a)
                keys[m + 1] = 2 * (bigram0 + pb * L + b) + 1
                m += 2
            if order == 2 and t > r0 + 1:
                qa = y[t - 2]
                qb = yh[t - 2]
                if qa != qb or pa != pb or a != b:
                    keys[m] = 2 * (tri0 + (qa * L + pa) * L + a)
                    keys[m + 1] = 2 * (tri0 + (qb * L + pb) * L + b) + 1
                    m += 2
        if use_boundary:
            if y[r0] != yh[r0]:
                keys[m] = 2 * (start0 + y[r0])
                keys[m + 1] = 2 * (start0 + yh[r0]) + 1
                m += 2
            if y[r1 - 1] != yh[r1 - 1]:
                keys[m] = 2 * (end0 + y[r1 - 1])
                keys[m + 1] = 2 * (end0 + yh[r1 - 1]) + 1
                m += 2
        # ---- sort keys[:m] (Shell sort, Ciura's gaps: a few lines instead of numba's
        # compiled np.sort)
        g = 0
        while g + 1 < _GAPS.shape[0] and _GAPS[g + 1] < m:
            g += 1
        while g >= 0:
            gap = _GAPS[g]
            for i in range(gap, m):
                x = keys[i]
                j = i
                while j >= gap and keys[j - gap] > x:
                    keys[j] = keys[j - gap]
                    j -= gap
                keys[j] = x
            g -= 1
        # ---- emission entries, feature by feature, labels in order
        for j in range(nt):
            f = keys[j]
            sl = slot[f]
            base = sl * L
            c = cnt[sl]
            for u in range(1, c):          # insertion sort of the few labels
                x = labs[base + u]
                q = u - 1
                while q >= 0 and labs[base + q] > x:
                    labs[base + q + 1] = labs[base + q]
                    q -= 1
                labs[base + q + 1] = x
            for u in range(c):
                l = labs[base + u]
                v = buf[base + l]
                if v != 0.0:
                    out_indices[pos] = f * L + l
                    out_data[pos] = v
                    pos += 1
                buf[base + l] = 0.0
                seen[base + l] = 0
            slot[f] = -1
        # ---- n-gram entries: the sum of a column's ±1 terms (exact in any order)
        j = nt
        while j < m:
            c = keys[j] >> 1
            v = 0.0
            while j < m and keys[j] >> 1 == c:
                v += 1.0 - 2.0 * (keys[j] & 1)
                j += 1
            if v != 0.0:
                out_indices[pos] = c
                out_data[pos] = v
                pos += 1
        out_indptr[r + 1] = pos
        losses[r] = wrong
    return pos
