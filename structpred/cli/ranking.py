"""``structpred learn --task rank|proprank`` and ``structpred classify`` for ranking models:
svm_rank's and svm_proprank's command lines on their files.

    structpred learn --task rank     [-c C] [-e eps] [-l 1|2] [-w alg] [-v n] train.dat model
    structpred learn --task proprank [-c C] [-e eps] [--clip W] [-w alg] [-v n] clicks.dat model
    structpred classify test.dat model predictions          (one score per line)

``-c`` is svm_rank's C (default 0.01), which is already SVM-struct's and structpred's: the
1-slack objective ½‖w‖² + C ξ over the n training queries is, with ``-l 1`` (number of
swapped pairs, the default),

    ½‖w‖² + (C/n) Σ_q Σ_{(i,j)∈P_q} max(0, 1 - w·(x_i - x_j)),

so SVM-light ``-z p -c C_light`` solves the same problem for C = n · C_light (svm_rank's page:
"C_light = C_rank/n, n = the number of training queries"); scikit-learn's LinearSVC(hinge,
no intercept) on the pair differences has C_sklearn = C/n. ``-l 2`` divides each query's
loss (and Ψ) by its number of pairs. n counts every qid, including queries without pairs.
For proprank, n is the number of clicks (qid groups) and each group's hinge is multiplied by
its ``cost:``, the WSDM 2017 objective ½‖w‖² + (C/n) Σ_j cost_j Σ_{d≠c_j} ξ_jd.

``-e`` is svm_rank's ε (default 0.001); as svm_rank does for ``-l 1`` (and svm_proprank for
its rank loss), it is multiplied by the mean number of pairs per query before training, so
the stopping rule is relative to the maximum loss. ``-w`` takes the one table of
:data:`structpred.cli.base.W_ALGORITHMS`; the default is 0 (n-slack by dual coordinate
descent), as for every task and as ``StructuredSVM(Ranking())`` in Python: on MQ2008 Fold1 it
reaches a lower primal objective than 1-slack (svm_rank's algorithm, ``-w 3``) at C = 0.1, 1
and 10 in at most the same time (benchmarks/results/ranking_default_solver.md). Only margin
rescaling (``-o 2``) exists, as in svm_rank.
"""
from __future__ import annotations

import sys

import numpy as np

from ..boundary.paths import atomic_write
from ..version import __version__
from ..compile_notice import mark, report_line, seconds_since
from .base import (FOREIGN_OPTIONS, CommandParser, InputFile, OutputFile, add_algorithm, add_common,
                   algorithm_of, integer, real, run_command)
from .report import report_to_stdout

__all__ = ["learn_rank", "learn_proprank", "classify_ranking", "is_ranking_model", "main"]


def _parser(task):
    prog = f"structpred learn --task {task}"
    p = CommandParser(prog=prog, foreign=FOREIGN_OPTIONS, description=(
        "Train SVM-rank on an svm_rank/LETOR file." if task == "rank" else
        "Train Propensity SVM-rank on an svm_proprank click file (one qid group per click; "
        "the clicked line has TARGET 1 and cost:W right after qid:N)."))
    p.add_argument("--task", choices=(task,), default=task, help=f"{task} (this option set)")
    p.add_argument("--version", action="version", version=f"structpred {__version__}",
                   help="print the version and exit")
    add_common(p, C_default=0.01, C_help="C, svm_rank's convention (= SVM-struct's; C_light = "
                                         "C/n for n training queries), a finite number > 0 (0.01)")
    p.add_argument("-e", dest="eps", type=real(0.0, what="a number > 0"), default=0.001,
                   help="epsilon, svm_rank's: multiplied by the mean number of pairs per "
                        "query for the pair-count loss (0.001)")
    if task == "rank":
        p.add_argument("-l", dest="loss", type=int, default=1, choices=(1, 2),
                       help="loss: 1 = number of swapped pairs (default), 2 = fraction of "
                            "swapped pairs per query")
    else:
        p.add_argument("--clip", type=real(0.0, what="a number > 0"), default=None,
                       help="clip the costs (inverse propensities) at this value (a number > 0)")
    add_algorithm(p, default=0)
    p.add_argument("-o", dest="rescaling", type=int, default=2, choices=(2,),
                   help="rescaling: 2 margin (the only one, as in svm_rank)")
    p.add_argument("-#", "--max-iter", dest="max_iter", type=integer(1, 10 ** 9, "an integer >= 1"),
                   default=100000, help="maximum number of iterations, 1 or more (100000)")
    p.add_argument("train_file", type=InputFile("training file"),
                   help="training file (svm_rank / LETOR format; /dev/stdin and <(zcat f) work)")
    p.add_argument("model_file", type=OutputFile("model file"),
                   help="model file to write (.npz), replaced atomically")
    return p


def _learn(argv, task):
    from .. import StructuredSVM
    from ..datasets.letor import load_letor
    from ..tasks.ranking import PropensityRanking, Ranking

    args = _parser(task).parse_args(argv)
    start = mark()
    # rank: feature values stored as float32, as svm_rank stores them (half the memory)
    data = load_letor(args.train_file, kind=task,
                      dtype=np.float32 if task == "rank" else np.float64)
    t_read = seconds_since(start)   # numba compiles not counted
    if task == "rank":
        model = Ranking(n_features=data.n_features, loss="pairs" if args.loss == 1 else "fraction")
        Y = data.y
    else:
        model = PropensityRanking(n_features=data.n_features, clip=args.clip)
        Y = data.clicks(clip=args.clip)   # a cost too large even clipped: file and line named
    pairs = model.batch_n_pairs(Y, [x.shape[0] for x in data.X])
    eps = args.eps
    if model.loss_type == "pairs":
        eps *= float(np.mean(pairs)) if len(pairs) else 1.0
    if not (np.isfinite(eps) and eps > 0):
        eps = args.eps
    if not np.any(pairs):
        # as svm_rank: a valid run whose solution is w = 0 (no pair, so no loss to reduce)
        print(f"NOTE: {args.train_file} has no preference pair (every query has one document "
              "or all its documents of one grade): the solution is w = 0, which ranks every "
              "document alike", file=sys.stderr)
    if args.verbose:
        print(f"Read {len(data)} {'queries' if task == 'rank' else 'clicks'}, "
              f"{sum(x.shape[0] for x in data.X)} documents, {data.n_features} features, "
              f"{int(np.sum(pairs))} pairs from {args.train_file} ({t_read:.2f} s)")
        if data.n_pairless:
            print(f"NOTE: {data.n_pairless} queries carry no preference pair (one document or "
                  "one grade); they add nothing to the loss but count in n, as in svm_rank")
        if model.loss_type == "pairs":
            print(f"NOTE: Adjusted stopping criterion relative to maximum loss: eps={eps:g}")
    algorithm, cache = algorithm_of(args)
    svm = StructuredSVM(model, C=args.C, eps=eps, algorithm=algorithm, cache_size=cache,
                        max_iter=args.max_iter, n_jobs=args.n_jobs, verbose=args.verbose)
    start = mark()
    with report_to_stdout(args.verbose):
        svm.fit(data.X, Y)
    t_fit = seconds_since(start)   # numba compiles not counted
    svm.save(args.model_file)
    if args.verbose:
        print(f"Training: {svm.n_iter_} iterations, primal objective {svm.primal_objective_:.6g}, "
              f"converged={svm.converged_}; {t_fit:.2f} s (+{t_read:.2f} s reading)")
        if report_line():
            print(report_line())
        print(f"Model written to {args.model_file}")
    return 0


def learn_rank(argv) -> int:
    """``structpred learn --task rank``: svm_rank_learn's options on an svm_rank/LETOR file;
    returns the exit status."""
    return run_command("structpred learn --task rank", lambda a: _learn(a, "rank"), argv)


def learn_proprank(argv) -> int:
    """``structpred learn --task proprank``: svm_proprank_learn on a click file; returns the
    exit status."""
    return run_command("structpred learn --task proprank", lambda a: _learn(a, "proprank"), argv)


def is_ranking_model(estimator) -> bool:
    """True for a loaded StructuredSVM whose task is Ranking or PropensityRanking."""
    from ..tasks.ranking import Ranking
    return isinstance(getattr(estimator, "model", None), Ranking)


def classify_ranking(args) -> int:
    """``structpred classify test.dat model predictions`` for ranking models (``args``: the
    parsed classify options): writes w·x of every line of test.dat, in file order; prints the
    fraction of swapped pairs (svm_rank's test loss), NDCG@10 and MAP (LETOR conventions)
    when the file has graded queries. An argv list (``[test, model, predictions]``) is parsed
    as ``structpred classify`` parses it and the exit status returned."""
    if isinstance(args, (list, tuple)):
        from . import main as cli_main
        return cli_main(["classify", *args])
    from .. import load
    from ..datasets.letor import load_letor
    from ..metrics.ranking import mean_average_precision, ndcg
    from ..tasks.ranking.model import swapped_pairs

    svm = load(args.model_file)
    if not is_ranking_model(svm):
        raise ValueError(f"{args.model_file}: a {type(svm.model).__name__} model, not a "
                         "ranking one")
    data = load_letor(args.test_file, n_features=svm.model.n_features)
    w = svm.w_
    scores = [np.asarray(x @ w).ravel() for x in data.X]
    with atomic_write(args.output_file, "w", encoding="ascii") as fh:
        for s in scores:
            fh.write("".join(f"{v:.8f}\n" for v in s))
    if args.verbose:
        swapped = total = 0.0
        for y, s in zip(data.y, scores):
            swapped += swapped_pairs(y, s)
            total += (y.size ** 2 - np.sum(np.unique(y, return_counts=True)[1] ** 2)) / 2
        print(f"Classified {sum(s.size for s in scores)} documents of {len(scores)} queries; "
              f"scores written to {args.output_file}")
        if total:
            print(f"Fraction of swapped pairs: {swapped / total:.6f} ({swapped:g} of {total:g})")
            print(f"NDCG@10 (LETOR): {ndcg(data.y, scores, 10):.4f}   "
                  f"MAP: {mean_average_precision(data.y, scores):.4f}")
    return 0


def main(argv=None) -> int:
    """``python -m structpred.cli.ranking learn --task rank|proprank ... | classify ...``: the
    same as ``structpred learn`` / ``structpred classify``."""
    from . import main as cli_main
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["learn"] and not any(a == "--task" or a.startswith("--task=") for a in argv):
        argv = ["learn", "--task", "rank", *argv[1:]]
    if argv[:1] in (["learn"], ["classify"]):
        return cli_main(argv)
    print("structpred learn --task rank: error: usage: python -m structpred.cli.ranking learn "
          "--task rank|proprank ... | classify test.dat model predictions", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
