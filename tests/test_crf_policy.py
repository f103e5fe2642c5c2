"""GibbsPolicy on SequenceLabeling: the trained objective against CRFsuite's (same model, same
L2), policy methods on chains, model files, StructuredSVM as a logging policy on chains."""
import numpy as np
import pytest
import scipy.sparse as sp

import structpred
from structpred import GibbsPolicy, StructuredSVM
from structpred.errors import InvalidInputError
from structpred.tasks import SequenceLabeling


def _toy(n=40, L=3, F=6, seed=0):
    """Sequences from a random HMM-like chain, binary sparse token features."""
    rng = np.random.default_rng(seed)
    trans = rng.dirichlet(np.ones(L) * 0.5, size=L)
    emit = rng.random((L, F)) < 0.35
    X, Y = [], []
    for _ in range(n):
        T = int(rng.integers(2, 9))
        y = [int(rng.integers(L))]
        for _ in range(T - 1):
            y.append(int(rng.choice(L, p=trans[y[-1]])))
        x = (emit[y] ^ (rng.random((T, F)) < 0.1)).astype(float)
        x[:, 0] = 1.0
        X.append(sp.csr_matrix(x))
        Y.append(np.array(y))
    return X, Y


def test_objective_matches_crfsuite_at_the_same_l2():
    pycrfsuite = pytest.importorskip("pycrfsuite")
    X, Y = _toy()
    n, C = len(X), 20.0
    pol = GibbsPolicy(SequenceLabeling(), C=C, tol=1e-10).fit(X, Y)
    trainer = pycrfsuite.Trainer(algorithm="lbfgs", verbose=False)
    for x, y in zip(X, Y):
        items = [{str(f): float(v) for f, v in zip(x.indices[x.indptr[t]:x.indptr[t + 1]],
                                                   x.data[x.indptr[t]:x.indptr[t + 1]])}
                 for t in range(x.shape[0])]
        trainer.append(pycrfsuite.ItemSequence(items), [str(v) for v in y])
    trainer.set_params({"c1": 0.0, "c2": n / (2 * C), "epsilon": 1e-10, "delta": 1e-12,
                        "feature.possible_states": True, "feature.possible_transitions": True,
                        "max_iterations": 5000})
    import os
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        trainer.train(os.path.join(tmp, "m"))
    crfsuite_loss = trainer.logparser.last_iteration["loss"]     # Σ −log p + c2‖w‖²
    ours = pol.objective_ * n / C
    assert ours == pytest.approx(crfsuite_loss, rel=1e-6)
    assert pol.converged_


@pytest.mark.parametrize("order", [1, 2])
def test_fit_reaches_a_stationary_point(order):
    X, Y = _toy(n=25, seed=order)
    pol = GibbsPolicy(SequenceLabeling(transition_order=order, boundary_transitions=True),
                      C=10.0, tol=1e-9).fit(X, Y)
    task = pol.model
    _, g = task.batch_log_prob_grad(task.make_batch(X, Y), pol.w_, np.ones(len(X)))
    grad = pol.w_ - pol.C / len(X) * g
    assert np.linalg.norm(grad) <= 1e-5 * max(1.0, np.linalg.norm(pol.w_))
    assert pol.objective(X, Y) == pytest.approx(pol.objective_, rel=1e-12)
    assert pol.objective_ < pol.primal_at_zero_


def test_policy_methods_on_chains(tmp_path):
    X, Y = _toy(n=30, seed=3)
    pol = GibbsPolicy(SequenceLabeling(), C=10.0).fit(X, Y)
    marg = pol.predict_marginals(X[:4])
    for x, m in zip(X[:4], marg):
        assert m.shape == (x.shape[0], 3)
        np.testing.assert_allclose(m.sum(axis=1), 1.0, rtol=1e-12)
    means, errs = pol.expected_loss(X, Y)
    ref = [sum(1 - m[t, y[t]] for t in range(len(y))) for m, y in zip(pol.predict_marginals(X), Y)]
    np.testing.assert_allclose(means, ref, rtol=1e-12)
    assert np.all(errs == 0)
    lp = pol.log_prob(X, Y)
    assert np.all(lp < 0) and np.all(np.isfinite(lp))
    # temperature T is the policy of w/T
    task = pol.model
    np.testing.assert_allclose(pol.log_prob(X, Y, temperature=3.0),
                               task.batch_log_prob(task.make_batch(X, Y), pol.w_ / 3.0), rtol=1e-12)
    draws = pol.sample(X[:3], 4, random_state=0)
    assert [len(d) for d in draws] == [4, 4, 4]
    assert all(s.shape == (x.shape[0],) for x, d in zip(X, draws) for s in d)
    # a cold policy samples its Viterbi labelling
    cold = pol.sample(X[:5], 3, random_state=1, temperature=1e-8)
    for d, p in zip(cold, pol.predict(X[:5])):
        assert all(np.array_equal(s, p) for s in d)
    path = tmp_path / "crf.npz"
    pol.save(path)
    back = structpred.load(path)
    assert isinstance(back, GibbsPolicy)
    np.testing.assert_array_equal(back.log_prob(X, Y), lp)


def test_structured_svm_samples_chains():
    X, Y = _toy(n=30, seed=4)
    svm = StructuredSVM(SequenceLabeling(), C=10.0).fit(X, Y)
    lp = svm.log_prob(X, Y, temperature=0.5)
    task = svm.model
    np.testing.assert_allclose(lp, task.batch_log_prob(task.make_batch(X, Y), svm.w_ * 2.0),
                               rtol=1e-12)
    draws = svm.sample(X[:2], 3, random_state=5, temperature=2.0)
    assert len(draws) == 2 and len(draws[0]) == 3


def test_bad_labels_and_counts_on_chains():
    X, Y = _toy(n=10, seed=5)
    pol = GibbsPolicy(SequenceLabeling(), C=1.0).fit(X, Y)
    bad = [y.copy() for y in Y]
    bad[6][0] = 7
    with pytest.raises(InvalidInputError, match=r"Y\[6\]"):
        pol.log_prob(X, bad)
    with pytest.raises(InvalidInputError, match=r"Y\[6\]"):
        pol.expected_loss(X, bad)
    with pytest.raises(InvalidInputError, match="n must be"):
        pol.sample(X, 0)
    with pytest.raises(InvalidInputError, match="temperature"):
        pol.sample(X, 1, temperature=float("nan"))
