"""Peak memory and first-run numba compile of ``structpred learn`` on the svm_hmm CoNLL-2000 files.

    python benchmarks/conll_memory.py peaks   TRAIN [-c C ...] [--svm-hmm PATH]
    python benchmarks/conll_memory.py phases  TRAIN [-c C]
    python benchmarks/conll_memory.py compile TRAIN [-c C]

* ``peaks``: whole-process peak RSS (the kernel's ru_maxrss of the finished child, as
  ``/usr/bin/time -v`` reports it) of ``python -m structpred learn -c C -e 0.1 TRAIN model``,
  one thread, and of ``svm_hmm_learn -c C -e 0.1 -w 4`` in turn when ``--svm-hmm`` (or
  $SVM_HMM_LEARN) names the binary.
* ``phases``: the same learn run inside this process, with VmRSS / VmHWM (and the anonymous /
  file-backed split: numba's LLVM library is file-backed) at each phase boundary (imports,
  read, the task's initialize / check_input / make_batch, the solver, save), and the highest
  RSS a 2 ms sampler saw within each phase.
* ``compile``: the learn run in a child process whose ``NUMBA_CACHE_DIR`` is an empty
  temporary folder (a first run), listening to numba's ``numba:compile`` events: seconds per
  compiled function, inclusive and exclusive of the functions it compiled on the way, wall
  and CPU (``time.process_time``: the CPU seconds do not grow with the machine's load the way
  the wall seconds do; compare those against another tree's in turn). Run it from the root of
  the tree to measure (the child imports ``structpred`` from the current folder). The wall
  figure is the CLI's own (compiles plus any wait for the compile-ahead process of
  ``structpred.compile_ahead``); the CPU figure adds that process's CPU seconds.

Numbers depend on the machine and its load (compile seconds especially); quote them with it.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def status() -> dict:
    """VmRSS, VmHWM, RssAnon, RssFile of this process, in MiB."""
    keys = ("VmRSS", "VmHWM", "RssAnon", "RssFile")
    with open("/proc/self/status") as fh:
        return {line.split(":")[0]: int(line.split()[1]) // 1024 for line in fh
                if line.startswith(keys)}


def _learn_argv(train, C, model):
    return ["-c", str(C), "-e", "0.1", train, model]


def _env():
    env = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", PYTHONPATH=ROOT)
    return env


def _maxrss_of(cmd, env=None) -> tuple[int, float]:
    """(peak RSS in KiB, wall seconds) of a child process (its own ru_maxrss)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _pid, status_, usage = os.wait4(proc.pid, 0)
    if status_ != 0:
        raise SystemExit(f"{cmd[0]} failed (status {status_})")
    return usage.ru_maxrss, time.perf_counter() - t0


def peaks(args):
    svm_hmm = args.svm_hmm or os.environ.get("SVM_HMM_LEARN")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for C in args.C:
            ours, t_ours = _maxrss_of([sys.executable, "-m", "structpred", "learn"]
                                      + _learn_argv(args.train, C, os.path.join(tmp, "m")),
                                      _env())
            row = {"C": C, "ours_MiB": ours / 1024, "ours_wall": t_ours}
            if svm_hmm:
                theirs, t_theirs = _maxrss_of([svm_hmm, "-c", str(C), "-e", "0.1", "-w", "4",
                                               args.train, os.path.join(tmp, "s")])
                row.update(svm_hmm_MiB=theirs / 1024, svm_hmm_wall=t_theirs,
                           ratio=ours / theirs)
            rows.append(row)
            print(json.dumps(row), flush=True)
    print("\n| C | structpred peak RSS (MiB) | svm_hmm peak RSS (MiB) | ratio |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['C']:g} | {r['ours_MiB']:.0f} | {r.get('svm_hmm_MiB', float('nan')):.0f} | "
              f"{r.get('ratio', float('nan')):.2f} |")


def phases(args):
    """Run the learn command here with RSS probes at the phase boundaries."""
    sys.path.insert(0, ROOT)
    os.environ.update(NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1")
    phase = ["start"]
    peak: dict = {}
    log = []

    def sampler():
        while True:
            rss = status()["VmRSS"]
            if rss > peak.get(phase[0], 0):
                peak[phase[0]] = rss
            time.sleep(0.002)
    threading.Thread(target=sampler, daemon=True).start()
    log.append(("start", status()))
    phase[0] = "imports"
    import structpred
    import structpred.cli.svmstruct as cli
    import structpred.datasets.svmhmm as svmhmm
    from structpred.tasks.sequence.model import SequenceLabeling
    log.append(("imports", status()))

    def wrap(owner, name, label):
        fn = getattr(owner, name)

        @functools.wraps(fn)
        def probe(*a, **k):
            outer = phase[0]
            phase[0] = label
            try:
                return fn(*a, **k)
            finally:
                log.append((label, status()))
                phase[0] = outer
        setattr(owner, name, probe)
    wrap(svmhmm, "read_svmhmm", "read")
    wrap(SequenceLabeling, "initialize", "initialize")
    wrap(SequenceLabeling, "check_input", "check_input")
    wrap(SequenceLabeling, "make_batch", "make_batch")
    wrap(structpred.StructuredSVM, "fit", "fit (solver)")
    wrap(structpred.StructuredSVM, "save", "save")
    with tempfile.TemporaryDirectory() as tmp:
        phase[0] = "learn"
        cli.learn_main(_learn_argv(args.train, args.C[0], os.path.join(tmp, "m")))
    print(f"\nphases of `structpred learn -c {args.C[0]:g}` (MiB; 'peak in phase' from a 2 ms sampler)")
    print("| after | VmRSS | VmHWM | RssAnon | RssFile | peak in phase |\n|---|---|---|---|---|---|")
    for label, st in log:
        print(f"| {label} | {st['VmRSS']} | {st['VmHWM']} | {st['RssAnon']} | {st['RssFile']} | "
              f"{peak.get(label, '')} |")


_CHILD = r"""
import json, sys, time
from numba.core import event
stack, rec = [], []
class L(event.Listener):
    def on_start(self, ev):
        d = ev.data["dispatcher"].py_func
        stack.append([time.perf_counter(), time.process_time(), d.__module__ + "." + d.__qualname__,
                      0.0, 0.0])
    def on_end(self, ev):
        t0, c0, name, child, child_cpu = stack.pop()
        dt = time.perf_counter() - t0
        dc = time.process_time() - c0
        if stack:
            stack[-1][3] += dt
            stack[-1][4] += dc
        rec.append((name, str(ev.data.get("args"))[:80], dt, dt - child, dc - child_cpu))
event.register("numba:compile", L())
import structpred.cli.svmstruct as cli
t0 = time.perf_counter()
c0 = time.process_time()
cli.learn_main(sys.argv[1:])
from structpred import compile_notice
ahead = sys.modules.get("structpred.compile_ahead")
print("@@" + json.dumps({"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0,
                         "rec": rec, "notice": compile_notice.compile_seconds(),
                         "helper_cpu": ahead.helper_cpu_seconds() if ahead else 0.0}))
"""


def compile_cost(args):
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as tmp:
        env = dict(_env(), NUMBA_CACHE_DIR=cache)
        out = subprocess.run([sys.executable, "-c", _CHILD]
                             + _learn_argv(args.train, args.C[0], os.path.join(tmp, "m")),
                             env=env, capture_output=True, text=True, check=True).stdout
    res = json.loads(next(line[2:] for line in out.splitlines() if line.startswith("@@")))
    rec = res["rec"]
    total = sum(r[3] for r in rec)
    cpu = sum(r[4] for r in rec)
    helper = res.get("helper_cpu", 0.0)
    print(f"\ncold compile (empty NUMBA_CACHE_DIR), `structpred learn -c {args.C[0]:g}`: "
          f"{res.get('notice', total):.2f} s wall (the CLI's figure), {cpu + helper:.2f} s CPU "
          f"({cpu:.2f} in {len(rec)} compiles here + {helper:.2f} in the compile-ahead "
          f"process); whole process {res['wall']:.1f} s wall, {res['cpu']:.1f} s CPU")
    print("| function | exclusive s | exclusive CPU s | inclusive s | argument types |\n"
          "|---|---|---|---|---|")
    for name, sig, inc, exc, exc_cpu in sorted(rec, key=lambda r: -r[4]):
        print(f"| {name} | {exc:.2f} | {exc_cpu:.2f} | {inc:.2f} | {sig} |")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=("peaks", "phases", "compile"))
    p.add_argument("train")
    p.add_argument("-c", dest="C", type=float, action="append")
    p.add_argument("--svm-hmm", default=None)
    args = p.parse_args(argv)
    args.C = args.C or [1000.0]
    {"peaks": peaks, "phases": phases, "compile": compile_cost}[args.what](args)


if __name__ == "__main__":
    main()
