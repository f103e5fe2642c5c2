"""Hostile inputs to the fairness tools (apps/fairness) and the ranking task's helpers
(tasks/ranking): every rejection is a structpred error naming the culprit, and the values
accepted are checked against hand computations.

Cases that could take the interpreter down before the checks existed (a compiled kernel
reading past an array, a multi-GB allocation, an endless loop) run in a child process
(``hazard_outcomes``) under a memory limit and a per-case alarm, so that a regression fails
its case instead of killing pytest. The registry-driven battery (tests/test_registry_battery.py)
covers the measures registered in ``structpred.apps.fairness.registry`` and
``structpred.metrics`` (``group_unfairness``, ``birkhoff_von_neumann``'s thresholds,
``exposure_from_samples`` with one ranking, ``average_relevant_rank`` without relevant
documents, Y / S given as a dict).
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from structpred import StructuredSVM
from structpred.apps.fairness import dynamic as D
from structpred.apps.fairness.exposure import exposure_from_samples
from structpred.apps.fairness.fair_pg_rank import FairPGRank, ips_relevance, policy_measures
from structpred.apps.fairness.lp import BvNSampler, birkhoff_von_neumann, fair_ranking_lp
from structpred.errors import (InvalidInputError, InvalidInputTypeError, NotFittedError,
                               StructpredError)
from structpred.tasks import PropensityRanking, Ranking
from structpred.tasks.ranking import Click, join_scores, query_rows
from structpred.tasks.ranking.clicks import (PositionBasedClickModel, SessionLog, click_examples,
                                             estimate_propensities_harvest,
                                             estimate_propensities_swap,
                                             swap_intervention)
from structpred.tasks.ranking.model import swapped_pairs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def refused(fn, *words, exc=InvalidInputError):
    """``fn()`` raises ``exc`` (a structpred error) whose message names every word."""
    with pytest.raises(exc) as info:
        fn()
    assert isinstance(info.value, StructpredError)
    msg = str(info.value)
    for w in words:
        assert w in msg, (w, msg)
    return info.value


# ============================================================ crash and memory hazards (child)
_S0 = "D.NewsSetup(n_items=6, n_users=40)"
_TRIAL = f"D.make_trial({_S0}, 0)"
#: case -> (statement run in the child, word its error message must contain)
HAZARDS = {
    # 1. estimate_merit: the kernel loops over len(cell_weight) strata of n_cell / ips_cell
    "estimate_merit_weights_long": (
        "for _ in range(200): D.estimate_merit(np.ones((2, 3)), [1, 1], np.full(50000, .5))",
        "cell_weight"),
    "estimate_merit_counts_short": (
        "for _ in range(200): D.estimate_merit(np.ones((50, 3)), [1], np.full(50, .5))",
        "n_cell"),
    "estimate_merit_ips_short": (
        "for _ in range(200): D.estimate_merit(np.ones((2, 3)), np.ones(5000), "
        "np.full(5000, .5))", "n_cell"),
    # 2. swapped_pairs once numba is loaded: the kernel reads r at every grade's position
    "swapped_pairs_r_short": (
        "prefer_compiled(); [swapped_pairs(np.arange(2000.0), np.zeros(3)) for _ in range(5)]",
        "r"),
    "swapped_pairs_r_long": (
        "prefer_compiled(); swapped_pairs(np.array([2.0, 1.0]), np.arange(4000.0))", "r"),
    # 7. simulate reads the trial's arrays in a compiled loop
    "simulate_group_label_out_of_range": (
        f"t = {_TRIAL}; t.groups = t.groups.copy(); t.groups[0] = 7; "
        f"D.simulate(t, 'fairco-exposure', {_S0})", "trial.groups"),
    "simulate_v_short": (f"t = {_TRIAL}; t.v = t.v[:2]; D.simulate(t, 'd-ultr', {_S0})",
                         "trial.v"),
    "simulate_cell_out_of_range": (
        f"t = {_TRIAL}; t.user_cell = t.user_cell + 10**6; "
        f"D.simulate(t, 'd-ultr', {_S0}, merit_estimator='stratified')", "trial.user_cell"),
    "simulate_exam_short": (f"t = {_TRIAL}; t.exam_u = t.exam_u[:3]; "
                            f"D.simulate(t, 'naive', {_S0})", "trial.exam_u"),
    # 5, 7, 11, 12: sizes that allocate (tens of GB to TB) or loop for ever
    "fair_pg_rank_hidden_1e9": (
        "FairPGRank(hidden=10**9, n_epochs=1).fit(X, U, G)", "hidden"),
    "fair_pg_rank_n_samples_1e9": (
        "FairPGRank(n_samples=10**9, n_epochs=1).fit(X, U, G)", "n_samples"),
    "fair_pg_rank_n_epochs_1e12": (
        "FairPGRank(n_epochs=10**12).fit(X, U, G)", "n_epochs"),
    "policy_measures_n_samples_1e9": (
        "policy_measures([np.zeros(20)], [np.ones(20)], None, n_samples=10**9)", "n_samples"),
    "news_setup_n_users_1e10": (f"D.make_trial(replace({_S0}, n_users=10**10), 0)",
                                "setup.n_users"),
    "news_setup_merit_users_1e9": (f"D.make_trial(replace({_S0}, merit_users=10**9), 0)",
                                   "setup.merit_users"),
    "news_setup_n_items_1e6": (f"D.make_trial(replace({_S0}, n_items=10**6), 0)",
                               "setup.n_items"),
    "news_setup_strata_1e9": (f"D.make_trial(replace({_S0}, strata=(10**9, 2)), 0)",
                              "setup.strata"),
    "simulate_sessions_1e12": (
        "simulate_sessions(PositionBasedClickModel(), [np.array([1., 0, 0])], "
        "[[np.array([3., 2, 1])]], 10**12, 0)", "n_sessions"),
    "bvn_sample_1e12": ("BvNSampler(np.eye(3)).sample(10**12, 0)", "n"),
}

_CHILD = r"""
import json, resource, signal, sys, warnings
from dataclasses import replace
warnings.simplefilter("ignore")
resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))   # a bomb is a MemoryError here
import numpy as np
from structpred.errors import StructpredError
from structpred.jit import prefer_compiled
from structpred.apps.fairness import dynamic as D
from structpred.apps.fairness.fair_pg_rank import FairPGRank, policy_measures
from structpred.apps.fairness.lp import BvNSampler
from structpred.tasks.ranking.clicks import PositionBasedClickModel, simulate_sessions
from structpred.tasks.ranking.model import swapped_pairs
rng = np.random.default_rng(0)
X = [rng.normal(size=(5, 3)) for _ in range(4)]
U = [rng.integers(0, 3, 5).astype(float) for _ in range(4)]
G = [np.array([0, 0, 1, 1, 1]) for _ in range(4)]

class Hang(Exception):
    pass

def _alarm(*a):
    raise Hang("no answer within 60 s")

signal.signal(signal.SIGALRM, _alarm)
cases = json.loads(sys.argv[1])
for key in sys.argv[2:]:
    print("RUNNING", key, flush=True)
    signal.alarm(60)
    try:
        exec(cases[key], globals())
        out = ["accepted", ""]
    except StructpredError as exc:
        out = ["refused", type(exc).__name__ + ": " + str(exc)]
    except BaseException as exc:
        out = ["raw", type(exc).__name__ + ": " + str(exc)[:300]]
    signal.alarm(0)
    print("OUTCOME", json.dumps([key, out]), flush=True)
"""


@pytest.fixture(scope="module")
def hazard_outcomes():
    """Every hazard case in a child process; a case that kills its process (SIGSEGV, heap
    corruption abort) is recorded as such and the rest run in a fresh child."""
    code = {k: v[0] for k, v in HAZARDS.items()}
    todo, outcomes = list(HAZARDS), {}
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    while todo:
        proc = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(code), *todo],
                              capture_output=True, text=True, cwd=ROOT, timeout=900, env=env)
        running = None
        for ln in proc.stdout.splitlines():
            if ln.startswith("RUNNING "):
                running = ln[len("RUNNING "):]
            elif ln.startswith("OUTCOME "):
                key, value = json.loads(ln[len("OUTCOME "):])
                outcomes[key] = value
        todo = [k for k in todo if k not in outcomes]
        if todo and proc.returncode != 0:
            crashed = running if running in todo else todo[0]
            outcomes[crashed] = ["died", f"exit {proc.returncode}: {proc.stderr[-300:]}"]
            todo.remove(crashed)
        elif todo:
            for k in todo:
                outcomes[k] = ["missing", proc.stderr[-300:]]
            todo = []
    return outcomes


@pytest.mark.parametrize("case", list(HAZARDS))
def test_hazard_is_refused_by_name(case, hazard_outcomes):
    kind, msg = hazard_outcomes[case]
    assert kind == "refused", (case, kind, msg)
    assert HAZARDS[case][1] in msg, (case, msg)


# ============================================================ 1. estimate_merit
@pytest.mark.parametrize("args,culprit", [
    ((np.full((2, 3), np.nan), [1, 1], [.5, .5]), "ips_cell"),
    ((np.ones(3), [1], [1.0]), "ips_cell"),
    ((-np.ones((2, 3)), [1, 1], [.5, .5]), "ips_cell"),
    ((np.ones((2, 3)), [1, np.nan], [.5, .5]), "n_cell"),
    ((np.ones((2, 3)), [1, -1], [.5, .5]), "n_cell"),
    ((np.ones((2, 3)), [1, 1], [1.0, -1.0]), "cell_weight"),
    ((np.ones((2, 3)), [1, 1], [np.inf, 1.0]), "cell_weight"),
    ((np.ones((2, 3)), [1, 1], [0.0, 0.0]), "cell_weight"),
])
def test_estimate_merit_refuses(args, culprit):
    refused(lambda: D.estimate_merit(*args), culprit)


def test_estimate_merit_by_hand():
    # R̂(d) = Σ_c w_c S_c(d)/n_c / Σ_c w_c over the strata with users
    S = np.array([[2.0, 4.0], [1.0, 0.0], [9.0, 9.0]])
    got = D.estimate_merit(S, [2, 1, 0], [0.25, 0.75, 5.0])
    assert np.allclose(got, (0.25 * np.array([1.0, 2.0]) + 0.75 * np.array([1.0, 0.0])) / 1.0)


# ============================================================ 2. swapped_pairs
@pytest.mark.parametrize("g,r,culprit", [
    ([np.nan, 1, 0], [0, 1, 2], "grades"),
    ([2, 1, 0], [np.nan, 1, 2], "r"),
    ([2, 1, 0], [np.inf, 1, 2], "r"),
    ([[2.0, 1.0]], [[0.0, 1.0]], "grades"),
    (["a", "b"], [0, 1], "grades"),
    ([2.0, 1.0], ["x", "y"], "r"),
])
def test_swapped_pairs_refuses(g, r, culprit):
    refused(lambda: swapped_pairs(np.array(g), np.array(r)), culprit)


def _brute_swapped(g, r):
    return sum((1.0 if r[i] < r[j] else 0.5 if r[i] == r[j] else 0.0)
               for i in range(len(g)) for j in range(len(g)) if g[i] > g[j])


@pytest.mark.parametrize("g,r", [([2, 1, 0], [0, 1, 2]), ([2, 1, 0], [1, 1, 1]),
                                 ([0, 2, 2, 1], [3, -1, 5, 5]), ([], [])])
def test_swapped_pairs_by_hand(g, r):
    assert swapped_pairs(np.array(g, float), np.array(r, float)) == _brute_swapped(g, r)


# ============================================================ 3. policy_measures
_U = [np.array([2.0, 1.0, 0.0, 1.0, 0.0]), np.array([0.0, 1.0, 3.0, 0.0, 0.0])]
_S = [np.array([0.5, 0.1, -0.3, 0.2, 0.0]), np.array([1.0, 0.0, 0.3, -1.0, 0.2])]
_G = [np.array([0, 0, 1, 1, 1]), np.array([0, 1, 0, 1, 0])]
_BAD_P = np.full((5, 5), 0.9)


@pytest.mark.parametrize("kwargs,culprit", [
    ({"P": [_BAD_P, np.eye(5)], "S": None}, "P[0]"),          # NDCG 18.58 before
    ({"P": [np.eye(5), np.full((5, 5), np.nan)], "S": None}, "P[1]"),
    ({"P": [np.eye(5), -np.eye(5)], "S": None}, "P[1]"),
    ({"P": [np.eye(3), np.eye(5)], "S": None}, "P[0]"),
    ({"P": [np.eye(5)], "S": None}, "P"),
    ({"S": [_S[0], np.r_[np.nan, _S[1][1:]]]}, "S[1]"),      # was "item_exposure: entry 0"
    ({"S": [_S[0], _S[1][:3]]}, "S[1]"),
    ({"S": _S[:1]}, "S"),
    ({"S": [_S[0], np.r_[np.inf, _S[1][1:]]]}, "S[1]"),
    ({"n_samples": 0}, "n_samples"), ({"n_samples": 1}, "n_samples"),
    ({"n_samples": 1.5}, "n_samples"), ({"n_samples": "9"}, "n_samples"),
    ({"random_state": "x"}, "random_state"), ({"random_state": -1}, "random_state"),
    ({"groups": [_G[0], np.array([0, 1, 2, 2, 2])]}, "groups[1]"),
    ({"groups": [_G[0], np.array([0, 1])]}, "groups[1]"),
    ({"groups": [_G[0], np.array([0, 1, np.nan, 1, 1])]}, "groups[1]"),
    ({"groups": _G[:1]}, "groups"),
    ({"relevance": [_U[0], np.r_[np.nan, _U[1][1:]]]}, "relevance[1]"),
    ({"relevance": [_U[0], -_U[1]]}, "relevance[1]"),
    ({"relevance": [], "S": [], "groups": []}, "relevance"),
    ({"relevance": None}, "relevance"),
    ({"individual": 1}, "individual"),
])
def test_policy_measures_refuses(kwargs, culprit):
    args = {"S": _S, "relevance": _U, "groups": _G, **kwargs}
    refused(lambda: policy_measures(args.pop("S"), args.pop("relevance"), args.pop("groups"),
                                    **args), culprit)


def test_policy_measures_long_nan_scores_refused():
    """> 12 documents (the Monte-Carlo path): NaN scores gave NDCG 1.0 before."""
    s = np.r_[np.nan, np.zeros(19)]
    refused(lambda: policy_measures([s], [np.ones(20)], None), "S[0]")


def test_policy_measures_by_hand():
    # u = (2, 1): ideal = 2 v_1 + v_2; P = identity and P = the uniform mixture of both orders
    v2 = 1 / math.log2(3)
    ideal = 2 + v2
    P_mix = np.full((2, 2), 0.5)
    got = policy_measures(None, [np.array([2.0, 1.0]), np.array([2.0, 1.0])],
                          [np.array([0, 1]), None], P=[np.eye(2), P_mix])
    want = [1.0, 3 * 0.5 * (1 + v2) / ideal]
    assert np.isclose(got["ndcg"], np.mean(want), atol=1e-12)
    assert got["ndcg_se"] == 0.0 and got["disparity"] == 0.0
    # within the doubly-stochastic tolerance NDCG stays <= 1
    assert policy_measures(None, [np.array([2.0, 1.0])], None,
                           P=[np.eye(2) * (1 + 1e-7)])["ndcg"] <= 1.0


# ============================================================ 4. StructuredSVM(Ranking()).score
@pytest.fixture(scope="module")
def ranking_model():
    rng = np.random.default_rng(0)
    Xs = [rng.normal(size=(3, 3)), rng.normal(size=(4, 3))]
    ys = [np.array([2.0, 1.0, 0.0]), np.array([1.0, 0.0, 2.0, 0.0])]
    return StructuredSVM(Ranking(), C=1.0, max_iter=50).fit(Xs, ys), Xs, ys


@pytest.mark.parametrize("bad,culprit", [
    ([np.array([np.nan] * 3), None], "y"),          # gave 1.0
    ([np.array([np.inf, 0.0, 1.0]), None], "y"),    # gave 0.667
    ([np.array([1.0, 0.0]), None], "y"),            # raw ValueError
    ([np.array(list("abc")), None], "y"),           # raw ValueError
    ([None, "abcd"], "y"),
])
def test_ranking_score_checks_y(ranking_model, bad, culprit):
    model, Xs, ys = ranking_model
    Y = [ys[q] if b is None else b for q, b in enumerate(bad)]
    refused(lambda: model.score(Xs, Y), culprit)


def test_ranking_score_by_hand(ranking_model):
    model, Xs, ys = ranking_model
    S = [x @ model.w_ for x in Xs]
    pairs = sum(sum(1 for i in range(len(y)) for j in range(len(y)) if y[i] > y[j]) for y in ys)
    want = 1 - sum(_brute_swapped(y, s) for y, s in zip(ys, S)) / pairs
    assert np.isclose(model.score(Xs, ys), want)
    X = np.vstack(Xs)
    assert np.isclose(model.score(X, np.concatenate(ys), group=[3, 4]), want)
    refused(lambda: model.score(X, np.r_[np.inf, np.concatenate(ys)[1:]], group=[3, 4]), "y")


# ============================================================ 5. FairPGRank
_rng = np.random.default_rng(0)
_X = [_rng.normal(size=(5, 3)) for _ in range(4)]
_UF = [_rng.integers(0, 3, 5).astype(float) for _ in range(4)]
_GF = [np.array([0, 0, 1, 1, 1]) for _ in range(4)]


@pytest.mark.parametrize("param,value", [
    ("lam", np.nan), ("lam", -1.0), ("lam", "1"), ("lam", None), ("lam", np.inf),
    ("disparity", "bogus"), ("n_samples", 0), ("n_samples", 1.5), ("n_samples", None),
    ("n_epochs", -1), ("n_epochs", 0), ("n_epochs", np.nan), ("batch_size", 0),
    ("batch_size", -1), ("learning_rate", np.nan), ("learning_rate", np.inf),
    ("learning_rate", 1e308), ("learning_rate", 0.0), ("l2", np.nan), ("l2", np.inf),
    ("l2", -1.0), ("baseline", "no"), ("baseline", 2), ("patience", 0), ("patience", "x"),
    ("hidden", -1), ("hidden", 1.5), ("context", "yes"), ("lr_schedule", "bogus"),
    ("average", 1.0), ("average", np.nan), ("random_state", -1), ("random_state", "x"),
    ("random_state", 1.5),
])
def test_fair_pg_rank_checks_every_parameter(param, value):
    kw = {"n_epochs": 1, "lam": 1.0, param: value}
    if param == "patience":
        refused(lambda: FairPGRank(**kw).fit(_X, _UF, _GF, validation=(_X, _UF, _GF)), param)
    else:
        refused(lambda: FairPGRank(**kw).fit(_X, _UF, _GF), param)


@pytest.mark.parametrize("data,culprit,exc", [
    ((_X, _UF, _GF[:2]), "groups", InvalidInputError),         # IndexError before
    ((None, None, None), "X", InvalidInputTypeError),
    (([np.array([["a"] * 3] * 5)] * 4, _UF, _GF), "X[0]", InvalidInputError),
    ((_X[:1] + [np.ones((5, 3, 1))] * 3, _UF, _GF), "X[1]", InvalidInputError),
    ((_X[:1] + [np.ones((5, 2))] * 3, _UF, _GF), "X[1]", InvalidInputError),
    ((_X, _UF[:1] + [np.ones(2)] * 3, _GF), "relevance[1]", InvalidInputError),
    ((_X, _UF, None), "groups", InvalidInputError),
    (([], [], []), "X", InvalidInputError),
])
def test_fair_pg_rank_checks_data(data, culprit, exc):
    refused(lambda: FairPGRank(n_epochs=1, lam=1.0).fit(*data), culprit, exc=exc)


def test_fair_pg_rank_scores_checks():
    refused(lambda: FairPGRank().scores(_X), "fit", exc=NotFittedError)
    m = FairPGRank(n_epochs=1, random_state=0).fit(_X, _UF, _GF)
    refused(lambda: m.scores([np.full((3, 3), np.nan)]), "X[0]")
    refused(lambda: m.scores([np.ones((3, 3)), np.ones((3, 4))]), "X[1]")
    assert all(np.allclose(s, x @ m.coef_) for s, x in zip(m.scores(_X), _X))


def test_fair_pg_rank_valid_parameters_still_train():
    m = FairPGRank(n_epochs=2, lam=1.0, n_samples=4.0, batch_size=10 ** 9, random_state=0)
    m.fit(_X, _UF, _GF)
    assert np.all(np.isfinite(m.coef_)) and np.any(m.coef_ != 0)


# ============================================================ 6. ips_relevance
def _log():
    """q0 (3 docs): shows [2, 0, 1], clicks ranks 1 and 3; shows [0, 1, 2], clicks rank 2.
    q1 (2 docs): shows [1, 0], clicks rank 1."""
    return SessionLog(query=np.array([0, 0, 1]), ranker=np.zeros(3, dtype=np.int64),
                      offsets=np.array([0, 3, 6, 8]), doc=np.array([2, 0, 1, 0, 1, 2, 1, 0]),
                      position=np.array([1, 2, 3, 1, 2, 3, 1, 2]),
                      click=np.array([1, 0, 1, 0, 1, 0, 1, 0], dtype=bool))


_P3 = [1.0, 0.5, 0.25]


def test_ips_relevance_by_hand():
    got = ips_relevance(_log(), [3, 2], _P3)
    assert np.allclose(got[0], [0.0, (1 / 0.25 + 1 / 0.5) / 2, 1.0 / 2])
    assert np.allclose(got[1], [0.0, 1.0])
    clipped = ips_relevance(_log(), [3, 2], _P3, clip=2.0)
    assert np.allclose(clipped[0], [0.0, (2.0 + 2.0) / 2, 0.5])
    assert np.allclose(ips_relevance(_log(), [3, 2], _P3, clip=np.inf)[0], got[0])


@pytest.mark.parametrize("kwargs,culprit", [
    ({"clip": -1.0}, "clip"), ({"clip": 0.0}, "clip"), ({"clip": np.nan}, "clip"),
    ({"clip": "x"}, "clip"),
    ({"propensities": [1.0, 1e-320, 0.25]}, "propensities"),   # gave inf
    ({"propensities": [1.0, 0.5]}, "propensities"),
    ({"propensities": [1.0, np.nan, 0.25]}, "propensities"),
    ({"propensities": [1.0, 0.0, 0.25]}, "propensities"),
    ({"sizes": [3]}, "query 1"), ({"sizes": [2, 2]}, "document 2"),
    ({"sizes": [-3, 2]}, "sizes[0]"), ({"sizes": [3.5, 2]}, "sizes[0]"),
    ({"log": None}, "log"),
])
def test_ips_relevance_refuses(kwargs, culprit):
    args = {"log": _log(), "sizes": [3, 2], "propensities": _P3, **kwargs}
    exc = InvalidInputTypeError if kwargs.get("log", 1) is None else InvalidInputError
    refused(lambda: ips_relevance(**args), culprit, exc=exc)


# ============================================================ 7. NewsSetup / simulate
@pytest.mark.parametrize("field,value", [
    ("n_items", 2.5), ("n_items", "6"), ("n_items", np.nan), ("n_users", 1.5),
    ("p_plus", np.nan), ("p_plus", "x"), ("p_plus", None), ("user_mean", np.nan),
    ("user_mean", 1e308), ("user_std", 0), ("user_std", np.nan), ("openness", (0, 0)),
    ("openness", (np.nan, 0.5)), ("openness", (0.5, 0.05)), ("openness", (0.1,)),
    ("openness", "ab"), ("openness", None), ("head_start", 1.5), ("head_start_group", True),
    ("merit_users", 1.5), ("lam", np.nan), ("lam", "x"), ("lam", None), ("lam", -1.0),
    ("lam", 1e308), ("lp_every", np.nan), ("lp_every", "x"), ("lp_every", 0),
    ("lp_compensate", "no"), ("polarity_pool", (1e308, -1e308) * 5),
    ("pooled_degree", (100, 100)), ("pooled_ridge", np.nan), ("pooled_refit", np.nan),
])
def test_news_setup_checks_every_field(field, value):
    def run():
        setup = replace(D.NewsSetup(n_items=6, n_users=40), **{field: value})
        D.simulate(D.make_trial(setup, 0), "lp" if field.startswith("lp") else
                   "fairco-exposure", setup)
    refused(run, f"setup.{field}")


def test_setup_changed_after_construction_is_checked():
    setup = D.NewsSetup(n_items=6, n_users=40)
    trial = D.make_trial(setup, 0)
    setup.lam = "x"                     # a numba TypingError before
    refused(lambda: D.simulate(trial, "fairco-exposure", setup), "setup.lam")
    setup.lam = 0.01
    setup.user_std = 0.0                # ZeroDivisionError before
    refused(lambda: D.make_trial(setup, 0), "setup.user_std")


@pytest.mark.parametrize("kwargs,culprit", [
    ({"lam": np.nan}, "lam"), ({"lam": "x"}, "lam"), ({"lam": 1e308}, "lam"),
    ({"seed": "x"}, "seed"), ({"method": "bogus"}, "method"),
    ({"control_merit": [np.nan] * 6}, "control_merit"),
    ({"control_merit": [1.0] * 5}, "control_merit"),
])
def test_simulate_checks_its_arguments(kwargs, culprit):
    setup = D.NewsSetup(n_items=6, n_users=40)
    args = {"method": "fairco-exposure", **kwargs}
    refused(lambda: D.simulate(D.make_trial(setup, 0), setup=setup, **args), culprit)
    refused(lambda: D.simulate(None, "naive"), "trial", exc=InvalidInputTypeError)


def test_simulate_still_runs_and_is_finite():
    setup = D.NewsSetup(n_items=6, n_users=60, lam=0.1)
    for method in D.METHODS:
        r = D.simulate(D.make_trial(setup, 1), method, setup)
        assert np.all(np.isfinite(r.unfair_exposure)) and np.all((0 <= r.ndcg) & (r.ndcg <= 1))


# ============================================================ 8. group_unfairness
def test_group_unfairness_refuses_and_computes():
    refused(lambda: D.group_unfairness([1.0, 2.0], [0.0, 0.0], [0, 1]), "merit")   # 1e12 before
    refused(lambda: D.group_unfairness([1.0, np.nan], [1.0, 1.0], [0, 1]), "per_item")
    refused(lambda: D.group_unfairness([1.0, 2.0, 3.0], [1.0, 1.0], [0, 1]), "merit")
    refused(lambda: D.group_unfairness([1.0, 2.0], [1.0, 1.0], [0, np.nan]), "groups")
    # three groups: mean over the three pairs of |x̄_G/R̄_G - x̄_G'/R̄_G'|
    r = [1.0 / 1.0, 4.0 / 2.0, 3.0 / 0.5]
    want = np.mean([abs(r[0] - r[1]), abs(r[0] - r[2]), abs(r[1] - r[2])])
    assert np.isclose(D.group_unfairness([1, 4, 3], [1, 2, 0.5], ["a", "b", "c"]), want)


# ============================================================ 9. join_scores
@pytest.mark.parametrize("scores,culprit", [
    ([np.ones(1), np.ones(3)], "scores[0]"),        # broadcast before
    ([np.ones(3)], "scores"),                       # rows 3..5 left as np.empty garbage
    ([np.ones(3), np.ones(2)], "scores[1]"),
    ([np.array([np.nan, 1.0, 2.0]), np.ones(3)], "scores[0]"),
    ([np.ones(3), np.ones(3), np.ones(3)], "scores"),
])
def test_join_scores_refuses(scores, culprit):
    refused(lambda: join_scores(scores, 6, group=[3, 3]), culprit)


def test_join_scores_by_hand():
    got = join_scores([np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])], 5,
                      qid=[7, 9, 7, 9, 9])
    assert np.array_equal(got, [1.0, 3.0, 2.0, 4.0, 5.0])


# ============================================================ 10, 13. query_rows: group / qid
@pytest.mark.parametrize("kwargs,culprit", [
    ({"group": np.array([2 ** 63 - 1, 2 ** 63 - 1, 8], dtype=np.int64)}, "group[0]"),
    ({"group": np.array([3, 2 ** 63 - 1, 2 ** 63 - 1, 5], dtype=np.int64)}, "group[1]"),
    ({"group": np.array([2 ** 62] * 4 + [6], dtype=np.int64)}, "group[0]"),
    ({"group": np.array([2 ** 64 - 1, 7], dtype=np.uint64)}, "18446744073709551615"),
    ({"group": [1e19, 6]}, "1e+19"),
    ({"qid": np.array([1, "a", 1, "a", 2, 2], dtype=object)}, "qid"),
    ({"qid": np.array([1, None, 1, None, 2, 2], dtype=object)}, "qid[1]"),
    ({"qid": np.array([1.0, np.nan, 1, 1, 2, 2], dtype=object)}, "qid[1]"),
])
def test_query_rows_refuses(kwargs, culprit):
    refused(lambda: query_rows(6, **kwargs), culprit)


def test_fit_names_group_and_qid_not_query_0():
    X, y = np.random.default_rng(0).normal(size=(6, 3)), np.array([2.0, 1, 0, 1, 0, 2])
    svm = StructuredSVM(Ranking(), C=1.0, max_iter=20)
    err = refused(lambda: svm.fit(X, y, group=np.array([2 ** 63 - 1, 2 ** 63 - 1, 8])),
                  "group")
    assert "query 0" not in str(err)
    refused(lambda: svm.fit(X, y, qid=np.array([1, "a", 1, "a", 2, 2], dtype=object)), "qid")
    refused(lambda: svm.fit(X, y, qid=np.array([1, None, 1, None, 2, 2], dtype=object)), "qid")
    assert [list(r) for r in query_rows(5, qid=["b", "a", "b", "c", "a"])] == \
        [[0, 2], [1, 4], [3]]


# ============================================================ 11. LP target, BvN
def test_fair_ranking_lp_huge_target_is_the_end_of_the_range():
    u, g = np.array([3.0, 2.0, 1.0, 0.5]), np.array([0, 0, 1, 1])
    huge = fair_ranking_lp(u, g, "demographic_parity", target=1e308)   # raw scipy error before
    far = fair_ranking_lp(u, g, "demographic_parity", target=10.0)     # also beyond the range
    assert huge.status.startswith("least_unfair") and np.allclose(huge.P, far.P, atol=1e-7)
    # the policy pushes f_1 - f_0 to its largest value: the group-1 items on top
    v = 1 / np.log2(2 + np.arange(4))
    f = [(huge.P @ v)[g == k].mean() for k in (0, 1)]
    assert np.isclose(f[1] - f[0], (v[0] + v[1] - v[2] - v[3]) / 2, atol=1e-7)
    for bad in (np.nan, np.inf, "x", True):
        refused(lambda: fair_ranking_lp(u, g, "demographic_parity", target=bad), "target")


def test_birkhoff_von_neumann_thresholds_and_sampler():
    P = np.full((2, 2), 0.5)
    for zero in (np.nan, 1.0, -1.0, 1e-7):     # NaN / 1: an empty decomposition before
        refused(lambda: birkhoff_von_neumann(P, zero=zero), "zero")
    w, perms = birkhoff_von_neumann(P)
    assert np.isclose(w.sum(), 1.0) and len(perms) == 2
    s = BvNSampler(P)
    refused(lambda: s.sample(2, "x"), "random_state")               # TypeError before
    for n in (0, -1, 1.5, True):
        refused(lambda: s.sample(n, 0), "n")
    assert s.sample(5, 0).shape == (5, 2)


# ============================================================ 12. click tools
def test_click_examples_checks_the_log_against_X():
    X = [np.ones((3, 2)), np.ones((2, 2))]
    refused(lambda: click_examples(_log(), X[:1]), "session 2", "query 1")   # IndexError before
    refused(lambda: click_examples(_log(), [np.ones((2, 2)), X[1]]), "session 0", "document 2")
    refused(lambda: click_examples(_log(), None), "X", exc=InvalidInputTypeError)
    # one example per click, ω = 1/p at its rank: (doc 2, rank 1), (doc 1, rank 3),
    # (doc 1, rank 2) of query 0, (doc 1, rank 1) of query 1
    Xc, Yc, n = click_examples(_log(), X, _P3, merge=False)
    assert n == 4 and [c.weight for c in Yc] == [1.0, 4.0, 2.0, 1.0]
    assert [c.index for c in Yc] == [2, 1, 1, 1]


@pytest.mark.parametrize("y,r,culprit", [
    (Click(-1, 1.0), [1.0, 2.0, 3.0], "clicked index"),    # wrapped to the last document
    (Click(3, 1.0), [1.0, 2.0, 3.0], "clicked index"),
    (Click(0, np.nan), [1.0, 2.0, 3.0], "weight"),          # NaN loss before
    (Click(0, 0.0), [1.0, 2.0, 3.0], "weight"),
    (Click(0, 1.0), [np.nan, 2.0, 3.0], "y_hat"),
    (None, [1.0, 2.0], "Click"),
])
def test_propensity_ranking_loss_checks_the_click(y, r, culprit):
    refused(lambda: PropensityRanking().loss(y, np.array(r)), culprit)


def test_propensity_ranking_loss_by_hand():
    # ω (#{d: r_d > r_c} + ½ #{d ≠ c: r_d = r_c})
    assert PropensityRanking().loss(Click(1, 2.0), np.array([3.0, 1.0, 2.0, 1.0])) == \
        2.0 * (2 + 0.5)
    assert PropensityRanking(clip=1.5).loss(Click(0, 2.0), np.array([1.0, 2.0])) == 1.5


def test_propensity_ranking_score_refuses_a_bad_click():
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(4, 3)) for _ in range(3)]
    Y = [Click(0, 1.0), Click(2, 2.5), Click(1, 1.5)]
    m = StructuredSVM(PropensityRanking(), C=1.0, max_iter=30).fit(X, Y)
    refused(lambda: m.score(X, [Click(9, 1.0)] + Y[1:]), "clicked index")   # IndexError before
    refused(lambda: m.score(X, [Click(0, np.nan)] + Y[1:]), "weight")


# ============================================================ 14, 15. measures (see the battery)
def test_average_relevant_rank_and_dict_inputs():
    from structpred.metrics.ranking import average_relevant_rank, err, ndcg
    refused(lambda: average_relevant_rank([np.zeros(2)], [np.array([0.0, 1.0])]), "Y",
            "relevant")
    assert average_relevant_rank([np.array([0.0, 1.0, 1.0])], [np.array([3.0, 2.0, 1.0])]) == 2.5
    for fn in (ndcg, err, average_relevant_rank):
        refused(lambda: fn({0: np.array([1.0, 0.0])}, [np.array([1.0, 0.0])]), "Y", "dict")


def test_exposure_from_samples_one_ranking_and_by_hand():
    refused(lambda: exposure_from_samples([[0, 1, 2]]), "orders", "2")   # all-NaN se before
    v = np.array([1.0, 0.5, 0.25])
    mean, se = exposure_from_samples([[0, 1, 2], [2, 1, 0]], v)
    assert np.allclose(mean, [0.625, 0.5, 0.625])
    # sample sd of (1, 0.25) is 0.75/√2; se = sd/√2 = 0.375
    assert np.allclose(se, [0.375, 0.0, 0.375])


# ============================================================ 16-17. structpred errors
def test_ranking_parameters_and_loss_raise_structpred_errors():
    refused(lambda: Ranking(loss="bogus"), "loss")
    refused(lambda: Ranking().set_params(bogus=1), "bogus")
    refused(lambda: PropensityRanking().set_params(loss="pairs"), "loss")
    refused(lambda: Ranking().loss(np.array([2.0, 1.0, 0.0]), np.array([0.0, 1.0])), "y")
    refused(lambda: Ranking().max_loss(np.array([np.nan, 1.0])), "y")
    assert Ranking().loss(np.array([2.0, 1.0, 0.0]), np.array([0.0, 1.0, 2.0])) == 3.0


def test_click_estimators_degenerate_logs_raise_structpred_errors():
    refused(lambda: estimate_propensities_swap([2, 2], [1, 0], 2), "clicked")
    refused(lambda: estimate_propensities_swap([1, 2], [[1, 0], [0, 1]], 2), "clicked")
    one_ranker = SessionLog(query=np.array([0, 0]), ranker=np.zeros(2, dtype=np.int64),
                            offsets=np.array([0, 2, 4]), doc=np.array([0, 1, 0, 1]),
                            position=np.array([1, 2, 1, 2]),
                            click=np.array([1, 0, 1, 1], dtype=bool))
    refused(lambda: estimate_propensities_harvest(one_ranker, 2), "log", "two different ranks")
    refused(lambda: estimate_propensities_harvest(one_ranker, 5), "max_rank")
    bad = replace(one_ranker, position=np.array([1, 3, 1, 2]))
    refused(lambda: estimate_propensities_harvest(bad, 2), "session 0")
    cm = PositionBasedClickModel()
    refused(lambda: swap_intervention(cm, [np.ones(3)], [np.ones(3)], 10, 5, 0), "max_rank")
    refused(lambda: swap_intervention(cm, [np.ones(3)], [], 10, 2, 0), "scores")
    est = estimate_propensities_swap([1, 1, 2, 2, 2, 2], [1, 1, 1, 0, 0, 0], 2)
    assert np.allclose(est, [1.0, 0.25])
