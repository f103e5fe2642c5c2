"""The news simulation of FairCo (Morik et al. SIGIR 2020): the numba kernel against a plain
Python reference, cases with a known truth (unit propensities, λ -> ∞ on a deterministic
case, λ = 0), and a small version of the rich-get-richer benchmark."""
from dataclasses import replace

import numpy as np
import pytest

from structpred.apps.fairness.dynamic import (NewsSetup, NewsTrial, group_unfairness,
                                              lp_policy, make_trial, simulate)
from structpred.errors import InvalidInputError


def reference(trial, method, lam, control_merit=None):
    """The rankers and measures of the module docstring, written out per user."""
    T, n = trial.relevant.shape
    v, g, M = trial.v, trial.groups, trial.group_merit
    clicks, ips, cumexp = np.zeros(n), np.zeros(n), np.zeros(n)
    ndcg, ue, ui, top = [], [], [], []
    for t in range(T):
        tau = t + 1
        if method == "naive":
            score = clicks.copy()
        else:
            R = ips / max(t, 1)
            score = R.copy()
            if method.startswith("fairco") and t > 0:
                stat = cumexp / t if method == "fairco-exposure" else clicks / t
                Mc = R if control_merit is None else control_merit
                ratio = [stat[g == k].mean() / max(Mc[g == k].mean(), 1e-4) for k in (0, 1)]
                err = (tau - 1) * (max(ratio) - np.array(ratio)[g])
                score = score + lam * err
        order = np.argsort(-score, kind="stable")
        rank = np.empty(n, int)
        rank[order] = np.arange(n)
        top.append(order[0])
        rel = trial.relevant[t]
        ideal = v[:rel.sum()].sum()
        ndcg.append(rel[order] @ v / ideal if rel.any() else 1.0)
        cumexp += v[rank]
        c = rel & (trial.exam_u[t] < v[rank])
        clicks += c
        ips += c / v[rank]
        E = [(cumexp / tau)[g == k].mean() / M[k] for k in (0, 1)]
        I = [(clicks / tau)[g == k].mean() / M[k] for k in (0, 1)]
        ue.append(abs(E[0] - E[1]))
        ui.append(abs(I[0] - I[1]))
    return np.array(ndcg), np.array(ue), np.array(ui), np.array(top)


@pytest.mark.parametrize("method", ["naive", "d-ultr", "fairco-exposure", "fairco-impact"])
def test_kernel_matches_python_reference(method):
    setup = NewsSetup(n_items=12, n_users=300, head_start=20, merit_users=2000)
    trial = make_trial(setup, 3)
    r = simulate(trial, method, setup, lam=0.05)
    nd, ue, ui, top = reference(trial, method, 0.05)
    assert np.allclose(r.ndcg, nd, atol=1e-12)
    assert np.allclose(r.unfair_exposure, ue, atol=1e-12)
    assert np.allclose(r.unfair_impact, ui, atol=1e-12)
    assert np.array_equal(r.top, top)


def test_kernel_matches_reference_with_control_merit():
    setup = NewsSetup(n_items=10, n_users=300, head_start=30, merit_users=2000)
    trial = make_trial(setup, 5)
    r = simulate(trial, "fairco-exposure", setup, lam=0.05, control_merit=trial.merit)
    nd, ue, ui, top = reference(trial, "fairco-exposure", 0.05, control_merit=trial.merit)
    assert np.allclose(r.unfair_exposure, ue, atol=1e-12)
    assert np.array_equal(r.top, top)


def test_unit_propensities_ips_is_the_click_average():
    """With every rank examined (v_k = 1) a click is a relevant article: IPS = clicks, and
    R̂ after T users = the mean relevance of those T users, whatever the ranker."""
    setup = NewsSetup(n_items=8, n_users=400, head_start=20, merit_users=1000,
                      position_bias="none")
    trial = make_trial(setup, 2)
    for method in ("naive", "d-ultr", "fairco-exposure", "fairco-impact"):
        r = simulate(trial, method, setup, lam=0.1)
        assert np.array_equal(r.ips, r.clicks)
        assert np.allclose(r.ips / 400, trial.relevant.mean(axis=0), atol=1e-12)
        assert np.allclose(r.exposure, 400.0)


def _deterministic_trial(T):
    """4 articles, groups [0, 0, 1, 1] with merits 0.6 and 0.4, every article relevant and
    examined for every user."""
    merit = np.array([0.7, 0.5, 0.45, 0.35])
    return NewsTrial(polarity=np.array([-0.5, -0.2, 0.2, 0.5]), groups=np.array([0, 0, 1, 1]),
                     relevant=np.ones((T, 4), bool), exam_u=np.zeros((T, 4)), merit=merit,
                     group_merit=np.array([0.6, 0.4]), v=1.0 / np.log2(2.0 + np.arange(4)))


@pytest.mark.parametrize("T", [50, 2000])
def test_large_lambda_equalises_exposure_per_merit(T):
    """λ -> ∞ with the true merit in the error term: the group behind goes first. Group 0 on
    top moves x = Σ_t Exp_t(G0)/R(G0) - Exp_t(G1)/R(G1) by +0.195, group 1 on top by -1.263,
    so |x_T| <= 1.263 and the exposure unfairness |x_T| / T <= 1.263 / T (the controller's
    O(1/τ) rate)."""
    trial = _deterministic_trial(T)
    v = trial.v
    up, down = v[:2].mean(), v[2:].mean()
    step = up / 0.4 - down / 0.6
    r = simulate(trial, "fairco-exposure", lam=1e6, control_merit=trial.merit)
    assert r.unfair_exposure[-1] <= (step + 1e-5) / T
    assert np.all(r.unfair_exposure * np.arange(1, T + 1) <= step + 1e-5)


def test_lambda_zero_is_d_ultr():
    setup = NewsSetup(n_items=12, n_users=500, head_start=10, merit_users=2000)
    trial = make_trial(setup, 4)
    a = simulate(trial, "d-ultr", setup)
    b = simulate(trial, "fairco-exposure", setup, lam=0.0)
    assert np.array_equal(a.top, b.top) and np.array_equal(a.ndcg, b.ndcg)


def test_head_start_then_mirror_then_mixture():
    setup = NewsSetup(n_items=6, n_users=1000, head_start=100, head_start_group=0,
                      merit_users=1000)
    trial = make_trial(setup, 0)
    pol = trial.user_polarity
    assert pol[:100].max() < 0.5 and pol[:100].mean() < -0.4 < 0.4 < pol[100:200].mean()
    assert abs(np.mean(pol[200:] > 0) - 0.5) < 0.06


def test_online_lp_cancels_the_past_disparity():
    """The compensating LP asks the next k users for f_1 - f_0 = -X/k: past plus planned
    exposure per estimated merit is then equal between the groups (feasible case); the plain
    LP asks for 0; a past disparity too large to cancel gets the least-unfair policy (group 1
    on top)."""
    est = np.array([0.4, 0.35, 0.3, 0.25])
    g = np.array([0, 0, 1, 1])
    v = 1.0 / np.log2(2.0 + np.arange(4))

    def f(e):
        return [e[g == k].sum() / est[g == k].sum() for k in (0, 1)]

    past = np.array([40.0, 30.0, 20.0, 10.0])           # 100 users, group 1 behind
    res = lp_policy(est, g, v, past, 100, compensate=True)
    assert res.status == "optimal"
    total = f(past + 100 * res.P @ v)
    assert abs(total[1] - total[0]) < 1e-6 * total[0]
    plain = lp_policy(est, g, v, past, 100, compensate=False)
    f_plain = f(plain.P @ v)
    assert abs(f_plain[1] - f_plain[0]) < 1e-8
    far = lp_policy(est, g, v, np.array([400.0, 300.0, 20.0, 10.0]), 100)
    assert far.status.startswith("least_unfair")
    assert np.allclose(far.P[2:, :2].sum(), 2.0, atol=1e-6)


def test_group_unfairness_by_hand():
    x = np.array([0.4, 0.2, 0.3, 0.1])
    R = np.array([0.5, 0.3, 0.1, 0.1])
    assert np.isclose(group_unfairness(x, R, [0, 0, 1, 1]), abs(0.3 / 0.4 - 0.2 / 0.1))


def test_true_merit_is_the_mean_relevance():
    """The quadrature merit against the mean relevance of 20,000 simulated users (known truth
    up to sampling), and against the Monte-Carlo merit."""
    setup = NewsSetup(n_items=10, n_users=20000)
    trial = make_trial(setup, 0)
    emp = trial.relevant.mean(axis=0)
    se = np.sqrt(trial.merit * (1 - trial.merit) / 20000)
    assert np.all(np.abs(emp - trial.merit) < 4 * se)
    mc = make_trial(replace(setup, n_users=1, merit_users=200000), 0).merit
    assert np.all(np.abs(mc - trial.merit) < 4 * np.sqrt(trial.merit / 200000))


def test_rich_get_richer_small():
    """12 seeded trials, 1,500 users: Naive locks the head-start group in at rank 1; FairCo
    cuts D-ULTR's exposure unfairness at about the same NDCG."""
    setup = NewsSetup(n_users=1500, head_start=10, merit_users=10000)
    naive_top, dultr, fairco = [], [], []
    for seed in range(12):
        tr = make_trial(setup, 100 + seed)
        r = simulate(tr, "naive", setup)
        naive_top.append(tr.groups[r.final_order[0]] == 1)
        d = simulate(tr, "d-ultr", setup)
        f = simulate(tr, "fairco-exposure", setup)
        dultr.append((d.ndcg.mean(), d.unfair_exposure[-1]))
        fairco.append((f.ndcg.mean(), f.unfair_exposure[-1]))
    dultr, fairco = np.array(dultr), np.array(fairco)
    assert np.mean(naive_top) >= 10 / 12
    assert fairco[:, 1].mean() < 0.5 * dultr[:, 1].mean()
    assert fairco[:, 0].mean() > 0.97 * dultr[:, 0].mean()


def test_lp_ranker_runs_and_bad_input():
    setup = NewsSetup(n_items=8, n_users=250, lp_every=50, merit_users=2000)
    tr = make_trial(setup, 1)
    r = simulate(tr, "lp", setup, seed=0)
    assert r.ndcg.shape == (250,) and np.all((r.ndcg >= 0) & (r.ndcg <= 1 + 1e-12))
    with pytest.raises(InvalidInputError, match="method"):
        simulate(tr, "greedy", setup)
    with pytest.raises(InvalidInputError, match="lam"):
        simulate(tr, "fairco-exposure", setup, lam=-1)
    with pytest.raises(InvalidInputError, match="head_start"):
        make_trial(replace(setup, head_start=-3), 0)
    with pytest.raises(InvalidInputError, match="head_start"):
        make_trial(replace(setup, head_start=126), 0)
    with pytest.raises(InvalidInputError, match="position_bias"):
        make_trial(replace(setup, position_bias="cascade"), 0)
    with pytest.raises(InvalidInputError, match="control_merit"):
        simulate(tr, "fairco-exposure", setup, control_merit=np.ones(3))
    with pytest.raises(InvalidInputError, match="control_merit"):
        simulate(tr, "fairco-exposure", setup, control_merit=np.full(8, np.nan))
