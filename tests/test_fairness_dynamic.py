"""The news simulation of FairCo (Morik et al. SIGIR 2020): the numba kernel against a plain
Python reference, and a small version of the rich-get-richer benchmark."""
from dataclasses import replace

import numpy as np
import pytest

from structpred.apps.fairness.dynamic import NewsSetup, make_trial, simulate
from structpred.errors import InvalidInputError


def reference(trial, method, lam):
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
                ratio = [stat[g == k].mean() / max(R[g == k].mean(), 1e-4) for k in (0, 1)]
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


def test_true_merit_is_the_mean_relevance():
    setup = NewsSetup(n_items=10, n_users=20000, merit_users=20000)
    trial = make_trial(setup, 0)
    emp = trial.relevant.mean(axis=0)
    se = np.sqrt(trial.merit * (1 - trial.merit) / 20000)
    assert np.all(np.abs(emp - trial.merit) < 5 * np.sqrt(2) * se + 1e-3)


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
