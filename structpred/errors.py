"""The exceptions structpred raises at its trust boundaries (readers, fit/predict, model files).

Every rejection of bad data is a :class:`StructpredError`, a ``ValueError`` subclass, so
``except ValueError`` keeps working; the subclass says where the bad data came from and the
message names the culprit:

==========================  ===============================================================
``DataFormatError``         a data file (svm_hmm, CoNLL, .mrg, AMBIENT, TREC, CSV): the
                            message starts with ``<file>, line <n>:`` (or ``<file>:`` for a
                            whole-file fault such as a truncated or corrupt gzip stream)
``InvalidInputError``       ``fit`` / ``predict`` arguments: the message names the example
                            (``X[i]``, ``Y[i]``, ``example i``) and what is wrong
``ModelFileError``          a model file that is foreign, damaged, from a newer structpred, or
                            whose header or arrays fail validation: the message names the file
``NotFittedError``          predict/save before fit or load (also a RuntimeError)
``OracleError``             a task's oracle answered with a non-finite or negative loss, a
                            non-finite or wrongly shaped δΨ, or an output less violated than
                            the example's own label: the message names the task and the
                            example index (checked by every solver, ``structpred.solvers.guard``)
==========================  ===============================================================

An exception raised inside a task's oracle itself propagates unchanged, with a note naming the
task, the pass and the examples it covered.

``ModelQualityWarning`` (a RuntimeWarning) is emitted when a loaded model was trained by an
interrupted run or is no better than w = 0.

Reading text and gzip files (bounded, one open of a pipe) lives in
:mod:`structpred.boundary.text` (``open_text``, ``read_text``), which imports this module;
this module imports nothing of structpred.

Files that cannot be opened at all (missing, a directory, no permission) raise the usual
``OSError`` subclasses (``FileNotFoundError``, ``IsADirectoryError``, ``PermissionError``).
"""
from __future__ import annotations

import os

import numpy as np

__all__ = ["StructpredError", "DataFormatError", "InvalidInputError", "InvalidInputTypeError",
           "ModelFileError", "NotFittedError", "OracleError", "ClusterError", "ModelQualityWarning",
           "format_error", "MAX_ABS_FEATURE"]

#: Largest accepted |feature value| (readers and ``check_input``). Beyond it squared norms and
#: the QP's Gram matrix can overflow float64 (|x|² summed over tokens and examples), so such
#: values are refused at the boundary instead of ending as inf/NaN inside the solver. A NumPy
#: float64 scalar, so that comparisons run in float64 whatever the data's dtype (NumPy 2 casts
#: a Python float to a float32 array's dtype, where 1e50 is inf and infinities would pass).
MAX_ABS_FEATURE = np.float64(1e50)


class StructpredError(ValueError):
    """Base class of structpred's input errors (a ValueError)."""


class DataFormatError(StructpredError):
    """A malformed data file; ``path`` and ``lineno`` (None for whole-file faults) say where."""

    def __init__(self, message: str, path=None, lineno: int | None = None):
        super().__init__(message)
        self.path = None if path is None else os.fspath(path)
        self.lineno = lineno


class InvalidInputError(StructpredError):
    """Bad ``fit``/``predict`` input; ``index`` is the offending example (None if global)."""

    def __init__(self, message: str, index: int | None = None):
        super().__init__(message)
        self.index = index


class InvalidInputTypeError(InvalidInputError, TypeError):
    """Bad input whose values have a type that cannot be converted (e.g. a dict in X); also a
    TypeError, as numpy and scikit-learn raise for it."""


class ModelFileError(StructpredError):
    """A model file that cannot be trusted or read; ``path`` names it."""

    def __init__(self, message: str, path=None):
        super().__init__(message)
        self.path = None if path is None else os.fspath(path)


class NotFittedError(StructpredError, RuntimeError):
    """predict/score/save on an estimator that was neither fitted nor loaded."""


class OracleError(StructpredError):
    """An oracle answer that fails the solver's checks (see ``structpred.solvers.guard``);
    ``index`` is the example whose answer is wrong (None for a whole-answer fault such as a
    wrong number of rows)."""

    def __init__(self, message: str, index: int | None = None):
        super().__init__(message)
        self.index = index


class ClusterError(StructpredError, RuntimeError):
    """A Dask cluster that cannot serve a run: a scheduler that does not answer within the
    timeout, or a worker lost during training; ``address`` names the scheduler or worker."""

    def __init__(self, message: str, address: str | None = None):
        super().__init__(message)
        self.address = address


class ModelQualityWarning(RuntimeWarning):
    """A loaded model whose training was interrupted or that is no better than w = 0."""


def format_error(path, lineno, msg) -> DataFormatError:
    """A DataFormatError whose message starts with ``<path>, line <lineno>:``."""
    where = os.fspath(path) if lineno is None else f"{os.fspath(path)}, line {lineno}"
    return DataFormatError(f"{where}: {msg}", path, lineno)
