"""structpred learn / structpred classify: svm_hmm's and svm_rank's command lines.

    structpred learn -c C [-e eps] [-w alg | --algorithm NAME] [-o rescaling] [--t order] [-v level]
                     [--task sequence|rank|proprank] [--n-jobs N]
                     [--scheduler ADDRESS | --n-workers N] train.dat model
    structpred classify [--tags tags.txt] [-v level] [--n-jobs N] test.dat model predictions

-c is SVM-struct's C (1/2 |w|^2 + C xi for 1-slack, 1/2 |w|^2 + (C/n) sum_i xi_i for n-slack),
the same as svm_hmm's, svm_rank's and structpred's. -w takes SVM-struct's algorithm numbers
from the one table :data:`structpred.cli.base.W_ALGORITHMS` (0/1 n-slack by dual coordinate
descent, the default for every task; 4 1-slack with the constraint cache, svm_hmm's default;
2/3 1-slack without cache, svm_rank's default; 9 BCFW). -o: 2 = margin rescaling (default),
1 = slack rescaling. The prediction file has one tag per token line, as svm_hmm_classify
writes it; for a ranking model one score per line, as svm_rank_classify writes it.

Like svm_hmm, everything the run reports (progress lines, warnings, "Read ...", "Training ...",
"Runtime ...") goes to stdout; errors go to stderr as one line. Every option value and every
path is checked before any data is read (:mod:`structpred.cli.base`); outputs are written
atomically and are never one of the inputs.

--task picks the task (default sequence); each task is one entry of LEARN_TASKS /
OWN_OPTION_TASKS (learn) and CLASSIFY_BY_MODEL (classify, by the model file's task), a
handler taking the parsed options, so a new task is one line.
"""
from __future__ import annotations

import sys
import time
from importlib import import_module

import numpy as np

from ..boundary.paths import atomic_write
from ..compile_notice import mark, report_line, seconds_since
from .base import (FOREIGN_OPTIONS, CommandParser, InputFile, ModelFile, OutputFile, add_algorithm, add_common,
                   algorithm_of, integer, real, run_command)
from .cluster import dask_cluster, warm_examples
from .report import report_to_stdout

__all__ = ["learn_main", "classify_main", "LEARN_TASKS", "CLASSIFY_TASKS", "OWN_OPTION_TASKS",
           "CLASSIFY_BY_MODEL", "svm_hmm_model_message", "invocations", "release_large_frees"]

#: --algorithm NAME choices: the registered solvers (``structpred.solvers.registry``)
_ALGORITHMS = ("1-slack", "bcfw", "n-slack", "n-slack-cocoa", "n-slack-smo", "subgradient")

#: Options of svm_hmm / SVM-struct that structpred does not offer (named in the error).
SVM_HMM_ONLY = FOREIGN_OPTIONS

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

#: model-file task name -> ("module:function" taking the parsed classify options, what it
#: writes). The sequence entry is also the default for files whose task cannot be read.
CLASSIFY_BY_MODEL = {
    "SequenceLabeling": ("structpred.cli.svmstruct:classify_sequence",
                         "sequence labeling (svm_hmm test file): one predicted tag per token "
                         "line, as svm_hmm_classify; token accuracy, and chunk F1 with --tags"),
    "Ranking": ("structpred.cli.ranking:classify_ranking",
                "ranking (svm_rank / LETOR test file): one score w.x per line in file order, "
                "as svm_rank_classify; fraction of swapped pairs, NDCG@10 and MAP"),
    "PropensityRanking": ("structpred.cli.ranking:classify_ranking",
                          "propensity ranking (svm_proprank model): as ranking"),
}

#: Other model kinds and the command that applies them (named in classify's help and errors).
OTHER_MODEL_COMMANDS = {
    "ConstituencyParsing": "structpred parse apply MODEL FILE.mrg",
    "DiverseSubset": "structpred diversify apply DATA -m MODEL",
    "Multiclass": "Python: structpred.load(MODEL).predict(X)",
    "MultiLabel": "Python: structpred.load(MODEL).predict(X)",
}

#: --task NAME -> "module:function" (kept for compatibility: classify picks the handler by
#: the model file's task; --task sequence is the default).
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
    p = CommandParser(prog="structpred learn", foreign=SVM_HMM_ONLY,
                      description="Train a structural SVM on an svm_hmm file (SVM-struct and "
                                  "svm_hmm options); --task rank|proprank for svm_rank / "
                                  "svm_proprank files (see structpred learn --task rank --help).")
    p.add_argument("--version", action="version", version=_version(),
                   help="print the version and exit")
    add_common(p, C_required=True, jobs_help="threads for the oracle, -1 = all cores (1)")
    p.add_argument("-e", dest="eps", type=real(0.0, what="a number > 0"), default=0.1,
                   help="precision epsilon, a number > 0 (0.1)")
    add_algorithm(p, default=0)
    p.add_argument("--algorithm", default=None, choices=_ALGORITHMS,
                   help="solver by name, instead of -w: n-slack-cocoa = the n-slack dual by "
                        "CoCoA+ rounds over partitions, one per --n-jobs thread (side by side "
                        "on the cores; the same model for the same --n-jobs)")
    p.add_argument("-o", dest="rescaling", type=int, default=2, choices=(1, 2),
                   help="rescaling: 1 slack, 2 margin (default)")
    p.add_argument("-l", dest="loss", type=int, default=1, choices=(1,),
                   help="loss function: 1 = Hamming (per-token 0/1), the only one")
    p.add_argument("--t", dest="order", type=int, default=1, choices=(1, 2),
                   help="order of transitions (1)")
    p.add_argument("--e", dest="emission_order", type=int, default=0, choices=(0,),
                   help="order of emissions (0 only)")
    p.add_argument("--b", dest="beam", type=int, default=0, choices=(0,),
                   help="beam width (0 = exact Viterbi, the only one)")
    p.add_argument("-#", "--max-iter", dest="max_iter", type=integer(1, 10 ** 9, "an integer >= 1"),
                   default=100000, help="maximum number of iterations, 1 or more (100000)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", type=scheduler_address,
                   help="train on a Dask cluster: its scheduler's address (tcp://host:8786); "
                        "the n-slack solver then runs CoCoA+ over the workers")
    p.add_argument("--n-workers", dest="n_workers", type=integer(1, 4096, "an integer >= 1"),
                   default=None, help="train on a Dask LocalCluster of N worker processes "
                                      "(1 thread each) on this machine")
    p.add_argument("--task", default="sequence", choices=sorted(LEARN_TASKS) + sorted(OWN_OPTION_TASKS),
                   help="task: sequence (svm_hmm files with qid lines, default), rank (svm_rank "
                        "files) or proprank (svm_proprank click files); see 'structpred learn "
                        "--task rank --help' for the ranking options")
    p.add_argument("train_file", type=InputFile("training file"),
                   help="training file (svm_hmm format; /dev/stdin and <(zcat f) work)")
    p.add_argument("model_file", type=OutputFile("model file"),
                   help="model file to write (.npz), replaced atomically")
    return p


def _fail(prog: str, message: str, code: int = 1) -> int:
    from .base import fail
    return fail(prog, message, code)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def learn_main(argv) -> int:
    """structpred learn: check the options and paths, then hand over to the --task handler.
    Returns the exit status (0, 1 for a failure, 2 for a usage or path error)."""
    return run_command("structpred learn", _learn, argv)


def _learn(argv) -> int:
    task = _task_option(argv)
    if task in OWN_OPTION_TASKS:
        return int(_handler(OWN_OPTION_TASKS, task)(argv) or 0)
    args = _learn_parser().parse_args(argv)
    with report_to_stdout(args.verbose):
        return int(_handler(LEARN_TASKS, args.task)(args) or 0)


def learn_sequence(args) -> int:
    """--task sequence: read an svm_hmm file, train SequenceLabeling, write the model (.npz)."""
    from .. import StructuredSVM
    from ..datasets.svmhmm import read_svmhmm
    from ..model import has_hook
    from ..tasks.sequence import SequenceLabeling

    if args.scheduler is not None and args.n_workers is not None:
        return _fail("structpred learn", "--scheduler and --n-workers exclude each other "
                                         "(--n-workers starts a cluster on this machine)", 2)
    if (args.scheduler is not None or args.n_workers is not None) and not _has_distributed():
        return _fail("structpred learn", "--scheduler and --n-workers need dask.distributed, "
                                         "which is not installed: pip install 'structpred[dask]'", 2)
    if args.rescaling == 1 and not any(has_hook(SequenceLabeling(), h) for h in (
            "slack_rescaled_inference", "batch_slack_rescaled_inference")):
        return _fail("structpred learn", "-o 1: SequenceLabeling has no slack-rescaling oracle "
                                         "(slack_rescaled_inference); use -o 2", 2)
    release_large_frees()
    algorithm, cache = algorithm_of(args)
    algorithm = args.algorithm or algorithm     # --algorithm NAME over -w NUMBER
    svm_options = dict(C=args.C, eps=args.eps, algorithm=algorithm,
                       rescaling="margin" if args.rescaling == 2 else "slack",
                       max_iter=args.max_iter, cache_size=cache, n_jobs=args.n_jobs)
    if args.scheduler is None and args.n_workers is None:
        # first run: a second process compiles the solver's kernels while this one reads
        from ..compile_ahead import start_sequence
        start_sequence(args.train_file, args.order, svm_options)
    # --scheduler / --n-workers: the cluster starts on a thread while this process reads,
    # and its workers load their kernels meanwhile (a short fit on made-up sentences)
    with dask_cluster(args, lambda: warm_examples(args.order, svm_options["rescaling"])) \
            as pending:
        start = mark()
        data = read_svmhmm(args.train_file, stacked=True)   # checked and batched as a whole
        t_read = seconds_since(start)   # numba compiles not counted
        if args.verbose:
            print(f"Read {_plural(len(data.X), 'sequence')}, "
                  f"{_plural(data.X.n_tokens, 'token')}, "
                  f"{_plural(data.n_features, 'feature')}, {_plural(data.max_tag, 'tag')} from "
                  f"{args.train_file} ({t_read:.2f} s)", flush=True)
        model = SequenceLabeling(n_labels=data.max_tag, n_features=data.n_features,
                                 transition_order=args.order)
        svm = StructuredSVM(model, verbose=args.verbose, **svm_options)
        if pending is not None:
            svm.backend, svm.client = "dask", pending.ready()
            if args.verbose:
                print(f"Dask: {_plural(len(svm.client.nthreads()), 'worker')} connected "
                      f"{pending.start_seconds:.2f} s and ready (numba kernels loaded, or "
                      f"compiled on a first run) {pending.ready_seconds:.2f} s after the "
                      "start, which overlapped the reading", flush=True)
        start = mark()
        svm.fit(data.X, data.Y)
        t_fit = seconds_since(start)   # numba compiles not counted
    svm.save(args.model_file)
    if args.verbose:
        print(f"Training: {_plural(svm.n_iter_, 'iteration')}, "
              f"{_plural(svm.n_oracle_calls_, 'oracle call')}, "
              f"primal objective {svm.primal_objective_:.6g}, dual {svm.dual_objective_:.6g}, "
              f"converged={svm.converged_}")
        timings = getattr(svm, "timings_", {}) or {}
        parts = ", ".join(f"{k} {v:.2f}" for k, v in timings.items())
        print(f"Runtime: {t_fit:.2f} s training (+{t_read:.2f} s reading); {parts}")
        if report_line():
            print(report_line())
    if getattr(svm, "interrupted_", False):
        print(interrupted_note(svm, args.model_file))
    if args.verbose:
        print(f"Model written to {args.model_file}")
    sys.stdout.flush()
    return 0


def _has_distributed() -> bool:
    """Whether dask.distributed can be imported here (looked up, not imported)."""
    from importlib.util import find_spec
    return find_spec("distributed") is not None


def release_large_frees(threshold: int = 4 << 20) -> bool:
    """With glibc, serve allocations of ``threshold`` bytes and more by mmap for the rest of
    the process, so that a large array freed during training (a pass's δΨ rows, a w copy,
    the working-set pool when it grows) goes back to the system at once. Otherwise glibc
    raises this threshold to the largest block freed so far (up to 32 MiB) and serves such
    arrays from the heap, whose holes count in the peak RSS (about 18 MiB of the CoNLL run's peak).
    Returns whether the setting took; elsewhere (no mallopt) a no-op returning False."""
    from ..malloc_tuning import set_malloc_thresholds
    return set_malloc_thresholds(int(threshold), 8 * int(threshold))


def scheduler_address(text: str) -> str:
    """argparse type: a Dask scheduler address, [protocol://]host:port with port 1..65535."""
    import argparse
    import re
    m = re.fullmatch(r"(?:(tcp|tls|inproc|ucx|ws|wss)://)?(\[[0-9A-Fa-f:]+\]|[\w.-]+):(\d{1,5})", text)
    if m is None or not 1 <= int(m.group(3)) <= 65535:
        raise argparse.ArgumentTypeError(f"expected a scheduler address [tcp://]host:port, "
                                         f"got {text!r}")
    return text


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
    kinds = "; ".join(f"{what}" for _, what in CLASSIFY_BY_MODEL.values())
    others = "; ".join(f"{k}: {v}" for k, v in OTHER_MODEL_COMMANDS.items())
    p = CommandParser(prog="structpred classify", foreign=SVM_HMM_ONLY, description=(
        "Apply a model file to a test file. The model file's task decides what is written: "
        f"{kinds}. Other model kinds are applied by their own command ({others})."))
    p.add_argument("--version", action="version", version=_version(),
                   help="print the version and exit")
    add_common(p, C_help="not used: a model's C is fixed when it is trained (accepted so that "
                         "learn and classify take one option set)",
               jobs_help="threads for prediction, -1 = all cores (1)")
    p.add_argument("--tags", type=InputFile("tags file"), default=None,
                   help="sequence models: file of 'ID NAME' lines (for example tags.txt): also "
                        "print conlleval chunk F1")
    p.add_argument("--b", dest="beam", type=int, default=0, choices=(0,),
                   help="beam width (0 = exact Viterbi, the only one)")
    p.add_argument("--task", default=None, choices=sorted(CLASSIFY_TASKS),
                   help="not needed: the task is read from the model file")
    p.add_argument("test_file", type=InputFile("test file"),
                   help="test file (svm_hmm or svm_rank format, as the model's task reads)")
    p.add_argument("model_file", type=ModelFile("model file"),
                   help="model file written by structpred learn")
    p.add_argument("output_file", type=OutputFile("output file"),
                   help="predictions to write (replaced atomically)")
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
    """structpred classify: check options and paths, then hand over to the handler of the
    model file's task. Returns the exit status."""
    return run_command("structpred classify", _classify, argv)


def _classify(argv) -> int:
    parser = _classify_parser()
    args = parser.parse_args(argv)
    message = svm_hmm_model_message(args.model_file)
    if message:
        return _fail(parser.prog, message, 2)
    model_task = _model_task(args.model_file)
    if model_task in OTHER_MODEL_COMMANDS:
        return _fail(parser.prog, f"{args.model_file} holds a {model_task} model; apply it with "
                                  f"{OTHER_MODEL_COMMANDS[model_task]}", 2)
    entry = CLASSIFY_BY_MODEL.get(model_task, CLASSIFY_BY_MODEL["SequenceLabeling"])
    module, _, func = entry[0].partition(":")
    with report_to_stdout(args.verbose):
        return int(getattr(import_module(module), func)(args) or 0)


def classify_sequence(args) -> int:
    """--task sequence: predict, write tags, print token accuracy (and chunk F1)."""
    from .. import load
    from ..datasets.svmhmm import read_svmhmm, read_tag_names
    from ..metrics.chunking import chunk_scores
    from ..tasks.sequence import SequenceLabeling

    t0 = time.perf_counter()
    svm = load(args.model_file)
    if not isinstance(svm.model, SequenceLabeling):
        raise ValueError(f"{args.model_file}: a {type(svm.model).__name__} model, not a "
                         "sequence labeling one")
    if getattr(svm, "interrupted_", False):
        print(interrupted_note(svm, args.model_file), flush=True)
    names = read_tag_names(args.tags) if args.tags else None
    data = read_svmhmm(args.test_file, n_features=svm.model.n_features_)
    svm.n_jobs = args.n_jobs
    pred = svm.predict(data.X)
    with atomic_write(args.output_file, "w", encoding="ascii") as fh:
        for p in pred:
            fh.write("".join(f"{int(t) + 1}\n" for t in p))
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


def invocations():
    """(name, parser, example argv) of every parser behind learn and classify, for the CLI
    battery (tests/test_cli_battery.py): ``{...}`` fields name fixture files it provides."""
    from .ranking import _parser as rank_parser
    return [
        ("learn", _learn_parser(), ["learn", "-c", "1", "-v", "0", "-#", "30", "{seq_train}", "{out}"]),
        ("learn --task rank", rank_parser("rank"),
         ["learn", "--task", "rank", "-c", "1", "-v", "0", "-#", "30", "{rank_train}", "{out}"]),
        ("learn --task proprank", rank_parser("proprank"),
         ["learn", "--task", "proprank", "-c", "1", "-v", "0", "-#", "30", "{click_train}",
          "{out}"]),
        ("classify", _classify_parser(),
         ["classify", "-v", "0", "{seq_train}", "{seq_model}", "{out}"]),
        ("classify (ranking model)", _classify_parser(),
         ["classify", "-v", "0", "{rank_train}", "{rank_model}", "{out}"]),
    ]
