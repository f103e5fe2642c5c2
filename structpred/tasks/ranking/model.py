"""SVM-rank and Propensity SVM-rank as structural SVMs (Joachims KDD 2002 / KDD 2006; WSDM 2017).

An example is one query: x is its documents' feature matrix (m x f, dense or CSR), y their
relevance grades (any real numbers; only their order matters). The preference pairs are
P = {(i, j): g_i > g_j}; an output ŷ labels every pair ŷ_ij = +1 (kept) or -1 (swapped).

    Ψ(x, ŷ) = (ω/2Z) Σ_{(i,j)∈P} ŷ_ij (x_i - x_j)        Δ(y, ŷ) = (ω/Z) Σ_{(i,j)∈P} (1 - ŷ_ij)/2

with ω = 1 (SVM-rank) or the click's inverse propensity (Propensity SVM-rank), and Z = 1 for
``loss="pairs"`` (number of swapped pairs, svm_rank ``-l 1``, its default) or Z = |P| for
``loss="fraction"`` (fraction of swapped pairs, svm_rank ``-l 2``). This is svm_rank's Ψ
(factor ±½ per pair) and loss. A ranking r (e.g. the scores Xw) stands for ŷ_ij = sign(r_i -
r_j); a tie counts as half a swap. Margin rescaling turns the 1-slack objective into

    ½‖w‖² + (C/n) Σ_q (ω_q/Z_q) Σ_{(i,j)∈P_q} max(0, 1 - w·(x_i - x_j)),

the pairwise RankSVM: with ``loss="pairs"`` it is SVM-light ``-z p`` with C_light = C/n (and
scikit-learn's LinearSVC(loss="hinge", fit_intercept=False) on the pair differences with
C_sklearn = C/n). n counts every query, including queries without pairs (they add 0), as in
svm_rank, so structpred's C is svm_rank's ``-c``.

Inference: sort by score (``inference`` returns the scores s = Xw; rank = order of -s).
Oracle: the O(m log m) sweep of ``kernels.rank_oracle``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from ...boundary.arrays import MAX_SIZE_JOINT_FEATURE, check_matrix, check_scores
from ...boundary.params import check_choice, check_int, check_positive, check_real, check_state
from ...errors import MAX_ABS_FEATURE, InvalidInputError
from ...model import StructuredModel
from ...labels.clicks import Click
from . import plackett_luce as _pl
from .flat import join_scores, split_queries
from .kernels import pair_counts, rank_oracle

__all__ = ["Ranking", "PropensityRanking", "PairLabelling", "Click", "RankingBatch",
           "stack_queries", "swapped_pairs"]

LOSSES = ("pairs", "fraction")
#: Largest accepted click weight (inverse propensity): a propensity below 1e-6 is not an
#: estimate anyone can trust, and larger weights swamp the objective (1e300 ends at w = 0).
#: Clip the weights (``clip=``) instead.
MAX_CLICK_WEIGHT = 1e6


class PairLabelling(NamedTuple):
    """An output ŷ of one query, by what the solvers need: Ψ(x, ŷ) = coefᵀ X and Δ(y, ŷ)."""
    coef: np.ndarray
    loss: float


#: Rows of float32 documents cast to float64 at a time (about 1.5 MB at 46 features: in cache).
_ROWS_PER_CAST = 1 << 12


def stack_queries(X):
    """(stacked documents x features matrix, offsets): CSR when any query is sparse."""
    sizes = [x.shape[0] for x in X]
    offsets = np.zeros(len(X) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    shared = _consecutive_rows(X, offsets)
    if shared is not None:
        Xs = shared
    elif any(sp.issparse(x) for x in X):
        Xs = sp.vstack([sp.csr_matrix(x, dtype=np.float64) for x in X], format="csr")
    elif X:
        Xs = np.ascontiguousarray(np.vstack([np.asarray(x, dtype=np.float64) for x in X]))
    else:
        Xs = np.zeros((0, 0))
    return Xs, offsets


def _valid_stacked(X, Y, n_features):
    """True when the queries are consecutive row views of one float array (as load_letor
    returns them) that passes Ranking.check_input's tests all at once: at least one document
    per query, n_features columns, finite values within MAX_ABS_FEATURE, and one finite real
    grade per document (1-D numeric arrays). False means only "not shown": the per-query
    checks then run and name the query at fault."""
    if not X or not all(isinstance(x, np.ndarray) and x.ndim == 2 for x in X):
        return False
    sizes = np.array([x.shape[0] for x in X], dtype=np.int64)
    offsets = np.zeros(len(X) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    base = _consecutive_rows(X, offsets)
    if base is None or sizes.min() < 1 or (n_features is not None
                                            and base.shape[1] != n_features):
        return False
    with np.errstate(invalid="ignore", over="ignore"):
        for a in range(0, base.shape[0], 1 << 16):       # NaN compares False
            if not (np.abs(base[a:a + (1 << 16)]) <= MAX_ABS_FEATURE).all():
                return False
    if Y is not None:
        if not all(isinstance(y, np.ndarray) and y.ndim == 1 and y.dtype.kind in "biuf"
                   for y in Y):
            return False
        if not np.array_equal([y.shape[0] for y in Y], sizes):
            return False
        if not all(np.isfinite(y).all() for y in Y if y.dtype.kind == "f"):
            return False
    return True


def _consecutive_rows(X, offsets):
    """The rows of one C-contiguous float64 (or float32) array when the queries are
    consecutive row views of it (as load_letor returns a dense file): that slice, with no
    copy; else None."""
    if not X or not all(isinstance(x, np.ndarray) for x in X):
        return None
    base = X[0].base
    if not (isinstance(base, np.ndarray) and base.ndim == 2
            and base.dtype in (np.float64, np.float32) and base.flags.c_contiguous):
        return None
    d = base.shape[1]
    row = d * base.dtype.itemsize
    start = X[0].__array_interface__["data"][0] - base.__array_interface__["data"][0]
    if start % row or d == 0:
        return None
    r0 = start // row
    for x, o in zip(X, offsets[:-1].tolist()):
        if (x.base is not base or x.ndim != 2 or x.shape[1] != d or not x.flags.c_contiguous
                or x.__array_interface__["data"][0] != base.__array_interface__["data"][0]
                + (r0 + o) * row):
            return None
    if r0 + int(offsets[-1]) > base.shape[0]:
        return None
    return base[r0:r0 + int(offsets[-1])]


def swapped_pairs(grades, r) -> float:
    """#{(i, j): g_i > g_j, r_i < r_j} + ½ #{(i, j): g_i > g_j, r_i = r_j}, in O(m log m).

    ``grades`` and ``r`` are 1-D arrays of finite real numbers, one score per grade; they are
    checked here, before the compiled kernel reads them (a shorter ``r`` would be read past its
    end). InvalidInputError naming the argument otherwise (a NaN compares false both ways and
    would give a count that means nothing)."""
    g = check_scores(grades, "grades")
    r = check_scores(r, "r", g.shape[0])
    return _swapped_pairs(g, r)


def _swapped_pairs(g, r) -> float:
    """``swapped_pairs`` on checked arrays (finite float64, equal lengths)."""
    rank, G = _dense_ranks(g)
    offsets = np.array([0, g.shape[0]], dtype=np.int64)
    coef, loss = np.zeros(g.shape[0]), np.zeros(1)
    rank_oracle(r, rank, offsets, np.array([G], dtype=np.int64), np.ones(1), coef, loss, 0.0)
    ties = 0.0
    _, inv = np.unique(r, return_inverse=True)
    for t in np.flatnonzero(np.bincount(inv) > 1):
        counts = np.unique(g[inv == t], return_counts=True)[1]
        ties += (counts.sum() ** 2 - np.sum(counts ** 2)) / 2.0
    return float(loss[0] + 0.5 * ties)


def _grade_arrays(grades, sizes):
    """For queries with the given grades (one array each, lengths ``sizes``), vectorised over
    all of them: per document the dense rank of its grade within its query (0 = lowest) and
    the numbers of documents of its query with a lower / a higher grade; per query the number
    of distinct grades and of preference pairs (what ``kernels.pair_counts`` computes query
    by query)."""
    n = len(sizes)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    N = int(offsets[-1])
    g = np.concatenate(grades) if n else np.zeros(0)
    q = np.repeat(np.arange(n), sizes)
    order = np.lexsort((g, q))       # by query, then grade (queries keep their offsets)
    gs = g[order]
    new = np.ones(N, dtype=bool)
    new[1:] = (q[1:] != q[:-1]) | (gs[1:] != gs[:-1])
    group = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    ends = np.r_[starts[1:], N]
    rank = np.empty(N, dtype=np.int64)
    lower = np.empty(N, dtype=np.int64)
    higher = np.empty(N, dtype=np.int64)
    n_grades = np.zeros(n, dtype=np.int64)
    if N:
        nonempty = offsets[1:] > offsets[:-1]
        first = np.zeros(n, dtype=np.int64)
        first[nonempty] = group[offsets[:-1][nonempty]]
        rank[order] = group - first[q]
        lower[order] = starts[group] - offsets[:-1][q]
        higher[order] = offsets[1:][q] - ends[group]
        n_grades[nonempty] = group[offsets[1:][nonempty] - 1] - first[nonempty] + 1
    pairs = np.bincount(q, weights=lower, minlength=n).astype(np.int64)
    return rank, n_grades, lower, higher, pairs, offsets


def _dense_ranks(values):
    """Dense rank of each value among the distinct values (0 = lowest) and their number."""
    uniq, inv = np.unique(values, return_inverse=True)
    return inv.astype(np.int64), len(uniq)


class RankingBatch:
    """Queries stacked into contiguous arrays: X (N x f), offsets (n+1), and for training
    grade ranks, per-query grade counts and scale ω/Z."""

    def __init__(self, X, offsets, Y=None, grade_rank=None, n_grades=None, scale=None,
                 truth_coef=None):
        self.X = X
        self.offsets = offsets
        self.Y = Y
        self.grade_rank = grade_rank
        self.n_grades = n_grades
        self.scale = scale
        self.truth_coef = truth_coef

    def __len__(self):
        return self.offsets.shape[0] - 1


class _Answer:
    """Oracle answers of a batch: per-document δΨ coefficients and per-query losses."""

    def __init__(self, delta_coef, loss):
        self.delta_coef = delta_coef
        self.loss = loss


class Ranking(StructuredModel):
    """SVM-rank: a linear scoring function w·x trained on within-query preference pairs.

    Parameters
    ----------
    n_features : int or None
        Read off the training data by ``initialize`` when None (w has this length).
    loss : {"pairs", "fraction"}
        Δ = number of swapped pairs (svm_rank ``-l 1``, default) or their fraction of |P|
        (``-l 2``). See the module docstring for Ψ and the C convention.
    """

    def from_flat(self, X, Y=None, *, qid=None, group=None):
        """Per-query lists (Xs, Ys) from flat X (n x f), grades y and ``qid`` or ``group``
        (``StructuredSVM.fit(X, y, qid=...)`` calls it; see ``split_queries``)."""
        return split_queries(X, Y, qid=qid, group=group)

    def to_flat(self, predictions, n, *, qid=None, group=None):
        """Per-query scores back into one array over the n rows of the flat X."""
        return join_scores(predictions, n, qid=qid, group=group)

    def __init__(self, n_features: int | None = None, loss: str = "pairs"):
        super().__init__()
        self.n_features = n_features
        self.loss_type = check_choice(loss, "loss", LOSSES)
        self.n_features_ = None if n_features is None else self._checked_n_features()
        self.size_joint_feature = self.n_features_

    def get_params(self, deep: bool = True):
        """Constructor parameters (``loss`` is stored as ``loss_type``: ``loss`` is Δ)."""
        return {"n_features": self.n_features, "loss": self.loss_type}

    def set_params(self, **params):
        """scikit-learn's set_params; ``loss`` sets ``loss_type`` (checked here); an unknown
        parameter is an InvalidInputError (a ValueError, as scikit-learn raises) naming it."""
        valid = self.get_params(deep=False)
        for key, value in params.items():
            if key not in valid:
                raise InvalidInputError(f"invalid parameter {key!r} for {type(self).__name__}; "
                                        f"valid parameters: {sorted(valid)}")
            if key == "loss":
                self.loss_type = check_choice(value, "loss", LOSSES)
            else:
                setattr(self, key, value)
        return self

    @classmethod
    def tiny_example(cls, random_state=0):
        """A tiny valid training set (task, X, Y) for the registry-driven battery
        (tests/test_registry_battery.py): every registered task provides one, so the
        battery's hostile variants of it reach the task's checks."""
        rng = np.random.default_rng(random_state)
        X = [rng.normal(size=(4, 3)) for _ in range(3)]
        Y = [np.array([2.0, 0.0, 1.0, 0.0]), np.array([0.0, 1.0, 1.0, 2.0]),
             np.array([1.0, 0.0, 0.0, 0.0])]
        return cls(), X, Y

    def _checked_n_features(self):
        return check_int(self.n_features, "n_features", 1, MAX_SIZE_JOINT_FEATURE)

    def get_state(self):
        """The learnt number of features (``n_features_``) for the model file; empty before fit."""
        return {} if self.n_features_ is None else {"n_features_": int(self.n_features_)}

    def set_state(self, state):
        """Restore ``n_features_`` (an integer in [1, MAX_SIZE_JOINT_FEATURE], equal to the
        constructor's n_features when that is set); any other key is refused."""
        spec = {"n_features_": lambda v, n: check_int(v, n, 1, MAX_SIZE_JOINT_FEATURE)}
        st = check_state(state, type(self).__name__, spec)
        if "n_features_" in st:
            if self.n_features is not None and st["n_features_"] != self._checked_n_features():
                raise InvalidInputError(f"{type(self).__name__} state 'n_features_' = "
                                        f"{st['n_features_']} differs from n_features = "
                                        f"{self.n_features}")
            self.n_features_ = st["n_features_"]
            self.size_joint_feature = self.n_features_

    # ------------------------------------------------------------- labels
    def grades_and_weight(self, y, m: int):
        """(grades array of length m, weight ω) of a label."""
        return np.asarray(y, dtype=np.float64).ravel(), 1.0

    def _query_arrays(self, y, m):
        grades, weight = self.grades_and_weight(y, m)
        rank, G = _dense_ranks(grades)
        offsets = np.array([0, m], dtype=np.int64)
        lower = np.zeros(m, dtype=np.int64)
        higher = np.zeros(m, dtype=np.int64)
        pairs = np.zeros(1, dtype=np.int64)
        pair_counts(rank, offsets, np.array([G], dtype=np.int64), lower, higher, pairs)
        Z = 1.0 if self.loss_type == "pairs" else float(pairs[0])
        scale = weight / Z if Z > 0 else 0.0
        return grades, rank, G, scale, lower, higher, int(pairs[0])

    # ------------------------------------------------------------- set-up and checks
    def initialize(self, X, Y):
        """n_features_ = n_features, or the first query's number of columns (the constructor
        parameter is never written, so a refit with another feature count works)."""
        self.loss_type = check_choice(self.loss_type, "loss", LOSSES)
        if self.n_features is not None:
            n = self._checked_n_features()
        elif len(X):
            shape = getattr(X[0], "shape", None)
            if shape is None or len(shape) != 2:
                raise InvalidInputError("query 0: x must be a 2-D documents x features matrix", 0)
            n = check_int(shape[1], "query 0: number of features", 1, MAX_SIZE_JOINT_FEATURE,
                          index=0)
        else:
            return
        self.n_features_ = n
        self.size_joint_feature = n

    def _expected_features(self):
        return self.n_features_ if self.n_features_ is not None else (
            None if self.n_features is None else self._checked_n_features())

    def check_input(self, X, Y=None):
        """InvalidInputError naming the query: x not a 2-D documents x features matrix (dense
        or sparse), no documents, another number of features, NaN/inf or |value| >
        MAX_ABS_FEATURE, a malformed CSR (a column index outside [0, n_features), a bad row
        pointer; see :func:`structpred.boundary.check_matrix`); y not one finite grade per
        document. Every query is checked before any kernel reads it."""
        n = self._expected_features()
        if Y is not None and len(X) != len(Y):
            raise InvalidInputError(f"X has {len(X)} queries but Y has {len(Y)}")
        if _valid_stacked(X, Y, n):
            return
        for i, x in enumerate(X):
            if not hasattr(x, "shape") or len(x.shape) != 2:
                raise InvalidInputError(f"query {i}: x must be a 2-D documents x features matrix", i)
            check_matrix(x, f"query {i}", n, index=i)
        if Y is not None:
            for i, (x, y) in enumerate(zip(X, Y)):
                self._check_label(i, y, x.shape[0])

    def _check_label(self, i, y, m):
        if isinstance(y, (str, bytes)):
            raise InvalidInputError(f"query {i}: y must hold one grade per document ({m}), got "
                                    "a string", i)
        check_scores(np.ravel(y) if np.ndim(y) == 0 else y, f"query {i}: grades", m, index=i)

    def n_pairs(self, y, m: int) -> int:
        """Number of preference pairs of a query with m documents and label y."""
        return int(self._query_arrays(y, m)[6])

    def batch_n_pairs(self, Y, sizes) -> np.ndarray:
        """Numbers of preference pairs of queries with ``sizes`` documents and labels Y, at once."""
        sizes = np.asarray(sizes, dtype=np.int64)
        grades = [self.grades_and_weight(y, int(m))[0] for y, m in zip(Y, sizes)]
        return _grade_arrays(grades, sizes)[4]

    def _label_grades(self, y, name="y"):
        """The grades of a label given to ``loss`` / ``max_loss`` (``score`` passes each query's
        y there): one finite real per document; InvalidInputError naming ``name`` otherwise."""
        if isinstance(y, (str, bytes)):
            raise InvalidInputError(f"{name} must hold one grade per document, got a string")
        return check_scores(np.ravel(y) if np.ndim(y) == 0 else y, f"{name} (grades)")

    def max_loss(self, y):
        """Δ of the fully reversed ranking: ω |P| / Z (y: one finite grade per document)."""
        g = self._label_grades(y)
        _, _, _, scale, _, _, pairs = self._query_arrays(g, g.shape[0])
        return scale * pairs

    # ------------------------------------------------------------- single-example forms
    def _truth_coef(self, y, m):
        _, _, _, scale, lower, higher, _ = self._query_arrays(y, m)
        return 0.5 * scale * (lower - higher).astype(np.float64)

    def joint_feature(self, x, y):
        """Ψ(x, ŷ) for a PairLabelling; for a label (grades / Click): Ψ of the all-correct
        labelling of its pairs, (ω/2Z) Σ_P (x_i - x_j)."""
        coef = y.coef if isinstance(y, PairLabelling) else self._truth_coef(y, x.shape[0])
        out = x.T @ coef if sp.issparse(x) else np.asarray(x, dtype=np.float64).T @ coef
        return np.asarray(out).ravel()

    def labelling(self, y, signs) -> PairLabelling:
        """The output ŷ_ij = signs[i, j] (±1, 0 for a tie) on the pairs of y (plain Python;
        for tests and references). ``signs`` is an m x m array read at the pairs g_i > g_j."""
        m = len(signs)
        grades, _ = self.grades_and_weight(y, m)
        _, _, _, scale, _, _, _ = self._query_arrays(y, m)
        coef = np.zeros(m)
        loss = 0.0
        for i in range(m):
            for j in range(m):
                if grades[i] > grades[j]:
                    sgn = float(signs[i][j])
                    coef[i] += 0.5 * scale * sgn
                    coef[j] -= 0.5 * scale * sgn
                    loss += scale * (1.0 - sgn) / 2.0
        return PairLabelling(coef, loss)

    def labelling_from_ranking(self, y, r) -> PairLabelling:
        """The output induced by a ranking vector r: ŷ_ij = sign(r_i - r_j)."""
        r = np.asarray(r, dtype=np.float64)
        return self.labelling(y, np.sign(r[:, None] - r[None, :]))

    def loss(self, y, y_hat):
        """Δ(y, ŷ) for a PairLabelling, or for a ranking vector r (ties count half a swap):
        (ω/Z) (#{g_i > g_j, r_i < r_j} + ½ #{g_i > g_j, r_i = r_j}).

        y (one finite grade per document) and r (one finite score per grade) are checked, as
        ``fit`` checks its labels: ``StructuredSVM.score`` calls this on each query's y, so a
        NaN, infinite or string grade or a y of another length is an InvalidInputError naming
        y (or y_hat), not a silently wrong score."""
        if isinstance(y_hat, PairLabelling):
            return float(y_hat.loss)
        g = self._label_grades(y)
        r = self._ranking_vector(y_hat, g.shape[0])
        _, _, _, scale, _, _, _ = self._query_arrays(g, g.shape[0])
        return float(scale * _swapped_pairs(g, r))

    @staticmethod
    def _ranking_vector(y_hat, m):
        r = check_scores(np.ravel(y_hat) if np.ndim(y_hat) == 0 else y_hat,
                         "y_hat (ranking scores)")
        if r.shape[0] != m:
            raise InvalidInputError(f"y has {m} grades but the ranking y_hat scores "
                                    f"{r.shape[0]} documents: one grade per document")
        return r

    def inference(self, x, w):
        """The scores w·x_d of the query's documents (sort them for the ranking)."""
        return np.asarray(x @ np.asarray(w, dtype=np.float64)).ravel()

    def loss_augmented_inference(self, x, y, w):
        """The most violated pair labelling: argmax_ŷ Δ(y, ŷ) + w·Ψ(x, ŷ) by the O(m log m) ranking
        oracle."""
        batch = self.make_batch([x], [y])
        ans = self.batch_loss_augmented_inference(batch, w)
        return PairLabelling(batch.truth_coef - ans.delta_coef, float(ans.loss[0]))

    # ------------------------------------------------------------- batch forms
    def make_batch(self, X, Y=None):
        """Stack the queries into one matrix with offsets; with Y, the grade ranks and scales the
        oracle reads."""
        Xs, offsets = stack_queries(list(X))
        if Y is None:
            return RankingBatch(Xs, offsets)
        sizes = np.diff(offsets)
        grades, weights = [], np.empty(len(sizes))
        for q, y in enumerate(Y):
            gq, weights[q] = self.grades_and_weight(y, int(sizes[q]))
            grades.append(gq)
        grade_rank, n_grades, lower, higher, pairs, _ = _grade_arrays(grades, sizes)
        Z = np.ones(len(sizes)) if self.loss_type == "pairs" else pairs.astype(np.float64)
        scale = np.zeros(len(sizes))
        np.divide(weights, Z, out=scale, where=Z > 0)
        truth = 0.5 * np.repeat(scale, sizes) * (lower - higher)
        return RankingBatch(Xs, offsets, list(Y), grade_rank, n_grades, scale, truth)

    def _scores(self, batch, w):
        w = np.ascontiguousarray(w, dtype=np.float64)
        X = batch.X
        if isinstance(X, np.ndarray) and X.dtype != np.float64:
            # float32 documents: products in float64, a block of rows cast at a time
            out = np.empty(X.shape[0])
            for a in range(0, X.shape[0], _ROWS_PER_CAST):
                out[a:a + _ROWS_PER_CAST] = X[a:a + _ROWS_PER_CAST] @ w
            return out
        return np.ascontiguousarray(np.asarray(X @ w, dtype=np.float64).ravel())

    def batch_inference(self, batch, w, n_jobs=1):
        """Per query, the scores w·x_d of its documents."""
        s = self._scores(batch, w)
        o = batch.offsets
        return [s[o[q]:o[q + 1]].copy() for q in range(len(batch))]

    def batch_loss_augmented_inference(self, batch, w, n_jobs=1):
        """The ranking oracle over all queries: per-document δΨ coefficients and per-query losses."""
        s = self._scores(batch, w)
        coef = np.zeros(s.shape[0])
        loss = np.zeros(len(batch))
        rank_oracle(s, batch.grade_rank, batch.offsets, batch.n_grades, batch.scale, coef, loss)
        return _Answer(coef, loss)

    def batch_loss(self, batch, Y_hat):
        """Swapped-pair losses (or their fraction) of the oracle's answers or of given rankings."""
        if isinstance(Y_hat, _Answer):
            return Y_hat.loss.copy()
        return super().batch_loss(batch, Y_hat)

    def _block_rows(self, batch, coef):
        """n x N CSR with row q = coef restricted to query q's documents."""
        n = len(batch)
        N = int(batch.offsets[-1])
        return sp.csr_matrix((coef, np.arange(N, dtype=np.int64), batch.offsets.copy()),
                             shape=(n, N))

    def batch_delta_joint_feature(self, batch, Y_hat):
        """Rows Ψ(x_q, y_q) − Ψ(x_q, ŷ_q) = Σ_d c_d x_d per query, as a CSR matrix."""
        if not isinstance(Y_hat, _Answer):
            coef = np.concatenate([batch.truth_coef[batch.offsets[q]:batch.offsets[q + 1]]
                                   - np.asarray(yh.coef) if isinstance(yh, PairLabelling) else
                                   batch.truth_coef[batch.offsets[q]:batch.offsets[q + 1]]
                                   - self.labelling_from_ranking(batch.Y[q], yh).coef
                                   for q, yh in enumerate(Y_hat)])
        else:
            coef = Y_hat.delta_coef
        X = batch.X
        if isinstance(X, np.ndarray) and X.dtype != np.float64:
            # float32 documents: whole queries a block of rows at a time, cast to float64
            # (each row of D is its query's sum, in the same order as one product)
            o = batch.offsets
            D = np.zeros((len(batch), X.shape[1]))
            q0 = 0
            while q0 < len(batch):
                q1 = max(q0 + 1, int(np.searchsorted(o, o[q0] + _ROWS_PER_CAST, "right")) - 1)
                q1 = min(q1, len(batch))
                a, b = int(o[q0]), int(o[q1])
                B = sp.csr_matrix((coef[a:b], np.arange(b - a, dtype=np.int64), o[q0:q1 + 1] - a),
                                  shape=(q1 - q0, b - a))
                D[q0:q1] = B @ X[a:b].astype(np.float64)
                q0 = q1
        else:
            D = self._block_rows(batch, coef) @ X
        D = sp.csr_matrix(D, dtype=np.float64)
        D.eliminate_zeros()
        return D

    def batch_joint_feature(self, X, Y):
        """Σ_q Ψ(x_q, y_q): the feature-weighted sum of the queries' true pair labellings."""
        batch = self.make_batch(X, Y)
        return np.asarray(batch.truth_coef @ batch.X).ravel()

    # ------------------------------------------------------------- Plackett-Luce policy
    # The probabilistic hooks read the task as the Plackett-Luce policy over a query's
    # documents with scores s = x w (see tasks/ranking/plackett_luce.py): y is then a
    # permutation (document indices, top first). PL is not exp(w·Ψ(x, y)) / Z for the ranking
    # Ψ above (its normaliser is a product of m softmax denominators), so ``log_partition`` is
    # deliberately not defined. Exact: log_prob, log_prob_grad, marginals (m <= 16),
    # expected_loss (the pair loss: Σ_{g_i>g_j} ω/Z P(j above i)). Sampled: expected_ndcg.
    def _pl_scores(self, x, w):
        s = np.asarray(x @ np.asarray(w, dtype=np.float64), dtype=np.float64).ravel()
        if not np.all(np.isfinite(s)):
            raise InvalidInputError("w: the scores x·w are not finite")
        return s

    @staticmethod
    def _permutation(y, m):
        p = np.asarray(y)
        if (p.ndim != 1 or p.shape[0] != m or not np.issubdtype(p.dtype, np.integer)
                or not np.array_equal(np.sort(p), np.arange(m))):
            raise InvalidInputError(f"y must be a permutation of the query's {m} document "
                                    f"indices (top first), got {np.asarray(y)!r}")
        return p.astype(np.int64)

    def log_prob(self, x, y, w) -> float:
        """log π_w(σ|x) = Σ_k s_{σ_k} - logsumexp_{j>=k} s_{σ_j}, s = xw (exact); y = σ."""
        s = self._pl_scores(x, w)
        return _pl.log_prob(s, self._permutation(y, s.shape[0]))

    def log_prob_grad(self, x, y, w) -> np.ndarray:
        """∇_w log π_w(σ|x) = xᵀ g, g_d = 1 - Σ_{k<=pos(d)} exp(s_d - logsumexp_{j>=k} s_{σ_j})
        (exact)."""
        s = self._pl_scores(x, w)
        _, g = _pl.log_prob_grad_scores(s, self._permutation(y, s.shape[0]))
        return np.asarray(x.T @ g, dtype=np.float64).ravel()

    def sample(self, x, w, n: int, random_state=None) -> list:
        """n permutations drawn from PL(xw) by Gumbel keys (exact sampler)."""
        if not (isinstance(n, (int, np.integer)) and n > 0):
            raise InvalidInputError(f"n must be a positive integer, got {n!r}")
        return list(_pl.sample_permutations(self._pl_scores(x, w), int(n), random_state))

    def marginals(self, x, w) -> np.ndarray:
        """Rank marginals P[d, r] = π_w(document d at rank r+1 | x), exact, m <= 16 documents."""
        s = self._pl_scores(x, w)
        if s.shape[0] > _pl.MAX_EXACT_MARGINALS:
            raise InvalidInputError(f"x: exact rank marginals need at most "
                                    f"{_pl.MAX_EXACT_MARGINALS} documents, got {s.shape[0]}")
        return _pl.rank_marginals(s)

    def expected_loss(self, x, y, w, n_samples: int = 1000, random_state=None):
        """(E_{σ~PL(xw)}[Δ(y, σ)], 0.0): the task's pair loss in expectation, exact because
        Δ is a sum over pairs and P(j above i) = e^{s_j}/(e^{s_i}+e^{s_j}) under PL."""
        s = self._pl_scores(x, w)
        m = s.shape[0]
        grades, _ = self.grades_and_weight(y, m)
        _, _, _, scale, _, _, _ = self._query_arrays(y, m)
        B = _pl.pairwise_before(s)
        above = grades[:, None] > grades[None, :]
        return float(scale * np.sum(B.T[above])), 0.0

    # batch forms over a RankingBatch (stacked documents + offsets): scores once, one Xᵀ product
    def _batch_perms(self, batch, Y, method):
        if Y is None:
            raise InvalidInputError(f"Y: {method} needs the permutations (one per query); a "
                                    "RankingBatch's own labels are grades")
        Y = list(Y)
        if len(Y) != len(batch):
            raise InvalidInputError(f"Y has {len(Y)} permutations for {len(batch)} queries")
        o = batch.offsets
        return [self._permutation(y, int(o[q + 1] - o[q])) for q, y in enumerate(Y)]

    def batch_log_prob(self, batch, w, Y=None, n_jobs: int = 1):
        """[log π_w(σ_q|x_q)] for the permutations Y (exact)."""
        s = self._pl_scores(batch.X, w)
        o = batch.offsets
        return np.array([_pl.log_prob(s[o[q]:o[q + 1]], p)
                         for q, p in enumerate(self._batch_perms(batch, Y, "batch_log_prob"))])

    def batch_log_prob_grad(self, batch, w, coef, Y=None, n_jobs: int = 1):
        """(log_probs, Σ_q coef[q] ∇_w log π_w(σ_q|x_q)) for the permutations Y (exact)."""
        s = self._pl_scores(batch.X, w)
        o = batch.offsets
        coef = np.asarray(coef, dtype=np.float64)
        g = np.zeros(s.shape[0])
        lp = np.empty(len(batch))
        for q, p in enumerate(self._batch_perms(batch, Y, "batch_log_prob_grad")):
            lp[q], gq = _pl.log_prob_grad_scores(s[o[q]:o[q + 1]], p)
            g[o[q]:o[q + 1]] = coef[q] * gq
        return lp, np.asarray(batch.X.T @ g, dtype=np.float64).ravel()

    def batch_sample(self, batch, w, n: int, random_state=None, n_jobs: int = 1) -> list:
        """[n PL permutations of query q's documents for each q]; one Generator drives all."""
        if not (isinstance(n, (int, np.integer)) and n > 0):
            raise InvalidInputError(f"n must be a positive integer, got {n!r}")
        s = self._pl_scores(batch.X, w)
        o = batch.offsets
        rng = np.random.default_rng(random_state)
        return [list(_pl.sample_permutations(s[o[q]:o[q + 1]], int(n), rng))
                for q in range(len(batch))]

    def batch_expected_loss(self, batch, w, n_samples: int = 1000, random_state=None):
        """(means, zeros): the exact expected pair loss of each query (see expected_loss)."""
        if batch.Y is None:
            raise ValueError("batch_expected_loss needs labels: the batch was built without Y")
        o = batch.offsets
        X = batch.X
        means = np.array([self.expected_loss(X[o[q]:o[q + 1]], y, w)[0]
                          for q, y in enumerate(batch.Y)])
        return means, np.zeros(len(batch))

    def expected_ndcg(self, x, y, w, n_samples: int = 1000, random_state=None, k=None):
        """(mean, standard error) of NDCG@k (gain 2^g - 1, discount 1/log2(1+r)) under PL(xw),
        by Monte-Carlo with ``n_samples`` permutations."""
        s = self._pl_scores(x, w)
        grades, _ = self.grades_and_weight(y, s.shape[0])
        return _pl.expected_ndcg(s, 2.0 ** grades - 1.0, n_samples, random_state, k)


class PropensityRanking(Ranking):
    """Propensity SVM-rank (Joachims, Swaminathan & Schnabel, WSDM 2017).

    Each example is one click: x holds the candidates shown for the query, y = Click(index,
    weight) names the clicked one and its inverse propensity ω = 1/Q(o = 1 | rank). The pairs
    are (clicked, every other candidate), so Δ(y, ŷ) = ω (rank(clicked | ŷ) - 1) and the
    margin-rescaling hinge is ω Σ_{d ≠ clicked} max(0, 1 - w·(x_clicked - x_d)), the hinge
    bound on the clicked document's rank. Objective:
        ½‖w‖² + (C/n) Σ_j ω_j Σ_{d ≠ c_j} max(0, 1 - w·(x_{c_j} - x_d)),
    n = the number of clicks, i.e. svm_proprank's with the same C (``loss="pairs"``).

    Parameters
    ----------
    n_features : int or None
    clip : float or None
        Clip the weights at this value (ω ← min(ω, clip)), trading bias for variance.
    """

    #: a click per query, not a grade per row: no flat form
    from_flat = None

    def __init__(self, n_features: int | None = None, clip: float | None = None):
        super().__init__(n_features=n_features, loss="pairs")
        if clip is not None:
            check_positive(clip, "clip")
        self.clip = clip

    @classmethod
    def tiny_example(cls, random_state=0):
        """A tiny valid training set (task, X, Y) for the registry-driven battery
        (tests/test_registry_battery.py): every registered task provides one, so the
        battery's hostile variants of it reach the task's checks."""
        rng = np.random.default_rng(random_state)
        X = [rng.normal(size=(4, 3)) for _ in range(3)]
        Y = [Click(0, 1.0), Click(2, 2.5), Click(1, 1.5)]
        return cls(), X, Y

    def get_params(self, deep: bool = True):
        """Constructor parameters (n_features, clip)."""
        return {"n_features": self.n_features, "clip": self.clip}

    def set_params(self, **params):
        """scikit-learn's set_params: ``clip`` checked (positive or None); ``loss`` is fixed to pairs."""
        if "clip" in params and params["clip"] is not None:
            check_positive(params["clip"], "clip")
        if "loss" in params:
            raise InvalidInputError("invalid parameter 'loss' for PropensityRanking; valid "
                                    "parameters: ['clip', 'n_features']")
        return super().set_params(**params)

    def grades_and_weight(self, y, m):
        """The click as grades over the m candidates (1 for the clicked one) and its weight ω =
        1/propensity, clipped at ``clip``."""
        c = y if isinstance(y, Click) else Click(*y)
        grades = np.zeros(m)
        grades[int(c.index)] = 1.0
        weight = float(c.weight)
        if self.clip is not None:
            weight = min(weight, float(self.clip))
        return grades, weight

    def _check_label(self, i, y, m):
        """A Click(index, weight): index an integer in [0, m) (1.7 and True are refused),
        weight a finite number in (0, MAX_CLICK_WEIGHT]."""
        self._check_click(y, m, f"click {i}", i)

    @staticmethod
    def _check_click(y, m, name, i=None):
        try:
            c = y if isinstance(y, Click) else Click(*y)
        except TypeError:
            raise InvalidInputError(f"{name}: y must be a Click(index, weight), got {y!r}",
                                    i) from None
        check_int(c.index, f"{name}: clicked index", 0, m - 1, index=i)
        check_real(c.weight, f"{name}: weight (inverse propensity)", 0.0, MAX_CLICK_WEIGHT,
                   low_inclusive=False, index=i)

    def max_loss(self, y):
        """Not defined without the number of candidates: raises NotImplementedError (use
        structpred.metrics.ranking)."""
        raise NotImplementedError("PropensityRanking.max_loss needs the number of candidates; "
                                  "evaluate with structpred.metrics.ranking instead")

    def loss(self, y, y_hat):
        """ω (rank of the clicked document - 1) under a PairLabelling or a ranking vector r
        (ties count half): ω (#{d: r_d > r_c} + ½ #{d ≠ c: r_d = r_c}), c the clicked index.

        The click is checked as ``fit`` checks it (an index in [0, len(r)): -1 must not wrap
        to the last document; a weight in (0, MAX_CLICK_WEIGHT]), and r must be finite:
        InvalidInputError naming y or y_hat otherwise."""
        if isinstance(y_hat, PairLabelling):
            return float(y_hat.loss)
        r = check_scores(np.ravel(y_hat) if np.ndim(y_hat) == 0 else y_hat,
                         "y_hat (ranking scores)")
        self._check_click(y, r.shape[0], "y")
        grades, weight = self.grades_and_weight(y, r.shape[0])
        c = int(np.argmax(grades))
        others = np.delete(r, c)
        return float(weight * (np.sum(others > r[c]) + 0.5 * np.sum(others == r[c])))
