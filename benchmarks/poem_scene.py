"""POEM's Scene experiment (Swaminathan & Joachims, ICML 2015, Table 2; Norm-POEM, NIPS 2015).

Protocol: a logging CRF trained on 5% of Scene's training set; the other 95% replayed 4 times,
one label vector sampled from the logger per image and replay, Hamming loss and propensity
recorded; 25% of the logged data held out to choose the hyper-parameters by each learner's own
estimate (unbiased IPS for IPS/POEM, SNIPS for Norm-POEM and BanditNet); test expected Hamming
loss (sum over the 6 labels) of the learnt stochastic policies; 10 runs with different seeds.
Skyline: a CRF on the full training set (C chosen on 25% of it by expected Hamming loss).

    python benchmarks/poem_scene.py [--runs 10] [--out benchmarks/results/poem_scene.jsonl]

Appends one JSON line per run; ``--report`` writes poem_scene.md and poem_scene.png from it.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from structpred.counterfactual import CRM  # noqa: E402
from structpred.counterfactual.conversion import fit_crf, supervised_to_bandit  # noqa: E402
from structpred.datasets.multilabel import load_scene  # noqa: E402
from structpred.parallel import limit_threads  # noqa: E402
from structpred.tasks import MultiLabel  # noqa: E402

LOGGER_C = 5.0                # our C (½‖w‖² + (C/n)Σ −log π); gives the published logger's loss
TRANSLATION = 6.0             # δ − 6 ∈ [−6, 0]: losses <= 0, as POEM learns (reward = #correct labels)
C_GRID = [3.0, 30.0, 300.0]
LAMBDA_GRID = [0.1, 1.0, 10.0]
CRF_C_GRID = [300.0, 1000.0, 3000.0]
MAX_ITER = 100

NOTES = """## Protocol, and where it differs from the paper's

- Data: Scene as shipped with pystruct (1,211 train / 1,196 test, 294 features in [0, 1]),
  labels independent (`MultiLabel(edges=None, bias=True)`: one bias weight per label, which the
  paper's feature map may not have had). Measure: test expected Hamming loss of the stochastic
  policy, exact from its per-label marginals, summed over the 6 labels.
- Logger: a CRF (½‖w‖² + (C/n)Σ −log π) on a random 5% of train (61 images), C = 5 in our
  convention. We chose C so that the logger's loss matches the published logger (1.543); the
  paper trained its logger with default settings, which we cannot reproduce exactly.
- Log: the other 95% of train replayed 4 times (4,600 interactions), one label vector sampled
  from the logger each time, its Hamming loss and log-propensity recorded (seeded per run).
  25% of the log held out for hyper-parameters; the model trained on the other 75% is kept.
- Losses are translated to δ − 6 ∈ [−6, 0] for learning (reward = number of correct labels);
  POEM learns from losses <= 0 so that clipping bounds the objective (positive losses invite
  propensity overfitting). Norm-POEM/SNIPS are invariant to the translation.
- Clipping: POEM's M = 90th / 10th percentile ratio of the logged propensities (about 31-35
  here) for IPS and POEM; none for Norm-POEM and BanditNet.
- Hyper-parameters: C in {3, 30, 300} (POEM's L2 weight μ = 1/(2C)), λ in {0.1, 1, 10} for POEM
  and Norm-POEM, BanditNet's translation over the 25/50/75th percentiles of the translated
  training losses; chosen by the unbiased IPS estimate (IPS, POEM) or SNIPS (Norm-POEM,
  BanditNet) on the held-out log, computed on the logged (untranslated) losses. The papers'
  grids were wider; ours is small to keep 10 runs within the machine's budget.
- Optimiser: L-BFGS from w = 0, at most 100 iterations per setting (the paper's batch POEM
  also used L-BFGS). The JMLR paper's stochastic majorization (`optimizer="majorization"`,
  AdaGrad step 0.1, minibatches of 100, 30 epochs) is not used in the table: at C = 3000,
  λ = 10 on the 75% training log it reached objective −14,779 / −14,959 against L-BFGS's
  −23,723 / −22,522 (seeds 0 / 1), test loss 1.237 / 1.352 against 1.178 / 1.259. With step
  1.0 it diverges to a policy that predicts no label (test 1.086 = the mean number of test
  labels), and early stopping on the held-out unbiased IPS (what POEM's code does) then picked
  diverged iterates (test 2.4-4.9), so POEM's progressive validation is not reproduced.
- BanditNet here is the translated-IPS objective on the same linear Gibbs policy, not a deep
  network. The CRF skyline is trained on all of train with C in {300, 1000, 3000} chosen by
  expected Hamming loss on a held-out 25% of train.
"""

PUBLISHED = {"logger": 1.543, "ips": 1.193, "poem": 1.168, "crf": 0.659, "norm-poem": 1.05}
METHODS = ["logger", "ips", "poem", "norm-poem", "banditnet", "crf"]


def expected_hamming(task, X, Y, w):
    means, _ = task.batch_expected_loss(task.make_batch(X, Y), w)
    return float(np.mean(means))


def one_run(seed, data, methods=None, c_grid=None):
    Xtr, Ytr, Xte, Yte = data
    task = MultiLabel(n_labels=6, n_features=Xtr.shape[1], bias=True)
    task.initialize(Xtr, Ytr)
    out = {"seed": seed}
    t0 = time.perf_counter()
    conv = supervised_to_bandit(task, Xtr, list(Ytr), logger_fraction=0.05, n_replays=4,
                                logger_C=LOGGER_C, random_state=seed)
    out["time_logger"] = time.perf_counter() - t0
    fb = conv.feedback
    out["n_logged"] = len(fb)
    out["logger"] = expected_hamming(task, Xte, Yte, conv.logger_w)
    train, held = fb.split(0.25, random_state=seed)
    c_grid = C_GRID if c_grid is None else c_grid
    out["c_grid"] = c_grid
    specs = {
        "ips": dict(objective="ips", C=c_grid),
        "poem": dict(objective="poem", C=c_grid, variance_weight=LAMBDA_GRID),
        "norm-poem": dict(objective="norm-poem", C=c_grid, variance_weight=LAMBDA_GRID),
        "banditnet": dict(objective="banditnet", C=c_grid,
                          translation=[float(v) for v in np.percentile(train.loss - TRANSLATION,
                                                                        [25, 50, 75])]),
    }
    for name, spec in specs.items():
        if methods is not None and name not in methods:
            continue
        t0 = time.perf_counter()
        crm = CRM(task, loss_translation=TRANSLATION, max_iter=MAX_ITER, random_state=seed,
                  **spec).fit(train, validation=held)
        out["time_" + name] = time.perf_counter() - t0
        out[name] = expected_hamming(task, Xte, Yte, crm.w_)
        out["params_" + name] = {k: v for k, v in crm.best_params_.items()}
        print(f"seed {seed} {name}: {out[name]:.4f} {crm.best_params_} "
              f"({out['time_' + name]:.1f} s)", flush=True)
    # skyline: full-information CRF, C chosen on a held-out 25% of train
    if methods is not None and "crf" not in methods:
        return out
    t0 = time.perf_counter()
    perm = np.random.default_rng(seed).permutation(len(Ytr))
    k = len(Ytr) // 4
    va, tr = np.sort(perm[:k]), np.sort(perm[k:])
    best = None
    for C in CRF_C_GRID:
        w = fit_crf(task, Xtr[tr], Ytr[tr], C=C)
        v = expected_hamming(task, Xtr[va], Ytr[va], w)
        if best is None or v < best[0]:
            best = (v, C, w)
    out["crf"] = expected_hamming(task, Xte, Yte, best[2])
    out["params_crf"] = {"C": best[1]}
    out["time_crf"] = time.perf_counter() - t0
    print(f"seed {seed}: logger {out['logger']:.4f} crf {out['crf']:.4f}", flush=True)
    return out


def report(path: Path):
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    md = path.with_suffix(".md")
    lines = ["# POEM's Scene experiment (test expected Hamming loss, sum over 6 labels)", "",
             f"{len(rows)} runs (seeds {', '.join(str(r['seed']) for r in rows)}); "
             "command: `python benchmarks/poem_scene.py --runs 10` then `--report`. "
             f"Machine: {platform.machine()}, {platform.python_version()}, 2 cores shared with "
             "7 other jobs (times are noisy, one BLAS thread per fit).", "",
             "| method | mean | std | min | max | published (ICML 2015 Table 2 / NIPS 2015) | mean fit time (s) |",
             "|---|---|---|---|---|---|---|"]
    for m in METHODS:
        v = np.array([r[m] for r in rows])
        t = np.mean([r.get("time_" + m, float("nan")) for r in rows])
        pub = PUBLISHED.get(m)
        lines.append(f"| {m} | {v.mean():.3f} | {v.std(ddof=1) if len(v) > 1 else 0:.3f} | "
                     f"{v.min():.3f} | {v.max():.3f} | {pub if pub is not None else '-'} | {t:.1f} |")
    lines += ["", "Per run:", "", "| seed | " + " | ".join(METHODS) + " |",
              "|---" * (len(METHODS) + 1) + "|"]
    for r in rows:
        lines.append(f"| {r['seed']} | " + " | ".join(f"{r[m]:.3f}" for m in METHODS) + " |")
    lines += ["", "Chosen hyper-parameters per run:", ""]
    for r in rows:
        lines.append(f"- seed {r['seed']}: " + "; ".join(
            f"{m} {r.get('params_' + m)}" for m in METHODS[1:]))
    wide = path.with_name(path.stem + "_wide.jsonl")
    if wide.exists():
        wrows = [json.loads(line) for line in wide.read_text().splitlines() if line.strip()]
        grid = wrows[0].get("c_grid")
        lines += ["", f"## IPS and POEM with a wider C grid {grid}", "",
                  "The held-out choice above mostly lands on the largest C of the grid, so IPS and "
                  f"POEM were rerun with C in {grid} (same seeds, logs and splits; "
                  f"{len(wrows)} runs; `--methods ips,poem --c-grid "
                  f"{','.join(str(int(c)) for c in grid)}`):", "",
                  "| method | mean | std | min | max | published | mean fit time (s) |",
                  "|---|---|---|---|---|---|---|"]
        for m in ("ips", "poem"):
            v = np.array([r[m] for r in wrows])
            t = np.mean([r["time_" + m] for r in wrows])
            lines.append(f"| {m} | {v.mean():.3f} | {v.std(ddof=1) if len(v) > 1 else 0:.3f} | "
                         f"{v.min():.3f} | {v.max():.3f} | {PUBLISHED[m]} | {t:.1f} |")
        lines += ["", "Chosen: " + "; ".join(
            f"seed {r['seed']}: ips {r['params_ips']['C']:g}, poem {r['params_poem']['C']:g}/"
            f"{r['params_poem']['variance_weight']:g}" for r in wrows)]
        wi, wp = (float(np.mean([r[m] for r in wrows])) for m in ("ips", "poem"))
        lines += ["", f"Bars with this grid: POEM <= 1.22: {wp:.3f} "
                  f"({'met' if wp <= 1.22 else 'NOT met'}); POEM <= IPS: {wp:.3f} vs {wi:.3f} "
                  f"({'met' if wp <= wi else 'NOT met'})."]
    mean = {m: float(np.mean([r[m] for r in rows])) for m in METHODS}
    lines += ["", "## The issue's bars (main grid)", "",
              f"- logger within 1.54 ± 0.15: {mean['logger']:.3f} "
              f"({'met' if abs(mean['logger'] - 1.54) <= 0.15 else 'NOT met'})",
              f"- POEM <= 1.22: {mean['poem']:.3f} ({'met' if mean['poem'] <= 1.22 else 'NOT met'})",
              f"- POEM <= IPS: {mean['poem']:.3f} vs {mean['ips']:.3f} "
              f"({'met' if mean['poem'] <= mean['ips'] else 'NOT met'})",
              f"- Norm-POEM <= POEM: {mean['norm-poem']:.3f} vs {mean['poem']:.3f} "
              f"({'met' if mean['norm-poem'] <= mean['poem'] else 'NOT met'})",
              f"- CRF skyline <= 0.90: {mean['crf']:.3f} ({'met' if mean['crf'] <= 0.90 else 'NOT met'})"]
    lines += ["", NOTES]
    md.write_text("\n".join(lines) + "\n")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(7, 3.5))
        vals = [[r[m] for r in rows] for m in METHODS]
        ax.boxplot(vals, tick_labels=METHODS)
        for i, m in enumerate(METHODS, 1):
            if m in PUBLISHED:
                ax.plot(i, PUBLISHED[m], "r*", markersize=10, label="published" if i == 1 else None)
        ax.set_ylabel("test expected Hamming loss")
        ax.set_title(f"Scene, POEM protocol, {len(rows)} runs (red: published)")
        ax.legend()
        fig.tight_layout()
        fig.savefig(path.with_suffix(".png"), dpi=120)
    except ImportError:
        pass
    print(md.read_text())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "poem_scene.jsonl"))
    ap.add_argument("--report", action="store_true")
    ap.add_argument("--methods", default=None, help="comma-separated subset of ips,poem,norm-poem,banditnet,crf")
    ap.add_argument("--c-grid", default=None, help="comma-separated C values (default 3,30,300)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    if args.report:
        report(out)
        return
    Xtr, Ytr, Xte, Yte = load_scene()
    data = (Xtr, Ytr.astype(np.int64), Xte, Yte.astype(np.int64))
    with limit_threads(1):
        for seed in range(args.first_seed, args.first_seed + args.runs):
            row = one_run(seed, data, args.methods.split(",") if args.methods else None,
                          [float(c) for c in args.c_grid.split(",")] if args.c_grid else None)
            with out.open("a") as fh:
                fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
