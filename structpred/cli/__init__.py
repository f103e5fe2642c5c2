"""structpred COMMAND ...: each command lives in its own module with a main(argv).

:data:`COMMANDS` is the command table: name -> (module, main function, one-line help,
invocations function). The invocations function returns ``(name, parser, example argv)`` for
every parser behind the command; ``tests/test_cli_battery.py`` throws its hostile battery at
every option of every parser found there, so a command added to this table is covered with
no new test (its example argv names fixture files by ``{field}``).
"""
from __future__ import annotations

import sys
from importlib import import_module

__all__ = ["main", "COMMANDS", "DEPRECATED", "invocations"]

COMMANDS = {
    "learn": ("structpred.cli.svmstruct", "learn_main",
              "train on an svm_hmm file, or svm_rank / svm_proprank files with --task rank|proprank",
              "structpred.cli.svmstruct:invocations"),
    "classify": ("structpred.cli.svmstruct", "classify_main",
                 "apply a sequence or ranking model file to a test file",
                 None),  # its parsers are listed with learn's (one module)
    "demo": ("structpred.cli.demo", "main", "train and evaluate on generated data",
             "structpred.cli.demo:invocations"),
    "diversify": ("structpred.cli.diversity", "main", "diversified ranking: train / apply (SVM-div)",
                  "structpred.cli.diversity:invocations"),
    "parse": ("structpred.cli.parsing", "main", "constituency parsing: train / apply (SVM-cfg)",
              "structpred.cli.parsing:invocations"),
    "bench": ("structpred.bench", "main", "run the benchmark suite (tasks x solvers x peers)",
              "structpred.bench:invocations"),
}

#: Old command names still accepted, with a note on stderr.
DEPRECATED = {"rank": "diversify"}


def _usage() -> str:
    lines = ["usage: structpred COMMAND [options]   (structpred COMMAND --help for its options)",
             "", "commands:"]
    lines += [f"  {name:<10} {entry[2]}" for name, entry in COMMANDS.items()]
    lines += ["", "options:", "  -h, --help  show this message", "  --version   print the version",
              "", "Every command takes -c C and --n-jobs N; errors are one line on stderr, exit "
              "status 1 (2 for a bad command line or path)."]
    return "\n".join(lines)


def invocations(commands=None):
    """Every (command name, invocation name, parser, example argv) of the command table."""
    out = []
    for name, entry in (commands or COMMANDS).items():
        spec = entry[3] if len(entry) > 3 else None
        if spec is None:
            continue
        module, _, func = spec.partition(":")
        for inv_name, parser, example in getattr(import_module(module), func)():
            out.append((name, inv_name, parser, example))
    return out


def main(argv: list[str] | None = None) -> int:
    """``structpred COMMAND [options]``: dispatch to the command's main; returns the exit
    status (0 success, 1 failure, 2 bad command line or path)."""
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
        print(f"structpred: error: unknown command {name!r}; commands: {', '.join(COMMANDS)} "
              "(structpred --help)", file=sys.stderr)
        return 2
    from .base import run_command
    module, func = COMMANDS[name][:2]
    return run_command(f"structpred {name}",
                       lambda rest: getattr(import_module(module), func)(rest), argv[1:])


if __name__ == "__main__":
    sys.exit(main())
