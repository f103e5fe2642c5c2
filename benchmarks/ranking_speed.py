"""Ranking speed: ``structpred learn --task rank`` against svm_rank_learn V1.00, in turn.

    SVM_RANK_LEARN=/path/to/svm_rank_learn STRUCTPRED_DATA=... \\
        python benchmarks/ranking_speed.py [--repeats 5] [--synthetic] [--out FILE]

Cases (each command a whole process, the two run in turn A B A B ..., medians):
- MQ2008 Fold1 train (decompressed to a temporary plain file, svm_rank reads no gzip) at
  C = 0.1, 1, 10, default eps 0.001 (both scale it by the mean number of pairs per query);
- a one-query file (MQ2008 Fold1's first query with preference pairs): the fixed cost;
- with ``--synthetic``: the seeded 5,000 queries x 100 documents x 46 features file of
  ``make_synthetic_letor.py`` at C = 1 (written to a temporary folder, about 280 MB).

Per run: wall (perf_counter around the child), CPU and peak RSS of the child (wait4's
rusage), and what each program reports: structpred's "reading" and "training" seconds and
primal objective; svm_rank's primal value (pval) and "Runtime in cpu-seconds". numba kernels
are compiled once before timing (the warm-up run); a cold cache is not measured here.
MQ2008 and the one-query file are read and trained without numba (numpy reader and numpy
twins of the kernels, structpred.jit); the synthetic file loads numba (its reader and
kernels). Without SVM_RANK_LEARN only structpred's figures are printed.

Before timing, the package's bytecode is compiled (``python -m compileall structpred``), as
an installed package has it: where ``PYTHONDONTWRITEBYTECODE`` is set (as on the machine
these figures come from) a source checkout would otherwise recompile every structpred
module in every process (about 0.15 s). ``--no-bytecode`` skips that step.

``--bare`` adds, for the one-query file, a run in turn against a bare
``python -c "import numpy, scipy.sparse"`` (the floor of any Python process that uses them):
structpred's fixed cost is that floor times the CPU ratio printed.
"""
from __future__ import annotations

import argparse
import gzip
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

_OURS = re.compile(r"primal objective ([-+0-9.eE]+), converged=\w+; ([0-9.]+) s \(\+([0-9.]+) s reading\)")
_PVAL = re.compile(r"Primal objective value: pval=([-+0-9.eE]+)")
_CPU = re.compile(r"Runtime in cpu-seconds: ([0-9.]+)")


def run(cmd):
    """(wall s, cpu s, peak RSS MiB, stdout) of one child process."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT)
    out = p.stdout.read().decode("ascii", "replace")
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError(f"{cmd} exited {p.returncode}:\n{out[-2000:]}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0, out


def ours_cmd(path, C, model):
    return [sys.executable, "-m", "structpred", "learn", "--task", "rank", "-c", str(C), path, model]


def bench_case(name, path, C, repeats, svm_rank, tmp):
    rows = {"ours": [], "svm_rank": []}
    cmds = {"ours": ours_cmd(path, C, os.path.join(tmp, "ours.model"))}
    if svm_rank:
        cmds["svm_rank"] = [svm_rank, "-c", str(C), path, os.path.join(tmp, "svm_rank.model")]
    for who, cmd in cmds.items():   # warm-up (numba cache, page cache), not counted
        run(cmd)
    for _ in range(repeats):
        for who, cmd in cmds.items():
            wall, cpu, rss, out = run(cmd)
            rec = {"wall": wall, "cpu": cpu, "rss": rss}
            if who == "ours":
                m = _OURS.search(out)
                rec.update(primal=float(m.group(1)), train=float(m.group(2)), read=float(m.group(3)))
                rec["reported"] = rec["train"] + rec["read"]
            else:
                rec["primal"] = float(_PVAL.search(out).group(1))
                rec["train_cpu"] = float(_CPU.search(out).group(1))
            rows[who].append(rec)
    med = {who: {k: statistics.median(r[k] for r in recs) for k in recs[0]}
           for who, recs in rows.items() if recs}
    ratio = {}
    if svm_rank:
        pairs = list(zip(rows["ours"], rows["svm_rank"]))
        ratio = {"reported/wall": statistics.median(a["reported"] / b["wall"] for a, b in pairs),
                 "wall/wall": statistics.median(a["wall"] / b["wall"] for a, b in pairs),
                 "cpu/cpu": statistics.median(a["cpu"] / b["cpu"] for a, b in pairs),
                 "rss/rss": statistics.median(a["rss"] / b["rss"] for a, b in pairs)}
    return name, C, med, ratio


def bare_case(path, repeats, tmp):
    """The one-query learn process against ``python -c "import numpy, scipy.sparse"``, in
    turn: medians of CPU and wall and of their per-pair ratios (a table row)."""
    cmds = [ours_cmd(path, 1, os.path.join(tmp, "bare.model")),
            [sys.executable, "-c", "import numpy, scipy.sparse"]]
    for cmd in cmds:
        run(cmd)
    rows = []
    for _ in range(repeats):
        rows.append([run(cmd)[:2] for cmd in cmds])
    med = statistics.median
    cpu_r = med(a[1] / b[1] for a, b in rows)
    wall_r = med(a[0] / b[0] for a, b in rows)
    return (f"| one query vs bare `import numpy, scipy.sparse` | CPU {med(a[1] for a, _ in rows):.3f}"
            f" vs {med(b[1] for _, b in rows):.3f} s (ratio {cpu_r:.2f}) | wall "
            f"{med(a[0] for a, _ in rows):.3f} vs {med(b[0] for _, b in rows):.3f} s (ratio "
            f"{wall_r:.2f}) |")


def one_query_file(src, dst):
    """The first query of ``src`` with two grades (so it has preference pairs)."""
    groups = {}
    order = []
    with open(src, encoding="ascii") as fh:
        for line in fh:
            q = line.split()[1]
            if q not in groups:
                if order and len({ln.split()[0] for ln in groups[order[-1]]}) > 1:
                    break
                groups[q] = []
                order.append(q)
            groups[q].append(line)
    with open(dst, "w", encoding="ascii") as fh:
        fh.writelines(groups[order[-1]])


def fmt(name, C, med, ratio):
    o = med["ours"]
    s = med.get("svm_rank")
    line = (f"| {name} | {C:g} | {o['read']:.2f} + {o['train']:.2f} | {o['wall']:.2f} | "
            f"{o['cpu']:.2f} | {o['rss']:.0f} | {o['primal']:.6g} |")
    if s:
        line += (f" {s['wall']:.2f} | {s['cpu']:.2f} | {s['rss']:.0f} | {s['primal']:.6g} | "
                 f"{ratio['reported/wall']:.2f} | {ratio['wall/wall']:.2f} | {ratio['rss/rss']:.2f} |")
    return line


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--synthetic", action="store_true")
    p.add_argument("--only", choices=("mq2008", "one", "synthetic"), default=None)
    p.add_argument("--out", default=None, help="also append the table to this file")
    p.add_argument("--bare", action="store_true",
                   help="one query: also in turn against a bare numpy + scipy.sparse import")
    p.add_argument("--no-bytecode", action="store_true",
                   help="do not compile structpred's bytecode before timing")
    a = p.parse_args(argv)
    if not a.no_bytecode:
        subprocess.run([sys.executable, "-m", "compileall", "-q", os.path.join(ROOT, "structpred")],
                       check=True, stdout=subprocess.DEVNULL)
    svm_rank = os.environ.get("SVM_RANK_LEARN")
    data = os.environ.get("STRUCTPRED_DATA")
    if not data:
        sys.exit("set STRUCTPRED_DATA (see the data README)")
    tmp = tempfile.mkdtemp(prefix="ranking_speed_")
    try:
        train = os.path.join(tmp, "mq2008_fold1_train.txt")
        with gzip.open(os.path.join(data, "ranking/mq2008/Fold1/train.txt.gz"), "rb") as fi, \
                open(train, "wb") as fo:
            shutil.copyfileobj(fi, fo)
        cases = []
        if a.only in (None, "mq2008"):
            cases += [("MQ2008 Fold1 train", train, C) for C in (0.1, 1, 10)]
        if a.only in (None, "one"):
            one = os.path.join(tmp, "one_query.txt")
            one_query_file(train, one)
            cases.append(("one query (fixed cost)", one, 1))
        if a.synthetic or a.only == "synthetic":
            sys.path.insert(0, HERE)
            from make_synthetic_letor import write_synthetic
            synth = os.path.join(tmp, "synthetic_5000x100x46.txt")
            write_synthetic(synth)
            cases.append(("synthetic 5000x100x46", synth, 1))
        head = ("| case | C | ours read + train (reported, s) | ours wall | ours CPU | ours peak MiB "
                "| ours primal |")
        if svm_rank:
            head += (" svm_rank wall | svm_rank CPU | svm_rank peak MiB | svm_rank primal | "
                     "reported / svm_rank wall | wall ratio | RSS ratio |")
        lines = [head, "|" + "---|" * (head.count("|") - 1)]
        print(lines[0], flush=True)
        print(lines[1], flush=True)
        for name, path, C in cases:
            line = fmt(*bench_case(name, path, C, a.repeats, svm_rank, tmp))
            print(line, flush=True)
            lines.append(line)
        if a.bare and a.only in (None, "one"):
            line = bare_case(one, a.repeats, tmp)
            print(line, flush=True)
            lines.append(line)
        if a.out:
            with open(a.out, "a", encoding="utf-8") as fh:
                fh.write("\n".join(lines) + "\n")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
