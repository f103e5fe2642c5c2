"""Unbiased learning to rank from simulated clicks on MQ2008 Fold1 (Joachims et al., WSDM 2017).

A weak logging ranker (SVM-rank on 2 training queries) ranks every training query; users
click under a position-based model (examination (1/r)^eta, noise clicks); each click becomes a
Propensity SVM-rank example. The naive ranker weights every click 1, the propensity-weighted
one by 1/p_rank; both are compared with the full-information SVM-rank trained on the true
grades. C is chosen on Fold1/vali NDCG@10 for each.

    STRUCTPRED_DATA=../shared/data python examples/unbiased_ltr.py [--sessions 100000] [--eta 1]
    STRUCTPRED_DATA=../shared/data python examples/unbiased_ltr.py --curve 1000,4000,16000,64000 [--out DIR]

``--curve`` repeats the experiment for each number of logged sessions and saves
``unbiased_ltr_ndcg.png`` in --out: test NDCG@10 of the naive and the propensity-weighted
ranker against the number of sessions, with the logging and the full-information rankers as
lines (a picture of what the table says: only the weighted ranker approaches full information).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from structpred import StructuredSVM
from structpred.datasets.letor import load_mq2008
from structpred.metrics.ranking import average_relevant_rank, ndcg
from structpred.tasks.ranking import PropensityRanking, Ranking
from structpred.tasks.ranking.clicks import (PositionBasedClickModel, click_examples,
                                             simulate_sessions)

C_GRID = (0.01, 0.1, 1.0, 10.0)


def evaluate(w, data):
    S = [x @ w for x in data.X]
    return {"ndcg10": ndcg(data.y, S, 10), "avg_rel_rank": average_relevant_rank(data.y, S)}


def fit_best(make_model, X, Y, vali, C_scale=1.0, grid=C_GRID, eps=0.01):
    """Fit on every C of the grid (C times C_scale in the task's units); keep the best vali
    NDCG@10. Returns (w, C, seconds of the chosen fit)."""
    best = None
    for C in grid:
        t0 = time.perf_counter()
        svm = StructuredSVM(make_model(), C=C * C_scale, eps=eps).fit(X, Y)
        dt = time.perf_counter() - t0
        v = evaluate(svm.w_, vali)["ndcg10"]
        if best is None or v > best[0]:
            best = (v, svm.w_, C, dt)
    return best[1], best[2], best[3]


def logging_ranker(train, n_queries, rng):
    """The weak logging policy: SVM-rank (C=1) on a few random training queries with pairs."""
    usable = [q for q, g in enumerate(train.y) if np.unique(g).size > 1]
    pick = rng.choice(usable, size=n_queries, replace=False)
    svm = StructuredSVM(Ranking(), C=1.0, eps=0.01).fit([train.X[q] for q in pick],
                                                        [train.y[q] for q in pick])
    return svm.w_


def run(train, vali, test, *, seed=0, sessions=20000, eta=1.0, log_queries=2,
        epsilon_minus=0.1, clip=None, propensities=None, w_full=None):
    """One seed of the experiment; returns a dict of test metrics per ranker."""
    rng = np.random.default_rng(seed)
    w_log = logging_ranker(train, log_queries, rng)
    scores = [[x @ w_log for x in train.X]]
    cm = PositionBasedClickModel(eta=eta, epsilon_minus=epsilon_minus)
    log = simulate_sessions(cm, train.y, scores, sessions, rng)
    out = {"logging": evaluate(w_log, test)}
    max_m = max(x.shape[0] for x in train.X)
    p = cm.examination(max_m) if propensities is None else propensities
    for name, prop in (("naive", None), ("propensity", p)):
        Xc, Yc, n_clicks = click_examples(log, train.X, prop, clip=clip)
        w, C, dt = fit_best(PropensityRanking, Xc, Yc, vali, C_scale=len(Xc) / n_clicks)
        out[name] = {**evaluate(w, test), "C": C, "seconds": dt, "clicks": n_clicks,
                     "examples": len(Xc)}
    if w_full is None:
        w_full, C, _ = fit_best(Ranking, train.X, train.y, vali)
    out["full"] = evaluate(w_full, test)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=100000)
    ap.add_argument("--eta", type=float, default=1.0)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--data_home", "--data-home", default=None)
    ap.add_argument("--curve", default=None,
                    help="comma-separated numbers of sessions: draw NDCG@10 against them")
    ap.add_argument("--out", default=".", help="folder for the --curve figure (default: here)")
    args = ap.parse_args(argv)
    train, vali, test = (load_mq2008(1, s, data_home=args.data_home) for s in ("train", "vali", "test"))
    t0 = time.perf_counter()
    w_full, C_full, _ = fit_best(Ranking, train.X, train.y, vali)
    print(f"full-information SVM-rank: C={C_full} ({time.perf_counter() - t0:.1f} s)", flush=True)
    if args.curve:
        return curve([int(n) for n in args.curve.split(",")], train, vali, test, args.eta,
                     w_full, args.out)
    print(f"MQ2008 Fold1: {len(train)} train queries; {args.sessions} sessions, eta={args.eta}")
    print(f"{'seed':>4} {'ranker':<11} {'NDCG@10':>8} {'avg rel rank':>13}")
    for seed in range(args.seeds):
        res = run(train, vali, test, seed=seed, sessions=args.sessions, eta=args.eta, w_full=w_full)
        for name in ("logging", "naive", "propensity", "full"):
            r = res[name]
            print(f"{seed:>4} {name:<11} {r['ndcg10']:>8.4f} {r['avg_rel_rank']:>13.2f}")


def curve(sessions, train, vali, test, eta, w_full, out):
    """NDCG@10 against the number of logged sessions (one seed); saves the figure."""
    rows = []
    for n in sessions:
        t0 = time.perf_counter()
        res = run(train, vali, test, seed=0, sessions=n, eta=eta, w_full=w_full)
        rows.append((n, res))
        print(f"{n:>7} sessions: naive {res['naive']['ndcg10']:.4f}, propensity "
              f"{res['propensity']['ndcg10']:.4f}, full {res['full']['ndcg10']:.4f} "
              f"({time.perf_counter() - t0:.1f} s)", flush=True)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no figure")
        return rows
    import os
    fig, ax = plt.subplots(figsize=(7, 4))
    ns = [n for n, _ in rows]
    for name, style in (("naive", "o-"), ("propensity", "s-")):
        ax.plot(ns, [r[name]["ndcg10"] for _, r in rows], style, label=f"{name} (clicks)")
    ax.axhline(rows[0][1]["full"]["ndcg10"], color="k", ls="--", label="full information")
    ax.axhline(rows[0][1]["logging"]["ndcg10"], color="grey", ls=":", label="logging ranker")
    ax.set_xscale("log")
    ax.set_xlabel("logged click sessions")
    ax.set_ylabel("test NDCG@10 (MQ2008 Fold1)")
    ax.set_title(f"Unbiased learning to rank from simulated clicks (eta={eta:g})")
    ax.legend(loc="lower right")
    fig.tight_layout()
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "unbiased_ltr_ndcg.png")
    fig.savefig(path, dpi=90)
    print(f"figure: {path}")
    return rows


if __name__ == "__main__":
    main()
