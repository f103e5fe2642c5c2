"""SVM-rank / Propensity SVM-rank: oracle vs brute force, Ψ vs a plain-Python reference, the
trained 1-slack objective vs cvxpy, a sanity fit, batch forms vs single forms."""
from __future__ import annotations

import itertools

import cvxpy as cp
import numpy as np
import pytest
import scipy.sparse as sp

from structpred import StructuredSVM
from structpred.tasks.ranking import Click, PairLabelling, PropensityRanking, Ranking
from structpred.testing import score_output


def _pairs(g):
    return [(i, j) for i in range(len(g)) for j in range(len(g)) if g[i] > g[j]]


def _psi_reference(x, g, signs, weight=1.0, Z=1.0):
    """½ (ω/Z) Σ_{g_i > g_j} ŷ_ij (x_i - x_j), one pair at a time."""
    out = np.zeros(x.shape[1])
    for i, j in _pairs(g):
        out += 0.5 * weight / Z * signs[i][j] * (x[i] - x[j])
    return out


def _all_labellings(task, g):
    P = _pairs(g)
    m = len(g)
    for bits in itertools.product([1, -1], repeat=len(P)):
        S = np.zeros((m, m))
        for (i, j), b in zip(P, bits):
            S[i, j] = b
        yield task.labelling(g, S)


@pytest.mark.parametrize("loss", ["pairs", "fraction"])
def test_oracle_equals_brute_force_over_all_labellings(loss):
    rng = np.random.default_rng(1)
    checked = 0
    for _ in range(60):
        m = int(rng.integers(2, 6))
        x = rng.normal(size=(m, 3))
        g = rng.integers(0, 4, size=m).astype(float)
        w = rng.normal(size=3) * rng.choice([0.1, 1.0, 5.0])
        task = Ranking(n_features=3, loss=loss)
        y_hat = task.loss_augmented_inference(x, g, w)
        value = task.loss(g, y_hat) + score_output(task, x, y_hat, w)
        best = max(task.loss(g, c) + score_output(task, x, c, w) for c in _all_labellings(task, g))
        assert value == pytest.approx(best, abs=1e-10)
        checked += len(_pairs(g)) > 0
    assert checked > 30


def test_oracle_vs_all_permutations():
    """Rankings are labellings too: for binary grades the best permutation reaches the
    oracle's value (the margin-shifted sort); for 3 grades it can only be lower or equal."""
    rng = np.random.default_rng(2)
    task = Ranking(n_features=2)
    for grades_max in (1, 2):
        for _ in range(25):
            m = int(rng.integers(2, 6))
            x = rng.normal(size=(m, 2))
            g = rng.integers(0, grades_max + 1, size=m).astype(float)
            w = rng.normal(size=2) * 2
            v_oracle = (lambda yh: task.loss(g, yh) + score_output(task, x, yh, w))(
                task.loss_augmented_inference(x, g, w))
            v_perm = max(task.loss(g, c) + score_output(task, x, c, w)
                         for c in (task.labelling_from_ranking(g, -np.asarray(p, float))
                                   for p in itertools.permutations(range(m))))
            if grades_max == 1:
                assert v_perm == pytest.approx(v_oracle, abs=1e-10)
            else:
                assert v_perm <= v_oracle + 1e-10


def test_propensity_oracle_brute_force_and_rank_loss():
    rng = np.random.default_rng(3)
    task = PropensityRanking(n_features=3)
    for _ in range(40):
        m = int(rng.integers(2, 6))
        x = rng.normal(size=(m, 3))
        y = Click(int(rng.integers(m)), float(rng.uniform(1, 5)))
        w = rng.normal(size=3)
        g = np.zeros(m)
        g[y.index] = 1
        y_hat = task.loss_augmented_inference(x, y, w)
        value = task.loss(y, y_hat) + score_output(task, x, y_hat, w)
        best = -np.inf
        for bits in itertools.product([1, -1], repeat=m - 1):
            S = np.zeros((m, m))
            for j, b in zip([j for j in range(m) if j != y.index], bits):
                S[y.index, j] = b
            c = PairLabelling(*_labelling_weighted(x, g, S, y.weight))
            best = max(best, task.loss(y, c) + score_output(task, x, c, w))
        assert value == pytest.approx(best, abs=1e-10)
        # loss of a ranking = ω (rank of the clicked document - 1)
        s = x @ w
        rank = 1 + np.sum(s > s[y.index])
        assert task.loss(y, s) == pytest.approx(y.weight * (rank - 1))


def _labelling_weighted(x, g, S, weight):
    m = len(g)
    coef = np.zeros(m)
    loss = 0.0
    for i, j in _pairs(g):
        coef[i] += 0.5 * weight * S[i, j]
        coef[j] -= 0.5 * weight * S[i, j]
        loss += weight * (1 - S[i, j]) / 2
    return coef, loss


@pytest.mark.parametrize("loss", ["pairs", "fraction"])
def test_joint_feature_matches_reference(loss):
    rng = np.random.default_rng(4)
    task = Ranking(n_features=4, loss=loss)
    for _ in range(20):
        m = int(rng.integers(2, 7))
        x = rng.normal(size=(m, 4))
        g = rng.integers(0, 3, size=m).astype(float)
        P = _pairs(g)
        Z = 1.0 if loss == "pairs" else max(len(P), 1)
        S = rng.choice([-1.0, 1.0], size=(m, m))
        ref = _psi_reference(x, g, S, Z=Z) if P else np.zeros(4)
        assert np.allclose(task.joint_feature(x, task.labelling(g, S)), ref)
        ones = np.ones((m, m))
        truth = _psi_reference(x, g, ones, Z=Z) if P else np.zeros(4)
        assert np.allclose(task.joint_feature(x, g), truth)
        assert np.allclose(task.joint_feature(sp.csr_matrix(x), g), truth)
        assert task.loss(g, g) == 0.0


def test_batch_forms_match_single_forms_dense_and_sparse():
    rng = np.random.default_rng(5)
    X = [rng.normal(size=(int(m), 5)) for m in rng.integers(1, 9, size=12)]
    Y = [rng.integers(0, 3, size=x.shape[0]).astype(float) for x in X]
    w = rng.normal(size=5)
    task = Ranking(n_features=5)
    for XX in (X, [sp.csr_matrix(x) for x in X]):
        batch = task.make_batch(XX, Y)
        ans = task.batch_loss_augmented_inference(batch, w)
        D = task.batch_delta_joint_feature(batch, ans).toarray()
        L = task.batch_loss(batch, ans)
        for i, (x, y) in enumerate(zip(X, Y)):
            yh = task.loss_augmented_inference(x, y, w)
            assert L[i] == pytest.approx(task.loss(y, yh))
            assert np.allclose(D[i], task.joint_feature(x, y) - task.joint_feature(x, yh))


def _make_queries(rng, n=25, f=4, noise=0.5):
    w_true = rng.normal(size=f)
    X, Y = [], []
    for _ in range(n):
        m = int(rng.integers(3, 9))
        x = rng.normal(size=(m, f))
        s = x @ w_true + noise * rng.normal(size=m)
        Y.append(np.digitize(s, np.quantile(s, [0.5, 0.8])).astype(float))
        X.append(x)
    return X, Y, w_true


def _pairwise_qp(X, Y, C, weights=None, fraction=False):
    """½‖w‖² + (C/n) Σ_q (ω_q/Z_q) Σ_pairs max(0, 1 - w·(x_i - x_j)), solved by cvxpy."""
    n = len(X)
    f = X[0].shape[1]
    w = cp.Variable(f)
    terms = []
    for q, (x, g) in enumerate(zip(X, Y)):
        P = _pairs(g)
        if not P:
            continue
        D = np.array([x[i] - x[j] for i, j in P])
        scale = (1.0 if weights is None else weights[q]) / (len(P) if fraction else 1.0)
        terms.append(scale * cp.sum(cp.pos(1 - D @ w)))
    prob = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(w) + C / n * sum(terms)))
    prob.solve()
    return prob.value, w.value


@pytest.mark.parametrize("loss", ["pairs", "fraction"])
def test_one_slack_objective_matches_cvxpy(loss):
    rng = np.random.default_rng(6)
    X, Y, _ = _make_queries(rng, n=15)
    Y[0] = np.zeros_like(Y[0])       # a query without pairs: adds 0 but counts in n
    C = 5.0
    svm = StructuredSVM(Ranking(loss=loss), C=C, eps=1e-6, algorithm="1-slack").fit(X, Y)
    ref, w_ref = _pairwise_qp(X, Y, C, fraction=loss == "fraction")
    assert svm.primal_objective(X, Y) == pytest.approx(ref, rel=1e-4)
    assert np.allclose(svm.w_, w_ref, atol=1e-3)


def test_propensity_objective_matches_cvxpy_and_clipping():
    rng = np.random.default_rng(7)
    Xs, Ys = [], []
    for _ in range(12):
        m = int(rng.integers(2, 6))
        Xs.append(rng.normal(size=(m, 3)))
        Ys.append(Click(int(rng.integers(m)), float(rng.uniform(1, 8))))
    grades = []
    for x, y in zip(Xs, Ys):
        g = np.zeros(x.shape[0])
        g[y.index] = 1
        grades.append(g)
    for clip in (None, 3.0):
        w_eff = [min(y.weight, clip) if clip else y.weight for y in Ys]
        svm = StructuredSVM(PropensityRanking(clip=clip), C=2.0, eps=1e-6).fit(Xs, Ys)
        ref, _ = _pairwise_qp(Xs, grades, 2.0, weights=w_eff)
        assert svm.primal_objective(Xs, Ys) == pytest.approx(ref, rel=1e-4)


@pytest.mark.parametrize("algorithm", ["1-slack", "n-slack", "bcfw"])
def test_sanity_fit_recovers_the_ranking(algorithm):
    rng = np.random.default_rng(8)
    X, Y, w_true = _make_queries(rng, n=40, noise=0.1)
    svm = StructuredSVM(Ranking(), C=10.0, eps=0.01, algorithm=algorithm).fit(X, Y)
    assert svm.score(X, Y) > 0.9                       # pairwise accuracy
    cos = svm.w_ @ w_true / np.linalg.norm(svm.w_) / np.linalg.norm(w_true)
    assert cos > 0.9


def test_check_input_rejects_bad_queries():
    task = Ranking(n_features=2)
    with pytest.raises(ValueError, match="query 1"):
        task.check_input([np.zeros((2, 2)), np.full((2, 2), np.nan)])
    with pytest.raises(ValueError, match="query 0: grades: has 2 entries, expected 3"):
        task.check_input([np.zeros((3, 2))], [np.zeros(2)])
    ptask = PropensityRanking(n_features=2)
    with pytest.raises(ValueError, match="click 0: clicked index must be an integer >= 0 and <= 2, got 5"):
        ptask.check_input([np.zeros((3, 2))], [Click(5, 1.0)])
    with pytest.raises(ValueError, match="click 0: weight"):
        ptask.check_input([np.zeros((3, 2))], [Click(0, -1.0)])
    with pytest.raises(ValueError, match="loss must be"):
        Ranking(loss="map")


def test_save_load_roundtrip(tmp_path):
    from structpred import load
    rng = np.random.default_rng(9)
    X, Y, _ = _make_queries(rng, n=10)
    svm = StructuredSVM(Ranking(loss="fraction"), C=1.0).fit(X, Y)
    svm.save(tmp_path / "m.npz")
    back = load(tmp_path / "m.npz")
    assert isinstance(back.model, Ranking) and back.model.loss_type == "fraction"
    assert np.array_equal(back.w_, svm.w_)


@pytest.mark.realdata
def test_mq2008_fold1_matches_an_independent_pairwise_ranksvm():
    """The bar: full-information NDCG@10 (C from vali) no lower than scikit-learn's pairwise
    RankSVM's minus 0.01, and the same objective at the same C."""
    from conftest import data_file
    from sklearn.svm import LinearSVC

    from structpred.datasets.letor import load_mq2008
    from structpred.metrics.ranking import ndcg

    data_file("ranking/mq2008/Fold1/train.txt.gz")
    tr, va, te = (load_mq2008(1, s) for s in ("train", "vali", "test"))
    D, s = [], []
    for x, g in zip(tr.X, tr.y):
        i, j = np.nonzero(g[:, None] > g[None, :])
        D.append(x[i] - x[j])
    D = np.vstack(D)
    s = np.where(np.arange(D.shape[0]) % 2 == 0, 1.0, -1.0)
    D *= s[:, None]
    n = len(tr.X)

    def pick(fit):
        best = max((ndcg(va.y, [x @ w for x in va.X], 10), C, w) for C, w in
                   ((C, fit(C)) for C in (0.1, 1.0, 10.0)))
        return best[1], best[2]

    C_sp, w_sp = pick(lambda C: StructuredSVM(Ranking(), C=C, eps=0.001).fit(tr.X, tr.y).w_)
    C_sk, w_sk = pick(lambda C: LinearSVC(loss="hinge", fit_intercept=False, C=C / n, tol=1e-6,
                                          max_iter=200000).fit(D, s).coef_.ravel())
    nd_sp = ndcg(te.y, [x @ w_sp for x in te.X], 10)
    nd_sk = ndcg(te.y, [x @ w_sk for x in te.X], 10)
    assert nd_sp >= nd_sk - 0.01
    # same objective ½‖w‖² + (C/n) Σ_pairs hinge at C = 1, evaluated at both solutions
    svm = StructuredSVM(Ranking(), C=1.0, eps=1e-4).fit(tr.X, tr.y)
    w_ref = LinearSVC(loss="hinge", fit_intercept=False, C=1.0 / n, tol=1e-8,
                      max_iter=500000).fit(D, s).coef_.ravel()
    hinge = lambda w: np.maximum(0, 1 - s * (D @ w)).sum()  # noqa: E731
    o_sp = 0.5 * svm.w_ @ svm.w_ + 1.0 / n * hinge(svm.w_)
    o_sk = 0.5 * w_ref @ w_ref + 1.0 / n * hinge(w_ref)
    assert o_sp == pytest.approx(svm.primal_objective(tr.X, tr.y), rel=1e-6)
    assert o_sp <= o_sk * (1 + 1e-3)
    assert o_sp >= o_sk * (1 - 1e-3) - 1e-4


def test_swapped_pairs_counts_like_the_double_loop():
    from structpred.tasks.ranking.model import swapped_pairs
    rng = np.random.default_rng(10)
    for _ in range(50):
        m = int(rng.integers(1, 12))
        g = rng.integers(0, 4, size=m).astype(float)
        r = rng.integers(0, 5, size=m).astype(float)      # many ties
        ref = sum((1.0 if r[i] < r[j] else 0.5 if r[i] == r[j] else 0.0)
                  for i in range(m) for j in range(m) if g[i] > g[j])
        assert swapped_pairs(g, r) == pytest.approx(ref)


def test_oracle_is_consistent_at_the_margin():
    """Scores exactly one apart (support vectors at the optimum): every pair must be counted
    on both of its sides (Σ δΨ coefficients = 0) and the violation must equal the pairwise
    hinge, whatever the rounding of s - 1 and s + 1."""
    from structpred.tasks.ranking.kernels import rank_oracle
    rng = np.random.default_rng(11)
    for _ in range(300):
        m = int(rng.integers(2, 9))
        s = rng.uniform(-3, 3, size=m)
        for _ in range(m):   # pairs one apart to rounding: s_i = s_j + (1 - ulp) or + 1
            i, j = rng.integers(m, size=2)
            s[i] = s[j] + rng.choice([np.nextafter(1.0, 0.0), 1.0])
        g = rng.integers(0, 3, size=m).astype(float)
        task = Ranking(n_features=1)
        batch = task.make_batch([np.zeros((m, 1))], [g])
        coef, loss = np.zeros(m), np.zeros(1)
        rank_oracle(np.ascontiguousarray(s), batch.grade_rank, batch.offsets, batch.n_grades,
                    batch.scale, coef, loss, 1.0)
        assert abs(coef.sum()) < 1e-12
        i, j = np.nonzero(g[:, None] > g[None, :])
        hinge = np.maximum(0.0, 1.0 - (s[i] - s[j])).sum()
        assert loss[0] - coef @ s == pytest.approx(hinge, abs=1e-9)
