"""SVM-rank and Propensity SVM-rank on LETOR 4.0 MQ2008 (QueryLevelNorm, 5 folds).

    STRUCTPRED_DATA=../shared/data python benchmarks/ranking_mq2008.py [--quick] [--out DIR]

1. Full information, 5 folds: structpred ``Ranking`` (1-slack, loss = swapped pairs, svm_rank
   ``-l 1``), C in {0.1, 1, 10, 100} chosen on vali NDCG@10; beside it an independent pairwise
   RankSVM (scikit-learn LinearSVC(loss="hinge", fit_intercept=False) on the within-query pair
   differences, C_sklearn = C/n, same grid and selection), LightGBM lambdarank (optional peer,
   default parameters, 100 trees) and svm_rank when SVM_RANK_LEARN (and SVM_RANK_CLASSIFY)
   name its binaries. Test NDCG@10 and MAP with LETOR's Eval-Score-4.0.pl conventions
   (structpred.metrics.ranking) and the training time of the chosen fit (best of 3).
2. Unbiased learning to rank on Fold1: clicks simulated from a weak logging ranker (SVM-rank on
   2 training queries) under examination (1/r)^eta, eta = 1, noise clicks 0.1; naive (cost 1)
   vs propensity-weighted (true propensities, and (1/r)^η̂ with η̂ fitted to swap-intervention
   estimates) vs full information, and LightGBM lambdarank with position-bias correction
   (``position`` in its Dataset) on the same logs; NDCG@10 against the number of sessions,
   3 seeds.
3. Estimated vs true propensities: swap interventions (WSDM 2017) and intervention
   harvesting over 3 logging rankers (WSDM 2019), ranks 1..10.

Writes DIR/ranking_mq2008.md, .json and ranking_mq2008_unbiased.png.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "examples"))

from structpred import StructuredSVM  # noqa: E402
from structpred.datasets.letor import load_mq2008, write_letor  # noqa: E402
from structpred.metrics.ranking import mean_average_precision, ndcg  # noqa: E402
from structpred.tasks.ranking import PropensityRanking, Ranking  # noqa: E402
from structpred.tasks.ranking.clicks import (PositionBasedClickModel, click_examples,  # noqa: E402
                                             estimate_propensities_harvest,
                                             estimate_propensities_swap, simulate_sessions,
                                             swap_intervention)
from unbiased_ltr import fit_best, logging_ranker  # noqa: E402

C_GRID = (0.1, 1.0, 10.0, 100.0)


def _best_of(k, fn):
    times, out = [], None
    for _ in range(k):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, min(times)


def _eval(S, data):
    return {"ndcg10": ndcg(data.y, S, 10), "map": mean_average_precision(data.y, S)}


def _pair_diffs(X, Y):
    D = []
    for x, g in zip(X, Y):
        i, j = np.nonzero(g[:, None] > g[None, :])
        D.append(x[i] - x[j])
    D = np.vstack(D)
    s = np.ones(D.shape[0])
    s[1::2] = -1.0
    return D * s[:, None], s


def structpred_rank(tr, va, te, eps):
    best = None
    for C in C_GRID:
        w = StructuredSVM(Ranking(), C=C, eps=eps).fit(tr.X, tr.y).w_
        v = ndcg(va.y, [x @ w for x in va.X], 10)
        if best is None or v > best[0]:
            best = (v, C)
    C = best[1]
    svm, t = _best_of(3, lambda: StructuredSVM(Ranking(), C=C, eps=eps).fit(tr.X, tr.y))
    return {**_eval([x @ svm.w_ for x in te.X], te), "C": C, "seconds": t,
            "iterations": svm.n_iter_, "primal": svm.primal_objective_}, svm.w_


def sklearn_rank(tr, va, te):
    from sklearn.svm import LinearSVC
    D, s = _pair_diffs(tr.X, tr.y)
    n = len(tr.X)

    def fit(C):
        return LinearSVC(loss="hinge", fit_intercept=False, C=C / n, tol=1e-5,
                         max_iter=200000).fit(D, s).coef_.ravel()
    best = None
    for C in C_GRID:
        w = fit(C)
        v = ndcg(va.y, [x @ w for x in va.X], 10)
        if best is None or v > best[0]:
            best = (v, C)
    C = best[1]
    w, t = _best_of(3, lambda: fit(C))
    return {**_eval([x @ w for x in te.X], te), "C": C, "seconds": t, "pairs": int(D.shape[0])}, w


def lightgbm_rank(tr, te, X=None, y=None, group=None, position=None):
    try:
        import lightgbm as lgb
    except ImportError:
        return None
    X = np.vstack(tr.X) if X is None else X
    y = np.concatenate(tr.y).astype(int) if y is None else y
    group = [x.shape[0] for x in tr.X] if group is None else group
    params = dict(objective="lambdarank", n_estimators=100, verbose=-1, num_threads=1)

    def fit():
        ds = lgb.Dataset(X, label=y, group=group, position=position)
        return lgb.train({k: v for k, v in params.items() if k != "n_estimators"}, ds,
                         num_boost_round=params["n_estimators"])
    booster, t = _best_of(1 if position is not None else 3, fit)
    return {**_eval([booster.predict(x) for x in te.X], te), "seconds": t}


def svm_rank_peer(tr, te, C):
    learn, classify = os.environ.get("SVM_RANK_LEARN"), os.environ.get("SVM_RANK_CLASSIFY")
    if not learn:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        write_letor(f"{tmp}/train.dat", tr.X, tr.y, tr.qids)
        write_letor(f"{tmp}/test.dat", te.X, te.y, te.qids)
        t0 = time.perf_counter()
        subprocess.run([learn, "-c", str(C), f"{tmp}/train.dat", f"{tmp}/model"], check=True,
                       stdout=subprocess.DEVNULL)
        out = {"seconds": time.perf_counter() - t0, "C": C}
        if classify:
            subprocess.run([classify, f"{tmp}/test.dat", f"{tmp}/model", f"{tmp}/pred"],
                           check=True, stdout=subprocess.DEVNULL)
            pred = np.loadtxt(f"{tmp}/pred")
            o = np.cumsum([0] + [x.shape[0] for x in te.X])
            out.update(_eval([pred[a:b] for a, b in zip(o[:-1], o[1:])], te))
        return out


def full_information(folds, eps):
    rows = []
    for k in folds:
        tr, va, te = (load_mq2008(k, s) for s in ("train", "vali", "test"))
        sp_res, _ = structpred_rank(tr, va, te, eps)
        sk_res, _ = sklearn_rank(tr, va, te)
        row = {"fold": k, "structpred": sp_res, "sklearn": sk_res,
               "lightgbm": lightgbm_rank(tr, te), "svm_rank": svm_rank_peer(tr, te, sp_res["C"])}
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def _lgb_click_data(log, X):
    """LightGBM rows from a click log: one group per session with a click, label = click,
    position = rank shown."""
    Xr, yr, group, pos = [], [], [], []
    for s in range(log.n_sessions):
        a, b = log.offsets[s], log.offsets[s + 1]
        c = log.click[a:b]
        if not c.any():
            continue
        Xr.append(X[log.query[s]][log.doc[a:b]])
        yr.append(c.astype(int))
        pos.append(log.position[a:b])
        group.append(b - a)
    return np.vstack(Xr), np.concatenate(yr), group, np.concatenate(pos)


def eta_from_estimates(est):
    """η̂ of (1/r)^η fitted by least squares on log p̂_r against log r (finite p̂ > 0)."""
    r = np.arange(1, len(est) + 1)
    ok = np.isfinite(est) & (est > 0)
    return float(-np.polyfit(np.log(r[ok]), np.log(est[ok]), 1)[0])


def unbiased(sessions_grid, seeds, eta, lgb_max_sessions):
    tr, va, te = (load_mq2008(1, s) for s in ("train", "vali", "test"))
    w_full, C_full, _ = fit_best(Ranking, tr.X, tr.y, va, grid=(0.01, 0.1, 1.0, 10.0))
    full = _eval([x @ w_full for x in te.X], te)
    cm = PositionBasedClickModel(eta=eta, epsilon_minus=0.1)
    max_m = max(x.shape[0] for x in tr.X)
    rows = []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        w_log = logging_ranker(tr, 2, rng)
        scores = [x @ w_log for x in tr.X]
        ks, clicked = swap_intervention(cm, tr.y, scores, 100000, 10, rng)
        eta_hat = eta_from_estimates(estimate_propensities_swap(ks, clicked, 10))
        for n in sessions_grid:
            log = simulate_sessions(cm, tr.y, [scores], n, np.random.default_rng(1000 * seed + n))
            row = {"seed": seed, "sessions": n, "eta_hat": eta_hat,
                   "logging": _eval([x @ w_log for x in te.X], te), "full": full}
            for name, prop in (("naive", None), ("propensity", cm.examination(max_m)),
                               ("propensity_est", (1.0 / np.arange(1, max_m + 1)) ** eta_hat)):
                Xc, Yc, n_clicks = click_examples(log, tr.X, prop)
                t0 = time.perf_counter()
                w, C, dt = fit_best(PropensityRanking, Xc, Yc, va, C_scale=len(Xc) / n_clicks)
                row[name] = {**_eval([x @ w for x in te.X], te), "C": C, "seconds": dt,
                             "clicks": n_clicks, "examples": len(Xc),
                             "grid_seconds": time.perf_counter() - t0}
            if n <= lgb_max_sessions:
                Xr, yr, g, pos = _lgb_click_data(log, tr.X)
                row["lightgbm_debiased"] = lightgbm_rank(tr, te, Xr, yr, g, pos)
            rows.append(row)
            print(json.dumps({k: (v if not isinstance(v, dict) else round(v.get("ndcg10", 0), 4))
                              for k, v in row.items()}), flush=True)
    return rows, {"C": C_full, **full}


def propensity_table(eta, n_sessions):
    tr = load_mq2008(1, "train")
    rng = np.random.default_rng(7)
    cm = PositionBasedClickModel(eta=eta, epsilon_minus=0.1)
    rankers = [[x @ logging_ranker(tr, 2, rng) for x in tr.X] for _ in range(3)]
    ks, clicked = swap_intervention(cm, tr.y, rankers[0], n_sessions, 10, rng)
    swap = estimate_propensities_swap(ks, clicked, 10)
    log = simulate_sessions(cm, tr.y, rankers, n_sessions, rng, cutoff=10)
    harvest = estimate_propensities_harvest(log, 10)
    return {"true": cm.examination(10).tolist(), "swap": swap.tolist(), "harvest": harvest.tolist(),
            "sessions": n_sessions}


def _plot(rows, full, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ns = sorted({r["sessions"] for r in rows})
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for key, label in (("naive", "naive SVM-rank (cost 1)"), ("propensity", "Propensity SVM-rank (true p)"),
                       ("propensity_est", "Propensity SVM-rank (η̂ from swaps)"),
                       ("lightgbm_debiased", "LightGBM lambdarank, position-debiased")):
        xs, m, sd = [], [], []
        for n in ns:
            v = [r[key]["ndcg10"] for r in rows if r["sessions"] == n and r.get(key)]
            if v:
                xs.append(n)
                m.append(np.mean(v))
                sd.append(np.std(v))
        if xs:
            ax.errorbar(xs, m, yerr=sd, marker="o", capsize=3, label=label)
    ax.axhline(full["ndcg10"], color="k", ls="--", label="full-information SVM-rank")
    ax.axhline(np.mean([r["logging"]["ndcg10"] for r in rows]), color="gray", ls=":",
               label="logging ranker (mean)")
    ax.set_xscale("log")
    ax.set_xlabel("simulated sessions (MQ2008 Fold1 train, eta = 1)")
    ax.set_ylabel("test NDCG@10 (LETOR convention)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _report(full_rows, unb_rows, full_ref, props, args, seconds):
    L = ["# SVM-rank and Propensity SVM-rank on MQ2008", "",
         f"Command: `python benchmarks/ranking_mq2008.py{' --quick' if args.quick else ''}`; "
         f"{platform.machine()}, {os.cpu_count()} cores **shared with other jobs** (timings: "
         f"ratios within this run only); {seconds:.0f} s in all.", "",
         "NDCG@10 and MAP with LETOR 4.0 Eval-Score-4.0.pl's conventions (a query without a "
         "relevant document scores 0, and so does a query with fewer than 10 documents for "
         "NDCG@10). C from {0.1, 1, 10, 100} on vali NDCG@10; times: the chosen fit, best of 3.",
         "", "## 1. Full information, 5 folds", "",
         "| fold | structpred NDCG@10 | MAP | C | s | sklearn pairwise NDCG@10 | MAP | C | s | "
         "LightGBM NDCG@10 | MAP | s | svm_rank s |", "|---" * 13 + "|"]
    for r in full_rows:
        sp_, sk, lg, sr = r["structpred"], r["sklearn"], r["lightgbm"], r["svm_rank"]
        L.append(f"| {r['fold']} | {sp_['ndcg10']:.4f} | {sp_['map']:.4f} | {sp_['C']:g} | "
                 f"{sp_['seconds']:.2f} | {sk['ndcg10']:.4f} | {sk['map']:.4f} | {sk['C']:g} | "
                 f"{sk['seconds']:.2f} | "
                 + (f"{lg['ndcg10']:.4f} | {lg['map']:.4f} | {lg['seconds']:.2f}" if lg else "- | - | -")
                 + (f" | {sr['seconds']:.2f} |" if sr else " | not run |"))
    mean = lambda k, m: np.mean([r[k][m] for r in full_rows if r[k]])  # noqa: E731
    L += ["", f"Mean over folds: structpred NDCG@10 {mean('structpred', 'ndcg10'):.4f}, MAP "
          f"{mean('structpred', 'map'):.4f}; scikit-learn pairwise {mean('sklearn', 'ndcg10'):.4f}, "
          f"{mean('sklearn', 'map'):.4f}"
          + (f"; LightGBM {mean('lightgbm', 'ndcg10'):.4f}, {mean('lightgbm', 'map'):.4f}"
             if full_rows[0]["lightgbm"] else "") + ".", "",
          "Published LETOR 4.0 RankSVM(-Struct) baseline on MQ2008: the figures could not be "
          "retrieved here (the LETOR 4.0 baselines page is not in the searchable store); compare "
          "the 5-fold means above with that page's MQ2008 table (same QueryLevelNorm files, same "
          "evaluation script conventions; LETOR selected C on vali MAP, here vali NDCG@10).",
          "", "svm_rank: not built (no public source mirror with its command-line mains was "
          "found; set SVM_RANK_LEARN / SVM_RANK_CLASSIFY to run it).", ""]
    L += ["## 2. Unbiased learning to rank (Fold1, eta = 1, noise 0.1)", "",
          f"Full-information SVM-rank: NDCG@10 {full_ref['ndcg10']:.4f} (C={full_ref['C']:g}).",
          "", "| sessions | logging | naive | propensity (true p) | propensity (η̂) | "
          "LightGBM debiased | clicks |", "|---" * 7 + "|"]
    for n in sorted({r["sessions"] for r in unb_rows}):
        rs = [r for r in unb_rows if r["sessions"] == n]
        def ms(key):
            v = [r[key]["ndcg10"] for r in rs if r.get(key)]
            return f"{np.mean(v):.4f} ± {np.std(v):.4f}" if v else "-"
        L.append(f"| {n} | {ms('logging')} | {ms('naive')} | {ms('propensity')} | "
                 f"{ms('propensity_est')} | {ms('lightgbm_debiased')} | "
                 f"{np.mean([r['naive']['clicks'] for r in rs]):.0f} |")
    nmax = max(r["sessions"] for r in unb_rows)
    top = [r for r in unb_rows if r["sessions"] == nmax]
    nv = np.array([r["naive"]["ndcg10"] for r in top])
    pv = np.array([r["propensity"]["ndcg10"] for r in top])
    gap = full_ref["ndcg10"] - nv
    L += ["", f"At {nmax} sessions, per seed: naive {np.round(nv, 4).tolist()}, propensity "
          f"{np.round(pv, 4).tolist()}; propensity - naive = {np.round(pv - nv, 4).tolist()} "
          f"(mean {np.mean(pv - nv):.4f}, seed std of naive {np.std(nv):.4f}, of propensity "
          f"{np.std(pv):.4f}); share of the naive-to-full gap closed: "
          f"{np.round((pv - nv) / np.where(gap > 0, gap, np.nan), 2).tolist()}. η̂ per seed: "
          f"{[round(r['eta_hat'], 3) for r in top]}. "
          "Training time of the chosen propensity fit: "
          f"{np.mean([r['propensity']['seconds'] for r in top]):.2f} s on "
          f"{np.mean([r['propensity']['examples'] for r in top]):.0f} merged click examples"
          + (f"; LightGBM debiased: {np.mean([r['lightgbm_debiased']['seconds'] for r in top if r.get('lightgbm_debiased')]):.2f} s"
             if any(r.get("lightgbm_debiased") for r in top) else "") + ".", "",
          "![NDCG@10 against sessions](ranking_mq2008_unbiased.png)", "",
          f"## 3. Estimated vs true propensities ({props['sessions']} sessions each)", "",
          "| rank | true (1/r) | swap interventions | intervention harvesting (3 rankers) |",
          "|---|---|---|---|"]
    for k in range(10):
        L.append(f"| {k + 1} | {props['true'][k]:.3f} | {props['swap'][k]:.3f} | "
                 f"{props['harvest'][k]:.3f} |")
    return "\n".join(L) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--eps", type=float, default=0.01)
    ap.add_argument("--report-only", action="store_true",
                    help="re-render the .md and .png from DIR/ranking_mq2008.json")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    if args.report_only:
        with open(os.path.join(args.out, "ranking_mq2008.json")) as fh:
            saved = json.load(fh)
        _plot(saved["unbiased"], saved["full_ref"], os.path.join(args.out, "ranking_mq2008_unbiased.png"))
        text = _report(saved["full"], saved["unbiased"], saved["full_ref"], saved["propensities"],
                       args, saved.get("seconds", 0.0))
        with open(os.path.join(args.out, "ranking_mq2008.md"), "w") as fh:
            fh.write(text)
        print(text)
        return
    folds = (1,) if args.quick else (1, 2, 3, 4, 5)
    grid = (1000, 10000) if args.quick else (1000, 3000, 10000, 30000, 100000)
    seeds = 1 if args.quick else 3
    full_rows = full_information(folds, args.eps)
    unb_rows, full_ref = unbiased(grid, seeds, 1.0, lgb_max_sessions=30000)
    props = propensity_table(1.0, 20000 if args.quick else 200000)
    os.makedirs(args.out, exist_ok=True)
    _plot(unb_rows, full_ref, os.path.join(args.out, "ranking_mq2008_unbiased.png"))
    text = _report(full_rows, unb_rows, full_ref, props, args, time.perf_counter() - t0)
    with open(os.path.join(args.out, "ranking_mq2008.md"), "w") as fh:
        fh.write(text)
    with open(os.path.join(args.out, "ranking_mq2008.json"), "w") as fh:
        json.dump({"full": full_rows, "unbiased": unb_rows, "full_ref": full_ref,
                   "propensities": props, "seconds": time.perf_counter() - t0}, fh, indent=1)
    print(text)


if __name__ == "__main__":
    main()
