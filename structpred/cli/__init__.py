"""structpred COMMAND ...: each command lives in its own module with a main(argv)."""
from __future__ import annotations

import sys
from importlib import import_module

COMMANDS = {
    "learn": ("structpred.cli.svmstruct", "learn_main", "train on an svm_hmm file, or svm_rank / svm_proprank files with --task rank|proprank"),
    "classify": ("structpred.cli.svmstruct", "classify_main", "apply a model file to a test file"),
    "demo": ("structpred.cli.demo", "main", "train and evaluate on generated or shipped data"),
    "diversify": ("structpred.cli.diversity", "main", "diversified ranking: train / apply (SVM-div)"),
    "parse": ("structpred.cli.parsing", "main", "constituency parsing: train / apply (SVM-cfg)"),
    "bench": ("structpred.bench", "main", "run the benchmark suite (tasks x solvers x peers)"),
}

#: Old command names still accepted, with a note on stderr.
DEPRECATED = {"rank": "diversify"}


def _usage() -> str:
    lines = ["usage: structpred COMMAND [options]   (structpred COMMAND --help for its options)",
             "", "commands:"]
    lines += [f"  {name:<10} {help_}" for name, (_, _, help_) in COMMANDS.items()]
    lines += ["", "options:", "  -h, --help  show this message", "  --version   print the version"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``structpred COMMAND ...``: dispatch to the subcommand's ``main``; returns
    the exit status (0 ok, 1 bad input or data, 2 usage)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0
    if argv[0] == "--version":
        from .. import __version__
        print(f"structpred {__version__}")
        return 0
    name = argv[0]
    if name in DEPRECATED:
        print(f"structpred: '{name}' is now '{DEPRECATED[name]}' (the old name will go away)",
              file=sys.stderr)
        name = DEPRECATED[name]
    if name not in COMMANDS:
        print(f"structpred: unknown command {name!r}; commands: {', '.join(COMMANDS)} "
              "(structpred --help)", file=sys.stderr)
        return 2
    module, func, _ = COMMANDS[name]
    return int(getattr(import_module(module), func)(argv[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
