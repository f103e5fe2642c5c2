"""Diversified top-5 ranking on AMBIENT with SVM-div (Yue & Joachims 2008).

Trains structpred's DiversifiedRanker on 3 of 4 folds of AMBIENT's 44 ambiguous queries
(C chosen by inner cross-validation on the training folds), ranks the held-out queries, and
prints the weighted subtopic loss of the model next to the baselines (lower is better).
Then shows the top 5 of one query. Needs the AMBIENT files under $STRUCTPRED_DATA.

    STRUCTPRED_DATA=/path/to/data python examples/diversified_ranking.py [--quick]
"""
import sys

from structpred import DiversifiedRanker
from structpred.datasets import load_ambient
from structpred.apps.diversity.evaluate import cross_validate, format_table


def main(quick: bool = False) -> None:
    data = load_ambient()
    params = {"C": 1.0} if quick else {"C_grid": (0.1, 1.0, 10.0), "inner_folds": 3}
    params["verbose"] = 1       # progress: one line per pass of every fit (a fold takes ~15 s)
    res = cross_validate(data, k=5, n_folds=4, seed=0, ranker_params=params, log=print)
    print()
    print(format_table(res, "AMBIENT, 4-fold CV over queries, K=5: weighted subtopic loss"))
    print(f"\nmean training time per fold: {sum(res['fit_time']) / 4:.1f} s; C per fold: {res['C']}")

    # a ranker trained on all but the first query, applied to it
    ranker = DiversifiedRanker(k=5, C=res["C"][0]).fit(
        data.queries[1:], data.documents[1:], data.topics[1:], data.ranks[1:])
    top = ranker.rank(data.queries[0], data.documents[0], data.ranks[0])
    print(f"\nquery {data.queries[0]!r}: diversified top 5 (engine rank, title)")
    for i in top:
        print(f"  {data.ranks[0][i]:>3}  {data.documents[0][i]['title']}")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
