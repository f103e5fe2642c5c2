"""structpred parse: train a constituency parser on .mrg files, or apply one.

  structpred parse train MODEL FILE.mrg... [-c C] [-e EPS] [-w ALG] [--max-len N] [--horizontal H] [--unary merge|chain]
  structpred parse apply MODEL FILE.mrg... [-o OUT] [--pcfg]

Trees are normalised (empty elements and function tags removed). apply writes one
predicted tree per line (gold POS tags are read from the input trees) and prints evalb
(COLLINS.prm) precision / recall / F1 against the input trees. Every option value and path
is checked before any file is read; the model file of apply is loaded (and its task checked)
before the trees are read; outputs are written atomically.
"""
from __future__ import annotations

import sys
import time

from ..boundary.paths import atomic_write
from .base import (CommandParser, InputFile, ModelFile, OutputFile, add_algorithm, add_common,
                   algorithm_of, integer, real, run_command, stdout_is_output)
from .report import report_to_stdout

__all__ = ["main", "invocations"]


def _read(files):
    from ..datasets.ptb import read_mrg_file
    from ..tasks.parsing.trees import normalize
    trees = []
    for f in files:
        for t in read_mrg_file(f):
            trees.append(normalize(t, index=len(trees)))
    return trees


def _parser():
    p = CommandParser(prog="structpred parse",
                      description="Constituency parsing with a structural SVM (SVM-cfg): train "
                                  "on .mrg treebank files, or apply a model.")
    sub = p.add_subparsers(dest="cmd", required=True, metavar="{train,apply}",
                           parser_class=CommandParser)
    t = sub.add_parser("train", help="train an SSVM parser",
                       description="Train an SSVM parser on .mrg trees.")
    t.add_argument("model", type=OutputFile("model file"),
                   help="model file to write (.npz), replaced atomically")
    t.add_argument("files", nargs="+", type=InputFile("treebank file"),
                   help=".mrg files of training trees")
    add_common(t, C_default=100.0)
    t.add_argument("-e", "--eps", dest="eps", type=real(0.0, what="a number > 0"), default=0.1,
                   help="precision epsilon, a number > 0 (0.1)")
    add_algorithm(t, default=0)
    t.add_argument("--max-len", type=integer(1, 1000, "an integer 1..1000"), default=25,
                   help="train on trees of at most N tokens, 1..1000 (25)")
    t.add_argument("--grammar-from-all", action="store_true",
                   help="read the grammar rules off every tree of FILE (any length), while "
                        "the SSVM trains on the trees within --max-len: fewer test sentences "
                        "without a parse")
    t.add_argument("--smoothing", type=real(0.0, 1e6, low_open=False, what="a number >= 0"),
                   default=0.0, metavar="ALPHA",
                   help="glue rules with pseudo-count ALPHA join the constituents of a sentence "
                        "no rule sequence covers, instead of a flat tree (0 = off; try 0.001)")
    t.add_argument("--grammar-files", nargs="+", default=(), metavar="MRG",
                   type=InputFile("grammar file"),
                   help="more .mrg files whose trees add grammar rules (not training examples)")
    t.add_argument("--horizontal", type=integer(0, 100, "an integer 0..100"), default=1,
                   help="horizontal Markov order of the binarization, 0..100 (1)")
    t.add_argument("--unary", choices=["merge", "chain"], default="merge",
                   help="unary chains: merge into one label (default) or keep as a chain")
    t.add_argument("--max-iter", "-#", dest="max_iter", type=integer(1, 10 ** 9, "an integer >= 1"),
                   default=300, help="maximum number of iterations, 1 or more (300)")
    a = sub.add_parser("apply", help="parse and score",
                       description="Parse the sentences of .mrg files (gold POS tags) and score "
                                   "them with evalb against the files' trees.")
    a.add_argument("model", type=ModelFile("model file"), help="model file written by parse train")
    a.add_argument("files", nargs="+", type=InputFile("treebank file"), help=".mrg files to parse")
    a.add_argument("-o", "--out", default=None, type=OutputFile("output file"),
                   help="write the predicted trees here (replaced atomically; default stdout)")
    a.add_argument("--pcfg", action="store_true", help="use the PCFG baseline weights instead")
    add_common(a, C_help="not used: a model's C is fixed when it is trained (accepted so that "
                         "train and apply take one option set)",
               jobs_help="threads for parsing, -1 = all cores (1)")
    return p


def main(argv=None) -> int:
    """``structpred parse train|apply ...``; returns the exit status."""
    return run_command("structpred parse", _main, sys.argv[1:] if argv is None else argv)


def _main(argv) -> int:
    args = _parser().parse_args(argv)
    if args.cmd == "train":
        return _train(args)
    return _apply(args)


def _train(args) -> int:
    from .. import StructuredSVM
    from ..metrics.brackets import sentence_length
    from ..tasks.parsing import ConstituencyParsing, sentence
    trees = _read(args.files)
    grammar = list(trees) if args.grammar_from_all else []
    grammar += _read(args.grammar_files) if args.grammar_files else []
    trees = [t for t in trees if sentence_length(t) <= args.max_len]
    if not trees:
        raise ValueError(f"no training tree within --max-len {args.max_len}")
    X = [sentence(t) for t in trees]
    t0 = time.time()
    model = ConstituencyParsing(horizontal=args.horizontal, unary=args.unary,
                                grammar_trees=[g.to_string() for g in grammar] or None,
                                smoothing=args.smoothing)
    algorithm, cache = algorithm_of(args)
    svm = StructuredSVM(model, C=args.C, eps=args.eps, algorithm=algorithm, cache_size=cache,
                        max_iter=args.max_iter, n_jobs=args.n_jobs, verbose=args.verbose)
    with report_to_stdout(args.verbose):
        svm.fit(X, trees)
    svm.save(args.model)
    print(f"trained on {len(trees)} trees in {time.time() - t0:.1f} s; model in {args.model}")
    return 0


def _apply(args) -> int:
    from .. import load
    from ..metrics.brackets import bracket_scores
    from ..tasks.parsing import ConstituencyParsing, sentence
    svm = load(args.model)
    if not isinstance(svm.model, ConstituencyParsing):
        raise ValueError(f"{args.model}: a {type(svm.model).__name__} model, not a parsing one "
                         "(structpred classify applies sequence and ranking models)")
    svm.n_jobs = args.n_jobs
    trees = _read(args.files)
    X = [sentence(t) for t in trees]
    before = getattr(svm.model, "fallback_count_", 0)
    if args.pcfg:
        m = svm.model
        pred = m.batch_inference(m.make_batch(X), m.pcfg_weights())
    else:
        pred = svm.predict(X)
    if args.out:
        with atomic_write(args.out, "w") as fh:
            for tr in pred:
                fh.write(f"{tr}\n")
    else:
        stdout_is_output()
        for tr in pred:
            sys.stdout.write(f"{tr}\n")
        sys.stdout.flush()
    s = bracket_scores(trees, pred)
    flat = getattr(svm.model, "fallback_count_", 0) - before
    print(f"evalb (COLLINS.prm): {s['sentences']} sentences, P {s['precision']:.2f} "
          f"R {s['recall']:.2f} F1 {s['f1']:.2f}; {flat} of {len(X)} sentences had no parse "
          "under the grammar (flat fallback trees)", file=sys.stderr)
    return 0


def invocations():
    """(name, parser, example argv) for the CLI battery (tests/test_cli_battery.py)."""
    p = _parser()
    return [("parse train", p, ["parse", "train", "{out}", "{mrg}", "--max-iter", "2",
                                "-v", "0"]),
            ("parse apply", p, ["parse", "apply", "{parse_model}", "{mrg}", "-o", "{out}"])]
