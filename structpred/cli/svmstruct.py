"""``structpred learn`` / ``structpred classify``: svm_hmm's command line on svm_hmm files.

    structpred learn [-c C] [-e eps] [-w alg] [-o rescaling] [--t order] [-v level]
                     [--task sequence] [--n_jobs N] train.dat model
    structpred classify [--tags tags.txt] [-v level] [--n_jobs N] test.dat model predictions

``-c`` is SVM-struct's C (½‖w‖² + Cξ for 1-slack, ½‖w‖² + (C/n)Σξ_i for n-slack), the same
as svm_hmm's and structpred's. ``-w``: 4 = 1-slack with the per-example constraint cache
(svm_hmm's default), 2 or 3 = 1-slack without cache, 0 or 1 = n-slack. ``-o``: 2 = margin
rescaling (default), 1 = slack rescaling. The prediction file has one tag per token line, as
svm_hmm_classify writes it.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

__all__ = ["learn_main", "classify_main"]

_W_ALGORITHM = {0: ("n-slack", 0), 1: ("n-slack", 0), 2: ("1-slack", 0), 3: ("1-slack", 0),
                4: ("1-slack", None)}


def _learn_parser():
    p = argparse.ArgumentParser(prog="structpred learn", allow_abbrev=False,
                                description="Train a structural SVM on an svm_hmm file "
                                            "(SVM-struct / svm_hmm options).")
    p.add_argument("-c", dest="C", type=float, required=True,
                   help="C: trade-off between training error and margin (SVM-struct convention)")
    p.add_argument("-e", dest="eps", type=float, default=0.1, help="precision epsilon (0.1)")
    p.add_argument("-w", dest="alg", type=int, default=4, choices=sorted(_W_ALGORITHM),
                   help="algorithm: 4 1-slack + cache (default), 2/3 1-slack, 0/1 n-slack")
    p.add_argument("-o", dest="rescaling", type=int, default=2, choices=(1, 2),
                   help="rescaling: 1 slack, 2 margin (default)")
    p.add_argument("-f", dest="cache", type=int, default=5,
                   help="constraint cache size per example for -w 4 (5)")
    p.add_argument("-l", dest="loss", type=int, default=1, choices=(1,),
                   help="loss function: 1 = Hamming (per-token 0/1), the only one")
    p.add_argument("--t", dest="order", type=int, default=1, choices=(1, 2),
                   help="order of transitions (1)")
    p.add_argument("--e", dest="emission_order", type=int, default=0, choices=(0,),
                   help="order of emissions (0 only)")
    p.add_argument("--b", dest="beam", type=int, default=0, choices=(0,),
                   help="beam width (0 = exact Viterbi, the only one)")
    p.add_argument("-#", dest="max_iter", type=int, default=100000,
                   help="maximum number of cutting-plane iterations")
    p.add_argument("-v", dest="verbose", type=int, default=1, help="verbosity (1)")
    p.add_argument("--task", default=None, choices=("sequence",),
                   help="task (default: read from the file; qid lines = sequence)")
    p.add_argument("--n_jobs", type=int, default=1, help="threads for the oracle (1)")
    p.add_argument("train_file")
    p.add_argument("model_file")
    return p


def learn_main(argv) -> int:
    """``structpred learn``: read an svm_hmm file, train, write the model (.npz)."""
    args = _learn_parser().parse_args(argv)
    from .. import StructuredSVM
    from ..datasets.svmhmm import read_svmhmm
    from ..tasks.sequence import SequenceLabeling

    if args.C <= 0:
        print("structpred learn: -c must be > 0", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    try:
        data = read_svmhmm(args.train_file)
    except (OSError, ValueError) as exc:
        print(f"structpred learn: {exc}", file=sys.stderr)
        return 1
    t_read = time.perf_counter() - t0
    if args.verbose:
        print(f"Read {len(data.X)} sequences, {sum(x.shape[0] for x in data.X)} tokens, "
              f"{data.n_features} features, {data.max_tag} tags from {args.train_file} "
              f"({t_read:.2f} s)", flush=True)
    algorithm, cache = _W_ALGORITHM[args.alg]
    model = SequenceLabeling(n_labels=data.max_tag, n_features=data.n_features,
                             transition_order=args.order)
    svm = StructuredSVM(model, C=args.C, eps=args.eps, algorithm=algorithm,
                        rescaling="margin" if args.rescaling == 2 else "slack",
                        max_iter=args.max_iter,
                        cache_size=args.cache if cache is None else cache,
                        n_jobs=args.n_jobs, verbose=args.verbose)
    t1 = time.perf_counter()
    try:
        svm.fit(data.X, data.Y)
    except NotImplementedError as exc:
        print(f"structpred learn: {exc}", file=sys.stderr)
        return 2
    t_fit = time.perf_counter() - t1
    svm.save(args.model_file)
    if args.verbose:
        print(f"Training: {svm.n_iter_} iterations, {svm.n_oracle_calls_} oracle calls, "
              f"primal objective {svm.primal_objective_:.6g}, dual {svm.dual_objective_:.6g}, "
              f"converged={svm.converged_}")
        timings = getattr(svm, "timings_", {}) or {}
        parts = ", ".join(f"{k} {v:.2f}" for k, v in timings.items())
        print(f"Runtime: {t_fit:.2f} s training (+{t_read:.2f} s reading); {parts}")
        print(f"Model written to {args.model_file}")
    return 0


def _classify_parser():
    p = argparse.ArgumentParser(prog="structpred classify", allow_abbrev=False,
                                description="Apply a model to an svm_hmm file; one predicted "
                                            "tag per token line.")
    p.add_argument("--tags", default=None,
                   help="file of 'ID NAME' lines (e.g. tags.txt): also print conlleval chunk F1")
    p.add_argument("-v", dest="verbose", type=int, default=1)
    p.add_argument("--b", dest="beam", type=int, default=0, choices=(0,))
    p.add_argument("--n_jobs", type=int, default=1)
    p.add_argument("test_file")
    p.add_argument("model_file")
    p.add_argument("output_file")
    return p


def read_tag_names(path) -> dict:
    """{tag id: name} from lines 'ID NAME' (svm_hmm tags.txt)."""
    names = {}
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 2 or not parts[0].lstrip("-").isdigit():
                raise ValueError(f"{path}, line {lineno}: expected 'ID NAME'")
            names[int(parts[0])] = parts[1]
    return names


def classify_main(argv) -> int:
    """``structpred classify``: predict, write tags, print token accuracy (and chunk F1)."""
    args = _classify_parser().parse_args(argv)
    from .. import load
    from ..datasets.svmhmm import read_svmhmm
    from ..metrics.chunking import chunk_scores

    t0 = time.perf_counter()
    try:
        svm = load(args.model_file)
        from ..tasks.sequence import SequenceLabeling
        if not isinstance(svm.model, SequenceLabeling):
            raise ValueError(f"{args.model_file}: a {type(svm.model).__name__} model, not a "
                             "sequence labeling one")
        n_features = svm.model.n_features_
        data = read_svmhmm(args.test_file, n_features=n_features)
        names = read_tag_names(args.tags) if args.tags else None
    except (OSError, ValueError) as exc:
        print(f"structpred classify: {exc}", file=sys.stderr)
        return 1
    svm.n_jobs = args.n_jobs
    pred = svm.predict(data.X)
    with open(args.output_file, "w", encoding="ascii") as fh:
        for p in pred:
            fh.write("".join(f"{int(t) + 1}\n" for t in p))
    y = np.concatenate(data.Y)
    yp = np.concatenate(pred)
    acc = float(np.mean(y == yp))
    if args.verbose:
        print(f"Classified {len(data.X)} sequences, {len(y)} tokens in "
              f"{time.perf_counter() - t0:.2f} s; predictions written to {args.output_file}")
        print(f"Average loss per token: {1 - acc:.6f}")
        print(f"Token accuracy: {100 * acc:.2f}%")
    if names is not None:
        def tag(t):
            return names.get(int(t) + 1, "O")
        score = chunk_scores([[tag(t) for t in s] for s in data.Y], [[tag(t) for t in s] for s in pred])
        print(str(score))
        print(f"Chunk F1: {score.f1:.2f}")
    return 0
