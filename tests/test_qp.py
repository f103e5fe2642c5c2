"""The dual QP solvers against cvxpy on random and degenerate working sets."""
import zlib

import numpy as np
import pytest
import scipy.sparse as sp

from structpred.solvers.qp import (dual_objective, nslack_dual_objective, solve_nslack_blocks,
                                   solve_qp_cvxpy, solve_qp_active_set)


def _working_set(rng, K, d, kind):
    A = rng.normal(size=(K, d))
    b = rng.uniform(0.0, 2.0, size=K)
    if kind == "duplicates":
        A[K // 2:] = A[: K - K // 2]
        b[K // 2:] = b[: K - K // 2]
    elif kind == "zeros":
        A[::3] = 0.0
    elif kind == "lowrank":
        A = rng.normal(size=(K, 2)) @ rng.normal(size=(2, d))
    elif kind == "negative_b":
        b = -np.abs(b)
    return A, b


@pytest.mark.parametrize("kind", ["random", "duplicates", "zeros", "lowrank", "negative_b"])
@pytest.mark.parametrize("C", [0.01, 1.0, 100.0])
def test_smo_matches_cvxpy(kind, C):
    rng = np.random.default_rng(zlib.crc32(f"{kind}-{C}".encode()))
    for K, d in [(1, 3), (5, 4), (30, 10), (80, 50)]:
        A, b = _working_set(rng, K, d, kind)
        G = A @ A.T
        alpha, f_smo, _ = solve_qp_active_set(G, b, C)
        _, f_ref, _ = solve_qp_cvxpy(G, b, C, A=A)
        assert alpha.min() >= 0 and alpha.sum() <= C * (1 + 1e-12)
        assert f_smo == pytest.approx(dual_objective(G, b, alpha))
                # 1e-6 relative; an optimum of 0 (all b <= 0) is compared on the scale of C·max|b|
        scale = max(abs(f_ref), 1e-2 * C * np.abs(b).max())
        assert abs(f_smo - f_ref) <= 1e-6 * scale, (kind, K, d, f_smo, f_ref)


def test_smo_warm_start_reaches_same_optimum():
    rng = np.random.default_rng(0)
    A, b = _working_set(rng, 40, 20, "random")
    G = A @ A.T
    a1, f1, _ = solve_qp_active_set(G[:39, :39], b[:39], 5.0)
    a2, f2, _ = solve_qp_active_set(G, b, 5.0, np.append(a1, 0.0))
    _, f3, _ = solve_qp_active_set(G, b, 5.0)
    assert f2 == pytest.approx(f3, rel=1e-9)
    assert f2 >= f1


def _nslack_cvxpy(A, b, blocks, n, cap):
    import cvxpy as cp
    K = len(b)
    alpha = cp.Variable(K, nonneg=True)
    cons = [cp.sum(alpha[np.flatnonzero(blocks == i)]) <= cap for i in range(n) if (blocks == i).any()]
    prob = cp.Problem(cp.Maximize(b @ alpha - 0.5 * cp.sum_squares(A.T @ alpha)), cons)
    prob.solve(solver=cp.CLARABEL)
    return prob.value


@pytest.mark.parametrize("kind", ["random", "duplicates", "zeros"])
def test_nslack_blocks_match_cvxpy(kind):
    rng = np.random.default_rng(7)
    n, K, d = 6, 25, 8
    A, b = _working_set(rng, K, d, kind)
    blocks = rng.integers(0, n, size=K)
    cap = 0.7
    alpha, w, f, _, _ = solve_nslack_blocks(sp.csr_matrix(A), b, blocks, n, cap, rel_tol=1e-12)
    ref = _nslack_cvxpy(A, b, blocks, n, cap)
    assert np.allclose(w, A.T @ alpha)
    assert f == pytest.approx(nslack_dual_objective(A, b, alpha))
    for i in range(n):
        assert alpha[blocks == i].sum() <= cap * (1 + 1e-9)
    assert abs(f - ref) <= 1e-6 * max(abs(ref), 1e-6)
