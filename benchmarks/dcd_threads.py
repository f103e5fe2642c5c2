"""One thread against two on the svm_hmm CoNLL-2000 files: whole `structpred learn` processes.

    python benchmarks/dcd_threads.py --train train.dat [--test test.dat --tags tags.txt]
        [--C 1000,100] [--eps 0.1] [--repeat 3] [--configs dcd1,dcd2,cocoa1,cocoa2,cocoa2e]

Configurations (each a whole process, reading included, warm numba cache; run in turn A B C
... A B C ... so a drifting machine speed hits all alike):

* ``dcd1``: ``structpred learn -c C -e eps`` (the default n-slack solver, one thread: the
  baseline);
* ``dcd2``: the same with ``--n-jobs 2`` (threads for the full passes only);
* ``cocoa1``: ``--algorithm n-slack-cocoa`` (one partition, one thread);
* ``cocoa2``: ``--algorithm n-slack-cocoa --n-jobs 2`` (CoCoA+'s two partitions side by
  side on two threads, ``structpred.solvers.thread_rounds``);
* ``cocoa2e``: cocoa2's model computed on one thread (two partitions emulated in turn, set by
  ``EMULATE`` launcher below: n_partitions=2 on one thread): the CPU the threads share out.

Per configuration: wall and CPU seconds (user + sys of the process, from ``os.wait4``),
peak RSS, primal objective and iterations (from the run's own report), chunk F1 on the test
file (``structpred classify --tags``); medians over the repeats, and each run's wall against
the same repeat's ``dcd1`` (ratio pairs). The compile-ahead process is off
(``STRUCTPRED_COMPILE_AHEAD=0``): with a warm cache it only adds a process start.
Prints a markdown table; ``--jsonl FILE`` appends every run.

``--inprocess`` instead fits in this process (the file read once, ``--repeat-data R`` copies
of it, stacked as benchmarks/dask_conll.py builds CoNLL x 4) the default solver on one thread and
CoCoA+ on two threads, and reports besides wall and CPU the threads' critical path: the
driver's CPU (process CPU minus the partitions' thread CPU) plus, per round, the slowest
partition's pass and step CPU, which is what two free cores would take (a figure that a
loaded machine does not inflate the way it inflates wall time).

``--gil`` measures what of a partition's step still holds the GIL: CoCoA+ with two partitions
emulated on one thread for ``--rounds`` rounds, every numba kernel called from Python timed
(the kernels are compiled ``nogil=True``); the rest of ``partition_step``'s time is Python and
small numpy/scipy glue, which holds the GIL (numpy's loops over d-vectors release it, so this
over-counts a little). Per ``--batch`` sizes (examples per row call).

``--ceiling`` measures what two threads could give this run on this machine at best. Per
repeat, one ``dcd1`` process alone, then two ``dcd1`` processes at the same time (two
independent one-thread runs: no shared work, no locks). From the lone run: its wall W and
its reported training seconds T (the rest, S = W - T, is imports, reading and writing: one
thread). From the pair: the contention c = (training seconds of each run of the pair) / T,
what the two cores cost each other for the same work. Then no two-thread version of the
same work can beat W / (S + c·T/2) on this machine (Amdahl's law with contention): a
perfectly parallel fit with no extra work and nothing shared. Printed per repeat and as
medians.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CONFIGS = {
    "dcd1": [],
    "dcd2": ["--n-jobs", "2"],
    "cocoa1": ["--algorithm", "n-slack-cocoa"],
    "cocoa2": ["--algorithm", "n-slack-cocoa", "--n-jobs", "2"],
    "cocoa2e": ["--algorithm", "n-slack-cocoa"],
}

#: cocoa2e: the learn process runs its partitions emulated (n_partitions=2 on one thread)
EMULATE = ("import sys, runpy; import structpred.svm as s; "
           "_orig = s.StructuredSVM._solver_kwargs\n"
           "def _kw(self):\n"
           "    kw = _orig(self); kw.setdefault('n_partitions', 2); return kw\n"
           "s.StructuredSVM._solver_kwargs = _kw\n"
           "sys.argv = ['structpred'] + sys.argv[1:]; runpy.run_module('structpred', "
           "run_name='__main__')")


def _child_env(**extra):
    """The learn processes' environment: this checkout first on the path, no compile-ahead
    process (with a warm cache it only adds a process start), numba on one thread; plus
    ``extra``."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, STRUCTPRED_COMPILE_AHEAD="0", NUMBA_NUM_THREADS="1", **extra)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _run(argv, env):
    """(wall, cpu, peak RSS MiB, stdout) of one child process (its own rusage: ``wait4``)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                            text=True)
    out = proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        sys.exit(f"{' '.join(argv)} failed ({proc.returncode}):\n{out}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0, out


def one(config, C, args, model_path, env):
    """One learn process (and its classify for F1); a dict of the run's figures."""
    head = [sys.executable, "-c", EMULATE] if config == "cocoa2e" else \
        [sys.executable, "-m", "structpred"]
    learn = [*head, "learn", "-c", str(C), "-e", str(args.eps), *CONFIGS[config], args.train,
             model_path]
    wall, cpu, rss, out = _run(learn, env)
    primal = re.search(r"primal objective ([-0-9.e+]+)", out)
    iters = re.search(r"Training: (\d+) iteration", out)
    row = {"config": config, "C": C, "wall": wall, "cpu": cpu, "rss_mib": rss,
           "primal": float(primal.group(1)) if primal else None,
           "iterations": int(iters.group(1)) if iters else None}
    if args.test and args.tags:
        _w, _c, _r, cls = _run([sys.executable, "-m", "structpred", "classify", "--tags",
                                args.tags, args.test, model_path, model_path + ".pred"], env)
        f1 = re.search(r"Chunk F1: ([0-9.]+)", cls)
        row["f1"] = float(f1.group(1)) if f1 else None
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", default=None)
    ap.add_argument("--tags", default=None)
    ap.add_argument("--C", default="1000,100")
    ap.add_argument("--eps", type=float, default=0.1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--configs", default="dcd1,dcd2,cocoa1,cocoa2")
    ap.add_argument("--workdir", default="/tmp")
    ap.add_argument("--jsonl", default=None)
    ap.add_argument("--inprocess", action="store_true")
    ap.add_argument("--repeat-data", type=int, default=1)
    ap.add_argument("--gil", action="store_true")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--batch", default="32,128")
    ap.add_argument("--ceiling", action="store_true")
    args = ap.parse_args(argv)
    if args.ceiling:
        return ceiling(args)
    if args.gil:
        return gil_share(args)
    if args.inprocess:
        return inprocess(args)
    configs = args.configs.split(",")
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown:
        sys.exit(f"unknown configs {unknown}; known: {sorted(CONFIGS)}")
    env = _child_env()
    for C in [float(c) for c in args.C.split(",")]:
        rows = []
        model0 = os.path.join(args.workdir, f"dcd_threads_warm_{os.getpid()}.npz")
        one(configs[0], C, argparse.Namespace(**{**vars(args), "test": None}), model0, env)
        for r in range(args.repeat):
            for config in configs:
                path = os.path.join(args.workdir, f"dcd_threads_{config}_{os.getpid()}.npz")
                row = one(config, C, args, path, env)
                row.update(repeat=r, load=os.getloadavg()[0])
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
                if args.jsonl:
                    with open(args.jsonl, "a") as f:
                        f.write(json.dumps(row) + "\n")
        print(table(rows, configs, C))


_TRAINING = re.compile(r"Runtime: ([0-9.]+) s training")


def _learn_argv(C, args, model_path):
    return [sys.executable, "-m", "structpred", "learn", "-c", str(C), "-e", str(args.eps),
            args.train, model_path]


def _training_seconds(out):
    found = _TRAINING.search(out)
    if not found:
        sys.exit(f"no 'Runtime: ... s training' line in the learn output:\n{out}")
    return float(found.group(1))


def ceiling(args):
    """The two-thread ceiling of ``dcd1`` on this machine (module docstring): rows per repeat
    (wall W, training T, serial S = W - T, contention c, ceiling W / (S + c·T/2)), medians."""
    from concurrent.futures import ThreadPoolExecutor
    env = _child_env(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    paths = [os.path.join(args.workdir, f"dcd_ceiling_{k}_{os.getpid()}.npz") for k in (0, 1)]
    print("| C | repeat | W alone s | T alone s | S = W - T s | T in the pair s | c | "
          "ceiling W / (S + c·T/2) | with c = 1 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for C in [float(c) for c in args.C.split(",")]:
        _run(_learn_argv(C, args, paths[0]), env)       # warm the cache and the page cache
        rows = []
        for r in range(args.repeat):
            wall, _cpu, _rss, out = _run(_learn_argv(C, args, paths[0]), env)
            T = _training_seconds(out)
            with ThreadPoolExecutor(2) as ex:
                pair = list(ex.map(lambda p: _run(_learn_argv(C, args, p), env), paths))
            Tp = statistics.mean(_training_seconds(p[3]) for p in pair)
            S, c = wall - T, Tp / T
            row = {"C": C, "repeat": r, "wall": wall, "training": T, "serial": S,
                   "training_in_pair": Tp, "contention": c,
                   "ceiling": wall / (S + c * T / 2), "ceiling_c1": wall / (S + T / 2),
                   "load": os.getloadavg()[0]}
            rows.append(row)
            print(f"| {C:g} | {r} | {wall:.2f} | {T:.2f} | {S:.2f} | {Tp:.2f} | {c:.3f} | "
                  f"{row['ceiling']:.2f}x | {row['ceiling_c1']:.2f}x |", flush=True)
            if args.jsonl:
                with open(args.jsonl, "a") as f:
                    f.write(json.dumps(row) + "\n")
        med = {k: statistics.median(x[k] for x in rows) for k in rows[0] if k not in ("C", "repeat")}
        print(f"| {C:g} | median | {med['wall']:.2f} | {med['training']:.2f} | "
              f"{med['serial']:.2f} | {med['training_in_pair']:.2f} | {med['contention']:.3f} | "
              f"**{med['ceiling']:.2f}x** | {med['ceiling_c1']:.2f}x |", flush=True)


def inprocess(args):
    """Fits in this process: dcd on one thread, CoCoA+ on two (see the module docstring)."""
    import warnings

    from structpred import StructuredSVM
    from structpred.datasets.svmhmm import read_svmhmm
    from structpred.tasks.sequence import SequenceLabeling
    data = read_svmhmm(args.train, stacked=True)
    X, Y = data.X, data.Y
    if args.repeat_data > 1:
        from dask_conll import repeat_stacked   # this script's folder is on sys.path
        X, Y = repeat_stacked(X, Y, args.repeat_data)
    runs = {"dcd1": dict(algorithm="n-slack", n_jobs=1),
            "cocoa2": dict(algorithm="n-slack-cocoa", n_jobs=2)}
    for C in [float(c) for c in args.C.split(",")]:
        for r in range(args.repeat):
            for name, kw in runs.items():
                model = SequenceLabeling(n_labels=data.max_tag, n_features=data.n_features)
                svm = StructuredSVM(model, C=C, eps=args.eps, **kw)
                t0, c0 = time.perf_counter(), time.process_time()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    svm.fit(X, Y)
                wall, cpu = time.perf_counter() - t0, time.process_time() - c0
                row = {"config": name, "C": C, "n": len(X), "repeat": r, "wall": wall,
                       "cpu": cpu, "primal": svm.primal_objective_, "iterations": svm.n_iter_,
                       "load": os.getloadavg()[0]}
                hist = [h for h in svm.history_ if "local_cpu" in h or "pass_cpu" in h]
                if hist:
                    threads = sum(sum(h.get("local_cpu", [])) + sum(h.get("pass_cpu") or [])
                                  for h in hist)
                    slowest = sum(max(h.get("local_cpu") or [0.0])
                                  + max(h.get("pass_cpu") or [0.0]) for h in hist)
                    row.update(threads_cpu=threads, driver_cpu=cpu - threads,
                               critical_path=cpu - threads + slowest)
                print(json.dumps(row), flush=True)
                if args.jsonl:
                    with open(args.jsonl, "a") as f:
                        f.write(json.dumps(row) + "\n")


def gil_share(args):
    """Seconds of ``partition_step`` inside numba kernels and outside (module docstring)."""
    import warnings

    import structpred.solvers.cocoa as cocoa
    from structpred import StructuredSVM
    from structpred.datasets.svmhmm import read_svmhmm
    from structpred.jit import LazyKernel
    from structpred.tasks.sequence import SequenceLabeling
    data = read_svmhmm(args.train, stacked=True)
    inside = [0.0]

    def timed(kernel):
        def call(*a, **kw):
            t = time.perf_counter()
            try:
                return kernel(*a, **kw)
            finally:
                inside[0] += time.perf_counter() - t
        return call
    wrapped = {}
    for name, mod in list(sys.modules.items()):
        if name.startswith("structpred"):
            for attr, val in list(vars(mod).items()):
                # lazy kernels, and the numba dispatchers they put in their modules' globals
                if isinstance(val, LazyKernel) or type(val).__name__ == "CPUDispatcher":
                    setattr(mod, attr, wrapped.setdefault(id(val), timed(val)))
    step, spent = cocoa.partition_step, {"step": 0.0, "kernels": 0.0, "calls": 0}

    def measured(*a, **kw):
        i0, t0 = inside[0], time.perf_counter()
        out = step(*a, **kw)
        spent["step"] += time.perf_counter() - t0
        spent["kernels"] += inside[0] - i0
        spent["calls"] += 1
        return out
    cocoa.partition_step = measured
    for C in [float(c) for c in args.C.split(",")]:
        for batch in [int(b) for b in args.batch.split(",")]:
            spent.update(step=0.0, kernels=0.0, calls=0)
            model = SequenceLabeling(n_labels=data.max_tag, n_features=data.n_features)
            svm = StructuredSVM(model, C=C, eps=args.eps, algorithm="n-slack-cocoa",
                                max_iter=args.rounds,
                                solver_options={"n_partitions": 2, "batch_size": batch})
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                svm.fit(data.X, data.Y)
            glue = spent["step"] - spent["kernels"]
            print(json.dumps({"C": C, "batch_size": batch, "rounds": svm.n_iter_,
                              "steps": spent["calls"], "step_seconds": spent["step"],
                              "kernel_seconds": spent["kernels"], "glue_seconds": glue,
                              "gil_share": glue / spent["step"],
                              "load": os.getloadavg()[0]}), flush=True)


def table(rows, configs, C):
    """The markdown table of one C: medians per configuration, wall ratio to dcd1 per repeat."""
    base = {r["repeat"]: r["wall"] for r in rows if r["config"] == configs[0]}
    lines = [f"C = {C:g}", "",
             "| config | wall s | CPU s | CPU / wall | wall / " + configs[0]
             + " (pairs) | primal | iterations | F1 | peak RSS MiB |",
             "|---|---|---|---|---|---|---|---|---|"]
    for c in configs:
        rs = [r for r in rows if r["config"] == c]
        med = lambda k: statistics.median(r[k] for r in rs if r.get(k) is not None)  # noqa: E731
        ratios = [r["wall"] / base[r["repeat"]] for r in rs]
        f1 = [r["f1"] for r in rs if r.get("f1") is not None]
        lines.append(f"| {c} | {med('wall'):.2f} | {med('cpu'):.2f} | "
                     f"{med('cpu') / med('wall'):.2f} | {statistics.median(ratios):.3f} "
                     f"({', '.join(f'{x:.2f}' for x in ratios)}) | {med('primal'):.2f} | "
                     f"{med('iterations'):.0f} | {f1[0] if f1 else '-'} | {med('rss_mib'):.0f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
