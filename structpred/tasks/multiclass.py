"""Multiclass classification as a structural SVM (Crammer & Singer 2001).

Ψ(x, y) = e_y ⊗ x, so w is laid out row-major as W of shape (n_classes, n_features) and
w·Ψ(x, y) = W[y]·x (no bias term). Loss: 0/1. The n-slack problem
    min ½‖W‖² + (C/n) Σ_i max_y' [Δ(y_i, y') + W[y']·x_i - W[y_i]·x_i]
is scikit-learn's ``LinearSVC(multi_class="crammer_singer", fit_intercept=False)`` with
C_sklearn = C / n.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..boundary.arrays import MAX_SIZE_JOINT_FEATURE
from ..boundary.arrays import check_csr, check_labels, check_values
from ..boundary.params import check_int, check_state
from ..errors import MAX_ABS_FEATURE, InvalidInputError
from ..model import StructuredModel

__all__ = ["Multiclass"]


def _dense_row(x) -> np.ndarray:
    """One example as a dense float vector (a 1 x d sparse row, e.g. X[i] of a CSR X, too)."""
    if sp.issparse(x):
        x = x.toarray()
    return np.asarray(x, dtype=np.float64).ravel()



def _size_or_none(value, name):
    """None, or an integer in [1, MAX_SIZE_JOINT_FEATURE] (a saved state's size)."""
    return None if value is None else check_int(value, name, 1, MAX_SIZE_JOINT_FEATURE)

class _DenseBatch:
    def __init__(self, X, Y=None):
        self.X = X
        self.Y = Y

    def __len__(self):
        return self.X.shape[0]



def _checked_sparse_rows(X):
    """X (sparse, one row per example) with its index arrays checked before scipy reads
    them (a column index outside the matrix would crash toarray): InvalidInputError naming
    the example (row)."""
    if X.format == "csr" and X.indices.size:
        ind = X.indices
        bad = np.flatnonzero((ind < 0) | (ind >= X.shape[1]))
        ptr = X.indptr
        if bad.size and ptr.shape[0] == X.shape[0] + 1 and ptr[-1] == ind.shape[0] \
                and np.all(ptr[1:] >= ptr[:-1]):
            i = int(np.searchsorted(ptr, bad[0], side="right") - 1)
            raise InvalidInputError(f"X[{i}]: column index {int(ind[bad[0]])} outside the "
                                    f"matrix's {X.shape[1]} columns", i)
    return check_csr(X, "X", rows_are_examples=True)

class Multiclass(StructuredModel):
    """Crammer-Singer multiclass SVM: x a feature vector, y an int in [0, n_classes).

    Parameters
    ----------
    n_classes, n_features : int or None
        Read off the training data by ``initialize`` when None.

    Attributes
    ----------
    n_classes_, n_features_ : int
        The sizes in use: the parameters when given, else read off the training data by
        ``initialize`` (which never overwrites the parameters, so a refit on other data works).
    """

    #: Largest size_joint_feature accepted (2 GiB of float64 weights).
    max_weights = 2 ** 28

    #: scikit-learn sees StructuredSVM(Multiclass()) as a classifier (stratified CV folds).
    sklearn_estimator_type = "classifier"

    def __init__(self, n_classes: int | None = None, n_features: int | None = None):
        super().__init__()
        for name, v in (("n_classes", n_classes), ("n_features", n_features)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1):
                raise ValueError(f"{name} must be a positive integer or None, got {v!r}")
        self.n_classes = n_classes
        self.n_features = n_features
        self.n_classes_ = None if n_classes is None else int(n_classes)
        self.n_features_ = None if n_features is None else int(n_features)
        self._set_size()

    def _set_size(self):
        if self.n_classes_ is not None and self.n_features_ is not None:
            self.size_joint_feature = int(self.n_classes_) * int(self.n_features_)
        else:
            self.size_joint_feature = None

    @property
    def classes_(self):
        """The labels 0..n_classes_-1 (scikit-learn's ``classes_``), None before fit."""
        return None if self.n_classes_ is None else np.arange(self.n_classes_)

    @classmethod
    def tiny_example(cls, random_state=0):
        """A tiny valid training set (task, X, Y) for the registry-driven battery
        (tests/test_registry_battery.py): every registered task provides one, so the
        battery's hostile variants of it reach the task's checks."""
        rng = np.random.default_rng(random_state)
        y = np.array([0, 1, 2, 0, 1, 2])
        X = rng.normal(size=(6, 3)) + 2.0 * np.eye(3)[y]
        return cls(), X, y

    def get_state(self):
        return {"n_classes_": self.n_classes_, "n_features_": self.n_features_}

    def set_state(self, state):
        """Restore n_classes_ / n_features_ (None or integers in [1, MAX_SIZE_JOINT_FEATURE]);
        any other key is refused (InvalidInputError naming it)."""
        st = check_state(state, "Multiclass", {"n_classes_": _size_or_none,
                                               "n_features_": _size_or_none})
        for key, value in st.items():
            if value is not None:
                setattr(self, key, value)
        self._set_size()

    # ------------------------------------------------------------- set-up and checks
    def initialize(self, X, Y):
        X = self._as_matrix(X)
        labels = self._as_labels(Y)
        self.n_features_ = int(X.shape[1]) if self.n_features is None else int(self.n_features)
        if labels.size and labels.min() < 0:
            bad = int(np.argmin(labels))
            raise InvalidInputError(f"label {labels[bad]} of example {bad} is negative", bad)
        self.n_classes_ = (int(labels.max()) + 1 if labels.size else 0) if self.n_classes is None \
            else int(self.n_classes)
        if self.n_classes_ * max(int(self.n_features_), 1) > self.max_weights:
            bad = int(np.argmax(labels)) if labels.size else 0
            raise InvalidInputError(
                f"the model would need {self.n_classes_} classes x {self.n_features_} features "
                f"weights, more than max_weights={self.max_weights:,} (largest label "
                f"{int(labels.max()) if labels.size else 0} in example {bad}); number the "
                "classes densely from 0", bad)
        self._set_size()

    @staticmethod
    def _as_matrix(X) -> np.ndarray:
        if sp.issparse(X):
            if X.ndim != 2 or X.shape[0] * X.shape[1] > Multiclass.max_weights:
                raise InvalidInputError(f"sparse X of shape {X.shape} is too large to densify")
            X = _checked_sparse_rows(X).toarray()
        if isinstance(X, np.ndarray) and X.ndim == 2:
            if X.dtype.kind not in "biuf":
                for i, row in enumerate(X if X.dtype.kind in "OUS" else ()):
                    try:
                        np.asarray(row, dtype=np.float64)
                    except (TypeError, ValueError):
                        raise InvalidInputError(f"example {i}: features must be real numbers, "
                                                f"got {row[:3].tolist()!r}...", i) from None
                raise InvalidInputError(f"X must hold real numbers, got dtype {X.dtype}")
            return np.ascontiguousarray(X, dtype=np.float64)
        if isinstance(X, np.ndarray) and X.ndim != 1 and X.dtype != object:
            raise InvalidInputError(f"X must be 2-D (examples x features), got shape {X.shape}")
        rows = []
        for i, x in enumerate(X):
            try:
                r = np.asarray(x)
            except (ValueError, TypeError) as exc:
                raise InvalidInputError(f"example {i}: not a feature vector ({exc})", i) from None
            if r.dtype.kind not in "biuf" or r.ndim > 1 and sum(d > 1 for d in r.shape) > 1:
                raise InvalidInputError(f"example {i}: expected a vector of real numbers, got "
                                        f"dtype {r.dtype}, shape {r.shape}", i)
            rows.append(r.astype(np.float64).ravel())
        lengths = {r.shape[0] for r in rows}
        if len(lengths) > 1:
            first = rows[0].shape[0]
            bad = next(i for i, r in enumerate(rows) if r.shape[0] != first)
            raise InvalidInputError(f"ragged X: example {bad} has {rows[bad].shape[0]} features, "
                                    f"example 0 has {first}", bad)
        return np.vstack(rows) if rows else np.zeros((0, 0))

    @staticmethod
    def _as_labels(Y) -> np.ndarray:
        """Y as int64 labels >= 0 (structpred.boundary.check_labels: the error's index is the
        example)."""
        if Y is None or isinstance(Y, (str, bytes)):
            raise InvalidInputError(f"Y must be a 1-D sequence of integer labels, got "
                                    f"{type(Y).__name__}")
        try:
            return check_labels(Y, "Y")
        except InvalidInputError as exc:
            k = exc.index
            if k is None:
                raise
            value = np.asarray(Y, dtype=object)[k]
            if "negative" in str(exc):
                raise InvalidInputError(f"label {value} of example {k} is negative", k) from None
            raise InvalidInputError(f"Y must hold integer labels; example {k} has {value!r}",
                                    k) from None

    def check_input(self, X, Y=None):
        """InvalidInputError naming the example: not a real vector, ragged rows, a width other
        than n_features, NaN/inf or |value| > MAX_ABS_FEATURE, a label outside [0, n_classes)."""
        X = self._as_matrix(X)
        if self.n_features_ is not None and X.shape[0] and X.shape[1] != self.n_features_:
            raise InvalidInputError(f"X has {X.shape[1]} features per example, the task expects "
                                    f"{self.n_features_}")
        check_values(X, "X", example_of=lambda k: k // max(X.shape[1], 1))
        if Y is not None:
            labels = self._as_labels(Y)
            if labels.shape[0] != X.shape[0]:
                raise InvalidInputError(f"X has {X.shape[0]} examples but Y has {labels.shape[0]}")
            bad = np.flatnonzero((labels < 0) | (labels >= self.n_classes_))
            if bad.size:
                raise InvalidInputError(f"label {labels[bad[0]]} of example {int(bad[0])} is "
                                        f"outside [0, {self.n_classes_})", int(bad[0]))

    # ------------------------------------------------------------- single-example forms
    def joint_feature(self, x, y):
        psi = np.zeros((self.n_classes_, self.n_features_))
        psi[int(y)] = _dense_row(x)
        return psi.ravel()

    def loss(self, y, y_hat):
        return float(int(y) != int(y_hat))

    def _scores(self, X, w):
        return X @ np.asarray(w, dtype=np.float64).reshape(self.n_classes_, self.n_features_).T

    def inference(self, x, w):
        return int(np.argmax(self._scores(_dense_row(x).reshape(1, -1), w)[0]))

    def loss_augmented_inference(self, x, y, w):
        scores = self._scores(_dense_row(x).reshape(1, -1), w)[0] + 1.0
        scores[int(y)] -= 1.0
        return int(np.argmax(scores))

    def slack_rescaled_inference(self, x, y, w):
        batch = _DenseBatch(_dense_row(x).reshape(1, -1), np.array([int(y)]))
        return int(self._slack_oracle(batch, w)[0])

    # ------------------------------------------------------------- batch forms
    def make_batch(self, X, Y=None):
        return _DenseBatch(self._as_matrix(X), None if Y is None else self._as_labels(Y))

    def batch_inference(self, batch, w, n_jobs=1):
        return [int(v) for v in np.argmax(self._scores(batch.X, w), axis=1)]

    def batch_loss_augmented_inference(self, batch, w, n_jobs=1):
        scores = self._scores(batch.X, w) + 1.0
        scores[np.arange(len(batch)), batch.Y] -= 1.0
        return np.argmax(scores, axis=1)

    def _slack_oracle(self, batch, w):
        scores = self._scores(batch.X, w)
        rows = np.arange(len(batch))
        value = 1.0 + scores - scores[rows, batch.Y][:, None]  # Δ = 1 for y' != y
        value[rows, batch.Y] = 0.0                              # y' = y gives 0
        return np.argmax(value, axis=1)

    def batch_slack_rescaled_inference(self, batch, w, n_jobs=1):
        return self._slack_oracle(batch, w)

    def batch_loss(self, batch, Y_hat):
        return (np.asarray(Y_hat) != batch.Y).astype(np.float64)

    def batch_delta_joint_feature(self, batch, Y_hat):
        """Row i: x_i in block y_i and -x_i in block ŷ_i (an empty row when ŷ_i = y_i)."""
        Y_hat = np.asarray(Y_hat, dtype=np.int64)
        n, f = batch.X.shape
        differ = np.flatnonzero(Y_hat != batch.Y)
        cols = np.arange(f)
        indices = np.concatenate([batch.Y[differ, None] * f + cols, Y_hat[differ, None] * f + cols], axis=1)
        data = np.concatenate([batch.X[differ], -batch.X[differ]], axis=1)
        counts = np.zeros(n, dtype=np.int64)
        counts[differ] = 2 * f
        indptr = np.concatenate([[0], np.cumsum(counts)])
        D = sp.csr_matrix((data.ravel(), indices.ravel(), indptr), shape=(n, self.size_joint_feature))
        D.sort_indices()
        return D
