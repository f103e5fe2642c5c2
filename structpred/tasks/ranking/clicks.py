"""Click simulation and propensity estimation for unbiased learning to rank.

Position-based click model (Joachims, Swaminathan & Schnabel, WSDM 2017, Sec. 7): a user
shown a ranking examines the document at rank r with probability p_r = (1/r)^η and clicks an
examined document with probability ε+ if it is relevant (grade >= ``relevant``) and ε-
(noise) otherwise; ``graded=True`` uses ε- + (ε+ - ε-)(2^g - 1)/(2^g_max - 1) instead.

Propensity estimates, both relative to p_1 = 1:

* ``estimate_propensities_swap``: randomised swap interventions (WSDM 2017, Sec. 6): each
  session swaps the documents at ranks 1 and k, k uniform in 1..K; the click rate of the
  swapped-in document at rank k over the click rate at rank 1 without swap is p_k/p_1.
* ``estimate_propensities_harvest``: intervention harvesting (Agarwal, Zaitsev, Wang, Li,
  Najork & Joachims, WSDM 2019): logs of several deterministic rankers put the same
  (query, document) at different ranks; for each rank pair (k, k') the documents seen at both
  give Σ c_k/n_k ≈ p_k Σ rel and Σ c_k'/n_k' ≈ p_k' Σ rel, and log p is the weighted
  least-squares fit of all the pairwise log ratios (a simple variant of their AllPairs
  estimator, without its likelihood weighting).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...boundary.arrays import check_flags, check_grades, check_labels, check_scores, check_vector
from ...boundary.params import (check_bool, check_int, check_positive, check_probability,
                                check_real, check_seed)
from ...errors import InvalidInputError, InvalidInputTypeError
from ...labels.clicks import Click
from .model import MAX_CLICK_WEIGHT

__all__ = ["PositionBasedClickModel", "SessionLog", "simulate_sessions", "click_examples",
           "swap_intervention", "estimate_propensities_swap", "estimate_propensities_harvest",
           "check_session_log", "click_weights", "MAX_LOG_ENTRIES"]

#: Largest click log simulated, in shown documents (sessions x documents shown per session):
#: each takes 17 bytes in the log (document, rank, click), so 2**26 is about 1.1 GB.
MAX_LOG_ENTRIES = 2 ** 26


@dataclass
class PositionBasedClickModel:
    """Examination (1/r)^eta times click-given-examination (relevance, noise)."""
    eta: float = 1.0
    epsilon_plus: float = 1.0
    epsilon_minus: float = 0.1
    relevant: float = 1.0
    graded: bool = False
    max_grade: float = 2.0

    def __post_init__(self):
        self.check()

    def check(self) -> "PositionBasedClickModel":
        """InvalidInputError naming the parameter unless η is finite and >= 0, ε+ and ε- are
        probabilities, ``relevant`` is finite, ``graded`` a bool and ``max_grade`` > 0."""
        check_real(self.eta, "eta", 0.0)
        check_probability(self.epsilon_plus, "epsilon_plus")
        check_probability(self.epsilon_minus, "epsilon_minus")
        check_real(self.relevant, "relevant")
        check_bool(self.graded, "graded")
        check_positive(self.max_grade, "max_grade", 1000.0)
        return self

    def examination(self, n: int) -> np.ndarray:
        """True propensities p_r = (1/r)^η for r = 1..n."""
        self.check()
        n = check_int(n, "n", 0)
        return (1.0 / np.arange(1, n + 1)) ** self.eta

    def click_given_examined(self, grades) -> np.ndarray:
        """Click probability of an examined document (in [0, 1]); grades finite, and in
        [0, max_grade] when ``graded``."""
        self.check()
        g = check_vector(grades, "grades")
        if self.graded:
            g = check_grades(g, "grades", max_grade=self.max_grade)
            frac = (2.0 ** g - 1.0) / (2.0 ** self.max_grade - 1.0)
            return self.epsilon_minus + (self.epsilon_plus - self.epsilon_minus) * frac
        return np.where(g >= self.relevant, self.epsilon_plus, self.epsilon_minus)

    def sample(self, grades_in_order, rng) -> np.ndarray:
        """Clicks (bool array) on a ranking whose documents have these grades, top first."""
        g = np.asarray(grades_in_order, dtype=np.float64)
        p = self.examination(g.shape[0]) * self.click_given_examined(g)
        return rng.random(g.shape[0]) < p


@dataclass
class SessionLog:
    """Logged sessions, flattened: session s showed doc[offsets[s]:offsets[s+1]] (indices
    into its query's documents) at positions 1.., with the recorded clicks."""
    query: np.ndarray
    ranker: np.ndarray
    offsets: np.ndarray
    doc: np.ndarray
    position: np.ndarray
    click: np.ndarray

    @property
    def n_sessions(self):
        """Number of logged sessions."""
        return self.query.shape[0]


def check_session_log(log, name: str = "log", sizes=None) -> SessionLog:
    """``log`` if it is a consistent SessionLog: 1-D integer arrays, ``offsets`` rising from 0
    to the number of shown documents, one query and ranker per session, documents >= 0 and
    positions 1, 2, ... within each session, clicks 0/1. With ``sizes`` (documents per query),
    every query index is < len(sizes) and every shown document < its query's size. Code that
    indexes with the log's numbers runs after this. InvalidInputError naming ``name`` and the
    first bad session otherwise (InvalidInputTypeError for another type)."""
    if not isinstance(log, SessionLog):
        raise InvalidInputTypeError(f"{name} must be a SessionLog (simulate_sessions), got "
                                    f"{type(log).__name__}")
    arrs = {}
    for field in ("query", "ranker", "offsets", "doc", "position"):
        a = np.asarray(getattr(log, field))
        if a.ndim != 1 or (a.size and a.dtype.kind not in "iu"):
            raise InvalidInputError(f"{name}.{field} must be a 1-D integer array, got dtype "
                                    f"{a.dtype} and shape {a.shape}")
        arrs[field] = a.astype(np.int64)
    S, off, N = arrs["query"].shape[0], arrs["offsets"], arrs["doc"].shape[0]
    if arrs["ranker"].shape[0] != S or off.shape[0] != S + 1 or off[0] != 0 or off[-1] != N \
            or np.any(np.diff(off) < 0) or arrs["position"].shape[0] != N:
        raise InvalidInputError(f"{name}: malformed log (offsets must rise from 0 to the "
                                f"{N} shown documents in {S + 1} entries, one query and ranker "
                                "per session, one position per shown document)")
    check_flags(log.click, f"{name}.click", N, length_of=f"{name}.doc")
    sess = np.repeat(np.arange(S), np.diff(off))
    want = np.arange(N) - off[:-1][sess] + 1 if N else np.zeros(0, np.int64)
    bad = np.flatnonzero((arrs["position"] != want) | (arrs["doc"] < 0))
    if bad.size:
        s = int(sess[bad[0]])
        raise InvalidInputError(f"{name}: session {s} shows document {int(arrs['doc'][bad[0]])} "
                                f"at position {int(arrs['position'][bad[0]])}; positions are 1, 2, "
                                "... and documents indices >= 0", s)
    if np.any(arrs["query"] < 0) or np.any(arrs["ranker"] < 0):
        s = int(np.flatnonzero((arrs["query"] < 0) | (arrs["ranker"] < 0))[0])
        raise InvalidInputError(f"{name}: session {s} has a negative query or ranker index", s)
    if sizes is not None:
        nq = len(sizes)
        if S and arrs["query"].max() >= nq:
            s = int(np.argmax(arrs["query"]))
            raise InvalidInputError(f"{name}: session {s} is of query {int(arrs['query'][s])}, "
                                    f"but only {nq} queries are given", s)
        if N:
            m = np.asarray(sizes, dtype=np.int64)[arrs["query"][sess]]
            over = np.flatnonzero(arrs["doc"] >= m)
            if over.size:
                s = int(sess[over[0]])
                q = int(arrs["query"][s])
                raise InvalidInputError(f"{name}: session {s} shows document "
                                        f"{int(arrs['doc'][over[0]])} of query {q}, which has "
                                        f"{int(m[over[0]])} documents", s)
    return log


def click_weights(propensities, top: int, clip=None) -> np.ndarray:
    """The click weights ω_r = 1/p_r for ranks r = 1..``top`` (``propensities[r - 1]`` = p_r),
    capped at ``clip``: propensities finite and > 0, at least ``top`` of them, clip None (no
    cap), inf (no cap) or a positive number; without a cap no weight may exceed
    MAX_CLICK_WEIGHT (a propensity of 1e-320 would give an infinite weight). InvalidInputError
    naming ``propensities`` (the entry) or ``clip`` otherwise."""
    p = check_vector(propensities, "propensities", min_length=1)
    if p.min() <= 0:
        k = int(np.argmin(p))
        raise InvalidInputError(f"propensities: entry {k} (rank {k + 1}) is {float(p[k])!r}; "
                                "propensities must be > 0")
    if top > p.shape[0]:
        raise InvalidInputError(f"propensities has {p.shape[0]} entries but the log shows "
                                f"documents at rank {top}")
    if clip is not None:
        clip = check_positive(clip, "clip", allow_inf=True)
    with np.errstate(over="ignore", divide="ignore"):
        w = 1.0 / p
    if clip is None or np.isinf(clip):
        if w.max() > MAX_CLICK_WEIGHT:
            k = int(np.argmin(p))
            raise InvalidInputError(f"propensities: entry {k} = {float(p[k])!r} gives a click "
                                    f"weight 1/p above {MAX_CLICK_WEIGHT:g}; pass clip= to cap "
                                    "it")
        return w
    return np.minimum(w, clip)


def _ranking(scores):
    return np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")


def simulate_sessions(model: PositionBasedClickModel, Y, rankers, n_sessions: int, rng,
                      cutoff: int | None = None, queries=None) -> SessionLog:
    """Sessions: a query drawn uniformly (from ``queries`` or all), a ranker drawn uniformly
    from ``rankers`` (a list of per-query score lists), its top ``cutoff`` shown, clicks drawn.
    At most MAX_LOG_ENTRIES shown documents in all (n_sessions x the longest list shown):
    InvalidInputError naming n_sessions beyond it, before anything is drawn.
    """
    model.check()
    rng = np.random.default_rng(check_seed(rng, "rng"))
    n_sessions = check_int(n_sessions, "n_sessions", 0)
    if cutoff is not None:
        cutoff = check_int(cutoff, "cutoff", 1)
    if len(Y) == 0 or len(rankers) == 0:
        raise InvalidInputError("Y and rankers need at least one query and one ranker")
    Y = [check_vector(y, f"Y[{q}] (grades)", index=q) for q, y in enumerate(Y)]
    queries = np.arange(len(Y)) if queries is None else check_labels(
        queries, "queries", len(Y), min_length=1)
    for j, r in enumerate(rankers):
        if len(r) != len(Y):
            raise InvalidInputError(f"rankers[{j}] scores {len(r)} queries, Y has {len(Y)}")
        for q in range(len(Y)):
            check_scores(r[q], f"rankers[{j}][{q}] (scores)", len(Y[q]), index=q)
    orders = [[_ranking(r[q])[:cutoff] for q in range(len(Y))] for r in rankers]
    longest = max(o.shape[0] for ranker in orders for o in ranker)
    if n_sessions * longest > MAX_LOG_ENTRIES:
        raise InvalidInputError(f"n_sessions={n_sessions} sessions of up to {longest} shown "
                                f"documents exceed the log's limit of {MAX_LOG_ENTRIES} entries "
                                "(structpred.tasks.ranking.clicks.MAX_LOG_ENTRIES)")
    qs = rng.choice(queries, size=n_sessions)
    rs = rng.integers(0, len(rankers), size=n_sessions)
    docs, pos, clicks, offsets = [], [], [], [0]
    for q, r in zip(qs, rs):
        order = orders[r][q]
        c = model.sample(np.asarray(Y[q])[order], rng)
        docs.append(order)
        pos.append(np.arange(1, order.shape[0] + 1))
        clicks.append(c)
        offsets.append(offsets[-1] + order.shape[0])
    cat = (lambda a, dt: np.concatenate(a).astype(dt) if a else np.zeros(0, dt))
    return SessionLog(qs.astype(np.int64), rs.astype(np.int64), np.asarray(offsets, dtype=np.int64),
                      cat(docs, np.int64), cat(pos, np.int64), cat(clicks, bool))


def click_examples(log: SessionLog, X, propensities=None, clip: float | None = None,
                   merge: bool = True):
    """Propensity SVM-rank training examples from a log: one per click, x = the documents
    shown in that session (the query's own matrix, not a copy, when all were shown), y =
    Click(clicked row, 1/p_rank) (weight 1 when ``propensities`` is None: the naive, biased
    ranker). ``propensities[r - 1]`` is p_r; ``clip`` caps 1/p_r (``click_weights`` states the
    checks). The log is checked against X first (``check_session_log``): a session of a query
    beyond ``len(X)`` or showing a document beyond its query's rows is an InvalidInputError
    naming the session, not an IndexError.

    With ``merge`` (default), clicks on the same document of the same query under the same
    ranker (same candidates, same rank) become one example whose weight is the sum of
    theirs: Σ_j ω_j hinge_j is unchanged, so training on the n' merged examples with
    C' = C n'/n gives the solution of C on the n clicks. Returns (Xc, Yc, n_clicks).
    """
    if isinstance(X, (str, bytes)) or not hasattr(X, "__len__") or not hasattr(X, "__getitem__"):
        raise InvalidInputTypeError(f"X must be a list of per-query document matrices, got "
                                    f"{type(X).__name__}")
    sizes = []
    for q in range(len(X)):
        shape = getattr(X[q], "shape", None)
        if shape is None or len(shape) != 2:
            raise InvalidInputError(f"X[{q}] must be a 2-D documents x features matrix", q)
        sizes.append(int(shape[0]))
    check_session_log(log, "log", sizes)
    top = int(log.position.max()) if log.position.size else 0
    w = None if propensities is None else click_weights(propensities, top, clip)
    if clip is not None:
        clip = check_positive(clip, "clip", allow_inf=True)
    merge = check_bool(merge, "merge")
    merged, Xc, Yc, n_clicks = {}, [], [], 0
    for s in range(log.n_sessions):
        a, b = log.offsets[s], log.offsets[s + 1]
        hit = np.flatnonzero(log.click[a:b])
        if hit.size == 0 or b - a < 2:
            continue
        shown = log.doc[a:b]
        for h in hit:
            n_clicks += 1
            wgt = 1.0 if w is None else float(w[log.position[a + h] - 1])
            if clip is not None:
                wgt = min(wgt, clip)
            key = (int(log.query[s]), int(log.ranker[s]), int(shown[h]))
            if merge and key in merged:
                j = merged[key]
                Yc[j] = Click(Yc[j].index, Yc[j].weight + wgt)
                continue
            merged[key] = len(Yc)
            xq = X[log.query[s]]
            if shown.shape[0] == xq.shape[0]:   # every document shown: the row order does
                Xc.append(xq)                   # not matter, so share the query's matrix
                Yc.append(Click(int(shown[h]), float(wgt)))
            else:
                Xc.append(xq[shown])
                Yc.append(Click(int(h), float(wgt)))
    return Xc, Yc, n_clicks


def swap_intervention(model: PositionBasedClickModel, Y, scores, n_sessions: int,
                      max_rank: int, rng):
    """Randomised swap experiment: (k per session, click on the swapped-in rank-1 document).
    InvalidInputError naming the argument: n_sessions not in 0..MAX_LOG_ENTRIES, one score
    array per query of Y (finite, one per document), and max_rank (no query with max_rank
    documents to swap)."""
    model.check()
    rng = np.random.default_rng(check_seed(rng, "rng"))
    n_sessions = check_int(n_sessions, "n_sessions", 0, MAX_LOG_ENTRIES)
    max_rank = check_int(max_rank, "max_rank", 1)
    if len(Y) == 0 or len(scores) != len(Y):
        raise InvalidInputError(f"scores has {len(scores)} queries but Y has {len(Y)} (one score "
                                "array per query, at least one query)")
    Y = [check_vector(y, f"Y[{q}] (grades)", index=q) for q, y in enumerate(Y)]
    for q in range(len(Y)):
        check_scores(scores[q], f"scores[{q}]", len(Y[q]), index=q)
    eligible = np.array([q for q in range(len(Y)) if len(Y[q]) >= max_rank])
    if eligible.size == 0:
        raise InvalidInputError(f"max_rank={max_rank}: no query has {max_rank} documents to "
                                "swap")
    ks = rng.integers(1, max_rank + 1, size=n_sessions)
    qs = rng.choice(eligible, size=n_sessions)
    clicked = np.zeros(n_sessions, dtype=bool)
    for s, (q, k) in enumerate(zip(qs, ks)):
        order = _ranking(scores[q]).copy()
        order[[0, k - 1]] = order[[k - 1, 0]]
        c = model.sample(np.asarray(Y[q])[order], rng)
        clicked[s] = c[k - 1]
    return ks, clicked


def estimate_propensities_swap(ks, clicked, max_rank: int) -> np.ndarray:
    """p̂_k / p̂_1 = (click rate of the swapped-in document at k) / (click rate at 1), for
    k = 1..max_rank; NaN for a rank k that no session swapped to (no estimate).
    ``ks`` integers in 1..max_rank, ``clicked`` one 0/1 flag per session; InvalidInputError
    naming ``clicked`` when no session without swap (k = 1) has a click."""
    max_rank = check_int(max_rank, "max_rank", 1)
    ks = check_labels(ks, "ks", max_rank + 1)
    if ks.size and ks.min() < 1:
        raise InvalidInputError(f"ks: swap rank {int(ks.min())} is not in 1..{max_rank}")
    clicked = check_flags(clicked, "clicked", ks.shape[0], length_of="ks").astype(np.float64)
    rate = np.array([clicked[ks == k].mean() if np.any(ks == k) else np.nan
                     for k in range(1, max_rank + 1)])
    if not rate[0] > 0:
        raise InvalidInputError("clicked: no click at rank 1 without swap (ks == 1): cannot "
                                "normalise the estimates")
    return rate / rate[0]


def estimate_propensities_harvest(log: SessionLog, max_rank: int) -> np.ndarray:
    """Intervention harvesting across the logged rankers (see the module docstring): p̂_k /
    p̂_1 for k = 1..max_rank, NaN for a rank that no rank pair with data reaches (no
    estimate). ``log`` a consistent SessionLog (``check_session_log``), ``max_rank`` an
    integer in 2..(largest rank shown); InvalidInputError naming ``log`` when no (query,
    document) was shown at two ranks."""
    check_session_log(log, "log")
    top = int(log.position.max()) if log.position.size else 0
    if top < 2:
        raise InvalidInputError("log: no session shows two documents, so no rank pair can be "
                                "compared")
    max_rank = check_int(max_rank, "max_rank", 2, top, high_name="the largest rank in the log")
    keep = log.position <= max_rank
    sess = np.repeat(np.arange(log.n_sessions), np.diff(log.offsets))[keep]
    q = log.query[sess]
    d = log.doc[keep]
    k = log.position[keep] - 1
    pair = q * (int(d.max()) + 1 if d.size else 1) + d
    uniq, qd = np.unique(pair, return_inverse=True)
    shape = (uniq.shape[0], max_rank)
    n = np.zeros(shape)
    c = np.zeros(shape)
    np.add.at(n, (qd, k), 1.0)
    np.add.at(c, (qd, k), log.click[keep].astype(np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n > 0, c / n, np.nan)
    rows, target, weight = [], [], []
    for a in range(max_rank):
        for b in range(a + 1, max_rank):
            both = ~np.isnan(rate[:, a]) & ~np.isnan(rate[:, b])
            A, B = rate[both, a].sum(), rate[both, b].sum()
            if A > 0 and B > 0:
                row = np.zeros(max_rank)
                row[b], row[a] = 1.0, -1.0
                rows.append(row)
                target.append(np.log(B / A))
                weight.append(np.sqrt(both.sum()))
    if not rows:
        raise InvalidInputError("log: no (query, document) was shown at two different ranks: "
                                "the logged rankers must differ to harvest interventions")
    M = np.asarray(rows)[:, 1:] * np.asarray(weight)[:, None]   # log p_1 = 0
    t = np.asarray(target) * np.asarray(weight)
    sol, *_ = np.linalg.lstsq(M, t, rcond=None)
    est = np.exp(np.concatenate([[0.0], sol]))
    reached = np.zeros(max_rank, dtype=bool)
    reached[0] = True
    for row in rows:
        reached[np.flatnonzero(row)] = True
    est[~reached] = np.nan
    return est
