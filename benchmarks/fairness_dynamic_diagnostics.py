"""Which error dominates FairCo's merit estimate in the news simulation, and what lowers it.

    nice -n 15 python benchmarks/fairness_dynamic_diagnostics.py [--trials 10] [--users 3000,12000]

On click logs of the uniform news setup (h = 20; seeds 500.. , not the benchmark's 0-99), with
two ranking policies fixed in advance of the estimate (so every estimator reads the same log):
``fairco`` = FairCo's ranking with the true merit in score and error term (the rankings FairCo
converges to), ``random`` = a uniformly random permutation per user (exploration at its
largest). Per log, the group-merit error |R̂(G1)/R(G1) - R̂(G0)/R(G0)| (what FairCo's final
unfairness follows) and its signed mean (the bias), and the mean relative error per item, of:
``floor``: the per-stratum mean of the relevances of the users who came, had every relevance
been seen (no examination noise; stratified, population weights); ``stratified-mle``; ``item
model``: one logistic model per item of the user features (Legendre polynomials of polarity and
openness, degrees (4, 2)), position-based likelihood, averaged over the population; ``pooled
(6, 2)`` / ``pooled (8, 2)``: the pooled model of structpred/apps/fairness/pooled.py.
Writes results/fairness_dynamic_diagnostics.md.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace

import numpy as np
from scipy.special import expit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from structpred.apps.fairness.dynamic import (NewsSetup, estimate_merit,  # noqa: E402
                                              make_trial, merit_from_log)
from structpred.apps.fairness.pooled import (fit_pooled, pair_features,  # noqa: E402
                                             population_grid, pooled_merit)


def policy_log(tr, policy, rng, lam=0.01):
    """Ranks (T, n) and clicks of one policy on the trial's users and examination draws."""
    T, n = tr.relevant.shape
    v, g, R = tr.v, tr.groups, tr.merit
    gm = np.array([R[g == k].mean() for k in (0, 1)])
    cum = np.zeros(n)
    ranks = np.zeros((T, n), dtype=np.int64)
    for t in range(T):
        if policy == "random":
            order = rng.permutation(n)
        else:
            sc = R.copy()
            if t > 0:
                ratio = np.array([cum[g == k].mean() / t / gm[k] for k in (0, 1)])
                sc += lam * t * (ratio.max() - ratio[g])
            order = np.argsort(-sc, kind="mergesort")
        ranks[t, order] = np.arange(n)
        cum += v[ranks[t]]
    clicked = tr.relevant & (tr.exam_u < v[ranks])
    return ranks, clicked


def item_model(tr, ranks, clicked, setup, degree=(4, 2)):
    """One logistic model per item of the user features (polarity, openness), fitted by the
    position-based likelihood, averaged over the population grid."""
    X = pair_features(2 * tr.user_polarity, tr.user_openness, setup.openness, degree)
    P, O, W = population_grid(setup)
    Xp = pair_features(2 * P, O, setup.openness, degree)
    return np.array([W @ expit(Xp @ fit_pooled(X, tr.v[ranks[:, d]], clicked[:, d]))
                     for d in range(ranks.shape[1])])


def floor(tr):
    C, n = tr.cell_weight.size, tr.polarity.size
    S = np.zeros((C, n))
    np.add.at(S, tr.user_cell, tr.relevant.astype(float))
    return estimate_merit(S, np.bincount(tr.user_cell, minlength=C), tr.cell_weight)


def errors(est, tr):
    e = [est[tr.groups == k].mean() / tr.group_merit[k] - 1 for k in (0, 1)]
    return e[1] - e[0], float(np.mean(np.abs(est / tr.merit - 1)))


ESTIMATES = {
    "floor (all relevances seen)": lambda tr, r, c, s: floor(tr),
    "stratified-mle": lambda tr, r, c, s: merit_from_log(c, r, tr.v, "stratified-mle",
                                                         tr.user_cell, tr.cell_weight),
    "item model (4, 2)": lambda tr, r, c, s: item_model(tr, r, c, s),
    "pooled (6, 2)": lambda tr, r, c, s: pooled_merit(c, r, tr.v, tr.polarity, tr.user_polarity,
                                                      tr.user_openness, s)[0],
    "pooled (8, 2)": lambda tr, r, c, s: pooled_merit(c, r, tr.v, tr.polarity, tr.user_polarity,
                                                      tr.user_openness, s, degree=(8, 2))[0],
}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--users", default="3000,12000")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    args = ap.parse_args(argv)
    t0 = time.time()
    L = ["## Where FairCo's merit error comes from (news simulation, uniform items, h = 20)\n",
         f"Command: `nice -n 15 python benchmarks/fairness_dynamic_diagnostics.py --trials "
         f"{args.trials} --users {args.users}` (seeds 500-{499 + args.trials}); see the script's "
         "docstring for the policies and estimators. Group-merit error = |R̂(G1)/R(G1) - "
         "R̂(G0)/R(G0)| (mean over trials), bias = its signed mean, item error = mean "
         "|R̂(d)/R(d) - 1|.\n",
         "| users | policy | estimate | group-merit error | bias | item error |",
         "|---|---|---|---|---|---|"]
    for T in (int(u) for u in args.users.split(",")):
        setup = replace(NewsSetup(), head_start=20, n_users=T)
        for policy in ("fairco", "random"):
            res = {k: [] for k in ESTIMATES}
            for s in range(500, 500 + args.trials):
                tr = make_trial(setup, s)
                ranks, clicked = policy_log(tr, policy, np.random.default_rng(s))
                for k, f in ESTIMATES.items():
                    res[k].append(errors(f(tr, ranks, clicked, setup), tr))
            for k, v in res.items():
                a = np.array(v)
                L.append(f"| {T:,} | {policy} | {k} | {np.abs(a[:, 0]).mean():.4f} | "
                         f"{a[:, 0].mean():+.4f} | {a[:, 1].mean():.4f} |")
            print("\n".join(L[-len(res):]), flush=True)
    L.append(f"\n{time.time() - t0:.0f} s (loaded 2-core machine).\n")
    with open(os.path.join(args.out, "fairness_dynamic_diagnostics.md"), "w") as f:
        f.write("\n".join(L))


if __name__ == "__main__":
    main()
