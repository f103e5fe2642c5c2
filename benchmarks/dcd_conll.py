"""CoNLL-2000 (svm_hmm files): ``structpred learn`` with the n-slack dual coordinate-descent
solver against svm_hmm 3.10, and structpred's 1-slack, in the same run.

    python benchmarks/dcd_conll.py [--C 1000 100] [--eps 0.1] [--no-1slack] [--out FILE]

Every learner runs as its own process on one thread (``structpred learn ... -w W
--n_jobs 1``; ``$SVM_HMM_LEARN -c C -e eps -w 4`` when SVM_HMM_LEARN names the svm_hmm_learn
binary, else svm_hmm's figures measured on this machine earlier are quoted). Reported per
run: wall time of the whole command (reading the file included, as for svm_hmm), the solver's
own training time, passes (oracle iterations), the primal objective at the final w computed
afresh here from the saved model, the solver's certified gap, chunk F1 on the test file
(conlleval rules, as benchmarks/svmhmm_conll.py) and the process's peak RSS. The numba
first-call compile time of the kernels the run uses is measured once in a subprocess with an
empty numba cache and kept out of every timing (the timed runs load the compiled kernels from
the cache, which a warm-up run fills).

Writes a Markdown table to benchmarks/results/dcd_conll.md and JSON lines to --jsonl.

    python benchmarks/dcd_conll.py --oracle-floor [--C 1000 100]

measures instead, in one process on one thread, the solver's oracle time per pass (its own
timers: the argmax, δΨ assembly and the answer checks, over all passes) against one bare
loss-augmented Viterbi pass over the training set at the final w (the best of 5), and the
peak RSS; the numba cache is warmed first, so no compile is timed.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

# svm_hmm 3.10, -e 0.1 -w 4, one core, measured on this machine (issue #12)
SVMHMM_REF = {1000.0: dict(wall_s=80.3, cpu_s=80.3, primal=1767.69, peak_rss_mb=520.0),
              100.0: dict(wall_s=64.8, cpu_s=64.8, primal=324.07, peak_rss_mb=520.0)}

_CHILD = r"""
import resource, sys, time
t = time.perf_counter()
from structpred.cli import main
try:
    code = main(sys.argv[1:])
finally:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print("__CHILD__ %.1f %.3f %.3f" % (ru.ru_maxrss / 1024, time.perf_counter() - t,
                                        ru.ru_utime + ru.ru_stime), file=sys.stderr)
"""

_COLD = r"""
import time, numpy as np, scipy.sparse as sp
t0 = time.perf_counter()
from structpred import StructuredSVM
from structpred.tasks.sequence import SequenceLabeling
X = [sp.csr_matrix(np.eye(3)), sp.csr_matrix(np.ones((2, 3)))]; Y = [np.array([0, 1, 2]), np.array([1, 1])]
StructuredSVM(SequenceLabeling(), C=1.0, eps=0.1, algorithm="n-slack").fit(X, Y).predict(X)
print(time.perf_counter() - t0)
"""


def _env(extra=None):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.update(extra or {})
    return env


def cold_compile_seconds() -> float:
    """Import + first fit/predict of the sequence task with the dcd solver, empty numba cache."""
    with tempfile.TemporaryDirectory() as cache:
        out = subprocess.run([sys.executable, "-c", _COLD], env=_env({"NUMBA_CACHE_DIR": cache}),
                             capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def run_structpred(train, model_path, C, eps, w):
    cmd = [sys.executable, "-c", _CHILD, "learn", "-c", str(C), "-e", str(eps),
           *([] if w is None else ["-w", str(w)]), "--n_jobs", "1", train, model_path]
    t = time.perf_counter()
    out = subprocess.run(cmd, env=_env(), capture_output=True, text=True)
    wall = time.perf_counter() - t
    if out.returncode != 0:
        raise RuntimeError(f"structpred learn failed:\n{out.stderr[-2000:]}")
    text = out.stdout + out.stderr
    rss, _inside, cpu = re.findall(r"__CHILD__ ([\d.]+) ([\d.]+) ([\d.]+)", text)[-1]
    summary = re.findall(r"(?:converged|stopped at max_iter|interrupted) after (\d+) iterations, "
                         r"([\d.]+) s: primal ([-\d.e+]+), dual ([-\d.e+]+), gap ([-\d.e+]+)", text)
    rec = dict(wall_s=round(wall, 2), cpu_s=float(cpu), peak_rss_mb=float(rss))
    if summary:
        it, secs, primal, dual, gap = summary[-1]
        rec.update(passes=int(it), train_s=float(secs), solver_primal=float(primal),
                   dual=float(dual), gap=float(gap))
    return rec


def run_svmhmm(binary, train_gz, model_path, C, eps, tmp):
    plain = os.path.join(tmp, "train.dat")
    if not os.path.exists(plain):
        with gzip.open(train_gz, "rb") as src, open(plain, "wb") as dst:
            shutil.copyfileobj(src, dst)
    cmd = ["/usr/bin/time", "-f", "__RSS__ %M %U %S"] if os.path.exists("/usr/bin/time") else []
    cmd += [binary, "-c", str(C), "-e", str(eps), "-w", "4", plain, model_path]
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    rec = dict(wall_s=round(wall, 2))
    m = re.findall(r"__RSS__ (\d+) ([\d.]+) ([\d.]+)", out.stderr)
    if m:
        rec["peak_rss_mb"] = round(int(m[-1][0]) / 1024, 1)
        rec["cpu_s"] = round(float(m[-1][1]) + float(m[-1][2]), 2)
    return rec


def evaluate(model_path, train, test, names):
    """(primal at the saved w on the training file, chunk F1 on the test file)."""
    import structpred
    from structpred.metrics.chunking import chunk_scores
    svm = structpred.load(model_path)
    primal = svm.primal_objective(train.X, train.Y)
    pred = svm.predict(test.X)
    score = chunk_scores([[names.get(int(t) + 1, "O") for t in s] for s in test.Y],
                         [[names.get(int(t) + 1, "O") for t in s] for s in pred])
    return primal, score.f1


def oracle_floor(train_path, C, eps):
    """One in-process fit (one thread): the solver's oracle seconds per pass ("oracle" timer,
    and oracle + "psi") against the best of 5 bare loss-augmented Viterbi passes over the
    training set at the final w."""
    import resource
    from structpred import StructuredSVM
    from structpred.datasets.svmhmm import read_svmhmm
    from structpred.tasks.sequence import SequenceLabeling

    data = read_svmhmm(train_path)
    model = SequenceLabeling(n_labels=data.max_tag, n_features=data.n_features)
    svm = StructuredSVM(model, C=C, eps=eps, algorithm="n-slack", n_jobs=1)
    t0 = time.process_time()
    svm.fit(data.X, data.Y)
    fit_cpu = time.process_time() - t0
    batch = model.make_batch(data.X, data.Y)
    bare = []
    for _ in range(5):
        t = time.perf_counter()
        model.batch_loss_augmented_inference(batch, svm.w_, n_jobs=1)
        bare.append(time.perf_counter() - t)
    tm, passes = svm.timings_, svm.n_iter_
    rec = dict(C=C, passes=passes, fit_s=round(tm["total"], 2), fit_cpu_s=round(fit_cpu, 2),
               oracle_per_pass_s=round(tm["oracle"] / passes, 4),
               oracle_psi_per_pass_s=round((tm["oracle"] + tm.get("psi", 0.0)) / passes, 4),
               bare_viterbi_pass_s=round(min(bare), 4),
               shares={k: round(v / tm["total"], 3) for k, v in tm.items() if k != "total"},
               peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
               primal=round(svm.primal_objective_, 3))
    rec["ratio"] = round(rec["oracle_per_pass_s"] / rec["bare_viterbi_pass_s"], 2)
    rec["ratio_with_psi"] = round(rec["oracle_psi_per_pass_s"] / rec["bare_viterbi_pass_s"], 2)
    return rec


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--oracle-floor", action="store_true",
                    help="oracle time per pass against a bare loss-augmented Viterbi pass")
    ap.add_argument("--C", type=float, nargs="+", default=[1000.0, 100.0])
    ap.add_argument("--eps", type=float, default=0.1)
    ap.add_argument("--no-1slack", action="store_true", help="skip structpred -w 4")
    ap.add_argument("--data-home", default=None)
    ap.add_argument("--md", default=os.path.join(HERE, "results", "dcd_conll.md"))
    ap.add_argument("--jsonl", default=os.path.join(HERE, "results", "dcd_conll.jsonl"))
    args = ap.parse_args(argv)

    from structpred.datasets.svmhmm import read_tag_names
    from structpred.datasets.home import get_data_home
    from structpred.datasets.svmhmm import read_svmhmm

    folder = get_data_home(args.data_home) / "conll2000" / "svmhmm"
    train_gz = str(folder / "train.dat.gz")
    if not os.path.exists(train_gz):
        sys.exit(f"{train_gz} not found: set STRUCTPRED_DATA or --data-home")
    train = read_svmhmm(train_gz)
    test = read_svmhmm(folder / "test.dat.gz", n_features=train.n_features)
    names = read_tag_names(folder / "tags.txt")
    if args.oracle_floor:
        os.environ.setdefault("NUMBA_NUM_THREADS", "1")
        run_structpred(train_gz, os.path.join(tempfile.gettempdir(), "warm.npz"), 1000.0, 10.0,
                       None)  # fills the numba cache
        for C in args.C:
            print(json.dumps(oracle_floor(train_gz, C, args.eps)), flush=True)
        return
    binary = os.environ.get("SVM_HMM_LEARN")
    load0 = os.getloadavg()[0]
    compile_s = cold_compile_seconds()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "model.npz")
        run_structpred(train_gz, model, 1000.0, 10.0, 0)  # warm-up: fills the numba cache
        for C in args.C:
            runs = [("structpred learn, no -w (default: n-slack dcd)", None)]
            if not args.no_1slack:
                runs.append(("structpred 1-slack, -w 4", 4))
            for label, w in runs:
                rec = run_structpred(train_gz, model, C, args.eps, w)
                rec["primal"], rec["f1"] = evaluate(model, train, test, names)
                rows.append(dict(solver=label, C=C, **rec))
                print(json.dumps(rows[-1]), flush=True)
            if binary:
                rec = run_svmhmm(binary, train_gz, os.path.join(tmp, "svmhmm.model"), C,
                                 args.eps, tmp)
                rows.append(dict(solver="svm_hmm 3.10, -w 4 (this run)", C=C, **rec))
            else:
                rows.append(dict(solver="svm_hmm 3.10, -w 4 (earlier figures)", C=C,
                                 **SVMHMM_REF.get(C, {})))
            print(json.dumps(rows[-1]), flush=True)
    load1 = os.getloadavg()[0]
    _write(args, rows, compile_s, load0, load1, bool(binary))


def _fmt(v, spec):
    return "" if v is None else format(v, spec)


def _write(args, rows, compile_s, load0, load1, live_svmhmm):
    lines = [f"# CoNLL-2000 (svm_hmm files): n-slack DCD vs svm_hmm, eps={args.eps}, one thread",
             "",
             f"`python benchmarks/dcd_conll.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
             f"2-core machine shared with other jobs (load average {load0:.1f} at the start, "
             f"{load1:.1f} at the end). First-call numba compile (empty cache, not in the "
             f"timings): {compile_s:.1f} s. svm_hmm: "
             + ("run here via $SVM_HMM_LEARN." if live_svmhmm else
                "not built here; its figures measured earlier on this machine (issue #12)."),
             "",
             "| solver | C | wall [s] | CPU [s] | train [s] | CPU x svm_hmm | passes | primal | gap "
             "| F1 | peak RSS [MB] |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    ref = {r["C"]: r for r in rows if r["solver"].startswith("svm_hmm")}
    for r in rows:
        base = ref.get(r["C"], {}).get("cpu_s")
        ratio = r["cpu_s"] / base if base and "cpu_s" in r else None
        lines.append(f"| {r['solver']} | {r['C']:g} | {_fmt(r.get('wall_s'), '.1f')} | "
                     f"{_fmt(r.get('cpu_s'), '.1f')} | "
                     f"{_fmt(r.get('train_s'), '.1f')} | {_fmt(ratio, '.2f')} | "
                     f"{r.get('passes', '')} | {_fmt(r.get('primal'), '.2f')} | "
                     f"{_fmt(r.get('gap'), '.3g')} | {_fmt(r.get('f1'), '.2f')} | "
                     f"{_fmt(r.get('peak_rss_mb'), '.0f')} |")
    os.makedirs(os.path.dirname(os.path.abspath(args.md)), exist_ok=True)
    with open(args.md, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    with open(args.jsonl, "a") as fh:
        for r in rows:
            fh.write(json.dumps(dict(r, eps=args.eps, compile_s=compile_s)) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
