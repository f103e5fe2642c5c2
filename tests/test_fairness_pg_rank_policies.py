"""Fair-PG-Rank's policy classes and optimiser options: the one-hidden-layer scorer's backward
pass against finite differences, its REINFORCE gradient against the exact gradient of the
enumerated objective, a problem a linear scorer ranks half-way and the network ranks, the
iterate average and the learning-rate schedule, bad options."""
import numpy as np
import pytest

from structpred.apps.fairness.fair_pg_rank import (FairPGRank, _backward, _forward,
                                                   _penalty_coef, policy_measures)
from structpred.errors import InvalidInputError
from tests.test_fairness_pg_rank import exact_terms, synthetic_queries


def test_mlp_backward_matches_finite_differences():
    rng = np.random.default_rng(0)
    f, H, m = 4, 5, 7
    x = rng.normal(size=(m, f))
    theta = rng.normal(size=f * H + 2 * H)
    ds = rng.normal(size=m)
    s, A = _forward(theta, x, H)
    assert np.min(np.abs(x @ theta[:f * H].reshape(f, H) + theta[f * H:f * H + H])) > 1e-3
    grad = _backward(theta, x, A, ds, H)
    h = 1e-6
    fd = np.array([(ds @ _forward(theta + h * e, x, H)[0] - ds @ _forward(theta - h * e, x, H)[0])
                   / (2 * h) for e in np.eye(theta.size)])
    assert np.allclose(grad, fd, atol=1e-7)
    # the linear scorer: s = xw, gradient x^T ds
    w = rng.normal(size=f)
    assert np.allclose(_forward(w, x, 0)[0], x @ w)
    assert np.allclose(_backward(w, x, None, ds, 0), x.T @ ds)


def test_mlp_policy_gradient_is_unbiased():
    rng = np.random.default_rng(1)
    f, H = 3, 2
    x = rng.normal(size=(4, f))
    x[:, 0] += np.array([2.0, -2.0, -2.0, 2.0])     # a direction that favours group 0 (G_hi)
    u = np.array([1.0, 0.0, 1.0, 0.5])
    g = np.array([0, 1, 1, 0])
    lam = 2.0
    for _ in range(200):
        theta = 2.0 * rng.normal(size=f * H + 2 * H)
        _, ex = exact_terms(np.eye(4), _forward(theta, x, H)[0], u)
        c = _penalty_coef(ex, u, g, "group")
        if np.any(c != 0):
            break
    assert np.any(c != 0)

    def J(th):
        nd, e = exact_terms(np.eye(4), _forward(th, x, H)[0], u)
        return nd - lam * c @ e

    h = 1e-5
    exact = np.array([(J(theta + h * e) - J(theta - h * e)) / (2 * h)
                      for e in np.eye(theta.size)])
    model = FairPGRank(lam=lam, hidden=H)
    grads = np.array([model._query_gradient(x, u, g, theta, 8, rng)[0] for _ in range(2500)])
    mean, se = grads.mean(0), grads.std(0, ddof=1) / np.sqrt(len(grads))
    assert np.abs(exact).max() > 0.01
    assert np.all(np.abs(mean - exact) < 5 * se + 1e-4), (mean, exact, se)


def band_queries(n, rng, m=8):
    """Relevant iff |q| > 1: a linear score in (q, 1) can only favour one tail, a ReLU network
    can favour both."""
    X, U = [], []
    while len(X) < n:
        q = rng.normal(size=m) * 1.3
        u = (np.abs(q) > 1.0).astype(float)
        if 0 < u.sum() < m:
            X.append(np.column_stack([q, np.ones(m)]))
            U.append(u)
    return X, U


def test_mlp_ranks_both_tails_a_linear_policy_ranks_one():
    rng = np.random.default_rng(2)
    Xtr, Utr = band_queries(120, rng)
    Xte, Ute = band_queries(100, rng)
    uniform = policy_measures([np.zeros(8) for _ in Ute], Ute, None)["ndcg"]
    nd = {}
    for hid in (0, 8):
        m = FairPGRank(hidden=hid, n_epochs=15, learning_rate=0.05, random_state=0).fit(Xtr, Utr)
        nd[hid] = policy_measures(m.scores(Xte), Ute, None)["ndcg"]
        assert m.coef_.shape == ((2,) if hid == 0 else (2 * 8 + 2 * 8,))
    assert uniform + 0.02 < nd[0] < uniform + 0.1      # one tail found (~ +0.06)
    assert nd[8] > nd[0] + 0.05                        # both tails (~ +0.14)


def direction_queries(n, rng, m=10):
    """Relevant iff sign(μ_q)·q_d > 0, where μ_q = ±1 shows only as the mean of the noisy
    feature z ~ N(μ_q, 2): one document's z guesses the sign 69% of the time, the query's mean
    94%."""
    X, U = [], []
    while len(X) < n:
        mu = rng.choice([-1.0, 1.0])
        q, z = rng.normal(size=m), rng.normal(mu, 2.0, size=m)
        u = (mu * q > 0).astype(float)
        if 0 < u.sum() < m:
            X.append(np.column_stack([q, z]))
            U.append(u)
    return X, U


def test_context_lets_the_network_use_the_candidate_set():
    rng = np.random.default_rng(4)
    Xtr, Utr = direction_queries(150, rng)
    Xte, Ute = direction_queries(100, rng)
    nd = {}
    for ctx in (False, True):
        m = FairPGRank(hidden=8, context=ctx, n_epochs=15, learning_rate=0.05,
                       random_state=0).fit(Xtr, Utr)
        nd[ctx] = policy_measures(m.scores(Xte), Ute, None)["ndcg"]
    assert nd[True] > nd[False] + 0.05, nd


def test_average_and_schedule():
    rng = np.random.default_rng(3)
    Xtr, Utr, Gtr = synthetic_queries(40, rng)
    Xva, Uva, Gva = synthetic_queries(30, rng)
    kw = dict(lam=3.0, n_epochs=3, random_state=0)
    plain = FairPGRank(**kw).fit(Xtr, Utr, Gtr)
    # β = 0 averages nothing: the same iterates
    assert np.array_equal(FairPGRank(average=0.0, **kw).fit(Xtr, Utr, Gtr).coef_, plain.coef_)
    avg = FairPGRank(average=0.9, **kw).fit(Xtr, Utr, Gtr, validation=(Xva, Uva, Gva))
    meas = policy_measures(avg.scores(Xva), Uva, Gva)
    # what is validated (and returned) is the average, not the last iterate
    assert np.isclose(avg.best_val_, meas["ndcg"] - 3.0 * meas["disparity"], atol=1e-12)
    assert not np.allclose(FairPGRank(average=0.9, **kw).fit(Xtr, Utr, Gtr).coef_, plain.coef_)
    # a cosine schedule with the same seed takes smaller steps than a constant one after the first
    cos = FairPGRank(lr_schedule="cosine", **kw).fit(Xtr, Utr, Gtr)
    assert np.linalg.norm(cos.coef_) < np.linalg.norm(plain.coef_)


@pytest.mark.parametrize("opt, match", [(dict(hidden=-1), "hidden"), (dict(hidden=1.5), "hidden"),
                                        (dict(lr_schedule="linear"), "lr_schedule"),
                                        (dict(average=1.0), "average"),
                                        (dict(average=float("nan")), "average"),
                                        (dict(context=1), "context"),
                                        (dict(context=True), "context needs hidden")])
def test_bad_options(opt, match):
    with pytest.raises(InvalidInputError, match=match):
        FairPGRank(**opt).fit([np.ones((3, 2))], [np.ones(3)])


def test_mixed_feature_widths_rejected():
    with pytest.raises(InvalidInputError, match="columns"):
        FairPGRank().fit([np.ones((3, 2)), np.ones((3, 3))], [np.ones(3), np.ones(3)])
