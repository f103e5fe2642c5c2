"""The solver-option battery: every option of every registered solver, driven by the specs
the solver declares beside its signature (``structpred.solvers.options.declare_options``).

* Each option has a spec, and its default passes it: a solver or an option added later
  without a spec fails here (and ``declare_options`` refuses it at import).
* Every value the spec says must be refused (NaN, inf, strings, bools for numbers, 1.5 for
  counts, out-of-range values, None where no automatic value exists, ...) is an
  ``InvalidInputError`` whose message starts with the option's name, before any oracle call:
  given to ``StructuredSVM`` (``solver_options[...]``, or the estimator's own ``cache_size``,
  ``qp``, ``inactive_window``) and given to the solver function directly.
* Every extreme value the spec accepts (the ends of its range, None, each choice) ends as the
  solver battery's documented outcomes (``test_solver_battery``): a result converged within
  C·eps of the cvxpy optimum, a result reported not converged with a RuntimeWarning, or an
  ``InvalidInputError`` naming the option (a value refused only given the data or eps, e.g.
  ``inner_tol`` > eps).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from structpred import StructuredSVM
from structpred.errors import InvalidInputError
from structpred.solvers import SOLVERS, get_solver
from structpred.solvers.options import Count, declare_options, option_specs
from structpred.solvers.oracle import LocalOracle
from structpred.solvers.registry import solver_options
from structpred.svm import _SOLVER_PARAMS

from test_solver_battery import Toy, _check_result, _data


class ToyRows(Toy):
    """The battery's toy task with per-example row calls, so that the options of the fresh
    passes (``batch_size``, ``early_sweeps``, ``fresh_passes``, ...) take effect."""

    def batch_oracle_rows(self, batch, index, w, rescaling="margin"):
        sub = self.make_batch([batch.X[i] for i in index], [batch.Y[i] for i in index])
        Y_hat = self.batch_loss_augmented_inference(sub, w)
        return self.batch_delta_joint_feature(sub, Y_hat), np.asarray(self.batch_loss(sub, Y_hat))


class Untouchable(ToyRows):
    """Any oracle call fails the test: the option was not checked before the work."""

    def batch_loss_augmented_inference(self, batch, w, n_jobs=1):
        raise AssertionError("the oracle ran before the options were checked")

    batch_oracle_rows = batch_loss_augmented_inference


def _cases(kind: str):
    out = []
    for algorithm in sorted(SOLVERS):
        for option, spec in sorted(option_specs(get_solver(algorithm)).items()):
            values = spec.refused() if kind == "refused" else spec.edges()
            for i, value in enumerate(values):
                out.append(pytest.param(algorithm, option, value,
                                        id=f"{algorithm}-{option}-{i}:{value!r:.20}"))
    return out


@pytest.mark.parametrize("algorithm", sorted(SOLVERS))
def test_every_option_has_a_spec_its_default_passes(algorithm):
    solver = get_solver(algorithm)
    specs = option_specs(solver)
    declared = solver_options(algorithm)
    assert sorted(specs) == sorted(declared), f"{algorithm}: options and specs differ"
    for option, default in declared.items():
        assert specs[option].check(default, option) == default, (algorithm, option)
        assert specs[option].refused() and specs[option].edges(), (algorithm, option)


def test_a_half_declared_solver_cannot_be_registered():
    def fit_half(model, oracle, *, C, eps, rescaling="margin", max_iter=10, verbose=0,
                 callback=None, w0=None, block_size=1, rounds=3):
        raise AssertionError("never called")
    with pytest.raises(TypeError, match=r"options without a spec \['rounds'\]"):
        declare_options(block_size=Count(1))(fit_half)
    with pytest.raises(TypeError, match=r"specs without an option \['step'\]"):
        declare_options(block_size=Count(1), rounds=Count(1), step=Count(1))(fit_half)


@pytest.mark.parametrize("algorithm,option,value", _cases("refused"))
def test_refused_values_name_the_option_before_any_work(algorithm, option, value):
    X, Y, _, _ = _data()
    if option in _SOLVER_PARAMS:      # the estimator's own parameters, passed to the solver
        est, prefix = StructuredSVM(Untouchable(), algorithm=algorithm, **{option: value}), option
    else:
        est = StructuredSVM(Untouchable(), algorithm=algorithm, solver_options={option: value})
        prefix = f"solver_options[{option!r}]"
    with pytest.raises(InvalidInputError) as info:
        est.fit(X, Y)
    assert str(info.value).startswith(prefix), str(info.value)

    oracle = LocalOracle(Untouchable(), X, Y)
    with pytest.raises(InvalidInputError) as info:
        get_solver(algorithm)(Untouchable(), oracle, C=1.0, eps=1e-3, **{option: value})
    assert str(info.value).startswith(option), str(info.value)


@pytest.mark.parametrize("algorithm,option,value", _cases("edges"))
def test_extreme_accepted_values_give_a_documented_outcome(algorithm, option, value):
    X, Y, _, _ = _data()
    task = ToyRows()
    oracle = LocalOracle(task, X, Y)
    C, eps = 1.0, 1e-3
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = get_solver(algorithm)(task, oracle, C=C, eps=eps, max_iter=300,
                                        **{option: value})
        except InvalidInputError as exc:   # refused given eps or the data: named
            assert str(exc).startswith(option), str(exc)
            return
        finally:
            oracle.close()
    _check_result(res, task, C, eps, caught)
