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

from ...errors import InvalidInputError

__all__ = ["query_rows", "split_queries", "join_scores"]


def _n_rows(X) -> int:
    shape = getattr(X, "shape", None)
    if shape is None or len(shape) != 2:
        raise InvalidInputError(f"X must be a 2-D documents x features matrix (dense or sparse) "
                                f"when qid or group is given, got {type(X).__name__}"
                                + (f" of shape {shape}" if shape is not None else ""))
    return int(shape[0])


def query_rows(n: int, qid=None, group=None) -> list:
    """Row indices of each query (arrays, in query order) for ``n`` rows, from exactly one of
    ``qid`` (a query id per row) or ``group`` (sizes of consecutive blocks, summing to n).

    InvalidInputError naming the argument: both or neither given, a qid array whose length is
    not n, a group vector with a size < 1 or a non-integer, or that does not sum to n.
    """
    if (qid is None) == (group is None):
        raise InvalidInputError("give exactly one of qid (a query id per row) or group (sizes "
                                "of consecutive queries)")
    if qid is not None:
        q = np.asarray(qid)
        if q.ndim != 1 or q.shape[0] != n:
            raise InvalidInputError(f"qid has {q.shape[0] if q.ndim == 1 else q.shape} entries but "
                                    f"X has {n} rows: one query id per row")
        if q.dtype.kind == "f" and not np.all(np.isfinite(q)):
            raise InvalidInputError(f"qid[{int(np.flatnonzero(~np.isfinite(q))[0])}] is not finite")
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
    g = g.astype(np.int64)
    if g.min() < 1:
        raise InvalidInputError(f"group[{int(np.argmin(g))}] = {int(g.min())}: every query needs "
                                "at least one row")
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
    rows, in the rows' original order (what LightGBM's ``predict`` returns)."""
    out = np.empty(n)
    for r, s in zip(query_rows(n, qid=qid, group=group), scores):
        out[r] = s
    return out
