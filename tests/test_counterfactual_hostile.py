"""Hostile input for counterfactual learning (structpred.counterfactual, GibbsPolicy): every
defect a hostile probe found, each as the documented behaviour it must have now: a named
structpred error (InvalidInputError, a ValueError; DataFormatError naming file and line), a
warning naming the culprit, or the right value against a brute-force / hand computation."""
import math
import os

import numpy as np
import pytest
import scipy.sparse as sp

from structpred import GibbsPolicy
from structpred.counterfactual import (CRM, BanditFeedback, GibbsTarget, JointFeatureRidge,
                                       default_clip, direct_method, doubly_robust, ips,
                                       read_feedback, snips, write_feedback)
from structpred.counterfactual.conversion import (classification_to_bandit, fit_crf,
                                                  supervised_to_bandit)
from structpred.counterfactual.objectives import risk_and_coef
from structpred.errors import InvalidInputError, InvalidInputTypeError, NotFittedError
from structpred.tasks.multiclass import Multiclass


def _data(n=40, seed=0, d=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    Y = rng.integers(0, 3, n)
    loss = rng.uniform(size=n)
    p = rng.uniform(0.1, 0.9, n)
    return X, Y, loss, p


def _task(X, Y):
    task = Multiclass(n_classes=3)
    task.initialize(X, Y)
    return task


def _fb(n=40, seed=0, **kw):
    X, Y, loss, p = _data(n, seed)
    return BanditFeedback(X, Y, kw.pop("loss", loss), propensity=kw.pop("propensity", p), **kw)


def _fitted_crm(fb=None):
    fb = fb or _fb()
    return CRM(Multiclass(n_classes=3), objective="ips", clip=None, max_iter=20).fit(fb)


class _IsThirty:
    """The loss model m(x, y) = 1[y == 30] (exact for the loss 1[y == 30])."""

    def predict(self, X, Y):
        return (np.asarray(Y) == 30).astype(float)


# ------------------------------------------------------------------ 1. multiclass sampling
def test_multiclass_samples_are_the_users_labels_with_the_softmax_frequencies():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    labels = np.array([10, 20, 30])[rng.integers(0, 3, 60)]
    pol = GibbsPolicy(Multiclass(), C=100.0).fit(X, labels)
    x = X[:1]
    draws = pol.sample(x, 20000, random_state=0)[0]
    assert set(draws) <= {10, 20, 30}
    # brute force: the softmax of W x over the three classes, by hand
    scores = pol.model.coef(pol.w_) @ x[0]
    exact = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
    freq = np.array([np.mean(np.asarray(draws) == c) for c in (10, 20, 30)])
    assert np.allclose(freq, exact, atol=0.015), (freq, exact)
    # a sampled value is a label log_prob takes, and the single-example hook agrees
    first = [pol.sample(X[:3], 1, random_state=1)[i][0] for i in range(3)]
    assert np.all(np.isfinite(pol.log_prob(X[:3], first)))
    assert set(pol.model.sample(x[0], pol.w_, 50, 0)) <= {10, 20, 30}
    crm = CRM(pol.model, objective="ips", clip=None, max_iter=5).fit(
        BanditFeedback(X, labels, np.zeros(60), propensity=np.full(60, 1 / 3)))
    assert set(np.ravel(crm.sample(X[:4], 5, random_state=0))) <= {10, 20, 30}


@pytest.mark.parametrize("estimator", ["direct_method", "doubly_robust"])
def test_sampled_model_based_estimates_use_labels(estimator):
    """Uniform target, loss 1[y == 30]: the true risk is 1/3 (it was 0.0 when the draws were
    class indices 0..2, never equal to 30)."""
    rng = np.random.default_rng(0)
    n = 200
    X = rng.normal(size=(n, 3))
    labels = np.array([10, 20, 30])[rng.integers(0, 3, n)]
    task = Multiclass()
    task.initialize(X, labels)
    fb = BanditFeedback(X, labels, (labels == 30).astype(float), propensity=np.full(n, 1 / 3))
    fn = {"direct_method": direct_method, "doubly_robust": doubly_robust}[estimator]
    est = fn(fb, (task, np.zeros(9)), _IsThirty(), n_samples=200, random_state=0)
    assert est.value == pytest.approx(1 / 3, abs=0.01)


# ------------------------------------------------------------------ 2. policy-name injection
@pytest.mark.parametrize("policy", ["a\n7:0:1 | 0:5\n# x", "a\rb", "tab\tname", "ünï", " lead",
                                    "trail ", ""])
def test_write_feedback_refuses_a_policy_name_it_cannot_write(tmp_path, policy):
    fb = BanditFeedback(np.eye(3), [0, 1, 2], [0.0, 1.0, 0.5], propensity=[0.5] * 3,
                        logging_policy=policy)
    path = tmp_path / "log.txt"
    with pytest.raises(InvalidInputError, match="logging_policy"):
        write_feedback(fb, path)
    assert os.listdir(tmp_path) == []          # no file, no stray temporary file


def test_an_injected_record_is_refused_and_a_plain_name_round_trips(tmp_path):
    X = np.eye(3)
    bad = BanditFeedback(X, [0, 1, 2], [0.0, 1.0, 0.5], propensity=[0.5] * 3,
                         logging_policy="pi0\n1:0:1 | 0:5")
    with pytest.raises(InvalidInputError, match="logging_policy"):
        write_feedback(bad, tmp_path / "bad.txt")
    fb = BanditFeedback(X, [0, 1, 2], [0.0, 1.0, 0.5], propensity=[0.5] * 3,
                        logging_policy="softmax logger #2 (T=0.5)")
    write_feedback(fb, tmp_path / "log.txt")
    back = read_feedback(tmp_path / "log.txt")
    assert len(back) == 3 and back.logging_policy == fb.logging_policy


# ------------------------------------------------------------------ 3. SNIPS precision
@pytest.mark.parametrize("log_p", [-1e3, -1e16, -1e17, -1e100])
def test_snips_stays_within_the_loss_range_for_tiny_log_propensities(log_p):
    X, Y, loss, _ = _data(20)
    lp = np.full(20, math.log(1 / 3))
    lp[:3] = log_p
    fb = BanditFeedback(X, Y, loss, log_propensity=lp)
    w = np.random.default_rng(1).normal(size=9)
    with pytest.warns(RuntimeWarning, match="example 0"):
        est = snips(fb, (_task(X, Y), w))
    assert loss.min() <= est.value <= loss.max()
    assert math.isfinite(est.stderr)


@pytest.mark.parametrize("objective", ["snips", "norm-poem"])
def test_self_normalized_objectives_normalize_huge_log_weights(objective):
    loss = np.array([0.0, 1.0, 1.0, 0.0, 0.0])
    log_w = np.full(5, 1e16) + np.array([0.0, 2.0, 4.0, 6.0, 8.0])   # 1e16's spacing is 2
    value, coef = risk_and_coef(objective, loss, log_w, 0.0, None)
    # brute force in exact arithmetic on the representable log-weights: q ∝ e^0, e^2, ... e^8
    q = np.exp(log_w - log_w.max())
    q /= q.sum()
    assert value == pytest.approx(float(q @ loss), rel=1e-12)
    assert loss.min() <= value <= loss.max() and np.all(np.isfinite(coef))


# ------------------------------------------------------------------ 4. default clip, uniform logger
def test_default_clip_with_a_uniform_logger_learns_and_warns():
    rng = np.random.default_rng(3)
    n = 90
    X = np.hstack([rng.normal(size=(n, 2)), np.ones((n, 1))])
    Y = rng.integers(0, 3, n)
    best = np.argmax(X[:, :2] @ np.array([[2.0, -1.0, 0.0], [0.0, 2.0, -2.0]]), axis=1)
    loss = -(Y == best).astype(float)                 # POEM's convention: losses <= 0
    fb = BanditFeedback(X, Y, loss, propensity=np.full(n, 1 / 3))
    assert default_clip(fb) == pytest.approx(1.0)     # POEM's ratio: p_90 / p_10 = 1
    with pytest.warns(RuntimeWarning, match="clip"):
        crm = CRM(Multiclass(n_classes=3), objective="poem", C=10.0).fit(fb)
    assert crm.n_iter_ > 0 and np.any(crm.w_ != 0) and math.isinf(crm.clip_)
    task = crm.model
    logger = ips(fb, (task, np.zeros(9))).value
    assert ips(fb, crm.target()).value < logger - 0.1
    # an explicit clip that freezes the learner only warns, and is kept
    with pytest.warns(RuntimeWarning, match="clip"):
        frozen = CRM(Multiclass(n_classes=3), objective="ips", clip=1.0).fit(fb)
    assert frozen.clip_ == 1.0


# ------------------------------------------------------------------ 5. faithful writing
@pytest.mark.parametrize("Y, X, kind, culprit", [
    ([0.7, 1.0, 2.0], None, "multiclass", r"Y\[0\]"),
    ([-1, 0, 1], None, "multiclass", r"Y\[0\]"),
    ([10 ** 10, 0, 1], None, "multiclass", r"Y\[0\]"),
    ([np.array([0, 1]), np.array([1, 1]), np.array([0, 0])], None, "multiclass", r"Y\[0\]"),
    ([np.array([0, 1]), np.array([1]), np.array([0, 0])], None, "vector", r"Y\[1\]"),
    ([np.array([0.5, 1]), np.array([1, 1]), np.array([0, 0])], None, "vector", r"Y\[0\]"),
    ([0, 1, 2], np.array([["a", "b"]] * 3), "multiclass", "X"),
    ([0, 1, 2], np.zeros((3, 2, 2)), "multiclass", "X"),
    ([0, 1, 2], np.array([[0.0, np.nan]] * 3), "multiclass", r"X\[0\]"),
])
def test_write_feedback_refuses_what_it_cannot_write_faithfully(tmp_path, Y, X, kind, culprit):
    X = np.eye(3) if X is None else X
    fb = BanditFeedback(X, Y, np.zeros(3), propensity=np.full(3, 0.5))
    with pytest.raises(InvalidInputError, match=culprit):
        write_feedback(fb, tmp_path / "log.txt", kind=kind)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("X", [np.zeros((3, 2)), np.array([[1.0, 0, 0], [0, 2.0, 0], [0, 0, 0]]),
                               sp.csr_matrix(np.array([[0.0, 1.5, 0], [0, 0, 0], [2.0, 0, 0]]))])
def test_write_read_round_trip_keeps_the_width(tmp_path, X):
    fb = BanditFeedback(X, [0, 2, 1], [0.25, -1.0, 3.0], log_propensity=[-0.5, -800.0, 0.0])
    write_feedback(fb, tmp_path / "log.txt")
    back = read_feedback(tmp_path / "log.txt")
    dense = X.toarray() if sp.issparse(X) else X
    assert back.X.shape == dense.shape and np.array_equal(back.X, dense)
    assert list(back.Y) == [0, 2, 1] and np.array_equal(back.loss, fb.loss)
    assert np.allclose(back.log_propensity, fb.log_propensity, rtol=0, atol=1e-12)


# ------------------------------------------------------------------ 6. default_clip overflow
def test_default_clip_refuses_a_clip_beyond_float64():
    X, Y, loss, p = _data()
    lp = np.log(p)
    lp[:5] = -1000.0
    fb = BanditFeedback(X, Y, loss, log_propensity=lp)
    with pytest.raises(InvalidInputError, match="log_propensity"):
        default_clip(fb)
    with pytest.raises(InvalidInputError, match="log_propensity"):
        CRM(Multiclass(n_classes=3), objective="poem", max_iter=5).fit(fb)


# ------------------------------------------------------------------ 7. weights beyond float64
def _tiny_first(n=20):
    X, Y, loss, _ = _data(n)
    p = np.full(n, 1 / 3)
    p[0] = 1e-320
    return BanditFeedback(X, Y, loss, propensity=p), _task(X, Y)


@pytest.mark.parametrize("call", [
    lambda fb, t: ips(fb, (t, np.zeros(9))),
    lambda fb, t: doubly_robust(fb, (t, np.zeros(9)), _IsThirty(), outputs=[0, 1, 2]),
    lambda fb, t: CRM(Multiclass(n_classes=3), objective="ips", clip=None, max_iter=5).fit(fb),
    lambda fb, t: CRM(Multiclass(n_classes=3), objective="banditnet", translation=0.5,
                      max_iter=5).fit(fb),
], ids=["ips", "doubly_robust", "crm_ips", "crm_banditnet"])
def test_weights_beyond_float64_are_refused_naming_the_example(call):
    fb, task = _tiny_first()
    with pytest.raises(InvalidInputError, match="example 0") as info:
        call(fb, task)
    assert info.value.index == 0 and "propensity" in str(info.value)


def test_snips_with_a_weight_beyond_float64_warns_naming_it_and_clipping_is_accepted():
    fb, task = _tiny_first()
    with pytest.warns(RuntimeWarning, match="example 0"):
        est = snips(fb, (task, np.zeros(9)))
    assert est.value == pytest.approx(fb.loss[0])    # all the self-normalized mass
    assert math.isfinite(ips(fb, (task, np.zeros(9)), clip=5.0).value)
    with pytest.raises(InvalidInputError, match="log_w: entry 0"):
        risk_and_coef("ips", np.ones(5), np.r_[800.0, 0, 0, 0, 0], 0.0, None)


# ------------------------------------------------------------------ 8. empty X
# (9, the reader's grammar: in test_counterfactual_io's table of bad lines)
def test_crm_expected_loss_on_no_examples_is_refused_and_predict_is_empty():
    crm = _fitted_crm()
    with pytest.raises(InvalidInputError, match="X"):
        crm.expected_loss(np.zeros((0, 3)), [])
    assert len(crm.predict(np.zeros((0, 3)))) == 0


# ------------------------------------------------------------------ 10. an unfitted Multiclass()
def test_an_unfitted_multiclass_is_initialized_from_the_data_or_refused_by_name():
    X, Y, loss, p = _data(30)
    conv = supervised_to_bandit(Multiclass(), X, Y, random_state=0)
    assert len(conv.feedback) > 0
    crm = CRM(Multiclass(), objective="ips", clip=None, max_iter=5).fit(
        BanditFeedback(X, Y, loss, propensity=p))
    assert crm.model.n_classes_ == 3
    with pytest.raises(InvalidInputError, match="not initialized"):
        ips(BanditFeedback(X, Y, loss, propensity=p), (Multiclass(), np.zeros(9)))


# ------------------------------------------------------------------ 11. widths and weight lengths
def _wide():
    rng = np.random.default_rng(2)
    return BanditFeedback(rng.normal(size=(6, 5)), [0, 1, 2, 0, 1, 2], np.zeros(6),
                          propensity=np.full(6, 1 / 3))


@pytest.mark.parametrize("call, culprit", [
    (lambda t, w: ips(_wide(), (t, w)), "X has 5 features"),
    (lambda t, w: snips(_wide(), (t, w)), "X has 5 features"),
    (lambda t, w: doubly_robust(_wide(), (t, w), _IsThirty(), outputs=[0, 1, 2]),
     "X has 5 features"),
    (lambda t, w: _fitted_crm().estimate(_wide()), "X has 5 features"),
    (lambda t, w: _fb().check_propensities(t, w[:3]), "^w: has 3 entries"),
    (lambda t, w: ips(_fb(), (t, "abc")), "^w"),
    (lambda t, w: GibbsTarget(t, np.zeros(4)), "^w: has 4 entries"),
    (lambda t, w: GibbsPolicy(Multiclass(), max_iter=5).fit(*_data()[:2]).objective(
        *_data()[:2], np.zeros(4)), "^w: has 4 entries"),
    (lambda t, w: GibbsPolicy(Multiclass(), max_iter=5).fit(*_data()[:2]).objective(
        *_data()[:2], "abc"), "^w"),
])
def test_width_and_weight_mismatches_are_named(call, culprit):
    X, Y, _, _ = _data()
    with pytest.raises(InvalidInputError, match=culprit):
        call(_task(X, Y), np.zeros(9))


# ------------------------------------------------------------------ 12. random_state
_SEEDS = ["abc", -1, 1.5, float("nan"), 2 ** 70, [1]]


@pytest.mark.parametrize("seed", _SEEDS)
@pytest.mark.parametrize("call", [
    lambda s: CRM(Multiclass(n_classes=3), C=[1.0, 10.0], random_state=s, max_iter=3).fit(_fb()),
    lambda s: CRM(Multiclass(n_classes=3), objective="ips", optimizer="majorization",
                  random_state=s, max_iter=2).fit(_fb()),
    lambda s: _fb().split(0.25, random_state=s),
    lambda s: _fitted_crm().sample(_data()[0][:2], 2, random_state=s),
    lambda s: doubly_robust(_fb(), (_task(*_data()[:2]), np.zeros(9)), random_state=s),
    lambda s: direct_method(_fb(), (_task(*_data()[:2]), np.zeros(9)), _IsThirty(),
                            random_state=s),
    lambda s: classification_to_bandit(np.eye(3), [0, 1, 2], np.full((3, 3), 1 / 3),
                                       random_state=s),
    lambda s: supervised_to_bandit(Multiclass(), *_data()[:2], random_state=s),
], ids=["crm_grid", "crm_majorization", "split", "crm_sample", "doubly_robust",
        "direct_method", "classification_to_bandit", "supervised_to_bandit"])
def test_random_state_is_checked(call, seed):
    with pytest.raises(InvalidInputError, match="random_state"):
        call(seed)


# ------------------------------------------------------------------ 13. sizes
@pytest.mark.parametrize("call, culprit", [
    (lambda: _fitted_crm().sample(_data()[0][:2], 10 ** 12), "^n="),
    (lambda: GibbsPolicy(Multiclass(), max_iter=5).fit(*_data()[:2]).sample(_data()[0][:1],
                                                                            10 ** 10), "^n="),
    (lambda: direct_method(_fb(), (_task(*_data()[:2]), np.zeros(9)), _IsThirty(),
                           n_samples=10 ** 12), "^n_samples="),
    (lambda: GibbsPolicy(Multiclass(), memory=10 ** 8, max_iter=3).fit(*_data()[:2]),
     "^memory="),
])
def test_huge_sample_counts_and_memory_are_refused_by_name(call, culprit):
    with pytest.raises(InvalidInputError, match=culprit):
        call()


# ------------------------------------------------------------------ 14. empty grids
@pytest.mark.parametrize("param", ["C", "variance_weight", "clip", "translation"])
def test_an_empty_grid_is_refused_naming_it(param):
    objective = {"variance_weight": "poem", "translation": "banditnet"}.get(param, "ips")
    with pytest.raises(InvalidInputError, match=f"^{param} is an empty grid"):
        CRM(Multiclass(n_classes=3), objective=objective, **{param: []}).fit(_fb())


# ------------------------------------------------------------------ 15. GibbsPolicy n_jobs, memory
@pytest.mark.parametrize("param, value", [
    ("n_jobs", float("nan")), ("n_jobs", float("inf")), ("n_jobs", "1"), ("n_jobs", [1]),
    ("n_jobs", 2 ** 70), ("n_jobs", 0), ("n_jobs", -1.0),
    ("memory", 2 ** 70),
])
def test_gibbs_policy_threads_and_memory_are_checked(param, value):
    with pytest.raises(InvalidInputError, match=f"^{param}"):
        GibbsPolicy(Multiclass(), max_iter=3, **{param: value}).fit(*_data()[:2])


# ------------------------------------------------------------------ 16. read_feedback n_features
@pytest.mark.parametrize("value", [-1, "3", 2.5, float("nan"), True, 10 ** 12])
def test_read_feedback_checks_n_features(tmp_path, value):
    path = tmp_path / "log.txt"
    path.write_text("1:0.5:0.5 | 0:1\n")
    with pytest.raises(InvalidInputError, match="^n_features"):
        read_feedback(path, n_features=value)


# ------------------------------------------------------------------ 17. write_feedback raw errors
def test_write_feedback_removes_its_temporary_file_when_writing_fails(tmp_path, monkeypatch):
    fb = BanditFeedback(np.eye(2), [0, 1], [0.0, 1.0], propensity=[0.5, 0.5])

    def boom(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_feedback(fb, tmp_path / "log.txt")
    assert os.listdir(tmp_path) == []


def test_write_feedback_refuses_a_non_feedback_argument(tmp_path):
    with pytest.raises(InvalidInputError, match="feedback"):
        write_feedback("x", tmp_path / "log.txt")


# ------------------------------------------------------------------ 18. BanditFeedback arguments
@pytest.mark.parametrize("X, culprit", [(None, "^X"), (5, "^X"), (np.float64(3.0), "^X"),
                                        (np.array(3.0), "^X")])
def test_feedback_contexts_must_be_a_sequence(X, culprit):
    with pytest.raises(InvalidInputTypeError, match=culprit):
        BanditFeedback(X, [0, 1], [0.0, 1.0], propensity=[0.5, 0.5])


@pytest.mark.parametrize("index", [[100], [-100], [0.5], "a", [True, True, True], [[0, 1]]])
def test_feedback_subset_checks_its_index(index):
    with pytest.raises(InvalidInputError, match="^index"):
        _fb().subset(index)


# ------------------------------------------------------------------ 19. wrong argument types
@pytest.mark.parametrize("call, error, culprit", [
    (lambda: CRM(None).fit(_fb()), InvalidInputTypeError, "^model"),
    (lambda: CRM("multiclass").fit(_fb()), InvalidInputTypeError, "^model"),
    (lambda: CRM(Multiclass(n_classes=3), max_iter=3).fit(_fb(), validation="x"),
     InvalidInputError, "^validation"),
    (lambda: CRM(Multiclass(n_classes=3), max_iter=3).fit(_fb(), w0="abc"),
     InvalidInputError, "^w0"),
    (lambda: _fitted_crm().predict(None), InvalidInputError, "^X"),
    (lambda: direct_method(_fb(), (_task(*_data()[:2]), np.zeros(9)), _IsThirty(), outputs=5),
     InvalidInputError, "^outputs"),
    (lambda: direct_method(_fb(), (_task(*_data()[:2]), np.zeros(9)), _IsThirty(),
                           outputs=[0]), InvalidInputError, "^outputs"),
    (lambda: direct_method(_fb(), (_task(*_data()[:2]), np.zeros(9)), _IsThirty(),
                           outputs=[0, 0, 0]), InvalidInputError, "^outputs"),
])
def test_wrong_argument_types_are_named(call, error, culprit):
    with pytest.raises(error, match=culprit):
        call()


# ------------------------------------------------------------------ 20. JointFeatureRidge, fit_crf
def test_joint_feature_ridge_and_fit_crf_check_their_input():
    X, Y, loss, p = _data()
    task = _task(X, Y)
    with pytest.raises(NotFittedError):
        JointFeatureRidge(task).predict(X[:2], [0, 1])
    collinear = BanditFeedback(np.ones((40, 3)), Y, loss, propensity=p)
    with pytest.raises(InvalidInputError, match="^alpha"):
        JointFeatureRidge(task, alpha=1e-300).fit(collinear)
    model = JointFeatureRidge(task).fit(BanditFeedback(X, Y, loss, propensity=p))
    with pytest.raises(InvalidInputError, match="X has 5 features"):
        model.predict(np.zeros((2, 5)), [0, 1])
    for kw, name in ((dict(max_iter="x"), "max_iter"), (dict(tol=-1), "tol"),
                     (dict(max_iter=10 ** 400), "max_iter")):
        with pytest.raises(InvalidInputError, match=f"^{name}"):
            fit_crf(Multiclass(), X, Y, **kw)


# ------------------------------------------------------------------ 21. GibbsPolicy errors
def test_gibbs_policy_shape_errors_are_structpred_errors():
    X, Y, _, _ = _data()
    pol = GibbsPolicy(Multiclass(), max_iter=5).fit(X, Y)
    for call in (lambda: pol.predict(np.zeros((2, 5))), lambda: pol.predict_proba(np.zeros(3)),
                 lambda: pol.sample(np.zeros((2, 5)), 2),
                 lambda: GibbsPolicy(Multiclass()).fit(np.zeros((3, 0)), [0, 1, 2])):
        with pytest.raises(InvalidInputError) as info:
            call()
        assert isinstance(info.value, ValueError)
    with pytest.raises(InvalidInputTypeError, match="^model") as info:
        GibbsPolicy(None).fit(X, Y)
    assert isinstance(info.value, TypeError)


# ------------------------------------------------------------------ 22-26. naming the culprit
@pytest.mark.parametrize("call, culprit", [
    (lambda: CRM(Multiclass(n_classes=3), objective="ips", max_iter=5).fit(
        _fb(loss=np.r_[1e300, np.zeros(39)])), "^feedback.loss of example 0"),
    (lambda: CRM(Multiclass(n_classes=3), C=[1.0, 2.0], max_iter=3).fit(_fb().subset([0, 1, 2])),
     "^validation_fraction"),
    (lambda: _fb().check_propensities(_task(*_data()[:2]), np.zeros(9), atol=float("nan")),
     "^atol"),
    (lambda: _fb().check_propensities(_task(*_data()[:2]), np.zeros(9), atol=-1), "^atol"),
    (lambda: GibbsPolicy(Multiclass(), verbose="1").fit(*_data()[:2]), "^verbose"),
    (lambda: GibbsPolicy(Multiclass(), warm_start="1").fit(*_data()[:2]), "^warm_start"),
    (lambda: CRM(Multiclass(n_classes=3), verbose="1").fit(_fb()), "^verbose"),
    (lambda: _fitted_crm().expected_loss(_data()[0][:2], [0, 1], n_samples=0), "^n_samples"),
    (lambda: CRM(Multiclass(n_classes=3), max_iter=10 ** 400).fit(_fb()), "^max_iter"),
    (lambda: _fb(propensity=["0.5"] * 40), "^propensity"),
    (lambda: _fb(propensity=[True] + [0.5] * 39), "^propensity of example 0"),
    (lambda: _fb(loss=np.zeros(40) + 1j), "^loss"),
    (lambda: _fitted_crm().estimate(_fb(), "ips", foo=1), "foo"),
])
def test_errors_name_their_culprit(call, culprit):
    with pytest.raises(InvalidInputError, match=culprit):
        call()
