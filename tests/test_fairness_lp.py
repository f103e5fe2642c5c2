"""The fair-ranking LP and the Birkhoff-von Neumann sampler: 200 random instances (n <= 20,
two or three groups, each constraint family), checked against an independent cvxpy LP."""
import itertools

import cvxpy as cp
import numpy as np
import pytest

from structpred.apps.fairness.exposure import (exposure_from_P, exposure_from_ranking,
                                               fairness_gaps, group_disparity,
                                               individual_disparity, position_exposure,
                                               ranking_matrix, expected_ndcg)
from structpred.apps.fairness.lp import (CONSTRAINTS, BvNSampler, birkhoff_von_neumann,
                                         fair_ranking_lp)
from structpred.errors import InvalidInputError


def instances(count=200, seed=0):
    rng = np.random.default_rng(seed)
    for it in range(count):
        n = int(rng.integers(3, 21))
        K = int(rng.integers(2, 4))
        g = rng.integers(0, K, size=n)
        g[:K] = np.arange(K)
        yield rng.random(n), g, [None, *CONSTRAINTS][it % 4], float(rng.choice([0.0, 0.05]))


def cvxpy_reference(u, g, constraint, tol, least_gap=False):
    """An independent formulation: the group functionals written from the definitions."""
    n = u.shape[0]
    v = 1 / np.log2(2 + np.arange(n))
    P = cp.Variable((n, n), nonneg=True)
    cons = [cp.sum(P, axis=0) == 1, cp.sum(P, axis=1) == 1]
    f = []
    for k in np.unique(g):
        G = g == k
        e = cp.sum(P[G, :] @ v)
        if constraint == "demographic_parity":
            f.append(e / G.sum())
        elif constraint == "disparate_treatment":
            f.append(e / u[G].sum())
        else:
            f.append(cp.sum(cp.multiply(u[G], P[G, :] @ v)) / u[G].sum())
    if least_gap:
        t = cp.Variable()
        prob = cp.Problem(cp.Minimize(t), cons + [a - b <= t for a in f for b in f])
        prob.solve()
        return t.value
    cons += [a - b <= tol for a in f for b in f]
    prob = cp.Problem(cp.Maximize(u @ P @ v), cons)
    prob.solve()
    return prob.value


def test_lp_bar_200_instances():
    worst = dict(stochastic=0.0, constraint=0.0, unconstrained=0.0, bvn=0.0, weights=0.0)
    n_least = 0
    for idx, (u, g, con, tol) in enumerate(instances()):
        n = u.shape[0]
        r = fair_ranking_lp(u, g, con, tolerance=tol)
        P = r.P
        worst["stochastic"] = max(worst["stochastic"], np.abs(P.sum(0) - 1).max(),
                                  np.abs(P.sum(1) - 1).max(), -P.min())
        if con is None:
            assert r.status == "optimal"
            worst["unconstrained"] = max(worst["unconstrained"],
                                         abs(r.utility - u[np.argsort(-u)] @ position_exposure(n)))
        elif r.status == "optimal":
            worst["constraint"] = max(worst["constraint"], r.gap - tol)
        else:
            n_least += 1
            assert r.status.startswith("least_unfair") and con == "disparate_treatment"
        w, ranks = birkhoff_von_neumann(P)
        assert len(w) <= (n - 1) ** 2 + 1 and np.all(w > 0)
        R = np.zeros((n, n))
        for theta, rk in zip(w, ranks):
            R[np.arange(n), rk] += theta
        worst["bvn"] = max(worst["bvn"], np.abs(R - P).max())
        worst["weights"] = max(worst["weights"], abs(w.sum() - 1))
        if idx % 5 == 0 and con is not None:      # the independent LP, on a fifth of them
            if r.status == "optimal":
                ref = cvxpy_reference(u, g, con, tol)
                assert abs(ref - r.utility) <= 1e-5 * max(1, ref)
            else:
                t = cvxpy_reference(u, g, con, tol, least_gap=True)
                assert abs(t - r.gap) <= 1e-5 * max(1, t)
    assert worst["stochastic"] <= 1e-9
    assert worst["constraint"] <= 1e-8
    assert worst["unconstrained"] <= 1e-9
    assert worst["bvn"] <= 1e-9 and worst["weights"] <= 1e-9
    assert n_least < 40


def test_fair_lp_price_and_exposure_definitions():
    u = np.array([0.9, 0.85, 0.8, 0.3, 0.25, 0.2])
    g = np.array([0, 0, 0, 1, 1, 1])
    free = fair_ranking_lp(u, g)
    dp = fair_ranking_lp(u, g, "demographic_parity")
    assert free.price_of_fairness == 0 and dp.price_of_fairness > 0.01
    gaps = fairness_gaps(exposure_from_P(dp.P), u, g)
    assert gaps["demographic_parity"] < 1e-9 and abs(gaps["demographic_parity"] - dp.gap) < 1e-9
    for con in ("disparate_treatment", "disparate_impact"):
        r = fair_ranking_lp(u + 1.0, g, con)
        assert r.status == "optimal"
        assert fairness_gaps(exposure_from_P(r.P), u + 1.0, g)[con] < 1e-9
    # deterministic ranking: exposure by definition
    e = exposure_from_ranking([2, 0, 1])
    assert np.allclose(e, [1 / np.log2(3), 1 / np.log2(4), 1])
    assert np.allclose(exposure_from_P(ranking_matrix([2, 0, 1])), e)
    assert abs(expected_ndcg(free.P, u) - 1) < 1e-9


def test_target_gap():
    u = np.array([0.9, 0.85, 0.8, 0.6, 0.55, 0.5])
    g = np.array([0, 0, 0, 1, 1, 1])
    for target in (-0.1, 0.0, 0.1):
        r = fair_ranking_lp(u, g, "disparate_treatment", target=target)
        f = fairness_gaps(exposure_from_P(r.P), u, g)
        ratio = f["exposure"] / f["merit"]
        assert r.status == "optimal" and abs(ratio[1] - ratio[0] - target) < 1e-8
    with pytest.raises(InvalidInputError, match="two groups"):
        fair_ranking_lp(u, [0, 0, 1, 1, 2, 2], "disparate_treatment", target=0.1)


def test_disparities_by_brute_force():
    e = np.array([1.0, 0.6, 0.5, 0.43])
    u = np.array([0.8, 0.5, 0.5, 0.0])
    ref = [max(0, e[i] / u[i] - e[j] / u[j]) for i, j in itertools.permutations(range(3), 2)
           if u[i] >= u[j]]
    assert abs(individual_disparity(e, u) - np.mean(ref)) < 1e-12
    g = np.array([0, 1, 1, 0])
    hi = (e[[0, 3]].mean() / u[[0, 3]].mean())
    lo = (e[[1, 2]].mean() / u[[1, 2]].mean())   # group 1 has the higher merit (0.5 > 0.4)
    assert abs(group_disparity(e, u, g) - max(0, lo - hi)) < 1e-12


def test_bvn_sampler_frequencies():
    u = np.array([1.0, 0.8, 0.5, 0.2])
    r = fair_ranking_lp(u, [0, 1, 0, 1], "demographic_parity")
    s = BvNSampler(r.P)
    orders = s.sample(20000, random_state=0)
    emp = np.zeros((4, 4))
    for o in orders:
        emp[o, np.arange(4)] += 1
    assert np.abs(emp / 20000 - r.P).max() < 0.02


def test_bad_inputs():
    with pytest.raises(InvalidInputError, match="relevance"):
        fair_ranking_lp([1.0, -0.5], [0, 1], "demographic_parity")
    with pytest.raises(InvalidInputError, match="relevance"):
        fair_ranking_lp([1.0, np.nan], [0, 1])
    with pytest.raises(InvalidInputError, match="exposure"):
        fair_ranking_lp([1.0, 0.5], [0, 1], exposure=[1.0, np.inf])
    with pytest.raises(InvalidInputError, match="single group"):
        fair_ranking_lp([1.0, 0.5], [0, 0], "demographic_parity")
    with pytest.raises(InvalidInputError, match="tolerance"):
        fair_ranking_lp([1.0, 0.9, 0.01], [0, 0, 1], "disparate_treatment", on_infeasible="raise")
    r = fair_ranking_lp([1.0, 0.9, 0.01], [0, 0, 1], "disparate_treatment")
    assert r.status.startswith("least_unfair") and r.gap > 0
    with pytest.raises(InvalidInputError, match="doubly stochastic"):
        birkhoff_von_neumann(np.array([[0.5, 0.5], [0.6, 0.4]]))
    with pytest.raises(InvalidInputError, match="P"):
        birkhoff_von_neumann(np.array([[1.5, -0.5], [-0.5, 1.5]]))
    with pytest.raises(InvalidInputError, match="single group"):
        fairness_gaps([1.0, 0.5], [1.0, 1.0], [3, 3])
    with pytest.raises(InvalidInputError, match="item_exposure"):
        fairness_gaps([1.0, -0.5], [1.0, 1.0], [0, 1])
    with pytest.raises(InvalidInputError, match="relevance"):
        individual_disparity([1.0, 0.5], [np.inf, 1.0])
    with pytest.raises(InvalidInputError, match="order"):
        exposure_from_ranking([0, 0, 1])
    with pytest.raises(InvalidInputError, match="exposure"):
        exposure_from_ranking([1, 0], exposure=[1.0, -0.2])
