"""Weighted subtopic loss (Yue & Joachims, ICML 2008) and the greedy subtopic cover.

A query's candidate set has n documents and m subtopics; ``topics`` is the n x m boolean
matrix T with T[d, t] = 1 when document d covers subtopic t. Subtopic t weighs
u_t = Σ_d T[d, t] (how many candidates cover it), so a subtopic no candidate covers weighs 0.
The weighted subtopic loss of a subset S is the weighted share of subtopics S leaves
uncovered:

    L_T(S) = Σ_t u_t [no d in S covers t] / Σ_t u_t       (0 when Σ_t u_t = 0)

L_T(S) lies in [0, 1]; the empty subset has loss 1 (when some subtopic is covered).
"""
from __future__ import annotations

import numpy as np


from ..boundary.arrays import check_labels, check_matrix, check_vector
from ..boundary.params import check_int
from ..errors import InvalidInputError

__all__ = ["as_topic_matrix", "subtopic_weights", "weighted_subtopic_loss",
           "greedy_subtopic_cover", "coverage_gain_order"]


def as_topic_matrix(topics, n_docs: int | None = None) -> np.ndarray:
    """Return T as a C-contiguous n x m bool array.

    ``topics`` is either a 2-D array (n x m, nonzero = covers) or a sequence of n iterables
    of non-negative subtopic indices, one per document (so ``[[0], [0, 1]]`` means document 1
    covers subtopics 0 and 1; pass 0/1 matrices as 2-D numpy arrays). ``n_docs``, when given,
    must equal n (ValueError otherwise).
    """
    if topics is None or isinstance(topics, (str, bytes)):
        raise InvalidInputError(f"topics must be a 2-D matrix or one list of subtopic indices "
                                f"per document, got {type(topics).__name__}")
    if isinstance(topics, np.ndarray) and topics.ndim == 2:
        T = np.ascontiguousarray(check_matrix(topics, "topics", min_rows=0) != 0)
    else:
        if isinstance(topics, np.ndarray) and topics.ndim != 1:
            raise InvalidInputError(f"topics must be a 2-D matrix or one list of subtopic indices per "
                             f"document, got an array of shape {topics.shape}")
        rows = list(topics)
        idx = []
        for d, r in enumerate(rows):
            a = np.asarray(r).ravel() if np.size(r) else np.zeros(0, np.int64)
            if a.size and (a.dtype.kind not in "iuf" or not np.all(np.isfinite(a))
                           or np.any(a != np.round(a))):
                raise InvalidInputError(f"topics: document {d}: subtopic indices must be integers, got {r!r}", d)
            r = sorted({int(t) for t in a})
            if r and r[0] < 0:
                raise InvalidInputError(f"topics: document {d}: negative subtopic index {r[0]}", d)
            idx.append(r)
        m = max((r[-1] + 1 for r in idx if r), default=0)
        n_entries = sum(len(r) for r in idx)
        if m > 1024 + 16 * n_entries:   # one huge index must not allocate n x index bytes
            d = next(d for d, r in enumerate(idx) if r and r[-1] + 1 == m)
            raise InvalidInputError(f"topics: document {d}: subtopic index {m - 1} is far above the "
                             f"{n_entries} subtopic labels given (limit 1024 + 16 x labels); "
                             "number subtopics densely from 0")
        T = np.zeros((len(idx), m), dtype=bool)
        for d, r in enumerate(idx):
            T[d, r] = True
    if n_docs is not None and T.shape[0] != n_docs:
        raise InvalidInputError(f"subtopic labels have {T.shape[0]} rows for {n_docs} documents")
    return T


def subtopic_weights(topics) -> np.ndarray:
    """u_t = number of candidate documents covering subtopic t (float array, length m)."""
    T = as_topic_matrix(topics)
    return T.sum(axis=0).astype(np.float64)


def _check_weights(weights, m: int) -> np.ndarray:
    """weights: m finite non-negative numbers, one per subtopic."""
    return check_vector(weights, "weights", m, low=0.0)


def _check_subset(subset, n: int) -> np.ndarray:
    """subset: integer document indices in [0, n)."""
    if subset is None or isinstance(subset, (str, bytes)):
        raise InvalidInputError(f"subset must hold integer document indices, got "
                                f"{type(subset).__name__}")
    try:
        return check_labels(np.ravel(subset), "subset", n)
    except InvalidInputError as exc:
        raise InvalidInputError(f"subset has a document index out of range [0, {n}) or not an "
                                f"integer ({exc})") from None


def weighted_subtopic_loss(topics, subset, weights=None) -> float:
    """L_T(S): weighted share of subtopics that ``subset`` (document indices) leaves uncovered.

    ``weights`` overrides u_t (default: the number of candidates covering t). Returns 0.0
    for a query with no covered subtopic (nothing to cover, nothing missed).
    """
    T = as_topic_matrix(topics)
    s = _check_subset(subset, T.shape[0])
    u = T.sum(axis=0).astype(np.float64) if weights is None else _check_weights(weights, T.shape[1])
    total = u.sum()
    if total <= 0:
        return 0.0
    covered = T[s].any(axis=0) if s.size else np.zeros(T.shape[1], dtype=bool)
    return float(u[~covered].sum() / total)


def greedy_subtopic_cover(topics, k: int, weights=None) -> np.ndarray:
    """Greedy subset of min(k, n) documents maximising weighted subtopic coverage.

    Each step adds the document with the largest weight of not-yet-covered subtopics (ties:
    lowest index). Once every subtopic is covered, the remaining slots are filled with the
    lowest-index unselected documents that cover some subtopic, then any others, so the
    result always has min(k, n) distinct documents. Weighted coverage is monotone
    submodular, so the greedy cover is within (1 - 1/e) of the best k-subset.
    """
    T = as_topic_matrix(topics)
    n = T.shape[0]
    u = T.sum(axis=0).astype(np.float64) if weights is None else _check_weights(weights, T.shape[1])
    return coverage_gain_order(T, u, min(check_int(k, "k", 1), n))


def coverage_gain_order(T: np.ndarray, u: np.ndarray, k: int) -> np.ndarray:
    """Greedy max weighted coverage of k rows of bool matrix T with subtopic weights u."""
    n = T.shape[0]
    Tf = T.astype(np.float64)
    covered = np.zeros(T.shape[1], dtype=bool)
    chosen = np.zeros(n, dtype=bool)
    order = []
    relevant = T.any(axis=1)
    for _ in range(k):
        gains = Tf @ np.where(covered, 0.0, u)
        # tie-break: prefer documents covering some subtopic, then lowest index
        key = gains + 1e-9 * relevant
        key[chosen] = -np.inf
        d = int(np.argmax(key))
        order.append(d)
        chosen[d] = True
        covered |= T[d]
    return np.asarray(order, dtype=np.int64)
