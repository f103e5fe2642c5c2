"""Model files: one ``.npz`` (read with ``allow_pickle=False``) holding a JSON header and arrays.

Header (JSON, key ``__structpred__``): format name and version, the task's class path, its
constructor parameters and its JSON-able state, the estimator's parameters and fitted
scalars. Arrays: ``w`` and ``state.<name>`` for array-valued task state. The version is checked
on read; a task class is imported only from the path recorded in the header and must be a
``StructuredModel`` subclass.
"""
from __future__ import annotations

import importlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np

from .model import StructuredModel

FORMAT = "structpred-model"
VERSION = 1

__all__ = ["save", "load", "FORMAT", "VERSION"]

_FITTED_SCALARS = ("primal_objective_", "dual_objective_", "duality_gap_", "n_iter_",
                   "n_oracle_calls_", "converged_", "n_constraints_")


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def save(estimator, path) -> None:
    """Save a fitted StructuredSVM."""
    from . import __version__
    estimator._check_fitted()
    model = estimator.model
    state_json, arrays = {}, {"w": np.asarray(estimator.w_, dtype=np.float64)}
    for key, value in model.get_state().items():
        if isinstance(value, np.ndarray):
            arrays[f"state.{key}"] = value
        else:
            state_json[key] = _jsonable(value)
    params = {k: v for k, v in estimator.get_params(deep=False).items() if k not in ("model", "callback", "client")}
    header = {
        "format": FORMAT,
        "version": VERSION,
        "structpred_version": __version__,
        "model_class": f"{type(model).__module__}:{type(model).__qualname__}",
        "model_params": _jsonable(model.get_params()),
        "model_state": state_json,
        "estimator_params": _jsonable(params),
        "fitted": {k: _jsonable(getattr(estimator, k, None)) for k in _FITTED_SCALARS},
    }
    try:
        text = json.dumps(header, allow_nan=True)
    except TypeError as exc:
        raise TypeError(f"cannot save {type(model).__name__}: its parameters or state are not "
                        f"JSON-able ({exc}); return arrays or plain values from get_params/get_state") from None
    arrays["__structpred__"] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    Path(path).write_bytes(buffer.getvalue())


def _import_class(spec: str):
    module_name, _, qualname = spec.partition(":")
    obj = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def load(path):
    """Load a StructuredSVM saved with ``save``; raises ValueError on a foreign or newer file."""
    from .svm import StructuredSVM
    path = Path(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ValueError(f"{path} is not a structpred model file ({exc})") from None
    with archive:
        if "__structpred__" not in archive.files:
            raise ValueError(f"{path} is not a structpred model file (no header)")
        header = json.loads(archive["__structpred__"].tobytes().decode("utf-8"))
        if header.get("format") != FORMAT:
            raise ValueError(f"{path}: unknown format {header.get('format')!r}")
        if not isinstance(header.get("version"), int) or header["version"] > VERSION:
            raise ValueError(f"{path}: model file version {header.get('version')!r} is newer than "
                             f"this structpred reads ({VERSION}); upgrade structpred")
        cls = _import_class(header["model_class"])
        if not (isinstance(cls, type) and issubclass(cls, StructuredModel)):
            raise ValueError(f"{path}: {header['model_class']} is not a StructuredModel")
        model = cls(**header["model_params"])
        state = dict(header["model_state"])
        for name in archive.files:
            if name.startswith("state."):
                state[name[len("state."):]] = archive[name]
        if state:
            model.set_state(state)
        estimator = StructuredSVM(model, **header["estimator_params"])
        estimator.w_ = archive["w"]
    for key, value in header["fitted"].items():
        setattr(estimator, key, value)
    if model.size_joint_feature is not None and estimator.w_.shape[0] != model.size_joint_feature:
        raise ValueError(f"{path}: w has length {estimator.w_.shape[0]} but the task expects "
                         f"{model.size_joint_feature}")
    return estimator
