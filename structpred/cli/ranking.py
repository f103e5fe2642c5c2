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
the stopping rule is relative to the maximum loss. ``-w``: 3 (default) / 2 = 1-slack, 4 =
1-slack with the constraint cache, 0 / 1 = n-slack, 9 = BCFW. Only margin rescaling (``-o 2``)
exists, as in svm_rank.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from ..version import __version__
from .report import (check_input_file, check_output_path, int_at_least, n_jobs_type,
                     positive_float, report_to_stdout)

__all__ = ["learn_rank", "learn_proprank", "classify_ranking", "is_ranking_model", "main"]

_W = {0: ("n-slack", 0), 1: ("n-slack", 0), 2: ("1-slack", 0), 3: ("1-slack", 0),
      4: ("1-slack", 5), 9: ("bcfw", 0)}


def _parser(task):
    prog = f"structpred learn --task {task}"
    p = argparse.ArgumentParser(prog=prog, allow_abbrev=False, description=(
        "Train SVM-rank on an svm_rank/LETOR file." if task == "rank" else
        "Train Propensity SVM-rank on an svm_proprank click file (one qid group per click; "
        "the clicked line has TARGET 1 and cost:W right after qid:N)."))
    p.add_argument("--task", choices=(task,), default=task)
    p.add_argument("--version", action="version", version=f"structpred {__version__}")
    p.add_argument("-c", dest="C", type=positive_float, default=0.01,
                   help="C, svm_rank's convention (= SVM-struct's; C_light = C/n for n "
                        "training queries) (default 0.01)")
    p.add_argument("-e", dest="eps", type=positive_float, default=0.001,
                   help="epsilon, svm_rank's: multiplied by the mean number of pairs per "
                        "query for the pair-count loss (default 0.001)")
    if task == "rank":
        p.add_argument("-l", dest="loss", type=int, default=1, choices=(1, 2),
                       help="loss: 1 = number of swapped pairs (default), 2 = fraction of "
                            "swapped pairs per query")
    else:
        p.add_argument("--clip", type=positive_float, default=None,
                       help="clip the costs (inverse propensities) at this value")
    p.add_argument("-w", dest="alg", type=int, default=3, choices=sorted(_W),
                   help="algorithm: 3/2 1-slack (default), 4 1-slack + cache, 0/1 n-slack, 9 BCFW")
    p.add_argument("-o", dest="rescaling", type=int, default=2, choices=(2,),
                   help="rescaling: 2 margin (the only one, as in svm_rank)")
    p.add_argument("-#", dest="max_iter", type=int_at_least(1), default=100000,
                   help="maximum number of iterations")
    p.add_argument("-v", dest="verbose", type=int_at_least(0), default=1, help="verbosity (1)")
    p.add_argument("--n_jobs", type=n_jobs_type, default=1, help="threads for the oracle (1)")
    p.add_argument("train_file")
    p.add_argument("model_file")
    return p


def _learn(argv, task):
    from .. import StructuredSVM
    from ..datasets.letor import load_letor
    from ..tasks.ranking import PropensityRanking, Ranking

    args = _parser(task).parse_args(argv)
    prog = f"structpred learn --task {task}"
    problem = (check_input_file(args.train_file, "training file")
               or check_output_path(args.model_file, "model file"))
    if problem:
        print(f"{prog}: error: {problem}", file=sys.stderr)
        return 2
    for name, v in (("-c", args.C), ("-e", args.eps)):
        if not (np.isfinite(v) and v > 0):
            print(f"{prog}: {name} must be a positive number, got {v!r}", file=sys.stderr)
            return 2
    if task == "proprank" and args.clip is not None and not (np.isfinite(args.clip) and args.clip > 0):
        print(f"{prog}: --clip must be a positive number, got {args.clip!r}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    try:
        data = load_letor(args.train_file, kind=task)
    except (OSError, ValueError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1
    t_read = time.perf_counter() - t0
    if task == "rank":
        model = Ranking(n_features=data.n_features, loss="pairs" if args.loss == 1 else "fraction")
        Y = data.y
    else:
        model = PropensityRanking(n_features=data.n_features, clip=args.clip)
        Y = data.clicks()
    pairs = [model.n_pairs(y, x.shape[0]) for x, y in zip(data.X, Y)]
    eps = args.eps
    if model.loss_type == "pairs":
        eps *= float(np.mean(pairs))
    if args.verbose:
        print(f"Read {len(data)} {'queries' if task == 'rank' else 'clicks'}, "
              f"{sum(x.shape[0] for x in data.X)} documents, {data.n_features} features, "
              f"{sum(pairs)} pairs from {args.train_file} ({t_read:.2f} s)")
        if data.n_pairless:
            print(f"NOTE: {data.n_pairless} queries carry no preference pair (one document or "
                  "one grade); they add nothing to the loss but count in n, as in svm_rank")
        if model.loss_type == "pairs":
            print(f"NOTE: Adjusted stopping criterion relative to maximum loss: eps={eps:g}")
    algorithm, cache = _W[args.alg]
    svm = StructuredSVM(model, C=args.C, eps=eps, algorithm=algorithm, cache_size=cache,
                        max_iter=args.max_iter, n_jobs=args.n_jobs, verbose=args.verbose)
    t1 = time.perf_counter()
    try:
        with report_to_stdout(args.verbose):
            svm.fit(data.X, Y)
    except ValueError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1
    t_fit = time.perf_counter() - t1
    svm.save(args.model_file)
    if args.verbose:
        print(f"Training: {svm.n_iter_} iterations, primal objective {svm.primal_objective_:.6g}, "
              f"converged={svm.converged_}; {t_fit:.2f} s (+{t_read:.2f} s reading)")
        print(f"Model written to {args.model_file}")
    return 0


def learn_rank(argv) -> int:
    """``structpred learn --task rank``: svm_rank_learn's options on an svm_rank/LETOR file."""
    return _learn(list(argv), "rank")


def learn_proprank(argv) -> int:
    """``structpred learn --task proprank``: svm_proprank_learn on a click file."""
    return _learn(list(argv), "proprank")


def is_ranking_model(estimator) -> bool:
    """True for a loaded StructuredSVM whose task is Ranking or PropensityRanking."""
    from ..tasks.ranking import Ranking
    return isinstance(getattr(estimator, "model", None), Ranking)


def _classify_parser():
    p = argparse.ArgumentParser(prog="structpred classify", allow_abbrev=False,
                                description="Apply a ranking model: one score per test line, "
                                            "as svm_rank_classify writes them.")
    p.add_argument("-v", dest="verbose", type=int, default=1)
    p.add_argument("--n_jobs", type=int, default=1, help="accepted for compatibility (unused)")
    p.add_argument("test_file")
    p.add_argument("model_file")
    p.add_argument("output_file")
    return p


def classify_ranking(argv) -> int:
    """``structpred classify test.dat model predictions`` for ranking models: writes w·x of
    every line of test.dat, in file order; prints the fraction of swapped pairs (svm_rank's
    test loss), NDCG@10 and MAP (LETOR conventions) when the file has graded queries."""
    from .. import load
    from ..datasets.letor import load_letor
    from ..metrics.ranking import mean_average_precision, ndcg
    from ..tasks.ranking.model import swapped_pairs

    args = _classify_parser().parse_args(list(argv))
    try:
        svm = load(args.model_file)
        if not is_ranking_model(svm):
            raise ValueError(f"{args.model_file}: a {type(svm.model).__name__} model, not a "
                             "ranking one")
        data = load_letor(args.test_file, n_features=svm.model.n_features)
    except (OSError, ValueError) as exc:
        print(f"structpred classify: {exc}", file=sys.stderr)
        return 1
    w = svm.w_
    scores = [np.asarray(x @ w).ravel() for x in data.X]
    with open(args.output_file, "w", encoding="ascii") as fh:
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
    """``python -m structpred.cli.ranking learn --task rank|proprank ... | classify ...``."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["learn"]:
        rest = argv[1:]
        i = rest.index("--task") if "--task" in rest else -1
        task = rest[i + 1] if 0 <= i < len(rest) - 1 else "rank"
        return learn_proprank(rest) if task == "proprank" else learn_rank(rest)
    if argv[:1] == ["classify"]:
        return classify_ranking(argv[1:])
    print("usage: python -m structpred.cli.ranking learn --task rank|proprank ... | "
          "classify test.dat model predictions", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
