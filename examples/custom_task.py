"""A new structured task by subclassing: ordinal regression with learnt thresholds.

x is a feature vector, y an ordered grade in {0, ..., K-1}. With w = (v, θ_1..θ_{K-1}),

    Ψ(x, y) = (y·x, -1, ..., -1, 0, ..., 0)        (y minus-ones)
    w·Ψ(x, y) = y·(v·x) - Σ_{k<=y} θ_k,

so grades are scored on one line with learnt steps. Loss: absolute error |y - ŷ|. Inference
and loss-augmented inference are an argmax over the K grades of a cumulative sum; the
oracles here are plain numpy and are checked against brute-force enumeration below.

Run:  python examples/custom_task.py
"""
from __future__ import annotations

import tempfile

import numpy as np

from structpred import StructuredModel, StructuredSVM, load
from structpred.testing import exhaustive_inference, exhaustive_loss_augmented_inference


class OrdinalRegression(StructuredModel):
    """Ordinal regression as a structural SVM (grades 0..n_grades-1, absolute-error loss)."""

    def __init__(self, n_grades: int, n_features: int):
        super().__init__()
        self.n_grades = n_grades
        self.n_features = n_features
        self.size_joint_feature = n_features + n_grades - 1

    def check_input(self, X, Y=None):
        for i, x in enumerate(X):
            if np.shape(x) != (self.n_features,) or not np.all(np.isfinite(x)):
                raise ValueError(f"example {i}: x must be {self.n_features} finite features")
        for i, y in enumerate(Y if Y is not None else []):
            if not 0 <= int(y) < self.n_grades:
                raise ValueError(f"example {i}: grade {y} outside [0, {self.n_grades})")

    def joint_feature(self, x, y):
        psi = np.zeros(self.size_joint_feature)
        psi[: self.n_features] = y * np.asarray(x, dtype=float)
        psi[self.n_features: self.n_features + y] = -1.0
        return psi

    def loss(self, y, y_hat):
        return float(abs(int(y) - int(y_hat)))

    def max_loss(self, y):
        return float(max(y, self.n_grades - 1 - y))

    def _grade_scores(self, x, w):
        v, theta = w[: self.n_features], w[self.n_features:]
        grades = np.arange(self.n_grades)
        return grades * float(v @ x) - np.concatenate([[0.0], np.cumsum(theta)])

    def inference(self, x, w):
        return int(np.argmax(self._grade_scores(x, w)))

    def loss_augmented_inference(self, x, y, w):
        scores = self._grade_scores(x, w) + np.abs(np.arange(self.n_grades) - int(y))
        return int(np.argmax(scores))


def make_data(n, n_features=5, n_grades=5, seed=0):
    """Grades from a noisy linear score cut at fixed thresholds."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features))
    score = X @ rng.normal(size=n_features) + 0.3 * rng.normal(size=n)
    cuts = np.quantile(score, np.linspace(0, 1, n_grades + 1)[1:-1])
    return X, np.searchsorted(cuts, score)


def check_oracles(model, X, Y, n_checks=200, seed=0):
    """Every oracle against brute-force enumeration of the grades; returns the count checked."""
    rng = np.random.default_rng(seed)
    grades = range(model.n_grades)
    for i in range(n_checks):
        w = rng.normal(size=model.size_joint_feature)
        x, y = X[i % len(X)], int(Y[i % len(Y)])
        _, best = exhaustive_inference(model, x, w, grades)
        assert np.isclose(w @ model.joint_feature(x, model.inference(x, w)), best)
        y_hat = model.loss_augmented_inference(x, y, w)
        _, best = exhaustive_loss_augmented_inference(model, x, y, w, grades)
        assert np.isclose(model.loss(y, y_hat) + w @ model.joint_feature(x, y_hat), best)
    return n_checks


def main():
    X, Y = make_data(400)
    Xtr, Ytr, Xte, Yte = X[:300], Y[:300], X[300:], Y[300:]
    model = OrdinalRegression(n_grades=5, n_features=X.shape[1])
    print(f"oracles match brute force on {check_oracles(model, Xtr, Ytr)} random instances")
    svm = StructuredSVM(model, C=100.0, eps=1e-3).fit(Xtr, Ytr)
    mae = np.mean(np.abs(np.array(svm.predict(Xte)) - Yte))
    baseline = np.mean(np.abs(np.median(Ytr) - Yte))
    print(f"trained in {svm.n_iter_} iterations: primal {svm.primal_objective_:.4f}, "
          f"gap {svm.duality_gap_:.2e}")
    print(f"test mean absolute error {mae:.3f} (predicting the median grade: {baseline:.3f})")
    with tempfile.TemporaryDirectory() as tmp:   # a task of your own loads when you name it
        svm.save(f"{tmp}/ordinal.npz")
        again = load(f"{tmp}/ordinal.npz", tasks=[OrdinalRegression])
        assert np.array_equal(again.predict(Xte), svm.predict(Xte))
    print("saved and loaded: same predictions")
    return mae, baseline


if __name__ == "__main__":
    main()
