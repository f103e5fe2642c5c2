"""A relevance model pooled over the items for the news simulation's merit estimate: the
position-based likelihood of a logistic model of the user-item features, fitted from the click
log with the propensities known, then averaged over the known population of users.

Model (its assumptions): user u finds item d relevant with probability
σ(θ·φ(ρ_d - ρ_u, o_u)), the same θ for every item; the relevance depends on the pair only through
the polarity difference Δ = ρ_d - ρ_u (item and user polarities observed) and the user's
openness o_u (observed). φ is a tensor of Legendre polynomials P_i(Δ/2) P_j(z), z the openness
mapped to [-1, 1], i <= degree[0], j <= degree[1], i + j <= degree[0]: a generic smooth surface, not
the simulator's Gaussian kernel (which it does not contain). A click is examination (probability
v_k at rank k, known) and relevance: click ~ Bernoulli(v_k σ(θ·φ)). θ maximises the penalised
log-likelihood Σ_rows [c log(v σ) + (1 - c) log(1 - v σ)] - ridge ||θ_{1:}||² (every shown item of
every user is a row) by Fisher scoring with backtracking. The merit is then
R̂(d) = Σ_g W_g σ(θ·φ(ρ_d - ρ_g, o_g)) over a quadrature grid (ρ_g, o_g, W_g) of the known user
distribution (``population_grid``). Pooling the 30 items into one model is what lowers the
variance against the per-stratum maximum likelihood (fairness_dynamic_estimators.md); a model
per item does not (it has a stratum's data only). Misspecified, the estimate is biased; the
tests measure that bias on the simulator's known merit.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ...boundary.arrays import check_flags, check_matrix, check_vector
from ...boundary.params import check_int, check_real
from ...errors import InvalidInputError
from .clicklog import check_click_log

__all__ = ["pair_features", "log_features", "population_grid", "fit_pooled", "pooled_merit",
           "population_features", "merit_of", "check_model"]


def _legendre(x, deg):
    """P_0..P_deg at x (rows: the degree), by the three-term recurrence."""
    out = np.empty((deg + 1,) + np.shape(x))
    out[0] = 1.0
    if deg >= 1:
        out[1] = x
    for k in range(1, deg):
        out[k + 1] = ((2 * k + 1) * x * out[k] - k * out[k - 1]) / (k + 1)
    return out


def pair_features(delta, openness, open_range, degree=(6, 2)):
    """φ(Δ, o) = [P_i(Δ/2) P_j(z)] for i <= degree[0], j <= degree[1], i + j <= degree[0], with
    z = 2 (o - lo)/(hi - lo) - 1 (``open_range`` = (lo, hi)); rows = pairs, column 0 the
    constant. Legendre rather than monomials: the columns are near orthogonal on [-1, 1]."""
    D, M = int(degree[0]), int(degree[1])
    lo, hi = open_range
    px = _legendre(np.asarray(delta, dtype=float) / 2.0, D)
    pz = _legendre(2.0 * (np.asarray(openness, dtype=float) - lo) / (hi - lo) - 1.0, M)
    cols = [px[i] * pz[j] for i in range(D + 1) for j in range(M + 1) if i + j <= D]
    return np.ascontiguousarray(np.stack(cols, axis=-1))


#: Largest polynomial degree of the pooled model (each of Δ and openness): the features grow
#: as the product of the degrees, one row per shown (user, item) pair.
MAX_DEGREE = 20


def check_model(degree, ridge, prefix: str = ""):
    """``degree`` = (Δ degree, openness degree), two integers in [0, MAX_DEGREE], and ``ridge``
    a finite real >= 0, checked; InvalidInputError naming the argument (``prefix`` + its name,
    e.g. "setup.pooled_degree")."""
    if not (isinstance(degree, (tuple, list)) and len(degree) == 2):
        raise InvalidInputError(f"{prefix}degree must be two integers (polarity-difference "
                                f"degree, openness degree), got {degree!r}")
    d = (check_int(degree[0], f"{prefix}degree[0]", 0, MAX_DEGREE),
         check_int(degree[1], f"{prefix}degree[1]", 0, MAX_DEGREE))
    return d, check_real(ridge, f"{prefix}ridge", 0.0)


def population_grid(setup, n_polarity=100, n_openness=12):
    """Quadrature nodes and weights of the user distribution: polarity at the midpoints of
    ``n_polarity`` equal bins on [-1, 1] with the bins' probabilities under the clipped bimodal
    normal (the end bins take the clipped mass), openness at ``n_openness`` Gauss-Legendre nodes
    of Uniform[lo, hi]. Returns (polarity, openness, weight), weights summing to 1."""
    from scipy.special import ndtr
    e = np.linspace(-1.0, 1.0, n_polarity + 1)
    mid = (e[1:] + e[:-1]) / 2
    e[0], e[-1] = -np.inf, np.inf
    pk = np.zeros(n_polarity)
    for m, p in ((setup.user_mean, setup.p_plus), (-setup.user_mean, 1 - setup.p_plus)):
        pk += p * np.diff(ndtr((e - m) / setup.user_std))
    x, w = np.polynomial.legendre.leggauss(n_openness)
    lo, hi = setup.openness
    o = lo + (hi - lo) * (x + 1) / 2
    P, O = np.meshgrid(mid, o, indexing="ij")
    W = pk[:, None] * (w / 2)[None, :]
    return P.ravel(), O.ravel(), W.ravel()


def population_features(item_polarity, setup, degree):
    """φ(ρ_d - ρ_g, o_g) for every item d and grid node g: (n_items, G, p), and the weights W_g."""
    P, O, W = population_grid(setup)
    rho = np.asarray(item_polarity, dtype=float)
    return pair_features(rho[:, None] - P[None, :], np.broadcast_to(O, (rho.size, O.size)),
                         setup.openness, degree), W


def merit_of(theta, pop_feats, weight):
    """R̂(d) = Σ_g W_g σ(θ·φ(ρ_d - ρ_g, o_g)) for the fitted θ."""
    from scipy.special import expit
    return expit(pop_feats @ theta) @ weight


@njit(cache=True, nogil=True)
def _log_sigmoid(x):
    return -np.log1p(np.exp(-x)) if x > 0 else x - np.log1p(np.exp(x))


@njit(cache=True, nogil=True)
def _loglik(Phi, vv, c, n_rows, theta, ridge):
    ll = 0.0
    p = theta.shape[0]
    for r in range(n_rows):
        eta = 0.0
        for j in range(p):
            eta += Phi[r, j] * theta[j]
        if c[r] > 0:
            ll += np.log(vv[r]) + _log_sigmoid(eta)
        else:
            s = np.exp(_log_sigmoid(eta))
            ll += np.log1p(-vv[r] * s) if vv[r] * s < 1.0 else -1e300
    for j in range(1, p):
        ll -= ridge * theta[j] * theta[j]
    return ll


@njit(cache=True, nogil=True)
def _fit(Phi, vv, c, n_rows, theta, ridge, max_iter, tol):
    """Fisher scoring for the penalised position-based likelihood (see the module docstring):
    with μ = v σ(η), ∂ℓ/∂η = (c - μ) v σ(1 - σ)/(μ(1 - μ)) and the expected information
    v σ (1 - σ)² / (1 - v σ) per row; backtracking halves the step until the penalised
    log-likelihood does not fall. Updates theta in place; returns the iterations used."""
    p = theta.shape[0]
    cur = _loglik(Phi, vv, c, n_rows, theta, ridge)
    for it in range(max_iter):
        g = np.zeros(p)
        H = np.zeros((p, p))
        for r in range(n_rows):
            eta = 0.0
            for j in range(p):
                eta += Phi[r, j] * theta[j]
            s = 1.0 / (1.0 + np.exp(-eta))
            mu = vv[r] * s
            mu = min(max(mu, 1e-12), 1.0 - 1e-12)
            if c[r] > 0:
                gr = 1.0 - s                            # ∂ log(v σ)/∂η
            else:
                gr = -vv[r] * s * (1.0 - s) / (1.0 - mu)   # ∂ log(1 - v σ)/∂η
            w = vv[r] * s * (1.0 - s) * (1.0 - s) / (1.0 - mu)
            for j in range(p):
                g[j] += gr * Phi[r, j]
                wj = w * Phi[r, j]
                for k in range(j + 1):
                    H[j, k] += wj * Phi[r, k]
        for j in range(p):
            for k in range(j):
                H[k, j] = H[j, k]
        for j in range(1, p):
            g[j] -= 2.0 * ridge * theta[j]
            H[j, j] += 2.0 * ridge
        for j in range(p):
            H[j, j] += 1e-10
        step = np.linalg.solve(H, g)
        a = 1.0
        new = theta + step
        nl = _loglik(Phi, vv, c, n_rows, new, ridge)
        while nl < cur - 1e-12 * abs(cur) and a > 1e-8:
            a *= 0.5
            new = theta + a * step
            nl = _loglik(Phi, vv, c, n_rows, new, ridge)
        if nl < cur - 1e-12 * abs(cur):
            return it
        theta[:] = new
        done = nl - cur <= tol * max(1.0, abs(cur))
        cur = nl
        if done:
            return it + 1
    return max_iter


def fit_pooled(Phi, vv, clicked, n_rows=None, theta=None, ridge=1e-3, max_iter=50, tol=1e-10):
    """θ maximising Σ_rows [c log(v σ(θ·φ)) + (1 - c) log(1 - v σ(θ·φ))] - ridge ||θ_{1:}||²
    over the first ``n_rows`` rows of ``Phi`` (pairs x features, column 0 the constant), ``vv``
    the rows' propensities in (0, 1] and ``clicked`` their 0/1 clicks; from ``theta`` (warm
    start) or the constant model. Returns θ. InvalidInputError naming the argument for a
    matrix that is not finite, propensities outside (0, 1], clicks that are not 0/1, lengths
    that differ, ``n_rows`` outside 1..rows, a negative ``ridge``."""
    Phi = check_matrix(Phi, "Phi", allow_sparse=False)
    N, p = Phi.shape
    vv = check_vector(vv, "vv", length=N, length_of="the rows of Phi",
                      low=np.finfo(float).tiny, high=1.0)
    c = check_flags(np.asarray(clicked).ravel(), "clicked", N, length_of="the rows of Phi")
    n_rows = N if n_rows is None else check_int(n_rows, "n_rows", 1, N)
    if theta is not None:
        theta = check_vector(theta, "theta", length=p, length_of="the columns of Phi")
    return _fit_rows(Phi, vv, c, n_rows, theta, check_real(ridge, "ridge", 0.0),
                     check_int(max_iter, "max_iter", 1), check_real(tol, "tol", 0.0))


def _fit_rows(Phi, vv, c, n_rows, theta, ridge, max_iter=50, tol=1e-10):
    """``fit_pooled`` on checked arrays (the simulator's refits call it directly)."""
    c = np.ascontiguousarray(c, dtype=np.uint8)
    if theta is None:
        theta = np.zeros(Phi.shape[1])
        k, e = c[:n_rows].sum(), vv[:n_rows].sum()
        r = min(max(k, 0.5) / max(e, 1.0), 0.5)
        theta[0] = np.log(r / (1 - r))
    theta = np.array(theta, dtype=float)
    _fit(Phi, vv, c, int(n_rows), theta, float(ridge), int(max_iter), float(tol))
    return theta


def log_features(item_polarity, user_polarity, user_openness, open_range, degree):
    """φ of every (user t, item d) pair of a log, row t·n + d: ``pair_features`` of
    ρ_d - ρ_u(t) and o_u(t) (checked arrays)."""
    T, n = len(user_polarity), len(item_polarity)
    delta = item_polarity[None, :] - user_polarity[:, None]
    opn = np.broadcast_to(user_openness[:, None], (T, n))
    return pair_features(delta.ravel(), opn.ravel(), open_range, degree)


def pooled_merit(clicked, ranks, v, item_polarity, user_polarity, user_openness, setup,
                 degree=(6, 2), ridge=1e-3):
    """The pooled model's merit R̂(d) from a click log (``clicked`` (T, n) 0/1, ``ranks`` (T, n)
    0-based ranks, ``v`` the propensity per rank), the items' and users' features, and the user
    distribution of ``setup`` (module docstring: model, fit and integration). Returns
    (R̂, θ). InvalidInputError for a bad log (``check_click_log``), features of the wrong length
    or not finite, a bad ``degree`` or a negative ``ridge``."""
    clicked, ranks, v = check_click_log(clicked, ranks, v)
    T, n = ranks.shape
    rho = check_vector(item_polarity, "item_polarity", length=n, length_of="the items")
    up = check_vector(user_polarity, "user_polarity", length=T, length_of="the users")
    uo = check_vector(user_openness, "user_openness", length=T, length_of="the users")
    degree, ridge = check_model(degree, ridge)
    Phi = log_features(rho, up, uo, setup.openness, degree)
    theta = _fit_rows(Phi, v[ranks].ravel(), clicked.ravel(), T * n, None, ridge)
    pf, W = population_features(item_polarity, setup, degree)
    return merit_of(theta, pf, W), theta
