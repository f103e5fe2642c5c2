"""The rich-get-richer loop and FairCo: the news simulation of Morik et al. (SIGIR 2020).

    python benchmarks/fairness_dynamic.py [--trials 100] [--lp-trials 20] [--out DIR]

1. Head start: for each head start h (the first h users all come from group 1's side), the
   share of trials whose rank-1 article after 3,000 users belongs to group 1, per ranker
   (Naive, D-ULTR, FairCo-exposure, FairCo-impact), with the clicks group 1 received during the
   head start under Naive.
2. At h = 10 (about 36 clicks for group 1): mean NDCG over the 3,000 users and final exposure / impact unfairness per ranker
   (100 trials; the online LP on ``--lp-trials`` of them), and the curves against the number of
   users.

Writes DIR/fairness_dynamic.md (appended to fairness.md by hand), fairness_dynamic.json and the
plots fairness_dynamic_curves.png, fairness_dynamic_headstart.png.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from structpred.apps.fairness.dynamic import NewsSetup, make_trial, simulate  # noqa: E402

RANKERS = ("naive", "d-ultr", "fairco-exposure", "fairco-impact")
HEADS = (0, 5, 10, 20, 30, 50, 100, 200)


def head_start_table(trials):
    out = {}
    for h in HEADS:
        setup = NewsSetup(head_start=h)
        top = {m: [] for m in RANKERS}
        hs_clicks = []
        for seed in range(trials):
            tr = make_trial(setup, seed)
            for m in RANKERS:
                r = simulate(tr, m, setup)
                top[m].append(int(tr.groups[r.final_order[0]] == 1))
                if m == "naive" and h > 0:
                    hs_clicks.append(_head_clicks(tr, setup, h))
        out[h] = {m: float(np.mean(v)) for m, v in top.items()}
        out[h]["head_start_clicks"] = float(np.mean(hs_clicks)) if hs_clicks else 0.0
    return out


def _head_clicks(tr, setup, h):
    """Clicks on group-1 articles during the head start under Naive (re-run on h users)."""
    from dataclasses import replace
    short = replace(tr, relevant=tr.relevant[:h], exam_u=tr.exam_u[:h])
    r = simulate(short, "naive", setup)
    return r.clicks[tr.groups == 1].sum()


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--lp-trials", type=int, default=20)
    ap.add_argument("--head", type=int, default=10)
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    args = ap.parse_args(argv)
    t_start = time.time()
    setup = NewsSetup(head_start=args.head)
    _ = simulate(make_trial(NewsSetup(n_users=5), 0), "fairco-exposure")   # compile first
    curves = {m: [] for m in RANKERS + ("lp",)}
    final = {m: [] for m in RANKERS + ("lp",)}
    t_sim = {m: 0.0 for m in RANKERS + ("lp",)}
    for seed in range(args.trials):
        tr = make_trial(setup, seed)
        for m in RANKERS + ("lp",):
            if m == "lp" and seed >= args.lp_trials:
                continue
            t0 = time.perf_counter()
            r = simulate(tr, m, setup, seed=seed)
            t_sim[m] += time.perf_counter() - t0
            curves[m].append(np.stack([np.cumsum(r.ndcg) / np.arange(1, r.ndcg.size + 1),
                                       r.unfair_exposure, r.unfair_impact]))
            T = r.ndcg.size
            est = [(r.exposure / T)[tr.groups == k].mean() / max((r.ips / T)[tr.groups == k].mean(), 1e-4)
                   for k in (0, 1)]
            final[m].append((r.ndcg.mean(), r.unfair_exposure[-1], r.unfair_impact[-1],
                             int(tr.groups[r.final_order[0]] == 1), abs(est[0] - est[1])))
    heads = head_start_table(args.trials)
    summary = {}
    for m, rows in final.items():
        a = np.array(rows, dtype=float)
        summary[m] = dict(trials=len(rows), ndcg=a[:, 0].mean(), ndcg_se=a[:, 0].std(ddof=1) / np.sqrt(len(a)),
                          unfair_exposure=a[:, 1].mean(), unfair_exposure_se=a[:, 1].std(ddof=1) / np.sqrt(len(a)),
                          unfair_impact=a[:, 2].mean(), unfair_impact_se=a[:, 2].std(ddof=1) / np.sqrt(len(a)),
                          top1_group1=a[:, 3].mean(), unfair_exposure_est=a[:, 4].mean(),
                          seconds_per_trial=t_sim[m] / len(rows))
    # paired comparison of FairCo with D-ULTR on the same trials
    fe = np.array(final["fairco-exposure"])
    du = np.array(final["d-ultr"])
    ratio_unfair = fe[:, 1].mean() / du[:, 1].mean()
    ndcg_rel = fe[:, 0].mean() / du[:, 0].mean() - 1
    os.makedirs(args.out, exist_ok=True)
    _plots(curves, heads, args.out)
    with open(os.path.join(args.out, "fairness_dynamic.json"), "w") as f:
        json.dump({"summary": summary, "head_start": {str(k): v for k, v in heads.items()},
                   "setup": vars(setup) | {"openness": list(setup.openness)}}, f, indent=1)
    lines = [f"## Dynamic learning to rank: the news simulation (Morik et al. SIGIR 2020)\n",
             f"Command: `python benchmarks/fairness_dynamic.py --trials {args.trials} --lp-trials "
             f"{args.lp_trials}`; {time.time() - t_start:.0f} s in all on a 2-core machine shared "
             "with other jobs (numba compile time excluded from the per-trial times).\n",
             f"Setup (every parameter; `NewsSetup`): {setup}. Item polarities uniform on [-1, 1] "
             "(the paper draws them from a media bias chart), two groups by the sign of the "
             "polarity, position exposure 1/log2(1+k), clicks = examined and relevant, FairCo "
             f"λ = {setup.lam} (the authors' KP), LP re-solved every {setup.lp_every} users.\n",
             f"### Head start h = {args.head} users from group 1's side ({heads[args.head]['head_start_clicks']:.1f} "
             "clicks on group 1 during the head start under Naive, mean over trials)\n",
             "| ranker | trials | mean NDCG | final exposure unfairness | final impact unfairness | rank 1 in group 1 | exposure unfairness vs IPS-estimated merit | s / trial |",
             "|---|---|---|---|---|---|---|---|"]
    for m, s in summary.items():
        lines.append(f"| {m} | {s['trials']} | {s['ndcg']:.4f} ± {s['ndcg_se']:.4f} | "
                     f"{s['unfair_exposure']:.4f} ± {s['unfair_exposure_se']:.4f} | "
                     f"{s['unfair_impact']:.4f} ± {s['unfair_impact_se']:.4f} | "
                     f"{s['top1_group1']:.2f} | {s['unfair_exposure_est']:.4f} | "
                     f"{s['seconds_per_trial']:.3f} |")
    lines += ["", f"FairCo-exposure / D-ULTR final exposure unfairness: **{ratio_unfair:.3f}** "
              f"(bar <= 0.10); NDCG of FairCo relative to D-ULTR: **{100 * ndcg_rel:+.2f}%** "
              "(bar within 2%).\n",
              "### Share of trials whose rank-1 article is in group 1 after 3,000 users, by head start\n",
              "| head start (users) | group-1 clicks in it (Naive) | " + " | ".join(RANKERS) + " |",
              "|---|---|" + "---|" * len(RANKERS)]
    for h, row in heads.items():
        lines.append(f"| {h} | {row['head_start_clicks']:.1f} | " +
                     " | ".join(f"{row[m]:.2f}" for m in RANKERS) + " |")
    lines += ["", "![curves](fairness_dynamic_curves.png)", "",
              "![head start](fairness_dynamic_headstart.png)", ""]
    with open(os.path.join(args.out, "fairness_dynamic.md"), "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


def _plots(curves, heads, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 3, figsize=(15, 4))
    titles = ("NDCG (running mean over users)", "exposure unfairness", "impact unfairness")
    for m, cs in curves.items():
        c = np.mean(cs, axis=0)
        for i in range(3):
            ax[i].plot(np.arange(1, c.shape[1] + 1), c[i], label=f"{m} ({len(cs)} trials)")
    for i in range(3):
        ax[i].set_title(titles[i])
        ax[i].set_xlabel("users")
    ax[1].set_yscale("log")
    ax[2].set_yscale("log")
    ax[0].legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "fairness_dynamic_curves.png"), dpi=90)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 4))
    hs = list(heads)
    for m in RANKERS:
        ax.plot(hs, [heads[h][m] for h in hs], marker="o", label=m)
    ax.axhline(0.5, ls=":", c="k", label="even")
    ax.set_xlabel("head start (users from group 1's side)")
    ax.set_ylabel("share of trials with rank 1 in group 1")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "fairness_dynamic_headstart.png"), dpi=90)
    plt.close(fig)


if __name__ == "__main__":
    main()
