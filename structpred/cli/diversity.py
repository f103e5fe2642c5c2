"""structpred diversify: train and apply the diversified ranker (SVM-div) on files.

    structpred diversify train DATA -m MODEL [--k 5] [-c C | --C-grid 0.1,1,10] [--n-jobs N] [...]
    structpred diversify apply DATA -m MODEL [-o OUT]

(structpred rank is the old name of this command.)

DATA is either a folder in AMBIENT's format (topics.txt, results.txt[.gz], and for training
subTopics.txt + STRel.txt) or a JSON-lines file with one query per line:

    {"id": "q1", "query": "jaguar", "documents": ["text", {"title": .., "snippet": .., "url": ..}],
     "ranks": [1, 2, ...],                  (optional: engine ranks, default list order)
     "subtopics": [["cat"], [], ["car", "cat"], ...]}   (training: subtopic ids per document)

apply writes a header line ``query_id<TAB>position<TAB>document_index<TAB>document_id``, then
one such line per pick (position 1 = first pick), to OUT (replaced atomically) or stdout, and
prints the mean weighted subtopic loss when DATA has subtopic labels. The old option spellings
``--C``, ``--jobs``, ``--eps`` are hidden aliases of ``-c``, ``--n-jobs``, ``-e``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ..boundary.paths import PathError, atomic_write, check_output_path
from .base import (CommandParser, ModelFile, OutputFile, add_common, c_grid, integer,
                   real, run_command, stdout_is_output)

__all__ = ["main", "invocations", "TSV_HEADER"]


#: The header line of apply's TSV output.
TSV_HEADER = "query_id\tposition\tdocument_index\tdocument_id"


def _read(path):
    from ..datasets.diversity import read_ambient_folder, read_jsonl
    p = Path(path)
    if p.is_dir():
        return read_ambient_folder(p)
    if not p.exists():
        raise FileNotFoundError(f"{p} not found")
    return read_jsonl(p)


def _parser():
    ap = CommandParser(prog="structpred diversify",
                       description="Diversified ranking with SVM-div (Yue & Joachims 2008)")
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="{train,apply}",
                            parser_class=CommandParser)
    tr = sub.add_parser("train", help="learn a ranker from labelled queries",
                        description="Learn a diversified ranker from queries with subtopic labels.")
    tr.add_argument("data", type=str,
                    help="AMBIENT-format folder or JSON-lines file with subtopic labels")
    tr.add_argument("-m", "--model", required=True, type=OutputFile("model file"),
                    help="output model file (.npz), replaced atomically")
    # 1000 = structpred.tasks.diversity.model.MAX_K (a model file's k is held to it on load)
    tr.add_argument("--k", type=integer(1, 1000, "an integer 1..1000"), default=5,
                    help="documents per ranking, 1..1000 (5)")
    add_common(tr, C_help="SVM-struct C, a finite number > 0 (default: chosen by inner CV over "
                          "--C-grid)", verbose=False)
    tr.add_argument("--C-grid", type=c_grid, default=(0.1, 1.0, 10.0),
                    help="C candidates for the inner CV, comma-separated numbers > 0 (0.1,1,10)")
    tr.add_argument("--inner-folds", type=integer(2, 100, "an integer 2..100"), default=3,
                    help="folds of the inner cross-validation over C, 2..100 (3)")
    tr.add_argument("-e", dest="eps", type=real(0.0, what="a number > 0"), default=0.01,
                    help="precision epsilon, a number > 0 (0.01)")
    tr.add_argument("--eps", dest="eps", type=real(0.0, what="a number > 0"),
                    help=argparse.SUPPRESS)
    tr.add_argument("--levels", type=int, default=2, choices=(1, 2, 3),
                    help="coverage levels of the word features (2)")
    tr.add_argument("--redundancy", action="store_true", help="add the >=2-coverage block")
    tr.add_argument("--no-rank", action="store_true", help="ignore the engine ranks")
    tr.add_argument("--no-url", action="store_true", help="ignore URLs")
    tr.add_argument("--max-iter", "-#", dest="max_iter",
                    type=integer(1, 10 ** 9, "an integer >= 1"), default=2000,
                    help="maximum number of iterations per fit, 1 or more (2000)")
    tr.add_argument("-v", "--verbose", action="count", default=0,
                    help="more progress lines (repeat for more)")
    ap_ = sub.add_parser("apply", help="rank the candidates of each query with a trained model",
                         description="Rank the candidates of each query with a trained model; "
                                     "writes a TSV with a header line.")
    ap_.add_argument("data", type=str, help="AMBIENT-format folder or JSON-lines file")
    ap_.add_argument("-m", "--model", required=True, type=ModelFile("model file"),
                     help="model file written by diversify train")
    ap_.add_argument("-o", "--output", default=None, type=OutputFile("output file"),
                     help="output TSV file (replaced atomically; default stdout)")
    ap_.add_argument("--no-header", action="store_true",
                     help="leave out the TSV header line")
    add_common(ap_, C_help="not used: a model's C is fixed when it is trained (accepted so that "
                           "train and apply take one option set)",
               jobs_help="threads, -1 = all cores (1)", verbose=False)
    return ap


def main(argv=None) -> int:
    """``structpred diversify train|apply ...``; returns the exit status."""
    return run_command("structpred diversify", _main, sys.argv[1:] if argv is None else argv)


def _check_data(path, args):
    p = Path(path)
    if not p.exists():
        raise PathError(f"data {path}: no such file or folder", path)
    out = getattr(args, "output", None) or (getattr(args, "model", None) if args.cmd == "train"
                                            else None)
    if out is not None and p.is_file():
        check_output_path(out, "output file" if args.cmd == "apply" else "model file",
                          inputs=[("data file", path)])


def _main(argv) -> int:
    from ..apps.diversity import DiversifiedRanker
    from ..metrics.subtopics import weighted_subtopic_loss
    args = _parser().parse_args(argv)
    _check_data(args.data, args)
    if args.cmd == "train":
        data = _read(args.data)
        ranker = DiversifiedRanker(k=args.k, C=args.C, C_grid=args.C_grid,
                                   inner_folds=args.inner_folds, eps=args.eps,
                                   n_levels=args.levels, redundancy=args.redundancy,
                                   use_rank=not args.no_rank, use_url=not args.no_url,
                                   max_iter=args.max_iter, n_jobs=args.n_jobs,
                                   verbose=max(0, args.verbose - 1))
        ranker.fit(data.queries, data.documents, data.topics, data.ranks)
        ranker.save(args.model)
        print(f"trained on {ranker.n_train_queries_} queries, C={ranker.C_:g}, "
              f"{ranker.svm_.n_iter_} iterations, {ranker.fit_time_:.1f}s -> {args.model}")
        return 0
    ranker = DiversifiedRanker.load(args.model)       # before reading the data
    data = _read(args.data)
    preds = ranker.rank_many(data.queries, data.documents, data.ranks)
    lines = [] if args.no_header else [TSV_HEADER + "\n"]
    for qid, ids, p in zip(data.query_ids, data.doc_ids, preds):
        for pos, d in enumerate(p, start=1):
            lines.append(f"{qid}\t{pos}\t{int(d)}\t{ids[int(d)]}\n")
    if args.output:
        with atomic_write(args.output, "w", encoding="utf-8") as fh:
            fh.writelines(lines)
    else:
        stdout_is_output()
        sys.stdout.writelines(lines)
        sys.stdout.flush()
    labelled = [i for i, T in enumerate(data.topics) if T.any()]
    if labelled:
        loss = np.mean([weighted_subtopic_loss(data.topics[i], preds[i]) for i in labelled])
        print(f"mean weighted subtopic loss over {len(labelled)} labelled queries: "
              f"{loss:.4f}", file=sys.stderr if not args.output else sys.stdout)
    return 0


def invocations():
    """(name, parser, example argv) for the CLI battery (tests/test_cli_battery.py)."""
    p = _parser()
    return [("diversify train", p, ["diversify", "train", "{div_data}", "-m", "{out}", "-c", "1",
                                    "--k", "2", "-#", "30"]),
            ("diversify apply", p, ["diversify", "apply", "{div_data}", "-m", "{div_model}",
                                    "-o", "{out}"])]
