"""Write a seeded synthetic LETOR file (svm_rank format) for the ranking speed benchmark.

    python benchmarks/make_synthetic_letor.py OUT [--queries 5000] [--docs 100]
                                              [--features 46] [--seed 0]

Each query has ``docs`` documents with ``features`` values in [0, 1] (6 decimals, as in
LETOR's QueryLevelNorm files), every feature listed; grades 0/1/2 from a noisy linear score
(w ~ N(0, 1)), so the pairs are neither all consistent nor random. 5,000 x 100 x 46 gives a
file of about 230 MB and 11M preference pairs. The file is not committed.
"""
from __future__ import annotations

import argparse

import numpy as np


def write_synthetic(path, n_queries=5000, n_docs=100, n_features=46, seed=0):
    """Write the file; grade = digitize(x·w + noise, query quantiles 50% / 85%)."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=n_features)
    fmt = " ".join(f"{j + 1}:%.6f" for j in range(n_features))
    with open(path, "w", encoding="ascii") as fh:
        for q in range(1, n_queries + 1):
            X = np.round(rng.random((n_docs, n_features)), 6)
            s = X @ w + rng.normal(scale=1.0, size=n_docs)
            cuts = np.quantile(s, [0.5, 0.85])
            g = np.digitize(s, cuts)
            lines = [f"{g[i]} qid:{q} " + fmt % tuple(X[i]) + f" #doc{i}\n" for i in range(n_docs)]
            fh.write("".join(lines))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--queries", type=int, default=5000)
    p.add_argument("--docs", type=int, default=100)
    p.add_argument("--features", type=int, default=46)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    write_synthetic(a.out, a.queries, a.docs, a.features, a.seed)


if __name__ == "__main__":
    main()
