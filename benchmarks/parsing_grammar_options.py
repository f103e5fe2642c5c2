"""Parsing on the PTB WSJ sample: the grammar read off more trees, and glue smoothing.

Trains ConstituencyParsing with StructuredSVM (C=100, eps=0.1) on trees 1-3000 of at most 15
tokens and tests on trees 3001-3914 of at most 25 tokens (the bench split), four ways:
grammar_trees None / all 3000 training trees, smoothing 0 / 0.001. Prints fit CPU seconds,
iterations, evalb F1 and the number of flat fallback trees.

    STRUCTPRED_DATA=/path/to/data python benchmarks/parsing_grammar_options.py
"""
import time

from structpred import StructuredSVM
from structpred.datasets import load_ptb_sample
from structpred.metrics.brackets import bracket_scores, sentence_length
from structpred.tasks.parsing import ConstituencyParsing, sentence


def main():
    d = load_ptb_sample()
    train = [t for t in d["train"] if sentence_length(t) <= 15]
    test = [t for t in d["test"] if sentence_length(t) <= 25]
    Xtr, Xte = [sentence(t) for t in train], [sentence(t) for t in test]
    every = [t.to_string() for t in d["train"]]
    print("| grammar read off | smoothing | fit CPU s | iterations | test F1 | fallbacks |")
    print("|---|---|---|---|---|---|")
    for extra, sm in ((None, 0.0), (None, 1e-3), (every, 0.0), (every, 1e-3)):
        model = ConstituencyParsing(horizontal=1, grammar_trees=extra, smoothing=sm)
        t0 = time.process_time()
        svm = StructuredSVM(model, C=100, eps=0.1).fit(Xtr, train)
        fit = time.process_time() - t0
        before = model.fallback_count_
        pred = svm.predict(Xte)
        print(f"| {'all 3000 training trees' if extra else f'the {len(train)} SSVM trees'} | "
              f"{sm:g} | {fit:.1f} | {svm.n_iter_} | {bracket_scores(test, pred)['f1']:.2f} | "
              f"{model.fallback_count_ - before} of {len(test)} |", flush=True)


if __name__ == "__main__":
    main()
