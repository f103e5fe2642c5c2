"""SVM-cfg benchmark on the PTB WSJ sample: SSVM vs PCFG labeled-bracket F1 by length.

Split in file order: trees 1-3000 train, 3001-3914 test. Gold POS tags, horizontal
markovization 1, evalb (COLLINS.prm) scoring. Reports per training subset (trees of at most
--train-len tokens): training time, iterations, oracle share of the time, F1 by test length
(<= 10, <= 15, <= 25), parse speed of plain and loss-augmented CKY.

    python benchmarks/parsing_ptb.py [--train-len 15 25] [-c 100] [-e 0.1] [--n-jobs 2]
"""
from __future__ import annotations

import argparse
import json
import time

from structpred import StructuredSVM
from structpred.datasets import load_ptb_sample
from structpred.metrics.brackets import bracket_scores, sentence_length
from structpred.tasks.parsing import ConstituencyParsing, sentence


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--train-len", type=int, nargs="+", default=[15, 25])
    p.add_argument("--unary", nargs="+", default=["merge", "chain"], choices=["merge", "chain"])
    p.add_argument("-c", type=float, default=100.0)
    p.add_argument("-e", type=float, default=0.1)
    p.add_argument("--max-iter", type=int, default=400)
    p.add_argument("--n-jobs", type=int, default=2)
    p.add_argument("--json", default=None, help="write the results here")
    args = p.parse_args(argv)

    d = load_ptb_sample()
    lengths = (10, 15, 25)
    tests = {L: [t for t in d["test"] if sentence_length(t) <= L] for L in lengths}
    results = {"C": args.c, "eps": args.e, "runs": [], "pcfg_all_train": {}}
    for unary in args.unary:
        # reference: the PCFG read off all 3000 training trees (the calibration setting)
        full = ConstituencyParsing(horizontal=1, features="rules", unary=unary)
        full.initialize([sentence(t) for t in d["train"]], d["train"])
        res = results["pcfg_all_train"][unary] = {}
        for L, T in tests.items():
            P = full.batch_inference(full.make_batch([sentence(t) for t in T]), full.pcfg_weights())
            res[L] = bracket_scores(T, P)["f1"]
        print(f"PCFG (unary={unary}) from all 3000 training trees: " + ", ".join(
            f"<= {L}: F1 {f:.1f} ({len(tests[L])} sent.)" for L, f in res.items()), flush=True)
    for TL, unary in [(TL, u) for TL in args.train_len for u in args.unary]:
        train = [t for t in d["train"] if sentence_length(t) <= TL]
        X = [sentence(t) for t in train]
        model = ConstituencyParsing(horizontal=1, unary=unary)
        model.initialize(X, train)
        run = {"train_len": TL, "unary": unary, "n_train": len(train), "d": model.size_joint_feature,
               "pcfg": {}, "ssvm": {}}
        wp = model.pcfg_weights()
        for L, T in tests.items():
            P = model.batch_inference(model.make_batch([sentence(t) for t in T]), wp)
            run["pcfg"][L] = bracket_scores(T, P)["f1"]
        t0 = time.time()
        svm = StructuredSVM(model, C=args.c, eps=args.e, max_iter=args.max_iter,
                            n_jobs=args.n_jobs).fit(X, train)
        run["train_seconds"] = time.time() - t0
        run["n_iter"] = svm.n_iter_
        run["converged"] = bool(getattr(svm, "converged_", False))
        tm = svm.timings_
        run["oracle_share"] = tm.get("oracle", 0.0) / max(tm.get("total", 1e-9), 1e-9)
        run["timings"] = {k: float(v) for k, v in tm.items()}
        for L, T in tests.items():
            P = svm.predict([sentence(t) for t in T])
            run["ssvm"][L] = bracket_scores(T, P)["f1"]
        # parse speed on the <= 25 test sentences, one thread, best of 3 (the machine is shared)
        T = tests[25]
        Xt = [sentence(t) for t in T]
        b = model.make_batch(Xt, T)
        model.batch_inference(b, svm.w_)
        plain, aug = [], []
        for _ in range(3):
            t0 = time.perf_counter()
            model.batch_inference(b, svm.w_, n_jobs=1)
            plain.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            model.batch_loss_augmented_inference(b, svm.w_, n_jobs=1)
            aug.append(time.perf_counter() - t0)
        run["plain_sent_per_s"] = len(T) / min(plain)
        run["augmented_sent_per_s"] = len(T) / min(aug)
        run["oracle_calls"] = int(getattr(svm, "n_oracle_calls_", 0))
        results["runs"].append(run)
        print(f"\n== unary={unary}, train on trees <= {TL} tokens: {len(train)} trees, d = {run['d']}, "
              f"C = {args.c}, eps = {args.e}")
        print(f"training {run['train_seconds']:.1f} s ({run['train_seconds'] / 60:.2f} min), "
              f"{run['n_iter']} iterations, converged {run['converged']}, oracle share "
              f"{100 * run['oracle_share']:.0f}%")
        print(f"parse speed (test <= 25, 1 thread): plain {run['plain_sent_per_s']:.0f} sent/s, "
              f"loss-augmented {run['augmented_sent_per_s']:.0f} sent/s")
        print("(PCFG: same training trees; PCFG-all: all 3000 training trees)")
        print(f"{'test length':>12} {'n':>5} {'PCFG':>6} {'PCFG-all':>9} {'SSVM':>6} {'SSVM-PCFG-all':>14}")
        for L in lengths:
            pa = results["pcfg_all_train"][unary][L]
            print(f"{'<= ' + str(L):>12} {len(tests[L]):>5} {run['pcfg'][L]:>6.1f} {pa:>9.1f} "
                  f"{run['ssvm'][L]:>6.1f} {run['ssvm'][L] - pa:>+14.1f}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
