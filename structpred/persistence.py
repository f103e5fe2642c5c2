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
  opening it, so it cannot block). The zip directory is checked before any member is
  inflated: at most ``MAX_MEMBERS`` members, each stored or deflated (no bzip2 / lzma /
  encryption), named ``__structpred__.npy``, ``w.npy`` or ``state.<key>.npy`` (no name
  twice), their declared sizes summing to at most ``MAX_MODEL_BYTES``. A ``state.<key>``
  array must be one the task stores as an array (``STATE_ARRAYS`` for the built-in tasks, a
  task class's own ``state_arrays`` attribute for yours; a task of yours without it may
  store any key), checked once the header is read and before any array is inflated;
* the header (``__structpred__``) is at most ``MAX_HEADER_BYTES``; any failure to decode or
  check it (not UTF-8, not JSON, an integer of more digits than Python converts, nesting
  too deep) is a ModelFileError naming the file;
* every array's ``.npy`` header is read and bounded before anything is allocated: its
  declared shape x item size must equal the member's size in the archive, which may be at
  most what deflate can expand the stored bytes to and at most ``MAX_ARRAY_BYTES`` (``w``
  then also exactly the task's ``size_joint_feature`` x 8 bytes); inflating counts the
  bytes actually produced against what is left of ``MAX_MODEL_BYTES`` and stops as soon as
  the total is exceeded, whatever the directory declared;
* the task is rebuilt from ``model_params`` by its constructor, then its own parameter
  check runs (``_validate_params()``, when the task has one: the checks ``fit`` would run,
  with the bounds the command line uses), before any array is read; a refused parameter,
  state value or estimator parameter is a ModelFileError naming the file and the header
  field (``model_params.max_length = 1000000000``) followed by the task's own message;
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
import re
import stat
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .boundary.paths import write_bytes_atomic
from .errors import ModelFileError, ModelQualityWarning, StructpredError
from .model import StructuredModel
from .tasks.registry import BUILTIN_TASKS, builtin_task

FORMAT = "structpred-model"
VERSION = 2

#: Largest array (w or task state) a model file may hold, in bytes once inflated.
MAX_ARRAY_BYTES = 1 << 28
#: Largest JSON header (``__structpred__``), in bytes (a parser's grammar trees of a whole
#: treebank fit in a few tens of MB).
MAX_HEADER_BYTES = 1 << 26
#: Largest total of all members of a model file once inflated (header, w and state arrays),
#: from the zip directory's declared sizes and again from the bytes actually inflated: many
#: members each just under MAX_ARRAY_BYTES must not add up to gigabytes.
MAX_MODEL_BYTES = 1 << 29
#: Most members a model file may have (it holds a header, w and a few state arrays).
MAX_MEMBERS = 256
#: deflate expands at most ~1032:1; a member declaring more than this is lying.
_DEFLATE_RATIO = 1100
#: Bytes inflated per read while an array is filled.
_CHUNK = 1 << 20

#: The task state keys each built-in task saves as arrays (``state.<key>`` members); any other
#: ``state.*`` member is refused before anything is inflated. A task class of your own may
#: declare the same as a ``state_arrays`` attribute (a tuple of key names).
STATE_ARRAYS = {
    "SequenceLabeling": (),
    "Multiclass": (),
    "ConstituencyParsing": ("span_pairs", "split_pairs"),
    "DiverseSubset": (),
    "Ranking": (),
    "PropensityRanking": (),
    "MultiLabel": ("edges_",),
}

__all__ = ["save", "load", "read_header", "describe_training", "BUILTIN_TASKS", "ESTIMATORS",
           "FORMAT", "VERSION", "MAX_ARRAY_BYTES", "MAX_HEADER_BYTES", "MAX_MODEL_BYTES",
           "MAX_MEMBERS", "STATE_ARRAYS"]

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


class _Budget:
    """What is left of ``MAX_MODEL_BYTES`` for the members of one archive still to inflate:
    every byte actually inflated is taken from it, whatever the zip directory declared."""

    def __init__(self, path, total: int | None = None):
        total = MAX_MODEL_BYTES if total is None else int(total)
        self.path, self.total, self.left = path, total, total

    def take(self, n: int, name: str) -> None:
        self.left -= int(n)
        if self.left < 0:
            raise ModelFileError(f"{self.path}: its members inflate to more than the "
                                 f"{self.total} bytes a model file may hold (MAX_MODEL_BYTES; "
                                 f"exceeded while inflating {name!r})", self.path)


def _central_directory(path, fh):
    """Refuse, from the end-of-central-directory record alone, an archive whose directory
    holds more than MAX_MEMBERS entries or more bytes than they need: ``zipfile`` parses the
    whole directory into objects before any member can be checked."""
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    tail_len = min(size, 65535 + 22)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    fh.seek(0)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        return                      # not found: zipfile reports the archive as damaged
    count = int.from_bytes(tail[at + 10:at + 12], "little")
    cd_size = int.from_bytes(tail[at + 12:at + 16], "little")
    loc = at - 20
    if loc >= 0 and tail[loc:loc + 4] == b"PK\x06\x07":      # zip64: the real counts
        offset = int.from_bytes(tail[loc + 8:loc + 16], "little")
        if 0 <= offset <= size - 56:
            fh.seek(offset)
            rec = fh.read(56)
            fh.seek(0)
            if rec[:4] == b"PK\x06\x06":
                count = max(count, int.from_bytes(rec[32:40], "little"))
                cd_size = max(cd_size, int.from_bytes(rec[40:48], "little"))
    if count > MAX_MEMBERS or cd_size > MAX_MEMBERS * 1024:
        raise ModelFileError(f"{path}: its zip directory lists {count} members in {cd_size} "
                             f"bytes; a model file has at most {MAX_MEMBERS} members "
                             "(MAX_MEMBERS)", path)


def _directory(path, archive) -> _Budget:
    """Check the zip directory before any member is inflated: at most MAX_MEMBERS members,
    each stored or deflated and unencrypted, named ``__structpred__.npy``, ``w.npy`` or
    ``state.<key>.npy`` (no name twice), declared sizes summing to at most MAX_MODEL_BYTES.
    Returns the byte budget that inflating then draws on."""
    infos = archive.zip.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ModelFileError(f"{path}: {len(infos)} members; a model file has at most "
                             f"{MAX_MEMBERS} (MAX_MEMBERS)", path)
    seen, total = set(), 0
    for info in infos:
        name = info.filename
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ModelFileError(f"{path}: member {name!r} uses compression method "
                                 f"{info.compress_type}; model files hold stored or deflated "
                                 "members only", path)
        if info.flag_bits & 0x1:
            raise ModelFileError(f"{path}: member {name!r} is encrypted", path)
        if not name.endswith(".npy"):
            raise ModelFileError(f"{path}: unexpected member {name!r} in the archive (not a "
                                 ".npy array)", path)
        stem = name[:-len(".npy")]
        if stem in seen:
            raise ModelFileError(f"{path}: array {stem!r} appears twice in the archive", path)
        seen.add(stem)
        if stem not in ("__structpred__", "w") and not stem.startswith("state."):
            raise ModelFileError(f"{path}: unexpected array {stem!r} in the archive", path)
        total += info.file_size
    if total > MAX_MODEL_BYTES:
        raise ModelFileError(f"{path}: its members declare {total} bytes in all once inflated, "
                             f"more than the {MAX_MODEL_BYTES} bytes a model file may hold "
                             "(MAX_MODEL_BYTES)", path)
    return _Budget(path)


def _state_arrays(cls):
    """The state keys ``cls`` stores as arrays (``state_arrays`` of the class, else
    STATE_ARRAYS for a built-in task), or None when unknown (a task of yours that does not
    declare them: any key, within MAX_MODEL_BYTES)."""
    declared = getattr(cls, "state_arrays", None)
    if declared is not None:
        return tuple(declared)
    for name, (module, attr) in BUILTIN_TASKS.items():
        if cls.__module__ == module and cls.__qualname__ == attr:
            return STATE_ARRAYS.get(name)
    return None


def _check_array_keys(path, cls, keys, json_state):
    """``state.<key>`` members must be arrays the task stores (checked before any is
    inflated) and not repeat a key of the header's ``model_state``."""
    allowed = _state_arrays(cls)
    for key in keys:
        if key in json_state:
            raise ModelFileError(f"{path}: task state key {key!r} is both in the header and "
                                 f"an array 'state.{key}'", path)
        if allowed is not None and key not in allowed:
            stores = (f"its state arrays are {', '.join(map(repr, allowed))}" if allowed
                      else "it stores no state array")
            raise ModelFileError(f"{path}: unexpected array 'state.{key}' for {cls.__name__} "
                                 f"({stores})", path)


def _checked_npy_header(path, name, info, fh, max_bytes, needs):
    """(shape, fortran order, dtype, data bytes, header bytes) of the member open as ``fh``,
    from its .npy header alone, checked before anything is allocated: a plain numeric dtype, a declared size equal
    to the member's size in the zip, within what its stored bytes can inflate to and within
    ``max_bytes``."""
    try:
        version = np.lib.format.read_magic(fh)
        read = {(1, 0): np.lib.format.read_array_header_1_0,
                (2, 0): np.lib.format.read_array_header_2_0}.get(version)
        if read is None:
            raise ValueError(f"unsupported .npy version {version}")
        shape, fortran, dtype = read(fh, max_header_size=10000)
        offset = fh.tell()
    except (ValueError, OSError, EOFError, zlib.error, zipfile.BadZipFile, KeyError,
            SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise ModelFileError(f"{path}: array {name!r} has a damaged header ({exc})", path) from None
    if dtype.kind not in "biufU" or dtype.hasobject or dtype.itemsize == 0:
        raise ModelFileError(f"{path}: array {name!r} has dtype {dtype}, not a plain numeric "
                             "one", path)
    if any(int(k) < 0 for k in shape):
        raise ModelFileError(f"{path}: array {name!r} declares the shape {tuple(shape)}", path)
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
    if nbytes > max_bytes:
        need = needs or f"the {max_bytes} bytes allowed"
        raise ModelFileError(f"{path}: {name!r} holds {nbytes} bytes, more than {need}", path)
    return tuple(shape), fortran, dtype, nbytes, offset


def _read_member(path, archive, name, budget, max_bytes=MAX_ARRAY_BYTES, needs=None):
    """The array ``name`` of the archive: its .npy header checked first (nothing allocated
    before), then inflated in chunks of at most _CHUNK bytes, each counted against
    ``budget`` (the archive's MAX_MODEL_BYTES), so that inflating stops as soon as the
    total is exceeded even when the zip directory understated the sizes."""
    try:
        info = archive.zip.getinfo(f"{name}.npy")
    except KeyError:
        raise ModelFileError(f"{path}: no array {name!r}", path) from None
    try:
        with archive.zip.open(info) as fh:
            shape, fortran, dtype, nbytes, offset = _checked_npy_header(path, name, info, fh,
                                                                       max_bytes, needs)
            budget.take(offset, name)
            if nbytes > budget.left:
                budget.take(nbytes, name)       # raises: the total would be exceeded
            arr = np.empty(nbytes // dtype.itemsize, dtype=dtype)
            raw = arr.view(np.uint8).reshape(-1)
            pos = 0
            while pos < nbytes:
                chunk = fh.read(min(_CHUNK, nbytes - pos))
                if not chunk:
                    raise EOFError(f"{nbytes - pos} of its {nbytes} bytes are missing")
                budget.take(len(chunk), name)
                raw[pos:pos + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
                pos += len(chunk)
            if fh.read(1):
                raise ValueError("more bytes than its header declares")
    except ModelFileError:
        raise
    except (ValueError, OSError, EOFError, zlib.error, zipfile.BadZipFile, KeyError,
            MemoryError) as exc:
        raise ModelFileError(f"{path}: array {name!r} is damaged or truncated ({exc})", path) from None
    return arr.reshape(shape[::-1]).T if fortran else arr.reshape(shape)


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
        _central_directory(path, fh)
        archive = np.load(fh, allow_pickle=False)
    except ModelFileError:
        fh.close()
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, zlib.error, MemoryError) as exc:
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


def _header(path, archive, budget=None) -> dict:
    """The header, decoded and checked: at most MAX_HEADER_BYTES of UTF-8 JSON; any failure
    to read, decode or check it is a ModelFileError naming the file."""
    if "__structpred__" not in archive.files:
        raise ModelFileError(f"{path} is not a structpred model file (no header)", path)
    budget = _directory(path, archive) if budget is None else budget
    raw = _read_member(path, archive, "__structpred__", budget, MAX_HEADER_BYTES,
                       f"the {MAX_HEADER_BYTES} bytes a header may hold (MAX_HEADER_BYTES)")
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise ModelFileError(f"{path}: the header is not a byte string", path)
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (ValueError, RecursionError, MemoryError) as exc:
        # ValueError: not UTF-8, not JSON, or an integer of more digits than Python converts
        raise ModelFileError(f"{path}: the header is not valid JSON ({_short_text(exc)})",
                             path) from None
    try:
        _check_header(path, header)
    except ModelFileError:
        raise
    except Exception as exc:  # noqa: BLE001 -- whatever the header holds, the file is refused
        raise ModelFileError(f"{path}: the header cannot be checked ({type(exc).__name__}: "
                             f"{_short_text(exc)})", path) from None
    return header


def _short_text(exc, limit: int = 300) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _field(message: str, values) -> str | None:
    """The key of ``values`` that an error message is about: the first key the message
    starts with (``max_length must be ...``), quotes (``state 'n_levels_' must be``) or
    follows ``state `` with (``state span_pairs: ...``); None when none is named."""
    for key in values:
        k = re.escape(str(key))
        if re.match(rf"{k}(?=[\s:=\[(]|$)", message) or re.search(rf"'{k}'", message) \
                or re.search(rf"\bstate {k}(?=[\s:])", message):
            return str(key)
    return None


def _rebuild_error(path, what, section, values, exc, key=None) -> ModelFileError:
    """The ModelFileError for ``exc`` raised while ``what`` was rebuilt from the header's
    ``section`` (``model_params``, ``model_state``, ``estimator_params``): it names the file,
    the field (``key``, else the one the message names) and its value, then the message."""
    if isinstance(exc, ModelFileError):
        return exc
    text = _short_text(exc)
    if not isinstance(exc, StructpredError):
        text = f"{type(exc).__name__}: {text}"
    key = _field(str(exc), values) if key is None else key
    if key is None:
        where = section
    else:
        value = values[key]
        shown = (f"an array of shape {value.shape}" if isinstance(value, np.ndarray)
                 else _short(value))
        where = f"{section}.{key} = {shown}"
    return ModelFileError(f"{path}: {what} cannot be rebuilt from the header ({where}): {text}",
                          path)


def _build_task(cls, params):
    """``cls(**params)``, then the task's own parameter check (``_validate_params``, the
    checks fit runs, when the task has one)."""
    model = cls(**params)
    check = getattr(model, "_validate_params", None)
    if callable(check):
        check()
    return model


def _rebuilt_task(path, cls, params):
    """``_build_task(cls, params)``; a refusal names the file and the field."""
    try:
        return _build_task(cls, params)
    except Exception as exc:  # noqa: BLE001 -- any refusal of the file's values
        key = _field(str(exc), params)
        if key is None:     # a message that names no parameter: find the one refused alone
            key = next((k for k in params if not _builds(cls, {k: params[k]})), None)
        raise _rebuild_error(path, "the task", "model_params", params, exc, key) from None


def _builds(cls, params) -> bool:
    """True when ``_build_task(cls, params)`` succeeds."""
    try:
        _build_task(cls, params)
    except Exception:  # noqa: BLE001 -- only whether it builds matters here
        return False
    return True


def _rebuilt_estimator(path, estimator_class, model, params):
    """``estimator_class(model, **params)`` with its parameter check; a refusal names the
    file and the field."""
    try:
        estimator = estimator_class(model, **params)
        estimator._check_params()
    except Exception as exc:  # noqa: BLE001 -- any refusal of the file's values
        raise _rebuild_error(path, "the estimator", "estimator_params", params, exc) from None
    return estimator


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

    Order (each step refuses before the next costs anything): the zip directory (members,
    names, declared sizes), the header, the task and estimator classes and parameters (the
    task rebuilt and its parameters checked), the names of the state arrays against the
    task's; only then are the arrays inflated, within MAX_MODEL_BYTES in all.

    Raises
    ------
    ModelFileError (a ValueError) naming the file: not an .npz model, damaged or truncated,
    too large once inflated, newer version, unknown task, bad header field (named, e.g.
    ``model_params.k = 10000000``), unexpected array, weights not finite or of the wrong
    length. OSError when the file cannot be opened.
    """
    if estimator_class is None:
        raise TypeError("persistence.load needs estimator_class (the estimator to build); "
                        "use structpred.load(path) or StructuredSVM.load(path)")
    path = Path(path)
    with _opened(path) as archive:
        budget = _directory(path, archive)
        header = _header(path, archive, budget)
        cls = _resolve_task(path, header, tasks)
        estimator_class = _resolve_estimator(path, header, estimator_class)
        params = _kwargs(path, "task parameter", cls.__name__, header.get("model_params", {}), cls)
        est_params = _kwargs(path, "estimator parameter", estimator_class.__name__,
                             header.get("estimator_params", {}), estimator_class, skip=_NOT_SAVED)
        _check_estimator_types(path, est_params)
        state = dict(header.get("model_state", {}))
        array_keys = [name[len("state."):] for name in archive.files if name.startswith("state.")]
        _check_state_keys(path, cls, [*state, *array_keys])
        _check_array_keys(path, cls, array_keys, state)
        fitted = _fitted(path, header.get("fitted", {}))
        if "w" not in archive.files:
            raise ModelFileError(f"{path}: no weight vector 'w'", path)
        # the task and the estimator from the header's parameters, checked before any array
        # is inflated (a hostile parameter must not wait for, or cause, large allocations)
        model = _rebuilt_task(path, cls, params)
        estimator = _rebuilt_estimator(path, estimator_class, model, est_params)
        for key in array_keys:
            state[key] = _read_member(path, archive, f"state.{key}", budget)
        # read before the state is set (migrate_state needs it), bounded like any array;
        # its length is checked against the task's size_joint_feature below
        w = _read_member(path, archive, "w", budget)
    if w.ndim != 1 or w.dtype.kind not in "iuf":
        raise ModelFileError(f"{path}: w must be a 1-D float vector, got shape {w.shape}, "
                             f"dtype {w.dtype}", path)
    w = w.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(w))
    if bad.size:
        raise ModelFileError(f"{path}: w has {bad.size} non-finite weights (first at index "
                             f"{int(bad[0])}: {w[bad[0]]})", path)
    if state:
        try:
            state, w = _migrated(path, model, state, w)
            model.set_state(state)
            _check_state_round_trip(path, cls, state, model.get_state())
        except Exception as exc:  # noqa: BLE001 -- any refusal of the file's values
            raise _rebuild_error(path, "the task", "model_state", state, exc) from None
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
