"""The label tree: checking an edge list, rooting a forest, and the Chow-Liu tree.

Chow & Liu (1968): the tree that maximises the likelihood of a tree-structured distribution of
the label vectors is the maximum spanning tree of the pairwise mutual informations
I(y_k; y_l) = Σ_{a,b} p(a, b) log(p(a, b) / (p(a) p(b))), estimated by the empirical
frequencies of the training labels.
"""
from __future__ import annotations

import numpy as np

from ...errors import InvalidInputError

__all__ = ["check_edges", "root_forest", "chow_liu_edges", "mutual_information"]


def _find(parent, a):
    while parent[a] != a:
        parent[a] = parent[parent[a]]
        a = parent[a]
    return a


def check_edges(edges, n_labels: int | None = None, name: str = "edges") -> np.ndarray:
    """The edge list as an (E, 2) int64 array; InvalidInputError naming ``name`` and the edge
    for a pair that is not two integers, a label outside [0, n_labels) (when known), a
    self-loop, a duplicate (in either orientation) or an edge closing a cycle."""
    try:
        items = list(edges)
    except TypeError:
        raise InvalidInputError(f"{name} must be None, 'chow-liu' or a list of (k, l) label "
                                f"pairs, got {edges!r}") from None
    out = np.zeros((len(items), 2), dtype=np.int64)
    for e, pair in enumerate(items):
        try:
            k, l = pair
        except (TypeError, ValueError):
            raise InvalidInputError(f"{name}[{e}] = {pair!r} is not a (k, l) pair of labels", e) from None
        for v in (k, l):
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
                raise InvalidInputError(f"{name}[{e}] = {pair!r}: labels must be integers", e)
            if v < 0 or (n_labels is not None and v >= n_labels):
                bound = "" if n_labels is None else f" [0, {n_labels})"
                raise InvalidInputError(f"{name}[{e}] = {pair!r}: label {v} is out of range{bound}", e)
        if k == l:
            raise InvalidInputError(f"{name}[{e}] = {pair!r} is a self-loop", e)
        out[e] = (k, l)
    size = int(out.max()) + 1 if len(out) else 0
    parent = list(range(size))
    seen = {}
    for e, (k, l) in enumerate(out.tolist()):
        key = (min(k, l), max(k, l))
        if key in seen:
            raise InvalidInputError(f"{name}[{e}] = {tuple(out[e])} duplicates {name}[{seen[key]}]", e)
        seen[key] = e
        rk, rl = _find(parent, k), _find(parent, l)
        if rk == rl:
            raise InvalidInputError(f"{name}[{e}] = {tuple(out[e])} closes a cycle: the label "
                                    "graph must be a tree or a forest", e)
        parent[rk] = rl
    return out


def root_forest(edges: np.ndarray, n_labels: int):
    """(order, parent, pedge, vfirst) of the forest rooted at the smallest label of each
    component: ``order`` lists parents before children (breadth first), ``parent[v]`` is -1
    at a root, ``pedge[v]`` the index of the edge to the parent, ``vfirst[v]`` 1 when v is the
    edge's first label."""
    adj = [[] for _ in range(n_labels)]
    for e, (k, l) in enumerate(np.asarray(edges, dtype=np.int64).tolist()):
        adj[k].append((l, e, 0))   # from k, l is the neighbour; k is edge's first
        adj[l].append((k, e, 1))
    parent = np.full(n_labels, -1, dtype=np.int64)
    pedge = np.full(n_labels, -1, dtype=np.int64)
    vfirst = np.zeros(n_labels, dtype=np.int64)
    seen = np.zeros(n_labels, dtype=bool)
    order = []
    for root in range(n_labels):
        if seen[root]:
            continue
        seen[root] = True
        queue = [root]
        while queue:
            v = queue.pop(0)
            order.append(v)
            for u, e, u_is_first in adj[v]:
                if not seen[u]:
                    seen[u] = True
                    parent[u], pedge[u], vfirst[u] = v, e, u_is_first
                    queue.append(u)
    return np.asarray(order, dtype=np.int64), parent, pedge, vfirst


def mutual_information(Y: np.ndarray) -> np.ndarray:
    """(L, L) empirical mutual information (nats) between the columns of a 0/1 matrix."""
    Y = np.asarray(Y, dtype=np.float64)
    n, L = Y.shape
    mi = np.zeros((L, L))
    if n == 0:
        return mi
    p1 = Y.mean(axis=0)
    both = (Y.T @ Y) / n
    for k in range(L):
        for l in range(k + 1, L):
            joint = np.array([[1 - p1[k] - p1[l] + both[k, l], p1[l] - both[k, l]],
                              [p1[k] - both[k, l], both[k, l]]])
            marg = np.outer([1 - p1[k], p1[k]], [1 - p1[l], p1[l]])
            mask = joint > 0
            mi[k, l] = mi[l, k] = float(np.sum(joint[mask] * np.log(joint[mask] / marg[mask])))
    return mi


def chow_liu_edges(Y: np.ndarray) -> np.ndarray:
    """The Chow-Liu tree of the label columns of Y: the maximum spanning tree of the mutual
    informations (Kruskal; ties broken by label index), as an (L-1, 2) array of (k, l), k < l."""
    L = np.asarray(Y).shape[1]
    mi = mutual_information(Y)
    pairs = sorted(((-mi[k, l], k, l) for k in range(L) for l in range(k + 1, L)))
    parent = list(range(L))
    out = []
    for _, k, l in pairs:
        rk, rl = _find(parent, k), _find(parent, l)
        if rk != rl:
            parent[rk] = rl
            out.append((k, l))
    return np.asarray(out, dtype=np.int64).reshape(-1, 2)
