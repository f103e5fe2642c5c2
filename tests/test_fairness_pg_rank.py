"""Fair-PG-Rank: the REINFORCE gradient is unbiased for the exact objective (enumeration of all
permutations), λ lowers the disparity, IPS relevance estimates from clicks, German Credit."""
import itertools

import numpy as np
import pytest

from structpred.apps.fairness.fair_pg_rank import (FairPGRank, _penalty_coef, ips_relevance,
                                                   policy_measures)
from structpred.datasets.german_credit import load_german_credit
from structpred.errors import DataFormatError, InvalidInputError
from structpred.tasks.ranking.clicks import PositionBasedClickModel, simulate_sessions
from tests.conftest import data_file


def exact_terms(x, w, u):
    """(E[NDCG], E[exposure per item]) by enumerating every permutation."""
    s = x @ w
    m = len(s)
    v = 1 / np.log2(2 + np.arange(m))
    ideal = np.sort(u)[::-1] @ v
    nd, ex = 0.0, np.zeros(m)
    for perm in itertools.permutations(range(m)):
        p, rest = 1.0, list(perm)
        for d in perm:
            p *= np.exp(s[d]) / sum(np.exp(s[j]) for j in rest)
            rest.remove(d)
        e = np.empty(m)
        e[list(perm)] = v
        nd += p * (e @ u) / ideal
        ex += p * e
    return nd, ex


@pytest.mark.parametrize("kind", ["group", "individual"])
def test_policy_gradient_is_unbiased(kind):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 3))
    u = np.array([1.0, 0.0, 1.0, 0.5])
    g = np.array([0, 1, 1, 0])
    lam = 2.0
    favour_g0 = np.linalg.lstsq(x, np.array([4.0, -4.0, -4.0, 4.0]), rcond=None)[0]
    for w in (np.array([0.8, -0.3, 0.5]), favour_g0):
        _, ex = exact_terms(x, w, u)
        c = _penalty_coef(ex, u, g, kind)
        if np.any(c != 0):
            break
    assert np.any(c != 0)

    def J(wv):
        nd, e = exact_terms(x, wv, u)
        return nd - lam * c @ e

    h = 1e-5
    E = np.eye(3)
    exact = np.array([(J(w + h * E[i]) - J(w - h * E[i])) / (2 * h) for i in range(3)])
    model = FairPGRank(lam=lam, disparity=kind)
    grads = np.array([model._query_gradient(x, u, g, w, 8, rng)[0] for _ in range(2500)])
    mean, se = grads.mean(0), grads.std(0, ddof=1) / np.sqrt(len(grads))
    assert np.all(np.abs(mean - exact) < 5 * se + 1e-4), (mean, exact, se)


def synthetic_queries(n, rng, m=8):
    """Group 1 has slightly lower true relevance and a feature that makes it look worse."""
    X, U, G = [], [], []
    while len(X) < n:
        g = rng.integers(0, 2, m)
        if g.min() == g.max():
            continue
        quality = rng.normal(size=m) - 0.3 * g
        u = (quality + 0.3 * rng.normal(size=m) > 0).astype(float)
        if u[g == 0].sum() == 0 or u[g == 1].sum() == 0:
            continue
        X.append(np.column_stack([quality, g, np.ones(m)]))
        U.append(u)
        G.append(g)
    return X, U, G


def test_lambda_lowers_group_disparity():
    rng = np.random.default_rng(1)
    Xtr, Utr, Gtr = synthetic_queries(150, rng)
    Xte, Ute, Gte = synthetic_queries(100, rng)
    res = []
    for lam in (0.0, 30.0):
        m = FairPGRank(lam=lam, n_epochs=6, random_state=0).fit(Xtr, Utr, Gtr)
        res.append(policy_measures(m.scores(Xte), Ute, Gte))
    assert res[0]["ndcg"] > 0.8
    assert res[1]["disparity"] < 0.6 * res[0]["disparity"]
    # exact measures agree with sampled ones on a longer list path
    S = [x @ m.coef_ for x in Xte[:5]]
    ex = policy_measures(S, Ute[:5], Gte[:5])
    U13 = [np.concatenate([u, np.zeros(5)]) for u in Ute[:5]]
    S13 = [np.concatenate([s, np.full(5, -50.0)]) for s in S]
    G13 = [np.concatenate([g, np.zeros(5, int)]) for g in Gte[:5]]
    mc = policy_measures(S13, U13, G13, n_samples=4000, random_state=0)
    assert abs(mc["ndcg"] - ex["ndcg"]) < 5 * mc["ndcg_se"] + 1e-3


def test_ips_relevance_is_unbiased():
    rng = np.random.default_rng(2)
    Y = [np.array([1.0, 0.0, 1.0, 0.0, 0.0])]
    cm = PositionBasedClickModel(eta=1.0, epsilon_plus=0.8, epsilon_minus=0.1)
    log = simulate_sessions(cm, Y, [[np.array([0.5, 0.4, 0.3, 0.2, 0.1])]], 15000, rng)
    uhat = ips_relevance(log, [5], cm.examination(5))[0]
    assert np.allclose(uhat, np.where(Y[0] > 0, 0.8, 0.1), atol=0.05)


def test_bad_input():
    x = [np.ones((3, 2))]
    with pytest.raises(InvalidInputError, match="relevance"):
        FairPGRank().fit(x, [np.array([1.0, -1.0, 0.0])])
    with pytest.raises(InvalidInputError, match="groups"):
        FairPGRank(lam=1.0).fit(x, [np.ones(3)])
    with pytest.raises(InvalidInputError, match="lam"):
        FairPGRank(lam=-1.0).fit(x, [np.ones(3)], [np.array([0, 1, 1])])


def test_german_credit_loader(tmp_path):
    path = data_file("fairness/german_credit/german.data")
    d = load_german_credit(path=path)
    assert d.X.shape[0] == 1000 and d.good.sum() == 700 and d.female.sum() == 310
    assert np.allclose(d.X[:, d.feature_names.index("age")].mean(), 0)
    assert load_german_credit(path=path, include_sex=False).X.shape[1] == d.X.shape[1] - 4
    bad = tmp_path / "german.data"
    lines = path.read_text().splitlines()
    lines[4] = lines[4].replace(" 1\n", " 3").rsplit(" ", 1)[0] + " 3"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match="line 5"):
        load_german_credit(path=bad)


def brute_force_measures(s, u, g):
    """(E NDCG, group disparity, individual disparity of E exposure) of PL(s) by enumerating
    all permutations."""
    m = len(s)
    nd, ex = exact_terms(np.eye(m), np.asarray(s, dtype=float), u)
    pairs = [(i, j) for i in range(m) for j in range(m) if i != j and u[i] >= u[j] > 0]
    ind = np.mean([max(0.0, ex[i] / u[i] - ex[j] / u[j]) for i, j in pairs])
    if len(set(g)) < 2:
        return nd, 0.0, ind
    merit = [u[g == k].mean() for k in (0, 1)]
    ratio = [ex[g == k].mean() / merit[k] for k in (0, 1)]
    hi = int(np.argmax(merit))
    return nd, max(0.0, ratio[hi] - ratio[1 - hi]), ind


def test_policy_measures_against_enumeration():
    rng = np.random.default_rng(4)
    S, U, G, want = [], [], [], []
    for q in range(6):
        m = 5
        u = rng.integers(0, 3, m).astype(float)
        u[:2] = (2.0, 1.0)
        g = np.array([0, 1] + list(rng.integers(0, 2, m - 2))) if q < 5 else np.zeros(m, int)
        hi = int(u[g == 1].mean() > u[g == 0].mean()) if q < 5 else 0
        s = 2.0 * (g == hi) + rng.normal(scale=0.5, size=m)   # favours G_hi: D > 0
        S.append(s)
        U.append(u)
        G.append(g)
        want.append(brute_force_measures(s, u, g))
    got = policy_measures(S, U, G)
    want = np.array(want)
    assert want[:5, 1].max() > 0.01          # the instances do have a disparity to find
    assert np.isclose(got["ndcg"], want[:, 0].mean(), atol=1e-12)
    assert np.isclose(got["disparity"], want[:, 1].mean(), atol=1e-12)
    ind = policy_measures(S, U, None, individual=True)
    assert want[:, 2].max() > 0.01
    assert np.isclose(ind["disparity"], want[:, 2].mean(), atol=1e-12)


def test_validation_early_stopping_keeps_the_best_epoch():
    rng = np.random.default_rng(5)
    Xtr, Utr, Gtr = synthetic_queries(60, rng)
    Xva, Uva, Gva = synthetic_queries(40, rng)
    lam = 5.0
    m = FairPGRank(lam=lam, n_epochs=12, learning_rate=0.3, patience=3,
                   random_state=0).fit(Xtr, Utr, Gtr, validation=(Xva, Uva, Gva))
    J = [h[2] for h in m.val_history_]
    meas = policy_measures(m.scores(Xva), Uva, Gva)
    j_coef = meas["ndcg"] - lam * meas["disparity"]
    j0 = policy_measures([np.zeros(len(u)) for u in Uva], Uva, Gva)["ndcg"]   # w = 0: D = 0
    assert np.isclose(j_coef, max([j0] + J), atol=1e-12)
    assert np.isclose(m.best_val_, j_coef, atol=1e-12)
    if m.best_epoch_:
        assert np.isclose(J[m.best_epoch_ - 1], max(J))
    assert len(J) == len(m.history_) == min(12, m.best_epoch_ + 3)     # patience 3
    mi = FairPGRank(lam=1.0, disparity="individual", n_epochs=2, random_state=0).fit(
        Xtr, Utr, validation=(Xva, Uva, None))
    meas = policy_measures(mi.scores(Xva), Uva, None, individual=True)
    assert np.isclose(mi.best_val_, meas["ndcg"] - meas["disparity"], atol=1e-12)
    with pytest.raises(InvalidInputError, match="validation"):
        FairPGRank().fit(Xtr, Utr, Gtr, validation=(Xva, Uva))
    with pytest.raises(InvalidInputError, match="columns"):
        FairPGRank().fit(Xtr, Utr, Gtr, validation=([x[:, :2] for x in Xva], Uva, Gva))
