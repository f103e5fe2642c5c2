"""The click log of a ranking simulation (which rank each item had for each user, and whether
it was clicked) checked at the boundary, for the merit estimators that read it."""
from __future__ import annotations

import numpy as np

from ...boundary.arrays import check_flags, check_permutation, check_vector
from ...errors import InvalidInputError

__all__ = ["check_click_log"]


def check_click_log(clicked, ranks, v):
    """A click log's arrays checked and converted: ``ranks`` (T, n) int64 with every row a
    permutation of 0..n-1, ``clicked`` (T, n) 0/1, ``v`` n propensities in (0, 1].
    InvalidInputError naming the argument (and the first bad row of ``ranks``)."""
    ranks = np.asarray(ranks)
    if ranks.ndim != 2:
        raise InvalidInputError(f"ranks must be a 2-D array (users x items), got shape "
                                f"{ranks.shape}")
    T, n = ranks.shape
    ok = ranks.dtype.kind in "iu" and np.array_equal(np.sort(ranks, axis=1),
                                                     np.broadcast_to(np.arange(n), (T, n)))
    ranks = ranks.astype(np.int64) if ok else np.stack(      # names the first bad row
        [check_permutation(r, f"ranks[{t}]", n) for t, r in enumerate(ranks)]).reshape(T, n)
    clicked = np.asarray(clicked)
    if clicked.shape != (T, n):
        raise InvalidInputError(f"clicked has shape {clicked.shape}, expected {(T, n)} (that of "
                                "ranks)")
    clicked = check_flags(clicked.ravel(), "clicked").reshape(T, n)
    v = check_vector(v, "v", length=n, length_of="the items", low=np.finfo(float).tiny,
                     high=1.0)
    return clicked, ranks, v
