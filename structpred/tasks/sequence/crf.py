"""The probabilistic hooks of ``SequenceLabeling``: the linear-chain CRF over its Ψ.

π_w(y|x) ∝ exp(w·Ψ(x, y)), w·Ψ as in ``SequenceLabeling`` (emissions, bigram and, at order 2,
trigram transitions, optional start/end weights). Exact: log Z (forward algorithm), log π,
its gradient Ψ(x, y) − E_π[Ψ] (forward-backward marginals), token marginals (T x L),
transition marginals, the expected Hamming loss Σ_t (1 − μ_t(y_t)) (standard error 0).
Sampling is exact too (forward filtering, backward sampling). Kernels in ``crf_kernels``.
"""
from __future__ import annotations

import numpy as np

from ...errors import InvalidInputError
from ...boundary.params import check_n_samples
from ...logspace import as_generator
from ...parallel import effective_jobs, map_chunks
from . import crf_kernels

__all__ = ["ChainCRFHooks"]


def _label_array(v, i) -> np.ndarray:
    """Y[i] as an int64 array: 1-D, integer-valued (range checked by the caller)."""
    arr = np.asarray(v)
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iub" and not (
            arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr))
            and np.all(np.abs(arr) < 2 ** 31))):
        raise InvalidInputError(f"Y[{i}]: expected a 1-D array of integer labels, got "
                                f"shape {arr.shape}, dtype {arr.dtype}", i)
    return arr.astype(np.int64)


class ChainCRFHooks:
    """Mixin of SequenceLabeling: the probabilistic hooks as batch forms over the stacked
    ``SequenceBatch`` (numba kernels, threads over sequence ranges); the single forms run
    the batch forms on a batch of one."""

    #: First-order chains use the scaled forward-backward (one normalising scale per token),
    #: falling back to pure log space per sequence when a scale underflows; True forces log
    #: space everywhere (the tests check both against brute force).
    force_log_space = False

    # ------------------------------------------------------------ helpers
    def _labels_for(self, batch, Y, method):
        """Flat labels of the batch (Y given, else the batch's own), checked in [0, L)."""
        L = self.n_labels_
        if Y is None:
            if batch.y is None:
                raise ValueError(f"SequenceLabeling.{method} needs labels: the batch was built "
                                 "without Y")
            y = batch.y
            per_seq = batch.Y
        else:
            per_seq = list(Y)
            if len(per_seq) != len(batch):
                raise InvalidInputError(f"Y has {len(per_seq)} label sequences for {len(batch)} "
                                        "examples")
            per_seq = [_label_array(v, i) for i, v in enumerate(per_seq)]
            for i, v in enumerate(per_seq):
                T = int(batch.offsets[i + 1] - batch.offsets[i])
                if v.shape[0] != T:
                    raise InvalidInputError(f"Y[{i}] has {v.shape[0]} labels but X[{i}] has {T} "
                                            "tokens", i)
            y = np.concatenate(per_seq) if per_seq else np.zeros(0, np.int64)
        if y.size and (y.min() < 0 or y.max() >= L):
            k = int(np.flatnonzero((y < 0) | (y >= L))[0])
            i = int(np.searchsorted(batch.offsets, k, side="right") - 1)
            raise InvalidInputError(f"Y[{i}]: label {int(y[k])} is outside the task's labels "
                                    f"0..{L - 1}", i)
        return np.ascontiguousarray(y, dtype=np.int64)

    def _crf_pass(self, batch, w, y, want, coef=None, mu_out=None, n_jobs=1):
        """Run ``crf_chunk`` over the batch: (log Z, scores, expected losses, gradient)."""
        WT, A, B, S, E = self._split_w(w)
        n = len(batch)
        L, F = self.n_labels_, self.n_features_
        order = int(self.transition_order)
        has_y = y is not None
        yy = y if has_y else np.zeros(1, np.int64)
        coef = np.zeros(n) if coef is None else np.ascontiguousarray(coef, dtype=np.float64)
        logz = np.full(n, np.nan)
        score = np.zeros(n)
        eloss = np.zeros(n)
        mu = mu_out if mu_out is not None else np.zeros((1, 1))
        jobs = effective_jobs(n_jobs)
        chunks = self._chunks(batch, n_jobs)
        grad = want == 2

        def buffers():
            if not grad:
                z = np.zeros((1, 1))
                return z, z, np.zeros((1, 1, 1)), np.zeros(1), np.zeros(1)
            return (np.zeros((F, L)), np.zeros((L, L)), np.zeros(B.shape), np.zeros(L),
                    np.zeros(L))

        shared = buffers() if jobs == 1 or len(chunks) == 1 else None

        def work(s0, s1):
            bufs = shared if shared is not None else buffers()
            crf_kernels.crf_chunk(batch.indptr, batch.indices, batch.data, batch.offsets, s0, s1,
                                  WT, A, B, S, E, order, yy, has_y, coef, want,
                                  bool(self.force_log_space), logz, score, eloss, mu, *bufs)
            return bufs
        parts = map_chunks(work, chunks, n_jobs)
        bad = np.flatnonzero(~np.isfinite(logz))
        if bad.size:
            i = int(bad[0])
            raise InvalidInputError(f"X[{i}]: the score w·Ψ(x, y) overflows float64 (weights or "
                                    "features too large); log Z(x; w) would be inf/NaN", i)
        g = None
        if grad:
            if shared is not None:
                gWT, gA, gB, gS, gE = shared
            else:
                gWT, gA, gB, gS, gE = (sum(p[k] for p in parts) for k in range(5))
            blocks = [gWT.ravel(), gA.ravel()]   # emission block feature-major, as in w
            if order == 2:
                blocks.append(gB.ravel())
            if self.boundary_transitions:
                blocks += [gS, gE]
            g = np.concatenate(blocks)
        return logz, score, eloss, g

    # ------------------------------------------------------------ batch forms
    def batch_log_partition(self, batch, w, n_jobs: int = 1) -> np.ndarray:
        """[log Z(x_i; w)], exact (forward algorithm)."""
        return self._crf_pass(batch, w, None, 0, n_jobs=n_jobs)[0]

    def batch_log_prob(self, batch, w, Y=None, n_jobs: int = 1) -> np.ndarray:
        """[w·Ψ(x_i, y_i) − log Z(x_i; w)], exact; labels outside 0..L-1 raise
        InvalidInputError naming Y[i]."""
        y = self._labels_for(batch, Y, "batch_log_prob")
        logz, score, _, _ = self._crf_pass(batch, w, y, 0, n_jobs=n_jobs)
        return score - logz

    def batch_log_prob_grad(self, batch, w, coef, Y=None, n_jobs: int = 1):
        """(log_probs, Σ_i coef_i (Ψ(x_i, y_i) − E_π[Ψ(x_i, ·)])), exact (forward-backward);
        the gradient dense, laid out like w."""
        y = self._labels_for(batch, Y, "batch_log_prob_grad")
        coef = np.asarray(coef, dtype=np.float64).ravel()
        if coef.shape[0] != len(batch):
            raise InvalidInputError(f"coef has {coef.shape[0]} entries for {len(batch)} examples")
        logz, score, _, g = self._crf_pass(batch, w, y, 2, coef=coef, n_jobs=n_jobs)
        return score - logz, g

    def batch_marginals(self, batch, w, n_jobs: int = 1) -> list:
        """[T_i x L token marginals μ_t(l) = π_w(y_t = l | x_i)], exact."""
        mu = np.zeros((batch.n_tokens, self.n_labels_))
        self._crf_pass(batch, w, None, 1, mu_out=mu, n_jobs=n_jobs)
        return batch.split(mu)

    def batch_expected_loss(self, batch, w, n_samples: int = 1000, random_state=None,
                            n_jobs: int = 1):
        """(Σ_t (1 − μ_t(y_t)) per sequence, zeros): the expected Hamming loss, exact."""
        y = self._labels_for(batch, None, "batch_expected_loss")
        _, _, eloss, _ = self._crf_pass(batch, w, y, 1, n_jobs=n_jobs)
        return eloss, np.zeros(len(batch))

    def batch_sample(self, batch, w, n: int, random_state=None, n_jobs: int = 1) -> list:
        """[n label sequences drawn from π_w(·|x_i)] per example (forward filtering, backward
        sampling; exact). The uniforms come from one Generator seeded by ``random_state``."""
        n = check_n_samples(n)
        rng = as_generator(random_state)
        WT, A, B, S, E = self._split_w(w)
        U = rng.random((n, batch.n_tokens))
        out = np.empty((n, batch.n_tokens), dtype=np.int64)
        order = int(self.transition_order)

        def work(s0, s1):
            return crf_kernels.sample_chunk(batch.indptr, batch.indices, batch.data,
                                            batch.offsets, s0, s1, WT, A, B, S, E, order, U, out)
        bad = sum(map_chunks(work, self._chunks(batch, n_jobs), n_jobs))
        if bad:
            self.batch_log_partition(batch, w)   # raises naming the sequence
        return [[out[j, batch.offsets[i]:batch.offsets[i + 1]].copy() for j in range(n)]
                for i in range(len(batch))]

    # ------------------------------------------------------------ single forms
    def log_partition(self, x, w) -> float:
        """log Z(x; w), exact."""
        return float(self.batch_log_partition(self.make_batch([x]), w)[0])

    def log_prob(self, x, y, w) -> float:
        """log π_w(y|x) = w·Ψ(x, y) − log Z(x; w), exact."""
        return float(self.batch_log_prob(self.make_batch([x], [y]), w)[0])

    def log_prob_grad(self, x, y, w) -> np.ndarray:
        """Ψ(x, y) − E_π[Ψ(x, ·)], exact, dense."""
        return self.batch_log_prob_grad(self.make_batch([x], [y]), w, np.ones(1))[1]

    def marginals(self, x, w) -> np.ndarray:
        """T x L token marginals, exact."""
        return self.batch_marginals(self.make_batch([x]), w)[0]

    def transition_counts(self, x, w) -> np.ndarray:
        """L x L expected bigram counts Σ_t π(y_{t-1} = p, y_t = c | x) (the bigram block of
        E_π[Ψ]; the transition marginals summed over t), exact."""
        L = self.n_labels_
        b = self.make_batch([x])
        T = b.n_tokens
        # the bigram block of E_π[Ψ] is −(gradient of the bigram block) with coef 1 at a
        # labelling whose own bigram counts we add back
        y0 = np.zeros(T, dtype=np.int64)
        _, g = self.batch_log_prob_grad(self.make_batch([x], [y0]), w, np.ones(1))
        pos = L * self.n_features_
        counts = -g[pos:pos + L * L].reshape(L, L)
        counts[0, 0] += T - 1
        return counts

    def sample(self, x, w, n: int, random_state=None) -> list:
        """n label sequences drawn exactly from π_w(·|x)."""
        return self.batch_sample(self.make_batch([x]), w, n, random_state)[0]

    def expected_loss(self, x, y, w, n_samples: int = 1000, random_state=None):
        """(E_π[Hamming(y, ·)], 0.0), exact from the token marginals."""
        m, e = self.batch_expected_loss(self.make_batch([x], [y]), w)
        return float(m[0]), 0.0
