"""Boundary checks on arrays: feature matrices (dense and CSR), labels, scores, grades.

Every function returns a canonical array that code past the boundary (numba kernels above
all) may trust, or raises :class:`structpred.errors.InvalidInputError` whose message starts
with the argument's name (``X[3]``, ``query 2``, ``scores``) and whose ``index`` attribute is
the example index when one is given.

Canonical forms: a dense matrix is C-contiguous float64; a CSR matrix has float64 data, int32
or int64 ``indices``/``indptr`` of one dtype, ``indptr`` rising from 0 to nnz, every column
index in ``[0, n_cols)``, and column indices sorted without duplicates within each row
(duplicates are summed, as scipy does). Feature values are finite and at most
``MAX_ABS_FEATURE`` in magnitude (beyond it squared norms and Gram matrices overflow float64).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..errors import MAX_ABS_FEATURE, InvalidInputError

__all__ = ["MAX_ABS_FEATURE", "MAX_SIZE_JOINT_FEATURE", "check_matrix", "check_csr", "check_values", "check_vector",
           "check_labels", "check_scores", "check_grades", "check_same_length"]

_MAX_INDEX = np.iinfo(np.int64).max
#: Largest weight vector a task sizes from the data (2**28 float64 = 2 GiB): a matrix that
#: declares 10**12 columns is refused instead of ending in MemoryError.
MAX_SIZE_JOINT_FEATURE = 2 ** 28


def _err(name, msg, index):
    return InvalidInputError(f"{name}: {msg}", index)


def check_values(data, name: str, index: int | None = None,
                 limit: float = MAX_ABS_FEATURE) -> None:
    """InvalidInputError naming ``name`` (and the first bad position) unless every value of
    the float array ``data`` is finite with |value| <= ``limit``."""
    if data.size == 0:
        return
    with np.errstate(invalid="ignore", over="ignore"):
        ok = np.abs(data) <= limit  # NaN compares False
    if not ok.all():
        k = int(np.flatnonzero(~ok.ravel())[0])
        v = float(data.ravel()[k])
        raise _err(name, f"value {v!r} is NaN, infinite or beyond +-{limit:g} "
                   "(structpred.errors.MAX_ABS_FEATURE)", index)


def _real_dtype(arr, name, index):
    if arr.dtype.kind not in "biuf":
        raise _err(name, f"features must be real numbers, got dtype {arr.dtype}", index)


def check_csr(x, name: str, index: int | None = None, limit: float = MAX_ABS_FEATURE):
    """A canonical CSR copy-free view of the scipy sparse matrix ``x`` (any format): checks
    the index arrays *before* any scipy routine reads them (a column index of -1 or n_cols
    must never reach compiled code), then values, then sorts/deduplicates if needed."""
    if x.ndim != 2:
        raise _err(name, f"expected a 2-D matrix, got shape {x.shape}", index)
    _real_dtype(x, name, index)
    n_rows, n_cols = x.shape
    if x.format != "csr":
        if x.format == "coo":
            coo = x
        else:
            try:
                coo = x.tocoo(copy=False)
            except (ValueError, IndexError, TypeError) as exc:
                raise _err(name, f"malformed sparse matrix ({exc})", index) from None
        for what, arr, size in (("row", coo.row, n_rows), ("column", coo.col, n_cols)):
            if arr.size and (arr.min() < 0 or arr.max() >= size):
                bad = int(arr.min()) if arr.min() < 0 else int(arr.max())
                raise _err(name, f"{what} index {bad} outside the matrix's shape {x.shape}", index)
        check_values(np.asarray(coo.data, dtype=np.float64), name, index, limit)
        x = sp.csr_matrix((np.asarray(coo.data, np.float64), (coo.row, coo.col)), shape=x.shape)
        x.sum_duplicates()
        return x
    ptr, ind, data = x.indptr, x.indices, x.data
    if not (isinstance(ptr, np.ndarray) and isinstance(ind, np.ndarray)
            and isinstance(data, np.ndarray)) or ptr.ndim != 1 or ind.ndim != 1 \
            or data.ndim != 1 or ptr.shape[0] != n_rows + 1 or data.shape != ind.shape \
            or ptr.dtype.kind not in "iu" or ind.dtype.kind not in "iu":
        raise _err(name, "malformed CSR matrix (indptr, indices and data do not fit its shape)",
                   index)
    if ptr[0] != 0 or ptr[-1] != ind.shape[0] or (n_rows and np.any(ptr[1:] < ptr[:-1])):
        raise _err(name, f"malformed CSR row pointer (indptr must rise from 0 to "
                   f"nnz={ind.shape[0]})", index)
    if ind.size:
        lo, hi = int(ind.min()), int(ind.max())
        if lo < 0 or hi >= n_cols:
            bad = lo if lo < 0 else hi
            raise _err(name, f"column index {bad} outside the matrix's {n_cols} columns", index)
    if data.dtype != np.float64:
        data = data.astype(np.float64)
    check_values(data, name, index, limit)
    if ind.dtype != ptr.dtype or ind.dtype.kind != "i":
        idx_t = np.int64 if max(ptr[-1], n_cols) > np.iinfo(np.int32).max else np.int32
        ind, ptr = ind.astype(idx_t), ptr.astype(idx_t)
    if data is not x.data or ind is not x.indices or ptr is not x.indptr:
        x = sp.csr_matrix((data, ind, ptr), shape=x.shape)
    if ind.size and not x.has_canonical_format:
        x = x.copy()
        x.sum_duplicates()  # sorts indices too
    return x


def check_matrix(X, name: str, n_features: int | None = None, *, allow_sparse: bool = True,
                 min_rows: int = 1, index: int | None = None,
                 limit: float = MAX_ABS_FEATURE):
    """A canonical feature matrix (C-contiguous float64 ndarray, or canonical CSR when ``X``
    is sparse and ``allow_sparse``) from ``X``: 2-D, real dtype (bools count as 0/1), at
    least ``min_rows`` rows, ``n_features`` columns when given, finite values with |x| <=
    ``limit``, valid CSR index arrays. InvalidInputError naming ``name`` otherwise."""
    if sp.issparse(X):
        if not allow_sparse:
            raise _err(name, "a dense matrix is required here, got a sparse matrix", index)
        out = check_csr(X, name, index, limit)
    else:
        try:
            arr = np.asarray(X)
        except (ValueError, TypeError) as exc:
            raise _err(name, f"not a matrix ({exc})", index) from None
        if arr.ndim != 2:
            raise _err(name, f"expected a 2-D matrix, got an array of shape {arr.shape}", index)
        _real_dtype(arr, name, index)
        out = np.ascontiguousarray(arr, dtype=np.float64)
        check_values(out, name, index, limit)
    if out.shape[0] < min_rows:
        raise _err(name, f"has {out.shape[0]} rows, at least {min_rows} needed", index)
    if n_features is not None and out.shape[1] != n_features:
        raise _err(name, f"has {out.shape[1]} features (columns), expected {n_features}", index)
    return out


def check_vector(v, name: str, length: int | None = None, *, finite: bool = True,
                 low: float | None = None, high: float | None = None,
                 min_length: int = 0, index: int | None = None) -> np.ndarray:
    """A 1-D float64 array from ``v``: real dtype, ``length`` entries when given (at least
    ``min_length``), finite when ``finite`` (NaN always refused), within [low, high]."""
    try:
        arr = np.asarray(v)
    except (ValueError, TypeError) as exc:
        raise _err(name, f"not a vector of numbers ({exc})", index) from None
    if arr.ndim != 1:
        raise _err(name, f"expected a 1-D array, got shape {arr.shape}", index)
    if arr.size and arr.dtype.kind not in "biuf":
        raise _err(name, f"values must be real numbers, got dtype {arr.dtype}", index)
    arr = arr.astype(np.float64)
    if length is not None and arr.shape[0] != length:
        raise _err(name, f"has {arr.shape[0]} entries, expected {length}", index)
    if arr.shape[0] < min_length:
        raise _err(name, f"has {arr.shape[0]} entries, at least {min_length} needed", index)
    if arr.size:
        if np.isnan(arr).any() or (finite and not np.isfinite(arr).all()):
            k = int(np.flatnonzero(~np.isfinite(arr))[0])
            raise _err(name, f"entry {k} is {float(arr[k])!r}; values must be finite", index)
        if low is not None and arr.min() < low:
            k = int(np.argmin(arr))
            raise _err(name, f"entry {k} is {float(arr[k])!r}, below the minimum {low:g}", index)
        if high is not None and arr.max() > high:
            k = int(np.argmax(arr))
            raise _err(name, f"entry {k} is {float(arr[k])!r}, above the maximum {high:g}", index)
    return arr


def check_labels(y, name: str, n_classes: int | None = None, *, length: int | None = None,
                 min_length: int = 0, index: int | None = None) -> np.ndarray:
    """A 1-D int64 array of class labels in ``[0, n_classes)`` (``n_classes`` None: any
    label >= 0). Integer-valued floats are accepted; 1.5, NaN, bools-as-strings and strings
    are refused."""
    try:
        arr = np.asarray(y)
    except (ValueError, TypeError) as exc:
        raise _err(name, f"not an array of labels ({exc})", index) from None
    if arr.ndim != 1:
        raise _err(name, f"expected a 1-D array of labels, got shape {arr.shape}", index)
    if length is not None and arr.shape[0] != length:
        raise _err(name, f"has {arr.shape[0]} labels, expected {length}", index)
    if arr.shape[0] < min_length:
        raise _err(name, f"has {arr.shape[0]} labels, at least {min_length} needed", index)
    if not arr.size:
        return arr.astype(np.int64)
    top = "n_labels-1" if n_classes is None else str(n_classes - 1)
    if arr.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(arr) | (arr != np.round(arr)) | (np.abs(arr) > 2.0**62)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise _err(name, f"label {float(arr[k])!r} at position {k} is not an integer "
                       f"0..{top}", index)
    elif arr.dtype.kind not in "iub":
        raise _err(name, f"labels must be integers 0..{top}, got dtype {arr.dtype}", index)
    if arr.dtype.kind == "u" and arr.max() > _MAX_INDEX:
        raise _err(name, f"label {arr.max()} is out of range", index)
    out = arr.astype(np.int64)
    if out.min() < 0:
        k = int(np.argmin(out))
        raise _err(name, f"negative label {int(out[k])} at position {k}; labels are 0..{top}", index)
    if n_classes is not None and out.max() >= n_classes:
        k = int(np.argmax(out))
        raise _err(name, f"label {int(out[k])} at position {k} is outside 0..{top}", index)
    return out


def check_scores(s, name: str, length: int | None = None, *,
                 index: int | None = None) -> np.ndarray:
    """A 1-D float64 array of finite scores (``length`` of them when given)."""
    return check_vector(s, name, length, finite=True, index=index)


def check_grades(g, name: str, length: int | None = None, *, max_grade: float | None = None,
                 integer: bool = False, index: int | None = None) -> np.ndarray:
    """A 1-D float64 array of relevance grades: finite, >= 0, <= ``max_grade`` when given,
    whole numbers when ``integer``."""
    arr = check_vector(g, name, length, finite=True, low=0.0, high=max_grade, index=index)
    if integer and arr.size and np.any(arr != np.round(arr)):
        k = int(np.flatnonzero(arr != np.round(arr))[0])
        raise _err(name, f"grade {float(arr[k])!r} at position {k} is not a whole number", index)
    return arr


def check_same_length(a, b, name_a: str, name_b: str) -> int:
    """len(a) if ``a`` and ``b`` have the same length; InvalidInputError naming both."""
    try:
        la, lb = len(a), len(b)
    except TypeError as exc:
        raise InvalidInputError(f"{name_a} and {name_b} must be sequences ({exc})") from None
    if la != lb:
        raise InvalidInputError(f"{name_a} has {la} entries but {name_b} has {lb}")
    return la
