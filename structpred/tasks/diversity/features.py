"""Turn (query, candidate documents[, engine ranks]) into the SVM-div input x.

x = :class:`CandidateSet`: the candidate set's vocabulary V, the word x feature matrix
φ(v, x) (how important word v is in this candidate set), the document x word coverage
structure for each coverage level, and a document x feature matrix ψ(d, x) (where the engine
ranked d, ...).

Coverage levels (nested: a document covering v at level l+1 also covers it at level l):

* level 1, "mentions": v occurs anywhere in d (title, snippet or URL words);
* level 2, "prominent": v occurs in d's title, or at least twice in d;
* level 3, "dominant": v occurs at least three times in d, or in the title and twice.

Word features φ(v, x) (all in [0, 1]): bias; document-frequency buckets (share of candidates
containing v >= .02, .05, .1, .2, .35, .5) and "in one document only"; title-frequency buckets
(share of titles containing v >= .02, .05, .1, .25); v is a query word; v occurs in a URL;
best engine rank of a candidate containing v <= 1, 3, 5, 10, 20; share of the engine's top 10
containing v >= .2, .5; v is a number; the document-frequency share itself.

Document features ψ(d, x): engine rank <= 1, 2, 3, 4, 5, 7, 10, 15, 20, 30, 50 (cumulative);
1/rank; the URL is a Wikipedia page; the title contains every query word; d has no words;
number of distinct words / 50 (capped at 1).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

__all__ = ["CandidateSet", "DiversityFeaturizer", "tokenize", "STOPWORDS"]

STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had
has have having he her here hers herself him himself his how i if in into is it its itself just
me more most my myself no nor not now of off on once only or other our ours ourselves out over
own same she should so some such than that the their theirs them themselves then there these
they this those through to too under until up very was we were what when where which while who
whom why will with would you your yours yourself yourselves s t d ll m re ve y www http https
com org net html htm php asp index en amp quot nbsp
""".split())

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_DF_BUCKETS = (0.02, 0.05, 0.1, 0.2, 0.35, 0.5)
_TITLE_BUCKETS = (0.02, 0.05, 0.1, 0.25)
_WORD_RANK_BUCKETS = (1, 3, 5, 10, 20)
_DOC_RANK_BUCKETS = (1, 2, 3, 4, 5, 7, 10, 15, 20, 30, 50)

WORD_FEATURE_NAMES = (["bias"] + [f"df>={b}" for b in _DF_BUCKETS] + ["df==1"]
                      + [f"title_df>={b}" for b in _TITLE_BUCKETS]
                      + ["query_word", "in_url"] + [f"best_rank<={b}" for b in _WORD_RANK_BUCKETS]
                      + ["top10_share>=0.2", "top10_share>=0.5", "numeric", "df_share"])


def doc_feature_names(use_rank: bool = True, use_url: bool = True) -> list[str]:
    """Names of the per-document features: rank buckets and 1/rank (``use_rank``), URL features (``use_url``)."""
    names = []
    if use_rank:
        names += [f"rank<={b}" for b in _DOC_RANK_BUCKETS] + ["1/rank"]
    if use_url:
        names += ["wikipedia_url"]
    return names + ["title_has_query", "no_words", "n_words/50"]


def tokenize(text: str) -> list[str]:
    """Lower-cased alphanumeric tokens of ``text`` without stopwords and 1-letter tokens."""
    if not text:
        return []
    return [t for t in _TOKEN.findall(text.lower()) if len(t) > 1 and t not in STOPWORDS]


def _url_tokens(url: str) -> list[str]:
    url = re.sub(r"^[a-z]+://", "", (url or "").lower())
    return tokenize(re.sub(r"[%][0-9a-f]{2}", " ", url))


@dataclass
class CandidateSet:
    """SVM-div input x for one query.

    Attributes
    ----------
    n_docs : int
    vocab : list of str, the candidate set's words V (|V| = n_words)
    phi : float64 (n_words, p), word features φ(v, x)
    cover : list of n_levels (indptr int64 (n_docs+1,), indices int32) CSR pairs; row d of
        level l lists the words d covers at level l (nested levels, see the module docstring)
    doc_feats : float64 (n_docs, q), document features ψ(d, x)
    """
    n_docs: int
    vocab: list
    phi: np.ndarray
    cover: list
    doc_feats: np.ndarray

    @property
    def n_levels(self) -> int:
        """Number of word-frequency levels of the coverage features."""
        return len(self.cover)

    @property
    def n_words(self) -> int:
        """Number of distinct words of the candidate documents."""
        return self.phi.shape[0]


def document_fields(doc, i):
    """(title, snippet, url) of candidate ``i``: a plain string is the snippet; a dict gives its fields."""
    if isinstance(doc, str):
        return "", doc, ""
    if isinstance(doc, dict):
        return str(doc.get("title") or ""), str(doc.get("snippet") or doc.get("text") or ""), \
            str(doc.get("url") or "")
    if isinstance(doc, (tuple, list)) and 1 <= len(doc) <= 3 and all(
            isinstance(f, str) or f is None for f in doc):
        f = list(doc) + [""] * (3 - len(doc))
        return f[0] or "", f[1] or "", f[2] or ""
    raise TypeError(f"document {i}: expected a string, a dict with title/snippet/url or a "
                    f"(title, snippet[, url]) tuple, got {type(doc).__name__}")


class DiversityFeaturizer:
    """Build :class:`CandidateSet` inputs from raw text (stateless: no fitting needed).

    Parameters
    ----------
    n_levels : 1, 2 or 3, number of coverage levels (see the module docstring).
    use_rank : use the engine ranks (document rank features and best-rank word features).
    use_url : use URL words (level-1 coverage, ``in_url``) and the Wikipedia-URL feature.
    """

    def __init__(self, n_levels: int = 2, use_rank: bool = True, use_url: bool = True):
        if n_levels not in (1, 2, 3):
            raise ValueError(f"n_levels must be 1, 2 or 3, got {n_levels!r}")
        self.n_levels = n_levels
        self.use_rank = use_rank
        self.use_url = use_url

    def get_params(self, deep: bool = True) -> dict:
        """Constructor parameters (n_levels, use_rank, use_url)."""
        return {"n_levels": self.n_levels, "use_rank": self.use_rank, "use_url": self.use_url}

    @property
    def n_word_features(self) -> int:
        """Number of features per covered word."""
        return len(WORD_FEATURE_NAMES)

    @property
    def n_doc_features(self) -> int:
        """Number of features per selected document."""
        return len(doc_feature_names(self.use_rank, self.use_url))

    def transform(self, query: str, documents, ranks=None) -> CandidateSet:
        """x for one query. ``documents``: strings (body text), dicts (title / snippet / url)
        or (title, snippet[, url]) tuples. ``ranks``: the engine's rank of each document
        (1 = top); None means the list order is the engine order.

        Raises ValueError for an empty candidate set or bad ranks. Documents without words
        are allowed: they cover nothing (only their document features count).
        """
        docs = list(documents)
        n = len(docs)
        if n == 0:
            raise ValueError("empty candidate set: a query needs at least one document")
        if ranks is None:
            rank = np.arange(1, n + 1, dtype=np.float64)
        else:
            rank = np.asarray(ranks, dtype=np.float64).ravel()
            if rank.shape != (n,) or not np.all(np.isfinite(rank)) or rank.min() < 1:
                raise ValueError(f"ranks must be {n} finite numbers >= 1 (one per document)")
        qwords = set(tokenize(query or ""))
        vocab: dict[str, int] = {}
        per_doc = []
        wiki = np.zeros(n)
        title_has_q = np.zeros(n)
        for i, doc in enumerate(docs):
            title, snippet, url = document_fields(doc, i)
            tt, st = tokenize(title), tokenize(snippet)
            ut = _url_tokens(url) if self.use_url else []
            counts: dict[int, int] = {}
            for tok in tt + st + ut:
                v = vocab.setdefault(tok, len(vocab))
                counts[v] = counts.get(v, 0) + 1
            in_title = {vocab[t] for t in tt}
            in_url = {vocab[t] for t in ut}
            per_doc.append((counts, in_title, in_url))
            wiki[i] = "wikipedia.org" in (url or "").lower()
            title_has_q[i] = bool(qwords) and qwords <= set(tt)
        V = len(vocab)
        words = list(vocab)
        df = np.zeros(V)
        tdf = np.zeros(V)
        udf = np.zeros(V)
        best = np.full(V, np.inf)
        top10 = np.zeros(V)
        levels = [([0], []) for _ in range(self.n_levels)]
        for i, (counts, in_title, in_url) in enumerate(per_doc):
            ids = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            cnt = np.fromiter(counts.values(), dtype=np.int64, count=len(counts))
            ids_order = np.argsort(ids)
            ids, cnt = ids[ids_order], cnt[ids_order]
            tmask = np.array([v in in_title for v in ids], dtype=bool)
            df[ids] += 1
            tdf[ids[tmask]] += 1
            if in_url:
                udf[list(in_url)] += 1
            best[ids] = np.minimum(best[ids], rank[i])
            if rank[i] <= 10:
                top10[ids] += 1
            masks = [np.ones(ids.size, dtype=bool), tmask | (cnt >= 2),
                     (cnt >= 3) | (tmask & (cnt >= 2))]
            for lvl in range(self.n_levels):
                sel = ids[masks[lvl]]
                levels[lvl][1].extend(sel.tolist())
                levels[lvl][0].append(len(levels[lvl][1]))
        share = df / n
        n_top = max(1, int(np.sum(rank <= 10)))
        cols = [np.ones(V)]
        cols += [share >= b for b in _DF_BUCKETS]
        cols += [df == 1]
        cols += [tdf / n >= b for b in _TITLE_BUCKETS]
        cols += [np.array([w in qwords for w in words], dtype=bool), udf > 0]
        use_rank = self.use_rank
        cols += [(best <= b) & use_rank for b in _WORD_RANK_BUCKETS]
        cols += [(top10 / n_top >= 0.2) & use_rank, (top10 / n_top >= 0.5) & use_rank]
        cols += [np.array([w.isdigit() for w in words], dtype=bool), share]
        phi = np.ascontiguousarray(np.column_stack(cols).astype(np.float64)) if V else \
            np.zeros((0, len(WORD_FEATURE_NAMES)))
        dcols = []
        if self.use_rank:
            dcols += [rank <= b for b in _DOC_RANK_BUCKETS] + [1.0 / rank]
        if self.use_url:
            dcols += [wiki]
        n_distinct = np.array([len(c) for c, _, _ in per_doc], dtype=np.float64)
        dcols += [title_has_q, n_distinct == 0, np.minimum(n_distinct / 50.0, 1.0)]
        doc_feats = np.ascontiguousarray(np.column_stack(dcols).astype(np.float64))
        cover = [(np.asarray(p, dtype=np.int64), np.asarray(ix, dtype=np.int32))
                 for p, ix in levels]
        return CandidateSet(n, words, phi, cover, doc_feats)

    def transform_many(self, queries, documents, ranks=None) -> list[CandidateSet]:
        """[transform(q, docs, r)] over queries; errors name the query index."""
        ranks = [None] * len(queries) if ranks is None else ranks
        out = []
        for i, (q, docs, r) in enumerate(zip(queries, documents, ranks)):
            try:
                out.append(self.transform(q, docs, r))
            except (ValueError, TypeError) as exc:
                raise type(exc)(f"query {i}: {exc}") from None
        return out


_doc_fields = document_fields   # old private name
