"""CoCoA+ on Dask against the one-thread local n-slack solver, CoNLL-2000 repeated R times.

    STRUCTPRED_DATA=/work/shared/data python benchmarks/dask_conll.py \\
        [--workers 2,1] [--repeat 4] [--C 1000] [--eps 0.1] [--no-local] [--out FILE.md]
        [--form stacked|list]
        [--from-jsonl RAW.jsonl]   (the report of earlier raw runs, no new runs)

The data is the reader's stacked sets (``--form stacked``, the default: how ``structpred
learn`` reads CoNLL, checked and batched by the task in a few vectorised passes, and shipped to
a Dask worker as its slice of the stacked arrays) or lists of CSR matrices and label arrays
(``--form list``), the same form for every run. Runs, each in its own process (so peak RSS is
per run): ``local`` (StructuredSVM n-slack, one thread) and, for each K in ``--workers``,
``daskK`` (a LocalCluster of K worker processes x 1 thread, started as ``structpred learn
--n-workers`` starts it: ``dask_cluster.local_cluster``, quiet background monitors; CoCoA+
with σ' = K). The numba cache is warmed in every process first (a small fit on
1,500 sentences, enough to load the kernels of the large-batch path), so no compile or kernel
loading is in any figure. Per run it reports:

* fit wall (``StructuredSVM.fit``) and its phases: for Dask the set-up (model broadcast, driver
  packing, sending, the task's input checks, waiting for the workers' batches; the workers' own
  unpack / batch seconds), the partitions' solver set-up, and per round the wall, the slowest
  worker's compute, its oracle pass (which certifies the gap) and its CPU, and the workers'
  idle time between tasks (their tasks' start / end stamps);
* CPU seconds of the driver and of every worker during the fit;
* peak RSS of the driver and of every worker;
* per-round message sizes (w sent to each worker, w_k returned);
* primal, certified dual, rounds / passes.

Writes the raw runs (JSON lines) next to ``--out`` and the Markdown report ``--out`` (default
benchmarks/results/dask_conll.md), including the bar of issue 21 and an at-scale estimate
computed from the measured per-round compute and message sizes.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WARM_SENTENCES = 1500
#: a worker's CPU per phase of a CoCoA+ round (``partition_step``'s "cpu_phases")
PHASES = ("pass_answers", "first_sweeps", "row_calls", "row_updates", "sweeps", "w_k")


def _maxrss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cpu_s():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _median(v):
    v = sorted(v)
    return v[len(v) // 2] if v else None


def repeat_stacked(X, Y, repeat: int):
    """The stacked sets X, Y (``read_svmhmm(..., stacked=True)``) repeated ``repeat`` times,
    stacked again (the arrays tiled, the row pointers and offsets shifted per copy)."""
    from structpred.datasets.stacked import StackedLabels, StackedSequences
    indptr, indices, data, offsets = X.stacked_rows()
    labels, yoff = Y.stacked_rows()
    nnz, rows = int(indptr[-1]), int(offsets[-1])
    ptr = [indptr[:1]] + [indptr[1:] + r * nnz for r in range(repeat)]
    off = [offsets[:1]] + [offsets[1:] + r * rows for r in range(repeat)]
    return (StackedSequences(np.tile(data, repeat), np.tile(indices, repeat),
                             np.concatenate(ptr), np.concatenate(off), X.n_features),
            StackedLabels(np.tile(labels, repeat), np.concatenate(off)))


def child(mode: str, repeat: int, C: float, eps: float, form: str = "stacked") -> dict:
    """One run in this process; returns its figures (JSON-able). ``form``: "stacked" (the
    reader's stacked sets, as ``structpred learn`` reads them) or "list" (a list of CSR
    matrices and one of label arrays)."""
    sys.path.insert(0, ROOT)
    from structpred import StructuredSVM
    from structpred.datasets.svmhmm import read_svmhmm
    from structpred.tasks.sequence import SequenceLabeling
    path = os.path.join(os.environ["STRUCTPRED_DATA"], "conll2000", "svmhmm", "train.dat.gz")
    t0 = time.perf_counter()
    data = read_svmhmm(path, stacked=form == "stacked")
    if form == "stacked":
        X, Y = repeat_stacked(data.X, data.Y, repeat)
    else:
        X, Y = list(data.X) * repeat, list(data.Y) * repeat
    t_read = time.perf_counter() - t0

    n_labels, n_features = data.max_tag, data.n_features
    Xw, Yw = X[:WARM_SENTENCES], Y[:WARM_SENTENCES]
    del data

    def model():
        return SequenceLabeling(n_labels=n_labels, n_features=n_features)

    def warm():     # sent to the workers too: it holds only the warm-up sentences
        StructuredSVM(model(), C=1.0, eps=1.0).fit(Xw, Yw)
    warm()
    out = {"mode": mode, "form": form, "n": len(X), "read_s": t_read, "when": time.strftime(
        "%Y-%m-%d %H:%M UTC", time.gmtime()), "load_before": os.getloadavg()[0]}
    if mode == "local":
        svm = StructuredSVM(model(), C=C, eps=eps, n_jobs=1)
        c1, t1 = _cpu_s(), time.perf_counter()
        svm.fit(X, Y)
        out["fit_s"] = time.perf_counter() - t1
        out["driver_cpu_s"] = _cpu_s() - c1
    else:
        import distributed
        k = int(mode[4:])
        t1 = time.perf_counter()
        from structpred.solvers.dask_cluster import local_cluster, quiet_monitors
        with local_cluster(k) as cluster, quiet_monitors(), \
                distributed.Client(cluster, set_as_default=False) as client:
            out["cluster_start_s"] = time.perf_counter() - t1
            client.run(warm)
            svm = StructuredSVM(model(), C=C, eps=eps, backend="dask", client=client)
            wc0 = client.run(_cpu_s)
            c1, t2 = _cpu_s(), time.perf_counter()
            svm.fit(X, Y)
            out["fit_s"] = time.perf_counter() - t2
            out["driver_cpu_s"] = _cpu_s() - c1
            wc1 = client.run(_cpu_s)
            out["worker_cpu_s"] = [wc1[a] - wc0[a] for a in sorted(wc1)]
            out["worker_rss_mb"] = [v for _, v in sorted(client.run(_maxrss_mb).items())]
        extra = svm.solver_extra_
        setup = dict(extra.get("setup") or {})
        out["setup"] = setup
        rb = extra["round_bytes"]
        out["w_in_bytes"] = max(r["w_in"] for r in rb) if rb else None     # round 1: w = 0
        out["dense_bytes"] = 8 * int(svm.w_.shape[0])
        out["w_out_bytes"] = max(max(r["out"]) for r in rb) if rb else None
        hist = svm.history_
        if extra.get("local_solver"):     # one partition: the whole fit on the worker
            out["rounds"] = []
            out["single"] = {"solver": extra["local_solver"],
                             "worker_seconds": extra["worker_seconds"],
                             "worker_cpu": extra["worker_cpu"],
                             "communication": svm.timings_.get("communication", 0.0),
                             "w_bytes": extra.get("w_bytes", 8 * int(svm.w_.shape[0]))}
        else:
            out["rounds"] = [{"wall": h["round_seconds"],
                              "compute": max(h.get("local_seconds") or [0.0]),
                              "pass": max(h.get("pass_seconds") or [0.0]),
                              "cpu": max(a + b for a, b in zip(
                                  h.get("local_cpu") or [0.0] * 8,
                                  h.get("pass_cpu") or [0.0] * 8)),
                              "pass_cpu": max(h.get("pass_cpu") or [0.0]),
                              "certified": h["gap"] == h["gap"],
                              "phases": h.get("cpu_phases"),
                              "pass_span": h.get("pass_span"),
                              "step_span": h.get("step_span")} for h in hist]
            _idle_gaps(out["rounds"])
    out.update(primal=svm.primal_objective_, dual=svm.dual_objective_, iters=svm.n_iter_,
               converged=svm.converged_, d=int(svm.w_.shape[0]), timings=svm.timings_,
               driver_rss_mb=_maxrss_mb(), load_after=os.getloadavg()[0])
    return out


def _idle_gaps(rounds):
    """Per round, the workers' idle wall seconds on their own clocks (``time.time`` stamps
    of the tasks): "idle_in" from the previous round's last step end to this round's first
    task start (w's trip, through the driver or between the workers), "idle_mid" from the
    last pass end to the first step start (the driver's decision to go on)."""
    last_end = None
    for r in rounds:
        ps = [s for s in (r.get("pass_span") or []) if s]
        ss = [s for s in (r.get("step_span") or []) if s]
        first = min(s[0] for s in ps or ss) if (ps or ss) else None
        r["idle_in"] = None if last_end is None or first is None else first - last_end
        r["idle_mid"] = (min(s[0] for s in ss) - max(s[1] for s in ps)) if ps and ss else None
        if ss:
            last_end = max(s[1] for s in ss)


# ---------------------------------------------------------------- report
def _f(x, nd=1):
    return "-" if x is None else f"{x:,.{nd}f}"


def estimate(runs: dict, scale: int = 100) -> list[str]:
    """The at-scale estimate (on paper) from the measured rounds: one core's seconds per
    sentence per round = the slowest worker's median CPU per round of the run with the
    smallest K that made rounds (one worker runs the local solver, no rounds), times K, over
    the sentences (CPU, not wall: on a loaded machine the wall is
    inflated by waiting for a core); messages 2 x w bytes per worker per round."""
    dask = sorted((r for r in runs.values() if r["mode"] != "local" and r["rounds"]),
                  key=lambda r: int(r["mode"][4:]))
    if not dask:
        return []
    base = dask[0]
    k0 = int(base["mode"][4:])
    comp = _median([r["cpu"] for r in base["rounds"]])
    per_sent = comp * k0 / base["n"]            # seconds of one core per sentence per round
    n_big = scale * base["n"]
    msg = (base["w_in_bytes"] or 0) + (base["w_out_bytes"] or 0)
    bw = 1.25e9                                 # 10 Gbit/s
    r0 = max(r["iters"] for r in dask)
    local = runs.get("local")
    lines = [
        f"From the measured rounds of `{base['mode']}`: one round costs "
        f"{per_sent * 1e3:.2f} ms of one core per sentence (median CPU per round "
        f"{comp:.1f} s for {base['n'] // k0:,} sentences per worker) and moves "
        f"{msg / 1e6:.1f} MB per worker (w in, w_k out: O(d), independent of n). For a corpus "
        f"{scale}x larger ({n_big:,} sentences) on K workers, one core each:",
        "",
        f"* compute per round: {per_sent * 1e3:.2f} ms x {n_big:,} / K = "
        f"{per_sent * n_big:,.0f} s / K;",
        f"* communication per round through the driver (star): K x {msg / 1e6:.1f} MB at "
        f"10 Gbit/s = {msg / bw:.3f} K s (a tree broadcast / reduce: {msg / bw:.3f} log2 K s), "
        f"plus summing K vectors of d floats on the driver (~10 ms each);",
        f"* rounds: {r0} measured here (stop at gap <= C·eps); CoCoA+ with σ' = K takes "
        f"more rounds as K grows when the partitions differ (here they are copies of the same "
        f"sentences, the best case): optimistic R = {r0}, pessimistic R = {r0}·sqrt(K/2);",
    ]
    ref = None
    if local is not None:
        ref = scale * local["driver_cpu_s"]
        lines.append(f"* reference: the one-thread local solver, assuming the same "
                     f"{local['iters']} passes, {scale} x {local['driver_cpu_s']:.1f} s of CPU = "
                     f"{ref:,.0f} s (and ~{scale * local['driver_rss_mb'] / 1024:.0f} GB of "
                     "memory, which is why one would scale out).")
    lines += ["", "| K | compute / round | comm / round (star) | R optimistic -> time, "
              "speed-up | R pessimistic -> time, speed-up |", "|---:|---:|---:|---|---|"]
    for K in (8, 32, 128):
        c = per_sent * n_big / K
        m = msg / bw * K + 0.01 * K
        ro, rp = r0, max(r0, round(r0 * (K / 2) ** 0.5))
        to, tp = ro * (c + m), rp * (c + m)
        so = "" if ref is None else f", {ref / to:.1f}x"
        sp_ = "" if ref is None else f", {ref / tp:.1f}x"
        lines.append(f"| {K} | {c:,.1f} s | {m:.1f} s | {ro} -> {to:,.0f} s{so} | "
                     f"{rp} -> {tp:,.0f} s{sp_} |")
    lines += ["", "Not included: the set-up at that size (the driver reads the whole corpus "
              "and ships each worker its partition, measured here at "
              f"{base['setup'].get('wall', 0.0):.1f} s for {base['n']:,} sentences, i.e. "
              f"~{scale * base['setup'].get('wall', 0.0):,.0f} s at {scale}x through one driver: "
              "reading on the workers is not implemented), stragglers, rounds above the "
              "pessimistic guess."]
    return lines


def report(runs: dict, args) -> str:
    """The Markdown report of the runs (see the module docstring)."""
    C, eps = args.C, args.eps
    any_run = next(iter(runs.values()))
    L = [f"# CoCoA+ on Dask vs the one-thread n-slack solver (CoNLL-2000 x {args.repeat})", "",
         f"`STRUCTPRED_DATA=... python benchmarks/dask_conll.py --workers {args.workers} "
         f"--repeat {args.repeat} --form {any_run.get('form', 'list')}` (raw output: "
         f"`{os.path.basename(_jsonl(args.out))}`). Input form: "
         + ("the reader's stacked sets (`read_svmhmm(..., stacked=True)`, as `structpred "
            "learn` reads them), for every run" if any_run.get("form") == "stacked" else
            "lists of CSR matrices and of label arrays, for every run") + ".",
         f"svm_hmm CoNLL-2000 training file repeated {args.repeat} times = {any_run['n']:,} "
         f"sentences, d = {any_run['d']:,}, C = {C:g}, eps = {eps:g}, one run of each, "
         f"{min(r['when'] for r in runs.values())}. Load average (1 min) before / after each "
         "run: " + "; ".join(f"{m} {r['load_before']:.1f} / {r['load_after']:.1f}"
                             for m, r in runs.items()) + " on "
         f"{os.cpu_count()} cores. numba cache warm in every process (a {WARM_SENTENCES}-"
         "sentence fit first: no compile or kernel loading in any figure).", "",
         "| run | fit wall [s] | set-up [s] | rounds / passes | primal | dual | CPU driver / "
         "workers [s] | peak RSS driver / workers [MB] |", "|---|---:|---:|---:|---:|---:|---|---|"]
    for m, r in runs.items():
        setup = None if m == "local" else (r["setup"].get("wall", 0.0)
                                           + r["timings"].get("setup", 0.0))
        wcpu = ", ".join(f"{c:.1f}" for c in r.get("worker_cpu_s", [])) or "-"
        wrss = ", ".join(f"{c:.0f}" for c in r.get("worker_rss_mb", [])) or "-"
        L.append(f"| {m} | {r['fit_s']:.1f} | {_f(setup)} | {r['iters']} | {r['primal']:.2f} | "
                 f"{r['dual']:.2f} | {r['driver_cpu_s']:.1f} / {wcpu} | "
                 f"{r['driver_rss_mb']:.0f} / {wrss} |")
    L += ["", "Set-up = placing the data (`DaskOracle`, which on Dask also runs the task's "
          "input checks while the workers build their batches; the local run checks before "
          "its fit starts, inside its fit wall too) plus the partitions' solver state "
          "(`timings_['setup']`); fit wall includes it. CPU = user + system seconds of the "
          "process during the fit (the workers' include their share of the set-up)."]
    cores = os.cpu_count() or 1
    L += ["", f"This machine has {cores} cores shared with other jobs (the load averages above): "
          "under load the wall ratios are unreliable (the runs did not see the same load, and "
          "K worker processes compete with the other jobs for the same cores); the CPU seconds "
          "per phase and per round below are the figures to compare, and the walls are "
          "measured in turn (local, then each K) at the same nice level."]
    if max(max(r["load_before"], r["load_after"]) for r in runs.values()) > cores:
        L += ["", f"**The machine was loaded (load average above its {cores} cores) during "
              "these runs: walls are indicative only and the runs did not see the same load; "
              "CPU seconds are the fairer comparison (though contention inflates them too).**"]
    L += ["", "## Phases (Dask runs)", ""]
    for m, r in runs.items():
        if m == "local":
            continue
        s, rounds = r["setup"], r["rounds"]
        if r.get("single"):
            g = r["single"]
            L.append(f"* **{m}**: set-up {_f(s.get('wall'), 2)} s = model broadcast "
                     f"{_f(s.get('model'), 2)} + driver packing {_f(s.get('pack'), 2)} + "
                     f"sending {_f(s.get('send'), 2)} ({sum(s.get('bytes', [])) / 1e6:.0f} MB) "
                     f"+ the task's input checks on the driver {_f(s.get('check'), 2)} (while "
                     f"the worker builds its batch) + waiting for the worker's batch "
                     f"{_f(s.get('wait'), 2)}. Then the whole "
                     f"fit ran on the worker ({g['solver']}, {r['iters']} passes): worker wall "
                     f"{g['worker_seconds']:.2f} s, CPU {g['worker_cpu']:.2f} s; the driver's "
                     f"wait beyond it (options out, w of {g['w_bytes']:,} bytes back) "
                     f"{g['communication']:.2f} s.")
            continue
        L.append(f"* **{m}**: set-up {_f(s.get('wall'), 2)} s = model broadcast "
                 f"{_f(s.get('model'), 2)} + driver packing {_f(s.get('pack'), 2)} + sending "
                 f"{_f(s.get('send'), 2)} ({sum(s.get('bytes', [])) / 1e6:.0f} MB) + the task's "
                 f"input checks on the driver {_f(s.get('check'), 2)} (while the workers build "
                 f"their batches) + waiting "
                 f"for the workers' batches {_f(s.get('wait'), 2)}"
                 + (f" (not waited for: the first round queues behind the builds; the last "
                    f"batch was ready {s['ready']:.2f} s after the set-up began)"
                    if "ready" in s else "")
                 + " (workers: unpack "
                 + ", ".join(f"{v:.2f}" for v in s.get("worker_unpack", [])) + " s, batch "
                 + ", ".join(f"{v:.2f}" for v in s.get("worker_batch", [])) + " s); "
                 f"partitions' solver state {r['timings'].get('setup', 0.0):.2f} s. "
                 f"Rounds: {len(rounds)}, median wall {_f(_median([x['wall'] for x in rounds]), 2)}"
                 f" s, of which the slowest worker computes "
                 f"{_f(_median([x['compute'] for x in rounds]), 2)} s (its oracle pass, which "
                 f"certifies the gap, {_f(_median([x['pass'] for x in rounds]), 2)} s"
                 + (f", CPU {_median([x['pass_cpu'] for x in rounds]):.2f} s"
                    if rounds and "pass_cpu" in rounds[0] else "")
                 + f"; the whole step's CPU {_f(_median([x['cpu'] for x in rounds]), 2)} s); "
                 f"all rounds "
                 f"{sum(x['wall'] for x in rounds):.1f} s. Set-up / rounds = "
                 f"{(s.get('wall', 0.0) + r['timings'].get('setup', 0.0)) / max(sum(x['wall'] for x in rounds), 1e-9):.2f}. "
                 f"Per round (largest): into each worker {r['w_in_bytes']:,} bytes (w from the "
                 "driver, or from round 2 on the other workers' w_k, which each worker sums "
                 f"itself), each w_k out {r['w_out_bytes']:,} bytes (w dense: "
                 f"{r.get('dense_bytes', 0):,} bytes; both travel as their nonzeros when that "
                 "is smaller).")
        L.append("")
        L.append("  | round | certified | wall | workers idle before it / pass to step | "
                 "slowest worker: CPU | its pass at w | " + " | ".join(PHASES) + " |")
        L.append("  |---:|---|---:|---|---:|---:|" + "---:|" * len(PHASES))
        for i, x in enumerate(rounds, 1):
            ph = x.get("phases") or []
            k = max(range(len(ph)), key=lambda j: sum(ph[j].values())) if ph else None
            L.append(f"  | {i} | {'yes' if x.get('certified', True) else 'no (w = 0)'} | "
                     f"{x['wall']:.2f} | {_f(x.get('idle_in'), 3)} / {_f(x.get('idle_mid'), 3)}"
                     f" | {x['cpu']:.2f} | {x['pass_cpu']:.2f} | "
                     + " | ".join("-" if k is None else f"{ph[k][p]:.2f}" for p in PHASES)
                     + " |")
        L.append("")
    local = runs.get("local")
    if local is not None:
        L += ["", "## Against the bar", ""]
        for m, r in runs.items():
            if m == "local":
                continue
            k = int(m[4:])
            bar = 0.65 if k == 2 else 1.2 if k == 1 else None
            dp = r["primal"] - local["primal"]
            ratio = r["fit_s"] / local["fit_s"]
            rounds_only = sum(x["wall"] for x in r["rounds"]) / local["fit_s"]
            L.append(f"* {m}: primal {r['primal']:.2f} vs local {local['primal']:.2f} "
                     f"({dp:+.1f}; bar |Δ| <= C·eps/2 = {C * eps / 2:g}: "
                     f"{'met' if abs(dp) <= C * eps / 2 else 'NOT met'}); wall "
                     f"{r['fit_s']:.1f} / {local['fit_s']:.1f} = {ratio:.2f}x"
                     + ("" if bar is None else f" (bar <= {bar}x: "
                        f"{'met' if ratio <= bar else 'NOT met'})")
                     + (f"; rounds alone {rounds_only:.2f}x" if r["rounds"] else "")
                     + "; CPU of all processes "
                     f"{(r['driver_cpu_s'] + sum(r['worker_cpu_s'])) / local['driver_cpu_s']:.2f}x "
                     "local's; CPU critical path (driver + slowest worker, a proxy for the "
                     "wall on a quiet machine with a core per process) "
                     f"{(r['driver_cpu_s'] + max(r['worker_cpu_s'])) / local['driver_cpu_s']:.2f}x"
                     " local's CPU.")
    est = estimate(runs)
    if est:
        L += ["", "## Worked estimate at scale (on paper)", ""] + est
    return "\n".join(L) + "\n"


def _jsonl(out):
    return os.path.splitext(out)[0] + ".jsonl"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", default="2,1", help="comma-separated worker counts (Dask runs)")
    ap.add_argument("--repeat", type=int, default=4, help="copies of the training file")
    ap.add_argument("--C", type=float, default=1000.0)
    ap.add_argument("--eps", type=float, default=0.1)
    ap.add_argument("--no-local", action="store_true", help="skip the one-thread local run")
    ap.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results",
                                                  "dask_conll.md"))
    ap.add_argument("--from-jsonl", default=None, metavar="FILE",
                    help="write the report of the raw runs in FILE (no new runs)")
    ap.add_argument("--form", choices=("stacked", "list"), default="stacked",
                    help="input form: the reader's stacked sets (as `structpred learn` reads "
                         "CoNLL) or lists of CSR matrices / label arrays")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.from_jsonl:
        with open(a.from_jsonl) as fh:
            runs = {r["mode"]: r for r in map(json.loads, fh)}
        a.workers = ",".join(m[4:] for m in runs if m != "local")
        text = report(runs, a)
        with open(a.out, "w") as fh:
            fh.write(text)
        print(text)
        return
    if a.child:
        print("RESULT " + json.dumps(child(a.child, a.repeat, a.C, a.eps, a.form)), flush=True)
        return
    if "STRUCTPRED_DATA" not in os.environ:
        ap.error("set STRUCTPRED_DATA to the folder holding conll2000/svmhmm/train.dat.gz")
    workers = [int(k) for k in a.workers.split(",") if k.strip()]
    if any(k < 1 for k in workers):
        ap.error(f"--workers: every count must be >= 1, got {a.workers!r}")
    modes = ([] if a.no_local else ["local"]) + [f"dask{k}" for k in workers]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    runs = {}
    with open(_jsonl(a.out), "w") as log:
        for mode in modes:
            proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", mode,
                                   "--repeat", str(a.repeat), "--C", str(a.C), "--eps",
                                   str(a.eps), "--form", a.form], env=env, check=True, stdout=subprocess.PIPE,
                                  text=True)
            line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
            runs[mode] = json.loads(line[len("RESULT "):])
            log.write(json.dumps(runs[mode]) + "\n")
            log.flush()
            print(f"{mode}: fit {runs[mode]['fit_s']:.1f} s, primal {runs[mode]['primal']:.2f}",
                  flush=True)
    text = report(runs, a)
    with open(a.out, "w") as fh:
        fh.write(text)
    print(text)


if __name__ == "__main__":
    main()
