"""The parameter battery of every estimator: each public class of the package with a ``fit``
method is found by walking the package (a class added later is covered, or this test fails
until it is listed), each of its constructor parameters must have bad values below (or a
reason in ``FREE``), and each bad value must be refused by a structpred error naming the
parameter, before any result: at construction, ``set_params`` or ``fit``.

``StructuredSVM``'s own table lives in ``test_registry_battery`` (``ESTIMATOR_BAD``) and is
reused here, so that both stay one list.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import numpy as np
import pytest

import structpred

from test_registry_battery import (ESTIMATOR_BAD, ESTIMATOR_CONTEXT, ESTIMATOR_FREE,
                                   expect_named_error)

NAN, INF = float("nan"), float("inf")

#: modules not walked, and why
SKIP_MODULES = {
    "structpred.cli": "command-line front ends (tests/test_cli_battery.py)",
    "structpred.bench": "benchmark harness, not a user estimator",
    "structpred.__main__": "the command line's entry point",
}


def _public_estimators() -> dict[str, type]:
    found = {}
    for info in pkgutil.walk_packages(structpred.__path__, "structpred."):
        if any(info.name == s or info.name.startswith(s + ".") for s in SKIP_MODULES):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if (inspect.isclass(obj) and obj.__module__ == info.name and not name.startswith("_")
                    and callable(getattr(obj, "fit", None))):
                found[name] = obj
    return found


def _multiclass_data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    X = 2.0 * np.eye(3)[y] + 0.3 * rng.normal(size=(n, 3))
    return X, y


def _feedback():
    from structpred.counterfactual import BanditFeedback
    X, y = _multiclass_data()
    rng = np.random.default_rng(1)
    return BanditFeedback(X, y, rng.uniform(size=len(y)), propensity=rng.uniform(0.2, 0.9, len(y)))


def _task3():
    from structpred.tasks import Multiclass
    task = Multiclass(n_classes=3)
    X, y = _multiclass_data()
    task.initialize(X, y)
    return task


def _ranking_queries():
    rng = np.random.default_rng(2)
    X, U, G = [], [], []
    for _ in range(12):
        g = np.array([0, 0, 1, 1, 1, 0])
        quality = rng.normal(size=6) - 0.3 * g
        u = (quality > 0).astype(float)
        u[0], u[2] = 1.0, 1.0
        X.append(np.column_stack([quality, g, np.ones(6)]))
        U.append(u)
        G.append(g)
    return X, U, G


def _fit_structured_svm(est):
    X, y = _multiclass_data()
    return est.fit(X, y)


def _fit_gibbs(est):
    X, y = _multiclass_data()
    return est.fit(X, y)


def _fit_feedback(est):
    return est.fit(_feedback())


def _fit_fair_pg_rank(est):
    X, U, G = _ranking_queries()
    return est.fit(X, U, G)


def _fit_diversified(est):
    from structpred.datasets.diversity import make_synthetic_diversity
    return est.fit(make_synthetic_diversity(n_queries=8, seed=3))


def _fit_conll_features(est):
    train = [[("The", "DT", "B-NP"), ("cat", "NN", "I-NP"), ("sat", "VBD", "B-VP")]] * 3
    return est.fit(train)


def _make(cls_name):
    from structpred.tasks import Multiclass
    return {
        "StructuredSVM": lambda **kw: _cls("StructuredSVM")(Multiclass(), **kw),
        "GibbsPolicy": lambda **kw: _cls("GibbsPolicy")(Multiclass(), **kw),
        "CRM": lambda **kw: _cls("CRM")(_task3(), **{"max_iter": 5, **kw}),
        "JointFeatureRidge": lambda **kw: _cls("JointFeatureRidge")(_task3(), **kw),
        "FairPGRank": lambda **kw: _cls("FairPGRank")(**{"n_epochs": 2, **kw}),
        "DiversifiedRanker": lambda **kw: _cls("DiversifiedRanker")(**{"C": 1.0, "eps": 0.1,
                                                                     "k": 3, **kw}),
        "ConllFeatures": lambda **kw: _cls("ConllFeatures")(**kw),
    }[cls_name]


FIT = {"StructuredSVM": _fit_structured_svm, "GibbsPolicy": _fit_gibbs, "CRM": _fit_feedback,
       "JointFeatureRidge": _fit_feedback, "FairPGRank": _fit_fair_pg_rank,
       "DiversifiedRanker": _fit_diversified, "ConllFeatures": _fit_conll_features}

_COUNT = [0, -1, 1.5, NAN, "2", True, None]
_POSITIVE = [0.0, -1.0, NAN, INF, "1", True, None]
_FLAG = [2, "yes", None, NAN]

#: bad values per class and parameter (StructuredSVM: test_registry_battery's table)
BAD = {
    "StructuredSVM": ESTIMATOR_BAD,
    "GibbsPolicy": {"C": [0.0, -1.0, NAN, "1", True], "tol": [-1.0, NAN, INF, "x", True],
                    "max_iter": _COUNT, "n_jobs": [0, 1.5, "2", True, 2**70],
                    "verbose": [-1, 1.5, "x", NAN], "warm_start": _FLAG,
                    "memory": _COUNT + [2**70], "period": _COUNT},
    "CRM": {"objective": ["bogus", None, 1], "C": [0.0, -1.0, NAN, "1", True, []],
            "variance_weight": [-1.0, NAN, INF, "x", True, []],
            "clip": [0.0, -1.0, NAN, "x", True, []], "translation": [NAN, INF, "x", True, []],
            "loss_translation": [NAN, INF, "x", True, None],
            "optimizer": ["bogus", None, 1], "max_iter": _COUNT + [10**400],
            "tol": [-1.0, NAN, INF, "x", True, None], "batch_size": _COUNT,
            "learning_rate": _POSITIVE, "validation_fraction": [0.0, 1.0, -0.5, NAN, "x", True],
            "random_state": [-1, 1.5, "x", NAN, True], "verbose": [-1, 1.5, "x", NAN]},
    "JointFeatureRidge": {"alpha": [-1.0, NAN, INF, "x", True, None]},
    "FairPGRank": {"lam": [-1.0, NAN, INF, "1", True, None],
                   "disparity": ["bogus", None, 1], "n_samples": _COUNT + [10**9],
                   "n_epochs": _COUNT, "batch_size": _COUNT, "learning_rate": _POSITIVE,
                   "l2": [-1.0, NAN, INF, "x", True, None], "baseline": _FLAG,
                   "patience": [0, -1, 1.5, NAN, "x", True], "hidden": [-1, 1.5, NAN, "x",
                                                                       True, 10**9],
                   "context": _FLAG, "lr_schedule": ["bogus", None, 1],
                   "average": [-0.5, 1.5, NAN, "x", True], "random_state": [-1, 1.5, "x", NAN]},
    "DiversifiedRanker": {"k": _COUNT + [10**9], "C": [0.0, -1.0, NAN, INF, "1", True],
                          "C_grid": [[], [0.0], [NAN], "x", [-1.0]],
                          "inner_folds": [0, 1, -1, 1.5, NAN, "3", True],
                          "eps": _POSITIVE, "n_levels": _COUNT, "use_rank": _FLAG,
                          "use_url": _FLAG, "redundancy": _FLAG, "max_iter": _COUNT,
                          "n_jobs": [0, 1.5, "2", True], "verbose": [-1, 1.5, "x", NAN],
                          "random_state": [-1, 1.5, "x", NAN, True]},
    "ConllFeatures": {"word_column": [3, -4, 1.5, NAN, "0", True, None],
                      "pos_column": [3, 1.5, NAN, "0", True],
                      "window": [-1, 1.5, NAN, "2", True, None, 10**9],
                      "min_count": [0, -1, 1.5, NAN, "1", True, None]},
}
#: parameters needing others set for a bad value to matter
CONTEXT = {"StructuredSVM": ESTIMATOR_CONTEXT,
           "CRM": {"batch_size": {"optimizer": "majorization"},
                   "learning_rate": {"optimizer": "majorization"},
                   "translation": {"objective": "banditnet"},
                   "variance_weight": {"objective": "poem"}},
           "FairPGRank": {"average": {}, "patience": {}}}
#: parameters without bad values here, and why
FREE = {"StructuredSVM": ESTIMATOR_FREE,
        "GibbsPolicy": {"model": "the task: the task battery (test_registry_battery)"},
        "CRM": {"model": "the task: the task battery (test_registry_battery)"},
        "JointFeatureRidge": {"task": "the task: the task battery (test_registry_battery)"}}

_CLASSES: dict[str, type] = {}


def _cls(name):
    if not _CLASSES:
        _CLASSES.update(_public_estimators())
    return _CLASSES[name]


def test_every_public_estimator_is_in_the_battery():
    found = sorted(_public_estimators())
    assert found == sorted(BAD), f"public classes with fit: {found}; listed: {sorted(BAD)}"


@pytest.mark.parametrize("name", sorted(BAD))
def test_every_parameter_has_bad_values_or_a_reason(name):
    params = [p for p in inspect.signature(_cls(name).__init__).parameters if p != "self"]
    listed = set(BAD[name]) | set(FREE.get(name, {}))
    assert sorted(params) == sorted(listed), f"{name}: parameters {params}, listed {sorted(listed)}"


def _cases():
    for name in sorted(BAD):
        if name == "StructuredSVM":
            continue        # test_registry_battery.test_estimator_parameter_battery
        for param, values in sorted(BAD[name].items()):
            for i, value in enumerate(values):
                yield pytest.param(name, param, value, id=f"{name}-{param}-{i}:{value!r:.16}")


@pytest.mark.parametrize("name,param,value", list(_cases()))
def test_a_bad_parameter_is_refused_naming_it(name, param, value):
    kwargs = {**CONTEXT.get(name, {}).get(param, {}), param: value}
    expect_named_error(lambda: FIT[name](_make(name)(**kwargs)), param, f"{name}({param}={value!r})")
