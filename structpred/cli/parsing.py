"""structpred parse: train a constituency parser on .mrg files, or apply one.

  structpred parse train MODEL FILE.mrg... [-c C] [-e EPS] [--max-len N] [--horizontal H] [--unary merge|chain]
  structpred parse apply MODEL FILE.mrg... [-o OUT] [--pcfg]

Trees are normalised (empty elements and function tags removed). apply writes one
predicted tree per line (gold POS tags are read from the input trees) and prints evalb
(COLLINS.prm) precision / recall / F1 against the input trees.
"""
from __future__ import annotations

import argparse
import sys
import time

__all__ = ["main"]


def _read(files):
    from ..datasets.ptb import read_mrg_file
    from ..labels.trees import normalize
    trees = []
    for f in files:
        for t in read_mrg_file(f):
            trees.append(normalize(t, index=len(trees)))
    return trees


def main(argv=None) -> int:
    """``structpred parse train|apply``: train an SSVM constituency parser on bracketed trees or
    parse with a saved one; returns the exit status."""
    p = argparse.ArgumentParser(prog="structpred parse", description=__doc__.split("\n")[0].split(": ", 1)[1])
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train an SSVM parser")
    t.add_argument("model")
    t.add_argument("files", nargs="+")
    t.add_argument("-c", type=float, default=100.0, help="C (SVM-struct convention)")
    t.add_argument("-e", type=float, default=0.1, help="epsilon")
    t.add_argument("--max-len", type=int, default=25, help="train on trees of at most N tokens")
    t.add_argument("--grammar-from-all", action="store_true",
                   help="read the grammar rules off every tree of FILE (any length), while "
                        "the SSVM trains on the trees within --max-len: fewer test sentences "
                        "without a parse")
    t.add_argument("--smoothing", type=float, default=0.0, metavar="ALPHA",
                   help="glue rules with pseudo-count ALPHA join the constituents of a sentence "
                        "no rule sequence covers, instead of a flat tree (0 = off; try 0.001)")
    t.add_argument("--grammar-files", nargs="+", default=(), metavar="MRG",
                   help="more .mrg files whose trees add grammar rules (not training examples)")
    t.add_argument("--horizontal", type=int, default=1)
    t.add_argument("--unary", choices=["merge", "chain"], default="merge")
    t.add_argument("--max-iter", type=int, default=300)
    t.add_argument("--n-jobs", type=int, default=1)
    a = sub.add_parser("apply", help="parse and score")
    a.add_argument("model")
    a.add_argument("files", nargs="+")
    a.add_argument("-o", "--out", default=None)
    a.add_argument("--pcfg", action="store_true", help="use the PCFG baseline weights instead")
    args = p.parse_args(argv)
    from .. import StructuredSVM, load
    from ..metrics.brackets import bracket_scores, sentence_length
    from ..tasks.parsing import ConstituencyParsing, sentence
    try:
        trees = _read(args.files)
    except (OSError, ValueError) as exc:
        print(f"structpred parse: {exc}", file=sys.stderr)
        return 2
    if args.cmd == "train":
        grammar = list(trees) if args.grammar_from_all else []
        try:
            grammar += _read(args.grammar_files) if args.grammar_files else []
        except (OSError, ValueError) as exc:
            print(f"structpred parse: {exc}", file=sys.stderr)
            return 2
        trees = [t for t in trees if sentence_length(t) <= args.max_len]
        if not trees:
            print("structpred parse: no training tree within --max-len", file=sys.stderr)
            return 2
        X = [sentence(t) for t in trees]
        t0 = time.time()
        model = ConstituencyParsing(horizontal=args.horizontal, unary=args.unary,
                                    grammar_trees=[g.to_string() for g in grammar] or None,
                                    smoothing=args.smoothing)
        svm = StructuredSVM(model, C=args.c, eps=args.e,
                            max_iter=args.max_iter, n_jobs=args.n_jobs, verbose=1)
        svm.fit(X, trees)
        svm.save(args.model)
        print(f"trained on {len(trees)} trees in {time.time() - t0:.1f} s; model in {args.model}")
        return 0
    svm = load(args.model)
    X = [sentence(t) for t in trees]
    before = getattr(svm.model, "fallback_count_", 0)
    if args.pcfg:
        m = svm.model
        pred = m.batch_inference(m.make_batch(X), m.pcfg_weights())
    else:
        pred = svm.predict(X)
    out = open(args.out, "w") if args.out else sys.stdout
    try:
        for tr in pred:
            print(tr, file=out)
    finally:
        if args.out:
            out.close()
    s = bracket_scores(trees, pred)
    flat = getattr(svm.model, "fallback_count_", 0) - before
    print(f"evalb (COLLINS.prm): {s['sentences']} sentences, P {s['precision']:.2f} "
          f"R {s['recall']:.2f} F1 {s['f1']:.2f}; {flat} of {len(X)} sentences had no parse "
          "under the grammar (flat fallback trees)", file=sys.stderr)
    return 0
