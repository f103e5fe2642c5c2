"""SVM-div: diverse subset selection with structural SVMs (Yue & Joachims, ICML 2008).

``DiverseSubset`` is the task (joint feature map, weighted subtopic loss, greedy oracles),
``DiversityFeaturizer`` turns (query, documents[, engine ranks]) into its input, and
``DiversifiedRanker`` is the user-facing estimator: fit on labelled queries, then
``rank(query, documents)`` returns the top-k document indices in order.
"""
from .features import CandidateSet, DiversityFeaturizer, tokenize
from .model import DiverseSubset, DiversityBatch, SubsetLabel

__all__ = ["DiverseSubset", "SubsetLabel", "DiversityBatch", "CandidateSet",
           "DiversityFeaturizer", "tokenize", "DiversifiedRanker"]


def __getattr__(name):
    if name == "DiversifiedRanker":
        from .ranker import DiversifiedRanker
        return DiversifiedRanker
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
