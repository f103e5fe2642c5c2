"""``DiversifiedRanker``: learn SVM-div from labelled queries, then rank new candidate sets.

>>> ranker = DiversifiedRanker(k=5).fit(queries, documents, topics, ranks)   # doctest: +SKIP
>>> ranker.rank("jaguar", ["Jaguar cars ...", "jaguar (animal) ...", ...])    # doctest: +SKIP
array([0, 7, 3, 12, 1])

Training: each query's label is the greedy subset maximising weighted subtopic coverage
(``DiverseSubset.make_label``); w is learned by ``structpred.StructuredSVM`` (1-slack, margin
rescaling). When ``C`` is None it is chosen from ``C_grid`` by ``inner_folds``-fold
cross-validation over the *training* queries (mean weighted subtopic loss of the predictions).
"""
from __future__ import annotations

import time
import warnings

import numpy as np

from ...boundary.params import (MAX_C, check_bool, check_choice, check_grid, check_int,
                                check_n_jobs, check_positive, check_seed, check_verbose)
from ...errors import InvalidInputError, NotFittedError
from ...metrics.subtopics import as_topic_matrix, weighted_subtopic_loss
from ...tasks.diversity.features import DiversityFeaturizer
from ...tasks.diversity.model import DiverseSubset

__all__ = ["DiversifiedRanker", "topic_matrix"]


def _unpack(queries, documents, topics, ranks, method, need_topics=True):
    """(queries, documents, topics, ranks) from a data-set object or the separate lists."""
    if documents is None and hasattr(queries, "queries") and hasattr(queries, "documents"):
        data = queries
        if data.documents is None:
            raise ValueError(f"{method}: data set {getattr(data, 'name', '')!r} has no document "
                             "text (documents is None); SVM-div needs the documents")
        return (data.queries, data.documents, getattr(data, "topics", None),
                getattr(data, "ranks", None) if ranks is None else ranks)
    if documents is None:
        raise TypeError(f"{method}() needs a data set (with queries, documents, topics, ranks) "
                        "or the lists queries, documents" + (", topics" if need_topics else ""))
    if need_topics and topics is None:
        raise TypeError(f"{method}() needs topics: per query, the subtopics each document covers")
    return queries, documents, topics, ranks


def _is_id(value) -> bool:
    return isinstance(value, (str, bytes)) or not hasattr(value, "__iter__")


def topic_matrix(topics, n_docs: int | None = None, where: str = "topics") -> np.ndarray:
    """n x m bool matrix "document d covers subtopic t" of one query.

    ``topics``: a 2-D array (nonzero = covers), or one entry per document listing the IDs of
    the subtopics it covers. IDs may be any hashable values ("1.4", ("a", 2), 7); a single
    string is one ID. Non-negative integer IDs keep their value as the column (as
    ``metrics.subtopics.as_topic_matrix``); other IDs get columns in order of first appearance
    (the weighted subtopic loss does not depend on the column order).
    """
    if isinstance(topics, np.ndarray) and topics.ndim == 2:
        return as_topic_matrix(topics, n_docs)
    rows = []
    for d, row in enumerate(topics):
        if row is None:
            row = ()
        elif _is_id(row) or (isinstance(row, np.ndarray) and row.ndim == 0):
            row = (row.item() if isinstance(row, np.ndarray) else row,)
        items = [v.item() if isinstance(v, np.generic) else v for v in row]
        for v in items:
            try:
                hash(v)
            except TypeError:
                raise ValueError(f"{where}, document {d}: subtopic ID {v!r} is not hashable") from None
        rows.append(items)
    ids = [v for r in rows for v in r]
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in ids):
        return as_topic_matrix([list(r) for r in rows], n_docs)
    column: dict = {}
    for v in ids:
        column.setdefault(v, len(column))
    T = np.zeros((len(rows), len(column)), dtype=bool)
    for d, r in enumerate(rows):
        T[d, [column[v] for v in r]] = True
    if n_docs is not None and T.shape[0] != n_docs:
        raise ValueError(f"{where}: subtopic labels have {T.shape[0]} rows for {n_docs} documents")
    return T


class DiversifiedRanker:
    """Diversified top-k ranking with a structural SVM (SVM-div).

    Parameters
    ----------
    k : int, number of documents returned by ``rank`` (all of them, ranked, when fewer).
    C : float or None, SVM-struct C (½‖w‖² + Cξ); None = choose from ``C_grid`` by inner CV.
    C_grid : sequence of float, candidates for C.
    inner_folds : int, folds of the inner cross-validation over training queries.
    eps : float, solver precision.
    n_levels, use_rank, use_url : featurizer settings (see ``DiversityFeaturizer``).
    redundancy : bool, add the "covered by >= 2 selected documents" block.
    max_iter, n_jobs, verbose : passed to ``StructuredSVM``.
    random_state : int, seed of the inner-CV fold assignment.

    Attributes
    ----------
    svm_ : the fitted StructuredSVM; C_ : the C used; cv_results_ : {C: mean inner-CV loss};
    fit_time_ : seconds of the whole fit (including the C search); n_train_queries_ : int.
    """

    def __init__(self, k: int = 5, C: float | None = None, C_grid=(0.1, 1.0, 10.0),
                 inner_folds: int = 3, eps: float = 0.01, n_levels: int = 2,
                 use_rank: bool = True, use_url: bool = True, redundancy: bool = False,
                 max_iter: int = 2000, n_jobs: int = 1, verbose: int = 0, random_state: int = 0):
        self.k = k
        self.C = C
        self.C_grid = C_grid
        self.inner_folds = inner_folds
        self.eps = eps
        self.n_levels = n_levels
        self.use_rank = use_rank
        self.use_url = use_url
        self.redundancy = redundancy
        self.max_iter = max_iter
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.random_state = random_state

    # ------------------------------------------------------------------ helpers
    def _check_params(self) -> list:
        """Every parameter, before any work (InvalidInputError naming it, also those unused
        with the others' values, e.g. ``C_grid`` when ``C`` is given); returns the C grid."""
        check_int(self.k, "k", 1, 1000, strict=True)
        if self.C is not None:
            check_positive(self.C, "C", high=MAX_C)
        grid = check_grid(self.C_grid, "C_grid", lambda c, n: check_positive(c, n, high=MAX_C))
        check_int(self.inner_folds, "inner_folds", 2, strict=True)
        check_positive(self.eps, "eps")
        check_choice(self.n_levels, "n_levels", (1, 2, 3))
        for name in ("use_rank", "use_url", "redundancy"):
            check_bool(getattr(self, name), name)
        check_int(self.max_iter, "max_iter", 1, strict=True)
        check_n_jobs(self.n_jobs)
        check_verbose(self.verbose)
        check_seed(self.random_state)
        return grid

    def _featurizer(self) -> DiversityFeaturizer:
        return DiversityFeaturizer(n_levels=self.n_levels, use_rank=self.use_rank,
                                   use_url=self.use_url)

    def _train(self, X, Y, C):
        from ...svm import StructuredSVM
        model = DiverseSubset(k=self.k, redundancy=self.redundancy)
        svm = StructuredSVM(model, C=C, eps=self.eps, max_iter=self.max_iter,
                            n_jobs=self.n_jobs, verbose=self.verbose)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*did not reach eps.*")
            svm.fit(X, Y)
        return svm

    # ------------------------------------------------------------------ API
    def fit(self, queries, documents=None, topics=None, ranks=None) -> "DiversifiedRanker":
        """Learn from labelled queries: ``fit(data)`` or ``fit(queries, documents, topics[, ranks])``.

        data : a loader's data set (``structpred.datasets.diversity.DiversityData``, e.g. from
        ``read_ambient_folder`` or ``make_synthetic_diversity``, or anything with ``queries``,
        ``documents``, ``topics`` and ``ranks`` attributes).
        queries : list of str; documents : list (per query) of document lists; topics : list
        (per query) of n x m 2-D arrays (bool or 0/1: document d covers subtopic t) or
        per-document lists of subtopic IDs, any hashable ones (``[["1.4"], [], ["1.4", "2"]]``
        or integer indices); ranks : list (per query) of engine ranks, or None (list order).

        Queries where no candidate covers any subtopic carry no training signal: they are
        skipped with a warning (ValueError if none is left).
        """
        t0 = time.perf_counter()
        grid = self._check_params()
        queries, documents, topics, ranks = _unpack(queries, documents, topics, ranks, "fit")
        queries = list(queries)
        documents = list(documents)
        topics = list(topics)
        if not (len(queries) == len(documents) == len(topics)):
            raise InvalidInputError(f"queries, documents and topics differ in length: {len(queries)}, "
                             f"{len(documents)}, {len(topics)}")
        if ranks is not None and len(ranks) != len(queries):
            raise InvalidInputError(f"ranks has {len(ranks)} entries for {len(queries)} queries")
        feat = self._featurizer()
        X = feat.transform_many(queries, documents, ranks)
        Ts = []
        for i, (x, T) in enumerate(zip(X, topics)):
            T = topic_matrix(T, where=f"query {i}")
            if T.shape[0] != x.n_docs:
                raise InvalidInputError(f"query {i}: topics has {T.shape[0]} rows for {x.n_docs} "
                                        "documents", i)
            Ts.append(T)
        keep = [i for i, T in enumerate(Ts) if T.any()]
        if len(keep) < len(Ts):
            warnings.warn(f"skipping {len(Ts) - len(keep)} queries with no labelled subtopic: "
                          f"{[i for i in range(len(Ts)) if i not in keep]}", UserWarning,
                          stacklevel=2)
        if not keep:
            raise InvalidInputError("topics: no training query has a labelled subtopic")
        X = [X[i] for i in keep]
        Ts = [Ts[i] for i in keep]
        labeler = DiverseSubset(k=self.k)
        Y = [labeler.make_label(T) for T in Ts]
        self.cv_results_ = {}
        if self.C is None:
            n_f = min(int(self.inner_folds), len(X))
            if len(grid) > 1 and n_f >= 2:
                rng = np.random.default_rng(self.random_state)
                folds = np.array_split(rng.permutation(len(X)), n_f)
                for C in grid:
                    losses = []
                    for fo in folds:
                        tr = np.setdiff1d(np.arange(len(X)), fo)
                        svm = self._train([X[i] for i in tr], [Y[i] for i in tr], C)
                        pred = svm.predict([X[i] for i in fo])
                        losses += [weighted_subtopic_loss(Ts[i], p) for i, p in zip(fo, pred)]
                    self.cv_results_[C] = float(np.mean(losses))
                self.C_ = min(grid, key=lambda c: (self.cv_results_[c], c))
            else:
                self.C_ = grid[0]
        else:
            self.C_ = float(self.C)
        self.svm_ = self._train(X, Y, self.C_)
        self.svm_.model.featurizer_params_ = feat.get_params()
        self.featurizer_ = feat
        self.n_train_queries_ = len(X)
        self.fit_time_ = time.perf_counter() - t0
        return self

    def _check_fitted(self):
        if getattr(self, "svm_", None) is None:
            raise NotFittedError("this DiversifiedRanker is not fitted: call fit(...) or load(path)")

    def rank(self, query: str, documents, ranks=None) -> np.ndarray:
        """Top-min(k, n) document indices in selection order (ValueError if no documents)."""
        self._check_fitted()
        x = self.featurizer_.transform(query, documents, ranks)
        return self.svm_.predict([x])[0]

    def rank_many(self, queries, documents=None, ranks=None) -> list:
        """[rank(q, docs, r)] for many queries in one batch (or ``rank_many(data)``)."""
        self._check_fitted()
        queries, documents, _, ranks = _unpack(queries, documents, None, ranks, "rank_many",
                                               need_topics=False)
        X = self.featurizer_.transform_many(list(queries), list(documents), ranks)
        return self.svm_.predict(X)

    def loss(self, queries, documents=None, topics=None, ranks=None) -> np.ndarray:
        """Weighted subtopic loss of ``rank`` on each labelled query (or ``loss(data)``)."""
        queries, documents, topics, ranks = _unpack(queries, documents, topics, ranks, "loss")
        preds = self.rank_many(queries, documents, ranks)
        return np.array([weighted_subtopic_loss(topic_matrix(T, len(d), where=f"query {i}"), p)
                         for i, (T, d, p) in enumerate(zip(topics, documents, preds))])

    # ------------------------------------------------------------------ persistence
    def save(self, path) -> None:
        """Write the model (task, featurizer settings, w) as a structpred .npz model file."""
        self._check_fitted()
        self.svm_.save(path)

    @classmethod
    def load(cls, path) -> "DiversifiedRanker":
        """Read a model written by ``save``: ``structpred.load`` (every parameter and state
        value checked as the constructor and the command line check them: k in 1..1000,
        ModelFileError naming the file and the field otherwise), then a ModelFileError naming
        the file when it holds another task than DiverseSubset."""
        from ...errors import ModelFileError
        from ...svm import load
        svm = load(path)
        model = svm.model
        if not isinstance(model, DiverseSubset):
            raise ModelFileError(f"{path} holds a {type(model).__name__}, not a DiverseSubset "
                                 "model", path)
        fp = getattr(model, "featurizer_params_", None) or {}
        ranker = cls(k=model.k, C=getattr(svm, "C", None), redundancy=model.redundancy,
                     n_levels=int(fp.get("n_levels", model.n_levels_)),
                     use_rank=bool(fp.get("use_rank", True)), use_url=bool(fp.get("use_url", True)))
        ranker.svm_ = svm
        ranker.C_ = svm.C
        ranker.featurizer_ = ranker._featurizer()
        return ranker
