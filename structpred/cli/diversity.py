"""structpred diversify: train and apply the diversified ranker (SVM-div) on files.

    structpred diversify train DATA -m MODEL [--k 5] [--C C | --C-grid 0.1,1,10] [...]
    structpred diversify apply DATA -m MODEL [-o OUT]

(structpred rank is the old name of this command.)

DATA is either a folder in AMBIENT's format (topics.txt, results.txt[.gz], and for training
subTopics.txt + STRel.txt) or a JSON-lines file with one query per line:

    {"id": "q1", "query": "jaguar", "documents": ["text", {"title": .., "snippet": .., "url": ..}],
     "ranks": [1, 2, ...],                  (optional: engine ranks, default list order)
     "subtopics": [["cat"], [], ["car", "cat"], ...]}   (training: subtopic ids per document)

apply writes query_id<TAB>position<TAB>document_index<TAB>document_id lines (position
1 = first pick) to OUT or stdout, and prints the mean weighted subtopic loss when DATA has
subtopic labels.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

__all__ = ["main", "read_jsonl"]


def read_jsonl(path):
    """Read the JSON-lines format above into a DiversityData (ValueError naming the line)."""
    from ..datasets.diversity import DiversityData
    qids, queries, documents, ranks, topics, doc_ids, sub_ids = [], [], [], [], [], [], []
    any_ranks = False
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                docs = list(obj["documents"])
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{lineno}: expected a JSON object with 'documents' "
                                 f"({exc})") from None
            qids.append(str(obj.get("id", len(qids) + 1)))
            queries.append(str(obj.get("query", "")))
            documents.append(docs)
            r = obj.get("ranks")
            if r is not None:
                any_ranks = True
                if len(r) != len(docs):
                    raise ValueError(f"{path}:{lineno}: {len(r)} ranks for {len(docs)} documents")
            ranks.append(None if r is None else np.asarray(r, dtype=np.int64))
            subs = obj.get("subtopics")
            if subs is not None and len(subs) != len(docs):
                raise ValueError(f"{path}:{lineno}: 'subtopics' has {len(subs)} entries for "
                                 f"{len(docs)} documents")
            names = sorted({str(s) for row in (subs or []) for s in row})
            col = {s: j for j, s in enumerate(names)}
            T = np.zeros((len(docs), len(names)), dtype=bool)
            for d, row in enumerate(subs or []):
                for s in row:
                    T[d, col[str(s)]] = True
            topics.append(T)
            doc_ids.append([str(d.get("id", j)) if isinstance(d, dict) else str(j)
                            for j, d in enumerate(docs)])
            sub_ids.append(names)
    if any_ranks:
        ranks = [np.arange(1, len(d) + 1) if r is None else r for r, d in zip(ranks, documents)]
    return DiversityData(Path(path).stem, qids, queries, documents,
                         ranks if any_ranks else None, topics, doc_ids, sub_ids)


def _read(path):
    from ..datasets.diversity import read_ambient_folder
    p = Path(path)
    if p.is_dir():
        return read_ambient_folder(p)
    if not p.exists():
        raise FileNotFoundError(f"{p} not found")
    return read_jsonl(p)


def _parser():
    ap = argparse.ArgumentParser(prog="structpred diversify",
                                 description="Diversified ranking with SVM-div (Yue & Joachims 2008)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    tr = sub.add_parser("train", help="learn a ranker from labelled queries")
    tr.add_argument("data", help="AMBIENT-format folder or JSON-lines file with subtopic labels")
    tr.add_argument("-m", "--model", required=True, help="output model file (.npz)")
    tr.add_argument("--k", type=int, default=5, help="documents per ranking (5)")
    tr.add_argument("--C", type=float, default=None, help="SVM-struct C (default: inner CV)")
    tr.add_argument("--C-grid", default="0.1,1,10", help="C candidates for the inner CV")
    tr.add_argument("--inner-folds", type=int, default=3)
    tr.add_argument("--eps", type=float, default=0.01)
    tr.add_argument("--levels", type=int, default=2, choices=(1, 2, 3), help="coverage levels")
    tr.add_argument("--redundancy", action="store_true", help="add the >=2-coverage block")
    tr.add_argument("--no-rank", action="store_true", help="ignore the engine ranks")
    tr.add_argument("--no-url", action="store_true", help="ignore URLs")
    tr.add_argument("--jobs", type=int, default=1)
    tr.add_argument("-v", "--verbose", action="count", default=0)
    ap_ = sub.add_parser("apply", help="rank the candidates of each query with a trained model")
    ap_.add_argument("data", help="AMBIENT-format folder or JSON-lines file")
    ap_.add_argument("-m", "--model", required=True)
    ap_.add_argument("-o", "--output", default=None, help="output file (default stdout)")
    return ap


def main(argv=None) -> int:
    """``structpred diversify train|apply``: train a DiversifiedRanker on diversity data or apply a
    saved one; returns the exit status."""
    from ..apps.diversity import DiversifiedRanker
    from ..metrics.subtopics import weighted_subtopic_loss
    args = _parser().parse_args(argv)
    try:
        data = _read(args.data)
        if args.cmd == "train":
            grid = tuple(float(c) for c in args.C_grid.split(",") if c.strip())
            ranker = DiversifiedRanker(k=args.k, C=args.C, C_grid=grid,
                                       inner_folds=args.inner_folds, eps=args.eps,
                                       n_levels=args.levels, redundancy=args.redundancy,
                                       use_rank=not args.no_rank, use_url=not args.no_url,
                                       n_jobs=args.jobs, verbose=max(0, args.verbose - 1))
            ranker.fit(data.queries, data.documents, data.topics, data.ranks)
            ranker.save(args.model)
            print(f"trained on {ranker.n_train_queries_} queries, C={ranker.C_:g}, "
                  f"{ranker.svm_.n_iter_} iterations, {ranker.fit_time_:.1f}s -> {args.model}")
            return 0
        ranker = DiversifiedRanker.load(args.model)
        preds = ranker.rank_many(data.queries, data.documents, data.ranks)
        out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
        try:
            for qid, ids, p in zip(data.query_ids, data.doc_ids, preds):
                for pos, d in enumerate(p, start=1):
                    out.write(f"{qid}\t{pos}\t{int(d)}\t{ids[int(d)]}\n")
        finally:
            if args.output:
                out.close()
        labelled = [i for i, T in enumerate(data.topics) if T.any()]
        if labelled:
            loss = np.mean([weighted_subtopic_loss(data.topics[i], preds[i]) for i in labelled])
            print(f"mean weighted subtopic loss over {len(labelled)} labelled queries: "
                  f"{loss:.4f}", file=sys.stderr if not args.output else sys.stdout)
        return 0
    except (ValueError, FileNotFoundError, TypeError) as exc:
        print(f"structpred diversify: error: {exc}", file=sys.stderr)
        return 1
