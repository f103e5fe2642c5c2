"""Scene multi-label (Boutell et al. 2004; official 1,211 / 1,196 split): MultiLabel max-margin
vs CRF (GibbsPolicy), independent labels vs a Chow-Liu tree, beside scikit-learn one-vs-rest.

    STRUCTPRED_DATA=../shared/data python benchmarks/scene_multilabel.py [--quick] [--out DIR] [--render]

Metric: test Hamming loss summed over the 6 labels, averaged over test images, at the MAP
prediction and, for the probabilistic models, in expectation under the policy
(E_{y'~π(·|x)} Σ_l 1[y'_l ≠ y_l] = Σ_l P(y'_l ≠ y_l), exact from the marginals).

Protocol: C is chosen on a held-out 25% of train (seed 0) by held-out MAP Hamming loss, over
one grid in scikit-learn's units C_sk ∈ C_GRID for every model (structpred's C = C_sk × n, n
the number of training images, so the per-example weight is the same when refitting on all of
train); the chosen model is refitted on the whole train set and evaluated once on test. The
CRF is also reported at the C chosen by held-out *expected* Hamming loss. The features are used
as stored (colour moments already in [0, 1], as in POEM's copy of the data); structpred's
models have a penalised per-label bias (x̃ = (x, 1)); scikit-learn's fit their unpenalised
intercept (LogisticRegression, lbfgs) or liblinear's penalised one (LinearSVC), at their
defaults otherwise. Max-margin: the default solver (n-slack dual coordinate descent) with
eps = 0.01. CRF: L-BFGS, tol 1e-5. Published anchor: POEM's Table 2 (Swaminathan & Joachims
2015) gives 0.659 for its CRF skyline on Scene (per-label logistic regression on the full
supervised train set; see the notes in the output on MAP vs expected).

Writes DIR/scene_multilabel.md and DIR/scene_multilabel.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from structpred import GibbsPolicy, StructuredSVM  # noqa: E402
from structpred.datasets import load_scene  # noqa: E402
from structpred.tasks import MultiLabel  # noqa: E402

C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
EPS = 0.01


def hamming(Y, Y_hat) -> float:
    return float((np.asarray(Y_hat) != Y).sum(axis=1).mean())


def expected_hamming(Y, P) -> float:
    """Mean over examples of Σ_l P(y'_l ≠ y_l) for label-1 probabilities P."""
    return float(np.where(Y == 1, 1.0 - P, P).sum(axis=1).mean())


# ------------------------------------------------------------------------------ the models
def fit_ssvm(X, Y, c_sk, edges):
    return StructuredSVM(MultiLabel(edges=edges), C=c_sk * len(X), eps=EPS).fit(X, Y)


def fit_crf(X, Y, c_sk, edges):
    return GibbsPolicy(MultiLabel(edges=edges), C=c_sk * len(X)).fit(X, Y)


def eval_structpred(est, X, Y):
    out = {"map": hamming(Y, est.predict(X))}
    model = est.model
    means, _ = model.batch_expected_loss(model.make_batch(X, Y), est.w_)
    out["expected"] = float(means.mean())    # Gibbs policy of w at temperature 1
    return out


class OneVsRest:
    """scikit-learn's binary classifier per label (what OneVsRestClassifier does)."""

    def __init__(self, make):
        self.make = make

    def fit(self, X, Y):
        self.models = [self.make().fit(X, Y[:, l]) for l in range(Y.shape[1])]
        return self

    def predict(self, X):
        return np.column_stack([m.predict(X) for m in self.models])

    def proba(self, X):
        return np.column_stack([m.predict_proba(X)[:, 1] for m in self.models])


def fit_logreg(X, Y, c_sk, edges=None):
    from sklearn.linear_model import LogisticRegression
    return OneVsRest(lambda: LogisticRegression(C=c_sk, max_iter=10000)).fit(X, Y)


def fit_linearsvc(X, Y, c_sk, edges=None):
    from sklearn.svm import LinearSVC
    return OneVsRest(lambda: LinearSVC(C=c_sk, max_iter=100000)).fit(X, Y)


def eval_sklearn(est, X, Y):
    out = {"map": hamming(Y, est.predict(X))}
    if hasattr(est.models[0], "predict_proba"):
        out["expected"] = expected_hamming(Y, est.proba(X))
    return out


MODELS = {
    # name: (fit, evaluate, edges)
    "MultiLabel max-margin, independent": (fit_ssvm, eval_structpred, None),
    "MultiLabel max-margin, Chow-Liu tree": (fit_ssvm, eval_structpred, "chow-liu"),
    "MultiLabel CRF (GibbsPolicy), independent": (fit_crf, eval_structpred, None),
    "MultiLabel CRF (GibbsPolicy), Chow-Liu tree": (fit_crf, eval_structpred, "chow-liu"),
    "sklearn one-vs-rest LogisticRegression": (fit_logreg, eval_sklearn, None),
    "sklearn one-vs-rest LinearSVC": (fit_linearsvc, eval_sklearn, None),
}


def run(quick=False, seed=0):
    X, Y, Xt, Yt = load_scene()
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(X))
    n_val = len(X) // 4
    val, fit = perm[:n_val], perm[n_val:]
    grid = C_GRID[2:5] if quick else C_GRID
    rows = []
    for name, (fit_fn, eval_fn, edges) in MODELS.items():
        held = []
        for c in grid:
            t0 = time.perf_counter()
            est = fit_fn(X[fit], Y[fit], c, edges)
            score = eval_fn(est, X[val], Y[val])
            held.append({"C_sk": c, **score, "seconds": time.perf_counter() - t0})
            print(f"{name:48s} C_sk={c:<6g} held-out {score}", flush=True)
        choices = [("map", min(held, key=lambda h: h["map"])["C_sk"])]
        if name.startswith("MultiLabel CRF") or "LogisticRegression" in name:
            choices.append(("expected", min(held, key=lambda h: h["expected"])["C_sk"]))
        choices.append(("default", 1.0))   # scikit-learn's default C, for every model
        done = {}
        for how, c in choices:
            if c not in done:
                t0 = time.perf_counter()
                est = fit_fn(X, Y, c, edges)
                seconds = time.perf_counter() - t0
                test = eval_fn(est, Xt, Yt)
                extra = {}
                if isinstance(est, (StructuredSVM, GibbsPolicy)):
                    extra = {"C": c * len(X), "edges": est.model.edges_.tolist(),
                             "n_iter": est.n_iter_}
                done[c] = {"test": test, "fit_seconds": seconds, **extra}
            rows.append({"model": name, "chosen_by": how, "C_sk": c, **done[c], "held_out": held})
            print(f"{name:48s} [{how}] C_sk={c:g} test {done[c]['test']}", flush=True)
    return {"rows": rows, "n_train": len(X), "n_test": len(Xt), "n_val": n_val,
            "n_fit": len(fit), "grid": list(grid), "seed": seed, "eps": EPS}


def write_markdown(result, path, elapsed):
    rows = result["rows"]
    lines = [
        "# Scene multi-label: max-margin vs CRF, independent vs Chow-Liu tree, vs scikit-learn",
        "",
        "`STRUCTPRED_DATA=../shared/data python benchmarks/scene_multilabel.py` "
        f"({elapsed / 60:.1f} min, {platform.python_version()}, numba kernels compiled before "
        "timing; a 2-core machine shared with 7 other jobs, so the seconds are noisy).",
        "",
        f"Scene, official split: {result['n_train']} train / {result['n_test']} test images, 294 "
        "features (as stored, in [0, 1]), 6 labels. **Hamming loss = wrong labels per test image** "
        "(sum over the 6 labels, mean over images), at the MAP prediction and, for the "
        "probabilistic models, in expectation under the policy (exact, from the marginals; for "
        "max-margin models the Gibbs policy of their w at temperature 1, for information).",
        "",
        f"C chosen on a held-out {result['n_val']} of train (random 25%, seed {result['seed']}; "
        f"models fitted on the other {result['n_fit']}) by held-out MAP Hamming loss (`map`) or "
        "expected Hamming loss (`expected`), over C_sk in "
        f"{{{', '.join(f'{c:g}' for c in result['grid'])}}} in scikit-learn's units "
        "(structpred's C = C_sk x n); then refitted on all of train. `default` = scikit-learn's C=1. "
        f"Max-margin: default solver (n-slack DCD), eps={result['eps']}. CRF: GibbsPolicy, L-BFGS.",
        "",
        "| model | C chosen by | C_sk | test Hamming (MAP) | test Hamming (expected) | fit s | edges |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        exp = r["test"].get("expected")
        lines.append(f"| {r['model']} | {r['chosen_by']} | {r['C_sk']:g} | {r['test']['map']:.4f} | "
                     f"{'-' if exp is None else f'{exp:.4f}'} | {r['fit_seconds']:.1f} | "
                     f"{r.get('edges', '-') if r.get('edges') else '-'} |")
    by = {(r["model"], r["chosen_by"]): r for r in rows}
    crf = [r for r in rows if r["model"].startswith("MultiLabel CRF")]
    ssvm = [r for r in rows if r["model"].startswith("MultiLabel max-margin")]
    svc = by[("sklearn one-vs-rest LinearSVC", "map")]
    lr = by[("sklearn one-vs-rest LogisticRegression", "default")]
    mark = lambda ok: "yes" if ok else "**no**"
    lines += [
        "",
        "## Bars (issue 18)",
        "",
        "CRF skyline: test Hamming loss <= 0.70 at MAP and <= 0.90 in expectation (POEM's Table 2 "
        "CRF: 0.659; independent logistic regression at C=1 here: "
        f"{lr['test']['map']:.4f} MAP / {lr['test']['expected']:.4f} expected).",
        "",
        "| CRF | C chosen by | C_sk | MAP | <= 0.70 | expected | <= 0.90 |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in crf:
        m, e = r["test"]["map"], r["test"]["expected"]
        lines.append(f"| {r['model'].split(', ')[1]} | {r['chosen_by']} | {r['C_sk']:g} | {m:.4f} | "
                     f"{mark(m <= 0.70)} | {e:.4f} | {mark(e <= 0.90)} |")
    lines += [
        "",
        f"Max-margin: test Hamming loss (MAP) no worse than one-vs-rest LinearSVC at its held-out "
        f"best C (C_sk={svc['C_sk']:g}: {svc['test']['map']:.4f}):",
        "",
        "| max-margin | C chosen by | C_sk | MAP | <= LinearSVC |",
        "|---|---|---|---|---|",
    ]
    for r in ssvm:
        m = r["test"]["map"]
        lines.append(f"| {r['model'].split(', ')[1]} | {r['chosen_by']} | {r['C_sk']:g} | {m:.4f} | "
                     f"{mark(m <= svc['test']['map'])} |")
    lines += [
        "",
        "## Held-out grid (Hamming loss on the held-out 25%)",
        "",
        "| model | " + " | ".join(f"C_sk={c:g}" for c in result["grid"]) + " |",
        "|---|" + "---|" * len(result["grid"]),
    ]
    seen = set()
    for r in rows:
        if r["model"] in seen:
            continue
        seen.add(r["model"])
        cells = []
        for h in r["held_out"]:
            e = h.get("expected")
            cells.append(f"{h['map']:.3f}" + ("" if e is None else f" / {e:.3f}"))
        lines.append(f"| {r['model']} | " + " | ".join(cells) + " |")
    lines += ["", "Cells: MAP / expected Hamming loss (expected only for the probabilistic models).", "",
              "## Notes", "",
              "- Which C: the held-out MAP criterion picks a small C, where the policy is flat and its "
              "expected loss high; the held-out expected-loss criterion picks a large C. The CRF rows "
              "show both choices (and C_sk=1) rather than one flattering pick.",
              "- Without edges the max-margin task is exactly L binary L1-hinge SVMs with a "
              "penalised bias (tests/test_multilabel.py checks its objective against LinearSVC("
              "loss='hinge')); scikit-learn's LinearSVC here runs at its defaults (squared hinge).",
              "- Max-margin 'expected' cells are the Gibbs policy of the max-margin w at temperature "
              "1, which is not what it was trained for; they are there for comparison only.",
              "- POEM's protocol (criteo-research/sequential-conterfactual-risk-minimization, "
              "CODE/Skylines.py, DatasetReader.py, MultiLabelExperiment.py): features as stored plus "
              "a constant column that is penalised like the rest (as our bias), per-label "
              "LogisticRegression(fit_intercept=False) with C in 10^-2..10^2 chosen on a random 25% "
              "validation split by MAP Hamming loss, 10 runs; the code prints both the CRF's MAP test "
              "loss and its expected loss. The published 0.659 is close to the MAP figure of that "
              "protocol (our independent CRF chosen the same way: see the `map` row) and far from the "
              "expected one; which of the two the table prints was not verified in the paper.",
              ""]
    with open(path, "w") as fh:
        fh.write("\n".join(lines))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a 3-value C grid")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--render", action="store_true",
                    help="re-render DIR/scene_multilabel.md from DIR/scene_multilabel.json")
    args = ap.parse_args(argv)
    md = os.path.join(args.out, "scene_multilabel.md")
    if args.render:
        with open(os.path.join(args.out, "scene_multilabel.json")) as fh:
            saved = json.load(fh)
        write_markdown(saved, md, saved.get("elapsed", float("nan")))
        print(open(md).read())
        return
    # compile the numba kernels before any timing
    warm_X, warm_Y = np.random.default_rng(0).random((8, 3)), np.eye(8, 3, dtype=int)
    for edges in (None, "chow-liu"):
        fit_crf(warm_X, warm_Y, 1.0, edges).predict(warm_X)
        fit_ssvm(warm_X, warm_Y, 1.0, edges).predict(warm_X)
    t0 = time.perf_counter()
    result = run(quick=args.quick)
    elapsed = time.perf_counter() - t0
    result["elapsed"] = elapsed
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "scene_multilabel.json"), "w") as fh:
        json.dump(result, fh, indent=1)
    write_markdown(result, md, elapsed)
    print(open(md).read())


if __name__ == "__main__":
    main()
