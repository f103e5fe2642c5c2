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

__all__ = ["MAX_ABS_FEATURE", "MAX_SIZE_JOINT_FEATURE", "check_index_arrays", "check_matrix", "check_csr", "check_values", "check_vector",
           "check_labels", "check_scores", "check_grades", "check_same_length", "check_score_rows",
           "check_groups", "check_propensities", "check_probability_matrix", "check_permutation",
           "check_finite_result", "check_flags"]

_MAX_INDEX = np.iinfo(np.int64).max
#: Largest weight vector a task sizes from the data (2**28 float64 = 2 GiB): a matrix that
#: declares 10**12 columns is refused instead of ending in MemoryError.
MAX_SIZE_JOINT_FEATURE = 2 ** 28


def _err(name, msg, index):
    return InvalidInputError(f"{name}: {msg}", index)


def _as_array(values, name, what, dtype=None, index=None) -> np.ndarray:
    """``np.asarray(values, dtype)``; InvalidInputError "name: not <what> (...)" when numpy
    cannot make an array of it (ragged nesting, an object that refuses conversion)."""
    try:
        return np.asarray(values, dtype=dtype)
    except (ValueError, TypeError) as exc:
        raise _err(name, f"not {what} ({exc})", index) from None


def check_values(data, name: str, index: int | None = None,
                 limit: float = MAX_ABS_FEATURE, *, example_of=None) -> None:
    """InvalidInputError naming ``name`` unless every value of the float array ``data`` is
    finite with |value| <= ``limit``. ``example_of(k)``, when given, maps the first bad
    flat position k to its example i: the message then names ``name[i]`` and ``index`` is i
    (one vectorised pass over values stacked from many examples)."""
    if data.size == 0:
        return
    # a float64 limit: a Python float would be cast to data's dtype (NumPy 2's promotion),
    # and 1e50 is inf in float32, so float32 infinities would pass
    limit = np.float64(limit)
    if data.dtype.kind in "fiu":
        # two reductions, no temporary of data's size (on 4x CoNLL a 107 MB |data| array
        # cost 0.25 s of page faults); NaN propagates through min / max and compares False
        with np.errstate(invalid="ignore", over="ignore"):
            if data.min() >= -limit and data.max() <= limit:
                return
    with np.errstate(invalid="ignore", over="ignore"):
        ok = np.abs(data) <= limit  # NaN compares False
    if not ok.all():
        k = int(np.flatnonzero(~ok.ravel())[0])
        v = float(data.ravel()[k])
        what = (f"feature value {v!r} is NaN, infinity or too large (beyond +-{limit:g}, "
                "structpred.errors.MAX_ABS_FEATURE)")
        if example_of is not None:
            i = int(example_of(k))
            raise _err(f"{name}[{i}]", f"{what} in example {i}", i)
        raise _err(name, what, index)


def _real_dtype(arr, name, index):
    if arr.dtype.kind not in "biuf":
        raise _err(name, f"features must be real numbers, got dtype {arr.dtype}", index)


def check_index_arrays(indptr, indices, n_rows: int, n_cols: int, name: str,
                       index: int | None = None, *, column_word: str = "column") -> None:
    """InvalidInputError naming ``name`` unless (indptr, indices) is a valid compressed-row
    structure of an n_rows x n_cols matrix: 1-D integer arrays, indptr of length n_rows + 1
    rising from 0 to len(indices), every index in [0, n_cols). Run before any compiled code
    reads them (a bad index there is memory corruption, not an exception)."""
    ptr, ind = np.asarray(indptr), np.asarray(indices)
    if ptr.ndim != 1 or ind.ndim != 1 or ptr.dtype.kind not in "iu" or ind.dtype.kind not in "iu":
        raise _err(name, "malformed CSR matrix (indptr, indices and data do not fit its shape)",
                   index)
    if ptr.shape[0] != n_rows + 1 or ptr[0] != 0 or ptr[-1] != ind.shape[0] \
            or (n_rows and np.any(ptr[1:] < ptr[:-1])):
        raise _err(name, f"malformed CSR row pointer (indptr must rise from 0 to "
                   f"nnz={ind.shape[0]} in {n_rows + 1} entries)", index)
    if ind.size:
        lo, hi = int(ind.min()), int(ind.max())
        if lo < 0 or hi >= n_cols:
            k = int(np.flatnonzero((ind < 0) | (ind >= n_cols))[0])
            row = int(np.searchsorted(ptr, k, side="right") - 1)
            err = _err(name, f"{column_word} index {int(ind[k])} (row {row}) outside the "
                       f"matrix's {n_cols} columns", index)
            err.row, err.col = row, int(ind[k])   # for callers that name the row
            raise err


def check_csr(x, name: str, index: int | None = None, limit: float = MAX_ABS_FEATURE, *,
              rows_are_examples: bool = False):
    """A canonical CSR copy-free view of the scipy sparse matrix ``x`` (any format): checks
    the index arrays *before* any scipy routine reads them (a column index of -1 or n_cols
    must never reach compiled code), then values, then sorts/deduplicates if needed.
    ``rows_are_examples``: a bad column index is reported as ``name[row]`` with that row
    as the error's ``index`` (X of a feature-vector task, one row per example)."""
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
            and isinstance(data, np.ndarray)) or data.ndim != 1 or data.shape != ind.shape:
        raise _err(name, "malformed CSR matrix (indptr, indices and data do not fit its shape)",
                   index)
    try:
        check_index_arrays(ptr, ind, n_rows, n_cols, name, index)
    except InvalidInputError as exc:
        if rows_are_examples and hasattr(exc, "row"):
            raise _err(f"{name}[{exc.row}]", f"column index {exc.col} (row {exc.row}) outside "
                       f"the matrix's {n_cols} columns", exc.row) from None
        raise
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
        arr = _as_array(X, name, "a matrix", index=index)
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
                 min_length: int = 0, length_of: str | None = None,
                 index: int | None = None) -> np.ndarray:
    """A 1-D float64 array from ``v``: real dtype, ``length`` entries when given (at least
    ``min_length``), finite when ``finite`` (NaN always refused), within [low, high].
    ``length_of`` names what fixes ``length`` (another argument): a mismatch names both."""
    arr = _as_array(v, name, "a vector of numbers", index=index)
    if arr.ndim != 1:
        raise _err(name, f"expected a 1-D array, got shape {arr.shape}", index)
    if arr.size and arr.dtype.kind not in "biuf":
        raise _err(name, f"values must be real numbers, got dtype {arr.dtype}", index)
    arr = arr.astype(np.float64)
    if length is not None and arr.shape[0] != length:
        per = f" (one per entry of {length_of})" if length_of else ""
        raise _err(name, f"has {arr.shape[0]} entries, expected {length}{per}", index)
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
    arr = _as_array(y, name, "an array of labels", index=index)
    if arr.ndim != 1:
        raise _err(name, f"expected a 1-D array of labels, got shape {arr.shape}", index)
    if length is not None and arr.shape[0] != length:
        raise _err(name, f"has {arr.shape[0]} labels, expected {length}", index)
    if arr.shape[0] < min_length:
        raise _err(name, f"has {arr.shape[0]} labels, at least {min_length} needed", index)
    if not arr.size:
        return arr.astype(np.int64)
    top = "n_labels-1" if n_classes is None else str(n_classes - 1)
    at = (lambda k: k) if index is None else (lambda k: index)  # noqa: E731
    if arr.dtype == object:
        for k, v in enumerate(arr):
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
                raise _err(name, f"label {v!r} at position {k} is not an integer 0..{top}", at(k))
        arr = arr.astype(np.float64)
    if arr.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(arr) | (arr != np.round(arr)) | (np.abs(arr) > 2.0**62)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise _err(name, f"label {float(arr[k])!r} at position {k} is not an integer "
                       f"0..{top}", at(k))
    elif arr.dtype.kind not in "iub":
        raise _err(name, f"labels must be integers 0..{top}, got dtype {arr.dtype} "
                   f"({arr.flat[0]!r} at position 0)", at(0))
    if arr.dtype.kind == "u" and arr.max() > _MAX_INDEX:
        raise _err(name, f"label {arr.max()} is out of range", index)
    out = arr.astype(np.int64)
    if out.min() < 0:
        k = int(np.argmin(out))
        raise _err(name, f"negative label {int(out[k])} at position {k}; labels are 0..{top}", at(k))
    if n_classes is not None and out.max() >= n_classes:
        k = int(np.argmax(out))
        raise _err(name, f"label {int(out[k])} at position {k} is outside 0..{top}", at(k))
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


def check_score_rows(S: np.ndarray, what: str = "example") -> None:
    """InvalidInputError naming the first row of S (one row per example) holding a score
    w·Ψ(x, y) that is not finite: the weights or features are too large for float64 and
    log Z(x; w) = log Σ_y exp(w·Ψ(x, y)) would be inf/NaN. The error's ``index`` is the row."""
    ok = np.isfinite(S)
    if ok.all():
        return
    rows = ok.reshape(ok.shape[0], -1).all(axis=1) if ok.ndim > 1 else ok
    i = int(np.flatnonzero(~rows)[0])
    raise InvalidInputError(f"{what} {i}: the score w·Ψ(x, y) overflows float64 (weights or "
                            "features too large); log Z(x; w) would be inf/NaN", i)


def check_groups(groups, name: str, n: int, *, min_groups: int = 2,
                 length_of: str | None = None):
    """(labels, K): ``groups`` (one label per item: integers, strings or finite numbers) as
    int64 codes 0..K-1 in sorted label order, and the number K of distinct groups. Refused
    with InvalidInputError naming ``name``: not 1-D of length ``n``, a NaN / None / mixed-type
    label, or fewer than ``min_groups`` groups (a group-fairness measure needs two).
    ``length_of`` names the argument that fixes n (named too on a length mismatch)."""
    g = _as_array(groups, name, "an array of group labels")
    if g.ndim != 1 or g.shape[0] != n:
        per = f" of {length_of}" if length_of else ""
        raise InvalidInputError(f"{name} must hold one group label per item{per} ({n}), got "
                                f"shape {g.shape}")
    if g.dtype.kind == "f" and not np.all(np.isfinite(g)):
        k = int(np.flatnonzero(~np.isfinite(g))[0])
        raise _err(name, f"group label {float(g[k])!r} at position {k} is not a label", None)
    if g.dtype.kind not in "biufUS":
        bad = [k for k, v in enumerate(g.tolist())
               if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, str, np.integer))]
        if bad:
            raise _err(name, f"group label {g[bad[0]]!r} at position {bad[0]} is not an integer "
                       "or a string", None)
        if len({type(v) for v in g.tolist()}) > 1:
            raise _err(name, "group labels mix integers and strings", None)
    _, inv = np.unique(g, return_inverse=True)
    K = int(inv.max()) + 1 if n else 0
    if K < min_groups:
        if min_groups == 2 and K == 1:
            raise InvalidInputError(f"{name} has a single group; a group-fairness measure or "
                                    "constraint needs at least two")
        raise InvalidInputError(f"{name} has {K} group(s); at least {min_groups} needed")
    return inv.astype(np.int64).ravel(), K


def check_propensities(values, name: str = "propensity", n: int | None = None, *,
                       log: bool = False) -> np.ndarray:
    """Log-propensities log p_i (float64) of logged actions: ``values`` are propensities
    p_i = π_0(y_i|x_i) in (0, 1], or, when ``log``, log-propensities in (−inf, 0]. One per
    logged example (``n`` of them when given). InvalidInputError naming the first bad
    example (its ``index``): 0, negative, > 1, NaN or inf (a propensity of 0 gives an
    infinite importance weight)."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name} must be a 1-D sequence of numbers ({exc})") from None
    if arr.ndim != 1 or (n is not None and arr.shape[0] != n):
        raise InvalidInputError(f"{name} must have one value per logged example ({n}), got "
                                f"shape {arr.shape}")
    if log:
        bad = np.flatnonzero(~((arr <= 0) & np.isfinite(arr)))
        if bad.size:
            i = int(bad[0])
            raise InvalidInputError(f"{name} of example {i} is {arr[i]}; it must be finite and "
                                    "<= 0 (a propensity in (0, 1])", i)
        return arr
    bad = np.flatnonzero(~((arr > 0) & (arr <= 1)))   # NaN fails both comparisons
    if bad.size:
        i = int(bad[0])
        raise InvalidInputError(f"{name} of example {i} is {arr[i]}; a propensity must be in "
                                "(0, 1]", i)
    return np.log(arr)


def check_probability_matrix(P, name: str = "P", *, square: bool = True,
                             doubly_stochastic: bool = False, stochastic_rows: bool = False,
                             tol: float = 1e-6, min_size: int = 1) -> np.ndarray:
    """A 2-D float64 matrix of probabilities (entries finite, in [0, 1] up to ``tol``):
    square when ``square``; rows and columns summing to 1 within ``tol`` when
    ``doubly_stochastic`` (a rank-marginal matrix P[i, j] = P(item i at rank j+1)), rows
    only when ``stochastic_rows`` (P[i, a] = π(a|x_i), a policy over actions).
    At least ``min_size`` rows. InvalidInputError naming ``name`` and the first bad entry,
    row or column."""
    A = _as_array(P, name, "a matrix of numbers", np.float64)
    if A.ndim != 2 or (square and A.shape[0] != A.shape[1]):
        raise _err(name, f"expected a {'square ' if square else ''}matrix, got shape {A.shape}",
                   None)
    if A.shape[0] < min_size:
        raise _err(name, f"has {A.shape[0]} rows, at least {min_size} needed", None)
    bad = ~((A >= -tol) & (A <= 1 + tol))   # NaN fails both
    if bad.any():
        i, j = (int(t) for t in np.argwhere(bad)[0])
        raise _err(name, f"entry [{i}, {j}] is {float(A[i, j])!r}; a probability is finite and "
                   "in [0, 1]", None)
    if (doubly_stochastic or stochastic_rows) and A.size:
        axes = ((1, "row"), (0, "column")) if doubly_stochastic else ((1, "row"),)
        for axis, what in axes:
            s = A.sum(axis=axis)
            off = np.flatnonzero(np.abs(s - 1.0) > tol)
            if off.size:
                k = int(off[0])
                kind = "doubly stochastic" if doubly_stochastic else "a probability per row"
                raise _err(name, f"{what} {k} sums to {float(s[k]):.6g}, not 1: not {kind}", None)
    return A


def check_permutation(order, name: str, n: int | None = None, *, min_length: int = 0,
                      max_length: int | None = None) -> np.ndarray:
    """A ranking given as item indices top first, as an int64 array: 1-D, integers (whole
    floats such as 2.0 count; 1.5, NaN, strings and bools do not), a permutation of 0..n-1
    (n = its length when not given), ``min_length`` to ``max_length`` items. InvalidInputError naming
    ``name`` and the first repeated or out-of-range index."""
    arr = _as_array(order, name, "an array of item indices")
    if arr.ndim != 1:
        raise InvalidInputError(f"{name} must be a permutation of the item indices 0..n-1 "
                                f"(a 1-D array), got shape {arr.shape}")
    if arr.shape[0] < min_length:
        raise _err(name, f"has {arr.shape[0]} entries, at least {min_length} needed", None)
    if max_length is not None and arr.shape[0] > max_length:
        raise _err(name, f"{arr.shape[0]} items, at most {max_length} supported here", None)
    if arr.size and (arr.dtype.kind == "b" or arr.dtype.kind not in "iuf"):
        raise InvalidInputError(f"{name} must be a permutation of the item indices 0..n-1, got "
                                f"dtype {arr.dtype}")
    if arr.dtype.kind == "f" and arr.size:
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise InvalidInputError(f"{name} must be a permutation of the item indices 0..n-1; "
                                    f"entry {k} is {float(arr[k])!r}")
    m = arr.shape[0] if n is None else n
    if arr.shape[0] != m:
        raise InvalidInputError(f"{name} must be a permutation of 0..{m - 1}: it has "
                                f"{arr.shape[0]} entries")
    with np.errstate(invalid="ignore"):
        out = np.where(np.abs(arr) < 2.0 ** 62, arr, -1).astype(np.int64) if arr.size else \
            arr.astype(np.int64)
    if np.array_equal(np.sort(out), np.arange(m)):
        return out
    seen = np.zeros(m, dtype=bool)
    for k, v in enumerate(out.tolist()):
        if v < 0 or v >= m or seen[v]:
            what = "repeats an index" if 0 <= v < m else "is outside 0..n-1"
            raise InvalidInputError(f"{name} must be a permutation of 0..{m - 1}: entry {k} "
                                    f"({arr[k]!r}) {what}")
        seen[v] = True
    return out


def check_finite_result(value, what: str, culprits: str):
    """``value`` (a number, an array, or a tuple of them) if every entry is finite; else InvalidInputError
    saying that ``what`` overflows float64 and naming ``culprits`` (the arguments whose
    magnitudes caused it), instead of returning inf or NaN."""
    parts = value if isinstance(value, (tuple, list)) else (value,)
    arr = np.concatenate([np.ravel(np.asarray(p, dtype=np.float64)) for p in parts]) \
        if parts else np.zeros(0)
    if not np.all(np.isfinite(arr)):
        bad = float(arr.ravel()[np.flatnonzero(~np.isfinite(arr.ravel()))[0]])
        raise InvalidInputError(f"{what} is not finite ({bad!r}): {culprits} too large or too "
                                "small for float64")
    return value


def check_flags(values, name: str, n: int | None = None, *, length_of: str | None = None,
                min_length: int = 0) -> np.ndarray:
    """A 1-D bool array of yes/no flags (e.g. "protected" per candidate): bools, or numbers
    that are exactly 0 or 1; ``n`` of them when given (``length_of`` names what fixes n).
    InvalidInputError naming ``name`` and the first entry that is not a flag (2, 0.5, NaN,
    a string, None): ``bool(x)`` would silently read each of those as True."""
    arr = _as_array(values, name, "an array of flags")
    if arr.ndim != 1:
        raise _err(name, f"expected a 1-D array of flags, got shape {arr.shape}", None)
    if n is not None and arr.shape[0] != n:
        per = f" (one per entry of {length_of})" if length_of else ""
        raise _err(name, f"has {arr.shape[0]} flags, expected {n}{per}", None)
    if arr.shape[0] < min_length:
        raise _err(name, f"has {arr.shape[0]} flags, at least {min_length} needed", None)
    if arr.dtype == np.bool_:
        return arr
    if arr.dtype == object:
        bad = [k for k, v in enumerate(arr.tolist())
               if isinstance(v, (str, bytes)) or v is None or not isinstance(v, (bool, int, float,
                                                                               np.number))]
        if bad:
            raise _err(name, f"entry {bad[0]} is {arr[bad[0]]!r}, not a flag (True/False or "
                       "0/1)", None)
        arr = arr.astype(np.float64)
    if arr.size and arr.dtype.kind not in "iuf":
        raise _err(name, f"flags must be True/False or 0/1, got dtype {arr.dtype}", None)
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(~((arr == 0) | (arr == 1)))
    if bad.size:
        k = int(bad[0])
        raise _err(name, f"entry {k} is {arr[k]!r}, not a flag (True/False or 0/1)", None)
    return arr.astype(bool)
