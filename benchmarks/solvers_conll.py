"""Convergence of every solver (1-slack, n-slack, BCFW, stochastic subgradient) on CoNLL-2000
chunking (svm_hmm's own files, C=100, eps=0.1) and on the digits multiclass task, plus the
oracle's n_jobs=2 speed-up and the Dask backend's per-pass overhead.

    python benchmarks/solvers_conll.py [--C 100] [--eps 0.1] [--solvers 1-slack,bcfw,subgradient]
        [--bcfw-block 16] [--sg-block 64] [--sg-passes 20] [--skip-conll] [--skip-digits]
        [--skip-speedup] [--skip-dask] [--compare-jobs] [--quick] [--out-dir benchmarks/results]

Writes <out-dir>/solvers_conll.json and two PNGs: solvers_conll.png (primal suboptimality
bound P(w_t) - D* against time, D* the best certified dual over all solvers, with the C·eps
line) and solvers_conll_bars.png (time to reach eps per solver vs svm_hmm 3.10's 65.2 s at
C=100). "Time to reach eps": when the solver's own certified stopping rule fired (1-slack,
n-slack: most violated constraint within eps; BCFW: duality gap <= C·eps); for subgradient,
which has no certificate, the first check with P(w) - D* <= C·eps (certified after the fact
by the other solvers' dual). Timings are wall clock on a shared 2-core machine: the load
average is recorded next to every figure.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from structpred import StructuredSVM  # noqa: E402
from structpred.bench.runner import fit_measured, history_records  # noqa: E402
from structpred.datasets import load_digits, load_ptb_sample  # noqa: E402
from structpred.datasets.home import get_data_home  # noqa: E402
from structpred.datasets.svmhmm import copy_first_sequences, read_svmhmm  # noqa: E402
from structpred.metrics.brackets import sentence_length  # noqa: E402
from structpred.solvers.dask_oracle import DaskOracle  # noqa: E402
from structpred.solvers.oracle import LocalOracle  # noqa: E402
from structpred.tasks import Multiclass  # noqa: E402
from structpred.tasks.parsing import ConstituencyParsing, sentence  # noqa: E402
from structpred.tasks.sequence import SequenceLabeling  # noqa: E402

SVMHMM_SECONDS = {10.0: 56.5, 100.0: 65.2, 1000.0: 97.4}


def load():
    return round(os.getloadavg()[0], 2)


def head_file(path, n_sentences):
    """Copy the first n sentences of an svm_hmm file (for --quick)."""
    out = tempfile.NamedTemporaryFile("w", suffix=".dat", delete=False)
    out.close()
    copy_first_sequences(path, out.name, n_sentences)
    return out.name


def fit_solver(make_model, X, Y, algorithm, C, eps, n_jobs, options, max_iter, verbose):
    """Fit one solver (``structpred.bench.runner.fit_measured``); returns (svm, record)."""
    svm = StructuredSVM(make_model(), C=C, eps=eps, algorithm=algorithm, n_jobs=n_jobs,
                        max_iter=max_iter, solver_options=options or None, verbose=verbose)
    rec = {"algorithm": algorithm, "options": options, "load_start": load()}
    fit = fit_measured(svm, X, Y)
    rec["fit_s"] = round(fit["wall_s"], 2)
    rec.update(primal=svm.primal_objective_, dual=svm.dual_objective_,
               converged=fit["converged"], n_iter=fit["n_iter"],
               oracle_calls=fit["oracle_calls"], load_end=load(),
               timings={k: round(v, 2) for k, v in fit["timings"].items()})
    rec["history"] = history_records(svm, ("iteration", "time", "primal", "dual", "gap",
                                           "oracle_calls", "gap_iterate", "gap_average"))
    gaps = [h["gap"] for h in rec["history"] if h.get("gap") is not None]
    rec["min_gap"] = min(gaps) if gaps else None
    rec["all_gaps_nonnegative"] = bool(all(g >= -1e-9 * max(1.0, abs(rec["primal"])) for g in gaps))
    if algorithm == "bcfw":
        rec["certified_gaps"] = [round(g, 6) for g in gaps]
    return svm, rec


def time_to_eps_hindsight(rec, C, eps, best_dual):
    """Seconds until P(w_t) - D* <= C·eps, D* the best dual of all solvers (known only
    afterwards)."""
    for h in rec["history"]:
        if h.get("primal") is not None and h["primal"] - best_dual <= C * eps:
            return h["time"]
    return None


def time_to_eps(rec, C, eps, best_dual):
    """Seconds until the solver's certified stop, or, without a certificate, until
    P(w_t) - D* <= C·eps."""
    if rec["algorithm"] in ("1-slack", "n-slack", "bcfw"):
        return rec["history"][-1]["time"] if rec["converged"] else None
    for h in rec["history"]:
        if h.get("primal") is not None and h["primal"] - best_dual <= C * eps:
            return h["time"]
    return None


def solver_suite(name, make_model, X, Y, C, eps, solvers, args, previous=None):
    """Run the solvers; records of other solvers from an earlier run with the same C and eps
    (``previous``) are kept, each with its own load figures."""
    out = {}
    if previous and previous.get("C") == C and previous.get("eps") == eps:
        out.update({k: v for k, v in previous["solvers"].items()
                    if k not in solvers and isinstance(v, dict) and "history" in v})
    svms = {}
    for algorithm in solvers:
        options = {}
        max_iter = 100000
        if algorithm == "bcfw":
            options = dict(block_size={"conll": args.bcfw_block, "parsing": 4}.get(name, 1),
                           gap_every=args.bcfw_gap_every)
            max_iter = args.bcfw_passes
        elif algorithm == "subgradient":
            options = dict(block_size=args.sg_block if name == "conll" else 8, tol=0.0)
            if name != "conll":
                max_iter = max(max_iter, 2 * args.sg_passes)
            max_iter = args.sg_passes
        elif algorithm == "n-slack":
            max_iter = args.nslack_iter
        print(f"[{name}] {algorithm} {options} (load {load()})", flush=True)
        svm, rec = fit_solver(make_model, X, Y, algorithm, C, eps, args.n_jobs, options,
                              max_iter, args.verbose)
        print(f"[{name}] {algorithm}: {rec['fit_s']} s, primal {rec['primal']:.6g}, "
              f"dual {rec['dual']:.6g}, iters {rec['n_iter']}, converged {rec['converged']}",
              flush=True)
        out[algorithm] = rec
        svms[algorithm] = svm
    order = ["1-slack", "n-slack", "bcfw", "subgradient"]
    out = {k: out[k] for k in sorted(out, key=lambda a: order.index(a) if a in order else 9)}
    duals = [r["dual"] for r in out.values() if r["dual"] is not None and np.isfinite(r["dual"])]
    best_dual = max(duals) if duals else None
    best_primal = min(r["primal"] for r in out.values())
    for rec in out.values():
        rec["time_to_eps_s"] = time_to_eps(rec, C, eps, best_dual) if best_dual is not None else None
        rec["primal_minus_best_dual"] = rec["primal"] - best_dual if best_dual is not None else None
        rec["time_to_eps_hindsight_s"] = (time_to_eps_hindsight(rec, C, eps, best_dual)
                                          if best_dual is not None else None)
    if "1-slack" in out and "bcfw" in out:
        diff = out["bcfw"]["primal"] - out["1-slack"]["primal"]
        out["bcfw_vs_1slack"] = {"primal_difference": diff, "C_times_eps": C * eps,
                                 "within_eps": bool(abs(diff) <= C * eps)}
    return {"C": C, "eps": eps, "best_dual": best_dual, "best_primal": best_primal,
            "solvers": out}, svms


def oracle_speedup(make_model, X, Y, w, repeat):
    """Full oracle passes with n_jobs=1 and 2 at the same w (alternated, best and median).

    Besides wall time it records the CPU time of each chunk's thread and of the process: on
    a machine shared with other jobs the wall-clock speed-up is capped by the cores this
    process actually gets (process CPU / wall), while the per-thread CPU shows how evenly
    the work splits (serial CPU / slowest thread = the speed-up on 2 free cores)."""
    model = make_model()
    model.initialize(X, Y)
    oracles = {nj: LocalOracle(model, X, Y, n_jobs=nj) for nj in (1, 2)}
    res = {"load_start": load()}
    outs = {}
    times = {1: [], 2: []}
    phases = {1: [], 2: []}
    cpus = {1: [], 2: []}
    for nj in (1, 2):
        outs[nj] = oracles[nj](w)           # warm-up (numba cache load)
    for _ in range(repeat):
        for nj in (1, 2):
            p0 = time.process_time()
            t = time.perf_counter()
            oracles[nj](w)
            times[nj].append(time.perf_counter() - t)
            cpus[nj].append((time.process_time() - p0, list(oracles[nj].last_chunk_cpu)))
            phases[nj].append(dict(oracles[nj].last_times))
    for nj in (1, 2):
        oracles[nj].close()
    D1, L1 = outs[1]
    D2, L2 = outs[2]
    res["identical_D_L"] = bool((D1 != D2).nnz == 0 and np.array_equal(L1, L2))
    for nj in (1, 2):
        res[f"jobs{nj}_best_s"] = round(min(times[nj]), 3)
        res[f"jobs{nj}_median_s"] = round(float(np.median(times[nj])), 3)
        res[f"jobs{nj}_phases_best"] = {k: round(min(p[k] for p in phases[nj]), 3)
                                        for k in phases[nj][0]}
        k = int(np.argmin(times[nj]))
        res[f"jobs{nj}_at_best_process_cpu_s"] = round(cpus[nj][k][0], 3)
        res[f"jobs{nj}_at_best_chunk_thread_cpu_s"] = [round(c, 3) for c in cpus[nj][k][1]]
        res[f"jobs{nj}_median_cores_used"] = round(float(np.median(
            [c[0] / t for c, t in zip(cpus[nj], times[nj])])), 2)
    serial = np.median([sum(c[1]) for c in cpus[1]])
    slowest = np.median([max(c[1]) for c in cpus[2]])
    res["thread_cpu_split_speedup"] = round(float(serial / slowest), 2)
    res["speedup_best"] = round(res["jobs1_best_s"] / res["jobs2_best_s"], 2)
    res["speedup_median"] = round(res["jobs1_median_s"] / res["jobs2_median_s"], 2)
    res["load_end"] = load()
    return res


def dask_overhead(make_model, X, Y, w, repeat):
    import distributed   # optional: the caller turns its ImportError into a skip
    from structpred.solvers.dask_cluster import local_cluster, quiet_monitors
    model = make_model()
    model.initialize(X, Y)
    local = LocalOracle(model, X, Y, n_jobs=2)
    D0, L0 = local(w)
    local.close()
    out = {}
    for processes in (False, True):
        res = {"load_start": load()}
        t = time.perf_counter()
        with local_cluster(2, processes=processes, dashboard_address=":0") as cluster, \
                quiet_monitors(), distributed.Client(cluster, set_as_default=False) as client:
            res["cluster_start_s"] = round(time.perf_counter() - t, 2)
            oracle = DaskOracle(model, X, Y, client=client)
            res["partition_and_scatter_s"] = round(oracle.setup_seconds, 2)
            walls = []
            for _ in range(repeat):
                t = time.perf_counter()
                D, L = oracle(w)
                walls.append(time.perf_counter() - t)
            res["identical_to_local"] = bool((D != D0).nnz == 0 and np.array_equal(L, L0))
            res["pass_wall_median_s"] = round(float(np.median(walls)), 3)
            res["overhead_median_s"] = round(float(np.median(oracle.overheads)), 3)
            res["overhead_min_s"] = round(float(np.min(oracle.overheads)), 3)
            oracle.close()
        res["load_end"] = load()
        out["processes" if processes else "threads"] = res
        print(f"[dask processes={processes}] {res}", flush=True)
    return out


def plot(results, path_curves, path_bars, C, eps):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    suites = [(k, v) for k, v in results.items() if k in ("conll", "digits", "parsing") and v]
    colors = {"1-slack": "C0", "n-slack": "C1", "bcfw": "C2", "subgradient": "C3"}
    fig, axes = plt.subplots(1, len(suites), figsize=(5.5 * len(suites), 4.5), squeeze=False)
    for ax, (name, suite) in zip(axes[0], suites):
        D = suite["best_dual"]
        for alg, rec in suite["solvers"].items():
            if not isinstance(rec, dict) or "history" not in rec:
                continue
            pts = [(h["time"], h["primal"] - D) for h in rec["history"]
                   if h.get("primal") is not None]
            if pts:
                t, s = zip(*pts)
                ax.plot(t, np.maximum(s, 1e-12), "-o", ms=2, label=alg, color=colors.get(alg))
            gaps = [(h["time"], h["gap"]) for h in rec["history"]
                    if h.get("gap") is not None and alg == "bcfw"]
            if gaps:
                t, g = zip(*gaps)
                ax.plot(t, np.maximum(g, 1e-12), ":", color=colors.get(alg),
                        label="bcfw certified gap")
        ax.axhline(suite["C"] * suite["eps"], color="k", lw=0.8, ls="--",
                   label=f"C·eps = {suite['C'] * suite['eps']:g}")
        ax.set_yscale("log")
        ax.set_xscale("log")
        ax.set_xlabel("training time [s] (log)")
        ax.set_ylabel("P(w_t) - D*  (upper bound on suboptimality)")
        title = {"conll": "CoNLL-2000 (svm_hmm files)", "digits": "digits (multiclass)",
                 "parsing": "PTB sample parsing (<= 15 tokens)"}[name]
        ax.set_title(f"{title}, C={suite['C']:g}, eps={suite['eps']:g}")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path_curves, dpi=110)
    plt.close(fig)
    conll = results.get("conll")
    if not conll:
        return
    names, secs, loads = [], [], []
    for alg, rec in conll["solvers"].items():
        if isinstance(rec, dict) and "history" in rec:
            names.append(alg + ("\n(P - D* <= C·eps,\nno certificate)" if alg == "subgradient" else ""))
            secs.append(rec["time_to_eps_s"] if rec["time_to_eps_s"] is not None else np.nan)
            loads += [rec["load_start"], rec["load_end"]]
    ref = SVMHMM_SECONDS.get(float(conll["C"]))
    if ref is not None:
        names.append("svm_hmm 3.10\n(reference)")
        secs.append(ref)
    fig, ax = plt.subplots(figsize=(8.5, 4.5))
    bars = ax.bar(names, np.nan_to_num(secs, nan=0.0),
                  color=[colors.get(n.split("\n")[0], "0.5") for n in names])
    for b, s in zip(bars, secs):
        ax.text(b.get_x() + b.get_width() / 2, b.get_height(),
                "not reached" if not np.isfinite(s) else f"{s:.0f} s", ha="center", va="bottom")
    ax.set_ylabel("seconds to reach eps")
    ax.set_title(f"CoNLL-2000, C={conll['C']:g}, eps={conll['eps']:g}: time to a certified eps\n"
                 f"(shared 2-core machine, load average {min(loads):.1f}-{max(loads):.1f} "
                 "during our runs; svm_hmm: its published time)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path_bars, dpi=110)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--C", type=float, default=100.0)
    ap.add_argument("--eps", type=float, default=0.1)
    ap.add_argument("--n_jobs", type=int, default=2)
    ap.add_argument("--solvers", default="1-slack,bcfw,subgradient")
    ap.add_argument("--bcfw-block", type=int, default=16)
    ap.add_argument("--bcfw-gap-every", type=int, default=1)
    ap.add_argument("--bcfw-passes", type=int, default=200)
    ap.add_argument("--sg-block", type=int, default=64)
    ap.add_argument("--sg-passes", type=int, default=20)
    ap.add_argument("--nslack-iter", type=int, default=200)
    ap.add_argument("--digits-C", type=float, default=10.0)
    ap.add_argument("--digits-eps", type=float, default=1e-3)
    ap.add_argument("--skip-conll", action="store_true")
    ap.add_argument("--skip-digits", action="store_true")
    ap.add_argument("--skip-parsing", action="store_true")
    ap.add_argument("--parsing-len", type=int, default=15)
    ap.add_argument("--skip-speedup", action="store_true")
    ap.add_argument("--skip-dask", action="store_true")
    ap.add_argument("--compare-jobs", action="store_true",
                    help="also train 1-slack with n_jobs=1 and compare w with n_jobs=2")
    ap.add_argument("--quick", action="store_true", help="500 sentences, few passes")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--data-home", default=None)
    ap.add_argument("--verbose", type=int, default=0)
    ap.add_argument("--plot-only", action="store_true", help="redraw the PNGs from the JSON")
    ap.add_argument("--fresh", action="store_true",
                    help="start a new results file instead of updating the stages rerun")
    ap.add_argument("--out-dir", default=os.path.join(HERE, "results"))
    args = ap.parse_args(argv)

    os.makedirs(args.out_dir, exist_ok=True)
    if args.plot_only:
        with open(os.path.join(args.out_dir, "solvers_conll.json")) as fh:
            results = json.load(fh)
        for name in ("conll", "digits", "parsing"):
            suite = results.get(name)
            if suite and suite.get("best_dual") is not None:
                for rec in suite["solvers"].values():
                    if isinstance(rec, dict) and "history" in rec:
                        rec["time_to_eps_hindsight_s"] = time_to_eps_hindsight(
                            rec, suite["C"], suite["eps"], suite["best_dual"])
        with open(os.path.join(args.out_dir, "solvers_conll.json"), "w") as fh:
            json.dump(results, fh, indent=1, default=float)
        plot(results, os.path.join(args.out_dir, "solvers_conll.png"),
             os.path.join(args.out_dir, "solvers_conll_bars.png"), args.C, args.eps)
        return
    solvers = [s for s in args.solvers.split(",") if s]
    results = {"benchmark": "solvers_conll", "load_avg_start": load(), "cpus": os.cpu_count(),
               "args": vars(args)}
    out_json = os.path.join(args.out_dir, "solvers_conll.json")
    runs = []
    if os.path.exists(out_json) and not args.fresh:   # keep the stages not rerun now
        with open(out_json) as fh:
            previous = json.load(fh)
        runs = previous.get("runs", [previous.get("args")])
        previous.update(results)
        results = previous
    results["runs"] = runs + [dict(vars(args), load_avg_start=load())]

    def save():                 # after every stage, so that a long run keeps what it has
        with open(out_json, "w") as fh:
            json.dump(results, fh, indent=1, default=float)
    home = get_data_home(args.data_home)
    train_path = home / "conll2000" / "svmhmm" / "train.dat.gz"
    if not (args.skip_conll and args.skip_speedup and args.skip_dask):
        if not train_path.exists():
            sys.exit(f"{train_path} not found: set STRUCTPRED_DATA or --data-home")
        src = head_file(train_path, 500) if args.quick else train_path
        t = time.perf_counter()
        train = read_svmhmm(src)
        results["read_train_s"] = round(time.perf_counter() - t, 2)
        X, Y = train.X, train.Y
        results["conll_n"] = len(X)

        def make_seq():
            return SequenceLabeling(n_labels=train.max_tag, n_features=train.n_features)
    if args.quick:
        args.bcfw_passes, args.sg_passes, args.nslack_iter = 5, 3, 20
    w_ref = None
    if not args.skip_conll:
        earlier = results.get("conll") or {}
        suite, svms = solver_suite("conll", make_seq, X, Y, args.C, args.eps, solvers, args,
                                   previous=earlier)
        if "jobs1_vs_jobs2" in earlier and not args.compare_jobs:
            suite["jobs1_vs_jobs2"] = earlier["jobs1_vs_jobs2"]
        results["conll"] = suite
        save()
        w_ref = next(iter(svms.values())).w_
        if args.compare_jobs and "1-slack" in svms:
            svm1, rec1 = fit_solver(make_seq, X, Y, "1-slack", args.C, args.eps, 1, {}, 100000, 0)
            results["conll"]["jobs1_vs_jobs2"] = {
                "fit_s_jobs1": rec1["fit_s"], "fit_s_jobs2": suite["solvers"]["1-slack"]["fit_s"],
                "max_abs_w_difference": float(np.max(np.abs(svm1.w_ - svms["1-slack"].w_))),
                "timings_jobs1": rec1["timings"],
                "timings_jobs2": suite["solvers"]["1-slack"]["timings"]}
    if w_ref is None and not (args.skip_speedup and args.skip_dask):
        m = make_seq()
        m.initialize(X, Y)
        w_ref = np.random.default_rng(0).normal(scale=0.01, size=m.size_joint_feature)
    if not args.skip_speedup:
        results["oracle_speedup"] = oracle_speedup(make_seq, X, Y, w_ref, args.repeat)
        print("[speedup]", results["oracle_speedup"], flush=True)
        save()
    if not args.skip_dask:
        try:
            results["dask"] = dask_overhead(make_seq, X, Y, w_ref, args.repeat)
        except ImportError as exc:
            results["dask"] = {"skipped": str(exc)}
        save()
    if not args.skip_digits:
        Xd, yd = load_digits(args.data_home)
        results["digits"], _ = solver_suite("digits", Multiclass, Xd, yd, args.digits_C,
                                            args.digits_eps, ["1-slack", "n-slack", "bcfw",
                                                              "subgradient"], args)
        save()
    if not args.skip_parsing:
        ptb = load_ptb_sample(args.data_home)
        trees = [t for t in ptb["train"] if sentence_length(t) <= args.parsing_len]
        if args.quick:
            trees = trees[:100]
        Xp = [sentence(t) for t in trees]
        results["parsing"], _ = solver_suite(
            "parsing", lambda: ConstituencyParsing(horizontal=1, unary="merge"), Xp, trees,
            args.C, args.eps, ["1-slack", "n-slack", "bcfw", "subgradient"], args)
        results["parsing"]["n_train"] = len(trees)
    results["load_avg_end"] = load()
    save()
    plot(results, os.path.join(args.out_dir, "solvers_conll.png"),
         os.path.join(args.out_dir, "solvers_conll_bars.png"), args.C, args.eps)
    print("wrote", out_json, flush=True)


if __name__ == "__main__":
    main()
