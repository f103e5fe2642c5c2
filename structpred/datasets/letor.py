"""svm_rank / LETOR files and svm_proprank click files.

svm_rank / LETOR (one document per line, lines of a query contiguous, qids ascending):

    TARGET qid:N fid:val fid:val ... # comment

svm_proprank (Joachims et al., WSDM 2017): one qid group per click; the clicked document has
TARGET 1 and ``cost:W`` right after ``qid:N`` (W = the click's inverse propensity), the other
shown documents TARGET 0:

    1 qid:7 cost:2.5 1:0.3 4:1 ...
    0 qid:7 1:0.1 2:0.7 ...

Rules checked (each violation raises ``LetorFormatError`` naming the file and line): TARGET a
number; ``qid:N`` a non-negative integer, the lines of a query contiguous (a qid that comes
back after another query is a duplicate; ``strict_order=True`` also demands ascending qids,
as svm_rank does); feature ids integers >= 1, strictly
increasing within a line; values finite numbers; ``cost:`` only right after ``qid:``, a
positive finite number. Proprank groups: TARGET 0 or 1, exactly one clicked line, which must
carry ``cost:``. Lines starting with ``#`` and blank lines are skipped. ``.gz`` files (or gzip
magic) are read through gzip.

Queries without preference pairs (one document, or all documents of one grade) are kept and
counted by default (``pairless="keep"``): they add nothing to the ranking loss but count in n,
as in svm_rank, so C keeps svm_rank's meaning; ``pairless="skip"`` drops them (counted in
``n_skipped``) and ``pairless="error"`` rejects them.

In memory, feature id f becomes column f - 1.
"""
from __future__ import annotations

import gzip
import math
import os
import re
import sys
import warnings
import zlib
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ..boundary.params import check_positive
from ..boundary.text import open_text
from ..errors import MAX_ABS_FEATURE, DataFormatError, InvalidInputError
from .home import require_file

__all__ = ["load_letor", "write_letor", "LetorData", "LetorFormatError", "load_mq2008",
           "load_lightgbm_rank", "MQ2008_SOURCE", "LIGHTGBM_SOURCE"]

MQ2008_SOURCE = ("LETOR 4.0 MQ2008, QueryLevelNorm (T. Qin and T.-Y. Liu, 'Introducing LETOR 4.0 "
                 "Datasets', arXiv:1306.2597; Microsoft Research LETOR 4.0 download page)")
LIGHTGBM_SOURCE = ("LightGBM's examples/lambdarank (github.com/microsoft/LightGBM, "
                   "examples/lambdarank/rank.{train,test}[.query])")


class LetorFormatError(DataFormatError):
    """A malformed svm_rank / LETOR / svm_proprank file; the message names file and line
    (a :class:`structpred.errors.DataFormatError`, so a ValueError)."""


@dataclass
class LetorData:
    """What ``load_letor`` returns.

    X : list of per-query matrices (documents x n_features): ndarray, or CSR when ``dense``
        is False. y : list of float arrays, the TARGET of each document. qids : int64 array,
        one per query. lines : int64 array, the line number of each query's first document.
    costs : float array (one per query: the click's cost, proprank files) or None.
    n_features : number of columns. n_pairless : queries without preference pairs kept;
    n_skipped : such queries dropped (``pairless="skip"``). click_lines : int64 array, the
    line number of each query's clicked document (proprank files) or None.
    """
    X: list
    y: list
    qids: np.ndarray
    lines: np.ndarray
    n_features: int
    costs: np.ndarray | None = None
    n_pairless: int = 0
    n_skipped: int = 0
    path: str = ""
    comments: list = field(default_factory=list)
    click_lines: np.ndarray | None = None

    def __len__(self):
        return len(self.X)

    def clicks(self, clip: float | None = None):
        """Propensity SVM-rank labels: [Click(clicked index, cost)] (proprank files), each cost
        clipped at ``clip`` when given (min(cost, clip), as ``PropensityRanking(clip=)``).

        A weight above MAX_CLICK_WEIGHT (1e6, ``PropensityRanking``'s bound) after clipping
        is refused here, with a LetorFormatError naming the file and the clicked document's line
        (the task would refuse it too, naming only the click's index)."""
        from ..labels.clicks import Click
        if self.costs is None:
            raise ValueError(f"{self.path}: not an svm_proprank file (no cost: tokens)")
        clip = check_positive(clip, "clip", allow_none=True)
        out = []
        for q, (g, c) in enumerate(zip(self.y, self.costs)):
            weight = float(c) if clip is None else min(float(c), float(clip))
            if not weight <= MAX_CLICK_WEIGHT:
                lines = self.click_lines if self.click_lines is not None else self.lines
                line = int(lines[q])
                raise LetorFormatError(
                    f"{self.path}, line {line}: cost:{float(c):g} is above {MAX_CLICK_WEIGHT:g}, "
                    "the largest click weight (inverse propensity) PropensityRanking accepts"
                    + ("" if clip is None else f", even clipped at {float(clip):g}")
                    + ": clip the costs (--clip W, clicks(clip=W))", self.path, line)
            out.append(Click(int(np.argmax(g)), weight))
        return out


def _numbered_lines(fh, name):
    """enumerate(fh, 1), with a truncated or corrupt gzip stream reported as LetorFormatError."""
    try:
        yield from enumerate(fh, 1)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise LetorFormatError(f"{name}: truncated or corrupt gzip data "
                               f"({exc or type(exc).__name__})", name) from None


_CHUNK = 20000
_PAIRS = re.compile(r"(?:[0-9]+:[^\s:]+ )*(?:[0-9]+:[^\s:]+)?")
#: Largest feature id (svm_rank reads int32 ids); without ``n_features`` the highest id may be
#: at most max(FEATURE_FLOOR, 64 x the file's fid:value entries), so one line cannot ask for
#: a multi-GiB weight vector.
MAX_FID = 2 ** 31 - 1
FEATURE_FLOOR = 2 ** 22
#: Largest click weight (``cost:``, the inverse propensity) ``LetorData.clicks`` hands on: the
#: bound of ``structpred.tasks.ranking.model.MAX_CLICK_WEIGHT`` (kept equal, checked by
#: tests/test_model_file_hostile.py; a loader does not import a task), so that a cost the task
#: would refuse is reported with the file and line it came from.
MAX_CLICK_WEIGHT = 1e6


def _number(text: str) -> float:
    """float(text) without Python's extras that C's strtod does not read (``1_0``)."""
    if "_" in text:
        raise ValueError(text)
    return float(text)


def _parse_head(fail, toks, want_qid):
    """(target, qid, cost, index of the first feature token) of one line."""
    try:
        target = _number(toks[0])
    except ValueError:
        fail(f"TARGET {toks[0]!r} is not a number")
    if not math.isfinite(target):
        fail(f"TARGET {toks[0]!r} is not finite")
    pos = 1
    qid = None
    if pos < len(toks) and toks[pos].startswith("qid:"):
        text = toks[pos][4:]
        if not (text.isascii() and text.isdigit()) or len(text) > 18:
            fail(f"qid {text!r} is not a decimal integer (digits only, at most 18)")
        qid = int(text)
        if qid < 0:
            fail(f"qid {qid} is negative")
        pos += 1
    elif want_qid:
        fail("missing qid:N after the TARGET")
    cost = None
    if pos < len(toks) and toks[pos].startswith("cost:"):
        if qid is None:
            fail("cost: must come right after qid:N")
        text = toks[pos][5:]
        try:
            cost = _number(text)
        except ValueError:
            fail(f"cost {text!r} is not a number")
        if not math.isfinite(cost) or cost <= 0:
            fail(f"cost {text!r} must be a positive finite number (the click's inverse propensity)")
        pos += 1
    return target, qid, cost, pos


def _parse_chunk(name, chunk_tokens, chunk_lines, want_qid):
    """(fids, values) of a chunk of lines: one vectorised parse, checked; on any doubt the
    exact per-line parser finds and reports the first bad line."""
    counts = np.fromiter((len(t) for t in chunk_tokens), dtype=np.int64, count=len(chunk_tokens))
    joined = " ".join(" ".join(t) for t in chunk_tokens if t)
    ok = _PAIRS.fullmatch(joined) is not None
    if ok:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                text = joined.replace(":", " ")
                flat = np.fromstring(text, dtype=np.float64, sep=" ") if text else np.zeros(0)
            except ValueError:
                flat = None
        total = int(counts.sum())
        ok = flat is not None and flat.shape[0] == 2 * total
    if ok:
        pairs = flat.reshape(-1, 2)
        fids, vals = pairs[:, 0], pairs[:, 1]
        bad = ~(np.abs(vals) <= MAX_ABS_FEATURE) | (fids < 1) | (fids != np.floor(fids)) | (fids > MAX_FID)
        if total > 1:
            line_of = np.repeat(np.arange(len(chunk_tokens)), counts)
            bad[1:] |= (line_of[1:] == line_of[:-1]) & (fids[1:] <= fids[:-1])
        ok = not bad.any()
    if ok:
        return fids.astype(np.int64), vals
    for lineno, toks in chunk_lines:
        def fail(msg, _l=lineno):
            raise LetorFormatError(f"{name}, line {_l}: {msg}")
        _parse_line(fail, toks, want_qid)
    raise LetorFormatError(f"{name}: unreadable feature list (lines {chunk_lines[0][0]}-"
                           f"{chunk_lines[-1][0]})")


def _parse_line(fail, toks, want_qid):
    """(target, qid, cost, fids, vals) of one line's tokens (comment already cut)."""
    target, qid, cost, pos = _parse_head(fail, toks, want_qid)
    fids, vals = [], []
    prev = 0
    for tok in toks[pos:]:
        f, sep, v = tok.partition(":")
        if not sep:
            fail(f"feature {tok!r} is not of the form fid:value")
        if f in ("qid", "cost"):
            fail(f"{f}: must come right after the TARGET{' and qid' if f == 'cost' else ''}")
        if not (f.isascii() and f.isdigit()) or len(f) > 10 or int(f) > MAX_FID:
            fail(f"feature id {f!r} in {tok!r} is not a decimal integer in 1..{MAX_FID}")
        fid = int(f)
        try:
            val = _number(v)
        except ValueError:
            fail(f"feature value {v!r} in {tok!r} is not a number")
        if not abs(val) <= MAX_ABS_FEATURE:
            fail(f"feature value {v!r} in {tok!r} is not finite or beyond +-{MAX_ABS_FEATURE:g} "
                 "(structpred.errors.MAX_ABS_FEATURE)")
        if fid < 1:
            fail(f"feature id {fid} must be >= 1")
        if fid <= prev:
            fail(f"feature ids must be in increasing order ({fid} after {prev})")
        prev = fid
        fids.append(fid)
        vals.append(val)
    return target, qid, cost, fids, vals


def load_letor(path, *, n_features: int | None = None, kind: str = "auto",
               pairless: str = "keep", dense: bool | None = None,
               group_sizes=None, strict_order: bool = False, dtype=np.float64) -> LetorData:
    """Read an svm_rank / LETOR file (or an svm_proprank click file) into per-query matrices.

    Parameters
    ----------
    path : str or path-like (``.gz`` read through gzip)
    n_features : int, optional
        Keep feature ids <= n_features (svm_rank_classify drops test features above the
        model's); default: the highest id in the file.
    kind : {"auto", "rank", "proprank"}
        "auto": proprank when any line carries ``cost:``.
    pairless : {"keep", "skip", "error"}
        What to do with queries that carry no preference pair (see the module docstring).
    dense : bool, optional
        Dense ndarray per query or CSR; default: dense when at least ~30% of the\n        entries are listed (LETOR files list every feature).
    group_sizes : sequence of int, optional
        For files without qids (LightGBM's ``.query`` files): the sizes of consecutive groups.
    strict_order : bool
        Also reject a qid smaller than the previous one (svm_rank's rule). By default only a
        qid that comes back after another query is an error: LETOR's own fold files (e.g.
        MQ2008 Fold4/train = S3+S4+S5) are contiguous per query but not ascending.
    dtype : numpy.float64 (default) or numpy.float32
        How the feature values are stored: float32 halves the documents' memory and holds
        each value rounded to the nearest float32 (svm_rank's own storage, FVAL = float).

    Raises
    ------
    LetorFormatError naming the file and line; FileNotFoundError.
    """
    if kind not in ("auto", "rank", "proprank"):
        raise ValueError(f"kind must be 'auto', 'rank' or 'proprank', got {kind!r}")
    if pairless not in ("keep", "skip", "error"):
        raise ValueError(f"pairless must be 'keep', 'skip' or 'error', got {pairless!r}")
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        dtype = None
    if dtype not in (np.float64, np.float32):
        raise InvalidInputError("dtype must be numpy.float64 or numpy.float32")
    name = os.fspath(path)
    if kind != "proprank":
        if "numba" not in sys.modules:   # a moderate file: read without loading numba
            from .letor_numpy import parse_numpy
            parts = parse_numpy(path, n_features, dense, group_sizes is None, MAX_FID,
                                FEATURE_FLOOR)
            if parts is not None and dtype != np.float64:
                parts = parts[:3] + (parts[3].astype(dtype),) + parts[4:]
            fast = None if parts is None else _assemble(name, *parts, group_sizes, strict_order,
                                                        pairless)
            if fast is not None:
                return fast
        fast = _load_fast(path, name, n_features, pairless, dense, group_sizes, strict_order,
                          dtype)
        if fast is not None:
            return fast
    return _load_exact(path, name, n_features, kind, pairless, dense, group_sizes, strict_order,
                       dtype)


def _load_exact(path, name, n_features, kind, pairless, dense, group_sizes, strict_order,
                dtype=np.float64):
    """The per-line reader: every rule checked with a message naming file and line."""
    targets, qids, costs, linenos, comments = [], [], [], [], []
    parts_f, parts_v, counts = [], [], []
    chunk_tokens, chunk_lines = [], []
    prev_qid = None
    seen = {}
    want_qid = group_sizes is None

    def flush():
        f, v = _parse_chunk(name, chunk_tokens, chunk_lines, want_qid)
        parts_f.append(f)
        parts_v.append(v)
        chunk_tokens.clear()
        chunk_lines.clear()

    with open_text(path, memory_factor=8) as fh:
        for lineno, line in _numbered_lines(fh, name):
            body, hsh, comment = line.partition("#")
            toks = body.split()
            if not toks:
                continue

            def fail(msg, _l=lineno):
                raise LetorFormatError(f"{name}, line {_l}: {msg}")

            target, qid, cost, pos = _parse_head(fail, toks, want_qid)
            if qid is not None and qid != prev_qid:
                if qid in seen:
                    fail(f"qid {qid} comes back after qid {prev_qid} (first seen at line "
                         f"{seen[qid]}): the lines of a query must be contiguous")
                if strict_order and prev_qid is not None and qid < prev_qid:
                    fail(f"qid {qid} after qid {prev_qid}: qids must be in ascending order "
                         "(strict_order=True, svm_rank's rule)")
                seen[qid] = lineno
                prev_qid = qid
            if cost is not None and kind == "rank":
                fail("cost: in a file read as svm_rank (kind='rank'); read it with kind='proprank'")
            targets.append(target)
            qids.append(qid)
            costs.append(cost)
            linenos.append(lineno)
            comments.append(comment.strip() if hsh else "")
            counts.append(len(toks) - pos)
            chunk_tokens.append(toks[pos:])
            chunk_lines.append((lineno, toks))
            if len(chunk_lines) >= _CHUNK:
                flush()
    if chunk_lines:
        flush()
    if not targets:
        raise LetorFormatError(f"{name}: empty file (no document lines)")
    N = len(targets)
    if group_sizes is not None:
        sizes = np.asarray(group_sizes, dtype=np.int64)
        if sizes.sum() != N or np.any(sizes < 1):
            raise LetorFormatError(f"{name}: the group sizes sum to {int(sizes.sum())} but the file "
                                   f"has {N} document lines")
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        qid_arr = np.repeat(np.arange(1, len(sizes) + 1), sizes)
    else:
        qid_arr = np.asarray(qids, dtype=np.int64)
        starts = np.flatnonzero(np.r_[True, qid_arr[1:] != qid_arr[:-1]])
    ends = np.r_[starts[1:], N]
    is_prop = kind == "proprank" or (kind == "auto" and any(c is not None for c in costs))
    fid_arr = np.concatenate(parts_f) if parts_f else np.zeros(0, np.int64)
    val_arr = np.concatenate(parts_v) if parts_v else np.zeros(0)
    ptr = np.zeros(N + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    max_fid = int(fid_arr.max()) if fid_arr.size else 0
    if n_features is None and max_fid > max(FEATURE_FLOOR, 64 * fid_arr.size):
        k = int(np.argmax(fid_arr))
        row = int(np.searchsorted(ptr, k, side="right")) - 1
        raise LetorFormatError(
            f"{name}, line {linenos[row]}: feature id {max_fid} is far above what the file's "
            f"{fid_arr.size} fid:value entries need (limit max(2**22, 64 x entries)): number the "
            "features densely from 1, or pass n_features", name, linenos[row])
    n_cols = max_fid if n_features is None else int(n_features)
    if n_features is not None and max_fid > n_cols:
        keep = fid_arr <= n_cols
        counts = np.bincount(np.repeat(np.arange(N), np.diff(ptr))[keep], minlength=N)
        ptr = np.concatenate([[0], np.cumsum(counts)])
        fid_arr, val_arr = fid_arr[keep], val_arr[keep]
    M = sp.csr_matrix((val_arr.astype(dtype, copy=False), (fid_arr - 1).astype(np.int32), ptr),
                      shape=(N, n_cols))
    if dense is None:   # dense when it takes less memory than CSR (about 40% non-zeros)
        dense = n_cols <= 5000 and fid_arr.size * 12 >= 0.3 * N * n_cols * 8
    t_arr = np.asarray(targets)
    X, Y, Q, L, C, CL, com = [], [], [], [], [], [], []
    n_pairless = n_skipped = 0
    for a, b in zip(starts, ends):
        g = t_arr[a:b]
        first = linenos[a]
        if is_prop:
            _check_click_group(name, g, costs[a:b], linenos[a:b])
        if b - a < 2 or np.all(g == g[0]):
            why = "has one document" if b - a < 2 else f"has all {b - a} documents of grade {g[0]:g}"
            if pairless == "error":
                raise LetorFormatError(f"{name}, line {first}: query qid:{qid_arr[a]} {why}, so "
                                       "it carries no preference pair")
            if pairless == "skip":
                n_skipped += 1
                continue
            n_pairless += 1
        block = M[a:b]
        X.append(block.toarray() if dense else block)
        Y.append(g.astype(np.float64))
        Q.append(int(qid_arr[a]))
        L.append(first)
        com.append(comments[a:b])
        if is_prop:
            k = next(i for i, t in enumerate(g) if t == 1)
            C.append(costs[a + k])
            CL.append(linenos[a + k])
    return LetorData(X, Y, np.asarray(Q, dtype=np.int64), np.asarray(L, dtype=np.int64), n_cols,
                     np.asarray(C, dtype=np.float64) if is_prop else None, n_pairless, n_skipped,
                     name, com, np.asarray(CL, dtype=np.int64) if is_prop else None)


class _Comments:
    """The comments of the kept queries (list of per-document strings per query), built on
    access from one byte blob: no Python string per line until asked for."""

    def __init__(self, blob, offsets, starts, ends):
        self._blob, self._off, self._starts, self._ends = blob, offsets, starts, ends

    def __len__(self):
        return len(self._starts)

    def __getitem__(self, q):
        if isinstance(q, slice):
            return [self[k] for k in range(*q.indices(len(self)))]
        a, b = int(self._starts[q]), int(self._ends[q])
        off, blob = self._off, self._blob
        return [blob[off[i]:off[i + 1]].decode("ascii") for i in range(a, b)]

    def __iter__(self):
        return (self[q] for q in range(len(self)))

    def __eq__(self, other):
        return list(self) == list(other)


_BLOCK = 2 << 20
#: Files smaller than this are read by the exact per-line reader while numba is not loaded.
_SMALL_FILE = 256 << 10


def _row_estimate(reader, rows, nbytes):
    """Rows to allocate for a dense file: its size over the first block's bytes per row
    (+2%), so the array rarely grows. A gzip file's size is read from its trailer (ISIZE,
    the text size mod 2**32, trusted only when at least the first block); otherwise the
    first block's rows x 16."""
    try:
        fd = reader._raw_count.inner.fileno()
        size = os.fstat(fd).st_size
        if reader.gz and size >= 18:
            tail = os.pread(fd, 4, size - 4)
            size = int.from_bytes(tail, "little") if len(tail) == 4 else 0
            if size < nbytes:
                size = 0
    except (AttributeError, OSError, ValueError):
        size = 0
    if size <= 0:
        return max(rows * 16, 1024)
    return max(int(size / max(nbytes, 1) * rows * 1.02) + 64, rows, 1024)


def _read_blocks(reader):
    """Whole-line byte blocks of about _BLOCK bytes from a TextReader's bounded binary stream
    (a final line without its newline gets one)."""
    rest = b""
    while True:
        chunk = reader._bin.read(_BLOCK)
        if not chunk:
            break
        chunk = rest + chunk if rest else chunk
        k = chunk.rfind(b"\n")
        if k < 0:
            rest = chunk
            if len(rest) > reader.max_line_bytes:
                return
            continue
        rest = chunk[k + 1:]
        yield chunk[:k + 1]
    if rest:
        yield rest + b"\n"


class _Grow:
    """A growing 1-D array (amortised appends without a list of parts)."""

    def __init__(self, dtype, cap):
        self.a = np.empty(max(int(cap), 16), dtype)
        self.n = 0

    def extend(self, v):
        k = v.shape[0]
        if self.n + k > self.a.shape[0]:
            self.a.resize(max(self.n + k, self.a.shape[0] + self.a.shape[0] // 2), refcheck=False)
        self.a[self.n:self.n + k] = v
        self.n += k

    def view(self):
        return self.a[:self.n]


def _load_fast(path, name, n_features, pairless, dense, group_sizes, strict_order,
               dtype=np.dtype(np.float64)):
    """load_letor's fast path (numba scanner, see ``letor_scan``): None whenever the exact
    reader must decide (a doubtful token, a rule broken, ``cost:`` tokens). Memory: the
    documents x features array (dense files) or the CSR arrays, per-document arrays, and one
    set of per-block buffers reused for every block."""
    import sys
    if "numba" not in sys.modules:   # a small plain file: not worth loading numba for
        try:
            if 0 <= os.stat(path).st_size < _SMALL_FILE:
                return None
        except (OSError, TypeError, ValueError):
            return None
    from .letor_scan import _POW10, OK, drop_above, max_fid_kept, scan_block, scatter_dense
    want_qid = group_sizes is None
    line = 1
    D = None                         # dense mode: a growing documents x W array
    n_rows = 0
    nnz = 0
    mode = None if dense is None else ("dense" if dense else "csr")
    cap_cols = None if n_features is None else int(n_features)
    big_fid = MAX_FID + 1
    bufs = None
    import warnings as _w
    try:
        reader = open_text(path, memory_factor=8)
    except (OSError, ValueError):
        return None
    try:
        with reader:
            for block in _read_blocks(reader):
                buf = np.frombuffer(block, dtype=np.uint8)
                L = buf.shape[0]
                if bufs is None or bufs["L"] < L:
                    Lc = max(L, _BLOCK + (64 << 10))
                    bufs = {"L": Lc,
                            "qids": np.empty(Lc // 2 + 2, np.int64),   # a document line has >= 2 bytes
                            "lines": np.empty(Lc // 2 + 2, np.int64),
                            "counts": np.empty(Lc // 2 + 2, np.int64),
                            "fids": np.empty(Lc // 3 + 2, np.int64),    # an entry takes >= 4 bytes
                            "nums": np.empty(2 * Lc + 2, np.uint8),
                            "cblob": np.empty(Lc + 2, np.uint8),
                            "coff": np.empty(Lc // 2 + 3, np.int64),
                            "targets": np.empty(Lc // 2 + 2),
                            "vals": np.empty(Lc // 3 + 2),
                            "hard": np.empty(Lc // 2 + Lc // 3 + 4, np.int64)}
                B = bufs
                st, nd, ne, no, nc, nh, _ = scan_block(buf, line, reader.max_line_bytes, B["qids"],
                                                       B["lines"], B["counts"], B["fids"], B["nums"],
                                                       B["cblob"], B["coff"], B["targets"],
                                                       B["vals"], B["hard"], _POW10)
                if st != OK:
                    return None
                line += block.count(b"\n")
                del buf, block
                if nd == 0:
                    continue
                if n_rows == 0:
                    est = _row_estimate(reader, nd, L)
                    doc = {k: _Grow(np.int64, est) for k in ("qids", "lines", "counts", "coff")}
                    doc["targets"] = _Grow(np.float64, est)
                    blob = _Grow(np.uint8, est * max(nc // nd, 1) + 64)
                qids, counts = B["qids"][:nd], B["counts"][:nd]
                targets, vals, fids = B["targets"][:nd], B["vals"], B["fids"]
                if want_qid and qids.min() < 0:
                    return None
                if nh:
                    with _w.catch_warnings():
                        _w.simplefilter("ignore")
                        flat = np.fromstring(B["nums"][:no].tobytes(), dtype=np.float64, sep=" ")
                    if flat.shape[0] != nh:
                        return None
                    slots = B["hard"][:nh]
                    vals[slots[slots >= 0]] = flat[slots >= 0]
                    targets[-1 - slots[slots < 0]] = flat[slots < 0]
                    del flat
                if not (np.all(np.isfinite(targets)) and np.all(np.abs(vals[:ne]) <= MAX_ABS_FEATURE)):
                    return None
                hi, kept = max_fid_kept(fids, ne, big_fid if cap_cols is None else cap_cols)
                if kept != ne:
                    ne = drop_above(counts, fids, vals, nd, cap_cols)
                nnz += ne
                if mode is None:    # decided on the first block, checked at the end
                    W = hi if cap_cols is None else cap_cols
                    mode = "dense" if (0 < W <= 5000 and ne * 12 >= 0.3 * nd * W * 8) else "csr"
                if mode == "dense":
                    if D is None:
                        W = max(hi, 1) if cap_cols is None else max(cap_cols, 1)
                        D = np.zeros((_row_estimate(reader, nd, L), W), dtype=dtype)
                    if hi > D.shape[1]:
                        if hi > 5000 and dense is None:
                            return None
                        wider = np.zeros((D.shape[0], hi), dtype=dtype)
                        wider[:n_rows, :D.shape[1]] = D[:n_rows]
                        D = wider
                    if n_rows + nd > D.shape[0]:
                        D.resize((max(n_rows + nd, D.shape[0] + D.shape[0] // 4), D.shape[1]),
                                 refcheck=False)
                    scatter_dense(D, n_rows, counts, fids, vals, nd)
                else:
                    if n_rows == 0:
                        f_all = _Grow(np.int32, max(ne, 1) * 4)
                        v_all = _Grow(np.float64, max(ne, 1) * 4)
                    f_all.extend((fids[:ne] - 1).astype(np.int32))
                    v_all.extend(vals[:ne])
                doc["qids"].extend(qids)
                doc["lines"].extend(B["lines"][:nd])
                doc["counts"].extend(counts)
                doc["targets"].extend(targets)
                doc["coff"].extend(B["coff"][1:nd + 1] + blob.n)
                blob.extend(B["cblob"][:nc])
                n_rows += nd
    except (OSError, ValueError, EOFError, zlib.error):
        return None                   # a limit, truncated or corrupt gzip: the exact reader says
    del bufs
    if n_rows == 0:
        return None
    qid_arr = doc["qids"].view()
    linenos = doc["lines"].view()
    t_arr = doc["targets"].view()
    counts = doc["counts"].view()
    N = n_rows
    if mode == "dense":
        n_cols = D.shape[1] if cap_cols is None else cap_cols
        D.resize((N, D.shape[1]), refcheck=False)
        big = D
        final_dense = dense if dense is not None else (
            n_cols <= 5000 and nnz * 12 >= 0.3 * N * n_cols * 8)
        if not final_dense:
            big = sp.csr_matrix(D, dtype=dtype)
            if big.nnz != nnz:
                return None           # explicit zeros listed: keep the exact reader's CSR
    else:
        cols, vals = f_all.view(), v_all.view()
        max_fid = int(cols.max()) + 1 if cols.size else 0
        if cap_cols is None and max_fid > max(FEATURE_FLOOR, 64 * cols.size):
            return None
        n_cols = max_fid if cap_cols is None else cap_cols
        ptr = np.zeros(N + 1, dtype=np.int64)
        np.cumsum(counts, out=ptr[1:])
        big = sp.csr_matrix((vals.astype(dtype, copy=False), cols, ptr), shape=(N, n_cols))
        final_dense = dense if dense is not None else (
            n_cols <= 5000 and nnz * 12 >= 0.3 * N * n_cols * 8)
        if final_dense:
            big = big.toarray()
    coff = np.concatenate([[0], doc["coff"].view()])
    return _assemble(name, qid_arr, linenos, t_arr, big, n_cols, blob.view().tobytes(), coff,
                     group_sizes, strict_order, pairless)


def _assemble(name, qid_arr, linenos, t_arr, big, n_cols, blob_bytes, coff, group_sizes,
              strict_order, pairless):
    """LetorData of the fast readers from per-document arrays (qids, line numbers, targets),
    the documents matrix ``big`` (queries become row slices of it) and the comments (one
    byte blob and offsets); None whenever the exact reader must decide."""
    N = t_arr.shape[0]
    if group_sizes is not None:
        sizes = np.asarray(group_sizes, dtype=np.int64)
        if sizes.sum() != N or np.any(sizes < 1) or np.any(qid_arr >= 0):
            return None
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        qid_arr = np.repeat(np.arange(1, len(sizes) + 1), sizes)
    else:
        starts = np.flatnonzero(np.r_[True, qid_arr[1:] != qid_arr[:-1]])
        sq = qid_arr[starts]
        if np.unique(sq).shape[0] != sq.shape[0]:
            return None               # a qid that comes back: the exact reader says where
        if strict_order and np.any(sq[1:] < sq[:-1]):
            return None
    ends = np.r_[starts[1:], N]
    X, Y, Q, L, keep_a, keep_b = [], [], [], [], [], []
    n_pairless = n_skipped = 0
    for a, b in zip(starts.tolist(), ends.tolist()):
        g = t_arr[a:b]
        if b - a < 2 or np.all(g == g[0]):
            if pairless == "error":
                return None
            if pairless == "skip":
                n_skipped += 1
                continue
            n_pairless += 1
        X.append(big[a:b])
        Y.append(g.astype(np.float64))
        Q.append(int(qid_arr[a]))
        L.append(int(linenos[a]))
        keep_a.append(a)
        keep_b.append(b)
    return LetorData(X, Y, np.asarray(Q, dtype=np.int64), np.asarray(L, dtype=np.int64), n_cols,
                     None, n_pairless, n_skipped, name, _Comments(blob_bytes, coff, keep_a, keep_b))


def _check_click_group(name, g, costs, linenos):
    clicked = [k for k, t in enumerate(g) if t == 1]
    for t, c, ln in zip(g, costs, linenos):
        if t not in (0.0, 1.0):
            raise LetorFormatError(f"{name}, line {ln}: TARGET {t:g} in an svm_proprank file "
                                   "(1 = the clicked document, 0 = another shown one)")
    if not clicked:
        raise LetorFormatError(f"{name}, line {linenos[0]}: svm_proprank group with no clicked "
                               "document (TARGET 1)")
    if len(clicked) > 1:
        raise LetorFormatError(f"{name}, line {linenos[clicked[1]]}: svm_proprank group with two "
                               f"clicked documents (lines {linenos[clicked[0]]} and "
                               f"{linenos[clicked[1]]}); write one qid group per click")
    k = clicked[0]
    if costs[k] is None:
        raise LetorFormatError(f"{name}, line {linenos[k]}: the clicked document has no cost:W "
                               "token (W = inverse propensity, right after qid:N)")
    for c, ln, t in zip(costs, linenos, g):
        if c is not None and t == 0 and c != costs[k]:
            raise LetorFormatError(f"{name}, line {ln}: cost:{c:g} on a non-clicked document "
                                   f"differs from the click's cost:{costs[k]:g}")


def write_letor(path, X, y, qids=None, costs=None) -> None:
    """Write queries in svm_rank format (or svm_proprank's when ``costs`` is given: the cost
    goes on the line whose TARGET is 1). Zeros are omitted; ``.gz`` paths are gzipped."""
    path = os.fspath(path)
    qids = np.arange(1, len(X) + 1) if qids is None else np.asarray(qids)
    from ..boundary.paths import atomic_text_output   # the previous file survives a failure
    with atomic_text_output(path, encoding="ascii") as fh:
        for q, (x, g) in enumerate(zip(X, y)):
            M = sp.csr_matrix(x)
            for i in range(M.shape[0]):
                lo, hi = M.indptr[i], M.indptr[i + 1]
                feats = " ".join(f"{c + 1}:{v:.17g}" for c, v in zip(M.indices[lo:hi], M.data[lo:hi]) if v != 0)
                cost = f" cost:{costs[q]:.17g}" if costs is not None and g[i] == 1 else ""
                fh.write(f"{g[i]:g} qid:{int(qids[q])}{cost} {feats}\n")


def load_mq2008(fold: int = 1, split: str = "train", data_home=None, **kwargs) -> LetorData:
    """LETOR 4.0 MQ2008 (QueryLevelNorm), ``ranking/mq2008/Fold{fold}/{split}.txt.gz`` under the
    data home. split: "train", "vali" or "test"."""
    if fold not in (1, 2, 3, 4, 5):
        raise ValueError(f"fold must be 1..5, got {fold!r}")
    if split not in ("train", "vali", "test"):
        raise ValueError(f"split must be 'train', 'vali' or 'test', got {split!r}")
    path = require_file(data_home, f"ranking/mq2008/Fold{fold}/{split}.txt.gz", MQ2008_SOURCE)
    return load_letor(path, **kwargs)


def load_lightgbm_rank(split: str = "train", data_home=None, **kwargs) -> LetorData:
    """LightGBM's lambdarank sample (5 grades, sparse, no qids: groups from the .query file)."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    data = f"ranking/lightgbm_lambdarank/rank.{split}" + (".gz" if split == "train" else "")
    path = require_file(data_home, data, LIGHTGBM_SOURCE)
    qpath = require_file(data_home, f"ranking/lightgbm_lambdarank/rank.{split}.query", LIGHTGBM_SOURCE)
    sizes = []
    with open(qpath, encoding="ascii") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.strip():
                try:
                    sizes.append(int(line))
                except ValueError:
                    raise LetorFormatError(f"{qpath}, line {lineno}: {line.strip()!r} is not an "
                                           "integer group size") from None
    return load_letor(path, group_sizes=sizes, **kwargs)
