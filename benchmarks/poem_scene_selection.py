"""Which held-out criterion chooses POEM's hyper-parameters well on Scene? For every setting of
IPS and POEM in poem_scene.py's paper protocol (C in {1e4, 1e5}, λ = c·λ*, L-BFGS to at most
1000 iterations), record three held-out estimates of the learnt policy on the 25% validation
log -- the unbiased IPS of the losses as logged (>= 0), the unbiased IPS of the translated
losses δ − 6 (<= 0, what POEM learns from), SNIPS (what POEM's public code validates with) --
and its test expected Hamming loss. ``--report`` prints the test loss each criterion picks.

    python benchmarks/poem_scene_selection.py [--first-seed 0] [--runs 10] [--out FILE]
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from poem_scene import (LAMBDA_SCALES, LOGGER_C, PAPER_C_GRID, PAPER_MAX_ITER,  # noqa: E402
                        TRANSLATION, expected_hamming)
from structpred.counterfactual import CRM, GibbsTarget, ips, snips, variance_calibration  # noqa: E402
from structpred.counterfactual.conversion import supervised_to_bandit  # noqa: E402
from structpred.datasets.multilabel import load_scene  # noqa: E402
from structpred.parallel import limit_threads  # noqa: E402
from structpred.tasks import MultiLabel  # noqa: E402

CRITERIA = ("ips_logged", "ips_translated", "snips")


def one_run(seed, data, scales=None, with_ips=True):
    Xtr, Ytr, Xte, Yte = data
    task = MultiLabel(n_labels=6, n_features=Xtr.shape[1], bias=True)
    task.initialize(Xtr, Ytr)
    conv = supervised_to_bandit(task, Xtr, list(Ytr), logger_fraction=0.05, n_replays=4,
                                logger_C=LOGGER_C, random_state=seed)
    train, held = conv.feedback.split(0.25, random_state=seed)
    lam_star = variance_calibration(train.translated(TRANSLATION))
    scales = LAMBDA_SCALES if scales is None else scales
    settings = [("ips", C, 0.0) for C in PAPER_C_GRID if with_ips] + \
        [("poem", C, c * lam_star) for C in PAPER_C_GRID for c in scales]
    out = {"seed": seed, "lambda_star": lam_star, "settings": []}
    for objective, C, lam in settings:
        t0 = time.perf_counter()
        crm = CRM(task, objective=objective, C=C, variance_weight=lam,
                  loss_translation=TRANSLATION, max_iter=PAPER_MAX_ITER,
                  random_state=seed).fit(train)
        target = GibbsTarget(task, crm.w_)
        row = {"objective": objective, "C": C, "variance_weight": lam, "n_iter": crm.n_iter_,
               "time": time.perf_counter() - t0,
               "ips_logged": ips(held, target).value,
               "ips_translated": ips(held.translated(TRANSLATION), target).value + TRANSLATION,
               "snips": snips(held, target).value,
               "test": expected_hamming(task, Xte, Yte, crm.w_)}
        out["settings"].append(row)
        print(f"seed {seed} {objective} C={C:g} lam={lam:.3g}: test {row['test']:.4f} "
              + " ".join(f"{k} {row[k]:.4f}" for k in CRITERIA) + f" ({row['time']:.1f} s)",
              flush=True)
    return out


def report(path: Path) -> str:
    """A markdown table: per method (and POEM per c grid), the mean ± std over runs of the test
    loss of the setting each criterion picks, and of the best setting on test."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    groups = [("ips", lambda s: s["objective"] == "ips")]
    scales = sorted({round(s["variance_weight"] / r["lambda_star"], 12) for r in rows
                     for s in r["settings"] if s["objective"] == "poem"})
    main = [c for c in scales if c >= 1e-3]
    groups.append((f"poem, c in {main}", lambda s, m=main: s["objective"] == "poem" and any(
        math.isclose(s["variance_weight"], c * s["lam_star"], rel_tol=1e-9) for c in m)))
    if len(scales) > len(main):
        groups.append((f"poem, c in {scales}", lambda s: s["objective"] == "poem"))
    lines = [f"{len(rows)} runs (seeds {', '.join(str(r['seed']) for r in rows)}); mean ± std "
             "over runs of the test expected Hamming loss of the setting each criterion picks:",
             "", "| method | IPS, logged losses | IPS, translated losses | SNIPS "
             "| best on test (oracle) |", "|---|---|---|---|---|"]
    for name, keep in groups:
        cells = []
        for crit in CRITERIA + ("test",):
            v = np.array([min((s for s in r["settings"] if keep(dict(s, lam_star=r["lambda_star"]))),
                              key=lambda s: s[crit])["test"] for r in rows])
            cells.append(f"{v.mean():.3f} ± {v.std(ddof=1) if len(v) > 1 else 0:.3f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results"
                                         / "poem_scene_selection.jsonl"))
    ap.add_argument("--report", action="store_true")
    ap.add_argument("--lambda-scales", default=None, help="comma-separated c (default: "
                    "poem_scene's LAMBDA_SCALES)")
    ap.add_argument("--no-ips", action="store_true", help="POEM settings only")
    args = ap.parse_args(argv)
    out = Path(args.out)
    if args.report:
        print(report(out))
        return
    Xtr, Ytr, Xte, Yte = load_scene()
    data = (Xtr, Ytr.astype(np.int64), Xte, Yte.astype(np.int64))
    with limit_threads(1):
        for seed in range(args.first_seed, args.first_seed + args.runs):
            row = one_run(seed, data, [float(c) for c in args.lambda_scales.split(",")]
                          if args.lambda_scales else None, not args.no_ips)
            with out.open("a") as fh:
                fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
