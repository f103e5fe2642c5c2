"""The solver battery: every solver of the registry (``structpred.solvers.SOLVERS``) against
faulty oracles, extreme C and bad eps / max_iter, on a tiny multiclass task.

Each case must end in one of:

* ``error``: a documented exception naming the culprit: ``OracleError`` with the faulty
  example's index (or the wrong shape), ``InvalidInputError`` naming the parameter,
  ``NotImplementedError`` naming the missing method, or the task's own exception carrying a
  note that names the task's oracle and the examples of the call;
* ``reference``: a finite result reported "converged" whose primal is that of the optimum
  (cvxpy, or C·mean max Δ at a vanishing C) within C·eps, and equals the primal recomputed
  at the returned w;
* ``not-converged``: a finite result, reported not converged with a RuntimeWarning, whose
  primal is not below the optimum.

A solver registered later is covered without a new test: the parametrization reads the
registry. ``test_the_battery_catches_a_careless_solver`` shows the mechanism on a solver that
skips the shared guard and claims convergence.
"""
from __future__ import annotations

import warnings
from collections import Counter

import numpy as np
import pytest
import scipy.sparse as sp

from structpred import StructuredSVM
from structpred.errors import InvalidInputError, OracleError
from structpred.model import StructuredModel
from structpred.solvers import SOLVERS, SolverResult, get_solver, objective
from structpred.solvers.guard import MAX_C
from structpred.solvers.oracle import LocalOracle

K, F, N = 3, 2, 12
CULPRIT = 3          # the example every per-example fault hits


def _data():
    rng = np.random.default_rng(0)
    centers = 3.0 * np.array([[1.0, 0.0], [-1.0, 1.0], [-1.0, -1.0]])
    y = np.arange(N) % K
    V = centers[y] + 0.4 * rng.normal(size=(N, F))
    V[CULPRIT] *= 2.0          # far from the others: the optimum gives it a margin > 1
    X = [(i, V[i]) for i in range(N)]
    return X, [int(c) for c in y], V, y


class Toy(StructuredModel):
    """Crammer-Singer multiclass on x = (example index, features): Ψ(x, y) = e_y ⊗ x, 0/1
    loss, oracles by enumeration. Faulty subclasses spoil one answer, of example CULPRIT."""

    def __init__(self):
        self.size_joint_feature = K * F

    def joint_feature(self, x, y):
        out = np.zeros(K * F)
        out[y * F:(y + 1) * F] = x[1]
        return out

    def loss(self, y, y_hat):
        return float(y != y_hat)

    def inference(self, x, w):
        return int(np.argmax([w @ self.joint_feature(x, c) for c in range(K)]))

    def loss_augmented_inference(self, x, y, w):
        return int(np.argmax([self.loss(y, c) + w @ self.joint_feature(x, c) for c in range(K)]))


def _culprit_rows(batch):
    return [j for j, x in enumerate(batch.X) if x[0] == CULPRIT]


def _spoil_loss(value):
    class SpoiltLoss(Toy):
        def batch_loss(self, batch, Y_hat):
            L = super().batch_loss(batch, Y_hat)
            L[_culprit_rows(batch)] = value
            return L
    return SpoiltLoss


def _spoil_psi(value):
    class SpoiltPsi(Toy):
        def batch_delta_joint_feature(self, batch, Y_hat):
            D = super().batch_delta_joint_feature(batch, Y_hat).tolil()
            for j in _culprit_rows(batch):
                D[j, 1] = value
            return D.tocsr()
    return SpoiltPsi


class PsiOutOfRange(Toy):
    """δΨ of the culprit with a column index d: memory beyond w for any kernel that trusts it."""

    def batch_delta_joint_feature(self, batch, Y_hat):
        D = super().batch_delta_joint_feature(batch, Y_hat)
        rows = _culprit_rows(batch)
        if not rows:
            return D
        dense = D.toarray()
        data, ind, ptr = [], [], [0]
        for j in range(dense.shape[0]):
            cols = list(np.flatnonzero(dense[j]))
            vals = list(dense[j, cols])
            if j in rows:
                cols.append(K * F)
                vals.append(1.0)
            data += vals
            ind += cols
            ptr.append(len(ind))
        return sp.csr_matrix((np.array(data, float), np.array(ind, np.int32),
                              np.array(ptr, np.int32)), shape=D.shape)


class PsiWrongWidth(Toy):
    def batch_delta_joint_feature(self, batch, Y_hat):
        D = super().batch_delta_joint_feature(batch, Y_hat)
        return sp.hstack([D, sp.csr_matrix((D.shape[0], 1))], format="csr")


class PsiMissingRow(Toy):
    def batch_delta_joint_feature(self, batch, Y_hat):
        return super().batch_delta_joint_feature(batch, Y_hat)[:-1]


class LossMissingEntry(Toy):
    def batch_loss(self, batch, Y_hat):
        return super().batch_loss(batch, Y_hat)[:-1]


class LessViolated(Toy):
    """For the culprit, the wrong label that is least violated: once w separates the example
    with a margin above 1 it is less violated than the truth."""

    def loss_augmented_inference(self, x, y, w):
        if x[0] != CULPRIT:
            return super().loss_augmented_inference(x, y, w)
        wrong = [c for c in range(K) if c != y]
        return min(wrong, key=lambda c: w @ self.joint_feature(x, c))


class Raising(Toy):
    def loss_augmented_inference(self, x, y, w):
        if x[0] == CULPRIT:
            raise RuntimeError("toy oracle failure")
        return super().loss_augmented_inference(x, y, w)


class NoLoss(Toy):
    loss = StructuredModel.loss


# (case id, task class, C, eps, max_iter, expectation)
#   expectation: ("oracle", index or None), ("param", name), ("raises", type),
#                ("missing", method), ("reference", kind)
CASES = [
    ("nan-loss", _spoil_loss(np.nan), 10.0, 1e-3, 200, ("oracle", CULPRIT)),
    ("inf-loss", _spoil_loss(np.inf), 10.0, 1e-3, 200, ("oracle", CULPRIT)),
    ("negative-loss", _spoil_loss(-0.5), 10.0, 1e-3, 200, ("oracle", CULPRIT)),
    ("nan-psi", _spoil_psi(np.nan), 10.0, 1e-3, 200, ("oracle", CULPRIT)),
    ("inf-psi", _spoil_psi(-np.inf), 10.0, 1e-3, 200, ("oracle", CULPRIT)),
    ("psi-column-out-of-range", PsiOutOfRange, 10.0, 1e-3, 200, ("oracle", CULPRIT)),
    ("psi-wrong-width", PsiWrongWidth, 10.0, 1e-3, 200, ("oracle", None)),
    ("psi-missing-row", PsiMissingRow, 10.0, 1e-3, 200, ("oracle", None)),
    ("loss-missing-entry", LossMissingEntry, 10.0, 1e-3, 200, ("oracle", None)),
    ("less-violated-than-truth", LessViolated, 10.0, 1e-3, 200, ("oracle", CULPRIT)),
    ("oracle-raises", Raising, 10.0, 1e-3, 200, ("raises", RuntimeError)),
    ("task-without-loss", NoLoss, 10.0, 1e-3, 200, ("missing", "loss(y, y_hat)")),
    ("C=1e-12", Toy, 1e-12, 1e-3, 200, ("reference", "vanishing C")),
    ("C=1", Toy, 1.0, 1e-3, 300, ("reference", "cvxpy")),
    ("C=1000", Toy, 1000.0, 1e-3, 300, ("reference", "cvxpy")),
    ("C=1e6", Toy, 1e6, 1e-3, 300, ("reference", "cvxpy")),
    ("C=MAX_C", Toy, MAX_C, 1e-3, 300, ("reference", "hard margin")),
    ("C=1e20", Toy, 1e20, 1e-3, 200, ("param", "C")),
    ("C=MAX_C*10", Toy, MAX_C * 10, 1e-3, 200, ("param", "C")),
    ("C=nan", Toy, float("nan"), 1e-3, 200, ("param", "C")),
    ("C=inf", Toy, float("inf"), 1e-3, 200, ("param", "C")),
    ("C=-1", Toy, -1.0, 1e-3, 200, ("param", "C")),
    ("C=0", Toy, 0.0, 1e-3, 200, ("param", "C")),
    ("C=str", Toy, "1", 1e-3, 200, ("param", "C")),
    ("eps=0", Toy, 1.0, 0.0, 200, ("param", "eps")),
    ("eps=-1", Toy, 1.0, -1.0, 200, ("param", "eps")),
    ("eps=nan", Toy, 1.0, float("nan"), 200, ("param", "eps")),
    ("eps=inf", Toy, 1.0, float("inf"), 200, ("param", "eps")),
    ("max_iter=0", Toy, 1.0, 1e-3, 0, ("param", "max_iter")),
    ("max_iter=-1", Toy, 1.0, 1e-3, -1, ("param", "max_iter")),
    ("max_iter=2.5", Toy, 1.0, 1e-3, 2.5, ("param", "max_iter")),
    ("max_iter=nan", Toy, 1.0, 1e-3, float("nan"), ("param", "max_iter")),
]
CASE_IDS = [c[0] for c in CASES]

_REFERENCE: dict = {}


def _reference(C: float) -> float:
    """The optimum of the n-slack primal at C: cvxpy with every constraint, or, for a
    vanishing C, C·(1/n)Σ max Δ (the optimum is that minus O(C²))."""
    if C < 1e-6:
        return C * 1.0
    if C > 1e6:
        # the data is separable: every C >= 1e3 has the hard-margin optimum (checked here)
        assert _reference(1e6) == pytest.approx(_reference(1e3), rel=1e-6)
        return _reference(1e6)
    if C not in _REFERENCE:
        from test_multiclass import _primal_cvxpy
        _, _, V, y = _data()
        _REFERENCE[C] = _primal_cvxpy(V, y, K, C)
    return _REFERENCE[C]


def _solve(solver, task, C, eps, max_iter):
    X, Y, _, _ = _data()
    oracle = LocalOracle(task, X, Y)
    try:
        return solver(task, oracle, C=C, eps=eps, rescaling="margin", max_iter=max_iter,
                      verbose=0, callback=None, w0=None)
    finally:
        oracle.close()


def _check_error(exc, task, expect):
    kind, what = expect
    msg = str(exc)
    name = type(task).__name__
    if kind == "oracle":
        assert isinstance(exc, OracleError), f"{type(exc).__name__}: {exc}"
        assert exc.index == what and name in msg, msg
        if what is not None:
            assert f"example {what}" in msg, msg
    elif kind == "param":
        assert isinstance(exc, InvalidInputError) and msg.startswith(what), msg
    elif kind == "raises":
        assert type(exc) is what, f"{type(exc).__name__}: {exc}"
        notes = " ".join(getattr(exc, "__notes__", []))
        assert name in notes and "oracle" in notes and "examples" in notes, notes
    elif kind == "missing":
        assert isinstance(exc, NotImplementedError) and what in msg and name in msg, msg
    else:
        raise AssertionError(f"expected a result, got {type(exc).__name__}: {exc}")


def _check_result(res, task, C, eps, caught):
    assert np.all(np.isfinite(res.w)) and np.isfinite(res.primal), "non-finite result"
    X, Y, _, _ = _data()
    oracle = LocalOracle(Toy(), X, Y)
    D, L = oracle(res.w)
    again = objective.primal(res.w, D, L, C, "margin")
    assert again == pytest.approx(res.primal, rel=1e-9, abs=1e-15), \
        f"reported primal {res.primal} but {again} at the returned w"
    ref = _reference(C)
    low = ref - 1e-6 * max(1.0, ref) if C >= 1e-6 else ref - C * C * 1e3
    assert res.primal >= low, f"primal {res.primal} below the optimum {ref}"
    if res.converged:
        assert res.primal <= ref + C * eps + 1e-7 * max(1.0, ref), \
            f"converged with primal {res.primal}, optimum {ref} (C*eps={C * eps:g})"
        return "reference"
    assert any(issubclass(w.category, RuntimeWarning) for w in caught), \
        "not converged and no RuntimeWarning"
    return "not-converged"


def run_case(solver, case) -> str:
    """The outcome of one (solver function, case): 'error', 'reference' or 'not-converged';
    AssertionError when the solver's behaviour is none of the documented ones."""
    _, cls, C, eps, max_iter, expect = case
    task = cls()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = _solve(solver, task, C, eps, max_iter)
        except AssertionError:
            raise
        except Exception as exc:                       # noqa: BLE001 - classified below
            _check_error(exc, task, expect)
            return "error"
    assert expect[0] == "reference", \
        f"expected {expect}, got a result (converged={res.converged}, primal={res.primal})"
    return _check_result(res, task, C, eps, caught)


OUTCOMES: Counter = Counter()   # filled as the battery runs: outcome -> number of cases


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("algorithm", sorted(SOLVERS))
def test_solver_battery(algorithm, case):
    outcome = run_case(get_solver(algorithm), case)
    OUTCOMES[outcome] += 1


@pytest.mark.parametrize("algorithm", sorted(SOLVERS))
@pytest.mark.parametrize("param,value", [("C", 1e20), ("C", float("nan")), ("C", -1.0),
                                         ("eps", 0.0), ("max_iter", 0), ("n_jobs", 0),
                                         ("rescaling", "both")])
def test_estimator_refuses_bad_parameters_before_any_work(algorithm, param, value):
    class Untouchable(Toy):
        def make_batch(self, X, Y=None):
            raise AssertionError("work started before the parameters were checked")
    X, Y, _, _ = _data()
    with pytest.raises(InvalidInputError, match=f"^{param}"):
        StructuredSVM(Untouchable(), algorithm=algorithm, **{param: value}).fit(X, Y)


# ---------------------------------------------------------------- the mechanism, shown
def fit_careless(model, oracle, *, C, eps, rescaling="margin", max_iter=10, verbose=0,
                 callback=None, w0=None):
    """A deliberately careless solver: calls the backend directly (no SolverRun, hence no
    guard and no parameter check) and claims convergence at w = 0."""
    w = np.zeros(model.size_joint_feature)
    D, L = oracle(w)
    p = objective.primal(w, D, L, C, rescaling)
    return SolverResult(w=w, primal=p, dual=p, n_iter=1, converged=True, interrupted=False)


def test_the_battery_catches_a_careless_solver():
    registry = dict(SOLVERS, careless=fit_careless)      # a copy: the real one is untouched
    assert "careless" not in SOLVERS
    solvers = {name: (spec if callable(spec) else get_solver(name))
               for name, spec in registry.items()}
    by_id = dict(zip(CASE_IDS, CASES))
    caught = []
    for case_id in ("nan-loss", "negative-loss", "C=1", "C=nan", "psi-column-out-of-range"):
        with pytest.raises(AssertionError):
            run_case(solvers["careless"], by_id[case_id])
        caught.append(case_id)
    # the registered solvers pass the same cases
    for name in SOLVERS:
        for case_id in caught:
            run_case(solvers[name], by_id[case_id])


# ---------------------------------------------------------------- the shared core, directly
def test_guard_warns_on_rounding_size_slack_and_refuses_beyond():
    from structpred.solvers.guard import OracleWarning, check_answer
    w = np.array([1.0, 0.0])
    D = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 1.0]]))
    # example 8 (row 1 from 7): H = Δ - w·δΨ = 0 for row 1; row 0: H = 1 - (1 + δ)
    for delta, outcome in ((0.0, None), (1e-8, "warn"), (1e-3, "error")):
        L = np.array([1.0 - delta, 0.0])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if outcome == "error":
                with pytest.raises(OracleError, match="example 7.*less violated") as err:
                    check_answer(D, L, w, d=2, m=2, index=7)
                assert err.value.index == 7
            else:
                check_answer(D, L, w, d=2, m=2, index=7)
        warned = [c for c in caught if issubclass(c.category, OracleWarning)]
        assert bool(warned) == (outcome == "warn")
    # approximate oracles are not held to the truth
    check_answer(D, np.array([0.5, 0.0]), w, d=2, m=2, exact=False)


def test_row_pass_names_the_example_of_a_faulty_row():
    """The per-example (row) path of the default solver goes through the same guard: a NaN in
    the row oracle's answer names the example, whichever block it sits in."""
    from structpred.tasks.sequence import SequenceLabeling

    class NanRow(SequenceLabeling):
        def batch_oracle_rows(self, batch, index, w, rescaling="margin"):
            D, L = super().batch_oracle_rows(batch, index, w, rescaling)
            L = L.astype(float)
            L[np.asarray(index) == 13] = np.nan
            return D, L
    rng = np.random.default_rng(0)
    X = [sp.csr_matrix(rng.random((4, 3))) for _ in range(20)]
    Y = [rng.integers(0, 2, 4) for _ in range(20)]
    svm = StructuredSVM(NanRow(n_labels=2), C=10.0, eps=1e-3,
                        solver_options=dict(batch_size=4))
    with pytest.raises(OracleError, match="example 13.*row call") as err:
        svm.fit(X, Y)
    assert err.value.index == 13


def test_a_claim_of_convergence_at_zero_is_withdrawn_unless_certified():
    from structpred.solvers import SolverRun
    X, Y, _, _ = _data()
    task = Toy()
    for C, withdrawn in ((1.0, True), (1e-12, False)):
        oracle = LocalOracle(task, X, Y)
        run = SolverRun("claims-at-zero", task, oracle, C=C, eps=1e-3, rescaling="margin",
                        max_iter=5)
        w = np.zeros(task.size_joint_feature)
        D, L = run.full_pass(w)
        p = objective.primal(w, D, L, C, "margin")
        run.keep_best(p, w, 0.0)
        run.converged = True
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = run.result(w, p, 0.0)
        assert res.converged is (not withdrawn)
        assert any("w = 0" in str(c.message) for c in caught) is withdrawn
        oracle.close()
