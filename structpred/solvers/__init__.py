"""Solvers: cutting-plane (1-slack, n-slack) over the dual QPs in ``qp``; they only call the
model's batch oracles."""
from .cutting_plane import OracleWarning, fit_n_slack, fit_one_slack

__all__ = ["fit_one_slack", "fit_n_slack", "OracleWarning"]
