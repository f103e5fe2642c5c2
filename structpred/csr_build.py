"""CSR matrices from arrays already known to be valid, without scipy's per-call validation.

``csr_from_arrays(data, indices, indptr, shape)`` is ``scipy.sparse.csr_matrix((data, indices,
indptr), shape=shape)`` minus the constructor's O(1)-but-slow checks (about 40 µs a call),
for callers that build or check the arrays themselves (the sequence task's δΨ rows, the
stacked sequence sets). It is chosen once at import: the bare form only if it gives the same
matrix as scipy's constructor on this scipy (same attributes, same products, same shape,
sorted-index flag), else the constructor itself.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["csr_from_arrays", "checked_csr", "bare_csr"]


def checked_csr(data, indices, indptr, shape):
    """scipy's constructor: validates the arrays."""
    return sp.csr_matrix((data, indices, indptr), shape=shape)


def bare_csr(data, indices, indptr, shape):
    """A csr_matrix holding the arrays as given (no validation, no copy)."""
    m = sp.csr_matrix.__new__(sp.csr_matrix)
    m.data, m.indices, m.indptr, m._shape, m.maxprint = data, indices, indptr, shape, 50
    return m


def _pick():
    """``bare_csr`` if it makes the same matrix as ``checked_csr`` on this scipy, else
    ``checked_csr``."""
    try:
        parts = (np.array([1.0, -2.0, 3.0]), np.array([0, 2, 1], dtype=np.int32),
                 np.array([0, 2, 3], dtype=np.int32), (2, 3))
        a, b = checked_csr(*parts), bare_csr(*parts)
        if (set(vars(a)) == set(vars(b)) and np.array_equal(b @ np.arange(3.0), a @ np.arange(3.0))
                and abs(a - b).nnz == 0 and b.nnz == 3 and b.shape == a.shape
                and b.has_sorted_indices == a.has_sorted_indices):
            return bare_csr
    except Exception:   # noqa: BLE001 - any difference: keep scipy's checked constructor
        pass
    return checked_csr


#: the builder in use on this scipy (``bare_csr`` or ``checked_csr``)
csr_from_arrays = _pick()
