"""Small multiclass sets in scikit-learn's bundled CSV layout (iris, wine, digits)."""
from __future__ import annotations

import gzip

import numpy as np

from .home import require_file

__all__ = ["load_digits", "load_iris", "load_wine"]

_SOURCE = "scikit-learn's bundled datasets (sklearn/datasets/data/, UCI ML Repository)"


def load_digits(data_home=None, scale: bool = True):
    """(X, y) of the 1,797 8x8 UCI digits; pixels 0-16, scaled to [0, 1] when ``scale``."""
    path = require_file(data_home, "multiclass/digits.csv.gz", _SOURCE + ", digits.csv.gz")
    with gzip.open(path, "rt") as fh:
        data = np.loadtxt(fh, delimiter=",")
    X, y = data[:, :-1], data[:, -1].astype(np.int64)
    return (X / 16.0 if scale else X), y


def _load_headed(data_home, name):
    path = require_file(data_home, f"multiclass/{name}", _SOURCE + f", {name}")
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    return data[:, :-1], data[:, -1].astype(np.int64)


def load_iris(data_home=None):
    """(X, y) of Fisher's iris: 150 x 4, 3 classes."""
    return _load_headed(data_home, "iris.csv")


def load_wine(data_home=None):
    """(X, y) of UCI wine: 178 x 13, 3 classes."""
    return _load_headed(data_home, "wine_data.csv")
