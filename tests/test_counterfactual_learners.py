"""CRM: objective gradients against finite differences, the stochastic majorization optimizer
against L-BFGS, learning beats the logger on a simulator, SNIPS's invariance to a translated
loss (IPS's propensity overfitting), hyper-parameter selection, the scikit-learn protocol,
model files, the supervised-to-bandit conversion and bad input."""
import math

import numpy as np
import pytest

from structpred.counterfactual import CRM, BanditFeedback, GibbsTarget, snips
from structpred.counterfactual.conversion import fit_crf, supervised_to_bandit
from structpred.counterfactual.objectives import OBJECTIVES, risk_and_coef
from structpred.errors import InvalidInputError

from cf_tasks import IndependentLabels, Softmax


def _data(n=300, seed=0, L=3, D=4):
    rng = np.random.default_rng(seed)
    X = np.hstack([rng.normal(size=(n, D - 1)), np.ones((n, 1))])
    W = rng.normal(size=(L, D))
    Y = (X @ W.T + 0.5 * rng.normal(size=(n, L)) > 0).astype(np.int64)
    return X, Y


@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("clip", [None, 1.5])
def test_objective_gradient_matches_finite_differences(objective, clip):
    rng = np.random.default_rng(1)
    task = Softmax(3, 2)
    n = 12
    X = rng.normal(size=(n, 2))
    Y = list(rng.integers(0, 3, size=n))
    loss = rng.uniform(-1, 0, size=n)
    log_p = np.log(rng.uniform(0.2, 0.9, size=n))
    batch = task.make_batch(X, Y)
    lam = 0.7 if objective != "banditnet" else -0.4

    def R(w):
        lp = task.batch_log_prob(batch, w)
        return risk_and_coef(objective, loss, lp - log_p, lam, clip)

    for trial in range(3):
        w = rng.normal(size=6)
        value, coef = R(w)
        _, g = task.batch_log_prob_grad(batch, w, coef)
        eps = 1e-6
        num = np.array([(R(w + eps * e)[0] - R(w - eps * e)[0]) / (2 * eps) for e in np.eye(6)])
        assert np.allclose(g, num, rtol=1e-5, atol=1e-7), (objective, clip, g, num)


def test_poem_value_is_clipped_ips_plus_variance_penalty():
    rng = np.random.default_rng(2)
    loss, log_w = rng.uniform(-1, 0, 50), rng.normal(size=50)
    u = loss * np.minimum(np.exp(log_w), 2.0)
    v, _ = risk_and_coef("poem", loss, log_w, 0.5, 2.0)
    assert v == pytest.approx(u.mean() + 0.5 * math.sqrt(u.var(ddof=1) / 50))
    q = np.exp(log_w) / np.exp(log_w).sum()
    R = q @ loss
    v, _ = risk_and_coef("norm-poem", loss, log_w, 0.5, None)
    assert v == pytest.approx(R + 0.5 * math.sqrt(np.sum(q ** 2 * (loss - R) ** 2)))


def _logged(seed=0):
    X, Y = _data(seed=seed)
    task = IndependentLabels(3, 4)
    conv = supervised_to_bandit(task, X, list(Y), logger_fraction=0.05, n_replays=2,
                                logger_C=1.0, random_state=seed)
    return task, X, Y, conv


def _expected(task, X, Y, w):
    return float(np.mean(task.batch_expected_loss(task.make_batch(X, list(Y)), w)[0]))


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_every_objective_learns_a_better_policy_than_the_logger(objective):
    task, X, Y, conv = _logged()
    logger = _expected(task, X, Y, conv.logger_w)
    crm = CRM(task, objective=objective, C=10.0, variance_weight=0.5, loss_translation=3.0,
              random_state=0).fit(conv.feedback)
    assert _expected(task, X, Y, crm.w_) < logger - 0.1
    assert crm.objective_ < 0


def test_majorization_reaches_the_lbfgs_objective():
    task, X, Y, conv = _logged()
    kw = dict(objective="poem", C=10.0, variance_weight=1.0, loss_translation=3.0, random_state=0)
    a = CRM(task, **kw).fit(conv.feedback)
    b = CRM(task, optimizer="majorization", max_iter=30, learning_rate=0.2, **kw).fit(conv.feedback)
    assert b.objective_ <= a.objective_ + 0.02 * abs(a.objective_)


def test_snips_learner_ignores_a_translated_loss_and_unclipped_ips_overfits_propensities():
    task, X, Y, conv = _logged()
    fb = conv.feedback
    kw = dict(C=10.0, random_state=0, clip=None, tol=1e-9, max_iter=500)
    a = CRM(task, objective="snips", **kw).fit(fb)
    b = CRM(task, objective="snips", loss_translation=-5.0, **kw).fit(fb)
    assert np.allclose(a.w_, b.w_, atol=1e-3)
    # IPS on the losses translated to be >= 0 (δ + 5) learns to avoid the logged structures:
    c = CRM(task, objective="ips", **kw).fit(fb)
    d = CRM(task, objective="ips", loss_translation=-5.0, **kw).fit(fb)
    batch = task.make_batch(fb.X, fb.Y)
    wc = np.exp(task.batch_log_prob(batch, c.w_) - fb.log_propensity)
    wd = np.exp(task.batch_log_prob(batch, d.w_) - fb.log_propensity)
    assert wd.mean() < wc.mean() - 0.1   # propensity overfitting: mean weight (1 in expectation) drops
    assert _expected(task, X, Y, d.w_) > _expected(task, X, Y, c.w_) + 0.1


def test_hyper_parameters_are_chosen_by_the_held_out_estimate():
    task, X, Y, conv = _logged()
    fb = conv.feedback
    train, held = fb.split(0.25, random_state=0)
    crm = CRM(task, objective="norm-poem", C=[0.1, 10.0], variance_weight=[0.0, 1.0],
              loss_translation=3.0, random_state=0).fit(train, validation=held)
    assert len(crm.cv_results_) == 4
    scores = [r["validation"] for r in crm.cv_results_]
    best = crm.cv_results_[int(np.argmin(scores))]
    assert crm.best_params_ == {k: best[k] for k in ("C", "variance_weight", "clip")}
    assert crm.estimate(held, "snips").value == pytest.approx(min(scores))
    bn = CRM(task, objective="banditnet", C=10.0, loss_translation=3.0, random_state=0).fit(fb)
    assert len(bn.cv_results_) == 5 and "translation" in bn.best_params_


def test_protocol_save_load_and_predictions(tmp_path):
    sklearn_base = pytest.importorskip("sklearn.base")
    task, X, Y, conv = _logged()
    crm = CRM(task, objective="poem", C=10.0, variance_weight=0.5, loss_translation=3.0)
    assert crm.get_params()["model__n_labels"] == 3
    crm.set_params(C=5.0, model__n_features=4)
    assert crm.C == 5.0
    crm.fit(conv.feedback)
    clone = sklearn_base.clone(crm)
    assert clone.C == 5.0 and not hasattr(clone, "w_")
    path = tmp_path / "crm.npz"
    crm.save(path)
    back = CRM.load(path, tasks=[IndependentLabels])
    assert np.array_equal(back.w_, crm.w_) and back.objective == "poem" and back.C == 5.0
    import structpred
    generic = structpred.load(path, tasks=[IndependentLabels])   # the header names the estimator
    assert type(generic) is CRM and np.array_equal(generic.w_, crm.w_)
    grid = CRM(task, objective="poem", C=[1.0, 10.0], variance_weight=[0.0, 0.5],
               loss_translation=3.0, random_state=0).fit(conv.feedback)
    grid.save(tmp_path / "grid.npz")      # saved with the chosen values, not the lists
    chosen = CRM.load(tmp_path / "grid.npz", tasks=[IndependentLabels])
    assert chosen.C == grid.best_params_["C"] and np.array_equal(chosen.w_, grid.w_)
    assert chosen.clip == pytest.approx(grid.clip_)
    assert back.expected_loss(X, list(Y)) == pytest.approx(crm.expected_loss(X, list(Y)))
    assert back.score(X, list(Y)) == pytest.approx(-crm.expected_loss(X, list(Y)))
    assert len(crm.predict(X)) == len(X) and len(crm.sample(X[:3], 2, random_state=0)[0]) == 2


def test_supervised_to_bandit_repeats_for_a_seed_and_logs_true_propensities():
    X, Y = _data()
    task = IndependentLabels(3, 4)
    a = supervised_to_bandit(task, X, list(Y), n_replays=3, random_state=7)
    b = supervised_to_bandit(task, X, list(Y), n_replays=3, random_state=7)
    fa, fb = a.feedback, b.feedback
    assert len(fa) == 3 * (len(X) - len(a.logger_index))
    assert np.array_equal(fa.loss, fb.loss) and np.array_equal(fa.log_propensity, fb.log_propensity)
    fa.check_propensities(task, a.logger_w, atol=1e-9)
    assert np.array_equal(fa.loss, [task.loss(Y[i], y) for i, y in zip(a.source_index, fa.Y)])
    assert not set(a.logger_index) & set(a.source_index)
    # the logger is the L2-regularised CRF: its gradient vanishes at the optimum
    w = fit_crf(task, X[:40], list(Y[:40]), C=2.0, tol=1e-10)
    _, g = task.batch_log_prob_grad(task.make_batch(X[:40], list(Y[:40])), w, np.full(40, -2.0 / 40))
    assert np.linalg.norm(w + g) < 1e-4


def test_scene_tiny_poem_beats_the_logger():
    """A small, fast version of benchmarks/poem_scene.py on real data."""
    from conftest import data_file
    data_file("multilabel/scene/scene.npz")
    from structpred.datasets.multilabel import load_scene
    from structpred.tasks import MultiLabel
    Xtr, Ytr, Xte, Yte = load_scene()
    Ytr, Yte = Ytr.astype(np.int64), Yte.astype(np.int64)
    task = MultiLabel(n_labels=6, n_features=Xtr.shape[1], bias=True)
    task.initialize(Xtr, Ytr)
    conv = supervised_to_bandit(task, Xtr[:600], list(Ytr[:600]), logger_C=5.0, n_replays=2,
                                random_state=0)
    def test_loss(w):
        return float(np.mean(task.batch_expected_loss(task.make_batch(Xte, Yte), w)[0]))
    logger = test_loss(conv.logger_w)
    poem = CRM(task, objective="poem", C=30.0, variance_weight=1.0, loss_translation=6.0,
               max_iter=60).fit(conv.feedback)
    norm = CRM(task, objective="norm-poem", C=30.0, variance_weight=1.0, loss_translation=6.0,
               max_iter=60).fit(conv.feedback)
    assert 1.3 < logger < 2.0
    assert test_loss(poem.w_) < logger - 0.1
    assert test_loss(norm.w_) < logger - 0.1


# ---------------------------------------------------------------------------- bad input
def test_bad_parameters_and_feedback_are_refused_naming_them():
    task, X, Y, conv = _logged()
    fb = conv.feedback
    for kw, name in ((dict(clip=0.0), "clip"), (dict(clip=-2.0), "clip"), (dict(C=0), "C"),
                     (dict(objective="poem!"), "objective"), (dict(variance_weight=-1), "variance_weight"),
                     (dict(objective="snips", optimizer="majorization"), "majorization"),
                     (dict(translation=[float("nan")], objective="banditnet"), "translation")):
        with pytest.raises(InvalidInputError, match=name):
            CRM(task, **kw).fit(fb)
    one = fb.subset([0])
    with pytest.raises(InvalidInputError, match="at least 2"):
        CRM(task, objective="poem", variance_weight=1.0).fit(one)
    same = BanditFeedback(X[:5], [Y[0]] * 5, np.ones(5), propensity=np.full(5, 0.3))
    with pytest.raises(InvalidInputError, match="same loss"):
        CRM(task, objective="norm-poem", variance_weight=1.0).fit(same)
    outside = BanditFeedback(X[:3], [np.array([0, 2, 1])] * 3, np.ones(3), propensity=[.5] * 3)
    with pytest.raises(InvalidInputError, match="Y\\[0\\]"):
        CRM(task).fit(outside)
    with pytest.raises(InvalidInputError, match="BanditFeedback"):
        CRM(task).fit(X)


def test_infinite_C_minimises_the_risk_alone_and_approaches_a_large_finite_C():
    # C = inf drops ½‖w‖² (POEM's μ = 0): the reported objective is R(w_) itself, and a large
    # finite C (the L2 term relatively negligible) reaches nearly the same risk
    task, X, Y, conv = _logged()
    fb = conv.feedback
    kw = dict(objective="poem", variance_weight=0.5, loss_translation=3.0, max_iter=300)
    inf = CRM(task, C=math.inf, **kw).fit(fb)
    tr = fb.translated(3.0)
    lp = task.batch_log_prob(task.make_batch(tr.X, tr.Y), inf.w_)
    risk, _ = risk_and_coef("poem", tr.loss, lp - tr.log_propensity, 0.5, inf.clip_)
    assert inf.objective_ == pytest.approx(risk)
    big = CRM(task, C=1e6, **kw).fit(fb)
    lp = task.batch_log_prob(task.make_batch(tr.X, tr.Y), big.w_)
    big_risk, _ = risk_and_coef("poem", tr.loss, lp - tr.log_propensity, 0.5, big.clip_)
    small = CRM(task, C=1.0, **kw).fit(fb)
    lp = task.batch_log_prob(task.make_batch(tr.X, tr.Y), small.w_)
    small_risk, _ = risk_and_coef("poem", tr.loss, lp - tr.log_propensity, 0.5, small.clip_)
    assert risk < small_risk - 0.1
    assert abs(risk - big_risk) < 0.05 * abs(risk)
