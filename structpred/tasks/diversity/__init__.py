"""SVM-div: diverse subset selection with structural SVMs (Yue & Joachims, ICML 2008).

``DiverseSubset`` is the task (joint feature map, weighted subtopic loss, greedy oracles) and
``DiversityFeaturizer`` turns (query, documents[, engine ranks]) into its input. The
user-facing estimator ``DiversifiedRanker`` (fit on labelled queries, then
``rank(query, documents)``), its baselines and evaluation live in
:mod:`structpred.apps.diversity`.
"""
from .features import CandidateSet, DiversityFeaturizer, tokenize
from .model import DiverseSubset, DiversityBatch, SubsetLabel

__all__ = ["DiverseSubset", "SubsetLabel", "DiversityBatch", "CandidateSet",
           "DiversityFeaturizer", "tokenize"]
