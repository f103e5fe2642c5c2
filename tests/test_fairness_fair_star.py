"""FA*IR: fairsearch's published constants exactly, the exact fail probability against a
simulation, and the re-ranking's guarantees."""
import numpy as np
import pytest

from structpred.apps.fairness.fair_star import (adjusted_alpha, fail_probability, fair_top_k,
                                                is_fair, mtable)
from structpred.errors import InvalidInputError


def test_fairsearch_anchor_constants():
    m = mtable(20, 0.25, 0.1)
    assert fail_probability(m, 0.25) == 0.11517506930977106
    alpha_c, fail, m_adj = adjusted_alpha(20, 0.25, 0.1)
    assert fail == 0.10515247355215251
    assert 0 < alpha_c < 0.1 and m_adj.sum() < m.sum()


def test_exact_fail_probability_matches_simulation():
    rng = np.random.default_rng(0)
    m = mtable(20, 0.25, 0.1)
    prot = rng.random((200000, 20)) < 0.25
    sim = np.mean(np.any(np.cumsum(prot, axis=1) < m, axis=1))
    exact = fail_probability(m, 0.25, method="exact")
    assert abs(sim - exact) < 4 * np.sqrt(exact * (1 - exact) / 200000)
    assert abs(exact - 0.11517506930977106) > 0.01     # the published recursion differs


def test_fair_top_k_passes_and_keeps_group_orders():
    rng = np.random.default_rng(1)
    for trial in range(30):
        n = 40
        s = rng.random(n)
        prot = rng.random(n) < 0.3
        s[prot] *= 0.6                      # protected candidates score lower
        k = 20
        if prot.sum() < 8:
            continue
        out = fair_top_k(s, prot, k, 0.3, 0.1)
        assert len(set(out)) == k
        assert is_fair(prot[out], 0.3, 0.1)
        for grp in (prot[out], ~prot[out]):
            sel = s[out][grp]
            assert np.all(np.diff(sel) <= 0)
        # already-fair top-k is returned unchanged
        top = np.argsort(-s, kind="stable")[:k]
        if is_fair(prot[top], 0.3, 0.1):
            assert np.array_equal(out, top)


def test_bad_input():
    with pytest.raises(InvalidInputError, match="k=5 is larger"):
        fair_top_k([1.0, 0.5, 0.2], [True, False, False], 5, 0.3, 0.1)
    with pytest.raises(InvalidInputError, match="p must"):
        mtable(10, 1.5, 0.1)
    with pytest.raises(InvalidInputError, match="scores"):
        fair_top_k([1.0, np.nan], [True, False], 1, 0.3, 0.1)
    with pytest.raises(InvalidInputError, match="too few protected"):
        fair_top_k(np.arange(30.0), np.zeros(30, bool), 30, 0.5, 0.1)
