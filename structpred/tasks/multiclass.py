"""Multiclass classification as a structural SVM (Crammer & Singer 2001).

Ψ(x, y) = e_y ⊗ x, so w is laid out row-major as W of shape (n_classes, n_features) and
w·Ψ(x, y) = W[y]·x (no bias term). Loss: 0/1. The n-slack problem
    min ½‖W‖² + (C/n) Σ_i max_y' [Δ(y_i, y') + W[y']·x_i - W[y_i]·x_i]
is scikit-learn's ``LinearSVC(multi_class="crammer_singer", fit_intercept=False)`` with
C_sklearn = C / n.

Labels are the user's: any sortable labels of one type (ints, floats, strings), kept sorted in
``classes_`` (scikit-learn's convention); row k of W belongs to ``classes_[k]``. With
``n_classes`` given, labels are the integers 0..n_classes-1.
"""
from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp

from ..boundary.arrays import MAX_SIZE_JOINT_FEATURE
from ..boundary.arrays import check_csr, check_values
from ..boundary.params import check_int, check_state
from ..errors import MAX_ABS_FEATURE, InvalidInputError
from ..boundary.arrays import check_score_rows
from ..boundary.params import check_n_samples
from ..logspace import as_generator, logsumexp_rows
from ..model import StructuredModel

__all__ = ["Multiclass"]


def _dense_row(x) -> np.ndarray:
    """One example as a dense float vector (a 1 x d sparse row, e.g. X[i] of a CSR X, too)."""
    if sp.issparse(x):
        x = x.toarray()
    return np.asarray(x, dtype=np.float64).ravel()


def _short(classes) -> str:
    """At most 10 class labels for an error message."""
    items = [repr(c) for c in classes[:10].tolist()]
    return ", ".join(items) + (", ..." if classes.size > 10 else "")


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
    """Crammer-Singer multiclass SVM: x a feature vector, y any class label.

    Ψ(x, y) = e_y ⊗ x, Δ = 0/1; with ``StructuredSVM(Multiclass(), C=C)`` the objective is
    ½‖W‖² + (C/n) Σ_i max_y' [Δ(y_i, y') + W[y']·x_i − W[y_i]·x_i], i.e. scikit-learn's
    ``LinearSVC(multi_class="crammer_singer", fit_intercept=False, C=C/n)``.

    Parameters
    ----------
    n_classes : int or None
        When given, the labels are the integers 0..n_classes-1 (a class may be absent from the
        training data); when None, the classes are the distinct labels of the training data.
    n_features : int or None
        Read off the training data by ``initialize`` when None.

    Attributes
    ----------
    classes_ : ndarray (n_classes_,)
        The sorted class labels (ints, floats or strings, as the user gave them); the
        single-example oracles and ``batch_inference`` take and return these labels.
    n_classes_, n_features_ : int
        The sizes in use: the parameters when given, else read off the training data by
        ``initialize`` (which never overwrites the parameters, so a refit on other data works).

    Notes
    -----
    Labels of mixed types (``[1, "a"]``), continuous targets (``0.5``) and, at fit time after
    ``initialize``, labels not in ``classes_`` raise :class:`~structpred.errors.InvalidInputError`
    naming ``Y`` and the example.
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
        self.classes_ = None if n_classes is None else np.arange(int(n_classes))
        self._set_size()

    def _set_size(self):
        if self.n_classes_ is not None and self.n_features_ is not None:
            self.size_joint_feature = int(self.n_classes_) * int(self.n_features_)
        else:
            self.size_joint_feature = None

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
        """The sizes and the class labels (a JSON list), for the model file."""
        classes = None if self.classes_ is None else self.classes_.tolist()
        return {"n_classes_": self.n_classes_, "n_features_": self.n_features_, "classes_": classes}

    def set_state(self, state):
        """Restore ``get_state``'s values (sizes None or integers in [1, MAX_SIZE_JOINT_FEATURE],
        ``classes_`` a list of n_classes_ labels); any other key is refused (InvalidInputError
        naming it); files without ``classes_`` get 0..n_classes_-1."""
        st = check_state(state, "Multiclass", {"n_classes_": _size_or_none,
                                               "n_features_": _size_or_none,
                                               "classes_": lambda v, n: v})
        for key in ("n_classes_", "n_features_"):
            if st.get(key) is not None:
                setattr(self, key, st[key])
        classes = st.get("classes_")
        if classes is not None:
            classes = np.asarray(classes)
            if classes.ndim != 1 or classes.shape[0] != self.n_classes_ or classes.dtype.kind not in "iufU":
                raise InvalidInputError(f"Multiclass state 'classes_' must be a list of "
                                        f"{self.n_classes_} labels")
            self.classes_ = classes
        elif self.n_classes_ is not None:
            self.classes_ = np.arange(self.n_classes_)
        self._set_size()

    # ------------------------------------------------------------- labels
    def _identity(self) -> bool:
        """True when the labels are their own row indices (classes_ = 0..K-1)."""
        c = self.classes_
        return c is not None and c.dtype.kind in "iu" and (c.size == 0 or (c[0] == 0 and c[-1] == c.size - 1))

    def _encode(self, labels: np.ndarray) -> np.ndarray:
        """User labels -> row indices into classes_; InvalidInputError naming the first label
        that is not a class."""
        if self._identity() and labels.dtype.kind in "iu":
            bad = np.flatnonzero((labels < 0) | (labels >= self.n_classes_))
            if bad.size:
                raise InvalidInputError(f"Y: label {labels[bad[0]]!r} of example {int(bad[0])} is not a "
                                        f"class (classes_: 0..{self.n_classes_ - 1})", int(bad[0]))
            return labels.astype(np.int64, copy=False)
        classes = self.classes_
        try:
            idx = np.searchsorted(classes, labels)
        except TypeError:
            raise InvalidInputError(f"Y: labels of type {labels.dtype} do not compare with the "
                                    f"classes_ ({classes.dtype}) learnt in training") from None
        idx = np.minimum(idx, max(classes.size - 1, 0))
        ok = classes[idx] == labels if classes.size else np.zeros(labels.shape, bool)
        if not np.all(ok):
            bad = int(np.flatnonzero(~ok)[0])
            raise InvalidInputError(f"Y: label {labels[bad].item()!r} of example {bad} was not seen in "
                                    f"training (classes_: {_short(classes)})", bad)
        return idx.astype(np.int64)

    def _index(self, y) -> int:
        """One user label -> its row index."""
        return int(self._encode(np.asarray([y]))[0])

    def _decode(self, idx):
        """Row indices -> user labels (an array of the classes_ dtype)."""
        return self.classes_[np.asarray(idx, dtype=np.int64)]

    def _label(self, i):
        """One row index -> the user's label as a Python scalar."""
        return self.classes_[int(i)].item()

    # ------------------------------------------------------------- set-up and checks
    def initialize(self, X, Y):
        """Read n_features_ and the classes (the distinct labels, or 0..n_classes-1) off the
        training data; sizes W as n_classes_ x n_features_."""
        X = self._as_matrix(X)
        labels = self._as_labels(Y)
        self.n_features_ = int(X.shape[1]) if self.n_features is None else int(self.n_features)
        if self.n_classes is None:
            self.classes_ = np.unique(labels)
            self.n_classes_ = int(self.classes_.size)
        else:
            self.n_classes_ = int(self.n_classes)
            self.classes_ = np.arange(self.n_classes_)
        if self.n_classes_ * max(int(self.n_features_), 1) > self.max_weights:
            raise InvalidInputError(
                f"Y: the model would need {self.n_classes_} classes x {self.n_features_} features "
                f"weights, more than max_weights={self.max_weights:,}")
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
        """Y as a 1-D array of labels of one kind (numbers or strings); InvalidInputError
        naming Y and the example for mixed kinds, non-scalars and continuous targets."""
        if isinstance(Y, np.ndarray) and Y.dtype.kind in "biufU":
            arr = Y
        else:
            kinds = {}
            for i, v in enumerate(Y):
                if isinstance(v, (str, np.str_)):
                    kind = "str"
                elif isinstance(v, (numbers.Real, np.bool_)):
                    kind = "number"
                else:
                    raise InvalidInputError(f"Y: example {i} has label {v!r} of type "
                                            f"{type(v).__name__}; labels must be numbers or strings", i)
                kinds.setdefault(kind, (i, type(v).__name__))
                if len(kinds) > 1:
                    (a, (ia, ta)), (b, (ib, tb)) = kinds.items()
                    raise InvalidInputError(f"Y mixes label types: example {ia} is {ta}, example {ib} "
                                            f"is {tb}; use labels of one type", ib)
            try:
                arr = np.asarray(list(Y)) if not isinstance(Y, np.ndarray) else np.asarray(Y.tolist())
            except (ValueError, TypeError) as exc:
                raise InvalidInputError(f"Y must be a 1-D sequence of class labels ({exc})") from None
        if arr.ndim != 1:
            raise InvalidInputError(f"Y must be a 1-D sequence of class labels, got shape {arr.shape}")
        if arr.dtype.kind == "b":
            arr = arr.astype(np.int64)
        if arr.size and arr.dtype.kind == "f":
            ok = np.isfinite(arr) & (arr == np.round(arr))
            if not np.all(ok):
                bad = int(np.flatnonzero(~ok)[0])
                raise InvalidInputError(f"Y: Unknown label type: continuous target; example {bad} "
                                        f"has {arr[bad].tolist()!r} (class labels are ints, "
                                        "integral floats or strings)", bad)
        return arr

    def check_input(self, X, Y=None):
        """InvalidInputError naming the example: not a real vector, ragged rows, a width other
        than n_features, NaN/inf or |value| > MAX_ABS_FEATURE, a label not in ``classes_``."""
        X = self._as_matrix(X)
        if self.n_features_ is not None and X.shape[0] and X.shape[1] != self.n_features_:
            raise InvalidInputError(f"X has {X.shape[1]} features per example, the task expects "
                                    f"{self.n_features_}")
        check_values(X, "X", example_of=lambda k: k // max(X.shape[1], 1))
        if Y is not None:
            labels = self._as_labels(Y)
            if labels.shape[0] != X.shape[0]:
                raise InvalidInputError(f"X has {X.shape[0]} examples but Y has {labels.shape[0]}")
            self._encode(labels)

    # ------------------------------------------------------------- single-example forms
    def joint_feature(self, x, y):
        """Ψ(x, y) = e_y ⊗ x: x in the block of class y, zeros elsewhere."""
        psi = np.zeros((self.n_classes_, self.n_features_))
        psi[self._index(y)] = _dense_row(x)
        return psi.ravel()

    def loss(self, y, y_hat):
        """0/1 loss: Δ(y, ŷ) = [y ≠ ŷ]."""
        return float(y != y_hat)

    def _scores(self, X, w):
        return X @ np.asarray(w, dtype=np.float64).reshape(self.n_classes_, self.n_features_).T

    def decision_function(self, X, w) -> np.ndarray:
        """Scores W[k]·x of every class (n, n_classes); for two classes the 1-D margin
        (W[1] − W[0])·x, positive for ``classes_[1]`` (scikit-learn's binary convention)."""
        scores = self._scores(self._as_matrix(X), w)
        return scores[:, 1] - scores[:, 0] if self.n_classes_ == 2 else scores

    def coef(self, w) -> np.ndarray:
        """w as the (n_classes, n_features) matrix W, row k for ``classes_[k]``."""
        return np.asarray(w, dtype=np.float64).reshape(self.n_classes_, self.n_features_)

    def inference(self, x, w):
        """argmax_y W[y]·x, as the user's label."""
        return self._label(np.argmax(self._scores(_dense_row(x).reshape(1, -1), w)[0]))

    def loss_augmented_inference(self, x, y, w):
        """argmax_y' Δ(y, y') + W[y']·x, as the user's label."""
        scores = self._scores(_dense_row(x).reshape(1, -1), w)[0] + 1.0
        scores[self._index(y)] -= 1.0
        return self._label(np.argmax(scores))

    def slack_rescaled_inference(self, x, y, w):
        """argmax_y' Δ(y, y')(1 + W[y']·x − W[y]·x), as the user's label."""
        batch = _DenseBatch(_dense_row(x).reshape(1, -1), np.array([self._index(y)]))
        return self._label(self._slack_oracle(batch, w)[0])

    # ------------------------------------------------------------- batch forms
    def make_batch(self, X, Y=None):
        """A dense matrix and the labels as row indices into ``classes_``."""
        return _DenseBatch(self._as_matrix(X), None if Y is None else self._encode(self._as_labels(Y)))

    def batch_inference(self, batch, w, n_jobs=1):
        """argmax_y W[y]·x_i for every row, as an array of the user's labels."""
        return self._decode(np.argmax(self._scores(batch.X, w), axis=1))

    def batch_loss_augmented_inference(self, batch, w, n_jobs=1):
        """argmax_y' Δ(y_i, y') + W[y']·x_i for every row, as the user's labels."""
        scores = self._scores(batch.X, w) + 1.0
        scores[np.arange(len(batch)), batch.Y] -= 1.0
        return self._decode(np.argmax(scores, axis=1))

    def _slack_oracle(self, batch, w):
        scores = self._scores(batch.X, w)
        rows = np.arange(len(batch))
        value = 1.0 + scores - scores[rows, batch.Y][:, None]  # Δ = 1 for y' != y
        value[rows, batch.Y] = 0.0                              # y' = y gives 0
        return np.argmax(value, axis=1)

    def batch_slack_rescaled_inference(self, batch, w, n_jobs=1):
        """Slack-rescaled oracle for every row, as the user's labels."""
        return self._decode(self._slack_oracle(batch, w))

    def batch_loss(self, batch, Y_hat):
        """0/1 losses of the predicted labels ``Y_hat`` (user labels)."""
        return (self._encode(self._as_labels(Y_hat)) != batch.Y).astype(np.float64)

    def batch_delta_joint_feature(self, batch, Y_hat):
        """Row i: x_i in block y_i and -x_i in block ŷ_i (an empty row when ŷ_i = y_i)."""
        Y_hat = self._encode(self._as_labels(Y_hat))
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
        check_score_rows(S)
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
        check_score_rows(S)
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
        """n class labels (the user's, as ``predict`` returns them) drawn independently from
        the softmax (inverse CDF)."""
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
        """[n class labels drawn from π_w(·|x_i)] per example: inverse CDF of the exact class
        probabilities, one Generator (from ``random_state``) over the examples in order. The
        draws are the user's labels (``classes_[k]`` as a Python scalar, what ``predict``
        returns and ``batch_log_prob`` takes), not row indices."""
        n = check_n_samples(n)
        rng = as_generator(random_state)
        P = np.exp(self._log_softmax(batch.X, w))
        cdf = np.cumsum(P, axis=1)
        out = []
        for i in range(len(batch)):
            u = rng.random(n) * cdf[i, -1]
            draws = np.minimum(np.searchsorted(cdf[i], u, side="right"), self.n_classes_ - 1)
            out.append(self.classes_[draws].tolist())
        return out

    def batch_expected_loss(self, batch, w, n_samples=1000, random_state=None):
        """(1 − π_w(y_i|x_i), 0) per example: the expected 0/1 loss, exact."""
        lp = self.batch_log_prob(batch, w)
        return -np.expm1(lp), np.zeros(len(batch))
