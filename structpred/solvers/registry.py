"""The solvers ``StructuredSVM(algorithm=...)`` knows, and the options each one declares.

Adding a solver: write ``structpred/solvers/<file>.py`` with a function
``fit_<name>(model, oracle, *, C, eps, rescaling, max_iter, verbose, callback, w0, ...)``
built on ``structpred.solvers.base.SolverRun`` (every parameter after ``oracle`` keyword-only,
no ``**kwargs``), then add one line ``"<name>": "<file>:fit_<name>"`` to ``SOLVERS`` below.
Its keyword parameters beyond ``COMMON`` are its options (``solver_options=`` of the
estimator), each with a spec in ``@declare_options(...)`` on the function
(``structpred.solvers.options``: type and range, checked on every call and by the estimator
before any work; ``tests/test_solver_options.py`` tries each spec's refused and extreme
values); ``warm_state`` is optional: declare it if the solver can resume an earlier fit.
The solver calls the task only through ``SolverRun.full_pass`` / ``block_pass`` /
``row_pass`` (the oracle interface, every answer checked); ``tests/test_layering.py`` and
the registry-driven ``tests/test_solver_battery.py`` cover a new entry with no new test.
"""
from __future__ import annotations

import importlib
import inspect
from typing import Callable

__all__ = ["SOLVERS", "DISTRIBUTED", "COMMON", "get_solver", "solver_options", "check_options"]

#: algorithm name -> "module of structpred.solvers:function"
SOLVERS = {
    "n-slack": "dcd:fit_dcd",
    "1-slack": "cutting_plane:fit_one_slack",
    "n-slack-smo": "cutting_plane:fit_n_slack",
    "bcfw": "frank_wolfe:fit_bcfw",
    "subgradient": "subgradient:fit_subgradient",
    "n-slack-cocoa": "cocoa:fit_cocoa",
}

#: the solver that runs ``algorithm`` on a backend whose workers keep their data (Dask): the
#: n-slack solver becomes CoCoA+ over the workers' partitions instead of full passes
DISTRIBUTED = {"n-slack": "n-slack-cocoa"}

#: the parameters every solver takes (set by StructuredSVM.fit, never solver options)
COMMON = ("C", "eps", "rescaling", "max_iter", "verbose", "callback", "w0", "warm_state")


def get_solver(name: str) -> Callable:
    """The solver function registered as ``name``; ValueError listing the known names."""
    if name not in SOLVERS:
        raise ValueError(f"algorithm must be one of {sorted(SOLVERS)}, got {name!r}")
    module, func = SOLVERS[name].split(":")
    return getattr(importlib.import_module(f"{__package__}.{module}"), func)


def solver_options(name: str) -> dict:
    """The options solver ``name`` declares, with their defaults."""
    params = inspect.signature(get_solver(name)).parameters
    return {k: p.default for k, p in params.items()
            if p.kind is p.KEYWORD_ONLY and k not in COMMON}


def accepts_warm_state(name: str) -> bool:
    """Whether solver ``name`` can resume from an earlier fit's ``warm_state``."""
    return "warm_state" in inspect.signature(get_solver(name)).parameters


def check_options(name: str, options: dict) -> None:
    """TypeError naming every key of ``options`` that solver ``name`` does not declare."""
    declared = solver_options(name)
    unknown = [k for k in options if k not in declared]
    if unknown:
        fixed = [k for k in unknown if k in COMMON]
        if fixed:
            raise TypeError(f"solver option(s) {fixed} of algorithm {name!r} are set by "
                            "StructuredSVM itself (its parameters or fit), not as solver options")
        raise TypeError(f"algorithm {name!r} has no option(s) {unknown}; its options are "
                        f"{sorted(declared)}")
