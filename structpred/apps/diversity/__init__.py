"""Diversified ranking (SVM-div, Yue & Joachims 2008) as an application.

``DiversifiedRanker`` trains the ``tasks.diversity.DiverseSubset`` task with StructuredSVM
on labelled queries and ranks new candidate sets; ``baselines`` holds the published
baselines (BM25, MMR, ...) and ``evaluate`` the cross-validation that scores them all.
"""
from .ranker import DiversifiedRanker

__all__ = ["DiversifiedRanker"]
