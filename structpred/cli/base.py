"""What every ``structpred`` command shares: one parser class, one set of option types, one
error path.

* :class:`CommandParser` -- an ``argparse`` parser whose errors are one line on stderr
  (``structpred learn: error: argument -c: must be a finite number > 0, got 'nan'``), exit
  status 2, never the usage block; it names an unknown option itself (argparse would blame
  the next value, e.g. the model file), and once parsed it checks every path option: inputs
  (:class:`InputFile`, :class:`ModelFile`) must be readable (a model file regular), outputs
  (:class:`OutputFile`) writable and never one of the inputs -- before any data is read.
* option types: :func:`real`, :func:`integer`, :func:`n_jobs`, :func:`c_grid` refuse nan,
  inf, out-of-range and non-numbers by name.
* :func:`add_common` gives a command the shared dialect: ``-c``, ``--n-jobs`` (old spellings
  ``--C``, ``--n_jobs``, ``--jobs`` kept as hidden aliases) and ``-v``.
* :func:`run_command` runs a command body: any failure is one line on stderr
  (``structpred CMD: error: ...``) with exit status 1 (2 for usage and path errors, 130 for Ctrl-C, 70 for an
  internal error that is a bug), never a traceback; a closed stdout (a pipe into ``head``) is
  absorbed when stdout only carries the report (the model is still written), and ends the
  command quietly with status 1 when stdout carries the command's output.
* :data:`W_ALGORITHMS` -- the one ``-w`` table of SVM-struct algorithm numbers.
"""
from __future__ import annotations

import argparse
import errno
import os
import sys

from ..boundary.params import check_int, check_real
from ..boundary.paths import PathError, check_input_path, check_output_path
from ..errors import InvalidInputError

__all__ = ["FOREIGN_OPTIONS", "CommandParser", "UsageError", "CommandExit", "InputFile", "ModelFile",
           "OutputFile", "OutputDir", "real", "integer", "n_jobs", "c_grid", "add_common",
           "add_algorithm", "W_ALGORITHMS", "W_HELP", "run_command", "stdout_is_output",
           "fail"]

#: Options of svm_hmm / SVM-struct that structpred does not offer (named in the error).
FOREIGN_OPTIONS = {
    "-y": "svm_light verbosity", "-p": "L-norm of the slacks", "-q": "QP subproblem size",
    "-n": "new variables per QP subproblem", "-m": "kernel cache size in MB",
    "-k": "constraints to accumulate before the QP", "-b": "cache refresh percentage",
    "-t": "kernel type", "-d": "polynomial degree", "-g": "rbf gamma", "-s": "kernel parameter s",
    "-r": "kernel parameter c", "-u": "user kernel parameter", "-a": "alphas output file",
    "-x": "leave-one-out estimates", "--c": "svm_hmm structure option",
}

#: -w NUMBER -> (StructuredSVM algorithm, cache_size or None = take -f). SVM-struct's numbers
#: where they exist (svm_hmm, svm_rank): 0/1 n-slack, 2/3 1-slack, 4 1-slack + cache; 9 BCFW.
W_ALGORITHMS = {0: ("n-slack", 0), 1: ("n-slack", 0), 2: ("1-slack", 0), 3: ("1-slack", 0),
                4: ("1-slack", None), 9: ("bcfw", 0)}
W_HELP = ("algorithm: 0 or 1 = n-slack by dual coordinate descent (the default, as in Python; "
          "measured faster on CoNLL and MQ2008), 4 = 1-slack with the per-example "
          "constraint cache of -f (svm_hmm's default), 2 or 3 = 1-slack without cache "
          "(svm_rank's default), 9 = block-coordinate Frank-Wolfe")


class UsageError(Exception):
    """A bad command line (exit status 2)."""


class CommandExit(Exception):
    """argparse asked to exit (``--help``, ``--version``) with this status."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


# ------------------------------------------------------------------------ option types
class _PathType:
    """argparse type for a path; the instance says what the file is for (``what``)."""
    role = "path"

    def __init__(self, what: str):
        self.what = what
        self.__name__ = what

    def __call__(self, text: str) -> str:
        if not text or "\x00" in text:
            raise argparse.ArgumentTypeError(f"expected a {self.what} name, got {text!r}")
        return text

    def __repr__(self):
        return f"{type(self).__name__}({self.what!r})"


class InputFile(_PathType):
    """A data file that is read (a pipe such as /dev/stdin or <(zcat f) is fine)."""
    role = "input"


class ModelFile(InputFile):
    """A model file that is read: a regular file only (a FIFO would block)."""
    role = "model"


class OutputFile(_PathType):
    """A file that is written (atomically), never one of the inputs."""
    role = "output"


class OutputDir(_PathType):
    """A folder that is created if needed and written into."""
    role = "output-dir"


def _type_error(exc, text) -> argparse.ArgumentTypeError:
    """boundary.params' message ("value must be ..., got X") as an argparse type error quoting
    the text as given."""
    msg = str(exc).split(" must ", 1)[-1].rsplit(", got", 1)[0]
    return argparse.ArgumentTypeError(f"must {msg}, got {text!r}")


def real(low: float | None = None, high: float | None = None, *, low_open: bool = True,
         what: str = "a number"):
    """argparse type: the text as a float, checked by :func:`structpred.boundary.check_real`:
    finite, in (low, high] (``low_open``) or [low, high]."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        try:
            return check_real(value, "value", low, high, low_inclusive=not low_open)
        except InvalidInputError as exc:
            raise _type_error(exc, text) from None
    parse.__name__ = what
    return parse


def integer(low: int | None = None, high: int | None = None, what: str = "an integer"):
    """argparse type: a decimal integer, range-checked by :func:`structpred.boundary.check_int`."""
    def parse(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        try:
            return check_int(value, "value", low, high)
        except InvalidInputError as exc:
            raise _type_error(exc, text) from None
    parse.__name__ = what
    return parse


def n_jobs(text: str) -> int:
    """argparse type: threads, a non-zero integer (-1 = all cores), |n| <= 4096."""
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value == 0 or abs(value) > 4096:
        raise argparse.ArgumentTypeError("must be 1..4096, or negative to count back from all "
                                         f"cores (-1 = all), got {text!r}")
    return value


def c_grid(text: str) -> tuple:
    """argparse type: comma-separated C values, each finite and > 0 (at least one)."""
    parts = [p.strip() for p in text.split(",")]
    if not any(parts):
        raise argparse.ArgumentTypeError(f"expected C values such as 0.1,1,10, got {text!r}")
    one = real(0.0, MAX_C, what="a C value > 0")
    values = []
    for p in parts:
        if not p:
            raise argparse.ArgumentTypeError(f"empty entry in {text!r}")
        values.append(one(p))
    return tuple(values)


#: C in (0, MAX_C]: beyond 1e12 the regulariser ½‖w‖² falls below float64 resolution of the
#: C-weighted loss (about 1e-16 relative), so the problem is numerically a hard-margin one and
#: the solvers' stopping rules lose their meaning.
MAX_C = 1e12
C_TYPE = real(0.0, MAX_C, what="a number > 0")


def add_common(p: argparse.ArgumentParser, *, C_default=None, C_required=False, C_help=None,
               jobs_default=1, jobs_help="threads for the oracle calls, -1 = all cores (1)",
               verbose=True):
    """The shared dialect: ``-c C`` (hidden alias ``--C``), ``--n-jobs N`` (hidden aliases
    ``--n_jobs``, ``--jobs``) and, unless ``verbose=False``, ``-v LEVEL``."""
    p.structpred_C_required = C_required   # checked after parsing, so that --C counts
    p.add_argument("-c", dest="C", type=C_TYPE, default=C_default, help=C_help or (
                       "C: trade-off between training error and margin, SVM-struct convention "
                       "(1/2|w|^2 + C xi, 1-slack), a number in (0, 1e12]"
                       + ("" if C_default is None else f" ({C_default:g})")))
    p.add_argument("--C", dest="C", type=C_TYPE, help=argparse.SUPPRESS)
    p.add_argument("--n-jobs", dest="n_jobs", type=n_jobs, default=jobs_default, help=jobs_help)
    for old in ("--n_jobs", "--jobs"):
        p.add_argument(old, dest="n_jobs", type=n_jobs, help=argparse.SUPPRESS)
    if verbose:
        p.add_argument("-v", dest="verbose", type=integer(0, 10, "a level 0..10"), default=1,
                       help="verbosity: 0 only warnings, 1 a line per iteration (1)")


def add_algorithm(p: argparse.ArgumentParser, default: int = 0):
    """``-w`` from the one table :data:`W_ALGORITHMS` and ``-f`` (cache size for -w 4)."""
    p.add_argument("-w", dest="alg", type=int, default=default, choices=sorted(W_ALGORITHMS),
                   help=W_HELP + f" ({default})")
    p.add_argument("-f", dest="cache", type=integer(0, 10000, "an integer 0..10000"), default=5,
                   help="constraints cached per example for -w 4 (5)")


def algorithm_of(args) -> tuple[str, int]:
    """(algorithm name, cache size) for parsed ``-w`` / ``-f``."""
    name, cache = W_ALGORITHMS[args.alg]
    return name, (args.cache if cache is None else cache)


# ------------------------------------------------------------------------ the parser
def _looks_like_number(token: str) -> bool:
    try:
        float(token)
        return True
    except ValueError:
        return False


class CommandParser(argparse.ArgumentParser):
    """An ArgumentParser with one-line errors, named unknown options and path checks.

    ``foreign``: options of the C tools structpred does not offer (option -> what it does),
    named in the error.
    """

    def __init__(self, *args, foreign=None, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        self.foreign = foreign or {}

    # argparse's exits -> exceptions the command runner turns into a status
    def error(self, message):
        """A usage error: raised as UsageError (one line on stderr, exit status 2) instead of argparse's usage block and exit."""
        raise UsageError(f"{self.prog}: error: {' '.join(str(message).split())} "
                         f"(see {self.prog} --help)")

    def exit(self, status=0, message=None):
        """argparse's exit (after --help or --version): writes ``message`` and raises CommandExit(status), which the command runner turns into the exit status."""
        if message:
            (sys.stderr if status else sys.stdout).write(message)
        raise CommandExit(status)

    def _subparsers_action(self):
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                return action
        return None

    def _reject_unknown(self, argv):
        """Name the first option this parser does not know (argparse would report its value,
        or take a lone ``-y`` for a file name)."""
        takes_value, known = {}, set()
        for action in self._actions:
            for opt in action.option_strings:
                known.add(opt)
                takes_value[opt] = action.nargs != 0
        i = 0
        while i < len(argv):
            tok = argv[i]
            if tok == "--":
                break
            if tok.startswith("-") and len(tok) > 1 and not _looks_like_number(tok):
                name = tok.split("=", 1)[0]
                if name in known:
                    i += 2 if takes_value[name] and "=" not in tok else 1
                    continue
                if len(tok) > 2 and tok[:2] in known and not tok.startswith("--") \
                        and takes_value[tok[:2]]:
                    i += 1          # attached value: -c10
                    continue
                supported = " ".join(sorted(o for o in known if o not in ("-h", "--help")
                                            and not self._hidden(o)))
                what = self.foreign.get(name)
                why = (f"{name} ({what}) is an option of svm_hmm / SVM-struct that structpred "
                       "does not support" if what else f"unknown option {name}")
                raise UsageError(f"{self.prog}: error: {why}; supported options: {supported} "
                                 f"(see {self.prog} --help)")
            i += 1

    def _hidden(self, opt) -> bool:
        for action in self._actions:
            if opt in action.option_strings:
                return action.help == argparse.SUPPRESS
        return False

    def parse_args(self, args=None, namespace=None):
        """Parse ``args`` like argparse, naming an unknown option itself (never blaming a positional file)."""
        args = sys.argv[1:] if args is None else [str(a) for a in args]
        if self._subparsers_action() is None and "-h" not in args and "--help" not in args:
            self._reject_unknown(args)
        ns = super().parse_args(args, namespace)
        if getattr(self, "structpred_C_required", False) and getattr(ns, "C", None) is None:
            self.error("the following arguments are required: -c")
        self.check_paths(ns)
        return ns

    def path_actions(self, ns=None):
        """(action, parser) for every path option of this parser and, when ``ns`` names one,
        of the chosen subcommand's parser."""
        out = [(a, self) for a in self._actions if isinstance(a.type, _PathType)]
        sub = self._subparsers_action()
        if sub is not None and ns is not None:
            chosen = sub.choices.get(getattr(ns, sub.dest, None))
            if chosen is not None:
                out += [(a, chosen) for a in chosen._actions if isinstance(a.type, _PathType)]
        return out

    def check_paths(self, ns):
        """Inputs readable (model files regular), outputs writable and never an input."""
        inputs = []
        actions = self.path_actions(ns)
        for action, _ in actions:
            if isinstance(action.type, InputFile):
                values = getattr(ns, action.dest, None)
                for v in values if isinstance(values, (list, tuple)) else [values]:
                    if v is None:
                        continue
                    try:
                        check_input_path(v, action.type.what, regular=isinstance(action.type, ModelFile))
                    except PathError as exc:
                        raise UsageError(f"{self.prog}: error: {exc}") from None
                    inputs.append((action.type.what, v))
        for action, _ in actions:
            value = getattr(ns, action.dest, None)
            if value is None:
                continue
            try:
                if isinstance(action.type, OutputFile):
                    check_output_path(value, action.type.what, inputs=inputs)
                elif isinstance(action.type, OutputDir):
                    if os.path.exists(value) and not os.path.isdir(value):
                        raise PathError(f"{action.type.what} {value}: exists and is not a folder",
                                        value)
                    for what, v in inputs:
                        if os.path.exists(value) and os.path.samefile(value, v):
                            raise PathError(f"{action.type.what} {value}: is the {what}", value)
            except PathError as exc:
                raise UsageError(f"{self.prog}: error: {exc}") from None


# ------------------------------------------------------------------------ running
class _GuardedStdout:
    """sys.stdout stand-in that survives a closed pipe: the first EPIPE marks it broken and
    later writes are dropped, unless ``strict`` (stdout carries the command's output), when
    the BrokenPipeError propagates and ends the command."""

    def __init__(self, stream):
        self._stream = stream
        self.broken = False
        self.strict = False

    def _guard(self, fn, *args):
        if self.broken:
            if self.strict:
                raise BrokenPipeError(errno.EPIPE, "Broken pipe")
            return None
        try:
            return fn(*args)
        except BrokenPipeError:
            self._on_broken()
            if self.strict:
                raise
            return None
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise
            self._on_broken()
            if self.strict:
                raise BrokenPipeError(errno.EPIPE, "Broken pipe") from None
            return None

    def _on_broken(self):
        self.broken = True
        try:                     # nothing more may reach the closed pipe, at exit either
            if self._stream is sys.__stdout__ and self._stream.fileno() == 1:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 1)
                os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass

    def write(self, text):
        out = self._guard(self._stream.write, text)
        return len(text) if out is None else out

    def flush(self):
        self._guard(self._stream.flush)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def stdout_is_output() -> None:
    """Declare that stdout carries this command's output (a broken pipe then ends it)."""
    if isinstance(sys.stdout, _GuardedStdout):
        sys.stdout.strict = True


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def fail(prog: str, message: str, code: int = 1) -> int:
    """Write ``prog: error: message`` (one line) on stderr; return ``code``."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
    sys.stderr.write(f"{prog}: error: {_one_line(message)}\n")
    sys.stderr.flush()
    return code


def _describe_os_error(exc: OSError) -> str:
    what = exc.strerror or str(exc)
    names = [n for n in (exc.filename, getattr(exc, "filename2", None)) if n]
    text = f"{names[0]}: {what}" if names else what
    if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        text += " (the previous file, if any, is unchanged)"
    return text


def run_command(prog: str, body, argv) -> int:
    """Run ``body(argv)`` under the one error path (see the module docstring); its return
    value (None = 0) is the exit status."""
    saved = sys.stdout
    guarded = _GuardedStdout(saved) if not isinstance(saved, _GuardedStdout) else saved
    sys.stdout = guarded
    try:
        return int(body(list(argv)) or 0)
    except CommandExit as exc:
        return int(exc.code)
    except SystemExit as exc:          # a body calling sys.exit: keep its status
        code = exc.code
        if code is None or isinstance(code, int):
            return int(code or 0)
        return fail(prog, str(code))
    except UsageError as exc:
        sys.stderr.write(_one_line(str(exc)) + "\n")
        return 2
    except PathError as exc:
        return fail(prog, str(exc), 2)
    except BrokenPipeError:
        if guarded.strict or guarded.broken:
            return fail(prog, "standard output was closed (broken pipe); output incomplete")
        return fail(prog, "a pipe was closed (broken pipe)")
    except KeyboardInterrupt:
        return fail(prog, "interrupted (Ctrl-C)", 130)
    except MemoryError:
        return fail(prog, "out of memory")
    except RecursionError:
        return fail(prog, "input nested too deeply (recursion limit)")
    except OSError as exc:
        return fail(prog, _describe_os_error(exc))
    except (ValueError, NotImplementedError) as exc:
        return fail(prog, str(exc) or type(exc).__name__)
    except Exception as exc:  # noqa: BLE001 - the last line of the one error path
        if os.environ.get("STRUCTPRED_TRACEBACK"):
            raise
        return fail(prog, f"internal error ({type(exc).__name__}: {exc}); this is a bug in "
                          "structpred: please report it (STRUCTPRED_TRACEBACK=1 shows where)", 70)
    finally:
        try:
            sys.stdout.flush()
        except (OSError, ValueError):
            pass
        sys.stdout = saved
