"""Small multiclass sets in scikit-learn's bundled CSV layout (iris, wine, digits)."""
from __future__ import annotations

import io

import numpy as np

from ..boundary.text import read_text
from ..errors import DataFormatError
from .home import require_file

__all__ = ["load_digits", "load_iris", "load_wine"]

_SOURCE = "scikit-learn's bundled datasets (sklearn/datasets/data/, UCI ML Repository)"


def _read_csv(path, skiprows: int):
    """(X, y) of a numeric CSV (plain or gzip), the label in the last column; DataFormatError
    naming the file for ragged rows, non-numbers, NaN/inf or non-integer labels."""
    text = read_text(path, encoding="utf-8", memory_factor=16)
    try:
        data = np.loadtxt(io.StringIO(text), delimiter=",", skiprows=skiprows, ndmin=2)
    except ValueError as exc:
        raise DataFormatError(f"{path}: not a numeric CSV table ({exc})", path) from None
    if data.shape[0] == 0 or data.shape[1] < 2:
        raise DataFormatError(f"{path}: no rows with features and a label", path)
    bad = np.flatnonzero(~np.isfinite(data).all(axis=1))
    if bad.size:
        raise DataFormatError(f"{path}, line {int(bad[0]) + 1 + skiprows}: NaN or infinite value",
                              path, int(bad[0]) + 1 + skiprows)
    labels = data[:, -1]
    bad = np.flatnonzero((labels != np.round(labels)) | (labels < 0) | (labels > 2 ** 31))
    if bad.size:
        line = int(bad[0]) + 1 + skiprows
        raise DataFormatError(f"{path}, line {line}: label {float(labels[bad[0]])!r} is not a "
                              "non-negative integer", path, line)
    return data[:, :-1], labels.astype(np.int64)


def load_digits(data_home=None, scale: bool = True):
    """(X, y) of the 1,797 8x8 UCI digits; pixels 0-16, scaled to [0, 1] when ``scale``."""
    path = require_file(data_home, "multiclass/digits.csv.gz", _SOURCE + ", digits.csv.gz")
    X, y = _read_csv(path, 0)
    return (X / 16.0 if scale else X), y


def _load_headed(data_home, name):
    path = require_file(data_home, f"multiclass/{name}", _SOURCE + f", {name}")
    return _read_csv(path, 1)


def load_iris(data_home=None):
    """(X, y) of Fisher's iris: 150 x 4, 3 classes."""
    return _load_headed(data_home, "iris.csv")


def load_wine(data_home=None):
    """(X, y) of UCI wine: 178 x 13, 3 classes."""
    return _load_headed(data_home, "wine_data.csv")
