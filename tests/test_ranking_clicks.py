"""Click simulator and propensity estimators against the simulator's true propensities."""
from __future__ import annotations

import numpy as np
import pytest

from structpred import StructuredSVM
from structpred.metrics.ranking import average_relevant_rank
from structpred.tasks.ranking import PropensityRanking
from structpred.tasks.ranking.clicks import (PositionBasedClickModel, click_examples,
                                             estimate_propensities_harvest,
                                             estimate_propensities_swap, simulate_sessions,
                                             swap_intervention)


def _queries(rng, nq=300, m=12):
    Y = [(rng.random(m) < 0.3).astype(float) for _ in range(nq)]
    feats = [rng.normal(size=m) for _ in range(nq)]
    return Y, feats


def test_simulator_click_rates_follow_the_model():
    rng = np.random.default_rng(0)
    cm = PositionBasedClickModel(eta=1.5, epsilon_plus=0.9, epsilon_minus=0.2)
    g = np.array([1.0, 0, 1, 0])
    clicks = np.mean([cm.sample(g, rng) for _ in range(40000)], axis=0)
    truth = (1 / np.arange(1, 5)) ** 1.5 * np.array([0.9, 0.2, 0.9, 0.2])
    assert np.allclose(clicks, truth, atol=0.01)


@pytest.mark.parametrize("eta", [0.5, 1.0, 2.0])
def test_swap_intervention_estimates_true_propensities(eta):
    rng = np.random.default_rng(1)
    Y, feats = _queries(rng)
    cm = PositionBasedClickModel(eta=eta)
    ks, clicked = swap_intervention(cm, Y, feats, 80000, 10, rng)
    est = estimate_propensities_swap(ks, clicked, 10)
    truth = cm.examination(10)
    assert est[0] == 1.0
    assert np.allclose(est, truth, rtol=0.15, atol=0.01)


@pytest.mark.parametrize("eta", [0.5, 1.0, 2.0])
def test_intervention_harvesting_estimates_true_propensities(eta):
    rng = np.random.default_rng(2)
    Y, feats = _queries(rng)
    rankers = [[f + 0.7 * rng.normal(size=f.shape[0]) for f in feats] for _ in range(3)]
    cm = PositionBasedClickModel(eta=eta)
    log = simulate_sessions(cm, Y, rankers, 60000, rng, cutoff=10)
    est = estimate_propensities_harvest(log, 10)
    assert np.allclose(est, cm.examination(10), rtol=0.12, atol=0.01)


def test_harvesting_needs_different_rankers():
    rng = np.random.default_rng(3)
    Y, feats = _queries(rng, nq=20)
    log = simulate_sessions(PositionBasedClickModel(), Y, [feats], 500, rng, cutoff=5)
    with pytest.raises(ValueError, match="rankers must differ"):
        estimate_propensities_harvest(log, 5)


def test_merged_click_examples_keep_the_objective():
    """Merging clicks on the same (query, ranker, document) with C' = C n'/n is exact."""
    rng = np.random.default_rng(4)
    f = 3
    X = [rng.normal(size=(6, f)) for _ in range(15)]
    w_true = rng.normal(size=f)
    Y = [(x @ w_true > 0.3).astype(float) for x in X]
    cm = PositionBasedClickModel(eta=1.0)
    log = simulate_sessions(cm, Y, [[x @ rng.normal(size=f) for x in X]], 400, rng)
    p = cm.examination(6)
    Xa, Ya, n = click_examples(log, X, p, merge=False)
    Xm, Ym, n2 = click_examples(log, X, p, merge=True)
    assert n == n2 == len(Xa) and len(Xm) < len(Xa)
    assert sum(y.weight for y in Ya) == pytest.approx(sum(y.weight for y in Ym))
    a = StructuredSVM(PropensityRanking(), C=1.0, eps=1e-6).fit(Xa, Ya)
    b = StructuredSVM(PropensityRanking(), C=1.0 * len(Xm) / n, eps=1e-6).fit(Xm, Ym)
    assert np.allclose(a.w_, b.w_, atol=1e-3)


def test_propensity_weighting_removes_position_bias():
    """Synthetic: the logging ranker is anti-correlated with relevance on one feature; the
    naive ranker inherits that, the propensity-weighted one recovers the relevant order."""
    rng = np.random.default_rng(5)
    f, nq, m = 4, 120, 10
    w_true = np.array([1.0, 0.5, 0.0, 0.0])
    X = [rng.normal(size=(m, f)) for _ in range(nq)]
    Y = [(x @ w_true + 0.3 * rng.normal(size=m) > 0.8).astype(float) for x in X]
    w_log = np.array([0.2, -0.5, 1.0, 0.0])
    cm = PositionBasedClickModel(eta=1.0, epsilon_minus=0.1)
    log = simulate_sessions(cm, Y, [[x @ w_log for x in X]], 20000, rng)
    res = {}
    for name, prop in (("naive", None), ("ips", cm.examination(m))):
        Xc, Yc, n = click_examples(log, X, prop)
        w = StructuredSVM(PropensityRanking(), C=1.0 * len(Xc) / n, eps=0.01).fit(Xc, Yc).w_
        res[name] = average_relevant_rank(Y, [x @ w for x in X])
    assert res["ips"] < res["naive"] - 0.2
