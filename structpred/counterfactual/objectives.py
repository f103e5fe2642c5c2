"""Counterfactual risk objectives and their gradients in the policy's weights w.

Notation: lp_i = log π_w(y_i|x_i), log w_i = lp_i − log p_i, w̄_i = min(M, w_i) (clipped
weights; M = inf: none), n examples. Every objective R(w) below returns (value, coef) with
∇_w R = Σ_i coef_i ∇_w log π_w(y_i|x_i), since ∇ w_i = w_i ∇ lp_i (0 where clipped); the
task turns coef into a gradient with ``batch_log_prob_grad``.

* ``ips``        (1/n) Σ u_i,  u_i = δ_i w̄_i                               (clipped IPS)
* ``poem``       (1/n) Σ u_i + λ sqrt(V̂(u)/n),  V̂ the sample variance (n−1)   (ICML 2015)
* ``snips``      Σ δ_i w̄_i / Σ w̄_i                                           (NIPS 2015)
* ``norm-poem``  snips + λ sqrt(Σ (δ_i − R̂)² w̄_i² / (Σ w̄_i)²)                (NIPS 2015)
* ``banditnet``  (1/n) Σ (δ_i − λ_t) w̄_i, the translated IPS                  (ICLR 2018)

(for ``banditnet`` ``translation`` = λ_t is passed in ``lam``.)

Self-normalized weights q_i = w̄_i / Σ_j w̄_j are computed as exp(log w̄_i − m) / Σ_j exp(log
w̄_j − m), m = max_j log w̄_j, so that they sum to 1 (up to rounding) however large the
log-weights are (a log-sum-exp subtracted from log-weights near 1e16 loses their digits and
the q_i no longer sum to 1); the self-normalized risk is then a convex combination of the
losses, within [min δ, max δ]. The unnormalized objectives need the weights themselves: an
unclipped weight beyond float64 (log w_i > LOG_MAX_WEIGHT ≈ 709.78) is refused.
"""
from __future__ import annotations

import math

import numpy as np

from ..boundary.arrays import check_finite_result, check_vector
from ..boundary.params import check_choice, check_positive, check_real
from ..errors import MAX_ABS_FEATURE, InvalidInputError

__all__ = ["OBJECTIVES", "LOG_MAX_WEIGHT", "risk_and_coef"]

OBJECTIVES = ("ips", "poem", "snips", "norm-poem", "banditnet")

#: log of float64's largest number (≈ 709.78): an importance weight exp(log w) above it is
#: not representable. The unnormalized objectives and estimators refuse such weights unless
#: clipped; ``_risk_and_coef`` caps them there as a last guard (they are then inactive).
LOG_MAX_WEIGHT = float(np.log(np.finfo(np.float64).max))

_SELF_NORMALIZED = ("snips", "norm-poem")


def _clip(log_w, log_clip):
    active = log_w < log_clip
    return np.minimum(log_w, log_clip), active


def risk_and_coef(objective: str, loss, log_w, lam: float = 0.0, clip=None):
    """(R, coef): the objective's value and its coefficients on ∇ log π_w(y_i|x_i), for
    ``objective`` one of OBJECTIVES, n finite losses δ_i (|δ| <= MAX_ABS_FEATURE), n
    log-weights log w_i (−inf: weight 0), ``lam`` λ >= 0 (for banditnet the translation λ_t,
    any finite number) and ``clip`` M > 0 (None or inf: no clipping).

    Weights beyond float64: for "ips", "poem" and "banditnet" without clipping a log-weight
    above LOG_MAX_WEIGHT (≈ 709.78, +inf included) is refused naming its entry (a clip M
    caps it at M); the self-normalized "snips" and "norm-poem" are invariant to a common
    scale of the weights and take any log-weight (the +inf ones then share all the mass
    equally, the limit of weights growing together; their coefficients are 0).
    InvalidInputError naming the argument otherwise, or when R is not finite."""
    check_choice(objective, "objective", OBJECTIVES)
    loss = check_vector(loss, "loss", min_length=1, low=-MAX_ABS_FEATURE, high=MAX_ABS_FEATURE)
    log_w = check_vector(log_w, "log_w", loss.shape[0], finite=False, length_of="loss")
    lam = check_real(lam, "lam", None if objective == "banditnet" else 0.0)
    clip = check_positive(clip, "clip", allow_inf=True, allow_none=True)
    if objective in _SELF_NORMALIZED and not np.any(log_w > -np.inf):
        raise InvalidInputError("log_w: every weight is 0 (log_w = -inf); the self-normalized "
                                f"{objective} is undefined")
    if objective not in _SELF_NORMALIZED and (clip is None or math.isinf(clip)):
        big = np.flatnonzero(log_w > LOG_MAX_WEIGHT)
        if big.size:
            i = int(big[0])
            raise InvalidInputError(
                f"log_w: entry {i} is {float(log_w[i])!r}, a weight beyond float64's largest "
                f"number (log {LOG_MAX_WEIGHT:.6g}); the {objective} objective needs the weights "
                "themselves: clip them (clip=M) or drop the example", i)
    value, coef = _risk_and_coef(objective, loss, log_w, lam, clip)
    check_finite_result((value, coef), f"{objective}: the risk or its gradient coefficients",
                        "loss or log_w")
    return value, coef


def _self_normalized_weights(log_w):
    """(q, finite): q_i = w_i / Σ_j w_j from log-weights, as exp(log w_i − max) normalised
    by its sum, so that Σ q_i = 1 up to rounding for any finite log-weights (1e16 or 1e300
    alike); ``finite`` False when some log w_i is +inf, and then q shares the mass equally
    among those (the limit). Needs at least one log w_i > −inf."""
    log_w = np.asarray(log_w, dtype=np.float64)
    top = log_w == np.inf
    if top.any():
        return top / float(top.sum()), False
    m = float(np.max(log_w))
    with np.errstate(under="ignore"):
        e = np.exp(log_w - m)
    return e / e.sum(), True


def _risk_and_coef(objective, loss, log_w, lam, clip):
    """risk_and_coef without the checks (the learner's inner loop, on checked inputs)."""
    n = loss.shape[0]
    finite_clip = clip is not None and math.isfinite(clip)
    if objective in ("ips", "poem", "banditnet"):
        lwc, active = _clip(log_w, math.log(clip) if finite_clip else LOG_MAX_WEIGHT)
        delta = loss - lam if objective == "banditnet" else loss
        wc = np.exp(lwc)
        u = delta * wc
        du = np.where(active, u, 0.0)            # ∂u_i/∂lp_i = δ_i w_i where not clipped
        value = float(u.mean())
        coef = du / n
        if objective == "poem" and lam > 0:
            scale = float(np.max(np.abs(u))) or 1.0
            us = u / scale
            var = float(np.var(us, ddof=1)) if n > 1 else 0.0
            sd = math.sqrt(var) * scale
            value += lam * sd / math.sqrt(n)
            if sd > 0:
                # ∂ sqrt(V/n)/∂u_i = (u_i − ū) / ((n − 1) sqrt(n V))
                coef = coef + lam * (u - u.mean()) / ((n - 1) * math.sqrt(n) * sd) * du
        return value, coef
    # self-normalized: q_i = w̄_i / Σ w̄_j; no cap (the ratio does not depend on the scale)
    if finite_clip:
        lwc, active = _clip(log_w, math.log(clip))
    else:
        lwc, active = log_w, np.ones(n, dtype=bool)
    q, finite = _self_normalized_weights(lwc)
    if not finite:        # +inf weights: the limit, they share the mass; no gradient
        active = np.zeros(n, dtype=bool)
    R = float(np.clip(np.dot(q, loss), loss.min(), loss.max()))
    # ∂R/∂lp_i = q_i (δ_i − R) where not clipped
    coef = np.where(active, q * (loss - R), 0.0)
    value = R
    if objective == "norm-poem" and lam > 0:
        e = loss - R
        V = float(np.sum(q ** 2 * e ** 2))
        if V > 0:
            sd = math.sqrt(V)
            value += lam * sd
            # V = Σ q_i² e_i²;  ∂q_j/∂lp_i = q_j(1[i=j] − q_i);  ∂e_j/∂lp_i = −∂R/∂lp_i
            dR = q * e
            dV = 2 * q ** 2 * e ** 2 - 2 * q * V - 2 * dR * np.sum(q ** 2 * e)
            coef = coef + lam * np.where(active, dV, 0.0) / (2 * sd)
    return value, coef
