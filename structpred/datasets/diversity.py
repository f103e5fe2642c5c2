"""Diverse subset selection data: AMBIENT (text + subtopics), TREC 6-8 interactive aspect
labels (labels only) and a seeded synthetic generator calibrated on the TREC statistics.

Every loader returns a :class:`DiversityData`: per query, the candidate documents (dicts with
``title``, ``snippet``, ``url``; None for TREC, which has no text), the search engine's rank of
each candidate (1 = top; None when unknown) and the n x m boolean subtopic matrix ``topics``
(``topics[d, t]`` = document d covers subtopic t).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from ..boundary.text import read_text
from ..errors import DataFormatError, InvalidInputError, format_error
from .home import require_file

__all__ = ["DiversityData", "load_ambient", "read_ambient_folder", "read_jsonl", "load_trec_aspects",
           "make_synthetic_diversity"]

AMBIENT_SOURCE = ("the AMBIENT dataset (Carpineto & Romano 2008, http://credo.fub.it/ambient/; "
                  "also carrot2/carrot2 core/carrot2-source-ambient/src/ambient)")
TREC_SOURCE = ("the TREC 6-8 Interactive-track aspect judgments (NIST; copy in ssanner/diversify, "
               "files/trec/)")


@dataclass
class DiversityData:
    """Per-query candidate sets with subtopic labels (lists indexed by query)."""
    name: str
    query_ids: list
    queries: list                      # query text
    documents: list | None             # list (per query) of lists of dicts, or None
    ranks: list | None                 # list of int arrays (engine rank, 1 = top), or None
    topics: list                       # list of bool arrays, n_docs x n_subtopics
    doc_ids: list                      # list of lists of str
    subtopic_ids: list                 # list of lists of str
    extra: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.query_ids)

    def subset(self, idx) -> "DiversityData":
        """The same data restricted to the queries at positions ``idx``."""
        idx = [int(i) for i in idx]
        pick = (lambda seq: None if seq is None else [seq[i] for i in idx])
        return DiversityData(self.name, pick(self.query_ids), pick(self.queries),
                             pick(self.documents), pick(self.ranks), pick(self.topics),
                             pick(self.doc_ids), pick(self.subtopic_ids), dict(self.extra))


def _read_tsv(path, opener=None):
    """(line number, tab-separated fields) of each non-blank line after the header; plain or
    gzip; DataFormatError naming the file for a truncated/corrupt gzip or non-UTF-8 bytes."""
    lines = read_text(path, encoding="utf-8", memory_factor=16).replace("\r\n", "\n").split("\n")
    out = []
    for lineno, line in enumerate(lines[1:], start=2):   # skip the header
        if line.strip():
            out.append((lineno, line.split("\t")))
    return out


def read_jsonl(path) -> DiversityData:
    """Queries in JSON lines, one object per line (blank lines skipped)::

        {"id": "q1", "query": "jaguar", "documents": ["text", {"title": .., "snippet": ..}],
         "ranks": [1, 2, ...], "subtopics": [["cat"], [], ["car", "cat"], ...]}

    ``documents`` is required (strings or objects); ``ranks`` (engine ranks, integers >= 1,
    one per document) and ``subtopics`` (one *list* of subtopic ids per document) are
    optional. Read through :func:`structpred.boundary.text.open_text` (bounded, one open of
    a pipe). DataFormatError naming the file and line for anything else: invalid JSON, a
    subtopic row that is a bare string (``"car"`` is not the three ids c, a, r), counts that
    differ from the documents', non-integer or NaN ranks.
    """
    from ..boundary.arrays import check_vector
    from ..boundary.text import open_text
    name = str(path)
    qids, queries, documents, ranks, topics, doc_ids, sub_ids = [], [], [], [], [], [], []
    any_ranks = False
    with open_text(path, encoding="utf-8", errors="strict", memory_factor=16) as fh:
        for line in fh:
            lineno = fh.lineno
            if not line.strip():
                continue

            def fail(msg, _l=lineno):
                raise format_error(name, _l, msg)
            try:
                obj = json.loads(line)
            except (json.JSONDecodeError, RecursionError) as exc:
                fail(f"not valid JSON ({type(exc).__name__}: {str(exc)[:80]})")
            if not isinstance(obj, dict) or not isinstance(obj.get("documents"), list):
                fail("expected a JSON object with a 'documents' list")
            docs = obj["documents"]
            for j, d in enumerate(docs):
                if not isinstance(d, (str, dict)):
                    fail(f"documents[{j}] must be a string or an object, got {type(d).__name__}")
            r = obj.get("ranks")
            if r is not None:
                any_ranks = True
                if not isinstance(r, list) or any(isinstance(v, bool) for v in r):
                    fail("'ranks' must be a list of integers >= 1")
                try:
                    rv = check_vector(r, "'ranks'", len(docs), low=1.0)
                except InvalidInputError as exc:
                    fail(str(exc))
                if np.any(rv != np.round(rv)) or np.any(rv > 2 ** 62):
                    fail("'ranks' must be a list of integers >= 1")
                r = rv.astype(np.int64)
            subs = obj.get("subtopics")
            if subs is not None:
                if not isinstance(subs, list) or len(subs) != len(docs):
                    fail(f"'subtopics' must be a list with one entry per document ({len(docs)})")
                for j, row in enumerate(subs):
                    if not isinstance(row, list):
                        fail(f"subtopics[{j}] must be a list of subtopic ids, got "
                             f"{type(row).__name__} {str(row)[:40]!r} (write [{json.dumps(row)}])")
                    for sid in row:
                        if not isinstance(sid, (str, int)) or isinstance(sid, bool):
                            fail(f"subtopics[{j}] holds {sid!r}: ids are strings or integers")
            names = sorted({str(s) for row in (subs or []) for s in row})
            col = {s: j for j, s in enumerate(names)}
            T = np.zeros((len(docs), len(names)), dtype=bool)
            for d, row in enumerate(subs or []):
                for sid in row:
                    T[d, col[str(sid)]] = True
            qids.append(str(obj.get("id", len(qids) + 1)))
            queries.append(str(obj.get("query", "")))
            documents.append(docs)
            ranks.append(r)
            topics.append(T)
            doc_ids.append([str(d.get("id", j)) if isinstance(d, dict) else str(j)
                            for j, d in enumerate(docs)])
            sub_ids.append(names)
    if any_ranks:
        ranks = [np.arange(1, len(d) + 1) if r is None else r for r, d in zip(ranks, documents)]
    from pathlib import Path
    return DiversityData(Path(name).stem, qids, queries, documents,
                         ranks if any_ranks else None, topics, doc_ids, sub_ids)


def load_ambient(data_home=None) -> DiversityData:
    """AMBIENT: 44 ambiguous queries x 100 web results (title, snippet, url, engine rank) with
    Wikipedia-sense subtopic labels (STRel.txt), from ``<data home>/diversity/ambient/``.

    Raises FileNotFoundError naming the source when a file is missing, and ValueError naming
    the file and line for a malformed line or a relevance pair that names an unknown result or
    subtopic id.
    """
    base = "diversity/ambient/"
    for name in ("topics.txt", "subTopics.txt", "results.txt.gz", "STRel.txt"):
        require_file(data_home, base + name, AMBIENT_SOURCE)
    return read_ambient_folder(require_file(data_home, base + "topics.txt", AMBIENT_SOURCE).parent)


def read_ambient_folder(folder) -> DiversityData:
    """Read a folder in AMBIENT's format: ``topics.txt`` (ID, query), ``results.txt`` or
    ``results.txt.gz`` (topic.rank, url, title, snippet) and, optionally, ``subTopics.txt``
    (topic.n, description) with ``STRel.txt`` (subTopicID, resultID). Without the last two,
    every query gets a subtopic matrix with no columns (unlabelled data, for ranking).
    All files are tab separated with a header line."""
    from pathlib import Path
    folder = Path(folder)
    p_topics = folder / "topics.txt"
    p_res = folder / "results.txt.gz"
    if not p_res.exists():
        p_res = folder / "results.txt"
    p_sub = folder / "subTopics.txt"
    p_rel = folder / "STRel.txt"
    for p in (p_topics, p_res):
        if not p.exists():
            raise FileNotFoundError(f"{p} not found (AMBIENT-format folder {folder})")
    if p_rel.exists() and not p_sub.exists():
        raise FileNotFoundError(f"{p_sub} not found: STRel.txt needs subTopics.txt")
    opener = None

    query_ids, queries = [], []
    for lineno, f in _read_tsv(p_topics):
        if len(f) < 2:
            raise DataFormatError(f"{p_topics}:{lineno}: expected 'ID<TAB>description'")
        if f[0].strip() in query_ids:
            raise DataFormatError(f"{p_topics}:{lineno}: duplicate topic id {f[0].strip()!r}")
        query_ids.append(f[0].strip())
        queries.append(f[1].strip())
    qpos = {q: i for i, q in enumerate(query_ids)}

    subtopics = [[] for _ in query_ids]
    sub_desc = [[] for _ in query_ids]
    sub_index = {}
    for lineno, f in (_read_tsv(p_sub) if p_sub.exists() else []):
        sid = f[0].strip()
        q = sid.split(".")[0]
        if len(f) < 2 or "." not in sid or q not in qpos:
            raise DataFormatError(f"{p_sub}:{lineno}: bad subtopic line (unknown topic id in {sid!r})")
        if sid in sub_index:
            raise DataFormatError(f"{p_sub}:{lineno}: duplicate subtopic id {sid!r}")
        sub_index[sid] = (qpos[q], len(subtopics[qpos[q]]))
        subtopics[qpos[q]].append(sid)
        sub_desc[qpos[q]].append(f[1].strip())

    documents = [[] for _ in query_ids]
    ranks = [[] for _ in query_ids]
    doc_ids = [[] for _ in query_ids]
    doc_index = {}
    for lineno, f in _read_tsv(p_res, opener):
        rid = f[0].strip()
        q, _, r = rid.partition(".")
        if rid in doc_index:
            raise DataFormatError(f"{p_res}:{lineno}: duplicate result id {rid!r}")
        if len(f) < 4 or q not in qpos or not (r.isascii() and r.isdigit()) or int(r) < 1:
            raise DataFormatError(f"{p_res}:{lineno}: bad result line (expected 'topic.rank<TAB>url"
                             f"<TAB>title<TAB>snippet', got id {rid!r})")
        i = qpos[q]
        doc_index[rid] = (i, len(documents[i]))
        documents[i].append({"id": rid, "url": f[1].strip(), "title": f[2].strip(),
                             "snippet": f[3].strip()})
        ranks[i].append(int(r))
        doc_ids[i].append(rid)

    pairs = [[] for _ in query_ids]
    for lineno, f in (_read_tsv(p_rel) if p_rel.exists() else []):
        if len(f) < 2:
            raise DataFormatError(f"{p_rel}:{lineno}: expected 'subTopicID<TAB>resultID'")
        sid, rid = f[0].strip(), f[1].strip()
        if sid not in sub_index:
            raise DataFormatError(f"{p_rel}:{lineno}: unknown subtopic id {sid!r}")
        if rid not in doc_index:
            raise DataFormatError(f"{p_rel}:{lineno}: unknown result id {rid!r}")
        qi, t = sub_index[sid]
        qd, d = doc_index[rid]
        if qi != qd:
            raise DataFormatError(f"{p_rel}:{lineno}: subtopic {sid!r} and result {rid!r} belong to "
                             "different topics")
        pairs[qi].append((d, t))

    topics = []
    for i in range(len(query_ids)):
        T = np.zeros((len(documents[i]), len(subtopics[i])), dtype=bool)
        for d, t in pairs[i]:
            T[d, t] = True
        topics.append(T)
    return DiversityData(folder.name, query_ids, queries, documents,
                         [np.asarray(r, dtype=np.int64) for r in ranks], topics, doc_ids,
                         subtopics, {"subtopic_descriptions": sub_desc})


def _parse_trec_topics(path) -> dict:
    """Query id -> title from TRECQuery.txt (blocks 'Number:' / 'Title:' ...)."""
    text = read_text(path, encoding="latin-1", memory_factor=16).replace("\r", "")
    titles = {}
    for block in text.split("--------"):
        lines = [ln.strip() for ln in block.split("\n")]
        num = title = None
        for j, ln in enumerate(lines):
            if ln.startswith("Number:") and num is None:
                num = ln[7:].strip() or next((x for x in lines[j + 1:] if x), None)
            if ln.startswith("Title:") and title is None:
                title = ln[6:].strip() or next((x for x in lines[j + 1:] if x), "")
        if num:
            titles[num] = title or ""
    return titles


def load_trec_aspects(data_home=None, queries: str = "yue") -> DiversityData:
    """TREC 6-8 Interactive-track aspect labels (no document text).

    Parameters
    ----------
    queries : "yue" (the 17 queries of Yue & Joachims 2008, Trec68Queries.txt) or "all" (20).

    Each query's candidate set is its judged documents in file order; ``documents`` and
    ``ranks`` are None. Raises ValueError naming the line for a malformed line, a bit string
    whose length differs from the query's other lines, a duplicate document id, or a query
    id in Trec68Queries.txt that has no judgments.
    """
    base = "diversity/trec678_interactive_aspects/"
    p_asp = require_file(data_home, base + "TRECQueryAspects.txt", TREC_SOURCE)
    if queries not in ("yue", "all"):
        raise ValueError(f"queries must be 'yue' or 'all', got {queries!r}")
    order, rows = [], {}
    for lineno, line in enumerate(read_text(p_asp, encoding="latin-1", memory_factor=16).split("\n"), start=1):
        f = line.split()
        if not f:
            continue
        if len(f) != 3 or set(f[2]) - {"0", "1"}:
            raise DataFormatError(f"{p_asp}:{lineno}: expected 'QUERY DOCNO BITS', got {line!r}")
        q, doc, bits = f
        if q not in rows:
            order.append(q)
            rows[q] = []
        if rows[q] and len(rows[q][0][1]) != len(bits):
            raise DataFormatError(f"{p_asp}:{lineno}: query {q} has {len(rows[q][0][1])} aspects "
                             f"on earlier lines but {len(bits)} here")
        if any(doc == d for d, _ in rows[q]):
            raise DataFormatError(f"{p_asp}:{lineno}: duplicate document {doc} for query {q}")
        rows[q].append((doc, bits))
    if queries == "yue":
        p_q = require_file(data_home, base + "Trec68Queries.txt", TREC_SOURCE)
        wanted = [ln.strip() for ln in read_text(p_q, encoding="latin-1").splitlines() if ln.strip()]
        for q in wanted:
            if q not in rows:
                raise DataFormatError(f"{p_q}: query {q} has no judgments in {p_asp.name}")
        order = wanted
    titles = {}
    try:
        titles = _parse_trec_topics(require_file(data_home, base + "TRECQuery.txt", TREC_SOURCE))
    except FileNotFoundError:
        pass
    topics, doc_ids, sub_ids = [], [], []
    for q in order:
        T = np.array([[c == "1" for c in bits] for _, bits in rows[q]], dtype=bool)
        topics.append(T)
        doc_ids.append([d for d, _ in rows[q]])
        sub_ids.append([f"{q}.{j + 1}" for j in range(T.shape[1])])
    return DiversityData("trec678_aspects", list(order), [titles.get(q, q) for q in order],
                         None, None, topics, doc_ids, sub_ids)


# ---------------------------------------------------------------------------- synthetic
_COVER_COUNTS = np.array([0.79, 0.13, 0.05, 0.03])


def make_synthetic_diversity(n_queries: int = 100, seed: int = 0, *, n_relevant: int = 45,
                             n_nonrelevant: int = 45, vocab_size: int = 3000,
                             n_core_words: int = 30, title_len: int = 6, snippet_len: int = 25,
                             topic_share: float = 0.45, engine_noise: float = 1.0,
                             zipf_exponent: float = 1.0,
                             nonrelevant_query_share: float = 0.2) -> DiversityData:
    """Seeded synthetic subtopic-retrieval data following the recipe calibrated on TREC 6-8.

    Per query: m subtopics (log-normal around 16, clipped to 7..56) with Zipf popularity
    p_t ∝ t^-a (top subtopic ≈ 30% of labels for a = 1); about ``n_relevant`` relevant
    documents covering 1/2/3/4 subtopics with probability .79/.13/.05/.03, drawn by
    popularity; ``n_nonrelevant`` documents with background words only. Each subtopic has a
    Dirichlet word distribution over ``n_core_words`` core words of a ``vocab_size`` vocabulary;
    a token of a relevant document comes from one of its subtopics with probability
    ``topic_share`` (1.5x that in the title), else half from the query background (a
    query-specific Dirichlet over 60 words, the first being the query word) and half from the
    global Zipf background. Non-relevant documents draw a share ``nonrelevant_query_share`` of
    their tokens from the query background, the rest from the global background.
    The engine rank sorts by a noisy relevance score that favours popular subtopics
    (``engine_noise`` = standard deviation of the noise), so the engine order is relevant but
    not diverse. Documents are dicts with ``title``, ``snippet``, ``url`` (tokens ``w<id>``).
    """
    if n_queries < 1:
        raise ValueError(f"n_queries must be >= 1, got {n_queries}")
    rng = np.random.default_rng(seed)
    glob = 1.0 / np.arange(1, vocab_size + 1) ** 1.05
    glob /= glob.sum()
    query_ids, queries, documents, ranks, topics, doc_ids, sub_ids = [], [], [], [], [], [], []
    for qi in range(n_queries):
        m = int(np.clip(round(np.exp(rng.normal(np.log(16), 0.5))), 7, 56))
        pop = 1.0 / np.arange(1, m + 1) ** zipf_exponent
        pop /= pop.sum()
        sub_words, sub_probs = [], []
        for _ in range(m):
            words = rng.choice(vocab_size, size=n_core_words, replace=False)
            sub_words.append(words)
            sub_probs.append(rng.dirichlet(np.full(n_core_words, 0.3)))
        qwords = rng.choice(vocab_size, size=60, replace=False)
        qprobs = rng.dirichlet(np.full(60, 0.3))
        qprobs[0] = qprobs.max() + 0.2          # the query word itself is the commonest
        qprobs /= qprobs.sum()
        n_rel = max(5, int(rng.poisson(n_relevant)))
        n_non = max(0, int(rng.poisson(n_nonrelevant)))
        n = n_rel + n_non
        T = np.zeros((n, m), dtype=bool)
        for d in range(n_rel):
            c = min(m, 1 + int(rng.choice(4, p=_COVER_COUNTS)))
            T[d, rng.choice(m, size=c, replace=False, p=pop)] = True

        def draw(n_tok, subs, share, q_frac):
            r = rng.random(n_tok)
            from_topic = r < share if subs.size else np.zeros(n_tok, dtype=bool)
            from_query = ~from_topic & (r < share + (1 - share) * q_frac)
            toks = rng.choice(vocab_size, size=n_tok, p=glob)
            toks[from_query] = qwords[rng.choice(60, size=int(from_query.sum()), p=qprobs)]
            for j in np.flatnonzero(from_topic):
                t = subs[rng.integers(subs.size)]
                toks[j] = sub_words[t][rng.choice(n_core_words, p=sub_probs[t])]
            return " ".join(f"w{v}" for v in toks)

        docs, score = [], np.empty(n)
        for d in range(n):
            subs = np.flatnonzero(T[d])
            share = topic_share if subs.size else 0.0
            q_frac = 0.5 if subs.size else nonrelevant_query_share
            docs.append({"id": f"{qi}.{d}", "url": "",
                         "title": draw(title_len, subs, min(1.0, share * 1.5), q_frac),
                         "snippet": draw(snippet_len, subs, share, q_frac)})
            rel = np.log1p(10 * pop[subs].sum()) + 1.0 if subs.size else 0.0
            score[d] = rel + engine_noise * rng.normal()
        perm = np.argsort(-score, kind="stable")     # present documents in engine order
        rank = np.empty(n, dtype=np.int64)
        rank[perm] = np.arange(1, n + 1)
        docs = [docs[j] for j in perm]
        T = T[perm]
        query_ids.append(f"syn{qi}")
        queries.append(f"w{qwords[0]}")
        documents.append(docs)
        ranks.append(rank[perm])
        topics.append(np.ascontiguousarray(T))
        doc_ids.append([doc["id"] for doc in docs])
        sub_ids.append([f"syn{qi}.{t}" for t in range(m)])
    return DiversityData("synthetic", query_ids, queries, documents, ranks, topics, doc_ids,
                         sub_ids, {"seed": seed})
