"""One report stream for the command line, as svm_hmm has: everything on stdout.

The solvers' progress lines ("iter time primal ...", "converged ...", "time shares ...") go
to the ``structpred`` logger; Python warnings (OracleWarning, the Ctrl-C warning, numerical
warnings) go through :mod:`warnings`. Inside :func:`report_to_stdout` both are written to the
current ``sys.stdout`` as plain one-line messages, so ``structpred learn ... > log`` and
``... > log 2>&1`` hold the same report. Warnings are shown at every verbosity (svm_hmm prints
its warnings at ``-v 0`` too); progress lines only when ``verbose`` is set.

Also here: the validating argparse types and the output-path checks every command shares,
so that a bad option value or an unwritable output is refused by name before any data is read.
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import sys
import warnings
from pathlib import Path

__all__ = ["report_to_stdout", "format_warning", "positive_float", "int_at_least",
           "n_jobs_type", "check_output_path", "check_input_file", "reject_unknown_options"]


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


# ------------------------------------------------------------------ option value types
def positive_float(text: str) -> float:
    """argparse type: a finite number > 0 (``-c``, ``-e``); nan, inf, 0 and negatives refused."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def int_at_least(lowest: int, what: str = "an integer"):
    """argparse type factory: an integer >= lowest (``-f`` >= 0, ``-#`` >= 1, ``-v`` >= 0)."""
    def parse(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < lowest:
            raise argparse.ArgumentTypeError(f"must be >= {lowest}, got {text!r}")
        return value
    parse.__name__ = f"integer >= {lowest}"
    return parse


def n_jobs_type(text: str) -> int:
    """argparse type: threads, a non-zero integer (-1 = all cores)."""
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value == 0:
        raise argparse.ArgumentTypeError("must be >= 1, or negative to count back from all "
                                         "cores (-1 = all), got '0'")
    return value


# ------------------------------------------------------------------ files
def check_input_file(path: str, what: str) -> str | None:
    """An error message when the input file cannot be read, else None."""
    p = Path(path)
    if not p.exists():
        return f"{what} {path}: no such file"
    if p.is_dir():
        return f"{what} {path}: is a folder, not a file"
    if not os.access(p, os.R_OK):
        return f"{what} {path}: not readable (permission denied)"
    return None


def check_output_path(path: str, what: str) -> str | None:
    """An error message when ``path`` cannot be written (missing or read-only folder, a folder
    of that name, a read-only file), else None. Nothing is created."""
    p = Path(path)
    if p.is_dir():
        return f"{what} {path}: is a folder; give a file name"
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.exists():
        return f"{what} {path}: folder {parent} does not exist"
    if not parent.is_dir():
        return f"{what} {path}: {parent} is not a folder"
    if p.exists() and not os.access(p, os.W_OK):
        return f"{what} {path}: file is not writable (permission denied)"
    if not p.exists() and not os.access(parent, os.W_OK | os.X_OK):
        return f"{what} {path}: folder {parent} is not writable (permission denied)"
    return None


# ------------------------------------------------------------------ unknown options
def _looks_like_number(token: str) -> bool:
    try:
        float(token)
        return True
    except ValueError:
        return False


def reject_unknown_options(parser: argparse.ArgumentParser, argv, foreign: dict[str, str]):
    """Exit with a usage error naming the first option ``parser`` does not know.

    argparse would report the option's *value* ("unrecognized arguments: -y mo") or swallow
    a lone ``-y`` as a file name; here the message names the option itself, says when it is
    an svm_hmm / SVM-struct option structpred does not support (``foreign``: option -> what it
    does in svm_hmm), and lists the supported ones.
    """
    takes_value, known = {}, set()
    for action in parser._actions:
        for opt in action.option_strings:
            known.add(opt)
            takes_value[opt] = action.nargs != 0
    tokens = list(argv)
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok == "--":
            break
        if tok.startswith("-") and len(tok) > 1 and not _looks_like_number(tok):
            name = tok.split("=", 1)[0]
            if name in known:
                i += 2 if takes_value[name] and "=" not in tok else 1
                continue
            if len(tok) > 2 and tok[:2] in known and not tok.startswith("--") and takes_value[tok[:2]]:
                i += 1          # attached value: -c10
                continue
            supported = " ".join(sorted(o for o in known if o not in ("-h", "--help")))
            what = foreign.get(name)
            why = (f"{name} ({what}) is an svm_hmm option that structpred does not support"
                   if what else f"unknown option {name}")
            parser.exit(2, f"{parser.prog}: error: {why}; supported options: {supported} "
                           f"(see {parser.prog} --help)\n")
        i += 1
