"""Counterfactual learning from logged bandit feedback (x, y, δ, p) for structured outputs.

* :class:`BanditFeedback` -- the logged data and its checks; :mod:`.io` reads and writes it
  (Vowpal Wabbit's ``action:cost:probability | features`` and its structured generalisation).
* :mod:`.estimators` -- IPS, clipped IPS, SNIPS, direct method, doubly robust, with intervals.
* :class:`CRM` -- counterfactual risk minimization (IPS, POEM, SNIPS, Norm-POEM, BanditNet).
* :func:`supervised_to_bandit` -- the supervised-to-bandit conversion of the papers.
"""
from .estimators import (Estimate, GibbsTarget, JointFeatureRidge, TabularTarget, default_clip,
                         direct_method, doubly_robust, ips, log_importance_weights, snips,
                         variance_calibration)
from .feedback import BanditFeedback
from .learners import CRM

__all__ = ["BanditFeedback", "CRM", "Estimate", "GibbsTarget", "TabularTarget",
           "JointFeatureRidge", "ips", "snips", "direct_method", "doubly_robust",
           "log_importance_weights", "default_clip", "variance_calibration", "supervised_to_bandit",
           "read_feedback", "write_feedback"]


def __getattr__(name):
    if name == "supervised_to_bandit":
        from .conversion import supervised_to_bandit
        return supervised_to_bandit
    if name in ("read_feedback", "write_feedback"):
        from . import io
        return getattr(io, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
