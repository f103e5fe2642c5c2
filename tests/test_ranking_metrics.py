"""Ranking metrics against hand-computed values and LETOR's Eval-Score-4.0.pl conventions."""
from __future__ import annotations

import math

import numpy as np
import pytest

from structpred.metrics.ranking import (average_precision, average_relevant_rank, dcg, err,
                                        mean_average_precision, ndcg, ndcg_per_query)


def test_dcg_letor_and_standard_by_hand():
    g = [2, 0, 1, 2]
    # LETOR: positions 1 and 2 undiscounted, then 1/log2(p)
    assert dcg(g, 4) == pytest.approx(3 + 0 + 1 / math.log2(3) + 3 / math.log2(4))
    assert dcg(g, 4, "standard") == pytest.approx(3 + 0 + 1 / 2 + 3 / math.log2(5))


def test_ndcg_hand_computed_and_conventions():
    y = [np.array([0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0])]
    s = [np.arange(11, 0, -1).astype(float)]       # ranked in file order
    got = ndcg(y, s, k=10)
    ideal = 3 + 1
    assert got == pytest.approx((0 + 1 + 3 / math.log2(3)) / ideal)
    # ties keep document order (stable), as the LETOR script does
    assert ndcg(y, [np.zeros(11)], 10) == pytest.approx(got)
    # no relevant document: LETOR gives 0; standard convention configurable
    zero = [np.zeros(12)]
    assert ndcg(zero, [np.arange(12.0)], 10) == 0.0
    assert ndcg(zero, [np.arange(12.0)], 10, "standard", no_relevant=1.0) == 1.0
    assert np.isnan(ndcg_per_query(zero, [np.arange(12.0)], 10, "standard", no_relevant="skip")[0])
    # fewer than k documents: LETOR's script scores NDCG@k as 0; standard truncates
    short = [np.array([2.0, 0, 1])]
    assert ndcg(short, [np.array([3.0, 2, 1])], 10) == 0.0
    assert ndcg(short, [np.array([3.0, 2, 1])], 10, "standard") == pytest.approx(
        (3 + 1 / 2) / (3 + 1 / math.log2(3)))


def test_map_err_and_average_rank_by_hand():
    y = np.array([0, 1, 0, 2])
    s = np.array([4.0, 3, 2, 1])
    assert average_precision(y, s) == pytest.approx((1 / 2 + 2 / 4) / 2)
    assert mean_average_precision([y, np.zeros(3)], [s, np.ones(3)]) == pytest.approx(0.25)
    R = [0, 1 / 4, 0, 3 / 4]            # (2^g - 1) / 2^2
    expected = R[1] / 2 + (1 - R[1]) * R[3] / 4
    assert err([y], [s]) == pytest.approx(expected)
    assert average_relevant_rank([y, np.array([1, 0])], [s, np.array([0.0, 1])]) == pytest.approx(
        (2 + 4 + 2) / 3)


def test_metrics_reject_mismatched_inputs():
    with pytest.raises(ValueError, match=r"S\[0\] \(scores\): has 2 entries, expected 3"):
        ndcg([np.zeros(3)], [np.zeros(2)])
    with pytest.raises(ValueError, match=r"Y \(grades per query\) has 2 entries but S \(scores per query\) has 1"):
        mean_average_precision([np.zeros(3), np.zeros(3)], [np.zeros(3)])
