"""CoNLL-2000 chunking end to end with the Python API: features, training, chunk F1, a figure.

    python examples/chunking.py [--C 100] [--eps 0.1] [--n-jobs 2] [--data-home DIR] [--out DIR]

Reads conll2000/{train,test}.txt.gz under the data home ($STRUCTPRED_DATA), extracts the
default features (word, POS, affixes, shape, ±2 window), trains a first-order
SequenceLabeling model on the tag strings with the default solver (n-slack dual coordinate
descent, SVM-struct's C), prints the conlleval chunk precision / recall / F1 on the test set,
and saves ``chunking_learning_curve.png`` in --out: primal and dual objective and test chunk
F1 after every pass, against training time (the learning curve read off ``history_``).
"""
import argparse
import os
import time

from structpred import StructuredSVM
from structpred.datasets import load_conll2000
from structpred.metrics.chunking import chunk_scores
from structpred.tasks import SequenceLabeling
from structpred.tasks.sequence.features import ConllFeatures


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--C", type=float, default=100.0)
    ap.add_argument("--eps", type=float, default=0.1)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--data-home", default=None)
    ap.add_argument("--max-iter", type=int, default=10000)
    ap.add_argument("--verbose", type=int, default=1)
    ap.add_argument("--out", default=".", help="folder for the figure (default: here)")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    train, test = load_conll2000(args.data_home)
    X_words = [[tok[:2] for tok in s] for s in train]          # (word, POS)
    Y_train = [[tok[2] for tok in s] for s in train]           # chunk tag strings
    features = ConllFeatures(window=2)
    X_train = features.fit_transform(X_words)
    X_test = features.transform([[tok[:2] for tok in s] for s in test])
    Y_test = [[tok[2] for tok in s] for s in test]
    print(f"{len(train)} train / {len(test)} test sentences, {features.n_features_} features "
          f"({time.perf_counter() - t0:.1f} s to read and extract)", flush=True)

    model = SequenceLabeling(transition_order=1)
    curve = []                                                  # (pass, test F1)

    def test_f1(iteration, w, record):                         # after every pass
        pred = model.batch_inference(model.make_batch(X_test), w)
        curve.append((record["time"], chunk_scores(Y_test, [list(p) for p in pred]).f1))
        return True

    svm = StructuredSVM(model, C=args.C, eps=args.eps, n_jobs=args.n_jobs,
                        max_iter=args.max_iter, verbose=args.verbose, callback=test_f1)
    t0 = time.perf_counter()
    svm.fit(X_train, Y_train)
    print(f"trained in {time.perf_counter() - t0:.1f} s: {svm.n_iter_} passes, "
          f"primal objective {svm.primal_objective_:.2f}, gap {svm.duality_gap_:.3g}", flush=True)

    pred = svm.predict(X_test)                                  # tag strings
    score = chunk_scores(Y_test, [list(p) for p in pred])
    print(score)
    print(f"chunk F1: {score.f1:.2f}")
    path = plot(svm.history_, curve, args.out)
    if path:
        print(f"figure: {path}")
    return score.f1


def plot(history, curve, out):
    """Primal / dual against time (left axis) and test F1 (right axis); the file's path."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no figure (pip install structpred[docs])")
        return None
    full = [h for h in history if h.get("primal") is not None]   # primal: full passes only
    dual = [h for h in history if h.get("dual") is not None]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot([h["time"] for h in full], [h["primal"] for h in full], "o", ms=8, label="primal (full passes)")
    ax.plot([h["time"] for h in dual], [h["dual"] for h in dual], "s-", label="dual")
    ax.set_xlabel("training time [s]")
    ax.set_ylabel("objective ½‖w‖² + (C/n) Σ ξ")
    ax.set_yscale("log")
    ax2 = ax.twinx()
    ax2.plot([t for t, _ in curve], [f for _, f in curve], "^-", color="tab:green", label="test chunk F1")
    ax2.set_ylabel("test chunk F1")
    lines = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(lines, [ln.get_label() for ln in lines], loc="center right")
    ax.set_title("CoNLL-2000 chunking, default solver (n-slack DCD)")
    fig.tight_layout()
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "chunking_learning_curve.png")
    fig.savefig(path, dpi=90)
    return path


if __name__ == "__main__":
    main()
