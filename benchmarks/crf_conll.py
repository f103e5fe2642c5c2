"""CoNLL-2000 chunking as a CRF: structpred's GibbsPolicy against CRFsuite (python-crfsuite)
on the same svm_hmm feature files, in one run.

    python benchmarks/crf_conll.py [--grid 0.1 1 10] [--md FILE]

Every learner runs in its own process on one thread (OMP/BLAS threads 1, ``n_jobs=1``):

* CRFsuite, L-BFGS, at its defaults (c2=1, c1=0; state features only for the (attribute,
  label) pairs seen in training; epsilon=delta=1e-5, period 10);
* CRFsuite at the same model as ours (``feature.possible_states`` and
  ``feature.possible_transitions`` on: every attribute x label and label x label weight, the
  Ψ of ``SequenceLabeling``) and the same L2: c2 = n/(2C), i.e. C = n/(2 c2);
* GibbsPolicy(SequenceLabeling(), C) with CRFsuite's stopping tests (tol=1e-5, period 10);
* CRFsuite's best c2 on a held-out tenth of train (grid ``--grid``, trained on the other nine
  tenths at its defaults), then both learners on the whole of train at that c2 / C.

Reported: training time (CPU seconds of the training call, and its wall time; data reading,
CRFsuite's item conversion and numba compilation excluded: the numba kernels are compiled
in a warm-up run, and the cold compile time is measured once and stated), L-BFGS
iterations, the objective in CRFsuite's units Σ_i −log p(y_i|x_i) + c2‖w‖² (ours: J·n/C),
chunk F1 on test (conlleval rules) and the process's peak RSS (getrusage).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)


def _env():
    return dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
                OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
                NUMBA_NUM_THREADS="1")


def _load(data_home, holdout: bool):
    """(train X, Y, eval X, Y, tag names): the svm_hmm files; with ``holdout`` the first
    nine tenths of train and its last tenth as the evaluation set."""
    from structpred.datasets.home import get_data_home
    from structpred.datasets.svmhmm import read_svmhmm, read_tag_names
    folder = get_data_home(data_home) / "conll2000" / "svmhmm"
    train = read_svmhmm(folder / "train.dat.gz")
    names = read_tag_names(folder / "tags.txt")
    if holdout:
        cut = int(len(train.X) * 0.9)
        return train.X[:cut], train.Y[:cut], train.X[cut:], train.Y[cut:], names
    test = read_svmhmm(folder / "test.dat.gz", n_features=train.n_features)
    return train.X, train.Y, test.X, test.Y, names


def _f1(names, Y, P):
    from structpred.metrics.chunking import chunk_scores
    tag = lambda s: [names.get(int(t) + 1, "O") for t in s]   # noqa: E731
    return chunk_scores([tag(s) for s in Y], [tag(s) for s in P]).f1


def child_structpred(args):
    from structpred import GibbsPolicy
    from structpred.tasks import SequenceLabeling
    X, Y, Xe, Ye, names = _load(args.data_home, args.holdout)
    n = len(X)
    C = n / (2.0 * args.c2)
    pol = GibbsPolicy(SequenceLabeling(), C=C, tol=1e-5, period=10, n_jobs=1)
    t0, c0 = time.perf_counter(), time.process_time()
    pol.fit(X, Y)
    train_wall, train_cpu = time.perf_counter() - t0, time.process_time() - c0
    f1 = _f1(names, Ye, pol.predict(Xe))
    return dict(C=C, iterations=pol.n_iter_, evaluations=pol.n_fun_evals_,
                objective_crfsuite_units=pol.objective_ * n / C, train_cpu_s=train_cpu,
                train_wall_s=train_wall, f1=f1, d=int(pol.model.size_joint_feature),
                stop=pol.stop_reason_)


def child_crfsuite(args):
    import pycrfsuite
    X, Y, Xe, Ye, names = _load(args.data_home, args.holdout)
    lab = lambda s: [str(int(t)) for t in s]   # noqa: E731

    def items(x):
        x = x.tocsr()
        return pycrfsuite.ItemSequence([
            {str(int(f)): float(v) for f, v in zip(x.indices[x.indptr[t]:x.indptr[t + 1]],
                                                   x.data[x.indptr[t]:x.indptr[t + 1]])}
            for t in range(x.shape[0])])
    trainer = pycrfsuite.Trainer(algorithm="lbfgs", verbose=False)
    for x, y in zip(X, Y):
        trainer.append(items(x), lab(y))
    params = {"c1": 0.0, "c2": args.c2}
    if args.same_model:
        params.update({"feature.possible_states": True, "feature.possible_transitions": True})
    trainer.set_params(params)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "crf.model")
        t0, c0 = time.perf_counter(), time.process_time()
        trainer.train(path)
        train_wall, train_cpu = time.perf_counter() - t0, time.process_time() - c0
        last = trainer.logparser.last_iteration
        info = trainer.logparser.training_log if hasattr(trainer.logparser, "training_log") else ""
        tagger = pycrfsuite.Tagger()
        tagger.open(path)
        pred = [np.array([int(t) for t in tagger.tag(items(x))]) for x in Xe]
        n_features = tagger.info().state_features.__len__() + len(tagger.info().transitions)
    return dict(c2=args.c2, iterations=int(last["num"]), objective_crfsuite_units=float(last["loss"]),
                train_cpu_s=train_cpu, train_wall_s=train_wall, f1=_f1(names, Ye, pred),
                d=int(n_features), stop=str(info)[-120:].strip().splitlines()[-1] if info else "")


def _child_main(args):
    out = child_structpred(args) if args.child == "structpred" else child_crfsuite(args)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("__RESULT__ " + json.dumps(out), flush=True)


def run(kind, c2, same_model=False, holdout=False, data_home=None):
    """One learner in a child process (see ``--child``); returns its result dict."""
    cmd = [sys.executable, os.path.abspath(__file__), "--child", kind, "--c2", repr(c2)]
    cmd += (["--same-model"] if same_model else []) + (["--holdout"] if holdout else [])
    cmd += ["--data-home", data_home] if data_home else []
    out = subprocess.run(cmd, env=_env(), capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{kind} c2={c2} failed:\n{out.stderr[-3000:]}")
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("__RESULT__ ")][-1]
    rec = json.loads(line[len("__RESULT__ "):])
    print(kind, c2, "same" if same_model else "", "holdout" if holdout else "", rec, flush=True)
    return rec


_COLD = r"""
import time, numpy as np, scipy.sparse as sp
t0 = time.perf_counter()
from structpred import GibbsPolicy
from structpred.tasks import SequenceLabeling
X = [sp.csr_matrix(np.eye(3)), sp.csr_matrix(np.ones((2, 3)))]; Y = [np.array([0, 1, 2]), np.array([1, 1])]
GibbsPolicy(SequenceLabeling(), C=1.0).fit(X, Y).predict(X)
print(time.perf_counter() - t0)
"""


def cold_compile_seconds() -> float:
    with tempfile.TemporaryDirectory() as cache:
        out = subprocess.run([sys.executable, "-c", _COLD], env=dict(_env(), NUMBA_CACHE_DIR=cache),
                             capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", choices=["structpred", "crfsuite"])
    ap.add_argument("--c2", type=float, default=1.0)
    ap.add_argument("--same-model", action="store_true")
    ap.add_argument("--holdout", action="store_true")
    ap.add_argument("--data-home", default=None)
    ap.add_argument("--grid", type=float, nargs="+", default=[0.1, 1.0, 10.0])
    ap.add_argument("--jobs", type=int, default=1,
                    help="child processes at a time (CPU seconds stay comparable, wall do not)")
    ap.add_argument("--no-same-model-best", action="store_true",
                    help="skip CRFsuite's same-model run at the best held-out c2 (the longest)")
    ap.add_argument("--md", default=os.path.join(HERE, "results", "crf_conll.md"))
    args = ap.parse_args(argv)
    if args.child:
        return _child_main(args)
    load0 = os.getloadavg()
    compile_s = cold_compile_seconds()
    dh = args.data_home
    # warm-up: fills the numba cache of the timed runs (a held-out run, not reported)
    run("structpred", 10.0, holdout=True, data_home=dh)
    # phase 1: CRFsuite's held-out grid and both learners at c2 = 1 (CRFsuite's default)
    phase1 = {("held", c2): ("crfsuite", c2, False, True) for c2 in args.grid}
    phase1.update({("defaults", 1.0): ("crfsuite", 1.0, False, False),
                   ("crfsuite", 1.0): ("crfsuite", 1.0, True, False),
                   ("structpred", 1.0): ("structpred", 1.0, False, False)})
    res = _run_all(phase1, args.jobs, dh)
    held = {c2: res[("held", c2)] for c2 in args.grid}
    best = max(held, key=lambda c2: held[c2]["f1"])
    # phase 2: both learners at CRFsuite's best held-out c2
    if best != 1.0:
        phase2 = {("defaults", best): ("crfsuite", best, False, False),
                  ("structpred", best): ("structpred", best, False, False)}
        if not args.no_same_model_best:
            phase2[("crfsuite", best)] = ("crfsuite", best, True, False)
        res.update(_run_all(phase2, args.jobs, dh))
    rows = []
    for c2 in sorted({1.0, best}, reverse=True):
        tag = "c2=1 (CRFsuite's default)" if c2 == 1.0 else f"best held-out c2={c2:g}"
        for key, label in ((("defaults", c2), "CRFsuite, its defaults (seen state features)"),
                           (("crfsuite", c2), "CRFsuite, same model"),
                           (("structpred", c2), "structpred GibbsPolicy")):
            if key in res:
                rows.append((f"{label}, {tag}", c2, res[key]))
    _write(args, rows, held, best, compile_s, load0, os.getloadavg())


def _run_all(specs, jobs, data_home):
    """Run the child processes of ``specs`` (key -> (kind, c2, same_model, holdout)), up to
    ``jobs`` at a time: each is one single-threaded process, whose CPU seconds stay
    comparable when several share the machine (wall seconds do not)."""
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {k: pool.submit(run, kind, c2, same, hold, data_home)
                   for k, (kind, c2, same, hold) in specs.items()}
        return {k: f.result() for k, f in futures.items()}


def _write(args, rows, held, best, compile_s, load0, load1):
    import platform
    lines = [
        "# CoNLL-2000 chunking as a CRF: structpred GibbsPolicy vs CRFsuite (one thread each)",
        "",
        f"`python benchmarks/crf_conll.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{platform.processor() or platform.machine()}. **Machine loaded**: 2 cores shared with "
        f"other jobs, load average {load0[0]:.1f} at the start and {load1[0]:.1f} at the end, so "
        "times are noisy; compare the CPU seconds of runs in the same table rather than "
        "absolute figures.",
        "",
        "Data: the svm_hmm files of CoNLL-2000 (`conll2000/svmhmm`, 8,936 training sentences, "
        "2,012 test sentences, 93,671 binary features, 22 tags), the same features for both "
        "learners. Objective: GibbsPolicy minimises ½‖w‖² + (C/n) Σ −log π(y_i|x_i); CRFsuite "
        "Σ −log p(y_i|x_i) + c2‖w‖², the same problem with c2 = n/(2C). Both stop by CRFsuite's "
        "tests (relative decrease < 1e-5 over 10 iterations, or ‖g‖/max(1,‖w‖) < 1e-5); "
        "CRFsuite keeps 6 L-BFGS corrections, structpred 10.",
        "",
        f"Training time = CPU seconds of the training call only (``fit`` / ``Trainer.train``); "
        f"reading the files, CRFsuite's item conversion and numba compilation are excluded "
        f"(numba kernels compiled by a warm-up run; cold compile with an empty cache: "
        f"{compile_s:.1f} s). Peak RSS = the whole process (data, features, model).",
        "",
        "| learner | c2 (C = n/(2 c2)) | weights | iterations | objective (CRFsuite units) | "
        "train CPU [s] | train wall [s] | chunk F1 | peak RSS [MB] |",
        "|---|---|---|---|---|---|---|---|---|"]
    for label, c2, r in rows:
        lines.append(f"| {label} | {c2:g} (C={8936 / (2 * c2):.1f}) | {r.get('d', '')} | "
                     f"{r['iterations']} | {r['objective_crfsuite_units']:.2f} | "
                     f"{r['train_cpu_s']:.1f} | {r['train_wall_s']:.1f} | {r['f1']:.2f} | "
                     f"{r['peak_rss_mb']:.0f} |")
    lines += ["", "Held-out selection of CRFsuite's c2 (its defaults otherwise; trained on the "
              "first 90% of train, chunk F1 on the last 10%):", "",
              "| c2 | held-out F1 | iterations | train CPU [s] |", "|---|---|---|---|"]
    for c2, r in sorted(held.items()):
        lines.append(f"| {c2:g}{' (best)' if c2 == best else ''} | {r['f1']:.2f} | "
                     f"{r['iterations']} | {r['train_cpu_s']:.1f} |")
    os.makedirs(os.path.dirname(os.path.abspath(args.md)), exist_ok=True)
    with open(args.md, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    with open(os.path.splitext(args.md)[0] + ".json", "w") as fh:
        json.dump({"rows": [dict(label=l, c2=c, **r) for l, c, r in rows],
                   "held_out": {str(k): v for k, v in held.items()}, "best_c2": best,
                   "compile_s": compile_s, "load": [load0, load1]}, fh, indent=1)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
