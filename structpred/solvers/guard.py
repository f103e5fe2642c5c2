"""The checks every solver applies, written once: oracle answers and solver parameters.

``check_answer`` runs on every answer of the oracle backend (full pass, block or rows), inside
``SolverRun``, so no solver can skip it. For the m examples of the call it checks, in one
compiled loop over the answer (O(nonzeros of δΨ), no Python per example):

* L has m finite entries, none negative (Δ >= 0);
* δΨ is an m x d CSR matrix with finite entries and column indices in 0..d-1 (so that no
  later kernel reads out of bounds);
* the returned output is at least as violated as the example's own label: with
  H_i = Δ_i - w·δΨ_i (margin) or Δ_i (1 - w·δΨ_i) (slack), and H_i(y_i) = 0, an exact oracle
  gives H_i >= 0. H_i < -1e-6·s_i, s_i = 1 + |Δ_i| + Σ_j |δΨ_ij w_j| (the size of the terms
  summed), is an error; -1e-6·s_i <= H_i < -1e-9·s_i (rounding in the task's own arithmetic
  at most) an ``OracleWarning``, as SVM-struct warns. Skipped for approximate oracles.

A failed check raises ``OracleError`` naming the task, the example and the call.

``check_solver_params`` (written in ``structpred.boundary.params``, re-exported here for the
solvers) validates C, eps and max_iter for every solver (``StructuredSVM.fit`` calls it too,
before any work): C must lie in (0, MAX_C].
"""
from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from ..jit import njit

from ..boundary.params import MAX_C, check_solver_params
from ..errors import OracleError

__all__ = ["check_answer", "check_solver_params", "MAX_C", "OracleWarning"]

_ERROR_TOL = 1e-6
_WARN_TOL = 1e-9


class OracleWarning(UserWarning):
    """The oracle returned a constraint weaker than one already known: a sign of a bug."""


@njit(cache=True, nogil=True, _nrt=False)   # allocates nothing: no reference counting emitted
def _scan(data, indices, indptr, L, w, d, slack, exact, margins):
    """(code, row, value) of the first fault in an oracle answer (code 0: none); writes
    margins[i] = δΨ_i·w, summed in row order as scipy's CSR product does."""
    warn_row = -1
    warn_value = 0.0
    for i in range(L.shape[0]):
        li = L[i]
        if not np.isfinite(li):
            return 1, i, li
        if li < -_WARN_TOL:
            return 2, i, li
        p0 = indptr[i]
        p1 = indptr[i + 1]
        if p1 < p0:
            return 7, i, 0.0
        s = 0.0
        a = 0.0
        for p in range(p0, p1):
            j = indices[p]
            if j < 0 or j >= d:
                return 4, i, float(j)
            t = data[p] * w[j]
            s += t
            a += abs(t)
        if not np.isfinite(a):          # a NaN or inf entry (0·inf is NaN too), or overflow
            for p in range(p0, p1):
                if not np.isfinite(data[p]):
                    return 3, i, data[p]
            return 5, i, s
        margins[i] = s
        if exact:
            if slack:
                h = li * (1.0 - s)
                size = 1.0 + abs(li) * (1.0 + a)
            else:
                h = li - s
                size = 1.0 + abs(li) + a
            if h < -_ERROR_TOL * size:
                return 6, i, h
            if h < -_WARN_TOL * size and warn_row < 0:
                warn_row = i
                warn_value = h
    if warn_row >= 0:
        return 8, warn_row, warn_value
    return 0, -1, 0.0


def _example(index, row: int) -> int:
    """The example of row ``row`` of an answer: ``index`` None (rows are examples 0..m-1),
    an int (the first example) or an array of example indices."""
    if index is None:
        return int(row)
    if isinstance(index, (int, np.integer)):
        return int(index) + int(row)
    return int(index[row])


def check_answer(D, L, w, *, d: int, m: int, index=None, rescaling: str = "margin",
                 exact: bool = True, task: str = "the task", where: str = ""):
    """(D, L, margins): D and L as a float64 CSR matrix and float64 vector after the checks in
    the module docstring, and margins = D @ w (the same floats as scipy's product, so solvers
    reuse it); ``m`` the number of examples asked for, ``index`` maps row r to its example
    (see ``_example``), ``task`` and ``where`` go into the messages. Raises OracleError."""
    who = f"{task}'s oracle"
    L = np.asarray(L, dtype=np.float64) if not isinstance(L, np.ndarray) or L.dtype != np.float64 else L
    if L.ndim != 1 or L.shape[0] != m:
        raise OracleError(f"{who} returned {L.shape} losses for {m} examples{where}")
    if not sp.issparse(D):
        D = np.asarray(D, dtype=np.float64)
        if D.ndim != 2:
            raise OracleError(f"{who} returned a δΨ of shape {D.shape}, expected ({m}, {d}){where}")
    if D.shape != (m, d):
        raise OracleError(f"{who} returned a δΨ of shape {D.shape}, expected ({m}, {d}): "
                          f"{m} examples x size_joint_feature{where}")
    if not (isinstance(D, sp.csr_matrix) and D.dtype == np.float64):
        D = sp.csr_matrix(D, dtype=np.float64)
    if D.indptr.shape[0] != m + 1 or D.indptr[0] != 0 or D.indptr[-1] > D.data.shape[0] \
            or D.indices.shape[0] < D.indptr[-1]:
        raise OracleError(f"{who} returned a malformed CSR δΨ (indptr does not match its "
                          f"data){where}")
    margins = np.empty(m)
    code, row, value = _scan(D.data, D.indices, D.indptr, np.ascontiguousarray(L),
                             np.ascontiguousarray(w, dtype=np.float64), int(d),
                             rescaling == "slack", bool(exact), margins)
    if code == 0:
        return D, L, margins
    i = _example(index, row)
    if code == 8:
        what = ""
    elif code == 1:
        what = f"a non-finite loss Δ = {value!r}"
    elif code == 2:
        what = f"a negative loss Δ = {value:.6g} (a loss is >= 0)"
    elif code == 3:
        what = f"a non-finite δΨ entry ({value!r})"
    elif code == 4:
        what = f"a δΨ column index {int(value)} outside 0..{d - 1}"
    elif code == 5:
        what = f"a δΨ whose product with w is not finite ({value!r}: overflow)"
    elif code == 6:
        what = (f"an output less violated than the example's own label (violation "
                f"{value:.6g} < 0 = the label's): the oracle does not return the most "
                "violated output")
    else:
        what = "a malformed CSR δΨ row (decreasing indptr)"
    if code == 8:
        warnings.warn(f"{who}: for example {i} the returned output is slightly less violated "
                      f"than the example's own label (violation {value:.3g}){where}; the oracle "
                      "may not be exact", OracleWarning, stacklevel=5)
        return D, L, margins
    raise OracleError(f"{who} returned, for example {i}, {what}{where}", index=i)
