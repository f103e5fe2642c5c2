"""The hostile battery over the command table itself.

Every parser behind every command of ``structpred.cli.COMMANDS`` (found through each entry's
invocations function, with an example command line) gets every one of its options with bad
values (nan, ±inf, -1, 0, 1e9, 1e308, strings, empty) and every path option its faults (a
folder, a missing folder, /dev/full, a FIFO, an input as output). Each run must end with exit
status 0, 1 or 2; on failure exactly one line on stderr and no traceback; a value that cannot
be a number (nan, inf, a word, empty) for a typed option, or a choice outside the choices, is
refused as a usage error (2) before any output is written; a path fault is refused before any
work and never harms an input. A command added to the table is covered with no new test.
``test_careless_toy_command_is_caught`` shows the battery failing a command that skips the
shared parser and error path.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import structpred.cli as cli
from structpred.cli.base import _PathType

from test_sequence_cli import toy

ROOT = Path(__file__).resolve().parents[1]
BAD_VALUES = ["nan", "inf", "-inf", "-1", "0", "1e9", "1e308", "abc", ""]
NOT_A_NUMBER = {"nan", "inf", "-inf", "abc", ""}
HANG_GUARD_S = 60          # a case still running after this is reported as a hang

TREES = [
    "( (S (NP (DT the) (NN cat)) (VP (VBD sat) (PP (IN on) (NP (DT the) (NN mat)))) (. .)) )",
    "( (S (NP (DT a) (NN dog)) (VP (VBD saw) (NP (DT the) (NN cat))) (. .)) )",
    "( (S (NP (PRP it)) (VP (VBD slept)) (. .)) )",
    "( (S (NP (DT the) (NN dog)) (VP (VBD ate) (NP (DT a) (NN bone))) (. .)) )",
    "( (S (NP (DT a) (NN cat)) (VP (VBD sat)) (. .)) )",
]


def _docs(rng, n):
    words = "jaguar car cat speed jungle engine fur price road tree".split()
    return [" ".join(rng.choice(words, size=6)) for _ in range(n)]


# ------------------------------------------------------------------------ fixture files
@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The files the example command lines name by ``{field}``."""
    from structpred.datasets.letor import write_letor
    from structpred.datasets.svmhmm import write_svmhmm
    d = tmp_path_factory.mktemp("battery")
    rng = np.random.default_rng(0)
    X, Y = toy(rng, 12, max_len=4)
    write_svmhmm(d / "seq.dat", X, Y)
    Xr = [rng.normal(size=(4, 3)) for _ in range(8)]
    write_letor(d / "rank.dat", Xr, [rng.integers(0, 3, size=4).astype(float) for _ in Xr])
    clicks = []
    for x in Xr:
        g = np.zeros(x.shape[0])
        g[int(np.argmax(x[:, 0]))] = 1
        clicks.append(g)
    write_letor(d / "clicks.dat", Xr, clicks, costs=rng.uniform(1, 3, size=len(Xr)))
    (d / "trees.mrg").write_text("\n".join(TREES) + "\n")
    with open(d / "div.jsonl", "w") as fh:
        for q in range(6):
            subs = [[str(rng.integers(0, 3))] for _ in range(5)]
            fh.write(json.dumps({"id": f"q{q}", "query": "jaguar", "documents": _docs(rng, 5),
                                 "subtopics": subs}) + "\n")
    out = {"seq_train": str(d / "seq.dat"), "rank_train": str(d / "rank.dat"),
           "click_train": str(d / "clicks.dat"), "mrg": str(d / "trees.mrg"),
           "div_data": str(d / "div.jsonl")}
    for name, argv in [("seq_model", ["learn", "-c", "1", "-v", "0", out["seq_train"]]),
                       ("rank_model", ["learn", "--task", "rank", "-v", "0", out["rank_train"]]),
                       ("parse_model", ["parse", "train", "{model}", out["mrg"], "-v", "0",
                                        "--max-iter", "3"]),
                       ("div_model", ["diversify", "train", out["div_data"], "-m", "{model}",
                                      "-c", "1", "--k", "2"])]:
        path = str(d / f"{name}.npz")
        argv = [a.replace("{model}", path) for a in argv]
        if "{model}" not in " ".join(argv) and path not in argv:
            argv.append(path)
        rc, _, err = _run(argv)
        assert rc == 0 and os.path.exists(path), (argv, err)
        out[name] = path
    out["_dir"] = str(d)
    return out


@pytest.fixture(autouse=True)
def small_bench(monkeypatch):
    """bench runs a 60-example digits task, so the battery stays fast."""
    from structpred.bench import tasks
    monkeypatch.setitem(tasks.QUICK_SIZES, "multiclass-digits", (40, 20))


# ------------------------------------------------------------------------ running a case
class _Hang(BaseException):
    pass


def _alarm(signum, frame):
    raise _Hang()


def _run(argv, main=None):
    """Run ``structpred ARGV`` in-process: (exit status, stdout, stderr). A SystemExit or an
    exception escaping main is returned as status "raised:<type>" (a battery failure)."""
    out, err = io.StringIO(), io.StringIO()
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(HANG_GUARD_S)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = (main or cli.main)(list(argv))
            except SystemExit as exc:
                rc = f"raised:SystemExit({exc.code})"
            except _Hang:
                rc = "hang"
            except BaseException as exc:  # noqa: BLE001 - recorded as a failure
                import traceback
                traceback.print_exc()
                rc = f"raised:{type(exc).__name__}"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    if os.environ.get("STRUCTPRED_BATTERY_LOG"):        # outcome counts for the closing note
        with open(os.environ["STRUCTPRED_BATTERY_LOG"], "a") as fh:
            fh.write(json.dumps({"argv": list(argv), "rc": rc}) + "\n")
    return rc, out.getvalue(), err.getvalue()


def _fill(argv, files, out_path):
    fields = dict(files, out=out_path, outdir=out_path + "_dir")
    try:
        return [a.format(**fields) if "{" in a else a for a in argv]
    except KeyError as exc:
        raise AssertionError(f"example command line names {exc}, a file the battery does not "
                             "make: add it to the `files` fixture") from None


def _without(argv, action):
    """``argv`` without ``action``'s option and the values that follow it."""
    out, i = [], 0
    while i < len(argv):
        if argv[i] in action.option_strings:
            i += 1
            while i < len(argv) and action.nargs != 0 and not argv[i].startswith("-"):
                i += 1
                if action.nargs in (None, "?"):
                    break
            continue
        out.append(argv[i])
        i += 1
    return out


def _parser_for(parser, example):
    """The (sub)parser the example command line reaches."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for tok in example[1:]:
                if tok in action.choices:
                    return action.choices[tok]
    return parser


def _digest(paths):
    return {p: hashlib.sha1(Path(p).read_bytes()).hexdigest() for p in paths
            if os.path.isfile(p)}


def _problems(rc, out, err, *, must_refuse=False, before_work_path=None):
    """What is wrong with one run (empty list: nothing)."""
    bad = []
    if rc == "hang":
        return [f"no answer within {HANG_GUARD_S} s"]
    if not isinstance(rc, int):
        bad.append(f"main did not return a status ({rc})")
    elif rc not in (0, 1, 2):
        bad.append(f"exit status {rc}")
    if "Traceback" in err or "Traceback" in out:
        bad.append("traceback")
    if rc != 0:
        lines = [ln for ln in err.splitlines() if ln.strip()]
        if len(lines) != 1:
            bad.append(f"{len(lines)} stderr lines, not one: {err[:300]!r}")
        elif ": error: " not in lines[0]:
            bad.append(f"stderr is not 'structpred CMD: error: ...': {lines[0][:200]!r}")
    if must_refuse and rc != 2:
        bad.append(f"expected a usage error (2), got {rc}")
    if must_refuse and before_work_path and os.path.exists(before_work_path):
        bad.append("output written although the command line was refused")
    return bad


def _value_cases(invocations):
    cases = []
    for cmd, name, parser, example in invocations:
        sub = _parser_for(parser, example)
        for action in sub._actions:
            if not action.option_strings or action.dest in ("help", "version"):
                continue
            opt = action.option_strings[0]
            if isinstance(action.type, _PathType):
                continue                  # path options get the path faults below
            if action.nargs == 0:
                cases.append((cmd, name, example, action, opt, None))
                continue
            for value in BAD_VALUES:
                cases.append((cmd, name, example, action, opt, value))
    return cases


def _path_cases(invocations):
    cases = []
    for cmd, name, parser, example in invocations:
        sub = _parser_for(parser, example)
        for action in sub._actions:
            if isinstance(action.type, _PathType):
                for fault in _FAULTS[action.type.role]:
                    cases.append((cmd, name, example, action, fault))
    return cases


_FAULTS = {"output": ["folder", "missing-folder", "dev-full", "an-input", "empty"],
           "output-dir": ["a-file", "dev-full"],
           "input": ["missing", "folder", "empty"],
           "model": ["missing", "folder", "fifo", "not-a-model", "other-task"]}


def _option_argv(example, action, opt, value, files, out_path):
    argv = _without(_fill(example, files, out_path), action)
    if value is None:
        return argv + [opt]
    if action.nargs == 0:
        return argv + [opt]
    return argv + [f"{opt}={value}"] if value.startswith("-") or value == "" else argv + [opt, value]


def check_value_case(case, files, tmp_path):
    cmd, name, example, action, opt, value = case
    out_path = str(tmp_path / "out")
    argv = _option_argv(example, action, opt, value, files, out_path)
    inputs = [v for v in argv if v in files.values()]
    before = _digest(inputs)
    rc, out, err = _run(argv)
    typed = action.type not in (None, str) and not isinstance(action.type, _PathType)
    refuse = value is not None and (
        (typed and value in NOT_A_NUMBER)
        or (action.choices is not None and value not in [str(c) for c in action.choices]))
    bad = _problems(rc, out, err, must_refuse=refuse, before_work_path=out_path)
    if _digest(inputs) != before:
        bad.append("an input file changed")
    return argv, bad


def _fault_value(fault, files, tmp_path, example_argv, action):
    d = tmp_path
    if fault == "folder":
        return str(d)
    if fault == "missing-folder":
        return str(d / "no" / "such" / "x")
    if fault in ("dev-full",):
        return "/dev/full"
    if fault == "empty":
        return ""
    if fault == "missing":
        return str(d / "absent.dat")
    if fault == "a-file":
        p = d / "plain.txt"
        p.write_text("x")
        return str(p)
    if fault == "fifo":
        p = d / "fifo.npz"
        if not p.exists():
            os.mkfifo(p)
        return str(p)
    if fault == "not-a-model":
        return files["seq_train"]
    if fault == "other-task":     # a model this command does not apply
        own = {v: k for k, v in files.items()}.get(_value_of(example_argv, action)) or \
            next((files_k for files_k, v in files.items() if v in example_argv
                  and files_k.endswith("_model")), None)
        return files["seq_model"] if own == "parse_model" else files["parse_model"]
    if fault == "an-input":
        ins = [v for v in example_argv if v in files.values() and not v.endswith(".npz")]
        return ins[0] if ins else None
    raise AssertionError(fault)


def _value_of(argv, action):
    for i, tok in enumerate(argv):
        if tok in action.option_strings and i + 1 < len(argv):
            return argv[i + 1]
    return None


def _replace_path(argv, example, action, value, files, out_path):
    """Put ``value`` where the example has ``action``'s path (option or positional)."""
    filled = _fill(example, files, out_path)
    if action.option_strings:
        return _without(filled, action) + [action.option_strings[0], value]
    # positional: the example token that is a {field} for this action, found by role order
    sub_positional = [a for a in _parser_for_positional(action)]
    idx = sub_positional.index(action)
    tokens = [i for i, t in enumerate(example) if t.startswith("{") and t.endswith("}")
              and not _is_option_value(example, i)]
    argv = list(filled)
    argv[tokens[idx]] = value
    return argv


def _is_option_value(argv, i):
    return i > 0 and argv[i - 1].startswith("-") and not argv[i - 1][1:2].isdigit()


_POSITIONALS = {}


def _parser_for_positional(action):
    return _POSITIONALS[id(action)]


def check_path_case(case, files, tmp_path):
    cmd, name, example, action, fault = case
    out_path = str(tmp_path / "out")
    value = _fault_value(fault, files, tmp_path, _fill(example, files, out_path), action)
    if value is None:
        pytest.skip("the example has no input to use as output")
    argv = _replace_path(example, example, action, value, files, out_path)
    inputs = [v for v in argv if v in files.values()]
    before = _digest(inputs)
    rc, out, err = _run(argv)
    role = action.type.role
    # path faults are knowable at the start: usage error (2); a model of another task or a
    # file that is not a model at all is found on loading it (1 or 2)
    refuse = fault not in ("other-task", "not-a-model")
    bad = _problems(rc, out, err, must_refuse=refuse)
    if fault in ("other-task", "not-a-model") and rc == 0:
        bad.append("a model of another kind was accepted")
    if role == "output" and os.path.exists(out_path):
        bad.append("the example's output was written although the path was refused")
    if _digest(inputs) != before:
        bad.append("an input file changed")
    return argv, bad


# ------------------------------------------------------------------------ parametrization
INVOCATIONS = cli.invocations()
for _cmd, _name, _parser, _example in INVOCATIONS:
    _sub = _parser_for(_parser, _example)
    _pos = [a for a in _sub._actions if not a.option_strings and isinstance(a.type, _PathType)]
    for _a in _pos:
        _POSITIONALS[id(_a)] = _pos
VALUE_CASES = _value_cases(INVOCATIONS)
PATH_CASES = _path_cases(INVOCATIONS)


def _vid(case):
    cmd, name, example, action, opt, value = case
    return f"{name}|{opt}|{'<flag>' if value is None else value or '<empty>'}"


def _pid(case):
    cmd, name, example, action, fault = case
    return f"{name}|{action.option_strings[0] if action.option_strings else action.dest}|{fault}"


def test_every_command_is_in_the_battery():
    assert {example[0] for *_, example in INVOCATIONS} == set(cli.COMMANDS)


@pytest.mark.parametrize("case", VALUE_CASES, ids=[_vid(c) for c in VALUE_CASES])
def test_option_values(case, files, tmp_path):
    argv, bad = check_value_case(case, files, tmp_path)
    assert not bad, f"structpred {' '.join(argv)}: {'; '.join(bad)}"


@pytest.mark.parametrize("case", PATH_CASES, ids=[_pid(c) for c in PATH_CASES])
def test_path_faults(case, files, tmp_path):
    argv, bad = check_path_case(case, files, tmp_path)
    assert not bad, f"structpred {' '.join(argv)}: {'; '.join(bad)}"


@pytest.mark.parametrize("inv", INVOCATIONS, ids=[i[1] for i in INVOCATIONS])
def test_examples_run_and_every_option_has_help(inv, files, tmp_path):
    cmd, name, parser, example = inv
    rc, out, err = _run(_fill(example, files, str(tmp_path / "out")))
    assert rc == 0, err
    sub = _parser_for(parser, example)
    missing = [a.option_strings[0] if a.option_strings else a.dest for a in sub._actions
               if a.help is None and a.dest != "help"]
    assert not missing, f"{name}: options without help text: {missing}"
    opts = {o for a in sub._actions for o in a.option_strings}
    assert "-c" in opts and "--n-jobs" in opts, f"{name} lacks -c or --n-jobs"


# ------------------------------------------------------------------------ the careless toy
def _toy_main(argv):
    """A command written without the shared parser and error path."""
    p = argparse.ArgumentParser(prog="structpred toy")
    p.add_argument("--rate", type=float, default=1.0, help="a rate")
    p.add_argument("output")
    args = p.parse_args(argv)
    with open(args.output, "w") as fh:
        fh.write(f"{1 / args.rate}\n")
    return 0


def _toy_invocations():
    p = argparse.ArgumentParser(prog="structpred toy")
    p.add_argument("--rate", type=float, default=1.0, help="a rate")
    p.add_argument("output", help="output")
    return [("toy", p, ["toy", "{out}"])]


def test_careless_toy_command_is_caught(monkeypatch, files, tmp_path):
    monkeypatch.setitem(cli.COMMANDS, "toy", (__name__, "_toy_main", "a careless toy",
                                              f"{__name__}:_toy_invocations"))
    invs = cli.invocations({"toy": cli.COMMANDS["toy"]})
    failures = []
    for i, case in enumerate(_value_cases(invs)):
        d = tmp_path / f"v{i}"
        d.mkdir()
        argv, bad = check_value_case(case, files, d)
        failures += [(argv, b) for b in bad]
    kinds = " | ".join(b for _, b in failures)
    assert "expected a usage error (2), got 0" in kinds     # --rate nan / inf accepted
    assert "exit status 70" in kinds                       # --rate 0: ZeroDivisionError, a bug
    assert "stderr lines, not one" in kinds                # argparse's usage block


# ------------------------------------------------------------------------ streams
def _cli(args, cwd, **kw):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "structpred", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, **kw)


def test_closed_stdout_keeps_the_model(files, tmp_path):
    """`structpred learn ... | head -1`: no traceback, and the model is still written."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    model = tmp_path / "m.npz"
    proc = subprocess.Popen([sys.executable, "-m", "structpred", "learn", "-c", "1", "-w", "4",
                             "-e", "0.0001", files["seq_train"], str(model)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()                                   # what `head -1` does
    err = proc.stderr.read().decode()
    rc = proc.wait(timeout=300)
    assert "Traceback" not in err and rc == 0, err
    assert model.exists()


def test_closed_stdout_ends_apply_with_one_line(files, tmp_path):
    """`structpred diversify apply ... | head -1`: the output stream broke: one line, exit 1."""
    big = tmp_path / "big.jsonl"
    rows = Path(files["div_data"]).read_text().splitlines()
    big.write_text("\n".join(rows * 400) + "\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "structpred", "diversify", "apply", str(big),
                             "-m", files["div_model"]], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline().decode().startswith("query_id\tposition")
    proc.stdout.close()
    err = proc.stderr.read().decode()
    rc = proc.wait(timeout=300)
    assert "Traceback" not in err and rc in (0, 1), err
    assert len([ln for ln in err.splitlines() if ln.strip()]) <= 1, err


@pytest.mark.parametrize("task,field", [("sequence", "seq_train"),
                                        pytest.param("rank", "rank_train",
                                                     marks=pytest.mark.slow)])
def test_pipes_as_training_files(files, tmp_path, task, field):
    """`learn /dev/stdin` and `learn <(zcat f.gz)` train the same model as the file."""
    src = files[field]
    extra = [] if task == "sequence" else ["--task", "rank"]
    assert _cli(["learn", *extra, "-c", "1", "-v", "0", src, str(tmp_path / "a.npz")],
                tmp_path).returncode == 0
    with open(src, "rb") as fh:
        out = _cli(["learn", *extra, "-c", "1", "-v", "0", "/dev/stdin", str(tmp_path / "b.npz")],
                   tmp_path, stdin=fh)
    assert out.returncode == 0, out.stderr
    import gzip
    (tmp_path / "f.gz").write_bytes(gzip.compress(Path(src).read_bytes()))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(["bash", "-c", f"{sys.executable} -m structpred learn {' '.join(extra)} "
                          f"-c 1 -v 0 <(zcat {tmp_path / 'f.gz'}) {tmp_path / 'c.npz'}"],
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    from structpred import load
    a, b, c = (load(tmp_path / f"{k}.npz").w_ for k in "abc")
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


def test_file_size_limit_during_save_keeps_previous_model(files, tmp_path):
    """learn under RLIMIT_FSIZE: exit 1, one line naming the model file, old model intact."""
    model = tmp_path / "m.npz"
    model.write_bytes(b"previous")
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_FSIZE, (300, 300)); "
            "from structpred.cli import main; "
            f"sys.exit(main(['learn', '-c', '1', '-v', '0', {files['seq_train']!r}, {str(model)!r}]))")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300)
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert out.returncode == 1 and len(lines) == 1 and str(model) in lines[0], out.stderr
    assert "File too large" in lines[0] and model.read_bytes() == b"previous"


def test_diversify_tsv_has_a_header(files, tmp_path):
    rc, out, err = _run(["diversify", "apply", files["div_data"], "-m", files["div_model"],
                         "-o", str(tmp_path / "r.tsv")])
    assert rc == 0, err
    lines = (tmp_path / "r.tsv").read_text().splitlines()
    assert lines[0] == "query_id\tposition\tdocument_index\tdocument_id"
    assert len(lines) == 1 + 6 * 2 and all(len(ln.split("\t")) == 4 for ln in lines)


def test_old_spellings_are_hidden_aliases(files, tmp_path):
    rc, _, err = _run(["learn", "--C", "2", "--n_jobs", "1", "-v", "0", files["seq_train"],
                       str(tmp_path / "m.npz")])
    assert rc == 0, err
    from structpred import load
    svm = load(tmp_path / "m.npz")
    assert svm.C == 2.0
    rc, help_text, _ = _run(["learn", "--help"])
    assert rc == 0 and "--n_jobs" not in help_text and "--C " not in help_text
    rc, _, err = _run(["diversify", "train", files["div_data"], "-m", str(tmp_path / "d.npz"),
                       "--C", "1", "--jobs", "1", "--k", "2", "--eps", "0.1"])
    assert rc == 0, err


def test_classify_help_covers_every_model_kind():
    from structpred.cli.svmstruct import CLASSIFY_BY_MODEL, OTHER_MODEL_COMMANDS
    from structpred.persistence import BUILTIN_TASKS
    rc, text, _ = _run(["classify", "--help"])
    text = " ".join(text.split())
    assert rc == 0 and "svm_hmm" in text and "svm_rank" in text
    for name in BUILTIN_TASKS:
        assert name in CLASSIFY_BY_MODEL or name in text, name
    assert set(BUILTIN_TASKS) <= set(CLASSIFY_BY_MODEL) | set(OTHER_MODEL_COMMANDS)


def test_ranking_default_solver_is_the_same_in_python_and_cli(files, tmp_path):
    from structpred import StructuredSVM, load
    from structpred.tasks.ranking import Ranking
    rc, _, err = _run(["learn", "--task", "rank", "-v", "0", files["rank_train"],
                       str(tmp_path / "m.npz")])
    assert rc == 0, err
    assert load(tmp_path / "m.npz").algorithm == StructuredSVM(Ranking()).algorithm == "n-slack"
