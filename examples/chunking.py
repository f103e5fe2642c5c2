"""CoNLL-2000 chunking end to end with the Python API: features, training, chunk F1.

    python examples/chunking.py [--C 100] [--eps 0.1] [--n_jobs 2] [--data-home DIR]

Reads conll2000/{train,test}.txt.gz under the data home ($STRUCTPRED_DATA), extracts the
default features (word, POS, affixes, shape, ±2 window), trains a first-order
SequenceLabeling model with the 1-slack structural SVM (SVM-struct's C) and prints the
conlleval chunk precision / recall / F1 on the test set.
"""
import argparse
import time

from structpred import StructuredSVM
from structpred.datasets import load_conll2000
from structpred.metrics.chunking import chunk_scores
from structpred.tasks import SequenceLabeling
from structpred.tasks.sequence.features import ConllFeatures, encode_tags


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--C", type=float, default=100.0)
    ap.add_argument("--eps", type=float, default=0.1)
    ap.add_argument("--n_jobs", type=int, default=2)
    ap.add_argument("--data-home", default=None)
    ap.add_argument("--max-iter", type=int, default=10000)
    ap.add_argument("--verbose", type=int, default=1)
    args = ap.parse_args()

    train, test = load_conll2000(args.data_home)
    t0 = time.perf_counter()
    features = ConllFeatures(window=2)
    X_train = features.fit_transform(train)
    X_test = features.transform(test)
    Y_train, tags = encode_tags(train)
    Y_test, _ = encode_tags(test, tags=tags)
    print(f"{len(train)} train / {len(test)} test sentences, {features.n_features_} features, "
          f"{len(tags)} tags ({time.perf_counter() - t0:.1f} s to extract)")

    model = SequenceLabeling(n_labels=len(tags), transition_order=1)
    svm = StructuredSVM(model, C=args.C, eps=args.eps, algorithm="1-slack",
                        n_jobs=args.n_jobs, max_iter=args.max_iter, verbose=args.verbose)
    t0 = time.perf_counter()
    svm.fit(X_train, Y_train)
    print(f"trained in {time.perf_counter() - t0:.1f} s: {svm.n_iter_} iterations, "
          f"primal objective {svm.primal_objective_:.2f}")

    pred = svm.predict(X_test)

    def names(seq):
        return [tags[i] if i < len(tags) else "O" for i in seq]
    score = chunk_scores([names(y) for y in Y_test], [names(p) for p in pred])
    print(score)
    print(f"chunk F1: {score.f1:.2f}")


if __name__ == "__main__":
    main()
