"""One report stream for the command line, as svm_hmm has: everything on stdout.

The solvers' progress lines ("iter time primal ...", "converged ...", "time shares ...") go
to the ``structpred`` logger; Python warnings (OracleWarning, the Ctrl-C warning, numerical
warnings) go through :mod:`warnings`. Inside :func:`report_to_stdout` both are written to the
current ``sys.stdout`` as plain one-line messages, so ``structpred learn ... > log`` and
``... > log 2>&1`` hold the same report. Warnings are shown at every verbosity (svm_hmm prints
its warnings at ``-v 0`` too); progress lines only when ``verbose`` is set.

The option types, path checks and the one error path every command shares are in
:mod:`structpred.cli.base`.
"""
from __future__ import annotations

import contextlib
import logging
import sys
import warnings

__all__ = ["report_to_stdout", "format_warning"]


class _StdoutHandler(logging.StreamHandler):
    """A handler that writes to whatever sys.stdout is when a record arrives (pytest's
    capture and redirections swap it)."""

    def __init__(self):
        super().__init__(sys.stdout)
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record):
        self.stream = sys.stdout
        super().emit(record)


def format_warning(message, category, filename=None, lineno=None, line=None) -> str:
    """``Warning (OracleWarning): text`` on one line: no file name, no source line."""
    text = " ".join(str(message).split())
    name = getattr(category, "__name__", "Warning")
    return f"Warning ({name}): {text}\n" if name != "UserWarning" else f"Warning: {text}\n"


@contextlib.contextmanager
def report_to_stdout(verbose: int = 1):
    """Route the 'structpred' logger and Python warnings to stdout for the duration."""
    logger = logging.getLogger("structpred")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    handler = _StdoutHandler()
    for h in saved[0]:
        logger.removeHandler(h)
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO if verbose else logging.WARNING)

    def show(message, category, filename, lineno, file=None, line=None):
        sys.stdout.write(format_warning(message, category))
        sys.stdout.flush()

    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = show
        try:
            yield
        finally:
            sys.stdout.flush()
            logger.removeHandler(handler)
            for h in saved[0]:
                logger.addHandler(h)
            logger.setLevel(saved[1])
            logger.propagate = saved[2]
