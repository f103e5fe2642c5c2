"""svm_hmm / SVM-light sequence files, one token per line as ``TAG qid:N fid:val fid:val # comment``.

One line per token; consecutive lines with the same qid form one sequence; tags are integers
>= 1, qids non-decreasing, feature ids >= 1 and strictly increasing within a line (the rules of
svm_hmm 3.10's reader). Files ending in ``.gz`` (or starting with the gzip magic) are read
through gzip.

In memory, tag t becomes label t - 1 and feature id f becomes column f - 1, so a sequence is
a scipy CSR matrix (tokens x features) and an int array of labels 0..; ``write_svmhmm`` and the
command line map them back (label + 1) so that tags in output files are the original ones.
"""
from __future__ import annotations

import gzip
import os
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from numba import njit, types

from ..boundary.text import open_text, read_bytes, read_text
from ..errors import MAX_ABS_FEATURE, DataFormatError
from ..jit import numba_options

__all__ = ["read_svmhmm", "write_svmhmm", "read_tag_names", "SvmHmmData", "SvmHmmFormatError"]


class SvmHmmFormatError(DataFormatError):
    """A malformed svm_hmm file; the message names the file and the line."""


class SvmHmmData(NamedTuple):
    """What ``read_svmhmm`` returns.

    X : list of CSR matrices (tokens x n_features), column f-1 holds feature id f; their
        data (float64) and indices (int32) are views of one buffer for the whole file, in
        file order (``SequenceLabeling.make_batch`` then stacks them without a copy).
    Y : list of int64 arrays (views of one array), label = tag - 1.
    qids : int64 array, the qid of each sequence.
    n_features : number of columns (the highest feature id, or the cap given to the reader).
    max_tag : the highest tag in the file.
    """
    X: list
    Y: list
    qids: np.ndarray
    n_features: int
    max_tag: int


def _fail(path, lineno, msg):
    raise SvmHmmFormatError(f"{os.fspath(path)}, line {lineno}: {msg}", path, lineno)


#: Largest tag and feature id (svm_light keeps feature numbers in 32-bit ints).
MAX_ID = 2 ** 31 - 1
#: Largest qid.
MAX_QID = 10 ** 18
#: Content-relative limits (see ``read_svmhmm``): the highest tag may be at most
#: max(TAG_FLOOR, 4 x the number of distinct tags), the highest feature id at most
#: max(FEATURE_FLOOR, 64 x the number of fid:value entries) when no n_features is given.
TAG_FLOOR = 1024
FEATURE_FLOOR = 2 ** 22
#: Memory (bytes) the reader needs per byte of text: the bytes and the per-line /
#: per-feature arrays (tags, qids, offsets, columns, values).
_MEMORY_FACTOR = 8

# error codes of the scanner
_E_CHAR, _E_TAG, _E_TAG_RANGE, _E_NEED_QID, _E_QID, _E_QID_RANGE, _E_QID_ORDER, _E_FID, \
    _E_FID_RANGE, _E_FID_ORDER, _E_VALUE, _E_SEP = range(1, 13)
_MESSAGES = {
    _E_CHAR: "unexpected character {char!r} (only ASCII digits, '.', '+', '-', 'e', ':', "
             "spaces and tabs may appear before a '#' comment)",
    _E_TAG: "tag {token!r} is not an integer (token label IDs must be >= 1, plain decimal "
            "digits)",
    _E_TAG_RANGE: "tag {token}: token label IDs must be >= 1 and <= 2**31-1",
    _E_NEED_QID: "missing qid:N after the tag (got {token!r})",
    _E_QID: "qid {token!r} is not a non-negative decimal integer",
    _E_QID_RANGE: "qid {token!r} is too large (at most 10**18)",
    _E_QID_ORDER: "qid {token!r} is smaller than the previous line's: qids must not decrease "
                  "(all tokens of a sequence must be consecutive lines)",
    _E_FID: "feature {token!r}: its id is not an integer, or it is not of the form fid:value",
    _E_FID_RANGE: "feature id {fid} must be >= 1 and <= 2**31-1 (in {token!r})",
    _E_FID_ORDER: "feature ids must be in increasing order ({fid} after {prev})",
    _E_VALUE: "feature value in {token!r} is not a number, or not finite (a decimal such as "
              "1, -0.5, 2e-3)",
    _E_SEP: "{token!r}: features must be separated by whitespace",
}

_POW10 = np.array([10.0 ** k for k in range(23)])

# byte classes of the scanner (one table look-up instead of chains of comparisons, which
# numba's type inference pays for call site by call site)
_BLANK, _NEWLINE, _HASH, _DIGIT = 1, 2, 4, 8
_CLASS = np.zeros(256, np.uint8)
_CLASS[[32, 9, 11, 12, 13]] = _BLANK
_CLASS[10] = _NEWLINE
_CLASS[35] = _HASH
_CLASS[48:58] = _DIGIT


_I = types.int64
_SCAN_LOCALS = dict(n=_I, pos=_I, line=_I, nl=_I, ne=_I, prev_qid=_I, start=_I, tag=_I, qid=_I,
                    prev_fid=_I, fid=_I, m=_I, nd=_I, frac=_I, n_digits=_I, d=_I, exp=_I,
                    e_start=_I, scale=_I, v=types.float64, c=types.uint8, neg=types.boolean,
                    eneg=types.boolean, in_frac=types.boolean)


# ``_nrt=False``: the scanner allocates nothing (its arrays come from the caller), so numba
# need not emit its reference counting of the arrays: about 10% less to compile on a first run
@njit(**numba_options(dict(cache=True, nogil=True, locals=_SCAN_LOCALS, _nrt=False)))
def _scan(buf, pow10, tags, qids, linenos, ptr, cols, vals, cls):
    """Parse an svm_hmm file (bytes) in one pass, checking its grammar exactly.

    Line: WS* [TAG WS+ 'qid:' QID (WS+ FID ':' VALUE)* WS*] ['#' anything]; WS is space,
    \t, \v, \f or \r; TAG, QID, FID are decimal digits; VALUE is
    [+-]?(D+(.D*)?|.D+)([eE][+-]?D+)?. Tags and fids must be in 1..2**31-1, fids increasing
    within a line, qids non-decreasing. Values with at most 15 significant digits and a
    decimal exponent within +-22 are computed exactly here (one correctly rounded IEEE
    operation, so equal to strtod); the others are left NaN in ``vals`` for the caller
    (no accepted value is NaN). ``cols`` gets fid - 1 (int32: fids are at most 2**31-1).
    ``cls`` is the byte class table ``_CLASS`` (1 blank, 2 newline, 4 '#', 8 digit).

    One function, no helpers and class look-ups rather than chains of comparisons: numba's
    first compile pays per function and per typed call site (about -40%). Numbers
    saturate once past their cap (cap*10 + 10, no int64 overflow).

    Returns (n_token_lines, n_entries, error_code, error_line, error_offset).
    """
    n = buf.shape[0]
    pos = 0
    line = 0
    nl = 0
    ne = 0
    prev_qid = -1
    while pos < n:
        line += 1
        while pos < n and cls[buf[pos]] == 1:
            pos += 1
        if pos < n and cls[buf[pos]] & 6 == 0:          # a token line
            start = pos                                  # the tag
            tag = 0
            while pos < n and cls[buf[pos]] == 8:
                tag = tag * 10 + (buf[pos] - 48) if tag <= 2147483647 else 21474836480
                pos += 1
            if pos == start or (pos < n and cls[buf[pos]] & 7 == 0):
                return nl, ne, 2, line, start
            if tag < 1 or tag > 2147483647:
                return nl, ne, 3, line, start
            while pos < n and cls[buf[pos]] == 1:
                pos += 1
            if not (pos + 4 <= n and buf[pos] == 113 and buf[pos + 1] == 105
                    and buf[pos + 2] == 100 and buf[pos + 3] == 58):
                return nl, ne, 4, line, pos
            start = pos                                  # the qid
            pos += 4
            qid = 0
            while pos < n and cls[buf[pos]] == 8:
                qid = qid * 10 + (buf[pos] - 48) if qid <= 100000000000000000 else \
                    1000000000000000010
                pos += 1
            if pos == start + 4 or (pos < n and cls[buf[pos]] & 7 == 0):
                return nl, ne, 5, line, start
            if qid > 1000000000000000000:
                return nl, ne, 6, line, start
            if qid < prev_qid:
                return nl, ne, 7, line, start
            prev_qid = qid
            tags[nl] = tag
            qids[nl] = qid
            linenos[nl] = line
            prev_fid = 0
            while True:                                  # the features
                while pos < n and cls[buf[pos]] == 1:
                    pos += 1
                if pos >= n or cls[buf[pos]] & 6 != 0:
                    break
                start = pos
                fid = 0
                while pos < n and cls[buf[pos]] == 8:
                    fid = fid * 10 + (buf[pos] - 48) if fid <= 2147483647 else 21474836480
                    pos += 1
                if pos == start or pos >= n or buf[pos] != 58:
                    return nl, ne, 8, line, start
                if fid < 1 or fid > 2147483647:
                    return nl, ne, 9, line, start
                if fid <= prev_fid:
                    return nl, ne, 10, line, start
                prev_fid = fid
                pos += 1
                neg = False
                if pos < n and (buf[pos] == 43 or buf[pos] == 45):
                    neg = buf[pos] == 45
                    pos += 1
                # digits, then '.' and digits: m keeps the first 15 significant digits;
                # frac = decimal places kept - integer digits dropped
                m = 0
                nd = 0
                frac = 0
                n_digits = 0
                in_frac = False
                while pos < n:
                    c = buf[pos]
                    if cls[c] == 8:
                        d = c - 48
                        if m > 0 or d > 0:
                            nd += 1
                            if nd <= 15:
                                m = m * 10 + d
                                if in_frac:
                                    frac += 1
                            elif not in_frac:
                                frac -= 1
                        elif in_frac:
                            frac += 1
                        n_digits += 1
                    elif c == 46 and not in_frac:
                        in_frac = True
                    else:
                        break
                    pos += 1
                if n_digits == 0:
                    return nl, ne, 11, line, start
                exp = 0
                if pos < n and (buf[pos] == 101 or buf[pos] == 69):
                    pos += 1
                    eneg = False
                    if pos < n and (buf[pos] == 43 or buf[pos] == 45):
                        eneg = buf[pos] == 45
                        pos += 1
                    e_start = pos
                    while pos < n and cls[buf[pos]] == 8:
                        exp = exp * 10 + (buf[pos] - 48) if exp <= 100000 else 1000010
                        pos += 1
                    if pos == e_start:
                        return nl, ne, 11, line, start
                    if eneg:
                        exp = -exp
                if pos < n and cls[buf[pos]] & 7 == 0:
                    return nl, ne, 11, line, start
                scale = exp - frac
                cols[ne] = fid - 1
                v = np.nan
                if m == 0:
                    v = 0.0
                elif nd <= 15 and exp <= 100000 and exp >= -100000:   # exp exact here
                    if scale >= 0 and scale <= 22:
                        v = m * pow10[scale]
                    elif scale < 0 and scale >= -22:
                        v = m / pow10[-scale]
                vals[ne] = -v if neg else v
                ne += 1
            ptr[nl + 1] = ne
            nl += 1
        while pos < n and buf[pos] != 10:   # the rest of the line is a comment
            pos += 1
        pos += 1
    return nl, ne, 0, line, 0


def _token_at(line_text: str, offset: int) -> str:
    end = offset
    while end < len(line_text) and not line_text[end].isspace() and line_text[end] != "#":
        end += 1
    return line_text[offset:max(end, offset + 1)]


def read_svmhmm(path, n_features: int | None = None, *, stacked: bool = False) -> SvmHmmData:
    """Read an svm_hmm file into per-sequence CSR matrices and 0-based labels.

    Grammar (svm_hmm 3.10's): ``TAG qid:QID FID:VALUE ... # comment`` per token line, blank
    and comment lines ignored; TAG, QID and FID are plain decimal integers (no sign,
    exponent, underscore or ``inf``), tags and feature ids in 1..2**31-1, feature ids
    increasing within a line, qids non-decreasing; VALUE is a decimal number
    ``[+-]?(D+[.D*]|.D+)[(e|E)[+-]D+]``, finite and at most
    ``structpred.errors.MAX_ABS_FEATURE`` in magnitude.

    Content-relative limits, so that one line cannot make a model of many GiB: the highest
    tag may be at most max(1024, 4 x the number of distinct tags in the file); without
    ``n_features``, the highest feature id at most max(2**22, 64 x the file's fid:value
    entries).

    Parameters
    ----------
    path : str or path-like (``.gz`` or gzip magic: read through gzip)
    n_features : int, optional
        Keep only feature ids <= n_features (svm_hmm drops test features above the
        training maximum); by default the highest id in the file.
    stacked : bool
        X and Y as ``structpred.datasets.stacked.StackedSequences`` / ``StackedLabels``
        (read-only sequences over the stacked arrays, items built on demand) instead of
        lists: ``SequenceLabeling`` then checks and batches them as a whole, without a
        Python step per sequence (what ``structpred learn`` uses).

    Raises
    ------
    SvmHmmFormatError (a :class:`structpred.errors.DataFormatError`, a ValueError) naming the
    file and line for every violation above, a truncated or corrupt gzip stream, or a file
    with no token line; OSError when the file cannot be opened.
    """
    if n_features is not None:
        if isinstance(n_features, bool) or not isinstance(n_features, (int, np.integer)) \
                or n_features < 1:
            raise ValueError(f"n_features must be a positive integer or None, got {n_features!r}")
    raw = read_bytes(path, memory_factor=_MEMORY_FACTOR)
    buf = np.frombuffer(raw, dtype=np.uint8)
    n_lines = raw.count(b"\n") + 1
    n_colons = raw.count(b":")
    tags = np.empty(n_lines, np.int64)
    qids = np.empty(n_lines, np.int64)
    linenos = np.empty(n_lines, np.int64)
    ptr = np.zeros(n_lines + 1, np.int64)
    cols = np.empty(n_colons, np.int32)     # fid - 1, straight into the CSR's index dtype
    vals = np.empty(n_colons, np.float64)
    nl, ne, code, err_line, err_off = _scan(buf, _POW10, tags, qids, linenos, ptr, cols, vals,
                                            _CLASS)
    if code:
        _fail_at(path, raw, code, err_line, err_off)
    if nl == 0:
        raise SvmHmmFormatError(f"{os.fspath(path)}: empty file (no token lines)", path)
    tags, qids, linenos, ptr = tags[:nl], qids[:nl], linenos[:nl], ptr[:nl + 1]
    cols, vals = cols[:ne], vals[:ne]
    if ne and np.isnan(vals.max()):   # values the scanner left to float() (NaN marks them)
        _slow_values(raw, linenos, ptr, vals)
    del buf
    if ne and max(float(vals.max()), -float(vals.min())) > MAX_ABS_FEATURE:
        k = int(np.flatnonzero(~(np.abs(vals) <= MAX_ABS_FEATURE))[0])
        row = int(np.searchsorted(ptr, k, side="right")) - 1
        _fail(path, int(linenos[row]), f"feature {int(cols[k]) + 1}: value {float(vals[k])!r} is "
              f"infinite or beyond +-{MAX_ABS_FEATURE:g} (structpred.errors.MAX_ABS_FEATURE)")
    del raw
    max_tag = int(tags.max())
    n_distinct = int(np.unique(tags).size)
    if max_tag > max(TAG_FLOOR, 4 * n_distinct):
        row = int(np.argmax(tags))
        _fail(path, int(linenos[row]), f"tag {max_tag} is far above the {n_distinct} distinct "
              f"tags of the file (limit max({TAG_FLOOR}, 4 x distinct tags)): a model needs "
              "max_tag**2 transition weights; number the tags densely from 1")
    max_fid = int(cols.max()) + 1 if ne else 0
    if n_features is None and max_fid > max(FEATURE_FLOOR, 64 * ne):
        k = int(np.argmax(cols))
        row = int(np.searchsorted(ptr, k, side="right")) - 1
        _fail(path, int(linenos[row]), f"feature id {max_fid} is far above what the file's {ne} "
              f"fid:value entries need (limit max(2**22, 64 x entries)): a model needs "
              "max_tag x max_fid weights; number the features densely from 1, or pass n_features")
    n_cols = max_fid if n_features is None else int(n_features)
    if n_features is not None and max_fid > n_cols:
        keep = cols < n_cols
        line_of = np.repeat(np.arange(nl), np.diff(ptr))
        kept_counts = np.bincount(line_of[keep], minlength=nl)
        ptr = np.zeros(nl + 1, np.int64)
        np.cumsum(kept_counts, out=ptr[1:])
        cols, vals = cols[keep], vals[keep]
    starts = np.flatnonzero(np.r_[True, qids[1:] != qids[:-1]])
    ends = np.r_[starts[1:], nl]
    labels = tags - 1
    if stacked:
        from .stacked import StackedLabels, StackedSequences
        bounds = np.r_[starts, nl].astype(np.int64)
        return SvmHmmData(StackedSequences(vals, cols, ptr, bounds, n_cols),
                          StackedLabels(labels, bounds), qids[starts], n_cols, max_tag)
    X = [_csr_view(vals, cols, ptr, a, b, n_cols) for a, b in zip(starts.tolist(), ends.tolist())]
    Y = [labels[a:b] for a, b in zip(starts.tolist(), ends.tolist())]
    return SvmHmmData(X, Y, qids[starts], n_cols, max_tag)


def _csr_view(vals, cols, ptr, a, b, n_cols):
    """Rows a..b-1 of the stacked CSR (vals, cols, ptr) as a CSR matrix whose data and
    indices are views into the stacked arrays: no copy (scipy's constructor would copy a
    small view of a large array), so the sequences of a file share one buffer and
    ``SequenceLabeling.make_batch`` can take it whole."""
    lo, hi = int(ptr[a]), int(ptr[b])
    m = sp.csr_matrix((b - a, n_cols), dtype=np.float64)
    m.indptr = (ptr[a:b + 1] - lo).astype(cols.dtype)   # scipy wants one index dtype
    m.indices = cols[lo:hi]
    m.data = vals[lo:hi]
    return m


def _fail_at(path, raw, code, err_line, err_off):
    """The scanner's error ``code`` at byte ``err_off`` (line ``err_line``) as a format error
    quoting the token (only the failing line is decoded)."""
    line_start = raw.rfind(b"\n", 0, err_off) + 1
    line_end = raw.find(b"\n", err_off)
    line_text = bytes(raw[line_start:line_end if line_end >= 0 else len(raw)]).decode("latin-1")
    local = err_off - line_start
    token = _token_at(line_text, local)
    prev = ""
    if code == _E_FID_ORDER:
        before = line_text[:local].split("#", 1)[0].split()
        prev = before[-1].partition(":")[0] if len(before) > 2 else "?"
    _fail(path, err_line, _MESSAGES[code].format(
        token=token, char=line_text[local:local + 1], fid=token.partition(":")[0], prev=prev))


def _slow_values(raw, linenos, ptr, vals):
    """Values the scanner could not compute exactly (NaN in ``vals``): re-read their lines
    with float() (correctly rounded, as strtod; the grammar was already checked)."""
    slow = np.flatnonzero(np.isnan(vals))
    rows = np.unique(np.searchsorted(ptr, slow, side="right") - 1)
    line_starts = np.r_[0, np.flatnonzero(np.frombuffer(raw, np.uint8) == 10) + 1]
    for row in rows:
        lineno = int(linenos[row])
        a = int(line_starts[lineno - 1])
        b = int(line_starts[lineno]) - 1 if lineno < len(line_starts) else len(raw)
        body = bytes(raw[a:b]).decode("latin-1").split("#", 1)[0].split()
        for k, tok in zip(range(int(ptr[row]), int(ptr[row + 1])), body[2:]):
            if np.isnan(vals[k]):
                vals[k] = float(tok.partition(":")[2])


def write_svmhmm(path, X, Y, qids=None, comments=None) -> None:
    """Write sequences in svm_hmm format (label l is written as tag l + 1, column c as
    feature id c + 1, zeros omitted). ``qids`` default to 1..n; ``comments`` is an optional
    list (per sequence) of lists (per token) of strings put after ``#``. ``.gz`` paths are
    gzipped."""
    path = os.fspath(path)
    if len(X) != len(Y):
        raise ValueError(f"X has {len(X)} sequences but Y has {len(Y)}")
    qids = np.arange(1, len(X) + 1) if qids is None else np.asarray(qids)
    if np.any(np.diff(qids) < 0):
        raise ValueError("qids must be non-decreasing")
    from ..boundary.paths import atomic_text_output   # the previous file survives a failure
    with atomic_text_output(path, encoding="ascii") as fh:
        for i, (x, y) in enumerate(zip(X, Y)):
            x = sp.csr_matrix(x)
            x.sort_indices()
            y = np.asarray(y)
            if x.shape[0] != len(y):
                raise ValueError(f"X[{i}] has {x.shape[0]} rows but Y[{i}] has {len(y)} labels")
            if len(y) and y.min() < 0:
                raise ValueError(f"Y[{i}]: negative label")
            for t in range(x.shape[0]):
                a, b = x.indptr[t], x.indptr[t + 1]
                feats = " ".join(f"{c + 1}:{v:.17g}" for c, v in
                                 zip(x.indices[a:b], x.data[a:b]) if v != 0)
                line = f"{int(y[t]) + 1} qid:{int(qids[i])}"
                if feats:
                    line += " " + feats
                if comments is not None:
                    line += " # " + comments[i][t]
                fh.write(line + "\n")


def copy_first_sequences(src, dst, n_sequences: int) -> None:
    """Write the lines of the first ``n_sequences`` qids of svm_hmm file ``src`` (plain or
    .gz) to ``dst``: a small file for quick runs and tests."""
    qids = set()
    with open_text(src) as fin, open(dst, "w") as fout:
        for line in fin:
            body = line.split("#", 1)[0].split()
            if len(body) >= 2 and body[1].startswith("qid:"):
                qids.add(body[1])
                if len(qids) > n_sequences:
                    break
            fout.write(line)


def read_tag_names(path) -> dict[int, str]:
    """{tag id: name} from an svm_hmm tags file: one ``ID NAME`` pair per line (blank lines
    skipped); DataFormatError naming file and line otherwise, or on a repeated ID."""
    names: dict[int, str] = {}
    for lineno, line in enumerate(read_text(path).splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or not (parts[0].isascii() and parts[0].isdigit()) or len(parts[0]) > 10:
            _fail(path, lineno, f"expected 'ID NAME' with a decimal tag ID, got {line.strip()[:60]!r}")
        tag = int(parts[0])
        if tag in names:
            _fail(path, lineno, f"tag {tag} named twice ({names[tag]!r} and {parts[1]!r})")
        names[tag] = parts[1]
    if not names:
        raise DataFormatError(f"{path}: empty file (no 'ID NAME' line)", path)
    return names
