"""Flat ranking input, as scikit-learn's svmlight reader and LightGBM present it.

``sklearn.datasets.load_svmlight_file(path, query_id=True)`` returns one documents x features
matrix X for all queries, the grades y and a query id per row (``qid``); LightGBM takes the
same X and y with ``group``, the sizes of consecutive row blocks. ``split_queries`` turns
either into the per-query lists that :class:`~structpred.tasks.ranking.Ranking` trains on
(one example = one query), and ``join_scores`` puts per-query scores back in row order.
Rows of a qid need not be consecutive: queries come in the order of their first row.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ...boundary.arrays import check_scores
from ...boundary.params import check_int
from ...errors import InvalidInputError

__all__ = ["query_rows", "split_queries", "join_scores"]


def _n_rows(X) -> int:
    shape = getattr(X, "shape", None)
    if shape is None or len(shape) != 2:
        raise InvalidInputError(f"X must be a 2-D documents x features matrix (dense or sparse) "
                                f"when qid or group is given, got {type(X).__name__}"
                                + (f" of shape {shape}" if shape is not None else ""))
    return int(shape[0])


def _check_qid(q):
    """InvalidInputError unless the query ids can be compared with each other: numbers (finite
    when real) or strings, not a mix, no None (np.unique would raise a raw TypeError)."""
    if q.dtype.kind == "f" and not np.all(np.isfinite(q)):
        raise InvalidInputError(f"qid[{int(np.flatnonzero(~np.isfinite(q))[0])}] is not finite")
    if q.dtype.kind == "O":
        kinds = []
        for k, v in enumerate(q.tolist()):
            if isinstance(v, (str, bytes)):
                kind = "string"
            elif isinstance(v, (int, float, np.integer, np.floating)) and \
                    not isinstance(v, (bool, np.bool_)):
                if isinstance(v, (float, np.floating)) and not np.isfinite(v):
                    raise InvalidInputError(f"qid[{k}] is not finite")
                kind = "number"
            else:
                raise InvalidInputError(f"qid[{k}] is {v!r}: a query id is an integer, a finite "
                                        "number or a string")
            kinds.append(kind)
            if kind != kinds[0]:
                raise InvalidInputError(f"qid mixes numbers and strings (qid[0] is {q[0]!r}, "
                                        f"qid[{k}] is {v!r}): query ids must be of one kind")
    elif q.dtype.kind not in "biufcUS":
        raise InvalidInputError(f"qid must hold integers, numbers or strings, got dtype {q.dtype}")


def query_rows(n: int, qid=None, group=None) -> list:
    """Row indices of each query (arrays, in query order) for ``n`` rows, from exactly one of
    ``qid`` (a query id per row) or ``group`` (sizes of consecutive blocks, summing to n).

    InvalidInputError naming the argument: both or neither given, n not an integer >= 0, a
    qid array whose length is not n or whose ids are not comparable (None, NaN, numbers mixed
    with strings), a group vector with a size < 1, above n or not an integer, or that does not
    sum to n (checked without int64 wrap-around: sizes of 2**63 - 1 do not sum to 6).
    """
    n = check_int(n, "n (number of rows)", 0)
    if (qid is None) == (group is None):
        raise InvalidInputError("give exactly one of qid (a query id per row) or group (sizes "
                                "of consecutive queries)")
    if qid is not None:
        q = np.asarray(qid)
        if q.ndim != 1 or q.shape[0] != n:
            raise InvalidInputError(f"qid has {q.shape[0] if q.ndim == 1 else q.shape} entries but "
                                    f"X has {n} rows: one query id per row")
        _check_qid(q)
        if n == 0:
            return []
        change = np.flatnonzero(q[1:] != q[:-1]) + 1
        starts = np.concatenate([[0], change])
        if np.unique(q[starts]).size == starts.size:      # consecutive blocks: slices
            stops = np.concatenate([change, [n]])
            return [np.arange(a, b) for a, b in zip(starts, stops)]
        _, first, inverse = np.unique(q, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")          # queries in order of their first row
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        key = rank[inverse.ravel()]
        rows = np.argsort(key, kind="stable")
        bounds = np.searchsorted(key[rows], np.arange(order.size + 1))
        return [rows[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    g = np.asarray(group)
    if g.ndim != 1 or g.size == 0:
        raise InvalidInputError(f"group must be a 1-D array of query sizes, got shape {g.shape}")
    if g.dtype.kind not in "iu":
        if g.dtype.kind != "f" or not np.all(np.isfinite(g)) or np.any(g != np.round(g)):
            raise InvalidInputError(f"group must hold integer query sizes, got dtype {g.dtype}")
    # compare in the array's own type before any cast: 2**64 - 1 (uint64) or 1e19 (float)
    # must not wrap to a negative int64, and sizes above n must not wrap their sum back to n
    if g.min() < 1:
        k = int(np.argmin(g))
        raise InvalidInputError(f"group[{k}] = {g[k].item()!r}: every query needs at least one "
                                "row")
    if g.max() > n:
        k = int(np.argmax(g))
        raise InvalidInputError(f"group[{k}] = {g[k].item()!r} is more rows than X has ({n}): "
                                "the sizes of consecutive queries must add up to the number "
                                "of rows")
    if g.shape[0] > n:
        raise InvalidInputError(f"group has {g.shape[0]} queries of at least one row each but X "
                                f"has {n} rows")
    g = g.astype(np.int64)            # each size in 1..n and at most n of them: no overflow
    if int(g.sum()) != n:
        raise InvalidInputError(f"group sums to {int(g.sum())} but X has {n} rows: the sizes of "
                                "consecutive queries must add up to the number of rows")
    bounds = np.concatenate([[0], np.cumsum(g)])
    return [np.arange(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


def _take(X, rows):
    if rows.size and rows[-1] - rows[0] + 1 == rows.size:   # consecutive: a view / slice
        return X[int(rows[0]):int(rows[-1]) + 1]
    return X[rows]


def split_queries(X, y=None, *, qid=None, group=None):
    """(Xs, ys): per-query matrices (rows of X, sparse stays sparse) and grades (None without
    y), from flat X (n x f) with ``qid`` or ``group`` (see :func:`query_rows`).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(10.0).reshape(5, 2); y = [2, 0, 1, 1, 0]
    >>> Xs, ys = split_queries(X, y, group=[3, 2])
    >>> [x.shape for x in Xs], [list(g) for g in ys]
    ([(3, 2), (2, 2)], [[2, 0, 1], [1, 0]])
    """
    n = _n_rows(X)
    if sp.issparse(X):
        X = X.tocsr()
    rows = query_rows(n, qid=qid, group=group)
    Xs = [_take(X, r) for r in rows]
    if y is None:
        return Xs, None
    g = np.asarray(y)
    if g.ndim != 1 or g.shape[0] != n:
        raise InvalidInputError(f"y has {g.shape[0] if g.ndim == 1 else g.shape} entries but X has "
                                f"{n} rows: one grade per row")
    return Xs, [g[r] for r in rows]


def join_scores(scores, n: int, *, qid=None, group=None) -> np.ndarray:
    """Per-query score arrays (in :func:`query_rows` order) back into one array over the n
    rows, in the rows' original order (what LightGBM's ``predict`` returns): out[rows_q] =
    scores[q]. One finite score array per query, of its number of rows: InvalidInputError
    naming ``scores`` (and the query) otherwise, never a broadcast or an unfilled row."""
    rows = query_rows(n, qid=qid, group=group)
    if isinstance(scores, (str, bytes)) or not hasattr(scores, "__len__"):
        raise InvalidInputError(f"scores must be a list of per-query score arrays, got "
                                f"{type(scores).__name__}")
    if len(scores) != len(rows):
        raise InvalidInputError(f"scores has {len(scores)} score arrays for {len(rows)} queries "
                                "(one per query)")
    out = np.empty(int(n))
    for q, (r, s) in enumerate(zip(rows, scores)):
        out[r] = check_scores(s, f"scores[{q}]", r.shape[0], index=q)
    return out
