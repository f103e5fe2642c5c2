"""Multi-label classification with a tree of label interactions (a structural SVM and a CRF).

x is a feature vector (dense, or a sparse 1 x d row), y ∈ {0, 1}^L. The joint feature map is

    Ψ(x, y) = [ y_1 x̃, ..., y_L x̃,  (1[y_a = s, y_b = t])_{e = (a, b) ∈ edges, s, t ∈ {0, 1}} ]

with x̃ = (x, 1) when ``bias`` (else x): one block of unary weights per label, then 4 indicator
features per edge of the label tree. Weights: w = [W (L x F̃, row-major), P (E x 2 x 2)], so
w·Ψ(x, y) = Σ_l y_l W_l·x̃ + Σ_e P_e(y_a, y_b). Loss: Hamming, Δ(y, y') = Σ_l 1[y_l ≠ y'_l]
(max_loss = L). Without edges the labels are independent (one-vs-rest with a joint margin).

Every oracle is exact dynamic programming on the tree (a forest): max-product for
``inference``, the same with the Hamming loss folded into the unaries for
``loss_augmented_inference``; sum-product in log space for log Z, the marginals, log π and its
gradient; forward filtering / backward sampling for ``sample``; the expected Hamming loss
Σ_l P(y'_l ≠ y_l) from the marginals (exact, standard error 0); and the slack-rescaling
oracle argmax_y' Δ(y, y')(1 + w·Ψ(x, y') − w·Ψ(x, y)), exact by a tree DP over (label,
mismatches in the subtree) in O(L²) per example.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ...boundary.arrays import MAX_SIZE_JOINT_FEATURE, check_csr
from ...boundary.params import check_int, check_state
from ...errors import MAX_ABS_FEATURE, InvalidInputError
from ...boundary.params import check_n_samples
from ...logspace import as_generator
from ...model import StructuredModel
from . import kernels
from .tree import check_edges, chow_liu_edges, root_forest

__all__ = ["MultiLabel", "MultiLabelBatch"]


class MultiLabelBatch:
    """Examples stacked: ``X`` (n x F dense float64 array or CSR matrix), ``Y`` ((n, L) int8
    0/1 array, or None for prediction)."""

    def __init__(self, X, Y=None):
        self.X = X
        self.Y = Y

    def __len__(self):
        return self.X.shape[0]


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


class MultiLabel(StructuredModel):
    """Multi-label task: unary label features x ⊗ y_l and pairwise label features on a tree.

    Parameters
    ----------
    n_labels, n_features : int or None
        L and the number of features; read off the training data by ``initialize`` when None.
    edges : None, "chow-liu" or list of (k, l) label pairs
        The label tree (a forest): None for independent labels, a list of pairs (no cycles,
        self-loops or duplicates), or "chow-liu" for the maximum spanning tree of the labels'
        empirical mutual information, learnt from Y by ``initialize``.
    bias : bool
        Append a constant 1 to x (one bias weight per label).

    Attributes
    ----------
    n_labels_, n_features_ : int
        The sizes in use.
    edges_ : ndarray of shape (E, 2)
        The edges in use (the Chow-Liu tree after ``initialize``).

    Examples
    --------
    >>> from structpred import StructuredSVM
    >>> svm = StructuredSVM(MultiLabel(edges="chow-liu"), C=10.0).fit(X, Y)  # doctest: +SKIP
    """

    #: Largest size_joint_feature accepted (2 GiB of float64 weights).
    max_weights = 2 ** 28

    #: fit takes X as one scipy sparse matrix (one row per example), as scikit-learn does
    accepts_sparse_matrix = True

    def __init__(self, n_labels: int | None = None, n_features: int | None = None,
                 edges=None, bias: bool = True):
        super().__init__()
        for name, v in (("n_labels", n_labels), ("n_features", n_features)):
            if v is not None and (not _is_int(v) or v < 1):
                raise InvalidInputError(f"{name} must be a positive integer or None, got {v!r}")
        if not isinstance(bias, (bool, np.bool_)):
            raise InvalidInputError(f"bias must be True or False, got {bias!r}")
        if not (edges is None or (isinstance(edges, str) and edges == "chow-liu")):
            if isinstance(edges, str):
                raise InvalidInputError(f"edges must be None, 'chow-liu' or a list of (k, l) "
                                        f"label pairs, got {edges!r}")
            check_edges(edges, n_labels)
        self.n_labels = n_labels
        self.n_features = n_features
        self.edges = edges
        self.bias = bias
        self.n_labels_ = None if n_labels is None else int(n_labels)
        self.n_features_ = None if n_features is None else int(n_features)
        self.edges_ = None
        if self.n_labels_ is not None and edges != "chow-liu":
            self._set_edges(np.zeros((0, 2), np.int64) if edges is None
                            else check_edges(edges, self.n_labels_))
        self._set_size()

    def get_params(self, deep: bool = True):
        """Constructor parameters; an ``edges`` array is returned as a list of pairs (JSON-able
        for model files)."""
        params = super().get_params(deep)
        if isinstance(params.get("edges"), np.ndarray):
            params["edges"] = params["edges"].tolist()
        return params

    # ------------------------------------------------------------- sizes and state
    def _set_edges(self, edges):
        self.edges_ = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
        self._tree = root_forest(self.edges_, self.n_labels_)

    def _set_size(self):
        if self.n_labels_ is not None and self.n_features_ is not None and self.edges_ is not None:
            self.size_joint_feature = (self.n_labels_ * (self.n_features_ + int(self.bias))
                                       + 4 * len(self.edges_))
        else:
            self.size_joint_feature = None

    @property
    def n_edges_(self) -> int:
        """Number of label-tree edges (0 for independent labels)."""
        return 0 if self.edges_ is None else len(self.edges_)

    @classmethod
    def tiny_example(cls, random_state=0):
        """A tiny valid training set (task, X, Y) for the registry-driven battery
        (tests/test_registry_battery.py): 8 examples, 3 features, 3 labels on a chain."""
        rng = np.random.default_rng(random_state)
        X = rng.normal(size=(8, 3))
        Y = (X + 0.3 * rng.normal(size=(8, 3)) > 0).astype(np.int64)
        Y[0] = [1, 1, 0]
        Y[1] = [0, 0, 1]
        return cls(edges=[[0, 1], [1, 2]]), X, Y

    def get_state(self):
        """Learnt sizes and the label tree (edges_, an (E, 2) array) for the model file."""
        return {"n_labels_": self.n_labels_, "n_features_": self.n_features_,
                "edges_": None if self.edges_ is None else self.edges_.copy()}

    def set_state(self, state):
        """Restore ``get_state``'s values: sizes None or positive integers, ``edges_`` None or
        integer label pairs forming a forest; any other key is refused (InvalidInputError
        naming it)."""
        def size(v, n):
            return None if v is None else check_int(v, n, 1, MAX_SIZE_JOINT_FEATURE)
        st = check_state(state, "MultiLabel", {"n_labels_": size, "n_features_": size,
                                               "edges_": lambda v, n: v})
        if st.get("n_labels_") and st.get("n_features_") and \
                st["n_labels_"] * (st["n_features_"] + 1) > MAX_SIZE_JOINT_FEATURE:
            raise InvalidInputError("MultiLabel state 'n_labels_' x 'n_features_' exceeds "
                                    f"MAX_SIZE_JOINT_FEATURE={MAX_SIZE_JOINT_FEATURE}")
        for key in ("n_labels_", "n_features_"):
            if st.get(key) is not None:
                setattr(self, key, st[key])
        edges = st.get("edges_")
        if edges is not None and self.n_labels_ is not None:
            arr = np.asarray(edges)
            if arr.size and (arr.dtype.kind not in "iu" or arr.size % 2):
                raise InvalidInputError("MultiLabel state 'edges_' must be integer label pairs")
            self._set_edges(check_edges(arr.reshape(-1, 2).tolist(), self.n_labels_, "edges_"))
        self._set_size()

    def initialize(self, X, Y):
        """Sizes from the data (unless given) and, for edges="chow-liu", the Chow-Liu tree of Y."""
        X = self._as_matrix(X)
        self.n_features_ = int(X.shape[1]) if self.n_features is None else int(self.n_features)
        labels = self._as_labels(Y, self.n_labels)
        self.n_labels_ = int(labels.shape[1]) if self.n_labels is None else int(self.n_labels)
        if self.n_labels_ < 1:
            raise InvalidInputError("Y has no label columns")
        if self.edges is None:
            edges = np.zeros((0, 2), np.int64)
        elif isinstance(self.edges, str):
            edges = chow_liu_edges(labels)
        else:
            edges = check_edges(self.edges, self.n_labels_)
        self._set_edges(edges)
        self._set_size()
        if self.size_joint_feature > self.max_weights:
            raise InvalidInputError(f"the model would need {self.size_joint_feature:,} weights, "
                                    f"more than max_weights={self.max_weights:,}")

    def max_loss(self, y) -> float:
        """Largest Hamming loss: n_labels_."""
        return float(self.n_labels_)

    # ------------------------------------------------------------- input conversion and checks
    @staticmethod
    def _as_matrix(X):
        """X as a dense float64 (n, F) array, or CSR when X is sparse or a list of sparse rows."""
        if sp.issparse(X):
            if X.ndim != 2:
                raise InvalidInputError(f"X must be 2-D (examples x features), got shape {X.shape}")
            # index arrays checked before scipy or a kernel reads them (names the example)
            return sp.csr_matrix(check_csr(X, "X", rows_are_examples=True), dtype=np.float64)
        if isinstance(X, np.ndarray) and X.dtype != object:
            if X.ndim != 2:
                raise InvalidInputError(f"X must be 2-D (examples x features), got shape {X.shape}")
            if X.dtype.kind not in "biuf":
                raise InvalidInputError(f"X must hold real numbers, got dtype {X.dtype}")
            return np.ascontiguousarray(X, dtype=np.float64)
        rows, sparse = [], False
        for i, x in enumerate(X):
            if sp.issparse(x):
                r = sp.csr_matrix(check_csr(x, f"X[{i}]", index=i), dtype=np.float64)
                if r.shape[0] != 1:
                    r = r.reshape(1, -1).tocsr()
                sparse = True
            else:
                try:
                    r = np.asarray(x)
                    if r.dtype == object:
                        r = r.astype(np.float64)
                except (ValueError, TypeError) as exc:
                    raise InvalidInputError(f"X[{i}]: not a feature vector of real numbers ({exc})",
                                            i) from None
                if r.dtype.kind not in "biuf" or sum(d > 1 for d in r.shape) > 1:
                    raise InvalidInputError(f"X[{i}]: expected a vector of real numbers, got "
                                            f"dtype {r.dtype}, shape {r.shape}", i)
                r = r.astype(np.float64).reshape(1, -1)
            rows.append(r)
        if not rows:
            return np.zeros((0, 0))
        width = rows[0].shape[1]
        for i, r in enumerate(rows):
            if r.shape[1] != width:
                raise InvalidInputError(f"ragged X: X[{i}] has {r.shape[1]} features, X[0] has "
                                        f"{width}", i)
        if sparse:
            return sp.vstack([sp.csr_matrix(r) for r in rows], format="csr")
        return np.vstack(rows)

    def _as_labels(self, Y, n_labels=None) -> np.ndarray:
        """Y as an (n, L) int8 array; InvalidInputError naming Y[i] when a row is not a 0/1
        vector or has another width than the others (or than ``n_labels``)."""
        if isinstance(Y, np.ndarray) and Y.dtype != object and Y.ndim == 2:
            arr = Y
        else:
            rows = []
            for i, y in enumerate(Y):
                try:
                    r = np.asarray(y)
                except (ValueError, TypeError) as exc:
                    raise InvalidInputError(f"Y[{i}]: not a 0/1 label vector ({exc})", i) from None
                if r.ndim != 1:
                    raise InvalidInputError(f"Y[{i}]: expected a 1-D 0/1 label vector, got shape "
                                            f"{r.shape}", i)
                rows.append(r)
            widths = {r.shape[0] for r in rows}
            if len(widths) > 1:
                first = rows[0].shape[0]
                bad = next(i for i, r in enumerate(rows) if r.shape[0] != first)
                raise InvalidInputError(f"Y[{bad}] has {rows[bad].shape[0]} labels, Y[0] has "
                                        f"{first}", bad)
            try:
                arr = np.array(rows) if rows else np.zeros((0, n_labels or 0))
            except (ValueError, TypeError) as exc:
                raise InvalidInputError(f"Y must be 0/1 label vectors ({exc})") from None
        if arr.ndim != 2:
            raise InvalidInputError(f"Y must be 2-D (examples x labels), got shape {arr.shape}")
        if arr.dtype.kind not in "biuf":
            raise InvalidInputError(f"Y must hold 0/1 labels, got dtype {arr.dtype}")
        if n_labels is not None and arr.shape[1] != n_labels:
            raise InvalidInputError(f"Y has {arr.shape[1]} labels per example, the task expects "
                                    f"{n_labels}", 0 if arr.shape[0] else None)
        ok = (arr == 0) | (arr == 1)
        if not ok.all():
            i, l = (int(v) for v in np.argwhere(~ok)[0])
            raise InvalidInputError(f"Y[{i}] is not a 0/1 vector: label {l} is "
                                    f"{arr[i, l].tolist()!r}", i)
        return np.ascontiguousarray(arr, dtype=np.int8)

    def check_input(self, X, Y=None):
        """InvalidInputError naming the example: X not a real matrix/ragged rows, a width
        other than n_features, NaN/inf or |value| > MAX_ABS_FEATURE; Y not 0/1, of a width
        other than n_labels, or of another length than X."""
        X = self._as_matrix(X)
        n = X.shape[0]
        if self.n_features_ is not None and n and X.shape[1] != self.n_features_:
            raise InvalidInputError(f"X has {X.shape[1]} features per example, the task expects "
                                    f"{self.n_features_}")
        if sp.issparse(X):
            bad_vals = ~(np.abs(X.data) <= MAX_ABS_FEATURE)
            bad = np.unique(np.repeat(np.arange(n), np.diff(X.indptr))[bad_vals])
        else:
            bad = np.flatnonzero(~(np.abs(X) <= MAX_ABS_FEATURE).all(axis=1))
        if len(bad):
            i = int(bad[0])
            raise InvalidInputError(f"X[{i}] has NaN, infinite or too large (> "
                                    f"{MAX_ABS_FEATURE:g}) features", i)
        if Y is not None:
            labels = self._as_labels(Y, self.n_labels_)
            if labels.shape[0] != n:
                raise InvalidInputError(f"X has {n} examples but Y has {labels.shape[0]}")

    # ------------------------------------------------------------- weights and potentials
    def _split(self, w):
        w = np.asarray(w, dtype=np.float64).ravel()
        if w.shape[0] != self.size_joint_feature:
            raise InvalidInputError(f"w has length {w.shape[0]}, the task expects "
                                    f"{self.size_joint_feature}")
        L, F = self.n_labels_, self.n_features_ + int(self.bias)
        return w[:L * F].reshape(L, F), w[L * F:].reshape(-1, 2, 2)

    def _unary(self, X, W):
        """(n, L) unary scores W_l·x̃_i; InvalidInputError naming the example on overflow."""
        F = self.n_features_
        with np.errstate(over="ignore", invalid="ignore"):
            U = np.asarray(X @ W[:, :F].T, dtype=np.float64).reshape(X.shape[0], -1)
            if self.bias:
                U = U + W[:, F]
        bad = np.flatnonzero(~np.isfinite(U).all(axis=1))
        if bad.size:
            i = int(bad[0])
            raise InvalidInputError(f"example {i}: the label scores w·Ψ overflow float64 "
                                    "(weights or features too large)", i)
        return U

    def _theta(self, batch, w, augment=False):
        W, P = self._split(w)
        U = self._unary(batch.X, W)
        theta = np.zeros(U.shape + (2,))
        theta[:, :, 1] = U
        if augment:                                  # Hamming loss: +1 where y'_l ≠ y_l
            Y = batch.Y.astype(np.int64)
            theta[:, :, 1] += 1 - Y
            theta[:, :, 0] += Y
        return theta, np.ascontiguousarray(P)

    def _xtilde(self, X):
        """x̃ = (x, 1) stacked, CSR (the unary blocks of Ψ)."""
        Xs = sp.csr_matrix(X, dtype=np.float64)
        if self.bias:
            Xs = sp.hstack([Xs, np.ones((Xs.shape[0], 1))], format="csr")
        return Xs

    def _pair_index(self, Y):
        """(n, E) index s·2 + t of each edge's label pair (y_a, y_b)."""
        Y = np.asarray(Y, dtype=np.int64)
        if self.n_edges_ == 0:
            return np.zeros((Y.shape[0], 0), dtype=np.int64)
        return 2 * Y[:, self.edges_[:, 0]] + Y[:, self.edges_[:, 1]]

    def _scores(self, batch, w, Y):
        """w·Ψ(x_i, y_i) for the (n, L) labels Y."""
        W, P = self._split(w)
        U = self._unary(batch.X, W)
        Y = np.asarray(Y, dtype=np.int64)
        s = (U * Y).sum(axis=1)
        if self.n_edges_:
            s += P.reshape(-1, 4)[np.arange(self.n_edges_), self._pair_index(Y)].sum(axis=1)
        return s

    def _sum_product(self, batch, w, want_marginals):
        theta, P = self._theta(batch, w)
        logz, mu, mu2 = kernels.sum_product(theta, P, *self._tree, want_marginals)
        bad = np.flatnonzero(~np.isfinite(logz))
        if bad.size:
            i = int(bad[0])
            raise InvalidInputError(f"example {i}: log Z overflows float64 (weights or features "
                                    "too large)", i)
        return logz, mu, mu2

    # ------------------------------------------------------------- single-example forms
    def _one(self, x, y=None):
        X = self._as_matrix([x])
        return MultiLabelBatch(X, None if y is None else self._as_labels([y], self.n_labels_))

    def joint_feature(self, x, y):
        """Ψ(x, y) as a dense vector: the blocks y_l x̃, then the edge indicators."""
        b = self._one(x, y)
        Xt = self._xtilde(b.X).toarray()[0]
        y = b.Y[0].astype(np.float64)
        pair = np.zeros((self.n_edges_, 4))
        pair[np.arange(self.n_edges_), self._pair_index(b.Y)[0]] = 1.0
        return np.concatenate([np.outer(y, Xt).ravel(), pair.ravel()])

    def loss(self, y, y_hat):
        """Hamming loss Σ_l 1[y_l ≠ ŷ_l]."""
        return float(np.sum(np.asarray(y).ravel() != np.asarray(y_hat).ravel()))

    def inference(self, x, w):
        """argmax_y w·Ψ(x, y): exact max-product on the label tree (a 0/1 vector of n_labels)."""
        return self.batch_inference(self._one(x), w)[0]

    def loss_augmented_inference(self, x, y, w):
        """argmax_y' Δ(y, y') + w·Ψ(x, y') (Hamming folded into the unaries; exact on the tree)."""
        return self.batch_loss_augmented_inference(self._one(x, y), w)[0]

    def slack_rescaled_inference(self, x, y, w):
        """argmax_y' Δ(y, y')(1 + w·Ψ(x, y') − w·Ψ(x, y)) by the exact tree DP over labels x mismatches."""
        return self.batch_slack_rescaled_inference(self._one(x, y), w)[0]

    # ------------------------------------------------------------- batch forms
    def make_batch(self, X, Y=None):
        """The batch: X as one dense or CSR (n, n_features) matrix, Y as an (n, n_labels) 0/1 array."""
        return MultiLabelBatch(self._as_matrix(X),
                               None if Y is None else self._as_labels(Y, self.n_labels_))

    def batch_inference(self, batch, w, n_jobs=1):
        """(n, L) int64 array of argmax_y w·Ψ(x_i, y) (max-product on the tree)."""
        theta, P = self._theta(batch, w)
        return kernels.max_product(theta, P, *self._tree)[0].astype(np.int64)

    def batch_loss_augmented_inference(self, batch, w, n_jobs=1):
        """(n, L) argmax_y' Δ(y_i, y') + w·Ψ(x_i, y') (Hamming folded into the unaries)."""
        theta, P = self._theta(batch, w, augment=True)
        return kernels.max_product(theta, P, *self._tree)[0].astype(np.int64)

    def batch_slack_rescaled_inference(self, batch, w, n_jobs=1):
        """(n, L) argmax_y' Δ(y_i, y')(1 + w·Ψ(x_i, y') − w·Ψ(x_i, y_i)) (exact tree DP)."""
        theta, P = self._theta(batch, w)
        Y = np.ascontiguousarray(batch.Y, dtype=np.int8)
        return kernels.slack_rescaled(theta, P, *self._tree, Y).astype(np.int64)

    def batch_loss(self, batch, Y_hat):
        """[Δ(y_i, ŷ_i)]: the Hamming loss of each example, as floats."""
        return (np.asarray(Y_hat) != batch.Y).sum(axis=1).astype(np.float64)

    def batch_delta_joint_feature(self, batch, Y_hat):
        """Row i: (y_il − ŷ_il) x̃_i in block l, +1 / −1 at the true / predicted pair of each edge."""
        Y_hat = np.asarray(Y_hat, dtype=np.int64)
        Y = batch.Y.astype(np.int64)
        n, E = len(batch), self.n_edges_
        Xt = self._batch_xtilde(batch)
        Ft = Xt.shape[1]
        ex, lab = np.nonzero(Y != Y_hat)
        starts, lengths = Xt.indptr[ex], np.diff(Xt.indptr)[ex]
        total = int(lengths.sum())
        offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
        idx = (np.arange(total) + offsets).astype(np.int64)
        rows = [np.repeat(ex, lengths)]
        cols = [np.repeat(lab * Ft, lengths) + Xt.indices[idx]]
        vals = [np.repeat((Y - Y_hat)[ex, lab].astype(np.float64), lengths) * Xt.data[idx]]
        if E:
            true, pred = self._pair_index(Y), self._pair_index(Y_hat)
            pi, pe = np.nonzero(true != pred)
            base = self.n_labels_ * Ft + 4 * pe
            rows += [pi, pi]
            cols += [base + true[pi, pe], base + pred[pi, pe]]
            vals += [np.ones(len(pi)), -np.ones(len(pi))]
        out = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                            shape=(n, self.size_joint_feature)).tocsr()
        out.eliminate_zeros()
        out.sort_indices()
        return out

    def _batch_xtilde(self, batch):
        """x̃ of the batch as CSR, built once per batch."""
        Xt = getattr(batch, "_xtilde", None)
        if Xt is None:
            Xt = batch._xtilde = self._xtilde(batch.X)
        return Xt

    # ------------------------------------------------------------- probabilistic hooks
    def log_partition(self, x, w) -> float:
        """log Z(x; w) by sum-product in log space (exact)."""
        return float(self._sum_product(self._one(x), w, False)[0][0])

    def log_prob(self, x, y, w) -> float:
        """log π_w(y|x) = w·Ψ(x, y) − log Z(x; w) (exact)."""
        return float(self.batch_log_prob(self._one(x, y), w)[0])

    def log_prob_grad(self, x, y, w) -> np.ndarray:
        """Ψ(x, y) − E_π[Ψ(x, ·)] from the node and edge marginals (exact)."""
        return self.batch_log_prob_grad(self._one(x, y), w, np.ones(1))[1]

    def marginals(self, x, w) -> np.ndarray:
        """(L,) P(y_l = 1 | x) under π_w (exact)."""
        return self.batch_marginals(self._one(x), w)[0]

    def pairwise_marginals(self, x, w) -> np.ndarray:
        """(E, 2, 2): P(y_a = s, y_b = t | x) for each edge (a, b) of ``edges_`` (exact)."""
        return self.batch_edge_marginals(self._one(x), w)[0]

    def sample(self, x, w, n: int, random_state=None) -> list:
        """n label vectors drawn from π_w(·|x) (forward filtering, backward sampling)."""
        return self.batch_sample(self._one(x), w, n, random_state)[0]

    def expected_loss(self, x, y, w, n_samples: int = 1000, random_state=None):
        """(Σ_l P(y'_l ≠ y_l), 0.0): the expected Hamming loss, exact from the marginals."""
        means, errs = self.batch_expected_loss(self._one(x, y), w)
        return float(means[0]), float(errs[0])

    def batch_marginals(self, batch, w, n_jobs: int = 1) -> np.ndarray:
        """(n, L) P(y_il = 1 | x_i) by sum-product (exact)."""
        return self._sum_product(batch, w, True)[1]

    def batch_edge_marginals(self, batch, w, n_jobs: int = 1) -> np.ndarray:
        """(n, E, 2, 2) P(y_a = s, y_b = t | x_i) for each edge (a, b) (exact)."""
        return self._sum_product(batch, w, True)[2]

    def predict_proba(self, batch, w) -> np.ndarray:
        """(n, L) P(y_l = 1 | x_i), as scikit-learn's multi-label predict_proba columns."""
        return self.batch_marginals(batch, w)

    def _labels_for(self, batch, Y):
        if Y is None:
            if batch.Y is None:
                raise ValueError("MultiLabel: the batch was built without Y; pass Y")
            return batch.Y
        Y = self._as_labels(Y, self.n_labels_)
        if Y.shape[0] != len(batch):
            raise InvalidInputError(f"Y has {Y.shape[0]} examples, the batch {len(batch)}")
        return Y

    def batch_log_prob(self, batch, w, Y=None, n_jobs: int = 1) -> np.ndarray:
        """[w·Ψ(x_i, y_i) − log Z(x_i)] (exact up to rounding; capped at 0, which rounding
        could otherwise exceed when the scores are huge)."""
        Y = self._labels_for(batch, Y)
        logz = self._sum_product(batch, w, False)[0]
        return np.minimum(self._scores(batch, w, Y) - logz, 0.0)

    def batch_log_prob_grad(self, batch, w, coef, Y=None, n_jobs: int = 1):
        """(log π_w(y_i|x_i), Σ_i coef_i (Ψ(x_i, y_i) − E_π[Ψ(x_i, ·)])) (exact)."""
        Y = self._labels_for(batch, Y)
        coef = np.asarray(coef, dtype=np.float64).ravel()
        logz, mu, mu2 = self._sum_product(batch, w, True)
        lp = np.minimum(self._scores(batch, w, Y) - logz, 0.0)
        R = coef[:, None] * (Y - mu)                       # (n, L)
        g_unary = np.asarray(self._batch_xtilde(batch).T @ R).T  # (L, F̃)
        E = self.n_edges_
        g_pair = np.zeros((E, 4))
        if E:
            onehot = np.zeros((len(batch), E, 4))
            onehot[np.arange(len(batch))[:, None], np.arange(E)[None, :], self._pair_index(Y)] = 1.0
            g_pair = np.einsum("i,iek->ek", coef, onehot - mu2.reshape(len(batch), E, 4))
        return lp, np.concatenate([g_unary.ravel(), g_pair.ravel()])

    def batch_sample_array(self, batch, w, n: int, random_state=None) -> np.ndarray:
        """(n_examples, n, L) int8 draws from π_w(·|x_i) (forward filtering, backward
        sampling); one numpy Generator seeded from ``random_state`` gives all the uniforms."""
        n = check_n_samples(n, "n")
        theta, P = self._theta(batch, w)
        rng = as_generator(random_state)
        uniforms = rng.random((len(batch), int(n), self.n_labels_))
        return kernels.sample_tree(theta, P, *self._tree, uniforms)

    def batch_sample(self, batch, w, n: int, random_state=None, n_jobs: int = 1) -> list:
        """[list of n int64 label vectors drawn from π_w(·|x_i) for each i]."""
        draws = self.batch_sample_array(batch, w, n, random_state).astype(np.int64)
        return [list(d) for d in draws]

    def batch_expected_loss(self, batch, w, n_samples: int = 1000, random_state=None):
        """(Σ_l P(y'_il ≠ y_il) per example, zeros): exact from the marginals."""
        Y = self._labels_for(batch, None)
        mu = self.batch_marginals(batch, w)
        means = np.where(Y == 1, 1.0 - mu, mu).sum(axis=1)
        return means, np.zeros(len(batch))
