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

from ..errors import MAX_ABS_FEATURE, InvalidInputError
from ..logspace import as_generator, check_n_samples, check_scores, logsumexp_rows
from ..model import StructuredModel

__all__ = ["Multiclass"]


def _dense_row(x) -> np.ndarray:
    """One example as a dense float vector (a 1 x d sparse row, e.g. X[i] of a CSR X, too)."""
    if sp.issparse(x):
        x = x.toarray()
    return np.asarray(x, dtype=np.float64).ravel()


class _DenseBatch:
    def __init__(self, X, Y=None):
        self.X = X
        self.Y = Y

    def __len__(self):
        return self.X.shape[0]


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

    def get_state(self):
        return {"n_classes_": self.n_classes_, "n_features_": self.n_features_}

    def set_state(self, state):
        for key in ("n_classes_", "n_features_"):
            if state.get(key) is not None:
                setattr(self, key, int(state[key]))
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
            X = X.toarray()
        if isinstance(X, np.ndarray) and X.ndim == 2:
            if X.dtype.kind not in "biuf":
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
        try:
            arr = np.asarray(Y)
        except (ValueError, TypeError) as exc:
            raise InvalidInputError(f"Y must be a 1-D sequence of integer labels ({exc})") from None
        if arr.ndim != 1:
            raise InvalidInputError(f"Y must be a 1-D sequence of integer labels, got shape {arr.shape}")
        if arr.size and arr.dtype.kind not in "iu":
            ok = arr.dtype.kind == "f" and np.isfinite(arr) & (np.abs(arr) <= 2 ** 31)
            ok = ok & (arr == np.round(arr)) if arr.dtype.kind == "f" else np.zeros(arr.shape, bool)
            if not np.all(ok):
                bad = int(np.flatnonzero(~ok)[0])
                raise InvalidInputError(f"Y must hold integer labels; example {bad} has "
                                        f"{arr[bad].tolist()!r}", bad)
        if arr.size and arr.dtype.kind == "u" and arr.max() > 2 ** 31:
            bad = int(np.argmax(arr))
            raise InvalidInputError(f"label {arr[bad]} of example {bad} is out of range", bad)
        return arr.astype(np.int64)

    def check_input(self, X, Y=None):
        """InvalidInputError naming the example: not a real vector, ragged rows, a width other
        than n_features, NaN/inf or |value| > MAX_ABS_FEATURE, a label outside [0, n_classes)."""
        X = self._as_matrix(X)
        if self.n_features_ is not None and X.shape[0] and X.shape[1] != self.n_features_:
            raise InvalidInputError(f"X has {X.shape[1]} features per example, the task expects "
                                    f"{self.n_features_}")
        finite = (np.abs(X) <= MAX_ABS_FEATURE).all(axis=1)
        if not finite.all():
            i = int(np.flatnonzero(~finite)[0])
            raise InvalidInputError(f"X has NaN, infinite or too large (> {MAX_ABS_FEATURE:g}) "
                                    f"features in example {i}", i)
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

    # ------------------------------------------------------------- probabilistic hooks
    # The softmax policy π_w(y|x) = exp(W[y]·x − log Z(x)), log Z(x) = logsumexp_c W[c]·x.
    # Every quantity below is exact (no sampling): log Z, log π, its gradient
    # (e_y − p) ⊗ x, the marginals p (the class probabilities) and E_π[Δ_01(y, ·)] = 1 − p_y.
    def _log_softmax(self, X, w):
        """(S − log Z) per example: n x n_classes log-probabilities; InvalidInputError
        naming the example whose scores overflow float64."""
        with np.errstate(over="ignore", invalid="ignore"):
            S = self._scores(X, w)
        check_scores(S)
        return S - logsumexp_rows(S)[:, None] if S.shape[0] else S

    def _hook_labels(self, batch, Y, method):
        """Labels for a batch hook: Y when given (checked: integers in [0, n_classes)),
        else the batch's own."""
        if Y is None:
            if batch.Y is None:
                raise ValueError(f"Multiclass.{method} needs labels: the batch was built without Y")
            return batch.Y
        labels = self._as_labels(Y)
        if labels.shape[0] != len(batch):
            raise InvalidInputError(f"Y has {labels.shape[0]} labels for {len(batch)} examples")
        bad = np.flatnonzero((labels < 0) | (labels >= self.n_classes_))
        if bad.size:
            raise InvalidInputError(f"Y: label {labels[bad[0]]} of example {int(bad[0])} is "
                                    f"outside [0, {self.n_classes_})", int(bad[0]))
        return labels

    def _one(self, x, y=None):
        X = _dense_row(x).reshape(1, -1)
        return _DenseBatch(X, None if y is None else self._hook_labels(_DenseBatch(X), [y], "log_prob"))

    def log_partition(self, x, w):
        """log Z(x; w) = logsumexp_c W[c]·x (exact)."""
        with np.errstate(over="ignore", invalid="ignore"):
            S = self._scores(_dense_row(x).reshape(1, -1), w)
        check_scores(S)
        return float(logsumexp_rows(S)[0])

    def log_prob(self, x, y, w):
        """log π_w(y|x) = W[y]·x − log Z(x; w) (exact)."""
        b = self._one(x, y)
        return float(self.batch_log_prob(b, w)[0])

    def log_prob_grad(self, x, y, w):
        """∇_w log π_w(y|x) = (e_y − p) ⊗ x, p the class probabilities (exact, dense)."""
        b = self._one(x, y)
        return self.batch_log_prob_grad(b, w, np.ones(1))[1]

    def marginals(self, x, w):
        """The class probabilities p_c = π_w(c|x), an array of n_classes (exact)."""
        return np.exp(self._log_softmax(_dense_row(x).reshape(1, -1), w)[0])

    def sample(self, x, w, n, random_state=None):
        """n classes drawn independently from the softmax (inverse CDF)."""
        return self.batch_sample(self._one(x), w, n, random_state)[0]

    def expected_loss(self, x, y, w, n_samples=1000, random_state=None):
        """(1 − π_w(y|x), 0.0): the expected 0/1 loss, exact."""
        b = self._one(x, y)
        mean, err = self.batch_expected_loss(b, w)
        return float(mean[0]), float(err[0])

    def predict_proba(self, batch, w):
        """n x n_classes class probabilities of the examples of ``batch`` (exact)."""
        return np.exp(self._log_softmax(batch.X, w))

    def predict_log_proba(self, batch, w):
        """n x n_classes log class probabilities (exact, in log space)."""
        return self._log_softmax(batch.X, w)

    def batch_log_prob(self, batch, w, Y=None, n_jobs=1):
        """[log π_w(y_i|x_i)] for Y (default: the batch's labels), exact."""
        labels = self._hook_labels(batch, Y, "batch_log_prob")
        LP = self._log_softmax(batch.X, w)
        return LP[np.arange(len(batch)), labels]

    def batch_log_prob_grad(self, batch, w, coef, Y=None, n_jobs=1):
        """(log_probs, Σ_i coef_i (e_{y_i} − p_i) ⊗ x_i), exact; the gradient as a dense vector
        laid out like w (row-major n_classes x n_features)."""
        labels = self._hook_labels(batch, Y, "batch_log_prob_grad")
        coef = np.asarray(coef, dtype=np.float64).ravel()
        n = len(batch)
        if coef.shape[0] != n:
            raise InvalidInputError(f"coef has {coef.shape[0]} entries for {n} examples")
        LP = self._log_softmax(batch.X, w)
        rows = np.arange(n)
        R = -np.exp(LP)
        R[rows, labels] += 1.0
        R *= coef[:, None]
        G = R.T @ batch.X
        return LP[rows, labels], G.ravel()

    def batch_sample(self, batch, w, n, random_state=None, n_jobs=1):
        """[n classes drawn from π_w(·|x_i)] per example: inverse CDF of the exact class
        probabilities, one Generator (from ``random_state``) over the examples in order."""
        n = check_n_samples(n)
        rng = as_generator(random_state)
        P = np.exp(self._log_softmax(batch.X, w))
        cdf = np.cumsum(P, axis=1)
        out = []
        for i in range(len(batch)):
            u = rng.random(n) * cdf[i, -1]
            draws = np.minimum(np.searchsorted(cdf[i], u, side="right"), self.n_classes_ - 1)
            out.append([int(v) for v in draws])
        return out

    def batch_expected_loss(self, batch, w, n_samples=1000, random_state=None):
        """(1 − π_w(y_i|x_i), 0) per example: the expected 0/1 loss, exact."""
        lp = self.batch_log_prob(batch, w)
        return -np.expm1(lp), np.zeros(len(batch))
