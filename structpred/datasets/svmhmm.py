"""svm_hmm / SVM-light sequence files: ``TAG qid:N fid:val fid:val ... # comment``.

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
import warnings
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

__all__ = ["read_svmhmm", "write_svmhmm", "SvmHmmData", "SvmHmmFormatError"]


class SvmHmmFormatError(ValueError):
    """A malformed svm_hmm file; the message names the file and the line."""


class SvmHmmData(NamedTuple):
    """What ``read_svmhmm`` returns.

    X : list of CSR matrices (tokens x n_features), column f-1 holds feature id f.
    Y : list of int64 arrays, label = tag - 1.
    qids : int64 array, the qid of each sequence.
    n_features : number of columns (the highest feature id, or the cap given to the reader).
    max_tag : the highest tag in the file.
    """
    X: list
    Y: list
    qids: np.ndarray
    n_features: int
    max_tag: int


def _open_text(path):
    path = os.fspath(path)
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b" or path.endswith(".gz"):
        return gzip.open(path, "rt", encoding="ascii", errors="replace")
    return open(path, "rt", encoding="ascii", errors="replace")


def _fail(path, lineno, msg):
    raise SvmHmmFormatError(f"{os.fspath(path)}, line {lineno}: {msg}")


def _parse_features_slow(path, lineno, toks):
    """Parse 'fid:val' tokens of one line with full checks (the slow, exact path)."""
    fids, vals = [], []
    prev = 0
    for tok in toks:
        f, sep, v = tok.partition(":")
        if not sep:
            _fail(path, lineno, f"feature {tok!r} is not of the form fid:value")
        try:
            fid = int(f)
        except ValueError:
            _fail(path, lineno, f"feature id {f!r} in {tok!r} is not an integer")
        try:
            val = float(v)
        except ValueError:
            _fail(path, lineno, f"feature value {v!r} in {tok!r} is not a number")
        if not np.isfinite(val):
            _fail(path, lineno, f"feature value {v!r} in {tok!r} is not finite")
        if fid < 1:
            _fail(path, lineno, f"feature id {fid} must be >= 1")
        if fid <= prev:
            _fail(path, lineno, f"feature ids must be in increasing order ({fid} after {prev})")
        prev = fid
        fids.append(fid)
        vals.append(val)
    return fids, vals


def read_svmhmm(path, n_features: int | None = None) -> SvmHmmData:
    """Read an svm_hmm file into per-sequence CSR matrices and 0-based labels.

    Parameters
    ----------
    path : str or path-like (``.gz`` read through gzip)
    n_features : int, optional
        Keep only feature ids <= n_features (svm_hmm drops test features above the
        training maximum); by default the highest id in the file.

    Raises
    ------
    SvmHmmFormatError (a ValueError) naming the file and line: missing qid, tag < 1 or not
    an integer, qid smaller than the previous line's (a token of another sequence in the
    middle), feature ids not >= 1 and increasing, non-numeric values, no token lines at all.
    """
    tags, qids, counts, rests, linenos = [], [], [], [], []
    prev_qid = None
    with _open_text(path) as fh:
        for lineno, line in enumerate(fh, 1):
            h = line.find("#")
            if h >= 0:
                line = line[:h]
            parts = line.split(None, 2)
            if not parts:
                continue
            try:
                tag = int(parts[0])
            except ValueError:
                _fail(path, lineno, f"tag {parts[0]!r} is not an integer")
            if tag < 1:
                _fail(path, lineno, f"tag {tag}: token label IDs must be >= 1")
            if len(parts) < 2 or not parts[1].startswith("qid:"):
                _fail(path, lineno, "missing qid:N after the tag")
            try:
                qid = int(parts[1][4:])
            except ValueError:
                _fail(path, lineno, f"qid {parts[1][4:]!r} is not an integer")
            if prev_qid is not None and qid < prev_qid:
                _fail(path, lineno, f"qid {qid} after qid {prev_qid}: qids must not decrease "
                      "(all tokens of a sequence must be consecutive lines)")
            prev_qid = qid
            rest = parts[2] if len(parts) > 2 else ""
            n = rest.count(":")
            tags.append(tag)
            qids.append(qid)
            counts.append(n)
            rests.append(rest)
            linenos.append(lineno)
    if not tags:
        raise SvmHmmFormatError(f"{os.fspath(path)}: empty file (no token lines)")
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    flat = None
    text = " ".join(rests).replace(":", " ")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            flat = np.fromstring(text, dtype=np.float64, sep=" ") if text.strip() else np.zeros(0)
        except ValueError:
            flat = None
    ok = flat is not None and flat.shape[0] == 2 * total
    if ok:
        pairs = flat.reshape(-1, 2)
        fids = pairs[:, 0]
        vals = pairs[:, 1]
        line_of = np.repeat(np.arange(len(tags)), counts)
        bad = ~np.isfinite(vals) | (fids < 1) | (fids != np.floor(fids))
        if total > 1:
            same = line_of[1:] == line_of[:-1]
            bad[1:] |= same & (fids[1:] <= fids[:-1])
        # every token of every line must be exactly one fid:value pair
        ok = not bad.any() and all(len(r.split()) == c for r, c in zip(rests, counts))
    if not ok:  # locate the first bad line with the exact per-line parser
        fid_list, val_list = [], []
        for rest, lineno in zip(rests, linenos):
            f, v = _parse_features_slow(path, lineno, rest.split())
            fid_list.extend(f)
            val_list.extend(v)
        fids = np.asarray(fid_list, dtype=np.float64)
        vals = np.asarray(val_list, dtype=np.float64)
    fids = fids.astype(np.int64)
    max_fid = int(fids.max()) if fids.size else 0
    n_cols = max_fid if n_features is None else int(n_features)
    indptr = np.zeros(len(tags) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    if n_features is not None and max_fid > n_cols:
        keep = fids <= n_cols
        line_of = np.repeat(np.arange(len(tags)), counts)
        kept_counts = np.bincount(line_of[keep], minlength=len(tags))
        indptr[1:] = np.cumsum(kept_counts)
        fids, vals = fids[keep], vals[keep]
    cols = (fids - 1).astype(np.int32)
    tags_arr = np.asarray(tags, dtype=np.int64)
    qids_arr = np.asarray(qids, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, qids_arr[1:] != qids_arr[:-1]])
    ends = np.r_[starts[1:], len(tags)]
    X = []
    for a, b in zip(starts, ends):  # views into the stacked arrays (no O(n_rows) slicing)
        lo, hi = indptr[a], indptr[b]
        X.append(sp.csr_matrix((vals[lo:hi], cols[lo:hi], indptr[a:b + 1] - lo),
                               shape=(b - a, n_cols)))
    Y = [tags_arr[a:b] - 1 for a, b in zip(starts, ends)]
    return SvmHmmData(X, Y, qids_arr[starts], n_cols, int(tags_arr.max()))


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
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wt", encoding="ascii") as fh:
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
    with _open_text(src) as fin, open(dst, "w") as fout:
        for line in fin:
            body = line.split("#", 1)[0].split()
            if len(body) >= 2 and body[1].startswith("qid:"):
                qids.add(body[1])
                if len(qids) > n_sequences:
                    break
            fout.write(line)
