"""SVM-div task (Yue & Joachims, ICML 2008): predict a diverse subset of k documents.

x : :class:`~structpred.tasks.diversity.features.CandidateSet` (one query's candidates).
y : a ranking of min(k, n) distinct document indices (greedy selection order). Training
    labels are :class:`SubsetLabel` (the ranking plus the n x m subtopic matrix T that the
    loss needs); predictions are plain int arrays.

Joint feature map (w laid out the same way):

    Ψ(x, y) = [ Σ_{v ∈ V_1(y)} φ(v, x) | ... | Σ_{v ∈ V_L(y)} φ(v, x)
                | Σ_{v covered at level 1 by >= 2 docs of y} φ(v, x)   (if redundancy)
                | Σ_{d ∈ y} ψ(d, x) ]

where V_l(y) is the set of words some selected document covers at level l (see
``features`` for the levels). A word counts once per level however many selected documents
cover it, so w·Ψ has diminishing returns (monotone submodular in y when the word scores
w_l·φ(v) are >= 0; the document block is modular).

Loss: with L_T the weighted subtopic loss (``structpred.metrics.subtopics``),
Δ(y, ŷ) = max(0, L_T(ŷ) - L_T(y)). Subtracting the label's own loss makes Δ(y, y) = 0 as the
contract asks; it shifts every constraint of an example by the same constant, so the
learned w is the paper's (up to the clip, which only matters when ŷ beats the label).

Inference and loss-augmented inference are greedy (``greedy``): within (1 - 1/e) of the
optimum for inference when word scores are non-negative; approximate_inference = True.
Training label: the greedy subset maximising weighted subtopic coverage
(:meth:`DiverseSubset.make_label`).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp

from ...metrics.subtopics import as_topic_matrix, greedy_subtopic_cover, weighted_subtopic_loss
from ...boundary.arrays import MAX_SIZE_JOINT_FEATURE, check_index_arrays, check_values
from ...boundary.params import check_bool, check_int, check_state
from ...errors import MAX_ABS_FEATURE, InvalidInputError
from ...model import StructuredModel
from ...parallel import effective_jobs
from .features import CandidateSet
from .greedy import greedy_batch, psi_batch, row_scores, subset_loss_batch

__all__ = ["DiverseSubset", "SubsetLabel", "DiversityBatch", "MAX_K", "MAX_LOCAL_SEARCH"]

#: Largest subset size k (the command line's ``--k`` bound): the oracles allocate k slots per
#: example, so a model file's k must not ask for gigabytes (k = 10**7 did).
MAX_K = 1000
#: Most passes of 1-swap local search (each pass stops early when nothing improves).
MAX_LOCAL_SEARCH = 1000


class SubsetLabel:
    """A training label: ``ranking`` (int array of document indices, selection order) and
    ``topics`` (n x m bool subtopic matrix of the candidate set, used by the loss)."""

    __slots__ = ("ranking", "topics", "weights", "own_loss")

    def __init__(self, ranking, topics):
        self.topics = as_topic_matrix(topics)
        n = self.topics.shape[0]
        r = np.asarray(ranking, dtype=np.int64).ravel()
        if r.size and (r.min() < 0 or r.max() >= n):
            raise ValueError(f"ranking has document index out of range [0, {n}): {r.tolist()}")
        if len(set(r.tolist())) != r.size:
            raise ValueError(f"ranking repeats a document: {r.tolist()}")
        self.ranking = r
        self.weights = self.topics.sum(axis=0).astype(np.float64)
        self.own_loss = weighted_subtopic_loss(self.topics, r, self.weights)

    def __len__(self):
        return self.ranking.size

    def __repr__(self):
        return f"SubsetLabel(ranking={self.ranking.tolist()}, n_subtopics={self.topics.shape[1]})"


def _ranking(y) -> np.ndarray:
    if isinstance(y, SubsetLabel):
        return y.ranking
    r = np.asarray(y, dtype=np.int64).ravel()
    return r[r >= 0]


def _check_structure(x, i):
    """ValueError unless x's arrays are safe for the kernels (run before any numba call)."""
    if not isinstance(x, CandidateSet):
        raise InvalidInputError(f"example {i}: expected a CandidateSet (use "
                         f"DiversityFeaturizer.transform), got {type(x).__name__}")
    if x.n_docs < 1:
        raise InvalidInputError(f"example {i}: empty candidate set")
    if not isinstance(x.phi, np.ndarray) or not isinstance(x.doc_feats, np.ndarray) \
            or x.phi.dtype.kind not in "biuf" or x.doc_feats.dtype.kind not in "biuf":
        raise InvalidInputError(f"example {i}: phi and doc_feats must be real numpy arrays", i)
    if x.phi.ndim != 2 or x.doc_feats.ndim != 2 or x.doc_feats.shape[0] != x.n_docs \
            or not x.cover:
        raise InvalidInputError(f"example {i}: inconsistent CandidateSet shapes", i)
    for lvl, (ptr, idx) in enumerate(x.cover):
        where = f"example {i}: coverage level {lvl + 1}"
        try:
            check_index_arrays(ptr, idx, x.n_docs, x.n_words, where, i, column_word="word")
        except InvalidInputError as exc:
            if hasattr(exc, "row"):
                raise InvalidInputError(f"{where} names a word outside [0, {x.n_words}) "
                                        f"(document {exc.row})", i) from None
            raise InvalidInputError(f"{where} has a malformed row pointer or non-integer index "
                                    f"arrays ({exc})", i) from None


class DiversityBatch:
    """Stacked candidate sets (and labels) for the numba kernels."""

    def __init__(self, X, Y, k):
        self.X = list(X)
        self.Y = None if Y is None else list(Y)
        for i, x in enumerate(self.X):
            _check_structure(x, i)
        if self.X and len({(x.n_levels, x.phi.shape[1], x.doc_feats.shape[1])
                           for x in self.X}) > 1:
            raise ValueError("examples differ in coverage levels or feature counts "
                             "(use one featurizer for all)")
        if self.Y is not None:
            if len(self.Y) != len(self.X):
                raise ValueError(f"{len(self.X)} inputs but {len(self.Y)} labels")
            for i, (x, y) in enumerate(zip(self.X, self.Y)):
                if not isinstance(y, SubsetLabel) or y.topics.shape[0] != x.n_docs \
                        or y.ranking.size > k:
                    raise ValueError(f"example {i}: the label must be a SubsetLabel over the "
                                     f"{x.n_docs} candidates with at most k={k} documents")
        n_ex = len(self.X)
        self.k = k
        L = self.X[0].n_levels if n_ex else 1
        self.doc_off = np.zeros(n_ex + 1, dtype=np.int64)
        self.word_off = np.zeros(n_ex + 1, dtype=np.int64)
        for e, x in enumerate(self.X):
            self.doc_off[e + 1] = self.doc_off[e] + x.n_docs
            self.word_off[e + 1] = self.word_off[e] + x.n_words
        nd = int(self.doc_off[-1])
        p = self.X[0].phi.shape[1] if n_ex else 0
        self.phi = np.ascontiguousarray(np.vstack([x.phi for x in self.X])) if n_ex \
            else np.zeros((0, p))
        self.doc_feats = np.ascontiguousarray(np.vstack([x.doc_feats for x in self.X])) \
            if n_ex else np.zeros((0, 0))
        self.cov_ptr = np.zeros((L, nd + 1), dtype=np.int64)
        idx_parts, start = [], 0
        for lvl in range(L):
            pos = 0
            for e, x in enumerate(self.X):
                ptr, ix = x.cover[lvl]
                a = int(self.doc_off[e])
                self.cov_ptr[lvl, a + 1:a + x.n_docs + 1] = start + pos + ptr[1:]
                idx_parts.append(ix)
                pos += ix.size
            self.cov_ptr[lvl, 0] = start
            start += pos
        self.cov_idx = np.ascontiguousarray(np.concatenate(idx_parts).astype(np.int32)) \
            if idx_parts else np.zeros(0, dtype=np.int32)
        # subtopics (only with labels)
        self.top_off = np.zeros(n_ex + 1, dtype=np.int64)
        self.top_ptr = np.zeros(nd + 1, dtype=np.int64)
        tw, tidx = [], []
        self.Y_sel = np.full((n_ex, k), -1, dtype=np.int64)
        self.own_loss = np.zeros(n_ex)
        if self.Y is not None:
            for e, y in enumerate(self.Y):
                T = y.topics
                u = y.weights
                total = u.sum()
                self.top_off[e + 1] = self.top_off[e] + T.shape[1]
                tw.append(u / total if total > 0 else u * 0.0)
                a = int(self.doc_off[e])
                for i in range(T.shape[0]):
                    ts = np.flatnonzero(T[i])
                    tidx.append(ts)
                    self.top_ptr[a + i + 1] = self.top_ptr[a + i] + ts.size
                self.Y_sel[e, :y.ranking.size] = y.ranking
                self.own_loss[e] = y.own_loss
        self.top_w = np.concatenate(tw) if tw else np.zeros(0)
        self.top_idx = np.concatenate(tidx).astype(np.int32) if tidx else np.zeros(0, np.int32)
        if self.Y is not None:   # the labels' own losses, by the same kernel as batch_loss
            subset_loss_batch(self.Y_sel, self.doc_off, self.top_ptr, self.top_idx,
                              self.top_off, self.top_w, self.own_loss)

    def __len__(self):
        return len(self.X)


class DiverseSubset(StructuredModel):
    """Diverse k-subset selection with weighted word coverage (SVM-div).

    Parameters
    ----------
    k : int, subset size, 1..MAX_K (1000) (a candidate set with n < k documents gets all n,
        ranked).
    redundancy : bool, add the block of words covered by two or more selected documents.
    local_search : int, passes of 1-swap local search after the loss-augmented greedy,
        0..MAX_LOCAL_SEARCH (0 = plain greedy, as in the paper).

    The parameters are checked by the constructor (and again when a model file is loaded):
    InvalidInputError naming the parameter.

    Attributes
    ----------
    n_levels_, n_word_features_, n_doc_features_ : int, read from the training inputs by ``initialize``.
    size_joint_feature : (n_levels_ + redundancy) * n_word_features_ + n_doc_features_.
    """

    approximate_inference = True

    def __init__(self, k: int = 5, redundancy: bool = False, local_search: int = 10):
        super().__init__()
        # stored as given: scikit-learn's clone checks that parameters are kept as passed
        self.local_search = local_search
        self.k = k
        self.redundancy = redundancy
        self._validate_params()
        self.n_levels_ = None
        self.n_word_features_ = None
        self.n_doc_features_ = None
        self.featurizer_params_ = None   # set by DiversifiedRanker, saved with the model

    # ----------------------------------------------------------------- set-up
    def _validate_params(self):
        """k an integer in [1, MAX_K], redundancy a bool, local_search an integer in
        [0, MAX_LOCAL_SEARCH] (integer types only: 5.0 is refused); InvalidInputError naming
        the parameter. Run by the constructor and by ``structpred.load`` on a model file's
        parameters."""
        check_int(self.k, "k", 1, MAX_K, strict=True)
        check_bool(self.redundancy, "redundancy")
        check_int(self.local_search, "local_search", 0, MAX_LOCAL_SEARCH, strict=True)

    def _set_sizes(self, L, p, q):
        self.n_levels_, self.n_word_features_, self.n_doc_features_ = int(L), int(p), int(q)
        self.size_joint_feature = (self.n_levels_ + int(self.redundancy)) * self.n_word_features_ \
            + self.n_doc_features_

    def initialize(self, X, Y=None):
        """Read the feature sizes (word-frequency levels, word and document features) off the first
        candidate set (the parameters checked again: ``set_params`` does not check them)."""
        self._validate_params()
        X = list(X)
        if not X:
            raise ValueError("no training examples")
        x = X[0]
        self._set_sizes(x.n_levels, x.phi.shape[1], x.doc_feats.shape[1])

    def get_state(self):
        """Learnt sizes and the featurizer's parameters, for the model file."""
        state = {"n_levels_": self.n_levels_, "n_word_features_": self.n_word_features_,
                 "n_doc_features_": self.n_doc_features_}
        if getattr(self, "featurizer_params_", None):
            state["featurizer_params_"] = dict(self.featurizer_params_)
        return state

    def set_state(self, state):
        """Restore the block sizes (integers: n_levels_ in [1, 3], the feature counts in
        [0, MAX_SIZE_JOINT_FEATURE]) and the featurizer's parameters (a dict); any other key
        is refused (InvalidInputError naming it)."""
        def size(v, n):
            return check_int(v, n, 0, MAX_SIZE_JOINT_FEATURE)

        def params(v, n):
            if not isinstance(v, dict):
                raise InvalidInputError(f"{n} must be a dict, got {type(v).__name__}")
            spec = {"n_levels": lambda x, m: check_int(x, m, 1, 3),
                    "use_rank": lambda x, m: check_bool(x, m),
                    "use_url": lambda x, m: check_bool(x, m)}
            return check_state(v, n, spec)
        st = check_state(state, "DiverseSubset",
                         {"n_levels_": lambda v, n: check_int(v, n, 1, 3),
                          "n_word_features_": size, "n_doc_features_": size,
                          "featurizer_params_": params},
                         required=("n_levels_", "n_word_features_", "n_doc_features_"))
        self._set_sizes(st["n_levels_"], st["n_word_features_"], st["n_doc_features_"])
        if "featurizer_params_" in st:
            self.featurizer_params_ = st["featurizer_params_"]

    @classmethod
    def tiny_example(cls, random_state=0):
        """A tiny valid training set (task, X, Y) for the registry-driven battery
        (tests/test_registry_battery.py): every registered task provides one, so the
        battery's hostile variants of it reach the task's checks."""
        rng = np.random.default_rng(random_state)
        task, X, Y = cls(k=2), [], []
        for _ in range(3):
            n_docs, n_words = 5, 6
            c1 = rng.random((n_docs, n_words)) < 0.4
            cover = []
            for M in (c1, c1 & (rng.random((n_docs, n_words)) < 0.5)):
                ptr = np.zeros(n_docs + 1, dtype=np.int64)
                ptr[1:] = np.cumsum(M.sum(axis=1))
                cover.append((ptr, np.flatnonzero(M.ravel()) % n_words))
            cover = [(p, i.astype(np.int32)) for p, i in cover]
            X.append(CandidateSet(n_docs, [f"w{i}" for i in range(n_words)],
                                  rng.random((n_words, 2)), cover, rng.random((n_docs, 2))))
            T = rng.random((n_docs, 3)) < 0.4
            T[0, 0] = True
            Y.append(task.make_label(T))
        return task, X, Y

    def make_label(self, topics) -> SubsetLabel:
        """The training label: greedy min(k, n)-subset maximising weighted subtopic coverage."""
        T = as_topic_matrix(topics)
        return SubsetLabel(greedy_subtopic_cover(T, self.k), T)

    def check_input(self, X, Y=None):
        """ValueError naming the example for: a non-CandidateSet x, an empty candidate set,
        shapes that disagree with the fitted sizes, non-finite features, a label whose subtopic
        matrix has the wrong number of rows, or a label with no covered subtopic."""
        for i, x in enumerate(X):
            _check_structure(x, i)
            if self.n_levels_ is not None and (
                    x.n_levels != self.n_levels_ or x.phi.shape[1] != self.n_word_features_
                    or x.doc_feats.shape[1] != self.n_doc_features_):
                raise InvalidInputError(
                    f"example {i}: {x.n_levels} coverage levels, {x.phi.shape[1]} word and "
                    f"{x.doc_feats.shape[1]} document features; the model expects "
                    f"{self.n_levels_}, {self.n_word_features_} and {self.n_doc_features_} "
                    "(use the same featurizer settings)")
            check_values(x.phi, f"example {i}: phi (non-finite features?)", i)
            check_values(x.doc_feats, f"example {i}: doc_feats (non-finite features?)", i)
        if Y is not None:
            if len(Y) != len(X):
                raise InvalidInputError(f"{len(X)} inputs but {len(Y)} labels")
            for i, (x, y) in enumerate(zip(X, Y)):
                if not isinstance(y, SubsetLabel):
                    raise InvalidInputError(f"example {i}: training labels must be SubsetLabel "
                                     "(use DiverseSubset.make_label(topics))")
                if y.topics.shape[0] != x.n_docs:
                    raise InvalidInputError(f"example {i}: label has {y.topics.shape[0]} documents, "
                                     f"the candidate set {x.n_docs}")
                if y.weights.sum() <= 0:
                    raise InvalidInputError(f"example {i}: the query has no labelled subtopic "
                                     "(no candidate covers any subtopic); drop it from training")
                if y.ranking.size > self.k:
                    raise InvalidInputError(f"example {i}: label ranks {y.ranking.size} > k={self.k} "
                                     "documents")

    # ----------------------------------------------------------------- batch forms
    def make_batch(self, X, Y=None):
        """Stack candidate sets (and subset labels) into the flat arrays the numba greedy oracle
        reads."""
        return DiversityBatch(X, Y, self.k)

    def _scores(self, batch, w):
        w = np.asarray(w, dtype=np.float64).ravel()
        if w.size != self.size_joint_feature:
            raise ValueError(f"w has length {w.size}, expected {self.size_joint_feature}")
        p, L = self.n_word_features_, self.n_levels_
        n_blocks = L + int(self.redundancy)
        scores = np.empty((n_blocks, batch.phi.shape[0]))
        row_scores(batch.phi, np.ascontiguousarray(w[:n_blocks * p].reshape(n_blocks, p)), scores)
        word_score = np.ascontiguousarray(scores[:L])
        red = np.ascontiguousarray(scores[L]) if self.redundancy else np.zeros(batch.phi.shape[0])
        doc_score = np.empty((1, batch.doc_feats.shape[0]))
        row_scores(batch.doc_feats, np.ascontiguousarray(w[n_blocks * p:].reshape(1, -1)),
                   doc_score)
        doc_score = doc_score[0]
        return word_score, red, doc_score

    def _run_greedy(self, batch, w, loss_scale, n_jobs, max_swaps=0):
        word_score, red, doc_score = self._scores(batch, w)
        n = len(batch)
        out = np.full((n, self.k), -1, dtype=np.int64)

        def work(ex):
            res = np.full((ex.size, self.k), -1, dtype=np.int64)
            greedy_batch(ex, self.k, batch.doc_off, batch.word_off, batch.cov_ptr,
                         batch.cov_idx, word_score, red, self.redundancy, doc_score,
                         batch.top_ptr, batch.top_idx, batch.top_off, batch.top_w,
                         float(loss_scale), max_swaps, res)
            return ex, res

        chunks = np.array_split(np.arange(n, dtype=np.int64), max(1, effective_jobs(n_jobs)))
        chunks = [c for c in chunks if c.size]
        if len(chunks) > 1:
            with ThreadPoolExecutor(max_workers=len(chunks)) as pool:
                results = list(pool.map(work, chunks))
        else:
            results = [work(c) for c in chunks]
        for ex, res in results:
            out[ex] = res
        return out

    def batch_inference(self, batch, w, n_jobs=1):
        """Greedy argmax over K-subsets of w·Ψ(x_i, y) (coverage of words, approximate): the
        selected document indices per example."""
        sel = self._run_greedy(batch, w, 0.0, n_jobs)
        return [row[row >= 0].copy() for row in sel]

    def batch_loss_augmented_inference(self, batch, w, n_jobs=1):
        """Greedy argmax_ŷ Δ(y_i, ŷ) + w·Ψ(x_i, ŷ) (approximate; with ``local_search`` refined by
        swaps)."""
        if batch.Y is None:
            raise ValueError("loss-augmented inference needs labels")
        return self._run_greedy(batch, w, 1.0, n_jobs, self.local_search)

    def _sel_array(self, batch, Y_hat):
        """Y_hat as an (n, k) int array padded with -1; ValueError for an invalid subset."""
        if isinstance(Y_hat, np.ndarray) and Y_hat.ndim == 2:
            out = np.ascontiguousarray(Y_hat, dtype=np.int64)
        else:
            out = np.full((len(batch), self.k), -1, dtype=np.int64)
            for e, y in enumerate(Y_hat):
                r = _ranking(y)
                if r.size > self.k:
                    raise ValueError(f"example {e}: subset of {r.size} > k={self.k} documents")
                out[e, :r.size] = r
        n_docs = np.diff(batch.doc_off)
        if out.shape != (len(batch), self.k) or np.any(out >= n_docs[:, None]):
            raise ValueError("Y_hat names documents outside the candidate sets")
        return out

    def batch_loss(self, batch, Y_hat):
        """Weighted subtopic losses of the selected subsets, relative to the label's own loss
        (clipped at 0)."""
        sel = self._sel_array(batch, Y_hat)
        out = np.zeros(len(batch))
        subset_loss_batch(sel, batch.doc_off, batch.top_ptr, batch.top_idx, batch.top_off,
                          batch.top_w, out)
        delta = out - batch.own_loss
        return np.where(delta > 1e-12, delta, 0.0)

    def _psi(self, batch, sel):
        out = np.zeros((len(batch), self.size_joint_feature))
        psi_batch(np.arange(len(batch), dtype=np.int64), sel, batch.doc_off, batch.word_off,
                  batch.cov_ptr, batch.cov_idx, batch.phi, batch.doc_feats, self.redundancy, out)
        return out

    def batch_delta_joint_feature(self, batch, Y_hat):
        """Rows Ψ(x_i, y_i) − Ψ(x_i, ŷ_i) as a CSR matrix."""
        delta = self._psi(batch, batch.Y_sel) - self._psi(batch, self._sel_array(batch, Y_hat))
        out = sp.csr_matrix(delta)
        out.eliminate_zeros()
        return out

    # ----------------------------------------------------------------- single forms
    def joint_feature(self, x, y):
        """Ψ(x, y): word-coverage features of subset y at each frequency level, plus the summed
        document features."""
        batch = DiversityBatch([x], None, max(self.k, _ranking(y).size))
        sel = np.full((1, batch.k), -1, dtype=np.int64)
        r = _ranking(y)
        if r.size and (r.max() >= x.n_docs or len(set(r.tolist())) != r.size):
            raise ValueError(f"subset {r.tolist()} is not distinct indices < {x.n_docs}")
        sel[0, :r.size] = r
        return self._psi(batch, sel)[0]

    def loss(self, y, y_hat):
        """Δ(y, ŷ) = max(0, L_T(ŷ) - L_T(y)); y must be a SubsetLabel (it carries T)."""
        if not isinstance(y, SubsetLabel):
            raise TypeError("the loss needs the true subtopics: y must be a SubsetLabel")
        lt = weighted_subtopic_loss(y.topics, _ranking(y_hat), y.weights)
        delta = lt - y.own_loss
        return delta if delta > 1e-12 else 0.0

    def max_loss(self, y):
        """Largest loss: 1 − the label's own weighted subtopic loss (1 for a plain subset)."""
        return max(0.0, 1.0 - y.own_loss) if isinstance(y, SubsetLabel) else 1.0

    def inference(self, x, w):
        """Greedy argmax over K-subsets of w·Ψ(x, y) for one candidate set (approximate)."""
        return self.batch_inference(self.make_batch([x]), w)[0]

    def loss_augmented_inference(self, x, y, w):
        """Greedy argmax_ŷ Δ(y, ŷ) + w·Ψ(x, ŷ) for one candidate set (approximate)."""
        sel = self.batch_loss_augmented_inference(self.make_batch([x], [y]), w)[0]
        return sel[sel >= 0].copy()
