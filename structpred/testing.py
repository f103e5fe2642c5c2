"""Brute-force references for checking a task's oracles on tiny instances.

Every oracle of every task is tested against these: enumerate all outputs, score each with
the task's own ``joint_feature`` and ``loss``, and take the argmax. The probabilistic hooks
(log Z, log π, its gradient, marginals, expected loss, sampling) are checked the same way:
the exact Gibbs distribution π_w(y|x) ∝ exp(w·Ψ(x, y)) over a given list of all outputs.
"""
from __future__ import annotations

from typing import Callable, Iterable, Sequence

import numpy as np

from .model import StructuredModel, to_sparse_row

__all__ = ["exhaustive_inference", "exhaustive_loss_augmented_inference",
           "exhaustive_slack_rescaled_inference", "score_output", "exhaustive_distribution",
           "check_probabilistic_hooks", "check_batch_hooks", "sampling_chi_square"]


def score_output(model: StructuredModel, x, y, w) -> float:
    """w·Ψ(x, y) computed from ``joint_feature``."""
    row = to_sparse_row(model.joint_feature(x, y), model.size_joint_feature)
    return float((row @ np.asarray(w, dtype=np.float64))[0])


def _best(candidates, value):
    best_y, best_v = None, -np.inf
    for cand in candidates:
        v = value(cand)
        if v > best_v:
            best_y, best_v = cand, v
    if best_y is None:
        raise ValueError("no candidate outputs to enumerate")
    return best_y, best_v


def exhaustive_inference(model, x, w, candidates: Iterable):
    """(argmax_y w·Ψ(x, y), its score) over the given candidate outputs."""
    return _best(candidates, lambda c: score_output(model, x, c, w))


def exhaustive_loss_augmented_inference(model, x, y, w, candidates: Iterable):
    """(argmax_y' Δ(y, y') + w·Ψ(x, y'), its value) over the candidates."""
    return _best(candidates, lambda c: model.loss(y, c) + score_output(model, x, c, w))


def exhaustive_slack_rescaled_inference(model, x, y, w, candidates: Iterable):
    """(argmax_y' Δ(y, y')(1 + w·Ψ(x, y') - w·Ψ(x, y)), its value) over the candidates."""
    s_true = score_output(model, x, y, w)
    return _best(candidates,
                 lambda c: model.loss(y, c) * (1.0 + score_output(model, x, c, w) - s_true))


# ------------------------------------------------------------------ probabilistic hooks
def _dense_psi(model, x, y) -> np.ndarray:
    return to_sparse_row(model.joint_feature(x, y), model.size_joint_feature).toarray().ravel()


def exhaustive_distribution(model: StructuredModel, x, w, outputs: Sequence):
    """(log_probs, log_Z) of the Gibbs policy over ``outputs`` (which must list every output
    of x exactly once): log π(y_k|x) = w·Ψ(x, y_k) − log Σ_j exp(w·Ψ(x, y_j))."""
    scores = np.array([score_output(model, x, y, w) for y in outputs], dtype=np.float64)
    if scores.size == 0:
        raise ValueError("no outputs to enumerate")
    m = scores.max()
    log_z = float(m + np.log(np.exp(scores - m).sum()))
    return scores - log_z, log_z


def _close(name, got, want, rtol):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        raise AssertionError(f"{name}: shape {got.shape}, brute force {want.shape}")
    scale = max(1.0, float(np.max(np.abs(want))) if want.size else 1.0)
    err = float(np.max(np.abs(got - want))) if want.size else 0.0
    if not np.all(np.isfinite(got)) or err > rtol * scale:
        raise AssertionError(f"{name}: max |hook - brute force| = {err:.3g} > {rtol:g} x "
                             f"{scale:.3g}\nhook: {got}\nbrute force: {want}")


def check_probabilistic_hooks(model: StructuredModel, x, y, w, outputs: Sequence,
                              indicator: Callable | None = None, rtol: float = 1e-9,
                              hooks=("log_partition", "log_prob", "log_prob_grad",
                                     "expected_loss", "marginals")) -> dict:
    """Assert that the task's probabilistic hooks at (x, y, w) equal brute-force enumeration
    over ``outputs`` (every output of x, once each), to ``rtol`` relative to max(1, |value|):

    * log_partition  log Σ_k exp(w·Ψ(x, y_k))
    * log_prob       w·Ψ(x, y) − log Z
    * log_prob_grad  Ψ(x, y) − Σ_k π_k Ψ(x, y_k)
    * expected_loss  Σ_k π_k Δ(y, y_k): an exact hook (stderr 0) must match to rtol, a
      Monte-Carlo one within 5 standard errors
    * marginals      Σ_k π_k indicator(y_k) (only when ``indicator`` maps an output to an array
      laid out like the task's ``marginals``)

    Returns the brute-force values (dict). Raises AssertionError naming the quantity."""
    log_p, log_z = exhaustive_distribution(model, x, w, outputs)
    p = np.exp(log_p)
    psi = np.array([_dense_psi(model, x, o) for o in outputs])
    ref = {"log_partition": log_z, "log_probs": log_p,
           "log_prob": float(score_output(model, x, y, w) - log_z),
           "log_prob_grad": _dense_psi(model, x, y) - p @ psi,
           "expected_loss": float(sum(pk * model.loss(y, o) for pk, o in zip(p, outputs)))}
    if "log_partition" in hooks:
        _close("log_partition", model.log_partition(x, w), log_z, rtol)
    if "log_prob" in hooks:
        _close("log_prob", model.log_prob(x, y, w), ref["log_prob"], rtol)
    if "log_prob_grad" in hooks:
        _close("log_prob_grad", np.asarray(model.log_prob_grad(x, y, w), dtype=np.float64).ravel(),
               ref["log_prob_grad"], rtol)
    if "expected_loss" in hooks:
        mean, err = model.expected_loss(x, y, w, n_samples=20000, random_state=0)
        if err == 0.0:
            _close("expected_loss", mean, ref["expected_loss"], rtol)
        elif abs(mean - ref["expected_loss"]) > 5 * err:
            raise AssertionError(f"expected_loss: Monte-Carlo {mean} +- {err}, exact "
                                 f"{ref['expected_loss']}")
    if indicator is not None:
        marg = sum(pk * np.asarray(indicator(o), dtype=np.float64) for pk, o in zip(p, outputs))
        ref["marginals"] = marg
        if "marginals" in hooks:
            _close("marginals", model.marginals(x, w), marg, rtol)
    return ref


def check_batch_hooks(model: StructuredModel, X, Y, w, coef=None, Y_other=None,
                      rtol: float = 1e-9) -> None:
    """Assert that the batch forms (``batch_log_prob``, ``batch_log_prob_grad``,
    ``batch_expected_loss`` when exact) agree with the single-example forms on (X, Y), and,
    with ``Y_other``, on other structures than the batch's labels."""
    batch = model.make_batch(X, Y)
    n = len(X)
    coef = np.ones(n) if coef is None else np.asarray(coef, dtype=np.float64)
    for labels, given in ((Y, None), (Y_other, Y_other)):
        if labels is None:
            continue
        lp_single = [model.log_prob(x, y, w) for x, y in zip(X, labels)]
        _close("batch_log_prob", model.batch_log_prob(batch, w, Y=given), lp_single, rtol)
        g_single = sum(c * np.asarray(model.log_prob_grad(x, y, w), dtype=np.float64).ravel()
                       for c, x, y in zip(coef, X, labels))
        lp, g = model.batch_log_prob_grad(batch, w, coef, Y=given)
        _close("batch_log_prob_grad (log_probs)", lp, lp_single, rtol)
        _close("batch_log_prob_grad (gradient)", g, g_single, rtol)
    means, errs = model.batch_expected_loss(batch, w)
    single = [model.expected_loss(x, y, w) for x, y in zip(X, Y)]
    if np.all(np.asarray(errs) == 0.0):
        _close("batch_expected_loss", means, [m for m, _ in single], rtol)


def sampling_chi_square(model: StructuredModel, x, w, outputs: Sequence, n: int = 20000,
                        random_state=0, key: Callable = None) -> float:
    """p-value of Pearson's chi-square test of ``model.sample(x, w, n, random_state)`` against
    the exact Gibbs distribution over ``outputs`` (outcomes whose expected count is below 5
    are pooled into one cell). A draw that is not among ``outputs`` raises AssertionError."""
    from scipy.stats import chisquare
    key = key or (lambda o: tuple(np.atleast_1d(np.asarray(o)).tolist()))
    log_p, _ = exhaustive_distribution(model, x, w, outputs)
    index = {key(o): k for k, o in enumerate(outputs)}
    draws = model.sample(x, w, n, random_state)
    if len(draws) != n:
        raise AssertionError(f"sample returned {len(draws)} draws, asked for {n}")
    counts = np.zeros(len(outputs))
    for d in draws:
        k = index.get(key(d))
        if k is None:
            raise AssertionError(f"sample drew {d!r}, which is not among the outputs")
        counts[k] += 1
    expected = n * np.exp(log_p)
    big = expected >= 5
    obs = list(counts[big]) + ([counts[~big].sum()] if (~big).any() else [])
    exp = list(expected[big]) + ([expected[~big].sum()] if (~big).any() else [])
    if len(obs) < 2:
        return 1.0
    exp = np.asarray(exp) * (np.sum(obs) / np.sum(exp))
    return float(chisquare(obs, exp).pvalue)
