"""Model files: one ``.npz`` (read with ``allow_pickle=False``) holding a JSON header and arrays.

Header (JSON, array ``__structpred__``): ``format``, ``version``, ``task`` (the task's
registry name), its constructor parameters and JSON-able state, the estimator's parameters
and its fitted scalars, among them the training outcome (``converged_``, ``interrupted_``,
``n_iter_``, ``duality_gap_``, ``primal_objective_`` and ``primal_at_zero_``, the primal
objective of w = 0). Arrays: ``w`` and ``state.<name>`` for array-valued task state.

Loading trusts nothing in the file:

* the task class comes from a registry: structpred's built-in tasks, plus the classes the
  caller passes as ``load(path, tasks=[MyTask])`` or ``tasks={"name": MyTask}``. Nothing is
  ever imported because a file names it;
* constructor parameters must be parameters of that class, state keys may not shadow
  methods or properties, arrays must be plain numeric (no objects: no pickle);
* only the known fitted scalars are restored, each checked for its type; ``w`` must be a
  finite float vector of exactly ``size_joint_feature`` entries;
* only a regular file is opened (``os.stat`` first: a FIFO or device is refused without
  opening it, so it cannot block); every array's ``.npy`` header is read and bounded before
  anything is allocated: its declared shape x item size must equal the member's size in the
  archive, which may be at most what deflate can expand the stored bytes to and at most
  ``MAX_ARRAY_BYTES`` (``w`` then also exactly the task's ``size_joint_feature`` x 8 bytes);
* a file of an earlier weight layout is brought to this version's by the task's
  ``migrate_state(state, w)`` hook (before ``set_state``; default identity; ``w`` keeps its
  length): e.g. a sequence model saved with label-major emission weights loads unchanged in
  its predictions, without retraining;
* the task state is checked by a round trip: after ``set_state(state)`` the task's own
  ``get_state()`` must return exactly the file's keys with equal values, so an unknown key
  (one the task does not save) or a value of another type (a string or a fraction where the
  task stores an integer) is refused;
* every fault raises :class:`structpred.errors.ModelFileError` (a ValueError) naming the file.

Saving writes atomically (a temporary file in the target folder, flushed, fsynced, renamed
into place): a failed save (full disk, file-size limit) leaves the previous file untouched.

A model whose training was interrupted, or whose primal objective is no better than that of
w = 0, loads with a :class:`~structpred.errors.ModelQualityWarning` saying so.

Versions: 2 (structpred 0.1.0 on) records the task by registry name and the training
outcome; version-1 files (``model_class`` = ``module:Class``) still load, their class path
being looked up in the same registry (never imported).
"""
from __future__ import annotations

import inspect
import io
import json
import math
import os
import stat
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .boundary.paths import write_bytes_atomic
from .errors import ModelFileError, ModelQualityWarning
from .model import StructuredModel
from .tasks.registry import BUILTIN_TASKS, builtin_task

FORMAT = "structpred-model"
VERSION = 2

#: Largest array (header or task state) a model file may hold, in bytes once inflated.
MAX_ARRAY_BYTES = 1 << 28
#: deflate expands at most ~1032:1; a member declaring more than this is lying.
_DEFLATE_RATIO = 1100

__all__ = ["save", "load", "read_header", "describe_training", "BUILTIN_TASKS", "ESTIMATORS",
           "FORMAT", "VERSION"]

#: Registry name -> (module, class name) of structpred's estimators that write model files.
#: The header's ``estimator`` field (absent in older files: StructuredSVM) names one; the
#: generic loader (``structpred.load``) builds that class, imported on first use.
ESTIMATORS = {
    "StructuredSVM": ("structpred.svm", "StructuredSVM"),
    "GibbsPolicy": ("structpred.policy", "GibbsPolicy"),
    "CRM": ("structpred.counterfactual.learners", "CRM"),
}

# fitted attribute -> accepted Python types (after JSON decoding); None is always accepted
_FLOAT, _INT, _BOOL = (int, float), (int,), (bool,)
_FITTED = {"primal_objective_": _FLOAT, "dual_objective_": _FLOAT, "duality_gap_": _FLOAT,
           "primal_at_zero_": _FLOAT, "n_iter_": _INT, "n_oracle_calls_": _INT,
           "n_constraints_": _INT, "converged_": _BOOL, "interrupted_": _BOOL}
_NOT_SAVED = ("model", "callback", "client")


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def _task_name(model) -> str:
    cls = type(model)
    for name, (module, attr) in BUILTIN_TASKS.items():
        if cls.__module__ == module and cls.__qualname__ == attr:
            return name
    return f"{cls.__module__}:{cls.__qualname__}"


def _registered_estimator(name):
    from importlib import import_module
    module, attr = ESTIMATORS[name]
    return getattr(import_module(module), attr)


def _estimator_name(estimator) -> str:
    cls = type(estimator)
    for name, (module, attr) in ESTIMATORS.items():
        if cls.__module__ == module and cls.__qualname__ == attr:
            return name
    return cls.__qualname__


def _resolve_estimator(path, header, estimator_class):
    """The estimator class to build: the caller's, unless the file names another registered
    estimator; the generic loader (StructuredSVM's) then builds that one, others refuse."""
    name = header.get("estimator", "StructuredSVM")
    if not isinstance(name, str) or name not in ESTIMATORS:
        return estimator_class
    wanted = _registered_estimator(name)
    if issubclass(estimator_class, wanted):
        return estimator_class
    if estimator_class is _registered_estimator("StructuredSVM"):
        return wanted
    raise ModelFileError(f"{path} holds a {name}, not a {estimator_class.__name__}; load it "
                         f"with {name}.load or structpred.load", path)


def save(estimator, path) -> None:
    """Save a fitted StructuredSVM to ``path`` (format above)."""
    from .version import __version__
    estimator._check_fitted()
    model = estimator.model
    state_json, arrays = {}, {"w": np.asarray(estimator.w_, dtype=np.float64)}
    for key, value in model.get_state().items():
        if isinstance(value, np.ndarray):
            arrays[f"state.{key}"] = value
        else:
            state_json[key] = _jsonable(value)
    params = {k: v for k, v in estimator.get_params(deep=False).items() if k not in _NOT_SAVED}
    header = {
        "format": FORMAT,
        "version": VERSION,
        "structpred_version": __version__,
        "task": _task_name(model),
        "estimator": _estimator_name(estimator),
        "model_params": _jsonable(model.get_params()),
        "model_state": state_json,
        "estimator_params": _jsonable(params),
        "fitted": {k: _jsonable(getattr(estimator, k, None)) for k in _FITTED},
    }
    try:
        text = json.dumps(header, allow_nan=True)
    except TypeError as exc:
        raise TypeError(f"cannot save {type(model).__name__}: its parameters or state are not "
                        f"JSON-able ({exc}); return arrays or plain values from get_params/get_state") from None
    arrays["__structpred__"] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    write_bytes_atomic(path, buffer.getvalue())


# ------------------------------------------------------------------------------- loading
def _resolve_task(path, header, tasks):
    """The task class named by the header, from the registry or the caller's ``tasks``."""
    version = header["version"]
    key = "task" if version >= 2 else "model_class"
    name = header.get(key)
    if not isinstance(name, str) or not name:
        raise ModelFileError(f"{path}: header field {key!r} is missing or not a string", path)
    user = {}
    if tasks is not None:
        items = tasks.items() if isinstance(tasks, dict) else ((None, c) for c in tasks)
        for alias, cls in items:
            if not (isinstance(cls, type) and issubclass(cls, StructuredModel)):
                raise TypeError(f"tasks: {cls!r} is not a StructuredModel subclass")
            for n in (alias, cls.__name__, cls.__qualname__, f"{cls.__module__}:{cls.__qualname__}"):
                if n is not None:
                    user[n] = cls
    if name in user:
        return user[name]
    if name in BUILTIN_TASKS:
        return builtin_task(name)
    for builtin, (module, attr) in BUILTIN_TASKS.items():  # version-1 class paths
        if name == f"{module}:{attr}":
            return builtin_task(builtin)
    raise ModelFileError(
        f"{path}: unknown task {name!r}. Only structpred's built-in tasks "
        f"({', '.join(BUILTIN_TASKS)}) load by default; for your own task class pass it: "
        f"structpred.load(path, tasks=[MyTask]) (nothing named in a model file is imported)", path)


def _check_header(path, header):
    if not isinstance(header, dict):
        raise ModelFileError(f"{path}: the header is not a JSON object", path)
    if header.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a structpred model file (format "
                             f"{header.get('format')!r})", path)
    version = header.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"{path}: header field 'version' is {version!r}, not a positive "
                             "integer", path)
    if version > VERSION:
        raise ModelFileError(f"{path}: model file version {version} is newer than this "
                             f"structpred reads ({VERSION}); upgrade structpred", path)
    for key in ("model_params", "model_state", "estimator_params", "fitted"):
        if not isinstance(header.get(key, {}), dict):
            raise ModelFileError(f"{path}: header field {key!r} is not a JSON object", path)


def _kwargs(path, what, cls_name, params, signature_of, skip=()):
    """Check that ``params`` only names parameters of ``signature_of``'s __init__."""
    sig = inspect.signature(signature_of.__init__).parameters
    if any(p.kind is p.VAR_KEYWORD for p in sig.values()):
        allowed = None
    else:
        allowed = {n for n, p in sig.items() if n != "self" and p.kind is not p.VAR_POSITIONAL}
    for key in params:
        if key in skip or (allowed is not None and key not in allowed):
            raise ModelFileError(f"{path}: {what} {key!r} is not a parameter of {cls_name}", path)
    return params


_ESTIMATOR_TYPES = {"C": _FLOAT, "eps": _FLOAT, "max_iter": _INT, "cache_size": _INT,
                    "n_jobs": _INT, "inactive_window": _INT, "verbose": _INT,
                    "algorithm": (str,), "rescaling": (str,), "qp": (str,), "backend": (str,),
                    "keep_solver_state": _BOOL, "solver_options": (dict,)}


def _check_estimator_types(path, params):
    for key, value in params.items():
        types = _ESTIMATOR_TYPES.get(key)
        if types is None or value is None and key == "solver_options":
            continue
        if not isinstance(value, types) or (types is not _BOOL and isinstance(value, bool)):
            raise ModelFileError(f"{path}: estimator parameter {key!r} = {value!r} has the wrong "
                                 "type", path)


def _check_state_keys(path, cls, state):
    for key in state:
        if not key.isidentifier() or key.startswith("__"):
            raise ModelFileError(f"{path}: task state key {key!r} is not a plain attribute name", path)
        attr = inspect.getattr_static(cls, key, None)
        if callable(attr) or isinstance(attr, (property, staticmethod, classmethod)) \
                or hasattr(attr, "__get__") and hasattr(attr, "__set__"):
            raise ModelFileError(f"{path}: task state key {key!r} would replace "
                                 f"{cls.__name__}.{key}", path)


def _npy_header(path, archive, name):
    """(shape, dtype, size in bytes) of member ``name`` from its .npy header alone, checked
    against the member's size in the zip before any array is allocated."""
    try:
        info = archive.zip.getinfo(f"{name}.npy")
        with archive.zip.open(info) as fh:
            version = np.lib.format.read_magic(fh)
            read = {(1, 0): np.lib.format.read_array_header_1_0,
                    (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if read is None:
                raise ValueError(f"unsupported .npy version {version}")
            shape, _fortran, dtype = read(fh, max_header_size=10000)
            offset = fh.tell()
    except (ValueError, OSError, EOFError, zlib.error, zipfile.BadZipFile, KeyError,
            SyntaxError, TypeError) as exc:
        raise ModelFileError(f"{path}: array {name!r} has a damaged header ({exc})", path) from None
    if dtype.kind not in "biufU" or dtype.hasobject:
        raise ModelFileError(f"{path}: array {name!r} has dtype {dtype}, not a plain numeric "
                             "one", path)
    n = 1
    for k in shape:
        n *= int(k)
    nbytes = n * dtype.itemsize
    if offset + nbytes != info.file_size:
        raise ModelFileError(f"{path}: array {name!r} declares shape {tuple(shape)} of {dtype} "
                             f"({nbytes} bytes) but its member holds {info.file_size - offset} "
                             "bytes", path)
    limit = info.compress_size if info.compress_type == zipfile.ZIP_STORED \
        else _DEFLATE_RATIO * info.compress_size + 65536
    if info.file_size > limit:
        raise ModelFileError(f"{path}: array {name!r} declares {info.file_size} bytes, more "
                             f"than its {info.compress_size} stored bytes can hold", path)
    return tuple(shape), dtype, nbytes


def _same_value(a, b) -> bool:
    """Equality of a state value read from a file (JSON / array) and the task's own."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        try:
            a, b = np.asarray(a), np.asarray(b)
        except (ValueError, TypeError):
            return False
        if a.dtype.kind in "OSV" or b.dtype.kind in "OSV":
            return False
        return a.shape == b.shape and (a.dtype.kind == "U") == (b.dtype.kind == "U") \
            and bool(np.array_equal(a, b))
    a, b = _jsonable(a), _jsonable(b)
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b or (a != a and b != b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_value(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _check_state_round_trip(path, cls, state, restored):
    """The task state in a file must be what the task itself saves: after ``set_state``,
    ``get_state()`` returns the same keys with equal values. An unknown key or a value of
    another type (coerced by set_state) is refused, naming the key."""
    unknown = sorted(set(state) - set(restored))
    if unknown:
        raise ModelFileError(f"{path}: unknown task state key {unknown[0]!r} for "
                             f"{cls.__name__} (it saves: {', '.join(sorted(restored)) or 'none'})",
                             path)
    for key in state:
        if not _same_value(state[key], restored[key]):
            raise ModelFileError(f"{path}: task state {key!r} = {_short(state[key])} is not a "
                                 f"value {cls.__name__} stores (it reads back as "
                                 f"{_short(restored[key])})", path)


def _migrated(path, model, state, w):
    """The task's ``migrate_state(state, w)`` (a file of an earlier layout brought to this
    version's), checked: a dict state and a finite float vector w of unchanged length."""
    n = w.shape[0]
    state, w = model.migrate_state(state, w)
    if not isinstance(state, dict) or not isinstance(w, np.ndarray) or w.shape != (n,) \
            or w.dtype != np.float64 or not np.all(np.isfinite(w)):
        raise ModelFileError(f"{path}: {type(model).__name__}.migrate_state did not return a "
                             f"state dict and a finite float vector of {n} weights", path)
    return state, w


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _array(path, archive, name, max_bytes=MAX_ARRAY_BYTES, needs=None):
    _shape, _dtype, nbytes = _npy_header(path, archive, name)
    if nbytes > max_bytes:
        need = needs or f"the {max_bytes} bytes allowed"
        raise ModelFileError(f"{path}: {name!r} holds {nbytes} bytes, more than {need}", path)
    try:
        arr = archive[name]
    except (ValueError, OSError, EOFError, zlib.error, zipfile.BadZipFile, KeyError) as exc:
        raise ModelFileError(f"{path}: array {name!r} is damaged or truncated ({exc})", path) from None
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biufU":
        raise ModelFileError(f"{path}: array {name!r} has dtype {getattr(arr, 'dtype', '?')}, "
                             "not a plain numeric one", path)
    return arr


def _fitted(path, fitted):
    out = {}
    for key, value in fitted.items():
        if key not in _FITTED:
            raise ModelFileError(f"{path}: unknown fitted attribute {key!r} in the header "
                                 f"(known: {', '.join(_FITTED)})", path)
        types = _FITTED[key]
        ok = value is None or (isinstance(value, types)
                               and (types is _BOOL or not isinstance(value, bool)))
        if ok and types is _INT and value is not None and value < 0:
            ok = False
        if not ok:
            raise ModelFileError(f"{path}: fitted attribute {key!r} = {value!r} is not "
                                 f"{'a bool' if types is _BOOL else 'a number'}", path)
        out[key] = float(value) if types is _FLOAT and value is not None else value
    return out


def _open_regular(path):
    """A binary file object on ``path`` when it is a regular file. ``os.stat`` first (a FIFO
    is never opened), then a non-blocking open whose ``fstat`` is checked again (the file may
    have been swapped in between). Missing / folder / permission: the usual OSError."""
    st = os.stat(path)
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(21, "Is a directory", os.fspath(path))
    if not stat.S_ISREG(st.st_mode):
        raise ModelFileError(f"{path}: not a regular file (a FIFO, socket or device); a model "
                             "file must be a regular file", path)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ModelFileError(f"{path}: not a regular file", path)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _open(path):
    fh = _open_regular(path)
    magic = fh.read(4)
    fh.seek(0)
    if magic != b"PK\x03\x04":
        fh.close()
        what = ("a bare .npy array, not an .npz archive" if magic == b"\x93NUM"
                else f"not an .npz archive: it starts with {magic!r}")
        raise ModelFileError(f"{path} is not a structpred model file ({what})", path)
    try:
        archive = np.load(fh, allow_pickle=False)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, zlib.error) as exc:
        fh.close()
        raise ModelFileError(f"{path} is not a structpred model file ({exc})", path) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        fh.close()
        raise ModelFileError(f"{path} is not a structpred model file (a bare .npy array, "
                             "not an .npz archive)", path)
    archive._structpred_fh = fh
    return archive


@__import__("contextlib").contextmanager
def _opened(path):
    archive = _open(path)
    try:
        yield archive
    finally:
        archive.close()
        archive._structpred_fh.close()


def _header(path, archive) -> dict:
    if "__structpred__" not in archive.files:
        raise ModelFileError(f"{path} is not a structpred model file (no header)", path)
    raw = _array(path, archive, "__structpred__")
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise ModelFileError(f"{path}: the header is not a byte string", path)
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ModelFileError(f"{path}: the header is not valid JSON ({exc})", path) from None
    _check_header(path, header)
    return header


def read_header(path) -> dict:
    """The checked JSON header of a model file, without building the model (the CLI reads
    ``header["task"]`` to pick its handler; version-1 files carry ``model_class`` instead).
    Raises ModelFileError / OSError as ``load`` does."""
    path = Path(path)
    with _opened(path) as archive:
        return _header(path, archive)


def load(path, tasks=None, estimator_class=None):
    """Load a StructuredSVM saved with ``save``.

    Parameters
    ----------
    path : str or path-like
    tasks : list of StructuredModel subclasses, or dict name -> class, optional
        Task classes outside structpred that the file may name (matched by class name,
        ``module:qualname`` or the dict key). structpred's built-in tasks are always known.
    estimator_class : StructuredSVM or a subclass (required here; ``structpred.load``
        and ``StructuredSVM.load`` pass it, so that this module never imports the estimator)

    Raises
    ------
    ModelFileError (a ValueError) naming the file: not an .npz model, damaged or truncated,
    newer version, unknown task, bad header field, weights not finite or of the wrong length.
    OSError when the file cannot be opened.
    """
    if estimator_class is None:
        raise TypeError("persistence.load needs estimator_class (the estimator to build); "
                        "use structpred.load(path) or StructuredSVM.load(path)")
    path = Path(path)
    with _opened(path) as archive:
        header = _header(path, archive)
        cls = _resolve_task(path, header, tasks)
        estimator_class = _resolve_estimator(path, header, estimator_class)
        params = _kwargs(path, "task parameter", cls.__name__, header.get("model_params", {}), cls)
        est_params = _kwargs(path, "estimator parameter", estimator_class.__name__,
                             header.get("estimator_params", {}), estimator_class, skip=_NOT_SAVED)
        _check_estimator_types(path, est_params)
        state = dict(header.get("model_state", {}))
        for name in archive.files:
            if name.startswith("state."):
                state[name[len("state."):]] = _array(path, archive, name)
            elif name not in ("w", "__structpred__"):
                raise ModelFileError(f"{path}: unexpected array {name!r} in the archive", path)
        _check_state_keys(path, cls, state)
        fitted = _fitted(path, header.get("fitted", {}))
        if "w" not in archive.files:
            raise ModelFileError(f"{path}: no weight vector 'w'", path)
        # read before the task is rebuilt (migrate_state needs it), bounded like any array;
        # its length is checked against the task's size_joint_feature below
        w = _array(path, archive, "w")
    if w.ndim != 1 or w.dtype.kind not in "iuf":
        raise ModelFileError(f"{path}: w must be a 1-D float vector, got shape {w.shape}, "
                             f"dtype {w.dtype}", path)
    w = w.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(w))
    if bad.size:
        raise ModelFileError(f"{path}: w has {bad.size} non-finite weights (first at index "
                             f"{int(bad[0])}: {w[bad[0]]})", path)
    try:
        model = cls(**params)
        if state:
            state, w = _migrated(path, model, state, w)
            model.set_state(state)
            _check_state_round_trip(path, cls, state, model.get_state())
        estimator = estimator_class(model, **est_params)
        estimator._check_params()
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError,
            RecursionError) as exc:
        if isinstance(exc, ModelFileError):
            raise
        raise ModelFileError(f"{path}: the task or estimator cannot be rebuilt from the "
                             f"header ({type(exc).__name__}: {exc})", path) from None
    d = model.size_joint_feature
    if not isinstance(d, (int, np.integer)) or d < 1:
        raise ModelFileError(f"{path}: the {cls.__name__} rebuilt from the header has no "
                             "size_joint_feature", path)
    if w.nbytes > 8 * int(d):
        raise ModelFileError(f"{path}: 'w' holds {w.nbytes} bytes, more than the {d} weights "
                             "the task needs", path)
    if w.shape[0] != d:
        raise ModelFileError(f"{path}: w has length {w.shape[0]} but the task expects {d}", path)
    estimator.w_ = w
    for key, value in fitted.items():
        setattr(estimator, key, value)
    _warn_quality(path, estimator)
    return estimator


# ------------------------------------------------------------------------------- outcome
def no_better_than_zero(estimator) -> bool:
    """True when w_ is all zeros or its primal objective is not below that of w = 0."""
    w = getattr(estimator, "w_", None)
    if w is not None and not np.any(w):
        return True
    p, p0 = getattr(estimator, "primal_objective_", None), getattr(estimator, "primal_at_zero_", None)
    if p is None or p0 is None or not (math.isfinite(p) and math.isfinite(p0)):
        return False
    return p >= p0 * (1 - 1e-12)


def describe_training(estimator) -> str:
    """One line on how training ended: converged / interrupted / stopped, iterations, gap,
    and a plain warning when the model is no better than w = 0."""
    conv, intr = getattr(estimator, "converged_", None), getattr(estimator, "interrupted_", None)
    state = ("converged" if conv else "interrupted (Ctrl-C)" if intr
             else "stopped before converging" if conv is False else "training outcome not recorded")
    parts = [state]
    if getattr(estimator, "n_iter_", None) is not None:
        parts.append(f"after {estimator.n_iter_} iterations")
    gap = getattr(estimator, "duality_gap_", None)
    if gap is not None and math.isfinite(gap):
        parts.append(f"duality gap {gap:.4g}")
    text = ", ".join(parts)
    if no_better_than_zero(estimator):
        text += ("; its primal objective is no better than that of w = 0: this model is no "
                 "better than an untrained one")
    return text


def _warn_quality(path, estimator):
    if getattr(estimator, "interrupted_", False) or no_better_than_zero(estimator):
        warnings.warn(f"{path}: {describe_training(estimator)}", ModelQualityWarning, stacklevel=3)
