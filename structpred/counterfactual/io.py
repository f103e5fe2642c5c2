"""Plain-text logged bandit feedback: Vowpal Wabbit's contextual-bandit line, generalised to
structures.

Format (one logged example per line; ``#`` starts a comment line; blank lines are skipped)::

    # logging_policy: <name>                      optional header comment, kept on reading
    <action>:<cost>:<probability> | <index>:<value> <index>:<value> ...

* ``action`` -- multiclass (``kind="multiclass"``): the class as VW writes it, 1-based (class
  k of structpred is action k+1). Structures (``kind="vector"``): the logged structure as a
  comma-separated integer vector, e.g. ``0,1,1,0,0,0`` for a multi-label 0/1 label vector.
* ``cost`` -- the loss δ observed for that action (a finite decimal; lower is better, as in VW).
* ``probability`` -- the logging propensity p in (0, 1] as a decimal; a propensity too small
  for a decimal double may be written as its natural log prefixed by ``L`` (``L-812.5``).
* features -- ``index:value`` pairs after the ``|`` (VW's default namespace), index a 0-based
  column number (VW's feature names are strings; here they must be integers), value finite.

Only this subset of VW's grammar is read (no namespaces, no ``shared`` lines, no ADF blocks,
one action per line); anything else is a :class:`~structpred.errors.DataFormatError` naming the
file and line.
"""
from __future__ import annotations

import math
import os
import re

import numpy as np

from ..boundary.text import open_text
from ..errors import MAX_ABS_FEATURE, DataFormatError
from ..boundary.params import check_choice
from .feedback import BanditFeedback

__all__ = ["read_feedback", "write_feedback"]

_HEADER = re.compile(r"#\s*logging_policy:\s*(\S.*?)\s*$")
_INT = re.compile(r"^(0|[1-9][0-9]{0,9})$")
_MAX_INDEX = 2 ** 31 - 1


def _err(path, lineno, msg):
    return DataFormatError(f"{os.fspath(path)}, line {lineno}: {msg}", path, lineno)


def _number(text, path, lineno, what):
    try:
        v = float(text)
    except ValueError:
        raise _err(path, lineno, f"{what} {text!r} is not a number") from None
    if not math.isfinite(v):
        raise _err(path, lineno, f"{what} {text!r} is not finite")
    return v


def read_feedback(path, kind: str = "multiclass", n_features: int | None = None) -> BanditFeedback:
    """Read logged feedback written in the format above. ``kind``: "multiclass" (VW's 1-based
    action) or "vector" (a comma-separated structure). Features become a dense
    n x n_features array (``n_features``: the highest index + 1 when None)."""
    check_choice(kind, "kind", ("multiclass", "vector"))
    rows, cols, vals, actions, costs, logps = [], [], [], [], [], []
    policy = None
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
                if not all(re.fullmatch(r"-?(0|[1-9][0-9]{0,9})", s) for s in parts):
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
            for tok in feats.split():
                idx, colon, val = tok.partition(":")
                if not colon or not _INT.match(idx) or int(idx) > _MAX_INDEX:
                    raise _err(path, lineno, f"feature {tok!r} is not index:value with a "
                                             "0-based integer index")
                v = _number(val, path, lineno, f"feature {idx} value")
                if abs(v) > MAX_ABS_FEATURE:
                    raise _err(path, lineno, f"feature {idx} value {val} exceeds {MAX_ABS_FEATURE:g}")
                if n_features is not None and int(idx) >= n_features:
                    raise _err(path, lineno, f"feature index {idx} >= n_features={n_features}")
                rows.append(r)
                cols.append(int(idx))
                vals.append(v)
    if not actions:
        raise DataFormatError(f"{os.fspath(path)}: no logged examples", path)
    d = n_features if n_features is not None else (max(cols) + 1 if cols else 0)
    if d * len(actions) > 2 ** 28:
        raise DataFormatError(f"{os.fspath(path)}: {len(actions)} x {d} features is too large "
                              "for a dense matrix (pass n_features or use fewer features)", path)
    X = np.zeros((len(actions), d))
    np.add.at(X, (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)), vals)
    Y = np.asarray(actions, dtype=np.int64) if kind == "multiclass" else actions
    return BanditFeedback(X, Y, np.asarray(costs), log_propensity=np.asarray(logps),
                          logging_policy=policy)


def write_feedback(feedback: BanditFeedback, path, kind: str = "multiclass") -> None:
    """Write ``feedback`` (X a 2-D array) in the format above; zero features are omitted;
    propensities below 1e-300 are written as ``L<log p>``. Written to a temporary file in the
    same folder, then renamed over ``path``."""
    check_choice(kind, "kind", ("multiclass", "vector"))
    X = np.asarray(feedback.X, dtype=np.float64)
    lines = []
    if feedback.logging_policy:
        lines.append(f"# logging_policy: {feedback.logging_policy}")
    for i in range(len(feedback)):
        y = feedback.Y[i]
        action = str(int(y) + 1) if kind == "multiclass" else ",".join(str(int(v)) for v in np.ravel(y))
        lp = float(feedback.log_propensity[i])
        prob = repr(math.exp(lp)) if lp > math.log(1e-300) else f"L{lp!r}"
        nz = np.flatnonzero(X[i])
        feats = " ".join(f"{j}:{float(X[i, j])!r}" for j in nz)
        lines.append(f"{action}:{float(feedback.loss[i])!r}:{prob} | {feats}".rstrip())
    tmp = f"{os.fspath(path)}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="ascii") as fh:
        fh.write("\n".join(lines) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
