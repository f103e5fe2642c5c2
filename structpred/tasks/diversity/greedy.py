"""Numba kernels of SVM-div: greedy (loss-augmented) selection and the joint feature map.

All examples of a batch are stacked: documents d in [doc_off[e], doc_off[e+1]), words in
[word_off[e], word_off[e+1]); row d of coverage level l lists the (example-local) words d
covers at that level: cov_idx[cov_ptr[l, d]:cov_ptr[l, d+1]].

Greedy objective for a subset S (word scores s_l(v) = w_l·φ(v), doc scores r(d) = w_doc·ψ(d),
redundancy scores s_R(v) = w_R·φ(v)):

    f(S) = Σ_l Σ_{v ∈ V_l(S)} s_l(v) + Σ_{v: ≥2 docs of S cover v at level 1} s_R(v)
           + Σ_{d∈S} r(d) + loss_scale · Σ_{t not covered by S} u_t / Σ u

With loss_scale = 0 this is w·Ψ(x, S) (inference); with loss_scale = 1 it is the
margin-rescaled Δ + w·Ψ up to a constant (loss-augmented inference). Each step adds the
document with the largest marginal gain (ties: lowest index), k steps, never a document twice.
Inference is plain greedy: (1 - 1/e)-optimal when all scores are >= 0 (monotone submodular f).
The loss term is supermodular (uncovered subtopic weight), so loss-augmented greedy has no
such guarantee; it is followed by 1-swap local search (and, when n <= 4k, three more starts),
which repairs most myopic choices.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["greedy_batch", "psi_batch", "subset_loss_batch", "row_scores"]


@njit(cache=True, nogil=True)
def _gain(d, w0, cov_ptr, cov_idx, cnt, word_score, red_score, use_red, doc_score, top_ptr,
          top_idx, tcnt, t0, top_w, loss_scale, score_scale=1.0):
    """f(S + d) - f(S) for d not in S, given the coverage counts of S (the w·Ψ part scaled by
    score_scale, the loss part by loss_scale)."""
    g = 0.0
    if score_scale != 0.0:
        g = doc_score[d]
        for lvl in range(cov_ptr.shape[0]):
            for p in range(cov_ptr[lvl, d], cov_ptr[lvl, d + 1]):
                v = cov_idx[p]
                if cnt[lvl, v] == 0:
                    g += word_score[lvl, w0 + v]
                elif lvl == 0 and use_red and cnt[0, v] == 1:
                    g += red_score[w0 + v]
        g *= score_scale
    if loss_scale != 0.0:
        for p in range(top_ptr[d], top_ptr[d + 1]):
            t = top_idx[p]
            if tcnt[t] == 0:
                g -= loss_scale * top_w[t0 + t]
    return g


@njit(cache=True, nogil=True)
def _update(d, sign, cov_ptr, cov_idx, cnt, top_ptr, top_idx, tcnt):
    for lvl in range(cov_ptr.shape[0]):
        for p in range(cov_ptr[lvl, d], cov_ptr[lvl, d + 1]):
            cnt[lvl, cov_idx[p]] += sign
    for p in range(top_ptr[d], top_ptr[d + 1]):
        tcnt[top_idx[p]] += sign


@njit(cache=True, nogil=True)
def _removal_delta(d, w0, cov_ptr, cov_idx, cnt, word_score, red_score, use_red, doc_score,
                   top_ptr, top_idx, tcnt, t0, top_w, loss_scale):
    """f(S - d) - f(S) for d in S, given the coverage counts of S."""
    g = -doc_score[d]
    for lvl in range(cov_ptr.shape[0]):
        for p in range(cov_ptr[lvl, d], cov_ptr[lvl, d + 1]):
            v = cov_idx[p]
            if cnt[lvl, v] == 1:
                g -= word_score[lvl, w0 + v]
            elif lvl == 0 and use_red and cnt[0, v] == 2:
                g -= red_score[w0 + v]
    if loss_scale != 0.0:
        for p in range(top_ptr[d], top_ptr[d + 1]):
            t = top_idx[p]
            if tcnt[t] == 1:
                g += loss_scale * top_w[t0 + t]
    return g


@njit(cache=True, nogil=True)
def _value(w0, nw, t0, nt, cnt, tcnt, sel, kk, d0, word_score, red_score, use_red, doc_score,
           top_w, loss_scale):
    """f(S) from the coverage counts of S (S = sel[:kk], documents local to d0)."""
    f = 0.0
    for s in range(kk):
        f += doc_score[d0 + sel[s]]
    for lvl in range(cnt.shape[0]):
        for v in range(nw):
            if cnt[lvl, v] > 0:
                f += word_score[lvl, w0 + v]
    if use_red:
        for v in range(nw):
            if cnt[0, v] >= 2:
                f += red_score[w0 + v]
    for t in range(nt):
        if tcnt[t] == 0:
            f += loss_scale * top_w[t0 + t]
    return f


@njit(cache=True, nogil=True)
def _local_search(sel, kk, n, d0, w0, t0, chosen, cov_ptr, cov_idx, cnt, word_score, red_score,
                  use_red, doc_score, top_ptr, top_idx, tcnt, top_w, loss_scale, max_swaps):
    """1-swap local search on sel[:kk] in place (first improvement per position)."""
    for _ in range(max_swaps):
        improved = False
        for pos in range(kk):
            a = sel[pos]
            _update(d0 + a, -1, cov_ptr, cov_idx, cnt, top_ptr, top_idx, tcnt)
            chosen[a] = 0
            base = _gain(d0 + a, w0, cov_ptr, cov_idx, cnt, word_score, red_score, use_red,
                         doc_score, top_ptr, top_idx, tcnt, t0, top_w, loss_scale)
            best = a
            best_gain = base
            for i in range(n):
                if chosen[i] or i == a:
                    continue
                g = _gain(d0 + i, w0, cov_ptr, cov_idx, cnt, word_score, red_score, use_red,
                          doc_score, top_ptr, top_idx, tcnt, t0, top_w, loss_scale)
                if g > best_gain + 1e-12 * (1.0 + abs(base)):
                    best_gain = g
                    best = i
            if best != a:
                improved = True
            chosen[best] = 1
            sel[pos] = best
            _update(d0 + best, 1, cov_ptr, cov_idx, cnt, top_ptr, top_idx, tcnt)
        if not improved:
            break


@njit(cache=True, nogil=True)
def _greedy_fill(sel, kk, n, d0, w0, t0, chosen, cov_ptr, cov_idx, cnt, word_score, red_score,
                 use_red, doc_score, top_ptr, top_idx, tcnt, top_w, loss_scale, score_scale):
    """Greedy: sel[:kk] in selection order; chosen / cnt / tcnt must start empty."""
    for step in range(kk):
        best = -1
        best_gain = -np.inf
        for i in range(n):
            if chosen[i]:
                continue
            g = _gain(d0 + i, w0, cov_ptr, cov_idx, cnt, word_score, red_score, use_red,
                      doc_score, top_ptr, top_idx, tcnt, t0, top_w, loss_scale, score_scale)
            if g > best_gain:
                best_gain = g
                best = i
        chosen[best] = 1
        sel[step] = best
        _update(d0 + best, 1, cov_ptr, cov_idx, cnt, top_ptr, top_idx, tcnt)


@njit(cache=True, nogil=True)
def _reverse_fill(sel, kk, n, d0, w0, t0, chosen, cov_ptr, cov_idx, cnt, word_score, red_score,
                  use_red, doc_score, top_ptr, top_idx, tcnt, top_w, loss_scale):
    """Reverse greedy: from all n documents drop the one whose removal raises f most until kk
    remain (sel[:kk] in index order); chosen / cnt / tcnt must start empty."""
    for i in range(n):
        chosen[i] = 1
        _update(d0 + i, 1, cov_ptr, cov_idx, cnt, top_ptr, top_idx, tcnt)
    for _ in range(n - kk):
        best = -1
        best_delta = -np.inf
        for i in range(n):
            if chosen[i] == 0:
                continue
            dl = _removal_delta(d0 + i, w0, cov_ptr, cov_idx, cnt, word_score, red_score,
                                use_red, doc_score, top_ptr, top_idx, tcnt, t0, top_w,
                                loss_scale)
            if dl > best_delta:
                best_delta = dl
                best = i
        chosen[best] = 0
        _update(d0 + best, -1, cov_ptr, cov_idx, cnt, top_ptr, top_idx, tcnt)
    c = 0
    for i in range(n):
        if chosen[i]:
            sel[c] = i
            c += 1


@njit(cache=True, nogil=True)
def greedy_batch(examples, k, doc_off, word_off, cov_ptr, cov_idx, word_score, red_score,
                 use_red, doc_score, top_ptr, top_idx, top_off, top_w, loss_scale, max_swaps,
                 out):
    """Fill out[j, :min(k, n)] with the greedy order for example examples[j] (rest -1).

    With max_swaps > 0, the greedy subset is then improved by 1-swap local search (replace a
    selected document by an unselected one while that raises f; at most max_swaps passes
    over the positions); a swapped-in document takes the place of the one it replaces. When
    there are few candidates per slot (k < n <= 4k) three more starts are tried, each
    followed by local search, and the best subset kept: greedy on w·Ψ alone, greedy on the
    loss alone, and reverse greedy (drop the document whose removal raises f most).
    """
    n_levels = cov_ptr.shape[0]
    for j in range(examples.shape[0]):
        e = examples[j]
        d0 = doc_off[e]
        n = doc_off[e + 1] - d0
        w0 = word_off[e]
        nw = word_off[e + 1] - w0
        t0 = top_off[e]
        nt = top_off[e + 1] - t0
        cnt = np.zeros((n_levels, nw), dtype=np.int64)
        tcnt = np.zeros(nt, dtype=np.int64)
        chosen = np.zeros(n, dtype=np.uint8)
        kk = min(k, n)
        for step in range(k):
            out[j, step] = -1
        sel = np.empty(kk, dtype=np.int64)
        _greedy_fill(sel, kk, n, d0, w0, t0, chosen, cov_ptr, cov_idx, cnt, word_score,
                     red_score, use_red, doc_score, top_ptr, top_idx, tcnt, top_w, loss_scale,
                     1.0)
        if max_swaps > 0:
            _local_search(sel, kk, n, d0, w0, t0, chosen, cov_ptr, cov_idx, cnt, word_score,
                          red_score, use_red, doc_score, top_ptr, top_idx, tcnt, top_w,
                          loss_scale, max_swaps)
        for s in range(kk):
            out[j, s] = sel[s]
        if max_swaps <= 0 or n > 4 * kk or n == kk:
            continue
        best_f = _value(w0, nw, t0, nt, cnt, tcnt, sel, kk, d0, word_score, red_score, use_red,
                        doc_score, top_w, loss_scale)
        for start in range(3):
            cnt[:, :] = 0
            tcnt[:] = 0
            chosen[:] = 0
            if start == 2:
                _reverse_fill(sel, kk, n, d0, w0, t0, chosen, cov_ptr, cov_idx, cnt,
                              word_score, red_score, use_red, doc_score, top_ptr, top_idx,
                              tcnt, top_w, loss_scale)
            else:
                _greedy_fill(sel, kk, n, d0, w0, t0, chosen, cov_ptr, cov_idx, cnt,
                             word_score, red_score, use_red, doc_score, top_ptr, top_idx, tcnt,
                             top_w, loss_scale * start, 1.0 - start)
            _local_search(sel, kk, n, d0, w0, t0, chosen, cov_ptr, cov_idx, cnt, word_score,
                          red_score, use_red, doc_score, top_ptr, top_idx, tcnt, top_w,
                          loss_scale, max_swaps)
            f = _value(w0, nw, t0, nt, cnt, tcnt, sel, kk, d0, word_score, red_score, use_red,
                       doc_score, top_w, loss_scale)
            if f > best_f + 1e-12 * (1.0 + abs(best_f)):
                best_f = f
                for s in range(kk):
                    out[j, s] = sel[s]


@njit(cache=True, nogil=True)
def psi_batch(examples, sel, doc_off, word_off, cov_ptr, cov_idx, phi, doc_feats, use_red, out):
    """out[j] = Ψ(x_e, S) for e = examples[j] and S = the non-negative entries of sel[j].

    Layout: [level 1 block | ... | level L block | redundancy block (if use_red) | doc block],
    word blocks of width p = phi.shape[1], doc block of width q = doc_feats.shape[1].
    """
    n_levels = cov_ptr.shape[0]
    p_dim = phi.shape[1]
    q_dim = doc_feats.shape[1]
    doc_base = (n_levels + (1 if use_red else 0)) * p_dim
    for j in range(examples.shape[0]):
        e = examples[j]
        d0 = doc_off[e]
        w0 = word_off[e]
        nw = word_off[e + 1] - w0
        for c in range(out.shape[1]):
            out[j, c] = 0.0
        covered = np.zeros((n_levels, nw), dtype=np.uint8)
        count1 = np.zeros(nw, dtype=np.int64)
        for s in range(sel.shape[1]):
            i = sel[j, s]
            if i < 0:
                continue
            d = d0 + i
            for c in range(q_dim):
                out[j, doc_base + c] += doc_feats[d, c]
            for lvl in range(n_levels):
                for p in range(cov_ptr[lvl, d], cov_ptr[lvl, d + 1]):
                    covered[lvl, cov_idx[p]] = 1
            for p in range(cov_ptr[0, d], cov_ptr[0, d + 1]):
                count1[cov_idx[p]] += 1
        for lvl in range(n_levels):
            base = lvl * p_dim
            for v in range(nw):
                if covered[lvl, v]:
                    for c in range(p_dim):
                        out[j, base + c] += phi[w0 + v, c]
        if use_red:
            base = n_levels * p_dim
            for v in range(nw):
                if count1[v] >= 2:
                    for c in range(p_dim):
                        out[j, base + c] += phi[w0 + v, c]


@njit(cache=True, nogil=True)
def subset_loss_batch(sel, doc_off, top_ptr, top_idx, top_off, top_w, out):
    """out[e] = L_T(S_e) = Σ_{t not covered by S_e} u_t / Σ u (top_w holds u_t / Σ u; a query
    whose weights are all 0 gets loss 0)."""
    for e in range(sel.shape[0]):
        t0 = top_off[e]
        nt = top_off[e + 1] - t0
        tcov = np.zeros(nt, dtype=np.uint8)
        total = 0.0
        for t in range(nt):
            total += top_w[t0 + t]
        for s in range(sel.shape[1]):
            i = sel[e, s]
            if i < 0:
                continue
            d = doc_off[e] + i
            for p in range(top_ptr[d], top_ptr[d + 1]):
                tcov[top_idx[p]] = 1
        lost = 0.0
        for t in range(nt):
            if tcov[t] == 0:
                lost += top_w[t0 + t]
        out[e] = lost if total > 0 else 0.0


@njit(cache=True, nogil=True)
def row_scores(feats, W, out):
    """out[r, i] = W[r] · feats[i] (a plain loop: no BLAS threads, cheap on small widths)."""
    for r in range(W.shape[0]):
        for i in range(feats.shape[0]):
            s = 0.0
            for c in range(feats.shape[1]):
                s += W[r, c] * feats[i, c]
            out[r, i] = s
