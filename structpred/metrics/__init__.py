"""Evaluation measures, one module per task: chunking (conlleval), brackets (evalb),
subtopics (weighted subtopic loss), ranking (NDCG, MAP, ERR, average relevant rank).

``METRICS`` registers every public metric function with what the registry-driven battery
(tests/test_registry_battery.py) needs: the role of each positional argument, its integer
keyword parameters, the range of its values, a tiny valid example and, where written, a
reference (brute force or closed form) the battery compares the example's result against.
A new metric is covered by adding one entry.

Measures of higher layers register in their own package, in a registry of the same
``Metric`` entries: ``structpred.apps.fairness.registry.MEASURES`` (exposure and fairness
measures), ``structpred.counterfactual.registry.ESTIMATORS`` (off-policy estimators).
``REGISTRIES`` names them as strings, so this module imports nothing above it;
``all_metrics()`` imports them on demand and is what the battery walks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module

import numpy as np

__all__ = ["Metric", "METRICS", "REGISTRIES", "all_metrics"]

#: Argument roles the battery knows how to poison: per_query_grades / per_query_scores (a
#: list of arrays, one per query), grades / scores (one array), indices (integer indices),
#: weights (non-negative numbers), topic_matrix, tags (list of tag sequences), trees;
#: for the fairness measures: nonneg_vector (one value >= 0 per item or rank), vector (one
#: finite value per item), groups (group labels, two groups or more needed), groups2
#: (exactly two), groups_any (one or more), prob_matrix (doubly stochastic rank-marginal
#: matrix), permutation (item indices top first), permutations (one ranking per row), count
#: (a number of items >= 1); for the off-policy estimators: feedback (BanditFeedback),
#: target (n x K action-probability matrix), loss_model (an object with predict(X, Y)),
#: clip (a positive number or inf), level (a confidence level in (0, 1)); for FA*IR:
#: open_probability (in (0, 1)), alpha (a significance in [0, 1)), top_k (1 <= k <= the
#: number of candidates), flags (one True/False per candidate), flags_k (one per position
#: of a top-k ranking), mtable (minimum protected counts m(1..k)); for the fair-ranking LP:
#: constraint (one of its constraint families), nonneg_real (a tolerance >= 0); for the
#: CRM objectives: choice (one of a set of names), log_weights (log importance weights,
#: ±inf allowed), real (any finite number).
ROLES = ("per_query_grades", "per_query_scores", "grades", "scores", "indices", "weights",
         "topic_matrix", "tags", "trees", "nonneg_vector", "vector", "groups", "groups2",
         "groups_any", "prob_matrix", "permutation", "permutations", "count", "feedback",
         "target", "loss_model", "clip", "level", "open_probability", "alpha", "top_k", "flags",
         "flags_k", "mtable", "constraint", "nonneg_real", "choice", "log_weights", "real")


@dataclass(frozen=True)
class Metric:
    """A registered metric: ``target`` ("module:function", relative to structpred.metrics
    or absolute), the ``argnames`` and ``roles`` of the arguments the battery poisons
    (positional, or keywords of the example), its integer keyword parameters
    (``int_kwargs``: name -> valid value; those in ``bounded_ints`` must also be refused
    above the data's size, e.g. k > n), the closed ``value_range`` of its result,
    ``example`` (a callable returning (args, kwargs) of a tiny valid call) and
    ``reference`` (None, or a callable (args, kwargs) -> the exact result of that call
    computed independently, by brute force or closed form: a number, an array, or a dict
    of the result's fields to compare), equal within relative tolerance ``rtol`` (1e-9;
    larger only when the reference is itself a numerical solver's answer)."""
    target: str
    argnames: tuple
    roles: tuple
    example: object
    int_kwargs: dict = field(default_factory=dict)
    value_range: tuple = (0.0, 1.0)
    reference: object = None
    bounded_ints: tuple = ()
    rtol: float = 1e-9

    def load(self):
        """The metric function named by ``target`` (imported on first use)."""
        module, attr = self.target.split(":")
        return getattr(import_module(module, __package__), attr)


def _lists():
    return ([np.array([2.0, 0.0, 1.0, 0.0]), np.array([0.0, 1.0, 3.0])],
            [np.array([0.5, 0.1, 0.9, -0.2]), np.array([1.0, 2.0, 0.5])])


def _ranking_example(**kw):
    return lambda: (list(_lists()), dict(kw))


def _one_query():
    Y, S = _lists()
    return [Y[0], S[0]], {}


def _tags():
    return [[["B-NP", "I-NP", "O", "B-VP"], ["B-NP"]],
            [["B-NP", "O", "O", "B-VP"], ["B-NP"]]], {}


def _trees():
    from ..labels.trees import normalize, parse_tree
    g = [normalize(parse_tree("(S (NP (DT the) (NN dog)) (VP (VBD ran)))")),
         normalize(parse_tree("(S (NP (PRP it)) (VP (VBD saw) (NP (DT a) (NN cat))))"))]
    t = [normalize(parse_tree("(S (NP (DT the)) (VP (NN dog) (VBD ran)))")),
         normalize(parse_tree("(S (NP (PRP it)) (VP (VBD saw) (NP (DT a) (NN cat))))"))]
    return [g, t], {}


def _topics():
    T = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 0]], dtype=float)
    return [T, np.array([0, 2])], {}


def _topics_weights():
    (T, s), _ = _topics()
    return [T, s, np.array([1.0, 2.0, 0.5])], {}


_PQ = ("per_query_grades", "per_query_scores")
_LARGE = (0.0, float("inf"))

METRICS: dict[str, Metric] = {
    "ndcg": Metric(".ranking:ndcg", ("Y", "S"), _PQ, _ranking_example(k=3), {"k": 3}),
    "ndcg_standard": Metric(".ranking:ndcg", ("Y", "S"), _PQ,
                            _ranking_example(k=3, convention="standard"), {"k": 3}),
    "ndcg_per_query": Metric(".ranking:ndcg_per_query", ("Y", "S"), _PQ, _ranking_example(k=2),
                             {"k": 2}),
    "mean_average_precision": Metric(".ranking:mean_average_precision", ("Y", "S"), _PQ,
                                     _ranking_example()),
    "err": Metric(".ranking:err", ("Y", "S"), _PQ, _ranking_example(k=3), {"k": 3}),
    "average_relevant_rank": Metric(".ranking:average_relevant_rank", ("Y", "S"), _PQ,
                                    _ranking_example(), value_range=(1.0, float("inf"))),
    "average_precision": Metric(".ranking:average_precision", ("y", "s"), ("grades", "scores"),
                                _one_query),
    "dcg": Metric(".ranking:dcg", ("grades_in_order",), ("grades",),
                  lambda: ([np.array([3.0, 0.0, 1.0])], {"k": 2}), {"k": 2}, _LARGE),
    "chunk_scores": Metric(".chunking:chunk_scores", ("y_true", "y_pred"), ("tags", "tags"),
                           _tags, value_range=_LARGE),
    "token_accuracy": Metric(".chunking:token_accuracy", ("y_true", "y_pred"), ("tags", "tags"),
                             _tags),
    "bracket_scores": Metric(".brackets:bracket_scores", ("gold_trees", "test_trees"),
                             ("trees", "trees"), _trees, value_range=_LARGE),
    "weighted_subtopic_loss": Metric(".subtopics:weighted_subtopic_loss",
                                     ("topics", "subset", "weights"),
                                     ("topic_matrix", "indices", "weights"), _topics_weights),
    "greedy_subtopic_cover": Metric(".subtopics:greedy_subtopic_cover", ("topics",),
                                    ("topic_matrix",), lambda: ([_topics()[0][0]], {"k": 2}),
                                    {"k": 2}, _LARGE),
}


#: The registries of higher layers, "module:attribute", imported only by ``all_metrics``.
REGISTRIES = ("structpred.apps.fairness.registry:MEASURES",
              "structpred.counterfactual.registry:ESTIMATORS")


def all_metrics() -> dict:
    """Every registered measure: ``METRICS`` and the registries named in ``REGISTRIES``
    (imported here, on demand), as one dict name -> Metric; a name used twice is an error."""
    out = dict(METRICS)
    for spec in REGISTRIES:
        module, attr = spec.split(":")
        for name, entry in getattr(import_module(module), attr).items():
            if name in out:
                raise ValueError(f"measure {name!r} is registered twice (in {spec})")
            out[name] = entry
    return out
