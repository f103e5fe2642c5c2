"""The off-policy estimators' registry: each estimator of ``estimators`` with a tiny logged
data set and an independent reference, so that tests/test_registry_battery.py throws its
hostile battery at each (NaN / zero / negative / > 1 propensities, NaN losses, a single
logged example, a target that is not a probability matrix or covers other contexts or
actions, bad clip, level and loss models) and compares each example with its reference.

The references do not call the estimators: they are the estimators' formulas written as
explicit loops over the logged examples (importance weights π(a_i|x_i)/p_i as plain
ratios, the normal quantile from the standard library).

``COVERS`` maps each module whose public functions must all be registered to the names
left out and why; the battery fails on a public function that is neither registered nor
listed there.
"""
from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

from ..metrics import Metric

__all__ = ["ESTIMATORS", "COVERS", "TableLossModel"]

_MOD = "structpred.counterfactual.estimators"

# six logged contexts, three actions
_ACTIONS = (0, 1, 2, 0, 1, 2)
_LOSS = (0.2, 1.0, 0.5, 0.0, 0.7, 0.3)
_PROPENSITY = (0.5, 0.25, 0.25, 0.5, 0.25, 0.25)
_TARGET = ((0.7, 0.2, 0.1), (0.1, 0.6, 0.3), (0.2, 0.2, 0.6),
           (0.5, 0.25, 0.25), (0.3, 0.3, 0.4), (0.1, 0.1, 0.8))
_MODEL = ((0.3, 0.9, 0.4), (0.2, 0.8, 0.6), (0.1, 0.5, 0.5),
          (0.0, 0.4, 0.2), (0.6, 0.7, 0.1), (0.2, 0.3, 0.3))


class TableLossModel:
    """A loss model m(x, a) given by a table: ``predict(X, Y)[i] = table[int(X[i, 0]), Y[i]]``
    (the context's first feature is its row)."""

    def __init__(self, table=_MODEL):
        self.table = np.asarray(table, dtype=np.float64)

    def predict(self, X, Y):
        """m(x_i, y_i) for paired contexts and actions."""
        return np.array([self.table[int(X[i][0]), int(y)] for i, y in enumerate(Y)])


def _feedback(loss=_LOSS):
    from .feedback import BanditFeedback
    return BanditFeedback(np.arange(6.0)[:, None], np.array(_ACTIONS), np.array(loss),
                          propensity=np.array(_PROPENSITY))


def _ex(*rest, loss=_LOSS, **kw):
    return lambda: ([_feedback(loss), np.array(_TARGET), *rest], dict(kw))


# ------------------------------------------------------------------ references (loops)
def _weights(clip=None):
    w = [_TARGET[i][a] / _PROPENSITY[i] for i, a in enumerate(_ACTIONS)]
    return [min(clip, x) for x in w] if clip is not None else w


def _interval(value, se, level, n):
    z = NormalDist().inv_cdf(0.5 + level / 2)
    return {"value": value, "stderr": se, "low": value - z * se, "high": value + z * se, "n": n}


def _mean_se(terms):
    n = len(terms)
    mu = sum(terms) / n
    return mu, math.sqrt(sum((t - mu) ** 2 for t in terms) / (n - 1)) / math.sqrt(n)


def _clip_level(args, kw, clip_at=2, level_at=3):
    clip = args[clip_at] if len(args) > clip_at else kw.get("clip")
    level = args[level_at] if len(args) > level_at else kw.get("level", 0.95)
    return clip, level


def _ref_ips(args, kw):
    clip, level = _clip_level(args, kw)
    terms = [d * w for d, w in zip(_LOSS, _weights(clip))]
    return _interval(*_mean_se(terms), level, len(terms))


def _ref_snips(args, kw):
    clip, level = _clip_level(args, kw)
    w = _weights(clip)
    value = sum(d * x for d, x in zip(_LOSS, w)) / sum(w)
    n = len(w)
    se = math.sqrt(sum(x * x * (d - value) ** 2 for d, x in zip(_LOSS, w))) / sum(w) \
        * math.sqrt(n / (n - 1))
    return _interval(value, se, level, n)


def _dm_terms():
    return [sum(_TARGET[i][a] * _MODEL[i][a] for a in range(3)) for i in range(6)]


def _ref_direct_method(args, kw):
    return _interval(*_mean_se(_dm_terms()), kw.get("level", 0.95), 6)


def _ref_doubly_robust(args, kw):
    w = _weights(kw.get("clip"))
    terms = [dm + w[i] * (_LOSS[i] - _MODEL[i][_ACTIONS[i]]) for i, dm in enumerate(_dm_terms())]
    return _interval(*_mean_se(terms), kw.get("level", 0.95), 6)


def _ref_log_importance_weights(args, kw):
    return np.array([math.log(x) for x in _weights()])


def _percentile(sorted_values, q):
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def _ref_default_clip(args, kw):
    lp = sorted(math.log(p) for p in _PROPENSITY)
    return math.exp(_percentile(lp, 90) - _percentile(lp, 10))


_NEG_LOSS = tuple(d - 1.0 for d in _LOSS)


def _ref_variance_calibration(args, kw):
    mu, se = _mean_se(list(_NEG_LOSS))
    return -mu / se


_E = _MOD + ":"
_R = (-math.inf, math.inf)
_FT = ("feedback", "target")
_FTM = ("feedback", "target", "loss_model")

ESTIMATORS: dict[str, Metric] = {
    "ips": Metric(_E + "ips", ("feedback", "target", "clip", "level"),
                  (*_FT, "clip", "level"), _ex(None, 0.9), value_range=_R, reference=_ref_ips),
    "ips_clipped": Metric(_E + "ips", ("feedback", "target", "clip", "level"),
                          (*_FT, "clip", "level"), _ex(2.0, 0.95), value_range=_R,
                          reference=_ref_ips),
    "snips": Metric(_E + "snips", ("feedback", "target", "clip", "level"),
                    (*_FT, "clip", "level"), _ex(None, 0.9), value_range=_R,
                    reference=_ref_snips),
    "snips_clipped": Metric(_E + "snips", ("feedback", "target", "clip", "level"),
                            (*_FT, "clip", "level"), _ex(2.0, 0.95), value_range=_R,
                            reference=_ref_snips),
    "direct_method": Metric(_E + "direct_method", ("feedback", "target", "loss_model"), _FTM,
                            _ex(TableLossModel()), value_range=_R,
                            reference=_ref_direct_method),
    "doubly_robust": Metric(_E + "doubly_robust", ("feedback", "target", "loss_model"), _FTM,
                            _ex(TableLossModel()), value_range=_R,
                            reference=_ref_doubly_robust),
    "doubly_robust_clipped": Metric(_E + "doubly_robust", ("feedback", "target", "loss_model"),
                                    _FTM, _ex(TableLossModel(), clip=2.0, level=0.8),
                                    value_range=_R, reference=_ref_doubly_robust),
    "log_importance_weights": Metric(_E + "log_importance_weights", _FT, _FT, _ex(),
                                     value_range=_R, reference=_ref_log_importance_weights),
    "default_clip": Metric(_E + "default_clip", ("feedback",), ("feedback",),
                           lambda: ([_feedback()], {}), value_range=(1.0, math.inf),
                           reference=_ref_default_clip),
    "variance_calibration": Metric(_E + "variance_calibration", ("feedback",), ("feedback",),
                                   lambda: ([_feedback(_NEG_LOSS)], {}),
                                   value_range=(0.0, math.inf),
                                   reference=_ref_variance_calibration),
}


# ------------------------------------------------------------------ CRM objectives
def _objective_value(objective, loss, log_w, lam, clip):
    """The objective's value from its definition (loops), for finite differences."""
    n = len(loss)
    w = [min(clip, math.exp(x)) if clip is not None else math.exp(x) for x in log_w]
    if objective in ("ips", "poem", "banditnet"):
        shift = lam if objective == "banditnet" else 0.0
        u = [(d - shift) * x for d, x in zip(loss, w)]
        value = sum(u) / n
        if objective == "poem":
            mu = value
            value += lam * math.sqrt(sum((t - mu) ** 2 for t in u) / (n - 1) / n)
        return value
    total = sum(w)
    R = sum(d * x for d, x in zip(loss, w)) / total
    if objective == "norm-poem":
        R += lam * math.sqrt(sum((d - R) ** 2 * x * x for d, x in zip(loss, w))) / total
    return R


def _ref_risk_and_coef(args, kw):
    """{0: the value, 1: its derivatives in each log w_i by central finite differences}."""
    objective, loss, log_w, lam, clip = args[0], list(args[1]), list(args[2]), args[3], args[4]
    h = 1e-6
    grad = []
    for i in range(len(log_w)):
        up, down = list(log_w), list(log_w)
        up[i] += h
        down[i] -= h
        grad.append((_objective_value(objective, loss, up, lam, clip)
                     - _objective_value(objective, loss, down, lam, clip)) / (2 * h))
    return {0: _objective_value(objective, loss, log_w, lam, clip), 1: np.array(grad)}


def _objective_example(objective, lam, clip):
    return lambda: ([objective, np.array(_LOSS), np.log(np.array(_weights())), lam, clip], {})


_OBJ = "structpred.counterfactual.objectives:risk_and_coef"
_OBJ_ROLES = ("choice", "vector", "log_weights", "nonneg_real", "clip")
_OBJ_ARGS = ("objective", "loss", "log_w", "lam", "clip")
for _objective, _lam, _clip in (("ips", 0.0, 2.0), ("poem", 0.5, 2.0), ("snips", 0.0, None),
                                ("norm-poem", 0.5, 3.0), ("banditnet", 0.3, None)):
    ESTIMATORS[f"risk_and_coef_{_objective.replace('-', '_')}"] = Metric(
        _OBJ, _OBJ_ARGS,
        _OBJ_ROLES if _objective != "banditnet" else (*_OBJ_ROLES[:3], "real", "clip"),
        _objective_example(_objective, _lam, _clip), value_range=_R,
        reference=_ref_risk_and_coef, rtol=1e-6)

#: Modules whose every public function must be registered above, and the exceptions.
COVERS = {"structpred.counterfactual.objectives": {
    "OBJECTIVES": "the names of the objectives (a tuple, not a function)",
    "LOG_MAX_WEIGHT": "a constant (log of float64's largest number), not a function"}, _MOD: {
    "Estimate": "the result type of the estimators",
    "GibbsTarget": "a target policy class, reached through the estimators' target argument",
    "TabularTarget": "a target policy class, reached through the estimators' target argument",
    "as_target": "the estimators' conversion of their target argument (poisoned through it)",
    "JointFeatureRidge": "a loss model class (doubly_robust's default), not a measure",
}}
