"""Off-policy estimators against a simulator whose risk is known exactly, their intervals'
coverage, SNIPS's invariance to translating the loss, and their bad-input errors."""
import math

import numpy as np
import pytest

from structpred.counterfactual import (BanditFeedback, GibbsTarget, JointFeatureRidge,
                                       TabularTarget, direct_method, doubly_robust, ips, snips)
from structpred.counterfactual.conversion import classification_to_bandit, mix_uniform
from structpred.errors import InvalidInputError

from cf_tasks import Softmax

K, D, N = 4, 3, 200


def _world(seed=0):
    """Fixed contexts, a fixed loss table δ(x_i, a), a logger and a target softmax policy."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, D))
    table = rng.uniform(0, 1, size=(N, K))
    task = Softmax(K, D)
    w0 = rng.normal(scale=0.5, size=K * D)
    w1 = w0 + rng.normal(scale=0.4, size=K * D)
    S0 = np.exp(task._logp(X, w0))
    S1 = np.exp(task._logp(X, w1))
    truth = float(np.mean(np.sum(S1 * table, axis=1)))   # exact risk of the target
    return task, X, table, w0, w1, S0, S1, truth


def _log(X, table, S0, rng, shift=0.0):
    cum = np.cumsum(S0, axis=1)
    a = np.minimum((rng.random(len(X))[:, None] > cum).sum(axis=1), K - 1)
    return BanditFeedback(X, list(a), table[np.arange(len(X)), a] + shift,
                          propensity=S0[np.arange(len(X)), a])


def test_ips_snips_dr_unbiased_and_intervals_cover_on_a_simulator_with_exact_risk():
    task, X, table, w0, w1, S0, S1, truth = _world()
    rng = np.random.default_rng(1)
    target = GibbsTarget(task, w1)
    # the true loss table (called on the logged contexts, which are X in order)
    true_model = type("TrueLoss", (), {"predict": staticmethod(
        lambda Xq, Yq: table[np.arange(len(Yq)), np.asarray(Yq, dtype=int)])})()
    est = {"ips": [], "snips": [], "dr": [], "dm": []}
    cover = {k: 0 for k in est}
    reps = 200
    for _ in range(reps):
        fb = _log(X, table, S0, rng)
        for name, e in (("ips", ips(fb, target)), ("snips", snips(fb, target)),
                        ("dr", doubly_robust(fb, target, loss_model=_Const(0.5),
                                             outputs=range(K))),
                        ("dm", direct_method(fb, target, true_model, outputs=range(K)))):
            est[name].append(e.value)
            cover[name] += e.covers(truth)
    for name in ("ips", "dr"):
        vals = np.array(est[name])
        assert abs(vals.mean() - truth) < 3 * vals.std() / math.sqrt(reps), name
        assert 0.90 <= cover[name] / reps <= 0.99, (name, cover[name] / reps)
    # SNIPS is consistent, biased O(1/n): close in expectation at n = 200
    vals = np.array(est["snips"])
    assert abs(vals.mean() - truth) < 3 * vals.std() / math.sqrt(reps) + 0.01
    assert 0.88 <= cover["snips"] / reps <= 0.99
    # the direct method with the true loss table is exact
    assert np.allclose(est["dm"], truth)


class _Const:
    """A deliberately wrong loss model (a constant): DR must stay unbiased."""

    def __init__(self, c):
        self.c = c

    def predict(self, X, Y):
        return np.full(len(Y), self.c)


def test_snips_shifts_with_a_translated_loss_and_ips_does_not():
    task, X, table, w0, w1, S0, S1, truth = _world()
    fb = _log(X, table, S0, np.random.default_rng(2))
    target = GibbsTarget(task, w1)
    c = 5.0
    s0, s1 = snips(fb, target).value, snips(fb.translated(-c), target).value
    assert s1 == pytest.approx(s0 + c, abs=1e-12)
    i0, i1 = ips(fb, target).value, ips(fb.translated(-c), target).value
    w = np.exp(task.batch_log_prob(task.make_batch(X, fb.Y), w1) - fb.log_propensity)
    assert i1 == pytest.approx(i0 + c * w.mean(), abs=1e-12)
    assert abs(i1 - (i0 + c)) > 1e-3     # IPS moves by c·mean(w), not c


def test_clipping_and_target_forms_agree():
    task, X, table, w0, w1, S0, S1, truth = _world()
    fb = _log(X, table, S0, np.random.default_rng(3))
    a = ips(fb, (task, w1)).value
    assert a == pytest.approx(ips(fb, TabularTarget(S1)).value)
    assert a == pytest.approx(ips(fb, S1).value)
    assert ips(fb, (task, w1), clip=math.inf).value == pytest.approx(a)
    w = np.exp(np.log(S1[np.arange(N), fb.Y]) - fb.log_propensity)
    M = float(np.median(w))
    assert ips(fb, S1, clip=M).value == pytest.approx(np.mean(fb.loss * np.minimum(w, M)))
    # on-policy: SNIPS with the logger as target is the plain mean of the losses
    assert snips(fb, (task, w0)).value == pytest.approx(fb.loss.mean())


def test_fitted_loss_model_dr_is_close_to_truth():
    task, X, table, w0, w1, S0, S1, truth = _world()
    rng = np.random.default_rng(4)
    vals = [doubly_robust(_log(X, table, S0, rng), GibbsTarget(task, w1), outputs=range(K)).value
            for _ in range(30)]
    assert abs(np.mean(vals) - truth) < 3 * np.std(vals) / math.sqrt(30) + 0.01
    fb = _log(X, table, S0, rng)
    model = JointFeatureRidge(task, alpha=1e-3).fit(fb)
    assert model.predict(fb.X, fb.Y).shape == (N,)


def test_digits_ope_ips_snips_dr_within_two_standard_errors(data_home):
    """Open Bandit Pipeline's multiclass reduction on UCI digits: a softmax logger mixed with
    uniform; a second softmax policy evaluated; 20 seeds."""
    from conftest import data_file
    data_file("multiclass/digits.csv.gz")
    from structpred.counterfactual.conversion import fit_crf
    from structpred.datasets import load_digits
    X, y = load_digits()
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(y))
    train, ev = perm[:300], perm[300:700]
    task = Softmax(10, X.shape[1])
    w = fit_crf(task, X[train], list(y[train]), C=100.0)
    P_log = mix_uniform(np.exp(task._logp(X[ev], w * 0.5)), 0.2)
    P_tgt = mix_uniform(np.exp(task._logp(X[ev], w)), 0.05)
    truth = float(np.mean(1 - P_tgt[np.arange(len(ev)), y[ev]]))
    # the DR loss model comes from an independent log of the same images
    model = JointFeatureRidge(task, alpha=1.0).fit(
        classification_to_bandit(X[ev], y[ev], P_log, random_state=1000))
    ok = {"ips": 0, "snips": 0, "dr": 0}
    for seed in range(20):
        fb = classification_to_bandit(X[ev], y[ev], P_log, random_state=seed)
        for name, e in (("ips", ips(fb, P_tgt)), ("snips", snips(fb, P_tgt)),
                        ("dr", doubly_robust(fb, P_tgt, loss_model=model))):
            ok[name] += abs(e.value - truth) <= 2 * e.stderr
    for name, count in ok.items():
        assert count >= 17, (name, count)          # nominal 95.4% of 20


# ---------------------------------------------------------------------------- bad input
def test_bad_propensities_losses_and_parameters_name_the_culprit():
    X, Y = np.zeros((3, 2)), [0, 1, 2]
    for p in ([0.5, 0.0, 0.5], [0.5, -0.1, 0.5], [0.5, 1.5, 0.5], [0.5, float("nan"), 0.5]):
        with pytest.raises(InvalidInputError, match="example 1") as info:
            BanditFeedback(X, Y, [0, 1, 0], propensity=p)
        assert info.value.index == 1
    with pytest.raises(InvalidInputError, match="log_propensity of example 2"):
        BanditFeedback(X, Y, [0, 1, 0], log_propensity=[0, -1, 0.5])
    for bad in (float("nan"), float("inf")):
        with pytest.raises(InvalidInputError, match="loss of example 0"):
            BanditFeedback(X, Y, [bad, 1, 0], propensity=[1, 1, 1])
    with pytest.raises(InvalidInputError, match="exactly one"):
        BanditFeedback(X, Y, [0, 1, 0])
    fb = BanditFeedback(X, Y, [0, 1, 0], propensity=[0.5, 0.5, 0.5])
    task = Softmax(3, 2)
    for clip in (0, -1.0, float("nan")):
        with pytest.raises(InvalidInputError, match="clip"):
            ips(fb, (task, np.zeros(6)), clip=clip)
    one = fb.subset([0])
    for est in (ips, snips):
        with pytest.raises(InvalidInputError, match="one example"):
            est(one, (task, np.zeros(6)))


def test_structures_outside_the_output_space_and_inconsistent_propensities():
    task = Softmax(3, 2)
    X = np.ones((3, 2))
    fb = BanditFeedback(X, [0, 3, 1], [0, 1, 0], propensity=[0.5, 0.5, 0.5])
    with pytest.raises(InvalidInputError, match="Y\\[1\\]"):
        fb.check_task(task)
    w = np.arange(6, dtype=float) / 10
    lp = task.batch_log_prob(task.make_batch(X, [0, 1, 2]), w)
    good = BanditFeedback(X, [0, 1, 2], [0, 1, 0], log_propensity=lp, logging_policy="pi0")
    good.check_propensities(task, w)
    lp[2] -= 0.1
    bad = BanditFeedback(X, [0, 1, 2], [0, 1, 0], log_propensity=lp, logging_policy="pi0")
    with pytest.raises(InvalidInputError, match="example 2.*pi0"):
        bad.check_propensities(task, w)


def test_variance_calibration_zeroes_the_poem_bound_of_the_logging_policy():
    # λ* = −mean(δ)/sqrt(V̂/n): at λ = λ* the POEM objective of the logger (every importance
    # weight 1) is mean(δ) + λ*·sqrt(V̂/n) = 0; smaller λ leaves it negative
    from structpred.counterfactual import variance_calibration
    from structpred.counterfactual.objectives import risk_and_coef
    rng = np.random.default_rng(3)
    n = 40
    fb = BanditFeedback(rng.normal(size=(n, D)), rng.integers(0, K, size=n),
                        rng.uniform(0, 1, size=n), propensity=rng.uniform(0.1, 0.9, size=n))
    tr = fb.translated(1.0)
    lam = variance_calibration(tr)
    value, _ = risk_and_coef("poem", tr.loss, np.zeros(n), lam, 10.0)
    assert value == pytest.approx(0.0, abs=1e-12)
    assert risk_and_coef("poem", tr.loss, np.zeros(n), 0.5 * lam, 10.0)[0] < 0
    with pytest.raises(InvalidInputError, match="negative mean"):
        variance_calibration(fb)                      # losses in [0, 1]: not translated
    with pytest.raises(InvalidInputError, match="at least 2"):
        variance_calibration(tr.subset([0]))
