"""`structpred COMMAND ...`: each command lives in its own module with a ``main(argv)``."""
from __future__ import annotations

import sys
from importlib import import_module

COMMANDS = {
    "learn": ("structpred.cli.svmstruct", "learn_main", "train on a file (svm_hmm format: SVM-struct options)"),
    "classify": ("structpred.cli.svmstruct", "classify_main", "apply a model file to a test file"),
    "demo": ("structpred.cli.demo", "main", "train and evaluate on generated or shipped data"),
    "rank": ("structpred.cli.diversity", "main", "diversified ranking: train / apply (SVM-div)"),
    "parse": ("structpred.cli.parsing", "main", "constituency parsing: train / apply (SVM-cfg)"),
    "bench": ("structpred.bench", "main", "run the benchmark suite (tasks x solvers x peers)"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        lines = ["usage: structpred COMMAND [options]", "", "commands:"]
        lines += [f"  {name:<9} {help_}" for name, (_, _, help_) in COMMANDS.items()]
        print("\n".join(lines))
        return 0
    name = argv[0]
    if name not in COMMANDS:
        print(f"structpred: unknown command {name!r}; try 'structpred --help'", file=sys.stderr)
        return 2
    module, func, _ = COMMANDS[name]
    return int(getattr(import_module(module), func)(argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
