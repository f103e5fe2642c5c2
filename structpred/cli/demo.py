"""`structpred demo`: train and evaluate on generated data (no download needed).

Runs the multiclass task on generated Gaussian classes and, when the sequence module is
present, sequence labeling on sequences sampled from a random HMM; prints the training log
and test scores.
"""
from __future__ import annotations

import argparse

import numpy as np

from .. import StructuredSVM
from ..compile_notice import compile_seconds, mark, seconds_since
from ..tasks import Multiclass
from .base import CommandParser, add_algorithm, add_common, algorithm_of, integer, run_command

__all__ = ["main", "invocations"]


def _fit_time(start) -> str:
    """The fit's wall time since ``start`` (``mark()``) without numba compiles (and the
    compile apart, if any)."""
    compiled = compile_seconds() - start[1]
    text = f"{seconds_since(start):.2f} s"
    return text + (f" (+{compiled:.2f} s numba compile, first run only)" if compiled > 0 else "")


def _multiclass(seed, verbose, C=100.0, n_jobs=1, algorithm="n-slack", cache=0,
                max_iter=10000):
    rng = np.random.default_rng(seed)
    k, f, n = 5, 20, 1500
    centers = rng.normal(scale=1.0, size=(k, f))
    y = rng.integers(0, k, size=n)
    X = centers[y] + rng.normal(size=(n, f))
    tr, te = slice(0, 1000), slice(1000, None)
    start = mark()
    svm = StructuredSVM(Multiclass(), C=C, eps=1e-3, verbose=verbose, n_jobs=n_jobs,
                        algorithm=algorithm, cache_size=cache,
                        max_iter=max_iter).fit(X[tr], y[tr])
    print(f"multiclass (generated, {k} classes, {f} features, 1000 train / 500 test): "
          f"{_fit_time(start)}, {svm.n_iter_} iterations, "
          f"primal {svm.primal_objective_:.4f}, gap {svm.duality_gap_:.2e}, "
          f"test accuracy {svm.score(X[te], y[te]):.3f}")


def _sequences(seed, verbose, C=100.0, n_jobs=1, algorithm="n-slack", cache=0,
               max_iter=10000):
    try:
        from ..tasks.sequence import SequenceLabeling
    except ImportError:
        return
    from ..datasets.synthetic import make_hmm_sequences
    n_labels, n_features = 4, 30
    X, Y = make_hmm_sequences(600, n_labels, n_features, random_state=seed)
    start = mark()
    svm = StructuredSVM(SequenceLabeling(n_labels=n_labels, n_features=n_features), C=C,
                        eps=0.01, verbose=verbose, n_jobs=n_jobs, algorithm=algorithm,
                        cache_size=cache, max_iter=max_iter).fit(X[:400], Y[:400])
    print(f"sequence labeling (random HMM, 400 train / 200 test sequences): "
          f"{_fit_time(start)}, {svm.n_iter_} iterations, "
          f"primal {svm.primal_objective_:.4f}, token accuracy {svm.score(X[400:], Y[400:]):.3f}")


def _parser():
    p = CommandParser(prog="structpred demo", description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=integer(0, 2 ** 32 - 1, "an integer 0..2**32-1"), default=0,
                   help="random seed of the generated data, 0..2**32-1 (0)")
    add_common(p, C_default=100.0)
    p.add_argument("--verbose", dest="verbose", type=integer(0, 10, "a level 0..10"),
                   help=argparse.SUPPRESS)
    add_algorithm(p, default=0)
    p.add_argument("-#", "--max-iter", dest="max_iter", type=integer(1, 10 ** 9, "an integer >= 1"),
                   default=10000, help="maximum number of iterations per fit, 1 or more (10000)")
    return p


def main(argv=None) -> int:
    """``structpred demo``: two generated problems, trained and scored; returns the exit status."""
    import sys
    return run_command("structpred demo", _main, sys.argv[1:] if argv is None else argv)


def _main(argv) -> int:
    args = _parser().parse_args(argv)
    algorithm, cache = algorithm_of(args)
    kw = dict(C=args.C, n_jobs=args.n_jobs, algorithm=algorithm, cache=cache,
              max_iter=args.max_iter)
    _multiclass(args.seed, args.verbose, **kw)
    _sequences(args.seed, args.verbose, **kw)
    return 0


def invocations():
    """(name, parser, example argv) for the CLI battery (tests/test_cli_battery.py)."""
    return [("demo", _parser(), ["demo", "-v", "0", "-c", "1", "-#", "20"])]
