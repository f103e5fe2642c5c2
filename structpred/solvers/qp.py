"""The dual QPs of the cutting-plane solvers.

1-slack working set {(a_k, b_k)}, G_kl = a_k·a_l:

    max_α  f(α) = Σ_k α_k b_k - ½ αᵀGα    s.t.  α >= 0,  Σ_k α_k <= C,      w = Σ_k α_k a_k.

n-slack working set, constraint k belonging to example (block) β(k):

    max_α  Σ_k α_k b_k - ½‖Σ_k α_k a_k‖²  s.t.  α >= 0,  Σ_{k: β(k)=i} α_k <= C/n for each i.

Solvers: ``solve_qp_active_set`` (fast path: a primal active-set method on the Gram matrix
with the implicit slack variable α_0 = C - Σα whose gradient is 0, warm-started),
``solve_nslack_blocks`` (block-coordinate SMO in w-space, never forming the full Gram
matrix), and ``solve_qp_cvxpy`` (reference, selectable with ``qp="cvxpy"``); ``solve_qp``
dispatches on the name. They stop on the certified QP gap C·max(0, max_k g_k) - Σ_k α_k g_k
(g = ∇f, per block for n-slack), which bounds f(α*) - f(α).
"""
from __future__ import annotations

import numpy as np
from ..jit import njit

__all__ = ["dual_objective", "solve_qp_active_set", "solve_qp_cvxpy", "solve_qp", "solve_nslack_blocks",
           "nslack_dual_objective"]


def dual_objective(G: np.ndarray, b: np.ndarray, alpha: np.ndarray) -> float:
    """f(α) = bᵀα - ½ αᵀGα."""
    return float(b @ alpha - 0.5 * alpha @ (G @ alpha))


def _face_solve(H, c, F, C):
    """Maximiser of cᵀx - ½xᵀHx on the face {x_F free, x_rest = 0, Σx_F = C}.

    Returns (z, None) for a bounded face, or (None, d): a direction along the face
    (H_FF d = 0, Σd = 0) on which the objective grows without bound."""
    m = F.size
    if m > 1 and F[0] == 0:
        # the slack x_0 = C - Σα is free: its gradient 0 fixes the face's multiplier at 0,
        # so α_F' solves H α = c alone (F' = F without x_0) and C enters only through x_0.
        # Solving the bordered system instead mixes C into every residual: at large C
        # (1e6 and up) its rounding left α far from optimal and cutting planes stopped early.
        Fa = F[1:]
        Ha = H[np.ix_(Fa, Fa)]
        ca = c[Fa]
        scale_a = np.linalg.norm(ca) + 1e-300
        try:
            za = np.linalg.solve(Ha, ca)
            if np.all(np.isfinite(za)) and np.linalg.norm(Ha @ za - ca) <= 1e-10 * scale_a:
                return np.append(C - za.sum(), za), None
        except np.linalg.LinAlgError:
            pass
        U, sv, Vt = np.linalg.svd(Ha)
        null = sv <= 1e-11 * sv[0]
        za = Vt.T @ np.where(null, 0.0, (U.T @ ca) / np.where(null, 1.0, sv))
        if np.linalg.norm(Ha @ za - ca) <= 1e-8 * scale_a:
            return np.append(C - za.sum(), za), None
        for v in Vt[null]:                   # inconsistent: ascend along the null space,
            slope = float(ca @ v)            # x_0 taking up the change of Σα
            if abs(slope) > 1e-12 * np.abs(ca).sum() * np.abs(v).sum():
                v = v if slope > 0 else -v
                return None, np.append(-v.sum(), v)
    M = np.zeros((m + 1, m + 1))
    M[:m, :m] = H[np.ix_(F, F)]
    M[:m, m] = 1.0
    M[m, :m] = 1.0
    rhs = np.append(c[F], C)
    scale = np.linalg.norm(rhs) + 1e-300
    try:
        sol = np.linalg.solve(M, rhs)
        if np.all(np.isfinite(sol)) and np.linalg.norm(M @ sol - rhs) <= 1e-10 * scale:
            return sol[:m], None
    except np.linalg.LinAlgError:
        pass
    U, sv, Vt = np.linalg.svd(M)
    null = sv <= 1e-11 * sv[0]
    sol = Vt.T @ np.where(null, 0.0, (U.T @ rhs) / np.where(null, 1.0, sv))
    if np.linalg.norm(M @ sol - rhs) <= 1e-8 * scale:
        return sol[:m], None
    for v in Vt[null]:                       # inconsistent: ascend along the null space
        d = v[:m]
        slope = float(c[F] @ d)
        if abs(slope) > 1e-12 * np.abs(c[F]).sum() * np.abs(d).sum():
            return None, (d if slope > 0 else -d)
    return sol[:m], None


def solve_qp_active_set(G, b, C, alpha0=None, rel_tol=1e-10, max_iter=None):
    """Maximise bᵀα - ½αᵀGα over α >= 0, Σα <= C by a primal active-set method.

    The slack x_0 = C - Σα (gradient 0, a zero row of the Gram matrix) turns the feasible
    set into a simplex. Each step solves the KKT system of the current face (by SVD where
    the rank-deficient Gram matrices of cutting-plane working sets make it singular) and
    moves towards its solution; a variable enters when its gradient exceeds the face's
    multiplier. Warm-started from the previous α it takes a few steps. Returns (α, f, steps)."""
    G = np.asarray(G, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    K = b.shape[0]
    if K == 0:
        return np.zeros(0), 0.0, 0
    H = np.zeros((K + 1, K + 1))
    H[1:, 1:] = 0.5 * (G + G.T)
    c = np.append(0.0, b)
    x = np.zeros(K + 1)
    if alpha0 is not None:
        x[1:] = np.clip(np.asarray(alpha0, dtype=np.float64), 0.0, None)
        if x[1:].sum() > C:
            x[1:] *= C / x[1:].sum()
    x[0] = C - x[1:].sum()
    free = x > 0
    # the gradients c - Hx are of the size of c and H·Σα (x_0 = C - Σα has a zero row), not
    # H·C: a tolerance in C kept every constraint out of the face at C = 1e12
    h_max = np.abs(H).max()
    max_iter = 20 * (K + 1) + 100 if max_iter is None else max_iter
    steps = 0
    while steps < max_iter:
        steps += 1
        F = np.flatnonzero(free)
        z, d = _face_solve(H, c, F, C)
        if d is not None:                      # unbounded on the face: go to the first bound
            neg = np.flatnonzero(d < 0)
            ratios = x[F[neg]] / -d[neg]
            drop = neg[np.argmin(ratios)]
            x[F] += ratios.min() * d
            x[F[drop]] = 0.0
            free[F[drop]] = False
        elif np.all(z >= 0):
            x[F] = z
            g = c - H @ x
            mu = float(np.mean(g[F]))
            out = np.flatnonzero(~free)
            if out.size == 0:
                break
            k = out[np.argmax(g[out])]
            f = float(c @ x - 0.5 * x @ (H @ x))
            gap = C * max(0.0, float(g.max())) - float(x @ g)
            tol = 1e-13 * (np.abs(c).max() + h_max * float(x[1:].sum()) + 1e-300)
            if g[k] <= mu + tol or gap <= rel_tol * max(abs(f), 1e-300):
                break
            free[k] = True
        else:                                  # blocked: stop at the first variable to hit 0
            neg = np.flatnonzero(z < 0)
            ratios = x[F[neg]] / (x[F[neg]] - z[neg])
            drop = neg[np.argmin(ratios)]
            x[F] += ratios.min() * (z - x[F])
            x[F[drop]] = 0.0
            free[F[drop]] = False
        x[F] = np.maximum(x[F], 0.0)
    alpha = x[1:].copy()
    return alpha, dual_objective(G, b, alpha), steps


def solve_qp_cvxpy(G, b, C, A=None, solver=None):
    """The same QP through cvxpy (reference). Pass the constraint matrix A (K x d, G = AAᵀ)
    when available: ½‖Aᵀα‖² is better conditioned than a quadratic form in G."""
    import cvxpy as cp

    b = np.asarray(b, dtype=np.float64)
    K = b.shape[0]
    if K == 0:
        return np.zeros(0), 0.0, 0
    alpha = cp.Variable(K, nonneg=True)
    if A is not None:
        quad = cp.sum_squares(A.T @ alpha) if not hasattr(A, "toarray") else cp.sum_squares(A.toarray().T @ alpha)
    else:
        G = 0.5 * (np.asarray(G, dtype=np.float64) + np.asarray(G, dtype=np.float64).T)
        quad = cp.quad_form(alpha, cp.psd_wrap(G))
    prob = cp.Problem(cp.Maximize(b @ alpha - 0.5 * quad), [cp.sum(alpha) <= C])
    if solver is None:
        prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    else:
        prob.solve(solver=solver)
    a = np.clip(np.asarray(alpha.value, dtype=np.float64).ravel(), 0.0, None)
    if G is None:
        G = A @ A.T
        G = G.toarray() if hasattr(G, "toarray") else G
    return a, dual_objective(np.asarray(G), b, a), 0


def solve_qp(method, G, b, C, alpha0=None):
    """Dispatch: method 'active-set' (default fast path) or 'cvxpy' (reference)."""
    if method == "active-set":
        return solve_qp_active_set(G, b, C, alpha0)
    if method == "cvxpy":
        return solve_qp_cvxpy(G, b, C)
    raise ValueError(f"qp must be 'active-set' or 'cvxpy', got {method!r}")


# ---------------------------------------------------------------------------- n-slack
@njit(cache=True, nogil=True)
def _sparse_dot_dense(data, indices, start, stop, w):
    s = 0.0
    for p in range(start, stop):
        s += data[p] * w[indices[p]]
    return s


@njit(cache=True, nogil=True)
def _sparse_dot_sparse(data, indices, s1, e1, s2, e2):
    """Dot product of two CSR rows with sorted indices."""
    s = 0.0
    p = s1
    q = s2
    while p < e1 and q < e2:
        ip = indices[p]
        iq = indices[q]
        if ip == iq:
            s += data[p] * data[q]
            p += 1
            q += 1
        elif ip < iq:
            p += 1
        else:
            q += 1
    return s


@njit(cache=True, nogil=True)
def _axpy_row(w, t, data, indices, start, stop):
    for p in range(start, stop):
        w[indices[p]] += t * data[p]


@njit(cache=True, nogil=True)
def _nslack_dual(b, alpha, w):
    """The n-slack dual objective Σ α_k b_k - ½‖w‖²."""
    dual = 0.0
    for k in range(b.shape[0]):
        dual += alpha[k] * b[k]
    return dual - 0.5 * (w @ w)


@njit(cache=True, nogil=True)
def _nslack_kernel(data, indices, indptr, sqnorm, b, order, block_ptr, cap, alpha, w,
                   rel_tol, max_sweeps, inner_steps, seed):
    n_blocks = block_ptr.shape[0] - 1
    K = b.shape[0]
    g = np.empty(K)
    block_gap = np.full(n_blocks, np.inf)
    np.random.seed(seed)
    sweeps = 0
    total_gap = 0.0
    full = True
    for sweeps in range(1, max_sweeps + 1):
        # shrinking: between full sweeps, skip blocks whose gap is already negligible
        skip_below = 0.0 if full else 0.1 * rel_tol * abs(_nslack_dual(b, alpha, w)) / max(n_blocks, 1)
        total_gap = 0.0
        perm = np.random.permutation(n_blocks)
        for blk in perm:
            s = block_ptr[blk]
            e = block_ptr[blk + 1]
            if e == s:
                continue
            if not full and block_gap[blk] <= skip_below:
                continue
            for step in range(inner_steps + 1):
                used = 0.0
                gi = 0.0
                i = -1
                ag = 0.0
                for pos in range(s, e):
                    k = order[pos]
                    g[k] = b[k] - _sparse_dot_dense(data, indices, indptr[k], indptr[k + 1], w)
                    used += alpha[k]
                    ag += alpha[k] * g[k]
                    if g[k] > gi:
                        gi = g[k]
                        i = k
                slack = cap - used
                if slack < 0.0:
                    slack = 0.0
                gap = cap * gi - ag
                if step == 0:
                    total_gap += gap
                    block_gap[blk] = gap
                j = -1
                gj = np.inf
                if slack > 1e-15 * cap:
                    gj = 0.0
                for pos in range(s, e):
                    k = order[pos]
                    if alpha[k] > 0.0 and g[k] < gj:
                        gj = g[k]
                        j = k
                if step == inner_steps or gi - gj <= 1e-15 * (abs(gi) + abs(gj) + 1e-300) or gap <= 0.0:
                    break
                if i == -1 and j == -1:
                    break
                if j == -1:
                    avail = slack
                    eta = sqnorm[i]
                elif i == -1:
                    avail = alpha[j]
                    eta = sqnorm[j]
                else:
                    avail = alpha[j]
                    eta = sqnorm[i] + sqnorm[j] - 2.0 * _sparse_dot_sparse(
                        data, indices, indptr[i], indptr[i + 1], indptr[j], indptr[j + 1])
                if eta > 1e-300:
                    t = (gi - gj) / eta
                    if t > avail:
                        t = avail
                else:
                    t = avail
                if t <= 0.0:
                    break
                if i >= 0:
                    alpha[i] += t
                    _axpy_row(w, t, data, indices, indptr[i], indptr[i + 1])
                if j >= 0:
                    alpha[j] -= t
                    if alpha[j] < 0.0:
                        alpha[j] = 0.0
                    _axpy_row(w, -t, data, indices, indptr[j], indptr[j + 1])
        if full:
            # the sum of block gaps bounds the distance to the optimum of the dual
            dual = _nslack_dual(b, alpha, w)
            if total_gap <= rel_tol * max(abs(dual), 1e-300):
                break
            full = False
        else:
            full = sweeps % 10 == 0 or total_gap <= 0.1 * rel_tol * abs(_nslack_dual(b, alpha, w))
    return sweeps, total_gap





def nslack_dual_objective(A, b, alpha) -> float:
    """Σ α_k b_k - ½‖Aᵀα‖²."""
    w = A.T @ alpha
    return float(b @ alpha - 0.5 * w @ w)


def solve_nslack_blocks(A, b, blocks, n_blocks, cap, alpha0=None, rel_tol=1e-9,
                        max_sweeps=10000, inner_steps=20):
    """n-slack dual by block-coordinate SMO. A: CSR (K x d) constraint rows, blocks: example
    index of each row, cap = C/n. Returns (α, w = Aᵀα, dual objective, sweeps, gap)."""
    A = A.tocsr()
    A.sort_indices()
    K = A.shape[0]
    alpha = np.zeros(K) if alpha0 is None else np.array(alpha0, dtype=np.float64)
    blocks = np.asarray(blocks, dtype=np.int64)
    order = np.argsort(blocks, kind="stable").astype(np.int64)
    block_ptr = np.zeros(n_blocks + 1, dtype=np.int64)
    np.cumsum(np.bincount(blocks, minlength=n_blocks), out=block_ptr[1:])
    data = np.ascontiguousarray(A.data, dtype=np.float64)
    indices = np.ascontiguousarray(A.indices, dtype=np.int64)
    indptr = np.ascontiguousarray(A.indptr, dtype=np.int64)
    sqnorm = np.asarray(A.multiply(A).sum(axis=1)).ravel()
    w = np.asarray(A.T @ alpha).ravel().astype(np.float64)
    sweeps, gap = _nslack_kernel(data, indices, indptr, sqnorm, np.asarray(b, dtype=np.float64),
                                 order, block_ptr, float(cap), alpha, w, float(rel_tol),
                                 int(max_sweeps), int(inner_steps), 0)
    w = np.asarray(A.T @ alpha).ravel()
    return alpha, w, float(np.dot(b, alpha) - 0.5 * w @ w), sweeps, gap
