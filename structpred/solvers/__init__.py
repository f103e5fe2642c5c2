"""Solvers of the structural SVM; they see a task only through an oracle backend.

* ``base``: the solver core (``SolverRun``: oracle calls and their timing, progress, the loop,
  Ctrl-C, best iterate, ``SolverResult``), ``OracleWarning``.
* ``objective``: the primal ½‖w‖² + C·(1/n)Σ hinge and the δΨ-row arithmetic.
* ``registry``: algorithm name -> solver, and each solver's declared options; adding a solver
  is one new file here plus one line in ``registry.SOLVERS``.
* the algorithms: ``cutting_plane`` (1-slack, n-slack; with ``qp``, ``working_set``,
  ``cache``), ``frank_wolfe`` (BCFW), ``subgradient`` (stochastic subgradient).
* ``guard``: the checks of every oracle answer and of C, eps, max_iter (``OracleError``,
  ``OracleWarning``), applied by ``SolverRun``.
* oracle backends: ``oracle`` (the interface ``OracleBackend``: full passes, blocks, rows,
  w first; ``LocalOracle``: this machine, threads), ``dask_oracle`` (a Dask cluster).
"""
from .base import OracleWarning, SolverResult, SolverRun
from .objective import primal
from .oracle import OracleBackend
from .registry import SOLVERS, get_solver, solver_options

__all__ = ["OracleWarning", "SolverResult", "SolverRun", "OracleBackend", "primal", "SOLVERS",
           "get_solver", "solver_options"]
