"""The Plackett-Luce policy of the Ranking task against brute-force enumeration of all
permutations of tiny lists, and a chi-square test of the Gumbel sampler."""
import itertools

import numpy as np
import pytest
from scipy import stats

from structpred.errors import InvalidInputError
from structpred.model import has_hook
from structpred.tasks.ranking import PropensityRanking, Ranking
from structpred.tasks.ranking import plackett_luce as pl
from structpred.tasks.ranking.model import Click


def brute_pl(s):
    """{perm: probability} by the product formula, every permutation."""
    m = len(s)
    out = {}
    for perm in itertools.permutations(range(m)):
        p = 1.0
        rest = list(perm)
        for d in perm:
            p *= np.exp(s[d]) / sum(np.exp(s[j]) for j in rest)
            rest.remove(d)
        out[perm] = p
    return out


def rel(a, b):
    return np.max(np.abs(np.asarray(a) - np.asarray(b)) / np.maximum(1e-300, np.abs(b)))


@pytest.mark.parametrize("m", [1, 2, 3, 4, 5])
def test_log_prob_grad_marginals_match_enumeration(m):
    rng = np.random.default_rng(m)
    x = rng.normal(size=(m, 3))
    w = rng.normal(size=3) * 2
    task = Ranking(n_features=3)
    s = x @ w
    probs = brute_pl(s)
    assert abs(sum(probs.values()) - 1) < 1e-12
    P = np.zeros((m, m))
    for perm, p in probs.items():
        lp = task.log_prob(x, np.array(perm), w)
        assert abs(lp - np.log(p)) <= 1e-9 * max(1.0, abs(np.log(p)))
        # gradient by central differences of the brute-force log-probability
        h = 1e-6
        num = np.zeros(3)
        for f in range(3):
            e = np.zeros(3)
            e[f] = h
            num[f] = (np.log(brute_pl(x @ (w + e))[perm]) - np.log(brute_pl(x @ (w - e))[perm])) / (2 * h)
        g = task.log_prob_grad(x, np.array(perm), w)
        assert np.allclose(g, num, atol=1e-6)
        for r, d in enumerate(perm):
            P[d, r] += p
    assert rel(task.marginals(x, w), P) < 1e-9
    # E[∇ log π] = 0 (score-function identity), exactly
    mean_grad = sum(p * task.log_prob_grad(x, np.array(perm), w) for perm, p in probs.items())
    assert np.allclose(mean_grad, 0, atol=1e-12)


def test_gradient_exact_against_enumerated_formula():
    """∂ log π/∂s_d = 1 - Σ_{k<=pos(d)} softmax over the suffix, written out in plain Python."""
    rng = np.random.default_rng(0)
    s = rng.normal(size=6) * 3
    perm = rng.permutation(6)
    ref = np.zeros(6)
    for k in range(6):
        suffix = perm[k:]
        soft = np.exp(s[suffix]) / np.exp(s[suffix]).sum()
        ref[perm[k]] += 1
        ref[suffix] -= soft
    lp, g = pl.log_prob_grad_scores(s, perm)
    assert rel(g, ref) < 1e-9 or np.allclose(g, ref, atol=1e-12)
    assert abs(lp - pl.log_prob(s, perm)) < 1e-12


def test_extreme_scores_stay_finite():
    s = np.array([800.0, -800.0, 0.0, 1e3])
    perm = np.array([1, 2, 0, 3])
    lp, g = pl.log_prob_grad_scores(s, perm)
    assert np.isfinite(lp) and np.all(np.isfinite(g))
    assert lp < -1000
    P = pl.rank_marginals(s)
    assert np.allclose(P.sum(0), 1) and np.allclose(P.sum(1), 1)


def test_expected_pair_loss_and_ndcg_match_enumeration():
    rng = np.random.default_rng(3)
    m = 5
    x = rng.normal(size=(m, 2))
    w = np.array([1.0, -0.5])
    y = np.array([2, 0, 1, 1, 0])
    for loss in ("pairs", "fraction"):
        task = Ranking(n_features=2, loss=loss)
        probs = brute_pl(x @ w)
        exact = 0.0
        for perm, p in probs.items():
            r = np.empty(m)
            r[list(perm)] = m - np.arange(m)
            exact += p * task.loss(y, r)
        mean, se = task.expected_loss(x, y, w)
        assert se == 0.0 and abs(mean - exact) <= 1e-9 * exact
    # Monte-Carlo NDCG: within 4 standard errors of the enumerated expectation
    task = Ranking(n_features=2)
    gains = 2.0 ** y - 1
    v = 1 / np.log2(2 + np.arange(m))
    ideal = np.sort(gains)[::-1] @ v
    exact = sum(p * (gains[list(perm)] @ v) / ideal for perm, p in brute_pl(x @ w).items())
    mean, se = task.expected_ndcg(x, y, w, n_samples=20000, random_state=1)
    assert 0 < se < 0.01 and abs(mean - exact) < 4 * se
    d_mean, d_se = pl.expected_dcg(x @ w, gains, 20000, 2)
    assert abs(d_mean - gains @ task.marginals(x, w) @ v) < 4 * d_se


def test_propensity_ranking_expected_loss_is_expected_rank_of_click():
    x = np.random.default_rng(1).normal(size=(4, 2))
    w = np.array([0.3, 2.0])
    task = PropensityRanking(n_features=2)
    exact = sum(p * 2.5 * list(perm).index(1) for perm, p in brute_pl(x @ w).items())
    assert abs(task.expected_loss(x, Click(1, 2.5), w)[0] - exact) < 1e-9 * exact


def test_chi_square_sampling():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(4, 2))
    w = np.array([1.2, 0.4])
    task = Ranking(n_features=2)
    probs = brute_pl(x @ w)
    draws = task.sample(x, w, 30000, random_state=11)
    assert len(draws) == 30000
    index = {perm: i for i, perm in enumerate(probs)}
    counts = np.bincount([index[tuple(p)] for p in draws], minlength=len(probs))
    expected = 30000 * np.array(list(probs.values()))
    chi2, pval = stats.chisquare(counts, expected)
    assert pval > 0.001, (chi2, pval)
    # and a wrong distribution is rejected by the same test
    wrong = 30000 * np.array(list(brute_pl(x @ (0.8 * w)).values()))
    assert stats.chisquare(counts, wrong).pvalue < 1e-6


def test_sampled_exposure_matches_marginals():
    s = np.array([1.0, 0.2, -0.5, 0.0, 2.0])
    mean, se = pl.sampled_exposure(s, 20000, 5)
    exact = pl.rank_marginals(s) @ pl.position_discount(5)
    assert np.all(np.abs(mean - exact) < 4.5 * se)


def test_hooks_declared_and_bad_input():
    task = Ranking(n_features=2)
    for name in ("log_prob", "log_prob_grad", "sample", "expected_loss", "marginals"):
        assert has_hook(task, name)
    assert not has_hook(task, "log_partition")     # PL is not a Gibbs policy of Ψ
    x = np.ones((3, 2))
    w = np.zeros(2)
    for bad in ([0, 1], [0, 0, 1], [0.0, 1.0, 2.0], [0, 1, 3]):
        with pytest.raises(InvalidInputError, match="permutation"):
            task.log_prob(x, np.array(bad), w)
    with pytest.raises(InvalidInputError, match="n must"):
        task.sample(x, w, 0)
    with pytest.raises(InvalidInputError, match="w"):
        task.log_prob(x, np.arange(3), np.array([np.inf, 0]))
    with pytest.raises(InvalidInputError, match="16"):
        task.marginals(np.ones((17, 2)), w)


def test_batch_forms_match_single_forms():
    rng = np.random.default_rng(5)
    X = [rng.normal(size=(m, 3)) for m in (3, 1, 5)]
    Yg = [rng.integers(0, 3, size=x.shape[0]) for x in X]
    task = Ranking(n_features=3)
    w = rng.normal(size=3)
    batch = task.make_batch(X, Yg)
    perms = [rng.permutation(x.shape[0]) for x in X]
    lp = task.batch_log_prob(batch, w, perms)
    assert np.allclose(lp, [task.log_prob(x, p, w) for x, p in zip(X, perms)], atol=1e-12)
    coef = np.array([0.5, -1.0, 2.0])
    lp2, g = task.batch_log_prob_grad(batch, w, coef, perms)
    ref = sum(c * task.log_prob_grad(x, p, w) for c, x, p in zip(coef, X, perms))
    assert np.allclose(lp2, lp) and np.allclose(g, ref, atol=1e-12)
    draws = task.batch_sample(batch, w, 4, random_state=0)
    assert [len(d) for d in draws] == [4, 4, 4]
    assert all(sorted(p) == list(range(x.shape[0])) for d, x in zip(draws, X) for p in d)
    means, se = task.batch_expected_loss(batch, w)
    assert np.allclose(means, [task.expected_loss(x, y, w)[0] for x, y in zip(X, Yg)])
    assert np.all(se == 0)
    with pytest.raises(InvalidInputError, match="permutations"):
        task.batch_log_prob(batch, w)
