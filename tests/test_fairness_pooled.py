"""The pooled relevance model of the news simulation (structpred/apps/fairness/pooled.py): its
fit against scipy's optimiser, its consistency where the model is right, its error against the
simulator's true merit compared with the per-stratum maximum likelihood, the simulator's
running estimate against the model fitted on the run's own log, and bad input."""
from dataclasses import replace

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import expit

from structpred.apps.fairness.dynamic import (NewsSetup, make_trial, merit_from_log, simulate,
                                              user_strata)
from structpred.apps.fairness.pooled import (fit_pooled, merit_of, pair_features,
                                             population_features, population_grid, pooled_merit)
from structpred.errors import InvalidInputError


def _neg_loglik(theta, Phi, vv, c, ridge):
    mu = vv * expit(Phi @ theta)
    return -(np.sum(c * np.log(mu) + (1 - c) * np.log1p(-mu)) - ridge * theta[1:] @ theta[1:])


def test_fit_matches_scipy_on_random_data():
    rng = np.random.default_rng(0)
    for trial in range(3):
        N, p = 400, 4
        Phi = np.column_stack([np.ones(N), rng.normal(size=(N, p - 1))])
        vv = rng.uniform(0.2, 1.0, N)
        c = (rng.random(N) < vv * expit(Phi @ rng.normal(size=p) * 0.8)).astype(float)
        ridge = [0.0, 1e-3, 0.5][trial]
        th = fit_pooled(Phi, vv, c, ridge=ridge)
        ref = minimize(_neg_loglik, np.zeros(p), args=(Phi, vv, c, ridge), method="BFGS",
                       options=dict(gtol=1e-9))
        assert _neg_loglik(th, Phi, vv, c, ridge) <= ref.fun + 1e-7
        assert np.allclose(th, ref.x, atol=1e-4)
        # the first rows only
        th_half = fit_pooled(Phi, vv, c, n_rows=200, ridge=ridge)
        assert np.allclose(th_half, fit_pooled(Phi[:200], vv[:200], c[:200], ridge=ridge),
                           atol=1e-8)


def test_population_grid_matches_simulated_users():
    setup = NewsSetup()
    P, O, W = population_grid(setup)
    assert np.isclose(W.sum(), 1.0, atol=1e-12)
    rng = np.random.default_rng(3)
    side = rng.random(400000) < setup.p_plus
    up = np.clip(np.where(side, 0.5, -0.5) + 0.2 * rng.normal(size=side.size), -1, 1)
    uo = rng.uniform(*setup.openness, side.size)
    f = lambda p, o: np.exp(-(0.3 - p) ** 2 / (2 * o ** 2))   # a smooth integrand
    assert abs(W @ f(P, O) - f(up, uo).mean()) < 3e-3


def _model_class_log(rng, setup, rho, degree, theta_true, v, T):
    up = np.clip(np.where(rng.random(T) < 0.5, 0.5, -0.5) + 0.2 * rng.normal(size=T), -1, 1)
    uo = rng.uniform(*setup.openness, T)
    Phi = pair_features((rho[None, :] - up[:, None]).ravel(), np.repeat(uo, rho.size),
                        setup.openness, degree)
    p_rel = expit(Phi @ theta_true).reshape(T, rho.size)
    ranks = np.argsort(rng.random((T, rho.size)), axis=1)
    return rng.random((T, rho.size)) < v[ranks] * p_rel, ranks, up, uo


def test_consistent_where_the_model_is_right():
    """Relevance σ(θ*·φ(Δ, o)) inside the model's class, rankings at random: the fitted merit
    approaches Σ_g W_g σ(θ*·φ) as the users grow (error shrinks, small at 4,000 users), and
    over replicated logs its error is below the per-stratum MLE's on the same logs."""
    setup = NewsSetup(n_items=10)
    rng = np.random.default_rng(5)
    rho = rng.uniform(-1, 1, 10)
    degree = (4, 1)
    theta_true = np.array([-1.0, 0.2, 0.0, -1.5, 0.3, 0.4, 0.0, -0.3, 0.1])  # 9 columns
    pf, W = population_features(rho, setup, degree)
    truth = merit_of(theta_true, pf, W)
    v = 1.0 / np.log2(2.0 + np.arange(10))
    errs = []
    for T in (250, 4000):
        clicked, ranks, up, uo = _model_class_log(rng, setup, rho, degree, theta_true, v, T)
        est, _ = pooled_merit(clicked, ranks, v, rho, up, uo, setup, degree=degree, ridge=0.0)
        errs.append(np.abs(est - truth).max())
    assert errs[1] < 0.5 * errs[0] and errs[1] < 0.02
    pooled_err, strat_err = [], []
    for rep in range(4):
        clicked, ranks, up, uo = _model_class_log(rng, setup, rho, degree, theta_true, v, 2000)
        est, _ = pooled_merit(clicked, ranks, v, rho, up, uo, setup, degree=degree, ridge=0.0)
        cells, w = user_strata(up, uo, setup)
        strat = merit_from_log(clicked, ranks, v, "stratified-mle", cells, w)
        pooled_err.append(np.mean((est - truth) ** 2))
        strat_err.append(np.mean((strat - truth) ** 2))
    assert np.mean(pooled_err) < 0.5 * np.mean(strat_err), (pooled_err, strat_err)


def _random_rank_log(trial, rng):
    T, n = trial.relevant.shape
    ranks = np.argsort(rng.random((T, n)), axis=1)
    clicked = trial.relevant & (trial.exam_u < trial.v[ranks])
    return clicked, ranks


def _group_err(est, trial):
    e = [est[trial.groups == k].mean() / trial.group_merit[k] - 1 for k in (0, 1)]
    return e[1] - e[0]


def test_pooled_beats_stratified_mle_on_the_news_simulator():
    """The simulator's relevance (a Gaussian kernel of the polarity difference, width the
    openness) is not in the model's class; against its true merit, over seeded trials with
    random rankings, the pooled model's group-merit error is smaller than the per-stratum
    MLE's and its mean (the bias) small against that error."""
    setup = NewsSetup(n_items=20, n_users=1500)
    rng = np.random.default_rng(11)
    pooled, strat = [], []
    for seed in range(6):
        tr = make_trial(setup, seed)
        clicked, ranks = _random_rank_log(tr, rng)
        est, _ = pooled_merit(clicked, ranks, tr.v, tr.polarity, tr.user_polarity,
                              tr.user_openness, setup)
        pooled.append(_group_err(est, tr))
        strat.append(_group_err(merit_from_log(clicked, ranks, tr.v, "stratified-mle",
                                               tr.user_cell, tr.cell_weight), tr))
        assert np.abs(est - tr.merit).max() < 0.05
    pooled, strat = np.array(pooled), np.array(strat)
    assert np.sqrt(np.mean(pooled ** 2)) < 0.7 * np.sqrt(np.mean(strat ** 2))
    assert abs(pooled.mean()) < 0.01


def test_simulator_estimate_is_the_model_fitted_on_its_log():
    """The naive ranker ignores the estimate, so its rankings can be replayed in Python; the
    simulator's final pooled estimate (refitted with warm starts along the run) equals the
    model fitted once on the replayed log."""
    setup = NewsSetup(n_items=8, n_users=300, head_start=10)
    tr = make_trial(setup, 2)
    r = simulate(tr, "naive", setup, merit_estimator="pooled-mle")
    T, n = tr.relevant.shape
    clicks = np.zeros(n)
    ranks = np.zeros((T, n), dtype=np.int64)
    clicked = np.zeros((T, n), dtype=bool)
    for t in range(T):
        order = np.argsort(-clicks, kind="mergesort")
        ranks[t, order] = np.arange(n)
        clicked[t] = tr.relevant[t] & (tr.exam_u[t] < tr.v[ranks[t]])
        clicks += clicked[t]
    assert np.array_equal(clicks, r.clicks)
    est, _ = pooled_merit(clicked, ranks, tr.v, tr.polarity, tr.user_polarity,
                          tr.user_openness, setup)
    assert np.allclose(r.estimate, est, atol=1e-6)


def test_fairco_with_the_pooled_model_runs_and_tracks():
    setup = NewsSetup(n_items=10, n_users=400, head_start=20)
    tr = make_trial(setup, 4)
    d = simulate(tr, "d-ultr", setup, merit_estimator="pooled-mle")
    f = simulate(tr, "fairco-exposure", setup, merit_estimator="pooled-mle")
    assert np.all(np.isfinite(f.estimate)) and np.all((f.estimate >= 0) & (f.estimate <= 1))
    assert f.unfair_exposure[-1] < d.unfair_exposure[-1]
    lp = simulate(tr, "lp", replace(setup, lp_every=100), merit_estimator="pooled-mle")
    assert np.all(np.isfinite(lp.unfair_exposure))


def test_bad_input():
    setup = NewsSetup(n_items=4, n_users=20)
    tr = make_trial(setup, 0)
    rng = np.random.default_rng(0)
    clicked, ranks = _random_rank_log(tr, rng)
    args = (tr.v, tr.polarity, tr.user_polarity, tr.user_openness, setup)
    bad = ranks.copy()
    bad[3, 0] = bad[3, 1]
    with pytest.raises(InvalidInputError, match=r"ranks\[3\]"):
        pooled_merit(clicked, bad, *args)
    with pytest.raises(InvalidInputError, match="clicked"):
        pooled_merit(clicked[:5], ranks, *args)
    with pytest.raises(InvalidInputError, match="user_openness"):
        pooled_merit(clicked, ranks, tr.v, tr.polarity, tr.user_polarity,
                     tr.user_openness[:-1], setup)
    with pytest.raises(InvalidInputError, match="item_polarity"):
        pooled_merit(clicked, ranks, tr.v, np.full(4, np.nan), tr.user_polarity,
                     tr.user_openness, setup)
    with pytest.raises(InvalidInputError, match="degree"):
        pooled_merit(clicked, ranks, *args, degree=(2,))
    with pytest.raises(InvalidInputError, match="ridge"):
        pooled_merit(clicked, ranks, *args, ridge=-1.0)
    with pytest.raises(InvalidInputError, match="pooled_merit"):
        merit_from_log(clicked, ranks, tr.v, "pooled-mle")
    with pytest.raises(InvalidInputError, match="degree"):
        simulate(tr, "d-ultr", replace(setup, pooled_degree=(-1, 2)),
                 merit_estimator="pooled-mle")
    with pytest.raises(InvalidInputError, match="pooled_refit"):
        simulate(tr, "d-ultr", replace(setup, pooled_refit=0.5), merit_estimator="pooled-mle")
    Phi = np.ones((5, 2))
    with pytest.raises(InvalidInputError, match="vv"):
        fit_pooled(Phi, np.array([0.5, 0.5, 0.0, 0.5, 0.5]), np.zeros(5))
    with pytest.raises(InvalidInputError, match="clicked"):
        fit_pooled(Phi, np.full(5, 0.5), np.array([0, 1, 2, 0, 0]))
    with pytest.raises(InvalidInputError, match="Phi"):
        fit_pooled(np.full((5, 2), np.inf), np.full(5, 0.5), np.zeros(5))
    with pytest.raises(InvalidInputError, match="n_rows"):
        fit_pooled(Phi, np.full(5, 0.5), np.zeros(5), n_rows=6)
    with pytest.raises(InvalidInputError, match="theta"):
        fit_pooled(Phi, np.full(5, 0.5), np.zeros(5), theta=np.zeros(3))
