"""``structpred bench``: the benchmark suite (tasks x solvers x peers), with plots.

    structpred bench [--quick] [--task NAME ...] [--solver NAME ...] [-c C] [--n-jobs N] [--out DIR]
    python -m benchmarks [same options]

Writes ``results.json``, ``results.md`` (the Markdown table) and PNG plots into ``--out``,
each replaced atomically. Every option value (tasks, solvers, peers, time limits) is checked
before any task runs.
Data comes from the data home ($STRUCTPRED_DATA); a task whose data file is missing is
skipped with a line saying why, and so is a peer that is not installed.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time

from ..boundary.paths import write_text_atomic
from ..cli.base import (CommandParser, OutputDir, OutputFile, UsageError, add_common, real,
                        run_command)

from .machine import describe, load_average
from .report import markdown_report, markdown_table
from .runner import OPT_IN_SOLVERS, RunLog, available_solvers, default_solvers, run_task
from .scaling import run_scaling
from .tasks import TASKS, SkipTask

__all__ = ["main", "run", "invocations"]

TASK_CHOICES = list(TASKS) + ["scaling"]     # the task list lives in bench/tasks.py
_ALIASES = {"multiclass": ["multiclass-digits"], "digits": ["multiclass-digits"],
            "sequence": ["conll-svmhmm", "conll-features"], "conll": ["conll-svmhmm",
                                                                      "conll-features"],
            "diversity": ["diversity-ambient", "diversity-synthetic"],
            "ambient": ["diversity-ambient"], "synthetic": ["diversity-synthetic"],
            "parsing": ["parsing-ptb"], "ptb": ["parsing-ptb"],
            "ranking": ["ranking-mq2008"], "mq2008": ["ranking-mq2008"], "all": TASK_CHOICES}
PEER_CHOICES = ["sklearn", "crfsuite", "pystruct", "svm_hmm", "lightgbm", "svm_rank"]


def _time_limit_item(text: str) -> str:
    """argparse type: SOLVER=SECONDS with SECONDS a finite number > 0."""
    solver, sep, sec = text.partition("=")
    if not sep or not solver:
        raise argparse.ArgumentTypeError(f"expected SOLVER=SECONDS, got {text!r}")
    real(0.0, what="seconds > 0")(sec)
    return text


def _parser():
    p = CommandParser(
        prog="structpred bench",
        description="Run the benchmark suite: every task x solver, side by side with the peers "
                    "(scikit-learn, CRFsuite, pystruct, svm_hmm when installed); writes "
                    "results.json, results.md and PNG plots.")
    p.add_argument("--quick", action="store_true",
                   help="small subsets (about 1-2 minutes on 2 cores); what CI runs")
    p.add_argument("--task", nargs="+", default=None, metavar="NAME",
                   help=f"tasks to run (default all): {', '.join(TASK_CHOICES)}; aliases "
                        f"{', '.join(sorted(_ALIASES))}")
    p.add_argument("--solver", nargs="+", default=None, metavar="NAME",
                   help="structpred solvers (default: " + ", ".join(default_solvers())
                        + "; also: " + ", ".join(f"{k} ({v.split(':')[0]})" for k, v in OPT_IN_SOLVERS.items())
                        + ")")
    p.add_argument("--peer", nargs="*", default=None, metavar="NAME",
                   help=f"peers to run (default all that apply): {', '.join(PEER_CHOICES)}; "
                        "'--peer' alone runs none")
    p.add_argument("--out", default=None, type=OutputDir("output folder"),
                   help="output folder (default bench-results, or bench-results-quick)")
    p.add_argument("--data-home", default=None, help="data folder (default $STRUCTPRED_DATA)")
    add_common(p, C_help="C of every task's structpred runs instead of each task's own "
                         "(peers get it converted), a finite number > 0",
               jobs_default=2, jobs_help="oracle threads (default 2)", verbose=False)
    p.add_argument("--time-limit", type=real(0.0, 1e6, what="seconds > 0"), default=None,
                   help="seconds per solver run before it is stopped (default 3 quick, 45 full)")
    p.add_argument("--time-limit-for", nargs="+", default=[], metavar="SOLVER=SECONDS",
                   type=_time_limit_item,
                   help="per-solver time limits (default full run: 1-slack=300)")
    p.add_argument("--scaling-C", type=real(0.0, what="a number > 0"), default=10.0,
                   help="C of the scaling study (default 10; quick: 10 with eps 0.5)")
    p.add_argument("--results-md", default=None, metavar="PATH", type=OutputFile("report file"),
                   help="also write the Markdown report here, plot links relative to it "
                        "(e.g. benchmarks/RESULTS.md)")
    p.add_argument("--scaling-solver", default="1-slack",
                   help="solver of the scaling study (1-slack)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    return p


def _expand_tasks(names):
    out = []
    for n in names or TASK_CHOICES:
        for t in _ALIASES.get(n, [n]):
            if t not in TASK_CHOICES:
                raise UsageError(f"structpred bench: error: unknown task {n!r}; choose from "
                                 f"{', '.join(TASK_CHOICES)} or {', '.join(sorted(_ALIASES))}")
            if t not in out:
                out.append(t)
    return out


def _json_default(o):
    import numpy as np
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def _compact(obj, max_rows=150):
    """JSON-friendly copy: floats to 6 significant digits, numpy scalars to Python, and
    per-iteration lists longer than max_rows thinned (evenly, keeping the last row)."""
    import math

    import numpy as np
    if isinstance(obj, dict):
        return {k: _compact(v, max_rows) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        if len(obj) > max_rows and all(isinstance(r, dict) and "iteration" in r for r in obj):
            step = math.ceil(len(obj) / max_rows)
            obj = list(obj[::step]) + ([obj[-1]] if (len(obj) - 1) % step else [])
        return [_compact(v, max_rows) for v in obj]
    if isinstance(obj, np.ndarray):
        return _compact(obj.tolist(), max_rows)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        return float(f"{x:.6g}") if math.isfinite(x) else None
    return obj


def run(args, tasks_registry=None, command=None) -> dict:
    """Run the suite for parsed ``args``; writes the outputs and returns the results dict.
    ``--data-home`` is in force (as $STRUCTPRED_DATA) for this run only."""
    saved = os.environ.get("STRUCTPRED_DATA")
    try:
        return _run(args, tasks_registry, command)
    finally:
        if saved is None:
            os.environ.pop("STRUCTPRED_DATA", None)
        else:
            os.environ["STRUCTPRED_DATA"] = saved


def _run(args, tasks_registry=None, command=None) -> dict:
    registry = tasks_registry or TASKS
    progress = RunLog(quiet=args.quiet)
    out_dir = args.out or ("bench-results-quick" if args.quick else "bench-results")
    known = available_solvers()
    solvers = args.solver or default_solvers()
    for s in solvers:
        if s not in known:
            raise UsageError(f"structpred bench: error: solver {s!r} is not available here; "
                             f"available: {', '.join(known)}")
    if getattr(args, "scaling_solver", None) not in (None, *known):
        raise UsageError(f"structpred bench: error: --scaling-solver {args.scaling_solver!r} "
                         f"is not available here; available: {', '.join(known)}")
    peers = PEER_CHOICES if args.peer is None else args.peer
    for peer in peers:
        if peer not in PEER_CHOICES:
            raise UsageError(f"structpred bench: error: unknown peer {peer!r}; choose from "
                             f"{', '.join(PEER_CHOICES)}")
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise UsageError(f"structpred bench: error: output folder {out_dir}: exists and is not "
                         "a folder")
    os.makedirs(out_dir, exist_ok=True)
    if args.data_home:
        os.environ["STRUCTPRED_DATA"] = args.data_home
    time_limit = args.time_limit if args.time_limit is not None else (3.0 if args.quick else 45.0)
    time_limits = {} if args.quick or args.time_limit is not None else {"1-slack": 300.0}
    for item in args.time_limit_for:
        solver, sep, sec = item.partition("=")
        time_limits[solver] = float(sec)
    task_names = _expand_tasks(args.task) if tasks_registry is None \
        else list(args.task or registry)
    C_all = getattr(args, "C", None)
    results = {"command": command or "structpred bench " + " ".join(
                   shlex.quote(a) for a in sys.argv[2:]),
               "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "quick": bool(args.quick),
               "n_jobs": args.n_jobs, "time_limit_s": time_limit,
               "time_limits_s": time_limits, "solvers": solvers,
               "peers": peers, "machine": describe(), "tasks": [], "skipped_tasks": []}
    t0 = time.perf_counter()
    progress(f"structpred bench: {'quick' if args.quick else 'full'} run, solvers "
             f"{', '.join(solvers)}, tasks {', '.join(task_names)}, output {out_dir}")
    plots = {}
    for i, name in enumerate(task_names, 1):
        if name == "scaling":
            progress(f"[{i}/{len(task_names)}] scaling study (CoNLL-2000, {args.scaling_solver})")
            try:
                results["scaling"] = run_scaling(
                    quick=args.quick, data_home=args.data_home, solver=args.scaling_solver,
                    n_jobs=args.n_jobs, progress=progress, C=args.scaling_C,
                    time_limit=None if not args.quick else 30.0)
                f = results["scaling"]["fits"]
                progress(f"  scaling: log-log slope of training time {f['wall_s']['slope']:.2f}, "
                         f"of time per iteration {f['time_per_iter_s']['slope']:.2f}")
            except SkipTask as exc:
                progress(f"  SKIP scaling: {exc}")
                results["skipped_tasks"].append(f"scaling: {exc}")
            continue
        progress(f"[{i}/{len(task_names)}] {name}: loading")
        try:
            task = registry[name](quick=args.quick, data_home=args.data_home)
        except SkipTask as exc:
            progress(f"  SKIP {name}: {exc}")
            results["skipped_tasks"].append(f"{name}: {exc}")
            continue
        except Exception as exc:  # noqa: BLE001 - a broken task module must not stop the suite
            progress(f"  SKIP {name}: loading failed ({type(exc).__name__}: {exc})")
            results["skipped_tasks"].append(f"{name}: loading failed ({type(exc).__name__}: {exc})")
            continue
        if C_all is not None:
            task.C = C_all
        progress(f"  {task.title}: {task.info.get('n_train')} train / "
                 f"{task.info.get('n_test')} test")
        rec = run_task(task, solvers, peers=peers, n_jobs=args.n_jobs, time_limit=time_limit,
                       progress=progress, quick=args.quick, time_limits=time_limits)
        results["tasks"].append(rec)
    results["elapsed_s"] = time.perf_counter() - t0
    results["load_average_end"] = load_average()
    if not args.no_plots:
        try:
            from .plots import plot_scaling, plot_task
            for rec in results["tasks"]:
                plots[rec["task"]] = plot_task(rec, out_dir)
            if results.get("scaling"):
                plots["scaling"] = plot_scaling(results["scaling"], out_dir)
        except ImportError as exc:
            progress(f"SKIP plots: matplotlib is not installed ({exc})")
    results["plots"] = plots
    write_text_atomic(os.path.join(out_dir, "results.json"),
                      json.dumps(_compact(results), indent=None, separators=(",", ":"),
                                 default=_json_default))
    write_text_atomic(os.path.join(out_dir, "results.md"), markdown_report(results, plots))
    if args.results_md:
        os.makedirs(os.path.dirname(os.path.abspath(args.results_md)), exist_ok=True)
        rel = os.path.relpath(os.path.abspath(out_dir),
                              os.path.dirname(os.path.abspath(args.results_md)))
        write_text_atomic(args.results_md, markdown_report(results, plots, rel=rel.rstrip("/") + "/"))
    progress(f"done in {results['elapsed_s']:.0f} s: {out_dir}/results.json, results.md, "
             f"{sum(len(v) for v in plots.values())} PNG plots")
    if not args.quiet:
        print(markdown_table(results))
    return results


def main(argv=None) -> int:
    """Entry point of ``structpred bench`` and ``python -m benchmarks``."""
    argv = sys.argv[1:] if argv is None else list(argv)

    def body(argv):
        args = _parser().parse_args(argv)
        command = "structpred bench " + " ".join(shlex.quote(a) for a in argv)
        run(args, command=command.strip())
        return 0
    return run_command("structpred bench", body, argv)


def invocations():
    """(name, parser, example argv) for the CLI battery (tests/test_cli_battery.py)."""
    return [("bench", _parser(), ["bench", "--quick", "--task", "multiclass", "--solver",
                                  "n-slack", "--peer", "--no-plots", "-q", "--out", "{outdir}"])]
