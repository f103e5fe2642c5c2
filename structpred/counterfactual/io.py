"""Plain-text logged bandit feedback: Vowpal Wabbit's contextual-bandit line, generalised to
structures.

Format (one logged example per line; ``#`` starts a comment line; blank lines are skipped)::

    # logging_policy: <name>                      optional header comment, kept on reading
    # n_features: <d>                             optional header comment: the width of X
                                                  (written when the features do not show it)
    <action>:<cost>:<probability> | <index>:<value> <index>:<value> ...

* ``action`` -- multiclass (``kind="multiclass"``): the class as VW writes it, 1-based (class
  k of structpred is action k+1), at most 10 digits. Structures (``kind="vector"``): the
  logged structure as a comma-separated integer vector, e.g. ``0,1,1,0,0,0`` for a
  multi-label 0/1 label vector (entries of at most 10 digits, one length for every line).
* ``cost`` -- the loss δ observed for that action (a finite decimal; lower is better, as in VW).
* ``probability`` -- the logging propensity p in (0, 1] as a decimal; a propensity too small
  for a decimal double may be written as its natural log prefixed by ``L`` (``L-812.5``).
* features -- ``index:value`` pairs after the ``|`` (VW's default namespace), index a 0-based
  column number (VW's feature names are strings; here they must be integers, each at most
  once per line), value finite with |value| <= MAX_ABS_FEATURE.

Numbers follow one strict decimal grammar, ``-?(digits[.digits]|.digits)([eE][+-]?digits)``
with ASCII digits (what Python's ``repr`` of a float writes): no ``+`` sign in front, no
``_`` separators, no hex floats, no ``inf``/``nan``, no Unicode digits. ``X`` is dense, with
``n_features`` columns (the argument, else the ``# n_features`` header, else the highest
index + 1); a width whose dense matrix would exceed 2**28 numbers, or 2**24 numbers when
that is more than 1024 times the values the file holds (one line ``| 268435455:1`` asking
for a 2 GiB X), is refused naming the line that asks for it.

Only this subset of VW's grammar is read (no namespaces, no ``shared`` lines, no ADF blocks,
one action per line); anything else is a :class:`~structpred.errors.DataFormatError` naming the
file and line.

``write_feedback`` writes exactly what ``read_feedback`` reads back: the same examples,
losses, log-propensities (to 1e-15), features, width (the ``# n_features`` header when
trailing columns are all zero) and logging policy; what it cannot write faithfully is refused before any file is created
(InvalidInputError naming ``Y[i]``, ``X`` or ``logging_policy``).
"""
from __future__ import annotations

import math
import numbers
import os
import re

import numpy as np
import scipy.sparse as sp

from ..boundary.arrays import check_csr, check_values
from ..boundary.params import check_choice, check_int
from ..boundary.text import open_text
from ..errors import MAX_ABS_FEATURE, DataFormatError, InvalidInputError, InvalidInputTypeError
from .feedback import BanditFeedback

__all__ = ["read_feedback", "write_feedback"]

_HEADER = re.compile(r"#\s*logging_policy:\s*(\S.*?)\s*$")
_WIDTH = re.compile(r"#\s*n_features:\s*(\S*)\s*$")
_INT = re.compile(r"^(0|[1-9][0-9]{0,9})$")
_VEC_ENTRY = re.compile(r"-?(0|[1-9][0-9]{0,9})")
_NUM = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
#: A logging policy name the header line carries unchanged: printable ASCII, no leading or
#: trailing blank (no newline or other control character that would end the comment line).
_POLICY = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")
_MAX_INDEX = 2 ** 31 - 1
#: Largest integer an action or structure entry may hold in the file (10 digits).
_MAX_ENTRY = 9_999_999_999
#: Dense X limits: never more than _MAX_CELLS numbers; beyond _LARGE_CELLS only when the
#: file holds at least one value per _SPARSE_RATIO cells.
_MAX_CELLS = 2 ** 28
_LARGE_CELLS = 2 ** 24
_SPARSE_RATIO = 1024


def _err(path, lineno, msg):
    return DataFormatError(f"{os.fspath(path)}, line {lineno}: {msg}", path, lineno)


def _number(text, path, lineno, what):
    """A finite decimal in the strict grammar above; DataFormatError naming the line."""
    if not _NUM.fullmatch(text):
        try:
            special = not math.isfinite(float(text))
        except ValueError:
            special = False
        if special:
            raise _err(path, lineno, f"{what} {text!r} is not finite")
        raise _err(path, lineno, f"{what} {text!r} is not a decimal number")
    v = float(text)
    if not math.isfinite(v):
        raise _err(path, lineno, f"{what} {text!r} is not finite")
    return v


def _path(path, name="path"):
    try:
        os.fspath(path)
    except TypeError:
        raise InvalidInputTypeError(f"{name} must be a file name (str or os.PathLike), got "
                                    f"{type(path).__name__}") from None
    return path


def read_feedback(path, kind: str = "multiclass", n_features: int | None = None) -> BanditFeedback:
    """Read logged feedback written in the format above. ``kind``: "multiclass" (VW's 1-based
    action) or "vector" (a comma-separated structure). Features become a dense
    n x n_features array; ``n_features`` (an integer in [0, 2**31]): the width, else the
    file's ``# n_features`` header, else the highest index + 1. DataFormatError naming the
    file and line for anything outside the grammar (a number such as ``0.2_5`` or ``L+0``,
    a feature index given twice on a line, an index >= the width, a width too large for a
    dense X); InvalidInputError naming ``n_features`` or ``kind`` for bad arguments."""
    check_choice(kind, "kind", ("multiclass", "vector"))
    if n_features is not None:
        n_features = check_int(n_features, "n_features", 0, _MAX_INDEX + 1)
    _path(path)
    rows, cols, vals, actions, costs, logps = [], [], [], [], [], []
    max_index_line = {}          # highest index seen -> the first line holding it
    top = -1
    policy = None
    header_width = header_line = None
    length = None
    with open_text(path) as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            if line.startswith("#"):
                m = _HEADER.match(line)
                if m and policy is None:
                    policy = m.group(1)
                m = _WIDTH.match(line)
                if m:
                    text = m.group(1)
                    if not _INT.match(text) or int(text) > _MAX_INDEX + 1:
                        raise _err(path, lineno, f"n_features header {text!r} is not an integer "
                                                 f"in [0, {_MAX_INDEX + 1}]")
                    if header_width is not None and int(text) != header_width:
                        raise _err(path, lineno, f"n_features header {text} differs from line "
                                                 f"{header_line}'s ({header_width})")
                    header_width, header_line = int(text), lineno
                continue
            head, bar, feats = line.partition("|")
            if not bar:
                raise _err(path, lineno, "no '|' between the action:cost:probability label and "
                                         "the features")
            if feats and not feats[0].isspace():
                raise _err(path, lineno, "namespaces ('|name') are not supported; write '| '")
            label = head.strip().split(":")
            if len(label) != 3 or len(head.split()) != 1:
                raise _err(path, lineno, f"label {head.strip()!r} is not action:cost:probability")
            a, c, p = label
            if kind == "multiclass":
                if not _INT.match(a) or int(a) < 1:
                    raise _err(path, lineno, f"action {a!r} is not a positive integer (VW's "
                                             "actions are 1-based)")
                actions.append(int(a) - 1)
            else:
                parts = a.split(",")
                if not all(_VEC_ENTRY.fullmatch(s) for s in parts):
                    raise _err(path, lineno, f"structure {a!r} is not a comma-separated integer "
                                             "vector")
                vec = np.array([int(s) for s in parts], dtype=np.int64)
                if length is not None and vec.size != length:
                    raise _err(path, lineno, f"structure has {vec.size} entries, earlier lines "
                                             f"have {length}")
                length = vec.size
                actions.append(vec)
            costs.append(_number(c, path, lineno, "cost"))
            if p.startswith("L"):
                lp = _number(p[1:], path, lineno, "log-probability")
                if lp > 0:
                    raise _err(path, lineno, f"log-probability {p[1:]!r} is > 0")
            else:
                prob = _number(p, path, lineno, "probability")
                if not 0 < prob <= 1:
                    raise _err(path, lineno, f"probability {p!r} is not in (0, 1]")
                lp = math.log(prob)
            logps.append(lp)
            r = len(actions) - 1
            seen = set()
            for tok in feats.split():
                idx, colon, val = tok.partition(":")
                if not colon or not _INT.match(idx) or int(idx) > _MAX_INDEX:
                    raise _err(path, lineno, f"feature {tok!r} is not index:value with a "
                                             "0-based integer index")
                j = int(idx)
                if j in seen:
                    raise _err(path, lineno, f"feature index {j} appears twice on the line")
                seen.add(j)
                v = _number(val, path, lineno, f"feature {idx} value")
                if abs(v) > MAX_ABS_FEATURE:
                    raise _err(path, lineno, f"feature {idx} value {val} exceeds {MAX_ABS_FEATURE:g}")
                width = n_features if n_features is not None else header_width
                if width is not None and j >= width:
                    which = "n_features" if n_features is not None else "the n_features header"
                    raise _err(path, lineno, f"feature index {idx} >= {which} ({width})")
                if j > top:
                    top = j
                    max_index_line.setdefault(j, lineno)
                rows.append(r)
                cols.append(j)
                vals.append(v)
    if not actions:
        raise DataFormatError(f"{os.fspath(path)}: no logged examples", path)
    n = len(actions)
    if n_features is not None:
        d, culprit = n_features, None
    elif header_width is not None:
        d, culprit = header_width, header_line
    else:
        d, culprit = top + 1, max_index_line.get(top)
    cells = n * d
    if cells > _MAX_CELLS or (cells > _LARGE_CELLS and cells > _SPARSE_RATIO * max(len(vals), 1)):
        what = (f"a dense X of {n} x {d:,} = {cells:,} numbers for {len(vals):,} stored values, "
                f"more than the reader builds (at most {_MAX_CELLS:,}, and {_LARGE_CELLS:,} "
                f"unless one value in {_SPARSE_RATIO} cells is stored)")
        if culprit is None:
            raise InvalidInputError(f"n_features={n_features:,} asks for {what}; pass a smaller "
                                    "n_features")
        source = "the n_features header" if culprit == header_line and n_features is None \
            and header_width is not None else f"feature index {d - 1}"
        raise _err(path, culprit, f"{source} asks for {what}; renumber the features densely")
    X = np.zeros((n, d))
    if vals:
        X[np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)] = vals
    Y = np.asarray(actions, dtype=np.int64) if kind == "multiclass" else actions
    return BanditFeedback(X, Y, np.asarray(costs), log_propensity=np.asarray(logps),
                          logging_policy=policy)


# ---------------------------------------------------------------------------- writing
def _integral(v) -> int | None:
    """int(v) for an integer or an integral finite float (not a bool); None otherwise."""
    if isinstance(v, np.ndarray) and v.ndim == 0:
        v = v[()]
    if isinstance(v, (bool, np.bool_)):
        return None
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real) and math.isfinite(v) and float(v) == math.floor(v):
        return int(v)
    return None


def _action(y, i, kind):
    """The action text of Y[i]; InvalidInputError naming Y[i] when the format cannot hold it."""
    if kind == "multiclass":
        k = _integral(y)
        if k is None:
            shape = f" (an array of shape {np.shape(y)}: write it with kind='vector')" \
                if np.ndim(y) else ""
            raise InvalidInputError(f"Y[{i}] is {y!r}{shape}: a multiclass action is a class "
                                    "integer k >= 0 (written as VW's action k+1)", i)
        if not 0 <= k < _MAX_ENTRY:
            raise InvalidInputError(f"Y[{i}] is {k}: a multiclass action must be a class in "
                                    f"[0, {_MAX_ENTRY - 1}] (written as VW's 1-based action, "
                                    "at most 10 digits)", i)
        return str(k + 1)
    try:
        arr = np.asarray(y)
    except (TypeError, ValueError):
        arr = np.asarray([None])
    flat = arr.ravel()
    if flat.size == 0:
        raise InvalidInputError(f"Y[{i}] is an empty structure: the format needs at least one "
                                "entry", i)
    entries = [_integral(v) for v in flat.tolist()] if arr.dtype.kind in "iufO" else [None]
    if any(e is None for e in entries):
        raise InvalidInputError(f"Y[{i}] is {y!r}: a structure is written as a vector of "
                                "integers", i)
    if any(abs(e) > _MAX_ENTRY for e in entries):
        raise InvalidInputError(f"Y[{i}] has an entry beyond ±{_MAX_ENTRY} (at most 10 digits "
                                "per entry)", i)
    return ",".join(str(e) for e in entries)


def _feature_rows(X, n):
    """[(indices, values)] per example and the width d, from a 2-D real X (dense or sparse);
    InvalidInputError naming X (or X[i]) otherwise."""
    if sp.issparse(X):
        X = check_csr(X, "X", rows_are_examples=True)
        rows = [(X.indices[X.indptr[i]:X.indptr[i + 1]], X.data[X.indptr[i]:X.indptr[i + 1]])
                for i in range(n)]
        rows = [(ind[val != 0], val[val != 0]) for ind, val in rows]
        d = X.shape[1]
    else:
        try:
            A = np.asarray(X)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"X must be a 2-D array of real features ({exc})") from None
        if A.dtype.kind == "O":
            try:
                A = A.astype(np.float64)
            except (TypeError, ValueError):
                pass
        if A.dtype.kind not in "biuf":
            raise InvalidInputError(f"X must hold real features (index:value pairs), got dtype "
                                    f"{A.dtype}")
        if A.ndim != 2:
            raise InvalidInputError(f"X must be 2-D (examples x features) to be written as "
                                    f"index:value features, got shape {A.shape}")
        A = A.astype(np.float64)
        check_values(A, "X", example_of=lambda k: k // max(A.shape[1], 1))
        rows = []
        for i in range(n):
            nz = np.flatnonzero(A[i])
            rows.append((nz, A[i, nz]))
        d = A.shape[1]
    if d - 1 > _MAX_INDEX:
        raise InvalidInputError(f"X has {d} features: the format's indices stop at {_MAX_INDEX}")
    return rows, d


def write_feedback(feedback: BanditFeedback, path, kind: str = "multiclass") -> None:
    """Write ``feedback`` in the format above so that ``read_feedback(path, kind)`` gives it
    back: zero features are omitted, and when X's width is not its highest non-zero column
    + 1 (trailing zero columns, an all-zero X) a ``# n_features`` header keeps it; propensities below 1e-300 are written as ``L<log p>``. X: a 2-D real array or
    scipy sparse matrix. Refused before any file is written (InvalidInputError naming the
    culprit): a non-integer, negative or > 10-digit action ``Y[i]`` (``kind="multiclass"``),
    a structure that is not a non-empty integer vector or of another length than ``Y[0]``
    (``kind="vector"``), an X that is not a 2-D real matrix or holds NaN/inf/|x| >
    MAX_ABS_FEATURE, a ``logging_policy`` that is not printable ASCII without leading or
    trailing blanks (a newline would start a record of its own). Written to a temporary file
    in the same folder, then renamed over ``path``; the temporary file is removed if
    anything fails."""
    check_choice(kind, "kind", ("multiclass", "vector"))
    if not isinstance(feedback, BanditFeedback):
        raise InvalidInputError(f"feedback must be a BanditFeedback, got {type(feedback).__name__}")
    _path(path)
    policy = feedback.logging_policy
    if policy is not None and not _POLICY.fullmatch(policy):
        raise InvalidInputError(f"logging_policy {policy!r} cannot be written: the header holds "
                                "printable ASCII without leading or trailing blanks (no "
                                "newline or other control character); rename it or use None")
    n = len(feedback)
    rows, d = _feature_rows(feedback.X, n)
    actions = [_action(feedback.Y[i], i, kind) for i in range(n)]
    if kind == "vector":
        sizes = [a.count(",") + 1 for a in actions]
        bad = next((i for i, s in enumerate(sizes) if s != sizes[0]), None)
        if bad is not None:
            raise InvalidInputError(f"Y[{bad}] has {sizes[bad]} entries, Y[0] has {sizes[0]}: "
                                    "every logged structure of a file has one length", bad)
    lines = []
    if policy is not None:
        lines.append(f"# logging_policy: {policy}")
    highest = max((int(idx[-1]) for idx, _ in rows if len(idx)), default=-1)
    if highest + 1 != d:     # the width is not the highest index + 1: keep it in the header
        lines.append(f"# n_features: {d}")
    for i in range(n):
        lp = float(feedback.log_propensity[i])
        prob = repr(math.exp(lp)) if lp > math.log(1e-300) else f"L{lp!r}"
        idx, val = rows[i]
        feats = " ".join(f"{int(j)}:{float(v)!r}" for j, v in zip(idx, val))
        lines.append(f"{actions[i]}:{float(feedback.loss[i])!r}:{prob} | {feats}".rstrip())
    target = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(folder):
        raise FileNotFoundError(2, "No such directory", folder)
    tmp = f"{target}.tmp{os.getpid()}"
    try:
        with open(tmp, "w", encoding="ascii") as fh:
            fh.write("\n".join(lines) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
