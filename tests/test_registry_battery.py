"""The registry-driven hostile battery: every registered task, reader, metric and the
estimator's parameters get the same generic hostile inputs (NaN, ±inf, 1e308, negative,
zero, huge and out-of-range indices, wrong shapes and dtypes, empty and one-element inputs,
strings where numbers go; truncated / garbage / gzip-bomb / endless-line / piped files).

Each case ends in exactly one of two accepted outcomes, and its test id says which:
``-error``: a documented ``structpred.errors`` exception whose message (or ``index``) names
the culprit (the example index, the argument, the file); ``-reference``: a result equal to a
reference (a fit on an equivalent input: float32 / list-of-lists / canonical CSR copies, a
training set with every example duplicated; a read through a pipe equals a read of the file;
a metric of scores scaled by 1e300 equals the unscaled one).

What a contributor does to be covered (nothing else):
* a task: register it in ``structpred.persistence.BUILTIN_TASKS`` and give its class a
  classmethod ``tiny_example(random_state=0) -> (task, X, Y)`` (a tiny valid training set);
  a registered task without it fails ``test_task_declares_tiny_example`` saying what to add.
* a reader: one ``structpred.datasets.readers.READERS`` entry (callable + a tiny valid sample).
* a metric: one ``structpred.metrics.METRICS`` entry (callable + kind + a valid example).
* a fairness measure or an off-policy estimator: one entry in the registry of its layer
  (``structpred.apps.fairness.registry.MEASURES``, ``structpred.counterfactual.registry.
  ESTIMATORS``, the same ``Metric`` entries with a reference), which
  ``structpred.metrics.all_metrics()`` imports on demand; a public function of a covered
  module left out of its registry fails ``test_higher_layer_registries_cover_their_modules``.

Cases that could crash the interpreter (out-of-range CSR indices reaching compiled code) run
in one subprocess for all tasks. ``test_battery_catches_a_careless_task`` registers a task
with no input checks and shows the battery fails it; ``test_battery_catches_careless_measures_
and_estimators`` does the same for a fairness measure, an expected DCG with a wrong formula
(caught by its reference) and an IPS estimator.
"""
from __future__ import annotations

import gzip
import inspect
import json
import math
import os
import re
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
import scipy.sparse as sp

from structpred import StructuredSVM
from structpred.datasets.readers import READERS
from structpred.errors import DataFormatError, StructpredError
from structpred.metrics import METRICS, REGISTRIES, all_metrics
from structpred.model import StructuredModel
from structpred.tasks.registry import BUILTIN_TASKS
from structpred.tasks.registry import builtin_task as _builtin_class

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BAD = 1  # the example every per-example case poisons


class BatteryFailure(AssertionError):
    """A case that ended neither in a named structpred error nor in the reference result."""


# ============================================================================ outcome checks
def expect_named_error(fn: Callable, culprit, what: str):
    """Run ``fn``; it must raise a StructpredError naming ``culprit`` (an int: the example
    index, as ``index`` or as a number in the message; a str: a word of the message)."""
    try:
        fn()
    except StructpredError as exc:
        msg = str(exc)
        if isinstance(culprit, int):
            ok = getattr(exc, "index", None) == culprit or re.search(rf"(?<![\d.]){culprit}(?![\d.])", msg)
        elif isinstance(culprit, tuple):   # any of these words
            ok = any(c.lower() in msg.lower() for c in culprit)
        else:
            ok = culprit.lower() in msg.lower()
        if not ok:
            raise BatteryFailure(f"{what}: {type(exc).__name__} does not name {culprit!r}: {msg}")
        return exc
    except BaseException as exc:  # noqa: BLE001 -- any other exception type is a failure
        raise BatteryFailure(f"{what}: {type(exc).__name__} instead of a structpred error "
                             f"naming {culprit!r}: {exc}") from exc
    raise BatteryFailure(f"{what}: accepted without error (must raise a structpred error "
                         f"naming {culprit!r})")


def _same(a, b, rtol=1e-6, atol=1e-8):
    """Structural equality of results: arrays (dense, sparse), numbers, containers, objects."""
    if sp.issparse(a) or sp.issparse(b):
        return sp.issparse(a) and sp.issparse(b) and a.shape == b.shape and \
            np.allclose(a.toarray(), b.toarray(), rtol=rtol, atol=atol)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape:
            return False
        if a.dtype.kind in "fc" or b.dtype.kind in "fc":
            return bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))
        return bool(np.array_equal(a, b))
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(b, (int, float)) and (math.isclose(a, b, rel_tol=rtol, abs_tol=atol)
                                                or (math.isnan(a) and math.isnan(b)))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(map(_same, a, b))
    if hasattr(a, "__dict__") and type(a) is type(b) and not isinstance(a, type):
        skip = ("path", "name")   # where it was read from, not what was read
        return _same({k: v for k, v in vars(a).items() if k not in skip},
                     {k: v for k, v in vars(b).items() if k not in skip})
    if hasattr(a, "__slots__") and type(a) is type(b):
        return all(_same(getattr(a, s, None), getattr(b, s, None)) for s in a.__slots__)
    return a == b


def expect_reference(fn: Callable, reference: Callable, what: str, rtol=1e-4, atol=1e-6):
    """``fn()`` must equal ``reference()`` (a named structpred error is *not* accepted)."""
    try:
        got = fn()
    except BaseException as exc:  # noqa: BLE001
        raise BatteryFailure(f"{what}: {type(exc).__name__} instead of the reference result: "
                             f"{exc}") from exc
    ref = reference()
    if not _same(got, ref, rtol, atol):
        raise BatteryFailure(f"{what}: result differs from the reference:\n{got!r}\nvs\n{ref!r}")


def expect_error_or_reference(fn, culprit, reference, what):
    """A named structpred error, or the reference result (e.g. sparse input a task may
    refuse by name or handle exactly like the dense one)."""
    try:
        got = fn()
    except StructpredError:
        return expect_named_error(fn, culprit, what)
    except BaseException as exc:  # noqa: BLE001
        raise BatteryFailure(f"{what}: {type(exc).__name__}: {exc}") from exc
    if not _same(got, reference(), 1e-4, 1e-6):
        raise BatteryFailure(f"{what}: accepted, but the result differs from the reference")


# ============================================================================ tasks
def _fit_w(task_factory, X, Y):
    svm = StructuredSVM(task_factory(), C=1.0, eps=1e-6, max_iter=200)
    return svm.fit(X, Y).w_


def _copy(obj):
    if isinstance(obj, np.ndarray):
        return obj.copy()
    if sp.issparse(obj):
        return obj.copy()
    if isinstance(obj, list):
        return [_copy(o) for o in obj]
    return obj


def _is_matrix(x):
    return (isinstance(x, np.ndarray) and x.ndim == 2 and x.dtype.kind == "f") or sp.issparse(x)


def _rows_view(X):
    """(X as a list of per-example objects, a function building X back from such a list):
    a 2-D array X (one row per example, Multiclass) becomes a list of 1-row matrices."""
    if isinstance(X, np.ndarray) and X.ndim == 2:
        return [X[i:i + 1].copy() for i in range(X.shape[0])], lambda xs: (
            np.vstack(xs) if all(isinstance(x, np.ndarray) and x.ndim == 2 for x in xs) else xs)
    return list(X), lambda xs: xs


def _poison_value(value):
    def f(x):
        x = np.array(x, dtype=np.float64)
        x.flat[x.size // 2] = value
        return x
    return f


def _csr_with(col=None, indptr_swap=False):
    def f(x):
        m = sp.csr_matrix(np.asarray(x, dtype=np.float64))
        m.data = np.where(m.data == 0, 1.0, m.data)
        if col is not None:
            c = m.shape[1] if col == "n" else col
            m.indices = m.indices.copy()
            m.indices[len(m.indices) // 2] = c
        if indptr_swap:
            m.indptr = m.indptr.copy()
            m.indptr[-1] += 3   # points past the data
        return m
    return f


# name -> (kind, transform of X[BAD]); kinds: x = numeric matrix example, xcsr = compiled-code
# hazard (run in a subprocess), xany = any example type
X_CASES = {
    "x_nan": ("x", _poison_value(np.nan)),
    "x_posinf": ("x", _poison_value(np.inf)),
    "x_neginf": ("x", _poison_value(-np.inf)),
    "x_1e308": ("x", _poison_value(1e308)),
    # float32 data: the limit 1e50 is inf there, so a check comparing in float32 passes inf
    "x_posinf_float32": ("x", lambda x: _poison_value(np.inf)(x).astype(np.float32)),
    "x_strings": ("x", lambda x: np.full(np.shape(x), "a", dtype=object)),
    "x_1d": ("x", lambda x: np.asarray(x, dtype=np.float64).ravel()),
    "x_3d": ("x", lambda x: np.asarray(x, dtype=np.float64)[None]),
    "x_extra_column": ("xwide", lambda x: np.hstack([np.asarray(x, float), np.ones((np.shape(x)[0], 1))])),
    "x_no_rows": ("xrows", lambda x: np.zeros((0, np.shape(x)[1]))),
    "x_none": ("xany", lambda x: None),
    "x_string": ("xany", lambda x: "not an example"),
    "csr_col_minus1": ("xcsr", _csr_with(col=-1)),
    "csr_col_ncols": ("xcsr", _csr_with(col="n")),
    "csr_col_1e6": ("xcsr", _csr_with(col=10 ** 6)),
    "csr_bad_indptr": ("xcsr", _csr_with(indptr_swap=True)),
}
Y_CASES = {
    "y_nan": lambda y: _poison_value(np.nan)(y),
    "y_inf": lambda y: _poison_value(np.inf)(y),
    "y_strings": lambda y: np.full(np.shape(y), "a", dtype=object),
    "y_none": lambda y: None,
    "y_wrong_length": lambda y: np.asarray(y)[:-1] if np.ndim(y) == 1 and len(y) > 1 else [[0]],
}
GLOBAL_CASES = ["len_mismatch", "empty", "predict_nan", "state_unknown_key", "state_bad_values"]
REFERENCE_CASES = ["ref_float32", "ref_list_of_lists", "ref_sparse_canonical", "ref_duplicated",
                   "ref_one_element", "ref_get_params_clone"]


def _example(cls):
    hook = getattr(cls, "tiny_example", None)
    if hook is None:
        raise BatteryFailure(f"{cls.__name__} is registered but has no classmethod "
                             "tiny_example(random_state=0) -> (task, X, Y): add one returning a "
                             "tiny valid training set so the hostile battery can reach its checks")
    return hook(random_state=0)


def _applies(kind, X, Y):
    xs, _ = _rows_view(X)
    x = xs[BAD]
    is_multirow_array_x = isinstance(X, np.ndarray)
    if kind in ("x", "xcsr"):
        return _is_matrix(x)
    if kind == "xwide":
        return _is_matrix(x) and not is_multirow_array_x
    if kind == "xrows":
        return _is_matrix(x) and not is_multirow_array_x
    return True


def run_task_case(cls, case):
    """Run one battery case on a task class; BatteryFailure (or pytest.skip for a case that
    does not apply to this task's example type, with the reason)."""
    task, X, Y = _example(cls)
    factory = lambda: _example(cls)[0]  # noqa: E731
    what = f"{cls.__name__}/{case}"
    xs, rebuild = _rows_view(X)
    if case in X_CASES:
        kind, fn = X_CASES[case]
        if not _applies(kind, X, Y):
            pytest.skip(f"{case}: x of {cls.__name__} is not a numeric matrix")
        xs = _copy(xs)
        xs[BAD] = fn(xs[BAD])
        if isinstance(X, np.ndarray):   # one row per example (Multiclass)
            Xb = _raw_vstack(xs) if kind == "xcsr" else rebuild(xs)
            if case.endswith("_float32") and isinstance(Xb, np.ndarray):
                Xb = Xb.astype(np.float32)   # the whole matrix in float32
        else:
            Xb = xs
        fit = lambda: StructuredSVM(factory(), C=1.0, eps=1e-6, max_iter=200).fit(Xb, Y)  # noqa: E731
        culprit = BAD
        if case == "csr_bad_indptr" and isinstance(X, np.ndarray):
            culprit = "row pointer"   # one CSR for all examples: no single row to blame
        if case == "x_extra_column":
            # one example wider than the others: refused by name, or read as if the others
            # had a zero column more (the reference)
            padded = [x if i == BAD else np.hstack([np.asarray(x, float), np.zeros((np.shape(x)[0], 1))])
                      for i, x in enumerate(Xb)]
            expect_error_or_reference(lambda: fit().w_, BAD,
                                      lambda: _fit_w(factory, padded, Y), what)
        elif case in ("x_1d", "x_3d") and isinstance(X, np.ndarray):
            # a row given as a 1-D feature vector is the usual form of a feature-vector task
            expect_error_or_reference(lambda: fit().w_, BAD, lambda: _fit_w(factory, X, Y), what)
        else:
            expect_named_error(fit, culprit, what + " (fit)")
        if case == "x_extra_column":
            return "error"
        if kind in ("x", "xcsr") and case not in ("x_1d", "x_3d"):
            svm = StructuredSVM(factory(), C=1.0, max_iter=20).fit(X, Y)
            expect_named_error(lambda: svm.predict(Xb), culprit, what + " (predict)")
        return "error"
    if case in Y_CASES:
        Ys = list(Y) if not isinstance(Y, np.ndarray) or Y.ndim > 1 else list(Y)
        Ys = _copy(Ys)
        if isinstance(Y, np.ndarray) and Y.ndim == 1:  # one scalar label per example
            if case == "y_wrong_length":
                pytest.skip("y_wrong_length: labels are scalars")
            Yb = np.array(Y, dtype=object)
            Yb[BAD] = {"y_nan": np.nan, "y_inf": np.inf, "y_strings": "a", "y_none": None}[case]
        else:
            if case in ("y_nan", "y_inf", "y_strings", "y_wrong_length") and \
                    not isinstance(Ys[BAD], np.ndarray):
                pytest.skip(f"{case}: y of {cls.__name__} is not an array")
            Ys[BAD] = Y_CASES[case](Ys[BAD])
            Yb = Ys
        expect_named_error(lambda: StructuredSVM(factory(), C=1.0, max_iter=20).fit(X, Yb),
                           BAD, what)
        return "error"
    if case == "len_mismatch":
        expect_named_error(lambda: StructuredSVM(factory(), C=1.0).fit(X, list(Y)[:-1]), "Y", what)
        return "error"
    if case == "empty":
        Xe = X[:0] if isinstance(X, np.ndarray) else []
        expect_named_error(lambda: StructuredSVM(factory(), C=1.0).fit(Xe, list(Y)[:0]), "empty", what)
        return "error"
    if case == "predict_nan":
        if not _is_matrix(xs[BAD]):
            pytest.skip("predict_nan: x is not a numeric matrix")
        svm = StructuredSVM(factory(), C=1.0, max_iter=20).fit(X, Y)
        xs2 = _copy(xs)
        xs2[BAD] = _poison_value(np.nan)(xs2[BAD])
        expect_named_error(lambda: svm.predict(rebuild(xs2)), BAD, what)
        return "error"
    if case == "state_unknown_key":
        svm = StructuredSVM(factory(), C=1.0, max_iter=20).fit(X, Y)
        expect_named_error(lambda: _set_state(svm.model, {**svm.model.get_state(),
                                                          "size_joint_feature": 10 ** 9}),
                           "size_joint_feature", what)
        return "error"
    if case == "state_bad_values":
        svm = StructuredSVM(factory(), C=1.0, max_iter=20).fit(X, Y)
        state = svm.model.get_state()
        if not state:
            pytest.skip("state_bad_values: the task keeps no state")
        for key in state:
            for bad in ("x", -1, 1e308, {"bogus": 1}):
                fresh = factory()
                expect_named_error(lambda: _set_state(fresh, {**state, key: bad}), key,
                                   f"{what} {key}={bad!r}")
        return "error"
    # ------------------------------------------------------------------ reference cases
    ref = lambda: _fit_w(factory, X, Y)  # noqa: E731
    if case in ("ref_float32", "ref_list_of_lists", "ref_sparse_canonical"):
        if not _is_matrix(xs[BAD]):
            pytest.skip(f"{case}: x is not a numeric matrix")
        conv = {"ref_float32": lambda x: np.asarray(x, dtype=np.float32),
                "ref_list_of_lists": lambda x: np.asarray(x).tolist(),
                "ref_sparse_canonical": lambda x: sp.csr_matrix(np.asarray(x))}[case]
        if isinstance(X, np.ndarray):
            Xc = conv(X)
        else:
            Xc = [conv(x) for x in X]
        if case in ("ref_sparse_canonical", "ref_list_of_lists"):
            # a task may refuse sparse or list input by name, or must treat it as the dense
            expect_error_or_reference(lambda: _fit_w(factory, Xc, Y), 0, ref, what)
        else:
            expect_reference(lambda: _fit_w(factory, Xc, Y), ref, what)
        return "reference"
    if case == "ref_duplicated":
        # C/n Σ ξ_i: every example twice has the same optimum as once
        X2 = np.vstack([X, X]) if isinstance(X, np.ndarray) else list(X) + list(X)
        Y2 = np.concatenate([Y, Y]) if isinstance(Y, np.ndarray) else list(Y) + list(Y)
        expect_reference(lambda: _fit_w(factory, X2, Y2), ref, what, rtol=1e-3, atol=1e-4)
        return "reference"
    if case == "ref_one_element":
        X1 = X[:1] if isinstance(X, np.ndarray) else list(X)[:1]
        Y1 = Y[:1] if isinstance(Y, np.ndarray) else list(Y)[:1]
        X11 = np.vstack([X1, X1]) if isinstance(X, np.ndarray) else X1 * 2
        Y11 = np.concatenate([Y1, Y1]) if isinstance(Y, np.ndarray) else Y1 * 2
        expect_error_or_reference(lambda: _fit_w(factory, X1, Y1), "example",
                                  lambda: _fit_w(factory, X11, Y11), what)
        return "reference"
    if case == "ref_get_params_clone":
        from sklearn.base import clone
        t = factory()
        expect_reference(lambda: clone(StructuredSVM(t, C=2.0)).get_params(deep=True),
                         lambda: StructuredSVM(t, C=2.0).get_params(deep=True), what)
        expect_reference(lambda: type(t)(**t.get_params(deep=False)).get_params(deep=False),
                         lambda: t.get_params(deep=False), what)
        return "reference"
    raise KeyError(case)


def _raw_vstack(xs):
    """Stack 1-row CSR matrices without scipy's checks (their bad indices kept)."""
    rows = [x if sp.issparse(x) else sp.csr_matrix(x) for x in xs]
    data = np.concatenate([r.data for r in rows])
    ind = np.concatenate([r.indices for r in rows]).astype(np.int32)
    ptr = np.concatenate([[0], np.cumsum([r.indptr[-1] for r in rows])]).astype(np.int32)
    m = sp.csr_matrix((len(rows), rows[0].shape[1]))
    m.data, m.indices, m.indptr = data, ind, ptr
    return m


def _set_state(task, state):
    task.set_state(state)
    return task


TASK_NAMES = list(BUILTIN_TASKS)
ALL_TASK_CASES = list(X_CASES) + list(Y_CASES) + GLOBAL_CASES + REFERENCE_CASES
_KIND = {c: ("reference" if c.startswith("ref_") else "error") for c in ALL_TASK_CASES}
IN_PROCESS = [c for c in ALL_TASK_CASES if not c.startswith("csr_")]
SUBPROCESS = [c for c in ALL_TASK_CASES if c.startswith("csr_")]


@pytest.mark.parametrize("name", TASK_NAMES)
def test_task_declares_tiny_example(name):
    cls = _builtin_class(name)
    task, X, Y = _example(cls)
    assert isinstance(task, StructuredModel) and len(X) == len(Y) >= 3
    assert np.all(np.isfinite(_fit_w(lambda: _example(cls)[0], X, Y)))


@pytest.mark.parametrize("case", [pytest.param(c, id=f"{c}-{_KIND[c]}") for c in IN_PROCESS])
@pytest.mark.parametrize("name", TASK_NAMES)
def test_task_battery(name, case):
    run_task_case(_builtin_class(name), case)


_SUBPROCESS_SCRIPT = r"""
import json, sys, warnings
sys.path.insert(0, {here!r})
warnings.simplefilter("ignore")
import pytest
import test_registry_battery as B
out = {{}}
todo = set(sys.argv[1:])
for name in B.TASK_NAMES:
    for case in B.SUBPROCESS:
        key = name + "/" + case
        if key not in todo:
            continue
        print("RUNNING", key, flush=True)
        try:
            out[key] = ["ok", B.run_task_case(B._builtin_class(name), case)]
        except B.BatteryFailure as exc:
            out[key] = ["fail", str(exc)]
        except pytest.skip.Exception as exc:
            out[key] = ["skip", str(exc)]
        except Exception as exc:
            out[key] = ["fail", "battery error: %s: %s" % (type(exc).__name__, exc)]
    for k in list(out):
        print("OUTCOME", json.dumps([k, out.pop(k)]), flush=True)
print("RESULT", json.dumps(out), flush=True)
"""


@pytest.fixture(scope="module")
def subprocess_outcomes():
    """Every compiled-code hazard case of every task, in one child process: a signal
    (SIGSEGV, SIGABRT) there names the case that was running instead of killing pytest."""
    todo = [f"{n}/{c}" for n in TASK_NAMES for c in SUBPROCESS]
    outcomes = {}
    while todo:   # a crash records its case, then the rest run in a fresh process
        proc = subprocess.run([sys.executable, "-c", _SUBPROCESS_SCRIPT.format(here=HERE), *todo],
                              capture_output=True, text=True, cwd=ROOT, timeout=600)
        lines = proc.stdout.splitlines()
        for ln in lines:
            if ln.startswith("OUTCOME "):
                key, value = json.loads(ln[len("OUTCOME "):])
                outcomes[key] = value
        result = [ln for ln in lines if ln.startswith("RESULT ")]
        if result:
            outcomes.update(json.loads(result[-1][len("RESULT "):]))
            break
        running = [ln[len("RUNNING "):] for ln in lines if ln.startswith("RUNNING ")]
        crashed = running[-1] if running else todo[0]
        outcomes[crashed] = ["fail", f"the process died (exit {proc.returncode}, a negative "
                             f"exit is a signal) during this case: {proc.stderr[-300:]}"]
        todo = todo[todo.index(crashed) + 1:]
    return outcomes


@pytest.mark.parametrize("case", [pytest.param(c, id=f"{c}-error") for c in SUBPROCESS])
@pytest.mark.parametrize("name", TASK_NAMES)
def test_task_battery_compiled_hazards(name, case, subprocess_outcomes):
    status, detail = subprocess_outcomes.get(f"{name}/{case}", ["fail", "no outcome (an "
                                                                "earlier case killed the process)"])
    if status == "skip":
        pytest.skip(detail)
    assert status == "ok", f"{name}/{case}: {detail}"


# ---------------------------------------------------------------- the mechanism works
class _CarelessTask(StructuredModel):
    """A multiclass task written without a single input check (what the battery must catch)."""

    def __init__(self):
        super().__init__()

    def initialize(self, X, Y):
        self.n_classes_ = int(max(Y)) + 1
        self.size_joint_feature = self.n_classes_ * np.shape(X[0])[-1]

    def joint_feature(self, x, y):
        out = np.zeros(self.size_joint_feature)
        x = np.ravel(x)
        out[int(y) * x.shape[0]:(int(y) + 1) * x.shape[0]] = x
        return out

    def loss(self, y, y_hat):
        return float(y != y_hat)

    def inference(self, x, w):
        return int(np.argmax(np.reshape(w, (self.n_classes_, -1)) @ np.ravel(x)))

    def loss_augmented_inference(self, x, y, w):
        s = np.reshape(w, (self.n_classes_, -1)) @ np.ravel(x) + 1.0
        s[int(y)] -= 1.0
        return int(np.argmax(s))

    @classmethod
    def tiny_example(cls, random_state=0):
        rng = np.random.default_rng(random_state)
        y = [0, 1, 2, 0, 1, 2]
        return cls(), [rng.normal(size=(1, 3)) + np.eye(3)[[c]] for c in y], y


class _NoHookTask(_CarelessTask):
    tiny_example = None


def test_battery_catches_a_careless_task():
    failures, passed = [], []
    for case in IN_PROCESS + SUBPROCESS:
        try:
            run_task_case(_CarelessTask, case)
            passed.append(case)
        except BatteryFailure as exc:
            failures.append((case, str(exc)))
        except pytest.skip.Exception:
            pass
    caught = {c for c, _ in failures}
    # the careless task accepts NaN/inf/1e308 features and out-of-range CSR indices, and its
    # set_state writes any attribute: the battery names each of these
    for case in ("x_nan", "x_posinf", "x_1e308", "predict_nan", "csr_col_1e6",
                 "state_unknown_key"):
        assert case in caught, (case, passed)
    with pytest.raises(BatteryFailure, match="has no classmethod tiny_example"):
        run_task_case(_NoHookTask, "x_nan")


# ============================================================================ estimator
ESTIMATOR_BAD = {
    "C": [np.nan, np.inf, -1.0, 0.0, "1", True, None, 1e308 * 10],
    "eps": [np.nan, -1e-3, 0.0, "0.1", True],
    "max_iter": [0, -1, 1.5, np.nan, "5", True],
    "algorithm": ["bogus", 1, None],
    "rescaling": ["bogus", None],
    "cache_size": [-1, 1.5, "x", 10**12],
    "n_jobs": [0, 1.5, "2", True],
    "qp": ["bogus", None, 1],
    "inactive_window": [-1, 1.5, "x", np.nan],
    "verbose": [-1, 1.5, "x", np.nan],
    "callback": [1, "print"],
    "backend": ["bogus", None],
    "solver_options": [0, "x", [("batch_size", 2)]],
    "keep_solver_state": [1, "x", None],
}
#: other parameters the bad values above need set (an option of one solver only)
ESTIMATOR_CONTEXT = {"qp": {"algorithm": "1-slack"}, "inactive_window": {"algorithm": "1-slack"},
                     "cache_size": {"algorithm": "1-slack"}}
#: parameters with no bad value of their own here, and why
ESTIMATOR_FREE = {
    "model": "the task: the task battery above",
    "client": "read only with backend='dask' (tests/test_cocoa.py: an address that does not "
              "answer, a timeout)",
}


def test_every_estimator_parameter_is_in_the_battery():
    import inspect
    params = [p for p in inspect.signature(StructuredSVM.__init__).parameters if p != "self"]
    assert sorted(params) == sorted(set(ESTIMATOR_BAD) | set(ESTIMATOR_FREE)), \
        "a StructuredSVM parameter without bad values in ESTIMATOR_BAD (or a reason in ESTIMATOR_FREE)"


@pytest.mark.parametrize("param,value", [pytest.param(p, v, id=f"StructuredSVM-{p}={v!r}-error")
                                         for p, vs in ESTIMATOR_BAD.items() for v in vs])
def test_estimator_parameter_battery(param, value):
    task, X, Y = _example(_builtin_class("Multiclass"))
    kwargs = {**ESTIMATOR_CONTEXT.get(param, {}), param: value}
    expect_named_error(lambda: StructuredSVM(task, **kwargs).fit(X, Y), param,
                       f"StructuredSVM({param}={value!r})")


# ============================================================================ readers
def _write_sample(reader, folder, name="sample"):
    if isinstance(reader.sample, dict):
        d = folder / name
        d.mkdir()
        for f, text in reader.sample.items():
            (d / f).write_text(text)
        return d
    p = folder / f"{name}{reader.suffix}"
    p.write_text(reader.sample)
    return p


def _bomb(path):
    """100 MiB of blank 1 MiB lines in about 100 KB of gzip: refused as a bomb, never read
    into memory whole."""
    path.write_bytes(gzip.compress(b" " * ((1 << 20) - 1) + b"\n", 9) * 100)
    return path


def _w(path, data: bytes):
    path.write_bytes(data)
    return path


READER_FILE_CASES = {
    "empty": ("error", lambda r, t: _w(t / f"e{r.suffix}", b"")),
    "garbage": ("error", lambda r, t: _w(t / f"g{r.suffix}", bytes(range(256)) * 4 + b"\x00\xff")),
    "truncated_gzip": ("error", lambda r, t: _w(t / "t.gz", gzip.compress(r.sample.encode() * 50)[:-30])),
    "gzip_bomb": ("error", lambda r, t: _bomb(t / "bomb.gz")),
    "endless_line_dev_zero": ("error", lambda r, t: "/dev/zero"),
    "numbers_nan": ("error_or_ok", lambda r, t: _mutated(r, t, "nan")),
    "numbers_1e308": ("error_or_ok", lambda r, t: _mutated(r, t, "1e308")),
    "numbers_negative": ("error_or_ok", lambda r, t: _mutated(r, t, "-1")),
    "numbers_huge_index": ("error_or_ok", lambda r, t: _mutated(r, t, "99999999999999999999")),
}


def _mutated(reader, folder, token):
    """The sample with its first number token after the first field replaced by ``token``."""
    text = reader.sample
    m = re.search(r"(?<=[\s:,])\d+(\.\d+)?(?=[\s,:\n])", text)
    p = folder / f"m{reader.suffix}"
    p.write_text(text[:m.start()] + token + text[m.end():] if m else text)
    return p


def _stream_readers():
    return [n for n, r in READERS.items() if r.stream]


def _file_readers():
    return [n for n, r in READERS.items() if not isinstance(r.sample, dict)]


@pytest.mark.parametrize("name", list(READERS))
def test_reader_reads_its_sample(name, tmp_path):
    out = READERS[name](_write_sample(READERS[name], tmp_path))
    assert out is not None and (not hasattr(out, "__len__") or len(out) > 0)


@pytest.mark.parametrize("case", [pytest.param(c, id=f"{c}-{k}") for c, (k, _) in READER_FILE_CASES.items()])
@pytest.mark.parametrize("name", _file_readers())
def test_reader_battery(name, case, tmp_path):
    reader = READERS[name]
    kind, make = READER_FILE_CASES[case]
    path = make(reader, tmp_path)
    shown = os.path.basename(str(path))
    if kind == "error":
        exc = expect_named_error(lambda: reader(path), shown, f"{name}/{case}")
        assert isinstance(exc, DataFormatError), f"{name}/{case}: {type(exc).__name__}"
        return
    # a mutated number: a DataFormatError naming file and line, or a result (then it is
    # the reader's grammar: the mutated file must still read the same way twice)
    try:
        first = reader(path)
    except DataFormatError as exc:
        assert shown in str(exc) and "line" in str(exc), f"{name}/{case}: {exc}"
        return
    except BaseException as exc:  # noqa: BLE001
        raise BatteryFailure(f"{name}/{case}: {type(exc).__name__}: {exc}") from exc
    assert _same(first, reader(path))


@pytest.mark.parametrize("name", [pytest.param(n, id=f"{n}-pipe-reference") for n in _stream_readers()
                                  if not isinstance(READERS[n].sample, dict)])
def test_reader_through_a_pipe_equals_the_file(name, tmp_path):
    """A FIFO fed the gzip of a larger sample (as <(zcat f) or /dev/stdin): nothing lost."""
    reader = READERS[name]
    text = reader.sample
    plain = tmp_path / f"big{reader.suffix}"
    plain.write_text(text)
    fifo = tmp_path / f"fifo{reader.suffix}"
    os.mkfifo(fifo)
    payload = gzip.compress(text.encode())

    def feed():
        with open(fifo, "wb") as fh:
            fh.write(payload)
    t = threading.Thread(target=feed)
    t.start()
    try:
        expect_reference(lambda: reader(fifo), lambda: reader(plain), f"{name}/pipe")
    finally:
        t.join(timeout=10)


@pytest.mark.parametrize("name", list(READERS))
def test_reader_missing_and_directory(name, tmp_path):
    with pytest.raises((FileNotFoundError, DataFormatError)):
        READERS[name](tmp_path / "missing.txt")
    if not isinstance(READERS[name].sample, dict):
        with pytest.raises((IsADirectoryError, DataFormatError)):
            READERS[name](tmp_path)


# ============================================================================ metrics
#: Every registered measure: structpred.metrics.METRICS and the registries of higher layers
#: it names (fairness measures, off-policy estimators), imported on demand.
ALL_METRICS = all_metrics()


class _Deferred:
    """An argument built inside the call (its construction may be what refuses the input,
    e.g. BanditFeedback refusing a propensity of 0): the error is then the call's."""

    def __init__(self, make):
        self.make = make


def _call(fn, args, kwargs):
    return fn(*[a.make() if isinstance(a, _Deferred) else a for a in args], **kwargs)


def _feedback_like(fb, **change):
    """A _Deferred BanditFeedback equal to ``fb`` but for the arrays in ``change``."""
    from structpred.counterfactual import BanditFeedback
    parts = {"X": fb.X, "Y": fb.Y, "loss": fb.loss, "propensity": fb.propensity, **change}
    return _Deferred(lambda: BanditFeedback(**parts))


def _set(arr, pos, value, dtype=np.float64):
    out = np.array(arr, dtype=object if isinstance(value, (str, type(None))) else dtype)
    out[pos] = value
    return out


def others_name(others):
    """A word every length-mismatch message may use instead of the argument's own name."""
    return "entries"


def _role_cases(role, arg, argname, others):
    """(label, kind, poisoned argument, culprit) for the roles of the fairness measures and
    off-policy estimators; kind "error" (a structpred error naming the culprit: a word or a
    tuple of words, any of which), "error_or_range" (that, or a result in the entry's
    range: one logged example is enough for some estimators), "same" (the result of the
    unpoisoned call: the culprit is the argument to use instead)."""
    out = []
    if role in ("nonneg_vector", "vector"):
        v = np.asarray(arg, dtype=np.float64)
        out += [("nan", "error", _set(v, 0, np.nan), argname),
                ("posinf", "error", _set(v, 0, np.inf), argname),
                ("neginf", "error", _set(v, 0, -np.inf), argname),
                ("string", "error", _set(v, 0, "x"), argname),
                ("none_entry", "error", _set(v, 0, None), argname),
                ("2d", "error", v[None, :], argname),
                ("empty", "error", v[:0], argname),
                ("1e308", "error", _set(v, 0, 1e308), argname),
                # large but accepted: a finite result in range, or a named error
                ("1e40", "error_or_range", _set(v, 0, 1e40), argname)]
        if len(others) > 1:   # its length is fixed by another argument
            out.append(("one_short", "error", v[:-1], argname))
        if role == "nonneg_vector":
            out.append(("negative", "error", _set(v, 0, -1.0), argname))
    elif role in ("groups", "groups2", "groups_any"):
        g = np.asarray(arg)
        out += [("one_short", "error", g[:-1], argname),
                ("nan_label", "error", _set(g, 1, np.nan), argname),
                ("none_label", "error", _set(g, 1, None), argname),
                ("mixed_labels", "error", _set(g, 1, "a"), argname),
                ("2d", "error", g[None, :], argname)]
        if role != "groups_any":
            out.append(("single_group", "error", np.zeros_like(g), argname))
        if role == "groups2":
            out.append(("three_groups", "error", np.arange(g.shape[0]) % 3, argname))
    elif role == "prob_matrix":
        P = np.asarray(arg, dtype=np.float64)
        half = P.copy()
        half[0] *= 0.5
        out += [("nan", "error", _set(P, (0, 0), np.nan), argname),
                ("negative", "error", _set(P, (0, 0), -0.5), argname),
                ("above_one", "error", _set(P, (0, 0), 1.5), argname),
                ("string", "error", _set(P, (0, 0), "x"), argname),
                ("not_square", "error", P[:, :-1], argname),
                ("not_doubly_stochastic", "error", half, argname),
                ("1d", "error", P.ravel(), argname),
                ("empty", "error", np.zeros((0, 0)), argname)]
    elif role == "permutation":
        o = np.asarray(arg)
        out += [("repeated_index", "error", _set(o, 1, o[0], np.int64), argname),
                ("index_n", "error", _set(o, 0, o.shape[0], np.int64), argname),
                ("index_negative", "error", _set(o, 0, -1, np.int64), argname),
                ("index_1e12", "error", _set(o, 0, 10 ** 12, np.int64), argname),
                ("fractional", "error", _set(o, 0, 0.5), argname),
                ("nan", "error", _set(o, 0, np.nan), argname),
                ("string", "error", _set(o, 0, "x"), argname),
                ("bools", "error", np.ones(o.shape, dtype=bool), argname),
                ("2d", "error", o[None, :], argname),
                ("empty", "error", o[:0], argname)]
    elif role == "permutations":
        O = np.asarray(arg)
        out += [("repeated_index", "error", _set(O, (1, 1), O[1, 0], np.int64), argname),
                ("index_n", "error", _set(O, (0, 0), O.shape[1], np.int64), argname),
                ("index_negative", "error", _set(O, (0, 0), -1, np.int64), argname),
                ("fractional", "error", _set(O, (0, 0), 0.5), argname),
                ("nan", "error", _set(O, (0, 0), np.nan), argname),
                ("string", "error", _set(O, (0, 0), "x"), argname),
                ("1d", "error", O[0], argname),
                ("no_rows", "error", O[:0], argname),
                # one sampled ranking: a standard error over it is undefined (a named error
                # or a result in range, never NaN)
                ("one_row", "error_or_range", O[:1], argname)]
    elif role == "count":
        for label, bad in (("zero", 0), ("negative", -1), ("fractional", 1.5), ("nan", np.nan),
                           ("string", "3"), ("bool", True), ("huge", 10 ** 12)):
            out.append((label, "error", bad, argname))
    elif role == "feedback":
        fb = arg
        p, loss = fb.propensity, fb.loss
        out += [("loss_nan", "error", _feedback_like(fb, loss=_set(loss, 1, np.nan)), "loss"),
                ("loss_inf", "error", _feedback_like(fb, loss=_set(loss, 1, np.inf)), "loss"),
                ("propensity_zero", "error", _feedback_like(fb, propensity=_set(p, 1, 0.0)),
                 "propensity"),
                ("propensity_negative", "error",
                 _feedback_like(fb, propensity=_set(p, 1, -0.5)), "propensity"),
                ("propensity_above_one", "error",
                 _feedback_like(fb, propensity=_set(p, 1, 1.5)), "propensity"),
                ("propensity_nan", "error", _feedback_like(fb, propensity=_set(p, 1, np.nan)),
                 "propensity"),
                ("propensity_one_short", "error", _feedback_like(fb, propensity=p[:-1]),
                 "propensity"),
                ("Y_one_short", "error", _feedback_like(fb, Y=fb.Y[:-1]), "Y"),
                ("no_examples", "error", _feedback_like(fb, X=fb.X[:0], Y=fb.Y[:0],
                                                        loss=loss[:0], propensity=p[:0]),
                 ("feedback", "no logged")),
                ("one_example", "error_or_range", fb.subset([0]), "feedback"),
                ("loss_1e308", "error_or_range", _feedback_like(fb, loss=_set(loss, 1, 1e308)),
                 "loss"),
                ("propensity_1e-300", "error_or_range",
                 _feedback_like(fb, propensity=_set(p, 1, 1e-300)), "propensity"),
                ("not_feedback", "error", (fb.X, fb.Y, loss, p), "feedback")]
    elif role == "target":
        T = np.asarray(arg, dtype=np.float64)
        half, few_actions = T.copy(), T[:, :-1] / T[:, :-1].sum(axis=1, keepdims=True)
        half[0] *= 0.5
        out += [("nan", "error", _set(T, (0, 0), np.nan), argname),
                ("negative", "error", _set(T, (0, 0), -0.1), argname),
                ("rows_not_summing_to_1", "error", half, argname),
                ("one_row_short", "error", T[:-1], argname),
                ("one_action_short", "error", few_actions, argname),
                ("1d", "error", T[0], argname),
                ("string", "error", _set(T, (0, 0), "x"), argname)]
    elif role == "loss_model":
        def model(table):
            m = type(arg)(table)
            return m
        table = np.asarray(arg.table, dtype=np.float64)

        class Short:
            def predict(self, X, Y):
                return arg.predict(X, Y)[:-1]

        class Strings:
            def predict(self, X, Y):
                return np.array(["x"] * len(Y), dtype=object)
        out += [("no_predict", "error", object(), argname),
                ("predicts_nan", "error", model(_set(table, (1, 1), np.nan)), argname),
                ("predicts_inf", "error", model(_set(table, (1, 1), np.inf)), argname),
                ("predicts_one_short", "error", Short(), argname),
                ("predicts_strings", "error", Strings(), argname)]
    elif role == "clip":
        for label, bad in (("nan", np.nan), ("zero", 0.0), ("negative", -1.0),
                           ("neginf", -np.inf), ("string", "2"), ("bool", True)):
            out.append((label, "error", bad, argname))
        out.append(("inf_is_no_clip", "same", np.inf, None))
    elif role in ("level", "open_probability"):
        for label, bad in (("zero", 0.0), ("one", 1.0), ("nan", np.nan), ("above_one", 1.5),
                           ("negative", -0.5), ("string", "0.9"), ("bool", True)):
            out.append((label, "error", bad, argname))
    elif role == "alpha":
        for label, bad in (("one", 1.0), ("nan", np.nan), ("above_one", 1.5),
                           ("negative", -0.5), ("string", "0.1"), ("bool", True)):
            out.append((label, "error", bad, argname))
    elif role == "top_k":
        n = len(others[0])
        for label, bad in (("zero", 0), ("negative", -1), ("fractional", 1.5), ("nan", np.nan),
                           ("string", "3"), ("bool", True), ("above_n", n + 1),
                           ("huge", 10 ** 12)):
            out.append((label, "error", bad, argname))
    elif role in ("flags", "flags_k"):
        f = np.asarray(arg)
        out += [("nan", "error", _set(f, 1, np.nan), argname),
                ("two", "error", _set(f, 1, 2.0), argname),
                ("half", "error", _set(f, 1, 0.5), argname),
                ("string", "error", _set(f, 1, "yes"), argname),
                ("none_entry", "error", _set(f, 1, None), argname),
                ("2d", "error", f[None, :], argname),
                ("empty", "error", f[:0], (argname, "scores"))]
        if role == "flags":
            out.append(("one_short", "error", f[:-1], argname))
    elif role == "log_weights":
        w = np.asarray(arg, dtype=np.float64)
        out += [("nan", "error", _set(w, 0, np.nan), argname),
                ("string", "error", _set(w, 0, "x"), argname),
                ("none_entry", "error", _set(w, 0, None), argname),
                ("2d", "error", w[None, :], argname),
                ("one_short", "error", w[:-1], (argname, others_name(others))),
                ("empty", "error", w[:0], (argname, others_name(others))),
                # +inf is a weight above any cap, -inf a weight of 0: both are weights
                ("posinf", "error_or_range", _set(w, 0, np.inf), argname),
                ("neginf", "error_or_range", _set(w, 0, -np.inf), argname),
                ("all_neginf", "error_or_range", np.full_like(w, -np.inf), argname)]
    elif role == "real":
        for label, bad in (("nan", np.nan), ("inf", np.inf), ("string", "0"), ("bool", True)):
            out.append((label, "error", bad, argname))
    elif role in ("constraint", "choice"):
        for label, bad in (("unknown", "fairness"), ("int", 1), ("list", [arg]), ("bool", True)):
            out.append((label, "error", bad, argname))
    elif role == "nonneg_real":
        for label, bad in (("nan", np.nan), ("negative", -0.1), ("inf", np.inf), ("string", "0"),
                           ("bool", True)):
            out.append((label, "error", bad, argname))
    elif role == "mtable":
        m = np.asarray(arg)
        jump = m.copy()
        jump[-1] += 2
        out += [("fractional", "error", _set(m, -1, m[-1] + 0.5), argname),
                ("nan", "error", _set(m, -1, np.nan), argname),
                ("negative", "error", _set(m, 0, -1, np.int64), argname),
                ("string", "error", _set(m, 0, "x"), argname),
                ("jump_of_two", "error", jump, argname),
                ("decreasing", "error", m[::-1].copy() if m[-1] > m[0] else jump, argname),
                ("above_position", "error", np.arange(1, m.shape[0] + 1) + 1, argname),
                ("2d", "error", m[None, :], argname),
                ("empty", "error", m[:0], argname)]
    return out


_NEW_ROLES = ("nonneg_vector", "vector", "groups", "groups2", "groups_any", "prob_matrix",
              "permutation", "permutations", "count", "feedback", "target", "loss_model",
              "clip", "level", "open_probability", "alpha", "top_k", "flags", "flags_k", "mtable",
              "constraint", "nonneg_real", "choice", "log_weights", "real")


def _metric_cases(spec):
    """(case id, kind, call, culprit or reference) for a registered metric."""
    fn = spec.load()
    args, kwargs = spec.example()
    cases = []
    for pos, role in enumerate(spec.roles):
        argname = spec.argnames[pos]
        if role in _NEW_ROLES:
            for label, kind, bad, culprit in _role_cases(role, args[pos], argname, args):
                a = [_copy(v) for v in args]
                a[pos] = bad
                if kind == "same":
                    ref = [_copy(v) for v in args]
                    ref[pos] = None
                    cases.append((f"{argname}_{label}", "reference", a, kwargs, (ref, kwargs)))
                else:
                    cases.append((f"{argname}_{label}", kind, a, kwargs, culprit))
            a = [_copy(v) for v in args]
            a[pos] = None
            default = inspect.signature(fn).parameters[argname].default
            if default is None and role != "loss_model":
                # None means "the default" (leaving it out): a named error when the call
                # needs it (groups with a constraint), else the default's result
                cases.append((f"{argname}_none", "error_or_range", a, kwargs, argname))
            else:
                cases.append((f"{argname}_none", "error", a, kwargs, argname))
            continue
        for label, value in (("nan", np.nan), ("posinf", np.inf), ("neginf", -np.inf),
                             ("negative", -1.0), ("string", "x"), ("huge_index", 10 ** 12)):
            if role not in ("per_query_grades", "per_query_scores", "grades", "scores",
                            "indices", "weights", "topic_matrix"):
                continue
            if label == "negative" and role in ("per_query_scores", "scores"):
                continue   # a negative score is a score
            if label == "huge_index" and role not in ("indices",):
                continue
            if label == "negative" and role == "topic_matrix":
                continue   # a 0/1 matrix: any nonzero covers
            a = [_copy(v) for v in args]
            a[pos] = _poison_arg(a[pos], role, value)
            cases.append((f"{argname}_{label}", "error", a, kwargs, argname))
        if role in ("per_query_grades", "per_query_scores", "tags", "trees"):
            a = [_copy(v) for v in args]
            a[pos] = list(a[pos])[:-1]
            cases.append((f"{argname}_one_list_short", "error", a, kwargs, argname))
            a = [_copy(v) for v in args]
            a[pos] = []
            cases.append((f"{argname}_empty", "error", a, kwargs, argname))
        if role in ("per_query_grades", "per_query_scores"):
            # a dict of the queries: iterating it gives its keys, which must not be scored
            a = [_copy(v) for v in args]
            a[pos] = dict(enumerate(a[pos]))
            cases.append((f"{argname}_dict", "error", a, kwargs, argname))
        if role == "per_query_grades":
            # no relevant document in any query: a value in range (NDCG 0) or a named error
            # (the average rank of relevant documents is undefined), never NaN
            a = [_copy(v) for v in args]
            a[pos] = [np.zeros_like(np.asarray(v, dtype=np.float64)) for v in a[pos]]
            cases.append((f"{argname}_no_relevant", "error_or_range", a, kwargs, argname))
        a = [_copy(v) for v in args]
        a[pos] = None
        default = inspect.signature(fn).parameters[argname].default
        if default is None:   # None means "the default": the same as leaving it out
            cases.append((f"{argname}_none", "reference", a, kwargs, (args[:pos], kwargs)))
        else:
            cases.append((f"{argname}_none", "error", a, kwargs, argname))
        if role == "per_query_scores":
            a = [_copy(v) for v in args]
            a[pos] = [np.asarray(s, dtype=np.float64) * 1e300 for s in a[pos]]
            cases.append((f"{argname}_scaled_1e300", "reference", a, kwargs, (args, kwargs)))
    for key, role in spec.int_kwargs.items():
        bads = (0, -1, 1.5, np.nan, "3", True) + ((10 ** 6,) if key in spec.bounded_ints else ())
        for bad in bads:
            cases.append((f"{key}={bad!r}", "error", args, {**kwargs, key: bad}, key))
    return fn, cases


def _poison_arg(arg, role, value):
    if role.startswith("per_query"):
        out = [np.array(v, dtype=object if isinstance(value, str) else np.float64) for v in arg]
        out[-1][0] = value
        return out
    out = np.array(arg, dtype=object if isinstance(value, str) else np.float64)
    out.flat[0] = value
    return out


def _metric_params(registry=None):
    out = []
    for name, spec in (ALL_METRICS if registry is None else registry).items():
        for cid, kind, *_ in _metric_cases(spec)[1]:
            out.append(pytest.param(name, cid, id=f"{name}-{cid}-{kind}"))
    return out


def _values(out):
    """The numbers of a metric's result (a number, an array, a tuple, a dict, a dataclass)."""
    if hasattr(out, "_asdict"):
        out = out._asdict()
    elif hasattr(out, "__dict__") or hasattr(out, "__dataclass_fields__"):
        out = {k: getattr(out, k) for k in getattr(out, "__dataclass_fields__", vars(out))}
    if isinstance(out, dict):
        out = [v for v in out.values() if isinstance(v, (int, float, np.ndarray))
               and not isinstance(v, bool)]
    if isinstance(out, (list, tuple)):
        return np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in out]) if out \
            else np.zeros(0)
    return np.ravel(np.asarray(out, dtype=float))


def run_metric_case(spec, name, case, fn=None, cases=None):
    """Run one metric case (BatteryFailure when it ends neither as required)."""
    if cases is None:
        fn, cases = _metric_cases(spec)
    _, kind, a, kw, target = next(c for c in cases if c[0] == case)
    what = f"{name}/{case}"
    if kind == "error":
        expect_named_error(lambda: _call(fn, a, kw), target, what)
    elif kind == "error_or_range":
        try:
            out = _call(fn, a, kw)
        except StructpredError:
            expect_named_error(lambda: _call(fn, a, kw), target, what)
            return
        except BaseException as exc:  # noqa: BLE001
            raise BatteryFailure(f"{what}: {type(exc).__name__}: {exc}") from exc
        vals = _values(out)
        lo, hi = spec.value_range
        if not (vals.size and np.all(np.isfinite(vals) | (vals == hi)) and
                np.all((vals >= lo) & (vals <= hi))):
            raise BatteryFailure(f"{what}: accepted, but the result is not in {spec.value_range}"
                                 f": {out!r}")
    else:
        ref_args, ref_kw = target
        expect_reference(lambda: _call(fn, a, kw), lambda: _call(fn, ref_args, ref_kw), what)


@pytest.mark.parametrize("name,case", _metric_params())
def test_metric_battery(name, case):
    run_metric_case(ALL_METRICS[name], name, case)


@pytest.mark.parametrize("name", list(ALL_METRICS))
def test_metric_entry_is_well_formed(name):
    """Every registered role is one the battery poisons (a misspelt role would leave its
    argument untested), one role per argument name, each a parameter of the function."""
    from structpred.metrics import ROLES
    spec = ALL_METRICS[name]
    unknown = [r for r in spec.roles if r not in ROLES]
    assert not unknown, f"{name}: unknown role(s) {unknown}; the battery knows {ROLES}"
    assert len(spec.argnames) == len(spec.roles), name
    params = inspect.signature(spec.load()).parameters
    assert all(a in params for a in spec.argnames), (name, spec.argnames, list(params))


@pytest.mark.parametrize("name", list(ALL_METRICS))
def test_metric_example_in_range(name):
    spec = ALL_METRICS[name]
    args, kwargs = spec.example()
    out = spec.load()(*args, **kwargs)
    lo, hi = spec.value_range
    vals = _values(out)
    assert vals.size and np.all((vals >= lo) & (vals <= hi)), (name, out)


def _matches_reference(got, ref, rtol=1e-9):
    """``got`` equals the reference: fields of a result named by a reference dict (tuple
    positions by number), tuples element-wise, numbers and arrays to ``rtol`` relative
    (absolute ``rtol`` * 1e-3 near zero)."""
    if isinstance(ref, dict):   # the named fields (or tuple positions) of the result
        if isinstance(got, dict) or (isinstance(got, tuple) and not hasattr(got, "_fields")):
            field = lambda k: got[k]  # noqa: E731
        else:
            field = lambda k: getattr(got, k)  # noqa: E731
        return all(_matches_reference(field(k), v, rtol) for k, v in ref.items())
    if isinstance(ref, tuple):
        return isinstance(got, tuple) and len(got) == len(ref) and \
            all(_matches_reference(a, b, rtol) for a, b in zip(got, ref))
    got, ref = np.asarray(got, dtype=float), np.asarray(ref, dtype=float)
    return got.shape == ref.shape and bool(np.allclose(got, ref, rtol=rtol, atol=rtol * 1e-3))


@pytest.mark.parametrize("name", [pytest.param(n, id=f"{n}-reference")
                                  for n, s in ALL_METRICS.items() if s.reference is not None])
def test_metric_equals_its_reference(name):
    """The registered example's result equals the entry's independent reference (brute
    force / closed form written as loops)."""
    spec = ALL_METRICS[name]
    args, kwargs = spec.example()
    got = spec.load()(*args, **kwargs)
    ref = spec.reference(*spec.example())
    assert _matches_reference(got, ref, spec.rtol), f"{name}: {got!r}\nreference: {ref!r}"


def _unregistered(registries, measures):
    """(module.name, registry) of every public function of a module a registry covers
    (its ``COVERS``) that is neither the target of an entry of ``measures`` nor exempted."""
    import importlib
    registered = {m.target for m in measures.values()}
    missing = []
    for spec in registries:
        module, attr = spec.split(":")
        for covered, exempt in importlib.import_module(module).COVERS.items():
            for public in importlib.import_module(covered).__all__:
                if public not in exempt and f"{covered}:{public}" not in registered:
                    missing.append((f"{covered}.{public}", spec))
    return missing


def test_higher_layer_registries_cover_their_modules():
    """Every public function of a module a registry covers is registered (or listed with
    the reason it is not): the next measure added there fails here until registered."""
    missing = _unregistered(REGISTRIES, ALL_METRICS)
    assert not missing, ("public but not registered: add a Metric entry (roles, tiny example, "
                         f"reference) or list it in the registry's COVERS with a reason: {missing}")


# ---------------------------------------------------------------- the mechanism works
def careless_gap(item_exposure, relevance, groups):
    """Demographic-parity gap written without a check (what the battery must catch)."""
    e, g = np.asarray(item_exposure, dtype=float), np.asarray(groups).astype(int)
    means = np.bincount(g, weights=e) / np.bincount(g)
    return float(means.max() - means.min())


def careless_expected_dcg(P, gains, exposure=None):
    """Expected DCG with P read the wrong way round (items and ranks swapped)."""
    v = 1.0 / np.log2(2.0 + np.arange(len(gains))) if exposure is None else np.asarray(exposure)
    return float(np.asarray(gains) @ np.asarray(P).T @ v)


def careless_ips(feedback, target, clip=None, level=0.95):
    """IPS with no check of its target, clip or level."""
    w = np.asarray(target)[np.arange(len(feedback)), np.asarray(feedback.Y)] / feedback.propensity
    return float(np.mean(feedback.loss * (w if clip is None else np.minimum(w, clip))))


def _careless_registry():
    from structpred.apps.fairness import registry as fair
    from structpred.counterfactual import registry as cf
    from structpred.metrics import Metric
    here = __name__
    gap = fair.MEASURES["fairness_gaps"]
    dcg = fair.MEASURES["expected_dcg"]
    ips = cf.ESTIMATORS["ips_clipped"]
    return {
        "careless_gap": Metric(f"{here}:careless_gap", gap.argnames, gap.roles, gap.example,
                               value_range=gap.value_range,
                               reference=lambda a, k: gap.reference(a, k)["demographic_parity"]),
        "careless_expected_dcg": Metric(f"{here}:careless_expected_dcg", dcg.argnames, dcg.roles,
                                        dcg.example, value_range=dcg.value_range,
                                        reference=dcg.reference),
        "careless_ips": Metric(f"{here}:careless_ips", ips.argnames, ips.roles, ips.example,
                               value_range=ips.value_range,
                               reference=lambda a, k: ips.reference(a, k)["value"]),
    }


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_battery_catches_careless_measures_and_estimators():
    """Three measures registered the way a hurried contributor would write them: the hostile
    battery fails each on the inputs it does not check, and the reference comparison fails
    the one whose formula is wrong although every input is valid."""
    caught = {}
    for name, spec in _careless_registry().items():
        fn, cases = _metric_cases(spec)
        for case, *_ in cases:
            try:
                run_metric_case(spec, name, case, fn, cases)
            except BatteryFailure as exc:
                caught.setdefault(name, {})[case] = str(exc)
    gap = caught["careless_gap"]
    for case in ("item_exposure_nan", "item_exposure_negative", "relevance_one_short",
                 "groups_single_group", "groups_nan_label", "groups_none_label"):
        assert case in gap, (case, sorted(gap))
    assert "accepted without error" in gap["item_exposure_negative"]
    est = caught["careless_ips"]
    for case in ("target_nan", "target_rows_not_summing_to_1", "target_one_action_short",
                 "clip_zero", "clip_negative", "level_one", "level_nan", "feedback_none"):
        assert case in est, (case, sorted(est))
    # valid input, wrong answer: only the reference can see it
    dcg = _careless_registry()["careless_expected_dcg"]
    args, kwargs = dcg.example()
    got = dcg.load()(*args, **kwargs)
    assert not _matches_reference(got, dcg.reference(*dcg.example()))
    for name in ("careless_gap", "careless_ips"):
        spec = _careless_registry()[name]
        args, kwargs = spec.example()
        assert _matches_reference(spec.load()(*args, **kwargs), spec.reference(args, kwargs))


def test_coverage_check_catches_an_unregistered_measure(monkeypatch):
    """A new public function in a covered module, not registered: reported by name."""
    import structpred.apps.fairness.exposure as exposure
    monkeypatch.setattr(exposure, "__all__", [*exposure.__all__, "new_measure"])
    missing = _unregistered(REGISTRIES, ALL_METRICS)
    assert missing == [("structpred.apps.fairness.exposure.new_measure",
                        "structpred.apps.fairness.registry:MEASURES")]


# ============================================================================ hypothesis
@pytest.mark.slow
def test_hypothesis_battery_on_tasks_and_metrics():
    """Random hostile values at random positions of every task's example and every ranking
    metric's scores: a named structpred error or a finite result, never anything else."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    hostile = st.sampled_from([np.nan, np.inf, -np.inf, 1e308, -1e308, 1e51, -1.0, 0.0])

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(name=st.sampled_from(TASK_NAMES), value=hostile, where=st.integers(0, 10 ** 6))
    def tasks(name, value, where):
        cls = _builtin_class(name)
        task, X, Y = _example(cls)
        xs, rebuild = _rows_view(X)
        i = where % len(xs)
        if not _is_matrix(xs[i]):
            return
        xs = _copy(xs)
        x = np.array(xs[i], dtype=np.float64)
        x.flat[where % x.size] = value
        xs[i] = x
        try:
            w = StructuredSVM(task, C=1.0, max_iter=20).fit(rebuild(xs), Y).w_
        except StructpredError as exc:
            assert getattr(exc, "index", None) == i or str(i) in str(exc), str(exc)
            return
        assert abs(value) <= 1e50 and np.all(np.isfinite(w)), (value, w)

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(name=st.sampled_from([n for n, s in METRICS.items() if "per_query_scores" in s.roles]),
           value=hostile, q=st.integers(0, 1), k=st.integers(-3, 30))
    def metrics(name, value, q, k):
        spec = METRICS[name]
        args, kwargs = spec.example()
        pos = spec.roles.index("per_query_scores")
        a = [_copy(v) for v in args]
        a[pos] = [np.asarray(s, dtype=np.float64).copy() for s in a[pos]]
        a[pos][q][0] = value
        if "k" in spec.int_kwargs:
            kwargs = {**kwargs, "k": k}
        try:
            out = spec.load()(*a, **kwargs)
        except StructpredError as exc:
            assert re.search(r"\bS\b|\bk\b|scores", str(exc)), str(exc)
            return
        lo, hi = spec.value_range
        assert np.isfinite(value) and np.all((lo <= np.asarray(out)) & (np.asarray(out) <= hi))

    tasks()
    metrics()


@pytest.mark.slow
def test_hypothesis_battery_on_fairness_measures_and_estimators():
    """Random hostile values at random positions of every array argument of the fairness
    measures and off-policy estimators (and of the logged feedback): a structpred error
    naming the argument, or a finite result in the entry's range, never anything else."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from structpred.counterfactual import BanditFeedback

    hostile = st.sampled_from([np.nan, np.inf, -np.inf, 1e308, -1e308, 1e51, -1.0, 0.0, 1e-300,
                               2.0, 0.5])
    higher = {n: s for n, s in ALL_METRICS.items() if n not in METRICS}
    array_roles = ("nonneg_vector", "vector", "prob_matrix", "target", "feedback")
    picks = [(n, pos) for n, s in higher.items() for pos, r in enumerate(s.roles)
             if r in array_roles]

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(pick=st.sampled_from(picks), value=hostile, where=st.integers(0, 10 ** 6),
           field=st.sampled_from(["loss", "propensity"]))
    def run(pick, value, where, field):
        name, pos = pick
        spec = higher[name]
        args, kwargs = spec.example()
        argname, role = spec.argnames[pos], spec.roles[pos]
        if role == "feedback":
            fb = args[pos]
            parts = {"loss": fb.loss.copy(), "propensity": fb.propensity.copy()}
            parts[field][where % len(fb)] = value
            args[pos] = _Deferred(lambda: BanditFeedback(fb.X, fb.Y, **parts))
            culprit = field
        else:
            arr = np.array(args[pos], dtype=np.float64)
            arr.flat[where % arr.size] = value
            args[pos] = arr
            culprit = argname
        try:
            out = _call(spec.load(), args, kwargs)
        except StructpredError as exc:
            assert culprit.lower() in str(exc).lower(), (name, argname, value, str(exc))
            return
        vals = _values(out)
        lo, hi = spec.value_range
        assert np.all(np.isfinite(vals)) and np.all((vals >= lo) & (vals <= hi)), \
            (name, argname, value, out)

    run()
