"""structpred learn / classify behave like svm_hmm's programs: one report on stdout, option
values and output paths refused by name before any data is read, svm_hmm-only options named,
svm_hmm model files recognised, interrupted models flagged."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import structpred
from structpred.cli import main as cli_main
from structpred.cli import svmstruct
from structpred.cli.svmstruct import classify_main, learn_main
from structpred.datasets.svmhmm import write_svmhmm

from test_sequence_cli import toy

ROOT = Path(__file__).resolve().parents[1]


def _toy(n, seed=0):
    return toy(np.random.default_rng(seed), n, max_len=5)


@pytest.fixture
def d(tmp_path):
    X, Y = _toy(30)
    write_svmhmm(tmp_path / "train.dat", X, Y)
    write_svmhmm(tmp_path / "one.dat", X[:1], Y[:1])
    return tmp_path


@pytest.fixture
def no_reading(monkeypatch):
    """Fail the test if any data file is read."""
    import structpred.datasets.svmhmm as io

    def boom(*a, **k):
        raise AssertionError("data was read before the options were checked")
    monkeypatch.setattr(io, "read_svmhmm", boom)


# --------------------------------------------------------------------- option values
@pytest.mark.parametrize("opt,value", [("-e", "0"), ("-e", "-1"), ("-e", "nan"), ("-c", "nan"),
                                       ("-c", "inf"), ("-c", "0"), ("-c", "-2"), ("-c", "x"),
                                       ("-f", "-3"), ("-f", "1.5"), ("-#", "0"), ("-#", "-5"),
                                       ("-v", "-1"), ("--n_jobs", "0")])
def test_bad_option_values_rejected_by_name_before_reading(d, capsys, no_reading, opt, value):
    argv = ["-c", "1", opt, value, str(d / "train.dat"), str(d / "m.npz")]
    if opt == "-c":
        argv = argv[2:]
    assert learn_main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert f"argument {opt}" in err and repr(value) in err
    assert not (d / "m.npz").exists()


@pytest.mark.parametrize("opt", ["-y", "-m", "-p", "-t", "-k", "-q", "-n", "-b", "-d", "-g"])
def test_svm_hmm_only_options_named_with_supported_list(d, capsys, no_reading, opt):
    assert learn_main(["-c", "1", opt, "3", str(d / "train.dat"), str(d / "m.npz")]) == 2
    err = capsys.readouterr().err
    assert f"error: {opt} (" in err and "svm_hmm / SVM-struct that structpred does not support" in err
    assert "supported options:" in err and "-c" in err and "--t" in err
    assert "unrecognized arguments" not in err


def test_unknown_option_named(d, capsys, no_reading):
    assert classify_main(["--frobnicate", str(d / "one.dat"), "m", "out"]) == 2
    assert "unknown option --frobnicate; supported options:" in capsys.readouterr().err


def test_unwritable_model_path_refused_before_training(d, capsys, no_reading):
    rc = learn_main(["-c", "1", str(d / "train.dat"), str(d / "missing" / "m.npz")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "model file" in err and "missing" in err and "does not exist" in err
    rc = learn_main(["-c", "1", str(d / "train.dat"), str(d)])      # a folder
    assert rc == 2 and "is a folder" in capsys.readouterr().err
    rc = learn_main(["-c", "1", str(d / "nope.dat"), str(d / "m.npz")])
    assert rc == 2 and "training file" in capsys.readouterr().err


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes anywhere")
def test_read_only_folder_refused_before_training(d, capsys, no_reading):
    ro = d / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        rc = learn_main(["-c", "1", str(d / "train.dat"), str(ro / "m.npz")])
    finally:
        ro.chmod(0o755)
    assert rc == 2 and "not writable" in capsys.readouterr().err


def test_classify_into_missing_folder_refused_before_predicting(d, capsys, monkeypatch):
    assert learn_main(["-c", "10", "-v", "0", str(d / "train.dat"), str(d / "m.npz")]) == 0
    capsys.readouterr()
    monkeypatch.setattr(structpred, "load", lambda *a: pytest.fail("model loaded"))
    rc = classify_main([str(d / "train.dat"), str(d / "m.npz"), str(d / "no" / "pred.txt")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "output file" in err and "does not exist" in err


def test_svm_hmm_text_model_gets_its_own_message(d, capsys):
    model = d / "svmhmm.model"
    model.write_text("SVM-HMM Version V3.10\n1 # order of transitions\n")
    rc = classify_main([str(d / "one.dat"), str(model), str(d / "pred.txt")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "is an svm_hmm model file" in err and "structpred learn" in err
    assert "pickle" not in err.lower()
    assert not (d / "pred.txt").exists()


# --------------------------------------------------------------------- the report
def test_report_is_one_stream_and_singular_counts(d, capsys):
    assert learn_main(["-c", "10", "-#", "1", str(d / "one.dat"), str(d / "m.npz")]) == 0
    cap = capsys.readouterr()
    assert cap.err == ""
    out = cap.out
    assert re.search(r"^Read 1 sequence, \d+ tokens", out, re.M)
    assert "stopped at max_iter after 1 iterations" in out and "time shares:" in out
    assert "Training: 1 iteration," in out and "Runtime:" in out
    # the max_iter warning, on one line, without a source line
    warning = [ln for ln in out.splitlines() if ln.startswith("Warning")]
    assert warning == ["Warning (RuntimeWarning): n-slack (dcd) did not reach eps=0.1 in "
                       "max_iter=1 passes"]


def test_warnings_shown_at_verbosity_zero(d, capsys):
    assert learn_main(["-c", "10", "-v", "0", "-#", "1", str(d / "one.dat"), str(d / "m.npz")]) == 0
    cap = capsys.readouterr()
    assert cap.out.splitlines() == ["Warning (RuntimeWarning): n-slack (dcd) did not reach "
                                    "eps=0.1 in max_iter=1 passes"]
    assert cap.err == ""


def _run(args, merge):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "structpred", *args], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT if merge else subprocess.PIPE, text=True)
    return proc


def test_redirected_report_same_with_and_without_stderr(d):
    """`learn ... > log` and `learn ... > log 2>&1` hold the same report."""
    args = ["learn", "-c", "10", "-e", "0.01", str(d / "train.dat"), str(d / "m.npz")]
    alone, merged = _run(args, merge=False), _run(args, merge=True)
    assert alone.returncode == merged.returncode == 0
    assert alone.stderr == ""

    def shape(text):      # times (and so the order of the time shares) differ between runs
        text = re.sub(r"\d+\.\d+(e[-+]?\d+)?%?", "T", text)
        return re.sub(r"time shares: (.*)", lambda m: "time shares: " + ", ".join(
            sorted(m.group(1).split(", "))), text)
    assert shape(alone.stdout) == shape(merged.stdout)
    for needle in ("Read 30 sequences", "iter", "converged after", "time shares:",
                   "Training:", "Runtime:", "Model written"):
        assert needle in alone.stdout


# --------------------------------------------------------------------- misc
def test_version_and_help_in_plain_words(capsys):
    assert cli_main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"structpred {structpred.__version__}"
    assert learn_main(["--version"]) == 0
    assert structpred.__version__ in capsys.readouterr().out
    for argv in (["learn", "--help"], ["classify", "--help"], ["parse", "--help"],
                 ["diversify", "--help"], ["--help"]):
        assert cli_main(argv) == 0
        out = capsys.readouterr().out
        assert "usage" in out and "``" not in out and ":class:" not in out, argv


def test_rank_is_a_deprecated_alias_of_diversify(capsys):
    assert cli_main(["rank", "--help"]) == 0
    cap = capsys.readouterr()
    assert "'rank' is now 'diversify'" in cap.err and "structpred diversify" in cap.out


def test_task_option_dispatches(d, monkeypatch, capsys):
    seen = {}
    monkeypatch.setitem(svmstruct.LEARN_TASKS, "toy", "structpred.cli.svmstruct:_toy_handler")
    monkeypatch.setattr(svmstruct, "_toy_handler", lambda args: seen.setdefault("args", args) and 0,
                        raising=False)
    assert learn_main(["-c", "2", "--task", "toy", str(d / "train.dat"), str(d / "m.npz")]) == 0
    assert seen["args"].task == "toy" and seen["args"].C == 2.0
    assert learn_main(["-c", "2", "--task", "nope", str(d / "train.dat"), str(d / "m.npz")]) == 2
    assert "--task" in capsys.readouterr().err


def test_classify_prints_interrupted_state(d, capsys, monkeypatch):
    assert learn_main(["-c", "10", "-v", "0", str(d / "train.dat"), str(d / "m.npz")]) == 0
    svm = structpred.load(d / "m.npz")
    svm.interrupted_, svm.n_iter_, svm.duality_gap_ = True, 2, 31.5
    svm.w_ = np.zeros_like(svm.w_)
    monkeypatch.setattr(structpred, "load", lambda path: svm)
    capsys.readouterr()
    assert classify_main([str(d / "train.dat"), str(d / "m.npz"), str(d / "p.txt")]) == 0
    out = capsys.readouterr().out
    assert "holds an interrupted training run after 2 iterations, duality gap 31.5" in out
    assert "weights are all 0" in out
