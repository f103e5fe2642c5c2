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
from numba import njit

OK = 0
DOUBT = 1          # not an error by itself: the exact reader decides
NO_QID = 2
MAX_FID = 2 ** 31 - 1


@njit(cache=True, nogil=True)
def _number(buf, i, n, out, o):
    """Copy one decimal number [+-]?(d+(.d*)?|.d+)([eE][+-]?d+)? starting at i into out[o:];
    return (end, new o), end = -1 when the token is not such a number (ends at space/tab/
    CR/LF/#... is for the caller to check)."""
    j = i
    if j < n and (buf[j] == 43 or buf[j] == 45):
        j += 1
    nd = 0
    while j < n and 48 <= buf[j] <= 57:
        j += 1
        nd += 1
    if j < n and buf[j] == 46:
        j += 1
        while j < n and 48 <= buf[j] <= 57:
            j += 1
            nd += 1
    if nd == 0:
        return -1, o
    if j < n and (buf[j] == 101 or buf[j] == 69):
        j += 1
        if j < n and (buf[j] == 43 or buf[j] == 45):
            j += 1
        ne = 0
        while j < n and 48 <= buf[j] <= 57:
            j += 1
            ne += 1
        if ne == 0:
            return -1, o
    for k in range(i, j):
        out[o] = buf[k]
        o += 1
    out[o] = 32
    return j, o + 1


@njit(cache=True, nogil=True)
def scan_block(buf, first_line, max_line, qids, linenos, counts, fids, nums, cblob, coff):
    """Scan ``buf`` (whole lines, uint8). Returns (status, n_docs, n_entries, n_num_bytes,
    n_comment_bytes, line of the doubt). Output arrays must be sized for the block
    (len(buf)//2 + 2 entries, len(buf) + 2 lines, 2 * len(buf) + 2 number bytes)."""
    n = buf.shape[0]
    i = 0
    line = first_line - 1
    nd = 0
    ne = 0
    o = 0
    c = 0
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
                    return DOUBT, nd, ne, o, c, line
                i += 1
            i += 1
            if i - start > max_line:
                return DOUBT, nd, ne, o, c, line
            continue
        j, o = _number(buf, i, n, nums, o)
        if j < 0 or not (j < n and (buf[j] == 32 or buf[j] == 9 or buf[j] == 10 or buf[j] == 13 or buf[j] == 35)):
            return DOUBT, nd, ne, o, c, line
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
                return DOUBT, nd, ne, o, c, line
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
                return DOUBT, nd, ne, o, c, line
            f = 0
            k = 0
            while i < n and 48 <= buf[i] <= 57:
                f = f * 10 + (buf[i] - 48)
                i += 1
                k += 1
                if k > 10:
                    return DOUBT, nd, ne, o, c, line
            if k == 0 or i >= n or buf[i] != 58 or f < 1 or f > MAX_FID or f <= prev:
                return DOUBT, nd, ne, o, c, line
            i += 1
            j, o = _number(buf, i, n, nums, o)
            if j < 0 or not (j < n and (buf[j] == 32 or buf[j] == 9 or buf[j] == 10
                                        or buf[j] == 13 or buf[j] == 35)):
                return DOUBT, nd, ne, o, c, line
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
                    return DOUBT, nd, ne, o, c, line
                i += 1
            b = i
            while b > a and (buf[b - 1] == 32 or buf[b - 1] == 9 or buf[b - 1] == 13):
                b -= 1
            for k in range(a, b):
                cblob[c] = buf[k]
                c += 1
        i += 1
        if i - start > max_line:
            return DOUBT, nd, ne, o, c, line
        qids[nd] = qid
        linenos[nd] = line
        counts[nd] = m
        nd += 1
        coff[nd] = c
    return OK, nd, ne, o, c, line
