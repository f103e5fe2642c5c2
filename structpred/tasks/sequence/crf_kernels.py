"""numba kernels of the linear-chain CRF (the Gibbs policy of ``SequenceLabeling``).

π(y|x) ∝ exp(score(y)), score(y) = Σ_t em[t, y_t] + Σ_{t≥1} A[y_{t-1}, y_t]
(+ Σ_{t≥2} B[y_{t-2}, y_{t-1}, y_t] at order 2) + S[y_0] + E[y_{T-1}], em[t] = W·x_t.

Everything is exact (no sampling) except ``sample_chunk``, which draws exactly from π.

* First order, ``fb1_scaled``: the forward-backward recursions in probability space with
  one normalising scale per token (as CRFsuite does), whose logs sum to log Z. Every factor
  is exp(v − max v) <= 1, so nothing overflows; a scale below 1e-280 or a non-finite backward
  value (possible only for extreme weights) makes it return NaN, and the caller reruns the
  sequence with ``fb1_log``.
* ``fb1_log`` / ``fb2_log``: the same recursions entirely in log space (log-sum-exp at every
  cell): slower (an exp per transition cell), never under- or overflows for finite scores.
* Gradient of log π(y|x) in w: Ψ(x, y) − E_π[Ψ]; the kernels add −coef·E_π[Ψ] (token and
  transition marginals) to the gradient buffers and +coef·Ψ(x, y) where labels are given.

The kernels read the stacked CSR batch of ``SequenceBatch`` (sequence s owns rows
offsets[s]:offsets[s+1]) over a range of sequences [s0, s1) and are ``nogil`` so that ranges
can run on threads, each with its own gradient buffers.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .kernels import emission_scores

TINY_SCALE = 1e-280


@njit(cache=True, nogil=True, inline="always")
def _lse(v, n):
    """log Σ_{i<n} exp(v[i]) (shifted by the maximum)."""
    m = -np.inf
    for i in range(n):
        if v[i] > m:
            m = v[i]
    if m == -np.inf or not np.isfinite(m):
        return m
    s = 0.0
    for i in range(n):
        s += np.exp(v[i] - m)
    return m + np.log(s)


@njit(cache=True, nogil=True)
def transition_factors(A):
    """(expA, expAT, Amax): expA[p, c] = exp(A[p, c] − max A) <= 1 and its transpose."""
    L = A.shape[0]
    Amax = -np.inf
    for p in range(L):
        for c in range(L):
            if A[p, c] > Amax:
                Amax = A[p, c]
    expA = np.empty((L, L))
    expAT = np.empty((L, L))
    for p in range(L):
        for c in range(L):
            v = np.exp(A[p, c] - Amax)
            expA[p, c] = v
            expAT[c, p] = v
    return expA, expAT, Amax


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def fb1_scaled(em, T, A, S, E, mu, coef, gA, gS, gE, want, expA, expAT, Amax, psi, alpha,
               beta, scale, tmp):
    """First-order forward-backward with per-token scaling. Returns log Z, or NaN when a
    scale underflows or a backward value overflows (then nothing was written to gA/gS/gE).
    want: 0 log Z only; 1 also the token marginals mu[:T]; 2 also adds −coef·E_π[Ψ] of the
    transition, start and end blocks to gA, gS, gE. expA, expAT, Amax from
    ``transition_factors(A)``; psi, alpha, beta (>= T x L), scale (>= T), tmp (>= L) are
    workspace."""
    L = em.shape[1]
    Smax = -np.inf
    Emax = -np.inf
    for l in range(L):
        Smax = max(Smax, S[l])
        Emax = max(Emax, E[l])
    logz = 0.0
    for t in range(T):
        m = -np.inf
        for l in range(L):
            if em[t, l] > m:
                m = em[t, l]
        if not np.isfinite(m):
            return np.nan
        for l in range(L):
            psi[t, l] = np.exp(em[t, l] - m)
        logz += m
    tot = 0.0
    for l in range(L):
        v = np.exp(S[l] - Smax) * psi[0, l]
        alpha[0, l] = v
        tot += v
    if not tot >= TINY_SCALE:
        return np.nan
    scale[0] = tot
    inv = 1.0 / tot
    for l in range(L):
        alpha[0, l] *= inv
    logz += Smax + np.log(tot)
    for t in range(1, T):
        tot = 0.0
        for c in range(L):
            acc = 0.0
            row = expAT[c]
            for p in range(L):
                acc += alpha[t - 1, p] * row[p]
            v = acc * psi[t, c]
            alpha[t, c] = v
            tot += v
        if not tot >= TINY_SCALE:
            return np.nan
        scale[t] = tot
        inv = 1.0 / tot
        for c in range(L):
            alpha[t, c] *= inv
        logz += Amax + np.log(tot)
    tot = 0.0
    for l in range(L):
        tmp[l] = np.exp(E[l] - Emax)
        tot += alpha[T - 1, l] * tmp[l]
    if not tot >= TINY_SCALE:
        return np.nan
    logz += Emax + np.log(tot)
    if want == 0:
        return logz
    for l in range(L):
        beta[T - 1, l] = tmp[l] / tot
    for t in range(T - 2, -1, -1):
        inv = 1.0 / scale[t + 1]
        for c in range(L):
            tmp[c] = psi[t + 1, c] * beta[t + 1, c] * inv
        for p in range(L):
            acc = 0.0
            row = expA[p]
            for c in range(L):
                acc += row[c] * tmp[c]
            beta[t, p] = acc
        for p in range(L):
            if not np.isfinite(beta[t, p]):
                return np.nan
    for t in range(T):
        for l in range(L):
            mu[t, l] = alpha[t, l] * beta[t, l]
    if want == 2 and coef != 0.0:
        for l in range(L):
            gS[l] -= coef * mu[0, l]
            gE[l] -= coef * mu[T - 1, l]
        for t in range(1, T):
            f = coef / scale[t]
            for c in range(L):
                tmp[c] = f * psi[t, c] * beta[t, c]
            for p in range(L):
                ap = alpha[t - 1, p]
                if ap == 0.0:
                    continue
                row = expA[p]
                g = gA[p]
                for c in range(L):
                    g[c] -= ap * row[c] * tmp[c]
    return logz


@njit(cache=True, nogil=True)
def fb1_log(em, T, A, S, E, mu, coef, gA, gS, gE, want):
    """``fb1_scaled`` in log space (log-sum-exp at every cell); NaN only if em is not finite."""
    L = em.shape[1]
    la = np.empty((T, L))
    v = np.empty(L)
    for l in range(L):
        la[0, l] = S[l] + em[0, l]
    for t in range(1, T):
        for c in range(L):
            for p in range(L):
                v[p] = la[t - 1, p] + A[p, c]
            la[t, c] = em[t, c] + _lse(v, L)
    for l in range(L):
        v[l] = la[T - 1, l] + E[l]
    logz = _lse(v, L)
    if not np.isfinite(logz):
        return np.nan
    if want == 0:
        return logz
    lb = np.empty((T, L))
    for l in range(L):
        lb[T - 1, l] = E[l]
    for t in range(T - 2, -1, -1):
        for p in range(L):
            for c in range(L):
                v[c] = A[p, c] + em[t + 1, c] + lb[t + 1, c]
            lb[t, p] = _lse(v, L)
    for t in range(T):
        for l in range(L):
            mu[t, l] = np.exp(la[t, l] + lb[t, l] - logz)
    if want == 2 and coef != 0.0:
        for l in range(L):
            gS[l] -= coef * mu[0, l]
            gE[l] -= coef * mu[T - 1, l]
        for t in range(1, T):
            for p in range(L):
                for c in range(L):
                    gA[p, c] -= coef * np.exp(la[t - 1, p] + A[p, c] + em[t, c] + lb[t, c] - logz)
    return logz


@njit(cache=True, nogil=True)
def _forward2(em, T, A, B, S):
    """Second-order log forward over label pairs: la[t, b, c] (t >= 1) is the log-sum over
    prefixes y_0..y_t with (y_{t-1}, y_t) = (b, c)."""
    L = em.shape[1]
    la = np.empty((max(T, 2), L, L))
    v = np.empty(L)
    for a in range(L):
        for b in range(L):
            la[1, a, b] = S[a] + em[0, a] + A[a, b] + em[1, b]
    for t in range(2, T):
        for b in range(L):
            for c in range(L):
                for a in range(L):
                    v[a] = la[t - 1, a, b] + B[a, b, c]
                la[t, b, c] = em[t, c] + A[b, c] + _lse(v, L)
    return la


@njit(cache=True, nogil=True)
def fb2_log(em, T, A, B, S, E, mu, coef, gA, gB, gS, gE, want):
    """Second-order forward-backward in log space (label-pair states; T·L³ log-sum-exp
    terms). Returns log Z (NaN if em is not finite); ``want`` as in ``fb1_scaled``, with
    −coef·(trigram marginals) added to gB as well."""
    L = em.shape[1]
    v = np.empty(L * L)
    if T == 1:
        for a in range(L):
            v[a] = S[a] + em[0, a] + E[a]
        logz = _lse(v, L)
        if not np.isfinite(logz):
            return np.nan
        if want >= 1:
            for a in range(L):
                mu[0, a] = np.exp(v[a] - logz)
        if want == 2 and coef != 0.0:
            for a in range(L):
                gS[a] -= coef * mu[0, a]
                gE[a] -= coef * mu[0, a]
        return logz
    la = _forward2(em, T, A, B, S)
    for b in range(L):
        for c in range(L):
            v[b * L + c] = la[T - 1, b, c] + E[c]
    logz = _lse(v, L * L)
    if not np.isfinite(logz):
        return np.nan
    if want == 0:
        return logz
    lb = np.empty((T, L, L))
    for b in range(L):
        for c in range(L):
            lb[T - 1, b, c] = E[c]
    for t in range(T - 1, 1, -1):
        for a in range(L):
            for b in range(L):
                for c in range(L):
                    v[c] = B[a, b, c] + A[b, c] + em[t, c] + lb[t, b, c]
                lb[t - 1, a, b] = _lse(v, L)
    for t in range(T):
        for l in range(L):
            mu[t, l] = 0.0
    for t in range(1, T):
        for b in range(L):
            for c in range(L):
                p = np.exp(la[t, b, c] + lb[t, b, c] - logz)
                mu[t, c] += p
                if t == 1:
                    mu[0, b] += p
                if want == 2:
                    gA[b, c] -= coef * p
    if want == 2 and coef != 0.0:
        for l in range(L):
            gS[l] -= coef * mu[0, l]
            gE[l] -= coef * mu[T - 1, l]
        for t in range(2, T):
            for a in range(L):
                for b in range(L):
                    base = la[t - 1, a, b]
                    for c in range(L):
                        gB[a, b, c] -= coef * np.exp(base + B[a, b, c] + A[b, c] + em[t, c]
                                                     + lb[t, b, c] - logz)
    return logz


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def crf_chunk(indptr, indices, data, offsets, s0, s1, WT, A, B, S, E, order, y, has_y, coef,
              want, force_log, logz_out, score_out, eloss_out, mu_out, gWT, gA, gB, gS, gE):
    """Sequences [s0, s1): log Z to logz_out[s]; with labels (has_y) the score w·Ψ(x_s, y_s)
    to score_out[s] and, for want >= 1, the expected Hamming loss Σ_t (1 − μ_t(y_t)) to
    eloss_out[s]. want: 0 log Z (and score) only; 1 token marginals too, copied to
    mu_out[offsets[s]:offsets[s+1]] when mu_out has a row per token; 2 gradient too:
    g += coef[s] (Ψ(x_s, y_s) − E_π[Ψ(x_s, ·)]) into gWT (F x L, transposed emission), gA,
    gB, gS, gE. A sequence whose log Z is not finite gets NaN and adds nothing."""
    L = WT.shape[1]
    maxT = 1
    for s in range(s0, s1):
        maxT = max(maxT, offsets[s + 1] - offsets[s])
    em = np.empty((maxT, L))
    mu = np.empty((maxT, L))
    psi = np.empty((maxT, L))
    alpha = np.empty((maxT, L))
    beta = np.empty((maxT, L))
    scale = np.empty(maxT)
    tmp = np.empty(L)
    expA, expAT, Amax = transition_factors(A)
    copy_mu = mu_out.shape[0] == offsets[offsets.shape[0] - 1] and mu_out.shape[1] == L
    for s in range(s0, s1):
        r0 = offsets[s]
        r1 = offsets[s + 1]
        T = r1 - r0
        emission_scores(indptr, indices, data, r0, r1, WT, em)
        c = coef[s] if want == 2 else 0.0
        if order == 1:
            lz = np.nan
            if not force_log:
                lz = fb1_scaled(em, T, A, S, E, mu, c, gA, gS, gE, want, expA, expAT, Amax,
                                psi, alpha, beta, scale, tmp)
            if not np.isfinite(lz):
                lz = fb1_log(em, T, A, S, E, mu, c, gA, gS, gE, want)
        else:
            lz = fb2_log(em, T, A, B, S, E, mu, c, gA, gB, gS, gE, want)
        logz_out[s] = lz
        if not np.isfinite(lz):
            continue
        if want >= 1 and copy_mu:
            for t in range(T):
                for l in range(L):
                    mu_out[r0 + t, l] = mu[t, l]
        if not has_y:
            continue
        sc = S[y[r0]] + E[y[r1 - 1]]
        for t in range(T):
            sc += em[t, y[r0 + t]]
            if t >= 1:
                sc += A[y[r0 + t - 1], y[r0 + t]]
            if order == 2 and t >= 2:
                sc += B[y[r0 + t - 2], y[r0 + t - 1], y[r0 + t]]
        score_out[s] = sc
        if want >= 1:
            el = 0.0
            for t in range(T):
                el += 1.0 - mu[t, y[r0 + t]]
            eloss_out[s] = el
        if want == 2 and c != 0.0:
            gS[y[r0]] += c
            gE[y[r1 - 1]] += c
            for t in range(T):
                yt = y[r0 + t]
                if t >= 1:
                    gA[y[r0 + t - 1], yt] += c
                if order == 2 and t >= 2:
                    gB[y[r0 + t - 2], y[r0 + t - 1], yt] += c
                mu[t, yt] -= 1.0               # mu - onehot: the emission residual
                for k in range(indptr[r0 + t], indptr[r0 + t + 1]):
                    f = indices[k]
                    v = c * data[k]
                    for l in range(L):
                        gWT[f, l] -= v * mu[t, l]
    return 0


@njit(cache=True, nogil=True, inline="always")
def _draw(lw, n, u):
    """Index drawn with probability ∝ exp(lw[i]) (i < n) for a uniform u in [0, 1)."""
    m = -np.inf
    for i in range(n):
        if lw[i] > m:
            m = lw[i]
    tot = 0.0
    for i in range(n):
        tot += np.exp(lw[i] - m)
    target = u * tot
    acc = 0.0
    last = 0
    for i in range(n):
        p = np.exp(lw[i] - m)
        if p > 0.0:
            last = i
        acc += p
        if acc > target:
            return i
    return last


@njit(cache=True, nogil=True)
def sample_chunk(indptr, indices, data, offsets, s0, s1, WT, A, B, S, E, order, U, out):
    """Forward filtering, backward sampling on sequences [s0, s1), in log space: for each
    draw j, out[j, offsets[s]:offsets[s+1]] ~ π(·|x_s), exactly, driven by the uniforms
    U[j, token]. Order 1: y_{T-1} ∝ α_{T-1}·e^E, then y_t ∝ α_t(·)·e^{A[·, y_{t+1}]}; order 2
    over label pairs. Returns the number of sequences whose log Z was not finite (0)."""
    L = WT.shape[1]
    n = U.shape[0]
    maxT = 1
    for s in range(s0, s1):
        maxT = max(maxT, offsets[s + 1] - offsets[s])
    em = np.empty((maxT, L))
    la = np.empty((maxT, L))
    v = np.empty(L * L)
    bad = 0
    for s in range(s0, s1):
        r0 = offsets[s]
        r1 = offsets[s + 1]
        T = r1 - r0
        emission_scores(indptr, indices, data, r0, r1, WT, em)
        for t in range(T):
            for l in range(L):
                if not np.isfinite(em[t, l]):
                    bad += 1
        if order == 1 or T == 1:
            if order == 1:
                for l in range(L):
                    la[0, l] = S[l] + em[0, l]
                for t in range(1, T):
                    for c in range(L):
                        for p in range(L):
                            v[p] = la[t - 1, p] + A[p, c]
                        la[t, c] = em[t, c] + _lse(v, L)
            else:
                for l in range(L):
                    la[0, l] = S[l] + em[0, l]
            for j in range(n):
                for l in range(L):
                    v[l] = la[T - 1, l] + E[l]
                nxt = _draw(v, L, U[j, r1 - 1])
                out[j, r1 - 1] = nxt
                for t in range(T - 2, -1, -1):
                    for p in range(L):
                        v[p] = la[t, p] + A[p, nxt]
                    nxt = _draw(v, L, U[j, r0 + t])
                    out[j, r0 + t] = nxt
        else:
            la2 = _forward2(em, T, A, B, S)
            for j in range(n):
                for b in range(L):
                    for c in range(L):
                        v[b * L + c] = la2[T - 1, b, c] + E[c]
                k = _draw(v, L * L, U[j, r1 - 1])
                y1 = k % L
                y0 = k // L
                out[j, r1 - 1] = y1
                out[j, r1 - 2] = y0
                for t in range(T - 3, -1, -1):
                    for a in range(L):
                        v[a] = la2[t + 1, a, y0] + B[a, y0, y1]
                    a = _draw(v, L, U[j, r0 + t])
                    out[j, r0 + t] = a
                    y1 = y0
                    y0 = a
    return bad
