"""Brute-force references for checking a task's oracles on tiny instances.

Every oracle of every task is tested against these: enumerate all outputs, score each with
the task's own ``joint_feature`` and ``loss``, and take the argmax.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from .model import StructuredModel, to_sparse_row

__all__ = ["exhaustive_inference", "exhaustive_loss_augmented_inference",
           "exhaustive_slack_rescaled_inference", "score_output"]


def score_output(model: StructuredModel, x, y, w) -> float:
    """w·Ψ(x, y) computed from ``joint_feature``."""
    row = to_sparse_row(model.joint_feature(x, y), model.size_joint_feature)
    return float((row @ np.asarray(w, dtype=np.float64))[0])


def _best(candidates, value):
    best_y, best_v = None, -np.inf
    for cand in candidates:
        v = value(cand)
        if v > best_v:
            best_y, best_v = cand, v
    if best_y is None:
        raise ValueError("no candidate outputs to enumerate")
    return best_y, best_v


def exhaustive_inference(model, x, w, candidates: Iterable):
    """(argmax_y w·Ψ(x, y), its score) over the given candidate outputs."""
    return _best(candidates, lambda c: score_output(model, x, c, w))


def exhaustive_loss_augmented_inference(model, x, y, w, candidates: Iterable):
    """(argmax_y' Δ(y, y') + w·Ψ(x, y'), its value) over the candidates."""
    return _best(candidates, lambda c: model.loss(y, c) + score_output(model, x, c, w))


def exhaustive_slack_rescaled_inference(model, x, y, w, candidates: Iterable):
    """(argmax_y' Δ(y, y')(1 + w·Ψ(x, y') - w·Ψ(x, y)), its value) over the candidates."""
    s_true = score_output(model, x, y, w)
    return _best(candidates,
                 lambda c: model.loss(y, c) * (1.0 + score_output(model, x, c, w) - s_true))
