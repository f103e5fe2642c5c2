"""``python -m benchmarks [--quick] [--task ...] [--solver ...] [--out DIR]``: the benchmark
suite; the same as ``structpred bench`` (the engine is :mod:`structpred.bench`)."""
import sys

from structpred.bench import main

if __name__ == "__main__":
    sys.exit(main())
