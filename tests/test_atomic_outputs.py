"""Outputs are written atomically and never over an input; model files are bounded before
allocation, regular files only, and their task state is checked key by key and by type."""
from __future__ import annotations

import errno
import io
import json
import os
import subprocess
import sys
import textwrap
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from structpred import StructuredSVM, load
from structpred.boundary import (PathError, atomic_write, check_input_path, check_output_path,
                                 write_bytes_atomic, write_text_atomic)
from structpred.errors import ModelFileError
from structpred.tasks import Multiclass

ROOT = Path(__file__).resolve().parents[1]


def _leftovers(folder):
    return [p.name for p in Path(folder).iterdir() if p.name.endswith(".tmp")]


# --------------------------------------------------------------------- atomic writes
def test_atomic_write_replaces_and_keeps_mode(tmp_path):
    p = tmp_path / "out.txt"
    p.write_text("old")
    p.chmod(0o640)
    write_text_atomic(p, "new content")
    assert p.read_text() == "new content" and (p.stat().st_mode & 0o777) == 0o640
    write_bytes_atomic(tmp_path / "b.bin", b"\x00\x01")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert _leftovers(tmp_path) == []


def test_failure_in_the_block_leaves_previous_file(tmp_path):
    p = tmp_path / "out.txt"
    p.write_text("previous")
    with pytest.raises(RuntimeError):
        with atomic_write(p) as fh:
            fh.write("half of the new content" * 1000)
            raise RuntimeError("interrupted")
    assert p.read_text() == "previous" and _leftovers(tmp_path) == []


def test_symlink_target_replaced_behind_the_link(tmp_path):
    target = tmp_path / "real.txt"
    target.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    write_text_atomic(link, "new")
    assert link.is_symlink() and target.read_text() == "new"


def test_dev_full_error_names_the_path():
    with pytest.raises(OSError) as info:
        write_bytes_atomic("/dev/full", b"x" * 100000)
    assert info.value.errno == errno.ENOSPC and info.value.filename == "/dev/full"
    with pytest.raises(PathError, match="/dev/full: not a regular file"):
        check_output_path("/dev/full", "model file")


def test_unwritable_folder_is_named(tmp_path, monkeypatch):
    """mkstemp failing (a read-only folder; as root we cannot make one, so it is simulated)."""
    import tempfile

    def deny(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied")
    monkeypatch.setattr(tempfile, "mkstemp", deny)
    p = tmp_path / "m.txt"
    p.write_text("keep")
    with pytest.raises(PermissionError) as info:
        write_text_atomic(p, "new")
    assert info.value.filename == str(p) and p.read_text() == "keep"


_FSIZE = textwrap.dedent("""
    import resource, sys
    resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))
    sys.path.insert(0, {root!r})
    from structpred.boundary import write_bytes_atomic
    try:
        write_bytes_atomic({path!r}, b"y" * 100000)
    except OSError as exc:
        print(exc.errno, exc.filename)
""")


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_FSIZE semantics")
def test_file_size_limit_keeps_previous_file(tmp_path):
    p = tmp_path / "model.npz"
    p.write_bytes(b"previous good model")
    out = subprocess.run([sys.executable, "-c", _FSIZE.format(root=str(ROOT), path=str(p))],
                         capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == [str(errno.EFBIG), str(p)], out.stderr
    assert p.read_bytes() == b"previous good model" and _leftovers(tmp_path) == []


# --------------------------------------------------------------------- path checks
def test_output_never_an_input(tmp_path):
    train = tmp_path / "train.dat"
    train.write_text("x")
    (tmp_path / "sub").mkdir()
    alias = tmp_path / "sub" / ".." / "train.dat"
    hard = tmp_path / "hard.dat"
    os.link(train, hard)
    for out in (train, alias, hard):
        with pytest.raises(PathError, match="is the training file"):
            check_output_path(out, "model file", inputs=[("training file", train)])
    assert check_output_path(tmp_path / "m.npz", "model file", inputs=[train]) \
        == str(tmp_path / "m.npz")


@pytest.mark.parametrize("case,pattern", [("dir", "is a folder"), ("missing", "does not exist"),
                                          ("notdir", "is not a folder"), ("empty", "not a file name")])
def test_output_path_faults(tmp_path, case, pattern):
    (tmp_path / "f").write_text("x")
    path = {"dir": tmp_path, "missing": tmp_path / "no" / "m", "notdir": tmp_path / "f" / "m",
            "empty": ""}[case]
    with pytest.raises(PathError, match=pattern):
        check_output_path(path, "output file")


def test_streams_accepted_as_outputs(tmp_path):
    assert check_output_path(os.devnull, "output file") == os.devnull
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert check_output_path(fifo, "output file") == str(fifo)
    with pytest.raises(PathError, match="not a regular file"):
        check_input_path(fifo, "model file", regular=True)
    assert check_input_path(fifo, "training file") == str(fifo)


# --------------------------------------------------------------------- model files
@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
    return StructuredSVM(Multiclass(), C=1.0).fit(X, y)


def test_failed_save_keeps_previous_model(fitted, tmp_path, monkeypatch):
    p = tmp_path / "m.npz"
    fitted.save(p)
    good = p.read_bytes()
    real_fsync = os.fsync

    def enospc(fd):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "fsync", enospc)
    with pytest.raises(OSError) as info:
        fitted.save(p)
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert info.value.errno == errno.ENOSPC and str(p) in str(info.value)
    assert p.read_bytes() == good and _leftovers(tmp_path) == []
    np.testing.assert_array_equal(load(p).w_, fitted.w_)


def test_fifo_model_refused_without_hanging(tmp_path):
    fifo = tmp_path / "m.npz"
    os.mkfifo(fifo)
    result = {}

    def run():
        try:
            load(fifo)
        except Exception as exc:  # noqa: BLE001 - recorded and checked below
            result["exc"] = exc
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(20)
    if t.is_alive():       # unblock the reader before failing
        with open(fifo, "wb"):
            pass
        pytest.fail("load blocked on a FIFO")
    assert isinstance(result.get("exc"), ModelFileError) and "not a regular file" in str(result["exc"])


def _rewrite(src, dst, replace):
    """Copy the .npz ``src`` to ``dst``, replacing members by name (raw bytes)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = replace.get(info.filename, zin.read(info.filename))
            zout.writestr(info.filename, data)


def _npy_with_header(shape, dtype="<f8", payload=b""):
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue() + payload


@pytest.mark.parametrize("member", ["w.npy", "__structpred__.npy"])
def test_huge_declared_shape_refused_before_allocation(fitted, tmp_path, member):
    fitted.save(tmp_path / "m.npz")
    bad = tmp_path / "bad.npz"
    dtype = "<f8" if member == "w.npy" else "|u1"
    _rewrite(tmp_path / "m.npz", bad, {member: _npy_with_header((10 ** 11,), dtype, b"\0" * 64)})
    import tracemalloc
    tracemalloc.start()
    with pytest.raises(ModelFileError, match="declares shape"):
        load(bad)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50 * 2 ** 20


def _header_and_state(path):
    with np.load(path) as z:
        header = json.loads(z["__structpred__"].tobytes())
        arrays = {k: z[k] for k in z.files}
    return header, arrays


def _with_header(src, dst, header):
    arrays = _header_and_state(src)[1]
    arrays["__structpred__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez_compressed(dst, **arrays)


@pytest.mark.parametrize("state,pattern", [
    ({"n_classes_": 3, "n_features_": 4, "size_joint_feature": 12}, r"unknown key\(s\) 'size_joint_feature'|would replace|unknown task state"),
    ({"n_classes_": 3, "n_features_": 4, "loss_type": "x"}, r"unknown key\(s\) 'loss_type'|unknown task state key 'loss_type'"),
    ({"n_classes_": "3", "n_features_": 4}, r"state 'n_classes_'.*'3'"),
    ({"n_classes_": 3.5, "n_features_": 4}, r"state 'n_classes_'.*3\.5"),
])
def test_task_state_keys_and_types_checked(fitted, tmp_path, state, pattern):
    fitted.save(tmp_path / "m.npz")
    header = _header_and_state(tmp_path / "m.npz")[0]
    assert {k: header["model_state"][k] for k in ("n_classes_", "n_features_")} == {"n_classes_": 3, "n_features_": 4}
    header["model_state"] = state
    _with_header(tmp_path / "m.npz", tmp_path / "bad.npz", header)
    with pytest.raises(ModelFileError, match=pattern):
        load(tmp_path / "bad.npz")


def test_ranking_state_cannot_set_attributes(tmp_path):
    from structpred.tasks.ranking import Ranking
    rng = np.random.default_rng(1)
    X = [rng.normal(size=(4, 3)) for _ in range(6)]
    Y = [np.array([2, 1, 0, 0]) for _ in range(6)]
    svm = StructuredSVM(Ranking(), C=1.0).fit(X, Y)
    svm.save(tmp_path / "r.npz")
    header = _header_and_state(tmp_path / "r.npz")[0]
    for state in ({"n_features": 99}, {"loss_type": "bogus"}):
        header["model_state"] = state
        _with_header(tmp_path / "r.npz", tmp_path / "bad.npz", header)
        with pytest.raises(ModelFileError, match="unknown (task state )?key"):
            load(tmp_path / "bad.npz")
    np.testing.assert_array_equal(load(tmp_path / "r.npz").w_, svm.w_)


@pytest.mark.parametrize("name", ["data.dat", "data.dat.gz"])
def test_data_writers_are_atomic(tmp_path, monkeypatch, name):
    """write_svmhmm / write_letor: a failure mid-write leaves the previous file as it was."""
    import scipy.sparse as sp
    from structpred.datasets import read_svmhmm, write_letor, write_svmhmm
    X = [sp.csr_matrix(np.eye(3)), sp.csr_matrix(np.ones((2, 3)))]
    Y = [np.array([0, 1, 2]), np.array([1, 1])]
    path = tmp_path / name
    write_svmhmm(path, X, Y)
    before = path.read_bytes()
    with pytest.raises(ValueError):
        write_svmhmm(path, X, [Y[0], np.array([1])])        # the second sequence is inconsistent
    assert path.read_bytes() == before and len(read_svmhmm(path).X) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]   # no temporary file left
    write_letor(tmp_path / ("r" + name), [np.ones((3, 2))], [np.array([2, 1, 0])])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, "r" + name])
