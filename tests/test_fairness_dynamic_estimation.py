"""The merit estimates of the news simulation (stratified IPS against plain IPS and a Python
reference; the ratio and position-based maximum-likelihood estimators against the simulator's
known truth, scipy and the click log), the user strata's population probabilities against
simulated users, item polarities drawn from a pool, and the Ad Fontes reader."""
from dataclasses import replace

import numpy as np
import pytest

from structpred.apps.fairness.dynamic import (NewsSetup, _users, estimate_merit, make_trial,
                                              merit_from_log, simulate, user_strata)
from structpred.datasets.adfontes import load_adfontes, read_adfontes
from structpred.errors import DataFormatError, InvalidInputError

from conftest import data_file


def test_strata_probabilities_match_simulated_users():
    setup = NewsSetup(strata=(8, 2))
    rng = np.random.default_rng(0)
    up, uo = _users(rng, 200000, setup)
    cell, w = user_strata(up, uo, setup)
    assert w.shape == (16,) and np.isclose(w.sum(), 1.0, atol=1e-12)
    freq = np.bincount(cell, minlength=16) / up.size
    se = np.sqrt(w * (1 - w) / up.size)
    assert np.all(np.abs(freq - w) < 4 * se + 1e-12)


def test_empirical_weights_give_plain_ips():
    """Σ_c (n_c/τ) S_c(d)/n_c = Σ_c S_c(d)/τ: the stratified form with the users' own shares is
    the plain IPS mean; with the population shares it differs."""
    rng = np.random.default_rng(1)
    S = rng.random((6, 5))
    n = np.array([3.0, 0.0, 7.0, 1.0, 4.0, 5.0])
    S[1] = 0.0
    assert np.allclose(estimate_merit(S, n, n / n.sum()), S.sum(0) / n.sum(), atol=1e-12)
    w = np.full(6, 1 / 6)
    seen = n > 0
    manual = (w[seen, None] * S[seen] / n[seen, None]).sum(0) / w[seen].sum()
    assert np.allclose(estimate_merit(S, n, w), manual, atol=1e-12)


def reference_stratified(trial, method, lam):
    """D-ULTR / FairCo-exposure per user with R̂ = the stratified estimate, written out."""
    T, n = trial.relevant.shape
    v, g = trial.v, trial.groups
    C = trial.cell_weight.size
    S, cnt, cumexp = np.zeros((C, n)), np.zeros(C), np.zeros(n)
    tops = []
    for t in range(T):
        seen = cnt > 0
        if seen.any():
            w = trial.cell_weight[seen]
            R = (w[:, None] * S[seen] / cnt[seen, None]).sum(0) / w.sum()
        else:
            R = np.zeros(n)
        score = R.copy()
        if method == "fairco-exposure" and t > 0:
            ratio = [(cumexp / t)[g == k].mean() / max(R[g == k].mean(), 1e-4) for k in (0, 1)]
            score = score + lam * t * (max(ratio) - np.array(ratio)[g])
        order = np.argsort(-score, kind="stable")
        rank = np.empty(n, int)
        rank[order] = np.arange(n)
        tops.append(order[0])
        cumexp += v[rank]
        c = trial.relevant[t] & (trial.exam_u[t] < v[rank])
        S[trial.user_cell[t]] += c / v[rank]
        cnt[trial.user_cell[t]] += 1
    return np.array(tops), cumexp


@pytest.mark.parametrize("method", ["d-ultr", "fairco-exposure"])
def test_stratified_kernel_matches_reference(method):
    setup = NewsSetup(n_items=10, n_users=400, head_start=20, merit_users=2000, strata=(4, 2),
                      merit_estimator="stratified")
    trial = make_trial(setup, 7)
    r = simulate(trial, method, setup, lam=0.05)
    top, cumexp = reference_stratified(trial, method, 0.05)
    assert np.array_equal(r.top, top)
    assert np.allclose(r.exposure, cumexp, atol=1e-9)


def test_stratified_estimate_is_closer_to_the_true_group_merits():
    """Every rank examined (clicks = relevances): plain IPS is the mean relevance of the users
    who came, whose mix of left and right users is off by sampling; the stratified estimate
    reweights the strata to the population. Over 40 trials its group-merit error against the
    true (quadrature) merit is smaller."""
    setup = NewsSetup(n_items=12, n_users=600, position_bias="none", strata=(8, 1))
    err = {"ips": [], "stratified": []}
    for seed in range(40):
        tr = make_trial(setup, seed)
        for est in err:
            r = simulate(tr, "d-ultr", setup, merit_estimator=est)
            C = tr.cell_weight.size
            if est == "ips":
                R = r.ips / setup.n_users
            else:
                S = np.zeros((C, setup.n_items))
                np.add.at(S, tr.user_cell, tr.relevant.astype(float))
                R = estimate_merit(S, np.bincount(tr.user_cell, minlength=C), tr.cell_weight)
            e = [R[tr.groups == k].mean() / tr.group_merit[k] - 1 for k in (0, 1)]
            err[est].append(abs(e[1] - e[0]))
    assert np.mean(err["stratified"]) < 0.7 * np.mean(err["ips"])


def test_polarity_pool_and_bad_setup():
    pool = np.array([-0.9, -0.5, -0.2, 0.0, 0.1, 0.4, 0.8, 1.0])
    setup = NewsSetup(n_items=6, n_users=50, polarity_pool=tuple(pool))
    tr = make_trial(setup, 3)
    assert np.all(np.isin(tr.polarity, pool)) and len(set(tr.polarity)) == 6
    assert np.array_equal(tr.groups, (tr.polarity > 0).astype(int))
    with pytest.raises(InvalidInputError, match="polarity_pool"):
        make_trial(replace(setup, n_items=9), 0)
    with pytest.raises(InvalidInputError, match="polarity_pool"):
        make_trial(replace(setup, polarity_pool=(0.1, np.nan) * 4), 0)
    with pytest.raises(InvalidInputError, match="strata"):
        make_trial(replace(setup, strata=(0, 2)), 0)
    with pytest.raises(InvalidInputError, match="merit_estimator"):
        make_trial(replace(setup, merit_estimator="snips"), 0)
    with pytest.raises(InvalidInputError, match="merit_estimator"):
        simulate(tr, "d-ultr", setup, merit_estimator="snips")


def test_read_adfontes(tmp_path):
    p = tmp_path / "chart.csv"
    p.write_text('Source,Url,Bias,Quality\nCNN,http://a,-6.5,32\n"Fox, News",u,27,20.5\n'
                 "AP,u,0,62\n")
    a = read_adfontes(p)
    assert a.source == ["CNN", "Fox, News", "AP"]
    assert np.allclose(a.polarity, [-6.5 / 40, 27 / 40, 0.0])
    assert np.allclose(a.quality, [32, 20.5, 62])
    p.write_text("Source,Bias\nCNN,-6.5\n")
    assert np.isnan(read_adfontes(p).quality).all()
    p.write_text("Source,Quality\nCNN,3\n")
    with pytest.raises(DataFormatError, match="Bias"):
        read_adfontes(p)
    p.write_text("Source,Bias\nCNN,-6.5\nBBC,left\n")
    with pytest.raises(DataFormatError, match="line 3"):
        read_adfontes(p)
    p.write_text("Source,Bias\nCNN,nan\n")
    with pytest.raises(DataFormatError, match="finite"):
        read_adfontes(p)
    with pytest.raises(FileNotFoundError, match="adfontesmedia"):
        load_adfontes(tmp_path / "nowhere")


def test_adfontes_real_file():
    a = load_adfontes(path=data_file("fairness/adfontes/InteractiveMediaBiasChart.csv"))
    assert len(a.source) >= 100 and np.all(np.abs(a.polarity) <= 1.1)
    assert 0.2 < np.mean(a.polarity > 0) < 0.8


# --- the ratio and position-based maximum-likelihood estimators --------------------------------

def _random_log(rng, R, v, T):
    """T users, each ranking a uniformly random permutation (chosen before the user is seen);
    item d relevant with probability R[d], examined at rank k with probability v[k]."""
    n = R.size
    ranks = np.argsort(rng.random((T, n)), axis=1)
    clicked = (rng.random((T, n)) < R) & (rng.random((T, n)) < v[ranks])
    return clicked, ranks


def test_estimators_against_the_known_truth():
    """Tiny setup with a known R and rankings that move every item over the ranks: IPS is
    unbiased (its mean over 400 replications within 4 standard errors of R), the ratio and the
    maximum-likelihood estimates are consistent (mean within 4 se + O(1/T) of R) and have a
    smaller variance than IPS, item by item."""
    rng = np.random.default_rng(0)
    R = np.array([0.9, 0.6, 0.3, 0.1])
    v = 1.0 / np.log2(2.0 + np.arange(4))
    est = {e: [] for e in ("ips", "ratio", "mle")}
    for _ in range(400):
        clicked, ranks = _random_log(rng, R, v, 300)
        for e in est:
            est[e].append(merit_from_log(clicked, ranks, v, e))
    est = {e: np.array(x) for e, x in est.items()}
    for e, x in est.items():
        se = x.std(axis=0, ddof=1) / np.sqrt(x.shape[0])
        tol = 4 * se + (0.0 if e == "ips" else 2e-3)
        assert np.all(np.abs(x.mean(axis=0) - R) < tol), e
    var = {e: x.var(axis=0) for e, x in est.items()}
    assert np.all(var["ratio"] < 0.95 * var["ips"])
    assert np.all(var["mle"] < 0.95 * var["ips"])
    assert var["mle"][0] < 0.8 * var["ratio"][0]      # R = 0.9: Bernoulli, not Poisson, clicks


def test_mle_against_scipy_on_random_logs():
    """The Newton maximiser of Σ_k c_k log(v_k r) + (n_k - c_k) log(1 - v_k r) against scipy's
    bounded scalar minimiser of the same negative log-likelihood."""
    from scipy.optimize import minimize_scalar
    rng = np.random.default_rng(3)
    v = 1.0 / np.log2(2.0 + np.arange(6))
    for _ in range(20):
        R = rng.uniform(0.05, 0.95, 6)
        clicked, ranks = _random_log(rng, R, v, int(rng.integers(5, 80)))
        got = merit_from_log(clicked, ranks, v, "mle")
        for d in range(6):
            c = np.bincount(ranks[clicked[:, d], d], minlength=6)
            m = np.bincount(ranks[:, d], minlength=6) - c
            if c.sum() == 0:
                assert got[d] == 0.0
                continue
            hi = min([1.0] + [1 / v[k] for k in range(6) if m[k] > 0])

            def nll(r):
                return -(c @ np.log(v * r) + m @ np.log1p(-np.minimum(v * r, 1 - 1e-15)))
            ref = minimize_scalar(nll, bounds=(1e-9, hi * (1 - 1e-12)), method="bounded",
                                  options={"xatol": 1e-12}).x
            assert nll(got[d]) <= nll(ref) + 1e-9
            assert abs(got[d] - ref) < 1e-5


def test_unit_propensities_every_estimator_is_the_click_mean():
    """v = 1 at every rank: click = relevance, and IPS, ratio and maximum likelihood are all the
    mean click per stratum (so the stratified forms agree too)."""
    rng = np.random.default_rng(4)
    T, n = 200, 5
    clicked = rng.random((T, n)) < 0.4
    ranks = np.argsort(rng.random((T, n)), axis=1)
    v = np.ones(n)
    cells = rng.integers(0, 3, T)
    w = np.array([0.2, 0.5, 0.3])
    for e in ("ratio", "mle"):
        assert np.allclose(merit_from_log(clicked, ranks, v, e), clicked.mean(0), atol=1e-9)
        assert np.allclose(merit_from_log(clicked, ranks, v, "stratified-" + e, cells, w),
                           merit_from_log(clicked, ranks, v, "stratified", cells, w), atol=1e-9)


@pytest.mark.parametrize("est", ["ips", "ratio", "mle", "stratified", "stratified-ratio",
                                 "stratified-mle"])
@pytest.mark.parametrize("method", ["d-ultr", "fairco-exposure"])
def test_kernel_estimate_matches_the_log(method, est):
    """The simulator's running estimate after the last user equals ``merit_from_log`` on the
    log of that run (ranks rebuilt from the cumulative exposure of a per-user replay)."""
    setup = NewsSetup(n_items=8, n_users=250, head_start=10, merit_users=1000, strata=(4, 2))
    trial = make_trial(setup, 11)
    r = simulate(trial, method, setup, lam=0.05, merit_estimator=est)
    ranks, clicked = _replay(trial, r, method, est, setup)
    assert np.allclose(r.estimate, merit_from_log(clicked, ranks, trial.v, est, trial.user_cell,
                                                  trial.cell_weight), atol=1e-9)


def _replay(trial, r, method, est, setup):
    """The per-user ranks and clicks of a run, from re-running it on growing prefixes of users
    (each prefix's last ranking is the top-to-bottom order at that user)."""
    T, n = trial.relevant.shape
    ranks = np.zeros((T, n), dtype=np.int64)
    prev = np.zeros(n)
    for t in range(T):
        sub = replace(trial, relevant=trial.relevant[:t + 1], exam_u=trial.exam_u[:t + 1],
                      user_cell=trial.user_cell[:t + 1])
        e = simulate(sub, method, setup, lam=0.05, merit_estimator=est).exposure
        ranks[t] = np.argmin(np.abs(trial.v[None, :] - (e - prev)[:, None]), axis=1)
        prev = e
    clicked = trial.relevant & (trial.exam_u < trial.v[ranks])
    return ranks, clicked


def test_merit_from_log_bad_input():
    v = np.array([1.0, 0.6, 0.5])
    ranks = np.array([[0, 1, 2], [2, 0, 1]])
    clicked = np.array([[1, 0, 0], [0, 1, 0]], dtype=bool)
    with pytest.raises(InvalidInputError, match=r"ranks\[1\]"):
        merit_from_log(clicked, [[0, 1, 2], [0, 0, 1]], v, "mle")
    with pytest.raises(InvalidInputError, match="clicked"):
        merit_from_log(clicked[:, :2], ranks, v)
    with pytest.raises(InvalidInputError, match="clicked"):
        merit_from_log([[2, 0, 0], [0, 1, 0]], ranks, v)
    with pytest.raises(InvalidInputError, match="v"):
        merit_from_log(clicked, ranks, [1.0, 0.0, 0.5], "ratio")
    with pytest.raises(InvalidInputError, match="cells"):
        merit_from_log(clicked, ranks, v, "stratified-ratio", [0, 3], [0.5, 0.5])
    with pytest.raises(InvalidInputError, match="needs cells"):
        merit_from_log(clicked, ranks, v, "stratified-mle")
    with pytest.raises(InvalidInputError, match="merit_estimator"):
        merit_from_log(clicked, ranks, v, "snips")


def test_estimators_on_the_news_simulator_against_its_true_merit():
    """FairCo's own adaptive rankings on a small news setup, 30 seeded trials, against the
    simulator's true merit R(d) (quadrature): IPS is unbiased (every item's mean error within
    3.5 standard errors of 0); the ratio and the maximum likelihood have a lower mean squared
    error than IPS, and the stratified maximum likelihood the lowest, well below IPS's."""
    setup = NewsSetup(n_items=8, n_users=600, strata=(4, 2))
    ests = ("ips", "ratio", "mle", "stratified", "stratified-mle")
    err = {e: [] for e in ests}
    for seed in range(30):
        tr = make_trial(setup, seed)
        for e in ests:
            r = simulate(tr, "fairco-exposure", setup, lam=0.05, merit_estimator=e)
            err[e].append(r.estimate - tr.merit)
    err = {e: np.array(x) for e, x in err.items()}
    ips = err["ips"]
    assert np.all(np.abs(ips.mean(0)) < 3.5 * ips.std(0, ddof=1) / np.sqrt(ips.shape[0]))
    mse = {e: float((x ** 2).mean()) for e, x in err.items()}
    assert mse["ratio"] < mse["ips"] and mse["mle"] < mse["ips"]
    assert mse["stratified-mle"] < min(mse["stratified"], mse["mle"])
    assert mse["stratified-mle"] < 0.8 * mse["ips"]
