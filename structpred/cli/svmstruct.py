"""structpred learn / structpred classify: svm_hmm's command line on svm_hmm files.

    structpred learn [-c C] [-e eps] [-w alg] [-o rescaling] [--t order] [-v level]
                     [--task sequence] [--n_jobs N] train.dat model
    structpred classify [--tags tags.txt] [-v level] [--n_jobs N] test.dat model predictions

-c is SVM-struct's C (1/2 |w|^2 + C xi for 1-slack, 1/2 |w|^2 + (C/n) sum_i xi_i for n-slack),
the same as svm_hmm's and structpred's. -w: 0 or 1 = n-slack by dual coordinate descent
(structpred's default: the fastest at the same objective), 4 = 1-slack with the per-example
constraint cache (svm_hmm's default), 2 or 3 = 1-slack without cache. -o: 2 = margin
rescaling (default), 1 = slack rescaling. The prediction file has one tag per token line, as
svm_hmm_classify writes it.

Like svm_hmm, everything the run reports (progress lines, warnings, "Read ...", "Training ...",
"Runtime ...") goes to stdout; errors go to stderr. Every option value and the output path are
checked before any data is read.

--task picks the task (default sequence); each task is one entry of LEARN_TASKS /
CLASSIFY_TASKS, a handler taking the parsed options, so a new task is one line.
"""
from __future__ import annotations

import argparse
import sys
import time
from importlib import import_module

import numpy as np

from .report import (check_input_file, check_output_path, int_at_least, n_jobs_type,
                     positive_float, reject_unknown_options, report_to_stdout)

__all__ = ["learn_main", "classify_main", "LEARN_TASKS", "CLASSIFY_TASKS", "OWN_OPTION_TASKS",
           "CLASSIFY_BY_MODEL",
           "svm_hmm_model_message"]

_W_ALGORITHM = {0: ("n-slack", 0), 1: ("n-slack", 0), 2: ("1-slack", 0), 3: ("1-slack", 0),
                4: ("1-slack", None)}

#: Options of svm_hmm / SVM-struct that structpred does not offer (named in the error).
SVM_HMM_ONLY = {
    "-y": "svm_light verbosity", "-p": "L-norm of the slacks", "-q": "QP subproblem size",
    "-n": "new variables per QP subproblem", "-m": "kernel cache size in MB",
    "-k": "constraints to accumulate before the QP", "-b": "cache refresh percentage",
    "-t": "kernel type", "-d": "polynomial degree", "-g": "rbf gamma", "-s": "kernel parameter s",
    "-r": "kernel parameter c", "-u": "user kernel parameter", "-a": "alphas output file",
    "-x": "leave-one-out estimates", "--c": "svm_hmm structure option",
}

#: --task NAME -> "module:function"; the handler gets the parsed learn options.
LEARN_TASKS = {
    "sequence": "structpred.cli.svmstruct:learn_sequence",
}

#: --task NAME -> "module:function" for tasks with an option set of their own (svm_rank's):
#: the handler gets the whole argv and parses it itself.
OWN_OPTION_TASKS = {
    "rank": "structpred.cli.ranking:learn_rank",
    "proprank": "structpred.cli.ranking:learn_proprank",
}

#: model-file task name -> "module:function" taking the whole classify argv (ranking models
#: are applied as svm_rank_classify does: one score per line).
CLASSIFY_BY_MODEL = {
    "Ranking": "structpred.cli.ranking:classify_ranking",
    "PropensityRanking": "structpred.cli.ranking:classify_ranking",
}

#: --task NAME -> "module:function"; the handler gets the parsed classify options.
CLASSIFY_TASKS = {
    "sequence": "structpred.cli.svmstruct:classify_sequence",
}


def _version() -> str:
    from .. import __version__
    return f"structpred {__version__}"


def _handler(table, name):
    module, _, func = table[name].partition(":")
    return getattr(import_module(module), func)


def _task_option(argv) -> str | None:
    """The value of --task (``--task NAME`` or ``--task=NAME``) in argv, or None."""
    for i, tok in enumerate(argv):
        if tok == "--task" and i + 1 < len(argv):
            return argv[i + 1]
        if tok.startswith("--task="):
            return tok.partition("=")[2]
    return None


def _model_task(path) -> str | None:
    """The task name in a model file's header, or None when it cannot be read (the task's
    handler then reports why)."""
    from ..persistence import read_header
    try:
        return read_header(path).get("task")
    except (OSError, ValueError):
        return None


def _learn_parser():
    p = argparse.ArgumentParser(prog="structpred learn", allow_abbrev=False,
                                description="Train a structural SVM on an svm_hmm file "
                                            "(SVM-struct and svm_hmm options).")
    p.add_argument("--version", action="version", version=_version())
    p.add_argument("-c", dest="C", type=positive_float, required=True,
                   help="C: trade-off between training error and margin, SVM-struct "
                        "convention (a number > 0)")
    p.add_argument("-e", dest="eps", type=positive_float, default=0.1,
                   help="precision epsilon, a number > 0 (0.1)")
    p.add_argument("-w", dest="alg", type=int, default=0, choices=sorted(_W_ALGORITHM),
                   help="algorithm: 0 or 1 n-slack by dual coordinate descent (default), 4 1-slack "
                        "with cache (svm_hmm's default), 2 or 3 1-slack without cache")
    p.add_argument("-o", dest="rescaling", type=int, default=2, choices=(1, 2),
                   help="rescaling: 1 slack, 2 margin (default)")
    p.add_argument("-f", dest="cache", type=int_at_least(0), default=5,
                   help="constraints cached per example for -w 4, 0 or more (5)")
    p.add_argument("-l", dest="loss", type=int, default=1, choices=(1,),
                   help="loss function: 1 = Hamming (per-token 0/1), the only one")
    p.add_argument("--t", dest="order", type=int, default=1, choices=(1, 2),
                   help="order of transitions (1)")
    p.add_argument("--e", dest="emission_order", type=int, default=0, choices=(0,),
                   help="order of emissions (0 only)")
    p.add_argument("--b", dest="beam", type=int, default=0, choices=(0,),
                   help="beam width (0 = exact Viterbi, the only one)")
    p.add_argument("-#", dest="max_iter", type=int_at_least(1), default=100000,
                   help="maximum number of cutting-plane iterations, 1 or more (100000)")
    p.add_argument("-v", dest="verbose", type=int_at_least(0), default=1,
                   help="verbosity: 0 only warnings, 1 a line per iteration (1)")
    p.add_argument("--task", default="sequence", choices=sorted(LEARN_TASKS) + sorted(OWN_OPTION_TASKS),
                   help="task: sequence (svm_hmm files with qid lines, default), rank (svm_rank "
                        "files) or proprank (svm_proprank click files); see 'structpred learn "
                        "--task rank --help' for the ranking options")
    p.add_argument("--n_jobs", type=n_jobs_type, default=1,
                   help="threads for the oracle, -1 = all cores (1)")
    p.add_argument("train_file")
    p.add_argument("model_file")
    return p


def _fail(prog: str, message: str, code: int = 1) -> int:
    sys.stdout.flush()
    print(f"{prog}: error: {message}", file=sys.stderr)
    return code


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def learn_main(argv) -> int:
    """structpred learn: check the options and paths, then hand over to the --task handler."""
    argv = list(argv)
    task = _task_option(argv)
    if task in OWN_OPTION_TASKS:
        return int(_handler(OWN_OPTION_TASKS, task)(argv) or 0)
    parser = _learn_parser()
    reject_unknown_options(parser, argv, SVM_HMM_ONLY)
    args = parser.parse_args(argv)
    problem = (check_input_file(args.train_file, "training file")
               or check_output_path(args.model_file, "model file"))
    if problem:
        return _fail(parser.prog, problem, 2)
    with report_to_stdout(args.verbose):
        return int(_handler(LEARN_TASKS, args.task)(args) or 0)


def learn_sequence(args) -> int:
    """--task sequence: read an svm_hmm file, train SequenceLabeling, write the model (.npz)."""
    from .. import StructuredSVM
    from ..datasets.svmhmm import read_svmhmm
    from ..tasks.sequence import SequenceLabeling

    prog = "structpred learn"
    t0 = time.perf_counter()
    try:
        data = read_svmhmm(args.train_file)
    except (OSError, ValueError) as exc:
        return _fail(prog, str(exc))
    t_read = time.perf_counter() - t0
    if args.verbose:
        print(f"Read {_plural(len(data.X), 'sequence')}, "
              f"{_plural(sum(x.shape[0] for x in data.X), 'token')}, "
              f"{_plural(data.n_features, 'feature')}, {_plural(data.max_tag, 'tag')} from "
              f"{args.train_file} ({t_read:.2f} s)", flush=True)
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
    except (NotImplementedError, ValueError) as exc:
        return _fail(prog, str(exc), 2)
    t_fit = time.perf_counter() - t1
    try:
        svm.save(args.model_file)
    except OSError as exc:
        return _fail(prog, f"model file {args.model_file}: {exc.strerror or exc}")
    if args.verbose:
        print(f"Training: {_plural(svm.n_iter_, 'iteration')}, "
              f"{_plural(svm.n_oracle_calls_, 'oracle call')}, "
              f"primal objective {svm.primal_objective_:.6g}, dual {svm.dual_objective_:.6g}, "
              f"converged={svm.converged_}")
        timings = getattr(svm, "timings_", {}) or {}
        parts = ", ".join(f"{k} {v:.2f}" for k, v in timings.items())
        print(f"Runtime: {t_fit:.2f} s training (+{t_read:.2f} s reading); {parts}")
    if getattr(svm, "interrupted_", False):
        print(interrupted_note(svm, args.model_file))
    if args.verbose:
        print(f"Model written to {args.model_file}")
    sys.stdout.flush()
    return 0


def interrupted_note(svm, path) -> str:
    """One line saying that the model in ``path`` comes from an interrupted training run."""
    n_iter = getattr(svm, "n_iter_", None)
    gap = getattr(svm, "duality_gap_", None)
    after = "" if n_iter is None else f" after {_plural(int(n_iter), 'iteration')}"
    gap_text = "" if gap is None else f", duality gap {float(gap):.4g}"
    zero = ""
    w = getattr(svm, "w_", None)
    if w is not None and not np.any(w):
        zero = "; its weights are all 0, so it predicts one tag everywhere"
    return (f"Note: {path} holds an interrupted training run{after}{gap_text}: the best "
            f"iterate found, not a converged solution{zero}")


def _classify_parser():
    p = argparse.ArgumentParser(prog="structpred classify", allow_abbrev=False,
                                description="Apply a model to an svm_hmm file; writes one "
                                            "predicted tag per token line.")
    p.add_argument("--version", action="version", version=_version())
    p.add_argument("--tags", default=None,
                   help="file of 'ID NAME' lines (for example tags.txt): also print conlleval "
                        "chunk F1")
    p.add_argument("-v", dest="verbose", type=int_at_least(0), default=1,
                   help="verbosity: 0 only warnings (1)")
    p.add_argument("--b", dest="beam", type=int, default=0, choices=(0,),
                   help="beam width (0 = exact Viterbi, the only one)")
    p.add_argument("--task", default="sequence", choices=sorted(CLASSIFY_TASKS),
                   help="task of the model (sequence)")
    p.add_argument("--n_jobs", type=n_jobs_type, default=1,
                   help="threads for prediction, -1 = all cores (1)")
    p.add_argument("test_file")
    p.add_argument("model_file")
    p.add_argument("output_file")
    return p


def svm_hmm_model_message(path) -> str | None:
    """A message when ``path`` is a text model written by svm_hmm / SVM-struct, else None."""
    try:
        with open(path, "rb") as fh:
            first = fh.readline(200)
    except OSError:
        return None
    text = first.decode("latin-1").strip()
    if text.startswith("SVM-") and "Version" in text:
        return (f"{path} is an svm_hmm model file ({text!r}), a text format structpred does "
                "not read. Train a structpred model on the same training file, e.g. "
                "python -m structpred learn -c C -e EPS train.dat model.npz (same -c, -e, --t "
                "options), or apply this file with svm_hmm_classify")
    return None


def classify_main(argv) -> int:
    """structpred classify: check options and paths, then hand over to the --task handler."""
    parser = _classify_parser()
    argv = list(argv)
    reject_unknown_options(parser, argv, SVM_HMM_ONLY)
    args = parser.parse_args(argv)
    problem = (check_input_file(args.test_file, "test file")
               or check_input_file(args.model_file, "model file")
               or svm_hmm_model_message(args.model_file)
               or (args.tags and check_input_file(args.tags, "tags file"))
               or check_output_path(args.output_file, "output file"))
    if problem:
        return _fail(parser.prog, problem, 2)
    model_task = _model_task(args.model_file)
    if model_task in CLASSIFY_BY_MODEL:
        return int(_handler(CLASSIFY_BY_MODEL, model_task)(argv) or 0)
    with report_to_stdout(args.verbose):
        return int(_handler(CLASSIFY_TASKS, args.task)(args) or 0)


def classify_sequence(args) -> int:
    """--task sequence: predict, write tags, print token accuracy (and chunk F1)."""
    from .. import load
    from ..datasets.svmhmm import read_svmhmm, read_tag_names
    from ..metrics.chunking import chunk_scores
    from ..tasks.sequence import SequenceLabeling

    prog = "structpred classify"
    t0 = time.perf_counter()
    try:
        svm = load(args.model_file)
        if not isinstance(svm.model, SequenceLabeling):
            raise ValueError(f"{args.model_file}: a {type(svm.model).__name__} model, not a "
                             "sequence labeling one")
    except (OSError, ValueError) as exc:
        return _fail(prog, str(exc))
    if getattr(svm, "interrupted_", False):
        print(interrupted_note(svm, args.model_file), flush=True)
    try:
        data = read_svmhmm(args.test_file, n_features=svm.model.n_features_)
        names = read_tag_names(args.tags) if args.tags else None
    except (OSError, ValueError) as exc:
        return _fail(prog, str(exc))
    svm.n_jobs = args.n_jobs
    pred = svm.predict(data.X)
    try:
        with open(args.output_file, "w", encoding="ascii") as fh:
            for p in pred:
                fh.write("".join(f"{int(t) + 1}\n" for t in p))
    except OSError as exc:
        return _fail(prog, f"output file {args.output_file}: {exc.strerror or exc}")
    y = np.concatenate(data.Y)
    yp = np.concatenate(pred)
    acc = float(np.mean(y == yp))
    if args.verbose:
        print(f"Classified {_plural(len(data.X), 'sequence')}, {_plural(len(y), 'token')} in "
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
