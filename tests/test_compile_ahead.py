"""structpred.compile_ahead: a second process compiles the solver's kernels on a first run."""
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from structpred import compile_ahead
from structpred.datasets.svmhmm import write_svmhmm

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_no_helper_when_switched_off_or_for_another_solver(monkeypatch):
    monkeypatch.setenv("STRUCTPRED_COMPILE_AHEAD", "0")
    assert not compile_ahead.start_sequence("x.dat", 1, {"algorithm": "n-slack"})
    monkeypatch.delenv("STRUCTPRED_COMPILE_AHEAD")
    assert not compile_ahead.start_sequence("x.dat", 1, {"algorithm": "1-slack"})
    assert compile_ahead.wait_for("structpred.solvers.dcd_kernels") == 0.0   # none running


def test_usage_error_without_arguments():
    assert compile_ahead.main([]) == 2


_CHILD = r"""
import sys
from numba.core import event
names = []
class L(event.Listener):
    def on_start(self, ev):
        f = ev.data["dispatcher"].py_func
        names.append(f.__module__ + "." + f.__name__)
    def on_end(self, ev):
        pass
event.register("numba:compile", L())
from structpred.cli.svmstruct import learn_main
assert learn_main(sys.argv[1:]) == 0
from structpred import compile_ahead
print("HELPER_CPU", compile_ahead.helper_cpu_seconds())
print("COMPILED", " ".join(sorted(set(names))))
"""


def _cold_learn(tmp_path, name, ahead):
    cache = tmp_path / f"cache_{name}"
    cache.mkdir()
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), NUMBA_NUM_THREADS="1",
               STRUCTPRED_COMPILE_AHEAD="1" if ahead else "0", PYTHONPATH=ROOT)
    model = tmp_path / f"model_{name}"
    out = subprocess.run([sys.executable, "-c", _CHILD, "-c", "10", "-e", "0.1",
                          str(tmp_path / "train.dat"), str(model)],
                         env=env, capture_output=True, text=True, check=True, cwd=ROOT).stdout
    lines = dict(line.split(" ", 1) for line in out.splitlines()
                 if line.startswith(("HELPER_CPU", "COMPILED")))
    return (model.read_bytes(), float(lines["HELPER_CPU"]),
            set(lines["COMPILED"].split()) if lines["COMPILED"].strip() else set())


@pytest.mark.slow
def test_first_run_with_the_helper_gives_the_same_model_and_loads_the_solver_kernels(tmp_path):
    rng = np.random.default_rng(3)
    X, Y = [], []
    for _ in range(80):
        T = int(rng.integers(2, 9))
        y = rng.integers(0, 3, T)
        x = (rng.random((T, 12)) < 0.25).astype(float)
        x[np.arange(T), y] = 1.0
        X.append(sp.csr_matrix(x))
        Y.append(y)
    write_svmhmm(tmp_path / "train.dat", X, Y)
    alone, cpu_alone, compiled_alone = _cold_learn(tmp_path, "alone", ahead=False)
    helped, cpu_helped, compiled_helped = _cold_learn(tmp_path, "helped", ahead=True)
    assert helped == alone                       # the same model file, bit for bit
    assert cpu_alone == 0.0 and cpu_helped > 0.0
    solver = {n for n in compiled_alone if n.startswith(compile_ahead.SOLVER_MODULES)}
    assert {"structpred.solvers.dcd_kernels.sweep",
            "structpred.solvers.dcd_kernels.add_constraints"} <= solver
    # with the helper, this process compiled of the solver's kernels only its own share
    # (LOCAL_KERNELS: the answer guard)
    left = {n for n in compiled_helped if n.startswith(compile_ahead.SOLVER_MODULES)}
    assert left == set(compile_ahead.LOCAL_KERNELS)
    assert {n for n in compiled_helped if n.startswith("structpred.tasks")} == \
        {n for n in compiled_alone if n.startswith("structpred.tasks")}


@pytest.mark.parametrize("gz", [False, True])
def test_head_file_is_the_first_whole_lines_of_plain_or_gzip_files(tmp_path, gz):
    import gzip
    lines = [f"{i % 3 + 1} qid:{i // 7 + 1} {i % 50 + 1}:1 {i % 11 + 60}:1\n" for i in range(3000)]
    text = "".join(lines).encode()
    src = tmp_path / ("train.dat.gz" if gz else "train.dat")
    if gz:
        with gzip.open(src, "wb") as f:
            f.write(text)
    else:
        src.write_bytes(text)
    head = open(compile_ahead._head_file(str(src), str(tmp_path)), "rb").read()
    assert 0 < len(head) <= compile_ahead.HEAD_BYTES and head.endswith(b"\n")
    assert text.startswith(head) and len(text[len(head):].split(b"\n", 1)[0]) > 0
