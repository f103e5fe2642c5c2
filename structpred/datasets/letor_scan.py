"""The fast path of :func:`structpred.datasets.letor.load_letor`: one numba pass over a block
of bytes per chunk, no Python object per line or token.

``scan_block`` reads whole lines of an svm_rank / LETOR block (``TARGET [qid:N] fid:val ...
[# comment]``) and writes, per document line, its qid, line number and number of features;
per feature its id; the TARGET and value texts, space separated, into a byte buffer that
``numpy.fromstring`` turns into float64 (the same correctly rounded decimal conversion as
Python's ``float``); the stripped comment bytes into a blob. It accepts only what the exact
per-line reader accepts and answers "not sure" (a status > 0) on anything else (``cost:``,
a token that is not a plain decimal number, a control or non-ASCII byte, fids not strictly
increasing, ...): the caller then reads the file with the exact reader, which reports the
first bad line with its message. So the fast path changes speed, never an answer.
"""
from __future__ import annotations

import numpy as np
from ..jit import njit

OK = 0
DOUBT = 1          # not an error by itself: the exact reader decides
NO_QID = 2
MAX_FID = 2 ** 31 - 1


_POW10 = np.array([10.0 ** k for k in range(23)])


@njit(cache=True, nogil=True)
def _number(buf, i, n, out, o, pow10):
    """Read one decimal number [+-]?(d+(.d*)?|.d+)([eE][+-]?d+)? starting at i. Returns
    (end, value, new o): end = -1 when the token is not such a number. Numbers with at most
    15 significant digits and a decimal exponent within +-22 are converted exactly here
    (Clinger's fast path: one correctly rounded multiplication or division of two exact
    doubles); the others are copied into out[o:] (space separated), value NaN, for
    numpy's correctly rounded parser."""
    j = i
    neg = False
    if j < n and (buf[j] == 43 or buf[j] == 45):
        neg = buf[j] == 45
        j += 1
    nd = 0
    sig = 0
    mant = 0
    scale = 0
    hard = False
    while j < n and 48 <= buf[j] <= 57:
        dgt = buf[j] - 48
        if sig > 0 or dgt != 0:
            sig += 1
            if sig <= 15:
                mant = mant * 10 + dgt
            else:
                hard = True
        j += 1
        nd += 1
    if j < n and buf[j] == 46:
        j += 1
        while j < n and 48 <= buf[j] <= 57:
            dgt = buf[j] - 48
            if sig > 0 or dgt != 0:
                sig += 1
                if sig <= 15:
                    mant = mant * 10 + dgt
                else:
                    hard = True
            scale -= 1
            j += 1
            nd += 1
    if nd == 0:
        return -1, 0.0, o
    if j < n and (buf[j] == 101 or buf[j] == 69):
        j += 1
        eneg = False
        if j < n and (buf[j] == 43 or buf[j] == 45):
            eneg = buf[j] == 45
            j += 1
        ne = 0
        ex = 0
        while j < n and 48 <= buf[j] <= 57:
            if ne < 6:
                ex = ex * 10 + (buf[j] - 48)
            else:
                hard = True
            j += 1
            ne += 1
        if ne == 0:
            return -1, 0.0, o
        scale += -ex if eneg else ex
    if not hard and mant == 0:
        return j, (-0.0 if neg else 0.0), o
    if not hard and -22 <= scale <= 22:
        v = float(mant)
        v = v * pow10[scale] if scale >= 0 else v / pow10[-scale]
        return j, (-v if neg else v), o
    for k in range(i, j):
        out[o] = buf[k]
        o += 1
    out[o] = 32
    return j, np.nan, o + 1


@njit(cache=True, nogil=True)
def scan_block(buf, first_line, max_line, qids, linenos, counts, fids, nums, cblob, coff,
               targets, vals, hard, pow10):
    """Scan ``buf`` (whole lines, uint8). Returns (status, n_docs, n_entries, n_num_bytes,
    n_comment_bytes, n_hard, line of the doubt). Per document: targets, qids (-1: none),
    linenos, counts; per entry: fids, vals; ``hard`` lists the numbers left to numpy (their
    text in ``nums``, in order): the value index, or -1 - document for a TARGET."""
    n = buf.shape[0]
    i = 0
    line = first_line - 1
    nd = 0
    ne = 0
    o = 0
    c = 0
    h = 0
    coff[0] = 0
    while i < n:
        line += 1
        start = i
        # the body: skip blanks
        while i < n and (buf[i] == 32 or buf[i] == 9):
            i += 1
        if i >= n or buf[i] == 10 or (buf[i] == 13 and i + 1 < n and buf[i + 1] == 10) or buf[i] == 35:
            # blank or comment-only line: skip it
            while i < n and buf[i] != 10:
                if buf[i] > 126 or (buf[i] < 32 and buf[i] != 9 and buf[i] != 13):
                    return DOUBT, nd, ne, o, c, h, line
                i += 1
            i += 1
            if i - start > max_line:
                return DOUBT, nd, ne, o, c, h, line
            continue
        o0 = o
        j, v, o = _number(buf, i, n, nums, o, pow10)
        if j < 0 or not (j < n and (buf[j] == 32 or buf[j] == 9 or buf[j] == 10 or buf[j] == 13 or buf[j] == 35)):
            return DOUBT, nd, ne, o, c, h, line
        if o != o0:
            hard[h] = -1 - nd
            h += 1
        targets[nd] = v
        i = j
        while i < n and (buf[i] == 32 or buf[i] == 9):
            i += 1
        qid = -1
        if i + 4 < n and buf[i] == 113 and buf[i + 1] == 105 and buf[i + 2] == 100 and buf[i + 3] == 58:
            i += 4
            q = 0
            k = 0
            while i < n and 48 <= buf[i] <= 57:
                q = q * 10 + (buf[i] - 48)
                i += 1
                k += 1
            if k == 0 or k > 18 or not (i < n and (buf[i] == 32 or buf[i] == 9 or buf[i] == 10
                                                    or buf[i] == 13 or buf[i] == 35)):
                return DOUBT, nd, ne, o, c, h, line
            qid = q
        m = 0
        prev = 0
        while True:
            while i < n and (buf[i] == 32 or buf[i] == 9):
                i += 1
            if i >= n or buf[i] == 10 or buf[i] == 35:
                break
            if buf[i] == 13:
                if i + 1 < n and buf[i + 1] == 10:
                    i += 1
                    break
                return DOUBT, nd, ne, o, c, h, line
            f = 0
            k = 0
            while i < n and 48 <= buf[i] <= 57:
                f = f * 10 + (buf[i] - 48)
                i += 1
                k += 1
                if k > 10:
                    return DOUBT, nd, ne, o, c, h, line
            if k == 0 or i >= n or buf[i] != 58 or f < 1 or f > MAX_FID or f <= prev:
                return DOUBT, nd, ne, o, c, h, line
            i += 1
            o0 = o
            j, v, o = _number(buf, i, n, nums, o, pow10)
            if j < 0 or not (j < n and (buf[j] == 32 or buf[j] == 9 or buf[j] == 10
                                        or buf[j] == 13 or buf[j] == 35)):
                return DOUBT, nd, ne, o, c, h, line
            if o != o0:
                hard[h] = ne
                h += 1
            vals[ne] = v
            i = j
            fids[ne] = f
            ne += 1
            m += 1
            prev = f
        # the comment: stripped bytes up to the end of the line
        if i < n and buf[i] == 35:
            i += 1
            while i < n and (buf[i] == 32 or buf[i] == 9):
                i += 1
            a = i
            while i < n and buf[i] != 10:
                if buf[i] > 126 or (buf[i] < 32 and buf[i] != 9 and buf[i] != 13):
                    return DOUBT, nd, ne, o, c, h, line
                i += 1
            b = i
            while b > a and (buf[b - 1] == 32 or buf[b - 1] == 9 or buf[b - 1] == 13):
                b -= 1
            for k in range(a, b):
                cblob[c] = buf[k]
                c += 1
        i += 1
        if i - start > max_line:
            return DOUBT, nd, ne, o, c, h, line
        qids[nd] = qid
        linenos[nd] = line
        counts[nd] = m
        nd += 1
        coff[nd] = c
    return OK, nd, ne, o, c, h, line


@njit(cache=True, nogil=True)
def scatter_dense(D, row0, counts, fids, vals, nd):
    """D[row0 + r, fids[e] - 1] = vals[e] for the entries of the block's nd rows (D zeroed)."""
    e = 0
    for r in range(nd):
        for _ in range(counts[r]):
            D[row0 + r, fids[e] - 1] = vals[e]
            e += 1


@njit(cache=True, nogil=True)
def max_fid_kept(fids, ne, cap):
    """(largest fid, number of entries with fid <= cap) among fids[:ne]."""
    hi = 0
    kept = 0
    for e in range(ne):
        f = fids[e]
        if f <= cap:
            kept += 1
            if f > hi:
                hi = f
    return hi, kept


@njit(cache=True, nogil=True)
def drop_above(counts, fids, vals, nd, cap):
    """Drop the entries with fid > cap in place (counts adjusted); the new entry count."""
    e = 0
    out = 0
    for r in range(nd):
        m = 0
        for _ in range(counts[r]):
            if fids[e] <= cap:
                fids[out] = fids[e]
                vals[out] = vals[e]
                out += 1
                m += 1
            e += 1
        counts[r] = m
    return out
