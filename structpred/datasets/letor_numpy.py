"""A numpy reader for svm_rank / LETOR files of moderate size (``load_letor``'s path while
numba is not loaded): the whole file in memory, one Python step per line for the head
(TARGET qid:N) and the comment, and every ``fid:value`` entry of the file checked and
converted at once on byte arrays, the numbers by numpy's correctly rounded parser (bit for
bit Python's ``float``). Like the numba scanner it declines (returns None) on anything it is
not sure of (a byte that is not printable ASCII, tab or newline, a token that is not a plain
decimal, ``cost:``, fids not increasing, ...), and the exact per-line reader then reads the
file and reports any error with its line. tests/test_letor_numpy.py compares it with the
exact reader on random and hostile files.
"""
from __future__ import annotations

import os
import stat
import warnings
import zlib

import numpy as np
import scipy.sparse as sp

from ..errors import MAX_ABS_FEATURE

__all__ = ["parse_numpy", "MAX_FILE_BYTES"]

#: Largest file (bytes on disk) this reader takes; it holds the file and about ten bytes of
#: temporaries per byte.
MAX_FILE_BYTES = 24 << 20
_NUMBER_BYTES = b"0123456789.eE+-"
_ENTRY_BYTES = _NUMBER_BYTES + b": \t\n"
_PRINTABLE = bytes(range(32, 127)) + b"\t\n"


def _read_all(path):
    """The bytes of a regular file (gzip decompressed) of at most MAX_FILE_BYTES, or None."""
    try:
        st = os.stat(path)
    except (OSError, TypeError, ValueError):
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_FILE_BYTES:
        return None
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        if data[:2] == b"\x1f\x8b" or os.fspath(path).endswith(".gz"):
            import gzip
            data = gzip.decompress(data)
            if len(data) > 4 * MAX_FILE_BYTES:
                return None
    except (OSError, EOFError, ValueError, TypeError, zlib.error):
        return None
    return data


def parse_numpy(path, n_features, dense, want_qid, max_fid_allowed, feature_floor):
    """The documents of an svm_rank / LETOR file as (qids, line numbers, targets, documents
    matrix, number of columns, comments blob, comment offsets), qids -1 when ``want_qid`` is
    False; None when the exact reader must read it. Feature ids above ``max_fid_allowed``,
    or (without n_features) above max(feature_floor, 64 x entries), decline."""
    MAX_FID, FEATURE_FLOOR = max_fid_allowed, feature_floor
    data = _read_all(path)
    if not data or data.translate(None, _PRINTABLE):
        return None
    heads, rests, comments, linenos = [], [], [], []
    for lineno, line in enumerate(data.split(b"\n"), 1):
        body, hsh, comment = line.partition(b"#")
        toks = body.split(None, 2)
        if not toks:
            continue
        if want_qid:
            if len(toks) < 2 or toks[1][:4] != b"qid:":
                return None
            heads.append(toks[0])
            heads.append(toks[1][4:])
            rest = toks[2] if len(toks) > 2 else b""
        else:
            heads.append(toks[0])
            rest = body.split(None, 1)[1] if len(toks) > 1 else b""
        rests.append(rest)
        comments.append(comment.strip() if hsh else b"")
        linenos.append(lineno)
    if not linenos:
        return None
    N = len(linenos)
    # the heads: TARGET (a plain decimal) and the qid (digits only, at most 18)
    if want_qid:
        qtext = heads[1::2]
        if max(map(len, qtext)) > 18 or not b"".join(qtext).isdigit() or min(map(len, qtext)) == 0:
            return None
        targets = heads[0::2]
    else:
        targets = heads
    joined = b" ".join(targets)
    if joined.translate(None, _NUMBER_BYTES + b" "):
        return None
    t_arr = _numbers(joined)
    if t_arr is None or t_arr.shape[0] != N or not np.all(np.isfinite(t_arr)):
        return None
    qid_arr = (np.array([int(q) for q in qtext], dtype=np.int64) if want_qid
               else np.full(N, -1, dtype=np.int64))
    # the entries: tokens "digits:decimal", one colon each
    R = b"\n".join(rests) + b"\n"
    if R.translate(None, _ENTRY_BYTES):
        return None
    arr = np.frombuffer(R, dtype=np.uint8)
    colon = np.flatnonzero(arr == 58)
    K = colon.shape[0]
    # colons per line: the colons before each newline, differenced (R ends in a newline)
    before = np.searchsorted(colon, np.flatnonzero(arr == 10))
    counts = np.diff(before, prepend=0)
    space = arr <= 32
    edge = space[1:] != space[:-1]
    tok = np.flatnonzero(edge & space[:-1]) + 1           # a token starts after a space
    if arr.shape[0] and not space[0]:
        tok = np.r_[0, tok]
    end = np.flatnonzero(edge & ~space[:-1]) + 1          # ... and ends at one (R ends in \n)
    if tok.shape[0] != K or end.shape[0] != K:
        return None
    if K and not (np.all(tok < colon) and np.all(colon + 1 < end) and np.all(colon < end)
                  and np.all(colon[:-1] < tok[1:])):
        return None
    fids = _decimals(arr, tok, colon, R, integer=True)
    vals = _decimals(arr, colon + 1, end, R)
    if fids is None or vals is None:
        return None
    if K and (fids.min() < 1 or fids.max() > MAX_FID or not np.all(np.abs(vals) <= MAX_ABS_FEATURE)):
        return None
    cnt = np.asarray(counts, dtype=np.int64)
    ptr = np.zeros(N + 1, dtype=np.int64)
    np.cumsum(cnt, out=ptr[1:])
    if K > 1:
        inc = fids[1:] > fids[:-1]
        inc[ptr[1:-1][(ptr[1:-1] > 0) & (ptr[1:-1] < K)] - 1] = True   # line boundaries
        if not inc.all():
            return None
    cols = fids.astype(np.int64) - 1
    max_fid = int(cols.max()) + 1 if K else 0
    if n_features is None:
        if max_fid > max(FEATURE_FLOOR, 64 * K):
            return None
        n_cols = max_fid
    else:
        n_cols = int(n_features)
        if max_fid > n_cols:
            keep = cols < n_cols
            cnt = np.bincount(np.repeat(np.arange(N), cnt)[keep], minlength=N)
            np.cumsum(cnt, out=ptr[1:])
            cols, vals = cols[keep], vals[keep]
    nnz = cols.shape[0]
    final_dense = dense if dense is not None else (
        n_cols <= 5000 and nnz * 12 >= 0.3 * N * n_cols * 8)
    W = int(cnt[0]) if N else 0
    if (final_dense and W == n_cols and np.all(cnt == W)
            and np.array_equal(cols[:W], np.arange(W)) and np.all(cols.reshape(N, W) == cols[:W])):
        # every line lists every feature; + 0.0 turns -0.0 into 0.0 as toarray's sums do
        big = vals.reshape(N, W) + 0.0
    else:
        big = sp.csr_matrix((vals, cols.astype(np.int32), ptr), shape=(N, n_cols))
        if final_dense:
            big = big.toarray()
    lens = np.fromiter(map(len, comments), dtype=np.int64, count=N)
    coff = np.zeros(N + 1, dtype=np.int64)
    np.cumsum(lens, out=coff[1:])
    return (qid_arr, np.asarray(linenos, dtype=np.int64), t_arr, big, n_cols, b"".join(comments),
            coff)


def _decimals(arr, start, stop, text, integer=False):
    """The numbers written in arr[start[k]:stop[k]], as Python's float reads them, or None
    when one is not a plain decimal ([+-]digits[.digits], or a Python float with an
    exponent; ``integer``: digits only, at most 10). Clinger's fast path, vectorised: with
    at most 18 digits, a mantissa m < 2**53 and f <= 22 digits after the point, m / 10**f
    is one correctly rounded division of exact numbers, so it is the correctly rounded
    value; the rest (exponents, long mantissas) goes through float()."""
    K = start.shape[0]
    if K == 0:
        return np.zeros(0)
    length = stop - start
    if integer and int(length.max()) > 10:
        return None
    if integer and int(length.max()) <= 2 and int(length.min()) >= 1:
        # one or two digits (LETOR's feature ids): exact small integers at once
        last = arr.shape[0] - 1
        d0 = arr[start] - np.uint8(48)                  # uint8: bytes below '0' wrap around
        d1 = arr[np.minimum(start + 1, last)] - np.uint8(48)
        one = length == 1
        if np.any(d0 > 9) or np.any((d1 > 9) & ~one):
            return None
        return np.where(one, d0, d0.astype(np.int64) * 10 + d1).astype(np.float64)
    if not integer:
        fixed = _fixed_point(arr, start, length)
        if fixed is not None:
            return fixed
    L = min(int(length.max()), 19)
    m = np.zeros(K, dtype=np.int64)
    digits = np.zeros(K, dtype=np.int64)
    frac = np.zeros(K, dtype=np.int64)
    dot = np.zeros(K, dtype=bool)
    slow = length > L
    neg = np.zeros(K, dtype=bool)
    last = arr.shape[0] - 1
    for k in range(L):
        on = k < length
        c = arr[np.minimum(start + k, last)]
        isd = on & (c >= 48) & (c <= 57)
        if integer:
            if not np.array_equal(isd, on):
                return None
            m = np.where(isd, m * 10 + (c.astype(np.int64) - 48), m)
            continue
        isdot = on & (c == 46)
        sign = on & ((c == 45) | (c == 43)) if k == 0 else None
        if k == 0:
            neg = c == 45
            bad = on & ~isd & ~isdot & ~sign
        else:
            bad = on & ~isd & ~isdot
        slow |= bad | (isdot & dot)
        m = np.where(isd, m * 10 + (c.astype(np.int64) - 48), m)
        digits += isd
        frac += isd & dot
        dot |= isdot
    if integer:
        return m.astype(np.float64)
    slow |= (digits == 0) | (digits > 18) | (m >= 1 << 53) | (frac > 22)
    out = m.astype(np.float64) / _POW10[np.minimum(frac, 22)]
    out[neg] = -out[neg]
    for k in np.flatnonzero(slow).tolist():
        try:
            out[k] = float(text[start[k]:stop[k]])
        except ValueError:
            return None
    return out


def _fixed_point(arr, start, length):
    """The common LETOR case at once: every number written as d...d.d...d with the same
    number of digits on each side (at most 15 in all): the mantissas built column by column
    in exact integer arithmetic (below 2**53), then one correctly rounded division. None
    when the numbers are not all so written."""
    L = int(length[0])
    if not (2 <= L <= 16) or not np.all(length == L):
        return None
    first = arr[start[0]:start[0] + L]
    where = np.flatnonzero(first == 46)
    if where.shape[0] != 1:
        return None
    p = int(where[0])
    if not np.all(arr[start + p] == 46):
        return None
    cols = np.array([k for k in range(L) if k != p])
    mantissa = np.zeros(start.shape[0])
    step = 1 << 16
    for a in range(0, start.shape[0], step):       # the digits of 65,536 numbers at a time
        digits = arr[start[a:a + step, None] + cols] - np.uint8(48)   # uint8: wraps below '0'
        if np.any(digits > 9):
            return None
        m = mantissa[a:a + step]
        for k in range(L - 1):     # column by column: exact, integers below 10**15 < 2**53
            m *= 10.0
            m += digits[:, k]
    return mantissa / _POW10[L - 1 - p]


_POW10 = np.array([float(10 ** k) for k in range(23)])


def _numbers(text: bytes):
    """The whitespace-separated decimals of ``text`` (numpy's correctly rounded parser), or
    None when anything is left unread."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return np.fromstring(text, dtype=np.float64, sep=" ") if text.strip() else np.zeros(0)
        except (ValueError, DeprecationWarning):
            return None
