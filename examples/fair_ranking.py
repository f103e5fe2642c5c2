"""Fair ranking in five steps (structpred.apps.fairness); figures are saved to files.

    python examples/fair_ranking.py [--out DIR]

1. Exposure of a ranking and of a Plackett-Luce policy (the Ranking task's PL hooks).
2. The fair-ranking LP (Singh & Joachims KDD 2018): utility vs each fairness constraint, and
   rankings sampled through the Birkhoff-von Neumann decomposition.
3. FA*IR's ranked group fairness test and re-ranking (Zehlike et al. CIKM 2017).
4. The rich-get-richer loop (Morik et al. SIGIR 2020): Naive vs D-ULTR vs FairCo on the news
   simulation with a head start, 10 trials of 3,000 users.
5. A figure of the policy's rank marginals and of the loop (fair_ranking_*.png).
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from structpred.apps.fairness.dynamic import NewsSetup, make_trial, simulate  # noqa: E402
from structpred.apps.fairness.exposure import (exposure_from_P, exposure_from_ranking,  # noqa: E402
                                               fairness_gaps)
from structpred.apps.fairness.fair_star import fair_top_k, is_fair  # noqa: E402
from structpred.apps.fairness.lp import CONSTRAINTS, BvNSampler, fair_ranking_lp  # noqa: E402
from structpred.tasks.ranking import Ranking  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=".")
    ap.add_argument("--trials", type=int, default=10)
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    results = {}

    # 1. six documents, two groups; group 1 is slightly less relevant
    relevance = np.array([0.82, 0.80, 0.78, 0.76, 0.74, 0.72])
    groups = np.array([0, 0, 0, 1, 1, 1])
    order = np.argsort(-relevance)
    gaps = fairness_gaps(exposure_from_ranking(order), relevance, groups)
    print(f"sorted by relevance: exposure per group {np.round(gaps['exposure'], 3)}, "
          f"disparate treatment gap {gaps['disparate_treatment']:.3f}")
    task = Ranking(n_features=1)
    x = relevance[:, None]
    w = np.array([10.0])                    # PL scores 10 * relevance
    P_pl = task.marginals(x, w)             # exact rank marginals of the PL policy
    pl_gaps = fairness_gaps(exposure_from_P(P_pl), relevance, groups)
    print(f"Plackett-Luce policy (scores 10·u): disparate treatment gap "
          f"{pl_gaps['disparate_treatment']:.3f}; log-prob of the sorted order "
          f"{task.log_prob(x, order, w):.3f}")
    results["pl_gap"] = pl_gaps["disparate_treatment"]

    # 2. the LP under each constraint, and its sampler
    for con in (None,) + CONSTRAINTS:
        r = fair_ranking_lp(relevance, groups, con)
        print(f"LP {str(con):20s} utility {r.utility:.4f} price of fairness "
              f"{100 * r.price_of_fairness:5.2f}%  gap {r.gap:.1e}  ({r.status})")
    lp = fair_ranking_lp(relevance, groups, "disparate_treatment")
    sampler = BvNSampler(lp.P)
    print(f"BvN: {len(sampler.weights)} permutations (bound {(6 - 1) ** 2 + 1}); "
          f"three sampled rankings: {sampler.sample(3, random_state=0).tolist()}")
    results["lp"] = lp

    # 3. FA*IR: top 10 of 30 candidates, protected ones score lower
    rng = np.random.default_rng(0)
    scores = rng.random(30)
    protected = rng.random(30) < 0.4
    scores[protected] *= 0.7
    top = np.argsort(-scores)[:10]
    fair = fair_top_k(scores, protected, 10, p=0.4, alpha=0.1)
    print(f"FA*IR: protected ranks in the plain top-10 {np.flatnonzero(protected[top]) + 1} "
          f"(passes: {is_fair(protected[top], 0.4, 0.1)}), after re-ranking "
          f"{np.flatnonzero(protected[fair]) + 1} (passes: {is_fair(protected[fair], 0.4, 0.1)})")

    # 4. the rich-get-richer loop
    setup = NewsSetup(head_start=10, merit_users=20000)
    curves = {m: [] for m in ("naive", "d-ultr", "fairco-exposure")}
    top_group1 = {m: 0 for m in curves}
    for seed in range(args.trials):
        trial = make_trial(setup, seed)
        for m in curves:
            r = simulate(trial, m, setup)
            curves[m].append(r.unfair_exposure)
            top_group1[m] += int(trial.groups[r.final_order[0]] == 1)
    for m in curves:
        print(f"{m:16s} rank 1 in the head-start group in {top_group1[m]}/{args.trials} trials, "
              f"final exposure unfairness {np.mean([c[-1] for c in curves[m]]):.4f}")
    results["top_group1"] = top_group1

    # 5. figures
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 3, figsize=(12, 3.6))
    for a, (title, P) in zip(ax[:2], (("PL policy, scores 10·u", P_pl),
                                      ("LP, disparate treatment", lp.P))):
        a.imshow(P, cmap="viridis", vmin=0, vmax=1)
        a.set_title(title)
        a.set_xlabel("rank")
        a.set_ylabel("document (0-2 group 0, 3-5 group 1)")
    for m, c in curves.items():
        ax[2].plot(np.mean(c, axis=0), label=m)
    ax[2].set_yscale("log")
    ax[2].set_xlabel("users")
    ax[2].set_title("exposure unfairness (head start 10)")
    ax[2].legend()
    fig.tight_layout()
    path = os.path.join(args.out, "fair_ranking.png")
    fig.savefig(path, dpi=80)
    plt.close(fig)
    print(f"figure: {path}")
    results["figure"] = path
    return results


if __name__ == "__main__":
    main()
