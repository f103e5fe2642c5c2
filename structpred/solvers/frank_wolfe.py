"""Block-Coordinate Frank-Wolfe on the structural SVM dual (Lacoste-Julien, Jaggi, Schmidt &
Pletscher, ICML 2013), with line search, weighted averaging and the duality-gap stopping rule.

Units. The paper minimises  λ/2‖w‖² + (1/n) Σ_i H_i(w),  H_i(w) = max_y Δ_i(y) - w·δΨ_i(y).
Ours is  ½‖w‖² + (C/n) Σ_i H_i(w) = C · [the paper's objective with λ = 1/C]: same minimiser,
and every primal, dual and gap value here is the paper's times C. We stop when the certified
gap is at most C·eps (the paper's gap at most eps), which is also what the 1-slack cutting
plane guarantees when it stops, so eps means the same for every solver.

Dual (our units). Examples are grouped in blocks (block_size=1 is the paper's algorithm). A
block k holds w_k = (C/n) Σ_{i∈k} Σ_y α_i(y) s_i(y) δΨ_i(y) and ℓ_k = (C/n) Σ_{i∈k} Σ_y α_i(y)
Δ_i(y), α_i a distribution over outputs, s_i = 1 (margin) or Δ_i (slack rescaling);
w = Σ_k w_k, D(α) = Σ_k ℓ_k - ½‖w‖², P(w) = ½‖w‖² + (C/n) Σ_i H_i(w), gap P - D >= 0.
Block step: the oracle on block k at w gives the corner (w_s, ℓ_s); block gap
g_k = (ℓ_s - ℓ_k) - w·(w_s - w_k); line search γ = clip(g_k / ‖w_s - w_k‖², 0, 1) maximises D
on the segment; (w_k, ℓ_k) += γ (w_s - w_k, ℓ_s - ℓ_k). Each w_k is kept sparse.
Weighted averaging: w̄_t = Σ_{s≤t} s w_s / T_t, T_t = t(t+1)/2 (ρ_t = 2/(t+2) in the paper),
kept lazily as w̄ = w - U/T_t with U = Σ_s T_{s-1} Δw_s (sparse updates); ℓ̄ likewise, so
(w̄, ℓ̄) is a dual-feasible pair and its gap is certified as well. With line search the plain
iterate is often the better of the two, so each check evaluates both (one full oracle pass
each) and keeps the one with the smaller certified gap.
"""
from __future__ import annotations

import warnings

import numpy as np

from .base import OracleWarning, SolverRun
from .objective import primal as primal_value, scale, sparse_rows_sum
from .options import Choice, Count, Flag, Seed, declare_options

__all__ = ["fit_bcfw"]


def _merge(idx_a, val_a, idx_b, val_b):
    """Both sparse vectors on the union of their supports: (union, a values, b values)."""
    if idx_a.size == 0:
        return idx_b, np.zeros(idx_b.size), val_b
    if idx_b.size == 0:
        return idx_a, val_a, np.zeros(idx_a.size)
    u = np.union1d(idx_a, idx_b)
    a = np.zeros(u.size)
    a[np.searchsorted(u, idx_a)] = val_a
    b = np.zeros(u.size)
    b[np.searchsorted(u, idx_b)] = val_b
    return u, a, b


def _tri(t):
    return 0.5 * t * (t + 1.0)


def _resume(warm_state, C, n, ranges, d):
    """Block variables from a previous fit, rescaled from its C to this C (same α)."""
    if not warm_state or warm_state.get("kind") != "bcfw":
        return None
    if warm_state["n"] != n or list(map(tuple, warm_state["ranges"])) != list(ranges) \
            or warm_state["d"] != d:
        warnings.warn("bcfw warm start: the stored dual state does not match this training "
                      "set or block size; starting from zero", RuntimeWarning, stacklevel=4)
        return None
    r = C / warm_state["C"]
    idx = [i.copy() for i in warm_state["idx"]]
    val = [v * r for v in warm_state["val"]]
    ell = np.asarray(warm_state["ell"], dtype=np.float64) * r
    return idx, val, ell


@declare_options(block_size=Count(1), line_search=Flag(), averaging=Flag(), gap_every=Count(1),
                 sample=Choice("perm", "uniform"), random_state=Seed())
def fit_bcfw(model, oracle, *, C, eps, rescaling="margin", max_iter=1000, verbose=0,
             callback=None, w0=None, warm_state=None, block_size=1, line_search=True,
             averaging=True, gap_every=1, sample="perm", random_state=0):
    """Train with Block-Coordinate Frank-Wolfe; returns a SolverResult.

    ``max_iter`` counts passes over the data (n/block_size block steps each). Every
    ``gap_every`` passes (and at the last) a full oracle pass at the iterate, and one at the
    weighted average if ``averaging``, give P, D and the certified gap of each; the point
    with the smaller gap is kept, and training stops when that gap <= C·eps. ``line_search``
    (else the paper's step 2n/(t+2n)); ``sample``: "perm" (a random permutation of the blocks
    each pass) or "uniform" (blocks drawn with replacement, as in the paper's analysis);
    ``random_state`` seeds it. ``warm_state``
    (``result.extra["warm_state"]`` of a previous fit on the same data, any C) resumes from
    its dual variables, rescaled to this C; a bare ``w0`` cannot be used (w must equal the
    dual's Aα) and is ignored.
    """
    if sample not in ("perm", "uniform"):
        raise ValueError(f"sample must be 'perm' or 'uniform', got {sample!r}")
    name = "bcfw" + ("" if int(block_size) == 1 else f" (blocks of {int(block_size)})")
    run = SolverRun(name, model, oracle, C=C, eps=eps, rescaling=rescaling, max_iter=max_iter,
                    verbose=verbose, callback=callback)
    n, d, timers = run.n, run.d, run.timers
    ranges = oracle.blocks(block_size)
    n_blocks = len(ranges)
    cn = C / n
    resumed = _resume(warm_state, C, n, ranges, d)
    if resumed is None:
        if w0 is not None and warm_state is None and np.any(w0):
            warnings.warn("bcfw: a warm start needs the dual state of a previous bcfw fit; "
                          "w0 alone is ignored", RuntimeWarning, stacklevel=3)
        bidx = [np.zeros(0, dtype=np.int64) for _ in range(n_blocks)]
        bval = [np.zeros(0) for _ in range(n_blocks)]
        bell = np.zeros(n_blocks)
    else:
        bidx, bval, bell = resumed
    w = np.zeros(d)
    for i, v in zip(bidx, bval):
        w[i] += v
    ell = float(bell.sum())
    U = np.zeros(d) if averaging else None
    ell_bar = ell
    t = 0
    rng = np.random.default_rng(random_state)
    primal, dual, w_eval = np.inf, -np.inf, None
    min_gap = np.inf
    with run.interruptible():
        for epoch in run.iterations(f"bcfw did not reach a duality gap of C*eps={C * eps:g} in "
                                    f"max_iter={max_iter} passes"):
            order = rng.permutation(n_blocks) if sample == "perm" else rng.integers(0, n_blocks, n_blocks)
            for k in order:
                D, L = run.block_pass(w, k)
                with timers("update"):
                    idx_s, val_s = sparse_rows_sum(D, cn * scale(L, rescaling))
                    ell_s = cn * float(L.sum())
                    u, a, b = _merge(bidx[k], bval[k], idx_s, val_s)
                    diff = b - a
                    gap_k = (ell_s - bell[k]) - float(w[u] @ diff)
                    denom = float(diff @ diff)
                    if line_search:
                        if denom > 0.0:
                            gamma = min(max(gap_k / denom, 0.0), 1.0)
                        else:
                            gamma = 1.0 if gap_k > 0.0 else 0.0
                    else:
                        gamma = 2.0 * n_blocks / (t + 2.0 * n_blocks)
                    t += 1
                    if gamma > 0.0:
                        step = gamma * diff
                        w[u] += step
                        new = a + step
                        keep = new != 0.0
                        bidx[k] = u[keep]
                        bval[k] = new[keep]
                        d_ell = gamma * (ell_s - bell[k])
                        bell[k] += d_ell
                        ell += d_ell
                        if averaging:
                            U[u] += _tri(t - 1) * step
                    if averaging:
                        ell_bar += 2.0 / (t + 1.0) * (ell - ell_bar)
            if epoch % max(1, int(gap_every)) and epoch != max_iter:
                continue
            # --- certified gaps: one full oracle pass per candidate point
            with timers("update"):
                ell = float(bell.sum())          # no drift in the running sum
                points = [(w.copy(), ell, "iterate")]
                if averaging and t > 0:
                    points.insert(0, (w - U / _tri(t), ell_bar, "average"))
            checked = []
            for w_c, ell_c, label in points:
                D, L = run.full_pass(w_c)
                with timers("psi"):
                    p_c = primal_value(w_c, D, L, C, rescaling)
                    d_c = ell_c - 0.5 * float(w_c @ w_c)
                checked.append((p_c - d_c, p_c, d_c, w_c, label))
            gaps = {c[4]: c[0] for c in checked}
            gap, primal, dual, w_eval, label = min(checked, key=lambda c: c[0])
            min_gap = min(min_gap, gap)
            if gap < -1e-9 * max(1.0, abs(primal)) and not run.approximate:
                warnings.warn(f"bcfw pass {epoch}: negative duality gap {gap:.3g}: the oracle "
                              "did not return the most violated output", OracleWarning,
                              stacklevel=3)
            run.keep_best(primal, w_eval, dual)
            run.record(primal=primal, dual=dual, gap=gap, n_constraints=n_blocks, steps=t,
                       point=label, **{f"gap_{k}": v for k, v in gaps.items()})
            if gap <= C * eps:
                run.converged = True
                break
            if run.callback_stops(w_eval):
                break
    state = {"kind": "bcfw", "C": C, "n": n, "d": d, "ranges": ranges, "idx": bidx,
             "val": bval, "ell": bell.copy()}
    return run.result(w.copy() if w_eval is None else w_eval, primal, dual,
                      n_constraints=n_blocks,
                      extra={"warm_state": state, "block_steps": t, "min_gap": min_gap})
