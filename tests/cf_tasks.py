"""Two tiny Gibbs-policy tasks for the counterfactual tests, with the probabilistic hooks of the
task contract written out by hand (vectorised batch forms), so that the counterfactual package
is tested without depending on the library's own probabilistic tasks.

* ``Softmax``: multiclass, Ψ(x, y) = e_y ⊗ x, π_w(y|x) = softmax(Wx)_y.
* ``IndependentLabels``: q binary labels, Ψ(x, y) = y ⊗ x, π_w(y|x) = Π_j σ(±W_j·x),
  loss Hamming; the expected Hamming loss is exact.
"""
from __future__ import annotations

import itertools

import numpy as np
from scipy.special import expit, log_expit, logsumexp

from structpred.errors import InvalidInputError
from structpred.model import StructuredModel


class _Batch:
    def __init__(self, X, Y=None):
        self.X = np.asarray(X, dtype=np.float64)
        self.Y = Y

    def __len__(self):
        return self.X.shape[0]


class Softmax(StructuredModel):
    def __init__(self, n_classes=3, n_features=2):
        super().__init__()
        self.n_classes = n_classes
        self.n_features = n_features
        self.size_joint_feature = n_classes * n_features

    def joint_feature(self, x, y):
        psi = np.zeros((self.n_classes, self.n_features))
        psi[int(y)] = np.asarray(x, dtype=np.float64).ravel()
        return psi.ravel()

    def loss(self, y, y_hat):
        return float(int(y) != int(y_hat))

    def inference(self, x, w):
        return int(np.argmax(w.reshape(self.n_classes, -1) @ np.asarray(x, float).ravel()))

    def loss_augmented_inference(self, x, y, w):
        s = w.reshape(self.n_classes, -1) @ np.asarray(x, float).ravel() + 1.0
        s[int(y)] -= 1.0
        return int(np.argmax(s))

    def check_input(self, X, Y=None):
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise InvalidInputError(f"X must be n x {self.n_features}")
        if Y is not None:
            for i, y in enumerate(Y):
                if not (np.ndim(y) == 0 and float(y) == int(y) and 0 <= int(y) < self.n_classes):
                    raise InvalidInputError(f"Y[{i}] = {y!r} is not a class in "
                                            f"[0, {self.n_classes})", i)

    def make_batch(self, X, Y=None):
        return _Batch(X, Y)

    def _logp(self, X, w):
        S = np.asarray(X, float) @ w.reshape(self.n_classes, -1).T
        return S - logsumexp(S, axis=1, keepdims=True)

    def log_prob(self, x, y, w):
        return float(self._logp(np.atleast_2d(x), w)[0, int(y)])

    def log_prob_grad(self, x, y, w):
        P = np.exp(self._logp(np.atleast_2d(x), w))[0]
        E = -P
        E[int(y)] += 1
        return np.outer(E, np.asarray(x, float).ravel()).ravel()

    def batch_log_prob(self, batch, w, Y=None, n_jobs=1):
        Y = batch.Y if Y is None else Y
        L = self._logp(batch.X, w)
        return L[np.arange(len(Y)), np.asarray(Y, dtype=np.int64)]

    def batch_log_prob_grad(self, batch, w, coef, Y=None, n_jobs=1):
        Y = np.asarray(batch.Y if Y is None else Y, dtype=np.int64)
        L = self._logp(batch.X, w)
        E = -np.exp(L)
        E[np.arange(len(Y)), Y] += 1
        return L[np.arange(len(Y)), Y], ((E * np.asarray(coef)[:, None]).T @ batch.X).ravel()

    def sample(self, x, w, n, random_state=None):
        rng = np.random.default_rng(random_state)
        P = np.exp(self._logp(np.atleast_2d(x), w))[0]
        return [int(k) for k in rng.choice(self.n_classes, size=n, p=P / P.sum())]

    def batch_sample(self, batch, w, n, random_state=None, n_jobs=1):
        rng = np.random.default_rng(random_state)
        P = np.exp(self._logp(batch.X, w))
        C = np.cumsum(P, axis=1)
        U = rng.random((P.shape[0], n))
        draws = np.minimum((U[:, :, None] > C[:, None, :]).sum(axis=2), self.n_classes - 1)
        return [[int(k) for k in row] for row in draws]

    def expected_loss(self, x, y, w, n_samples=1000, random_state=None):
        return 1.0 - float(np.exp(self.log_prob(x, y, w))), 0.0

    def batch_expected_loss(self, batch, w, n_samples=1000, random_state=None):
        lp = self.batch_log_prob(batch, w)
        return 1.0 - np.exp(lp), np.zeros(len(lp))


class IndependentLabels(StructuredModel):
    def __init__(self, n_labels=3, n_features=2):
        super().__init__()
        self.n_labels = n_labels
        self.n_features = n_features
        self.size_joint_feature = n_labels * n_features

    def all_outputs(self):
        return [np.array(b, dtype=np.int64) for b in itertools.product((0, 1), repeat=self.n_labels)]

    def joint_feature(self, x, y):
        return np.outer(np.asarray(y, float), np.asarray(x, float).ravel()).ravel()

    def loss(self, y, y_hat):
        return float(np.sum(np.asarray(y) != np.asarray(y_hat)))

    def max_loss(self, y):
        return float(self.n_labels)

    def inference(self, x, w):
        return (w.reshape(self.n_labels, -1) @ np.asarray(x, float).ravel() > 0).astype(np.int64)

    def loss_augmented_inference(self, x, y, w):
        s = w.reshape(self.n_labels, -1) @ np.asarray(x, float).ravel()
        y = np.asarray(y)
        return (s + np.where(y == 1, -1.0, 1.0) > 0).astype(np.int64)

    def check_input(self, X, Y=None):
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise InvalidInputError(f"X must be n x {self.n_features}")
        if Y is not None:
            for i, y in enumerate(Y):
                y = np.asarray(y)
                if y.shape != (self.n_labels,) or not np.all((y == 0) | (y == 1)):
                    raise InvalidInputError(f"Y[{i}] is not a 0/1 vector of {self.n_labels} "
                                            "labels", i)

    def make_batch(self, X, Y=None):
        return _Batch(X, None if Y is None else np.asarray(Y, dtype=np.float64).reshape(len(Y), -1))

    def _scores(self, X, w):
        return np.asarray(X, float) @ w.reshape(self.n_labels, -1).T

    def batch_log_prob(self, batch, w, Y=None, n_jobs=1):
        Y = batch.Y if Y is None else np.asarray(Y, dtype=np.float64).reshape(len(Y), -1)
        S = self._scores(batch.X, w)
        return np.sum(log_expit(np.where(Y > 0, S, -S)), axis=1)

    def batch_log_prob_grad(self, batch, w, coef, Y=None, n_jobs=1):
        Y = batch.Y if Y is None else np.asarray(Y, dtype=np.float64).reshape(len(Y), -1)
        S = self._scores(batch.X, w)
        lp = np.sum(log_expit(np.where(Y > 0, S, -S)), axis=1)
        E = (Y - expit(S)) * np.asarray(coef)[:, None]
        return lp, (E.T @ batch.X).ravel()

    def log_prob(self, x, y, w):
        return float(self.batch_log_prob(_Batch(np.atleast_2d(x)), w, Y=[y])[0])

    def log_prob_grad(self, x, y, w):
        return self.batch_log_prob_grad(_Batch(np.atleast_2d(x)), w, [1.0], Y=[y])[1]

    def batch_sample(self, batch, w, n, random_state=None, n_jobs=1):
        rng = np.random.default_rng(random_state)
        P = expit(self._scores(batch.X, w))
        U = rng.random((P.shape[0], n, P.shape[1]))
        D = (U < P[:, None, :]).astype(np.int64)
        return [[D[i, s] for s in range(n)] for i in range(P.shape[0])]

    def sample(self, x, w, n, random_state=None):
        return self.batch_sample(_Batch(np.atleast_2d(x)), w, n, random_state)[0]

    def batch_expected_loss(self, batch, w, n_samples=1000, random_state=None):
        P = expit(self._scores(batch.X, w))
        return np.sum(np.where(batch.Y > 0, 1 - P, P), axis=1), np.zeros(len(batch.X))

    def expected_loss(self, x, y, w, n_samples=1000, random_state=None):
        m, s = self.batch_expected_loss(_Batch(np.atleast_2d(x), np.atleast_2d(y)), w)
        return float(m[0]), 0.0

    def batch_inference(self, batch, w, n_jobs=1):
        return [row for row in (self._scores(batch.X, w) > 0).astype(np.int64)]
