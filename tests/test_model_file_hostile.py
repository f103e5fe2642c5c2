"""Hostile model files (and click files) are refused cheaply, naming the file.

What is checked here (each test failed on structpred before these checks existed):

* a zip bomb made of many ``state.*`` members, each just under the per-array cap: refused
  from the zip directory (declared sizes summed against ``MAX_MODEL_BYTES``) before any
  member is inflated, by the command line too (one line, exit status 1, low peak memory);
* ``state.*`` members the task does not store as arrays: refused by name before any of
  them is opened; members of a foreign compression method or too many members: refused from
  the directory; a directory that understates a member's size: refused from the member's
  .npy header, nothing allocated; and inflating stops as soon as the bytes actually
  inflated exceed the budget, whatever the directory declared;
* task parameters read from ``model_params`` pass the task's own checks, with the command
  line's bounds (DiverseSubset k in 1..1000, local_search in 0..1000, ConstituencyParsing
  max_length in 1..100000, ...), for built-in tasks and a user task with a
  ``_validate_params`` alike: ModelFileError naming the file and ``model_params.<field>``,
  by ``structpred.load``, ``DiversifiedRanker.load``, ``structpred diversify apply`` and
  ``structpred parse apply``;
* a header holding a 100,001-digit integer, or larger than ``MAX_HEADER_BYTES``: a
  ModelFileError naming the file (``structpred classify`` prints it as one line);
* an svm_proprank click file whose clicked line has ``cost:1e+300``: a DataFormatError
  naming the file and the line (``LetorData.clicks`` and ``structpred learn --task
  proprank``); ``--clip`` / ``clicks(clip=)`` clips it.
"""
from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import textwrap
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

import structpred
from structpred import StructuredSVM, persistence
from structpred.errors import DataFormatError, ModelFileError
from structpred.tasks.multiclass import Multiclass

ROOT = Path(__file__).resolve().parents[1]
MIB = 1 << 20


# ------------------------------------------------------------------------------ helpers
@pytest.fixture(scope="module")
def ranking_file(tmp_path_factory):
    """A small fitted Ranking model file (``structpred classify`` applies it)."""
    from structpred.tasks.ranking import Ranking
    rng = np.random.default_rng(1)
    X = [rng.normal(size=(4, 3)) for _ in range(6)]
    Y = [np.array([2, 1, 0, 0]) for _ in range(6)]
    path = tmp_path_factory.mktemp("rank") / "r.npz"
    StructuredSVM(Ranking(), C=1.0).fit(X, Y).save(path)
    return path


@pytest.fixture(scope="module")
def multiclass_file(tmp_path_factory):
    """A small fitted Multiclass model file (9 weights)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    y = np.argmax(X, axis=1)
    path = tmp_path_factory.mktemp("mc") / "m.npz"
    StructuredSVM(Multiclass(), C=1.0).fit(X, y).save(path)
    return path


def _members(path):
    """The raw (uninflated .npy) bytes of every member of an .npz file, by member name."""
    with zipfile.ZipFile(path) as z:
        return {info.filename: z.read(info) for info in z.infolist()}


def _header_of(path) -> dict:
    with np.load(path) as f:
        return json.loads(f["__structpred__"].tobytes())


def _npy_bytes(array) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def _with_header(src, dst, header=None, text=None, arrays=None):
    """Copy the model file ``src`` to ``dst`` with another header (a dict, or raw JSON
    ``text``) and arrays replaced or added (name -> ndarray)."""
    with np.load(src) as f:
        data = {k: f[k] for k in f.files}
    if text is None and header is not None:
        text = json.dumps(header)
    if text is not None:
        data["__structpred__"] = np.frombuffer(text.encode(), dtype=np.uint8)
    data.update(arrays or {})
    np.savez(dst, **data)
    return dst


def _deflated_zeros(npy_header: bytes, n_zeros: int, level: int = 1):
    """(raw deflate stream, crc32, size) of ``npy_header`` followed by ``n_zeros`` zero bytes,
    compressed in chunks (nothing of that size is ever held in memory)."""
    comp = zlib.compressobj(level, zlib.DEFLATED, -15)
    chunk = bytes(16 * MIB)
    parts, crc = [comp.compress(npy_header)], zlib.crc32(npy_header)
    left = n_zeros
    while left > 0:
        piece = chunk if left >= len(chunk) else chunk[:left]
        parts.append(comp.compress(piece))
        crc = zlib.crc32(piece, crc)
        left -= len(piece)
    parts.append(comp.flush())
    return b"".join(parts), crc, len(npy_header) + n_zeros


def _npy_header_for(shape, dtype="<f8") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": dtype, "fortran_order": False,
                                               "shape": shape})
    return buf.getvalue()


def _write_zip(dst, members):
    """Write a zip by hand: ``members`` = [(name, payload, crc, declared size, method)]; the
    payload is written as given (already deflated for method 8), so one compressed stream
    can back many members and the directory can declare any size."""
    with open(dst, "wb") as f:
        central = []
        for name, payload, crc, size, method in members:
            offset = f.tell()
            raw = name.encode()
            f.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc,
                                len(payload), size, len(raw), 0) + raw)
            f.write(payload)
            central.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, method, 0, 0x21,
                                       crc, len(payload), size, len(raw), 0, 0, 0, 0, 0, offset)
                           + raw)
        start = f.tell()
        directory = b"".join(central)
        f.write(directory)
        f.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members),
                            len(directory), start, 0))
    return dst


def _stored(name, data):
    return (name, data, zlib.crc32(data), len(data), 0)


def _bomb(src, dst, n_members, member_bytes, names="state.a{}.npy"):
    """``src``'s header and w, plus ``n_members`` deflated members of ``member_bytes`` zero
    bytes each (one compressed stream shared by all: a few hundred KB on disk)."""
    raw = _members(src)
    n = member_bytes // 8
    payload, crc, size = _deflated_zeros(_npy_header_for((n,)), 8 * n)
    members = [_stored("__structpred__.npy", raw["__structpred__.npy"]),
               _stored("w.npy", raw["w.npy"])]
    members += [(names.format(i), payload, crc, size, 8) for i in range(n_members)]
    return _write_zip(dst, members)


def _cli_in_subprocess(argv, cwd):
    """Run ``structpred.cli.main(argv)`` in a fresh interpreter; returns (exit status, stderr,
    peak RSS growth in bytes during the command: ru_maxrss after the imports vs at the end)."""
    code = textwrap.dedent(f"""
        import resource, sys
        import numpy, structpred, structpred.cli, structpred.persistence
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        from structpred.cli import main
        rc = main({list(argv)!r})
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print("RESULT", rc, (after - before) * 1024)
    """)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True,
                         text=True, timeout=120)
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT")]
    assert line, out.stderr
    _, rc, grown = line[-1].split()
    return int(rc), out.stderr, int(grown)


# ------------------------------------------------------------------ 2: zip bombs
def test_bomb_of_many_state_members_refused_from_the_directory_by_the_cli(ranking_file, tmp_path):
    """A ranking model plus 3 members of 240 MiB of zeros each (each under MAX_ARRAY_BYTES,
    together over MAX_MODEL_BYTES): ``structpred classify`` exits with status 1 and one line
    naming the file, its peak memory grows by far less than one member, within seconds."""
    bomb = _bomb(ranking_file, tmp_path / "bomb.npz", 3, 240 * MIB)
    assert bomb.stat().st_size < 20 * MIB
    (tmp_path / "t.dat").write_text("1 qid:1 1:1\n")
    rc, err, grown = _cli_in_subprocess(["classify", "t.dat", "bomb.npz", "p.txt"], tmp_path)
    assert grown < 100 * MIB, f"peak RSS grew by {grown / MIB:.0f} MiB"
    lines = err.strip().splitlines()
    assert rc == 1 and len(lines) == 1, err
    assert "bomb.npz" in lines[0] and "MAX_MODEL_BYTES" in lines[0], err


def test_state_arrays_the_task_does_not_store_refused_before_any_is_inflated(
        multiclass_file, tmp_path, monkeypatch):
    """Members ``state.a0..a2`` (16 MiB of zeros each, within every size cap) on a task
    that stores no state array: ModelFileError naming the file and ``state.a0``, and no
    ``state.*`` member was ever opened."""
    bomb = _bomb(multiclass_file, tmp_path / "names.npz", 3, 16 * MIB)
    opened = []
    real_open = zipfile.ZipFile.open

    def spy(self, name, *args, **kwargs):
        opened.append(getattr(name, "filename", name))
        return real_open(self, name, *args, **kwargs)
    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    with pytest.raises(ModelFileError, match=r"names\.npz: unexpected array 'state\.a0'"):
        structpred.load(bomb)
    assert not [n for n in opened if n.startswith("state.")], opened


def test_zip_directory_checked_before_inflating(multiclass_file, tmp_path):
    """A bzip2 member, more than MAX_MEMBERS members, a non-.npy member: ModelFileError
    naming the file, from the directory alone."""
    raw = _members(multiclass_file)
    head = [_stored("__structpred__.npy", raw["__structpred__.npy"]), _stored("w.npy", raw["w.npy"])]
    with zipfile.ZipFile(tmp_path / "bz.npz", "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in raw.items():
            z.writestr(name, data, compress_type=zipfile.ZIP_BZIP2 if name == "w.npy" else None)
    with pytest.raises(ModelFileError, match=r"bz\.npz: member 'w\.npy' uses compression method 12"):
        structpred.load(tmp_path / "bz.npz")
    many = head + [_stored(f"state.s{i}.npy", _npy_bytes(np.zeros(1))) for i in range(300)]
    _write_zip(tmp_path / "many.npz", many)
    with pytest.raises(ModelFileError, match=r"many\.npz: .*\b302 members.*MAX_MEMBERS"):
        structpred.load(tmp_path / "many.npz")
    _write_zip(tmp_path / "txt.npz", head + [_stored("notes.txt", b"hello")])
    with pytest.raises(ModelFileError, match=r"txt\.npz: unexpected member 'notes\.txt'"):
        structpred.load(tmp_path / "txt.npz")


class LooseTask(Multiclass):
    """A user task that does not declare ``state_arrays``: any state array name passes the
    name check, so only the size checks stand between it and a bomb."""


def _loose_file(multiclass_file, dst, members):
    header = _header_of(multiclass_file)
    header["task"] = "LooseTask"
    text = json.dumps(header).encode()
    head = [_stored("__structpred__.npy", _npy_bytes(np.frombuffer(text, dtype=np.uint8))),
            _stored("w.npy", _members(multiclass_file)["w.npy"])]
    return _write_zip(dst, head + members)


def test_directory_that_understates_a_member_is_refused_without_allocating(multiclass_file, tmp_path):
    """A member whose .npy header says 200 MiB while the zip directory declares 1 KiB (the
    directory lies to pass the total check): ModelFileError naming the file and the array,
    less than 8 MiB allocated (no more than the declared KiB is ever inflated)."""
    import tracemalloc
    n = 200 * MIB // 8
    payload, crc, _size = _deflated_zeros(_npy_header_for((n,)), 8 * n)
    bad = _loose_file(multiclass_file, tmp_path / "lie.npz",
                      [("state.big.npy", payload, crc, 1024, 8)])
    tracemalloc.start()
    try:
        # refused by the declared-shape check, or by the CRC of the 1 KiB the directory allows
        with pytest.raises(ModelFileError, match=r"lie\.npz: array 'state\.big' (declares shape|has a damaged)"):
            structpred.load(bad, tasks={"LooseTask": LooseTask})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * MIB


def test_inflating_stops_when_the_running_total_exceeds_the_budget(multiclass_file, tmp_path,
                                                                  monkeypatch):
    """Whatever the directory declared, the bytes actually inflated are counted: with a
    budget of 6 MiB (as if the directory had understated two 4 MiB members), loading stops
    with a ModelFileError naming the file once 6 MiB are exceeded, having inflated at most
    the budget plus one chunk."""
    payload, crc, size = _deflated_zeros(_npy_header_for((4 * MIB // 8,)), 4 * MIB)
    path = _loose_file(multiclass_file, tmp_path / "run.npz",
                       [(f"state.a{i}.npy", payload, crc, size, 8) for i in range(2)])
    real_directory = persistence._directory
    monkeypatch.setattr(persistence, "_directory",
                        lambda p, archive: (real_directory(p, archive),
                                            persistence._Budget(p, 6 * MIB))[1])
    inflated = []
    real_read = zipfile.ZipExtFile.read

    def counting(self, n=-1):
        data = real_read(self, n)
        inflated.append(len(data))
        return data
    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting)
    with pytest.raises(ModelFileError, match=r"run\.npz: its members inflate to more than .*MAX_MODEL_BYTES"):
        structpred.load(path, tasks={"LooseTask": LooseTask})
    assert sum(inflated) <= 6 * MIB + 2 * MIB


# ------------------------------------------------- 3, 9: task parameters from the file
@pytest.fixture(scope="module")
def diversity_file(tmp_path_factory):
    from structpred.tasks.diversity.model import DiverseSubset
    task, X, Y = DiverseSubset.tiny_example()
    path = tmp_path_factory.mktemp("div") / "d.npz"
    StructuredSVM(task, C=1.0, max_iter=20).fit(X, Y).save(path)
    return path


@pytest.fixture(scope="module")
def parsing_file(tmp_path_factory):
    from structpred.tasks.parsing.model import ConstituencyParsing
    task, X, Y = ConstituencyParsing.tiny_example()
    path = tmp_path_factory.mktemp("parse") / "p.npz"
    StructuredSVM(task, C=1.0, max_iter=5).fit(X, Y).save(path)
    return path


PARAM_CASES = [  # (fixture, field, hostile value, what the message says)
    ("diversity_file", "k", 10 ** 7, r"k must be an integer >= 1 and <= 1000"),
    ("diversity_file", "k", 2 * 10 ** 8, r"k must be an integer >= 1 and <= 1000"),
    ("diversity_file", "local_search", -1, r"local_search must be an integer >= 0"),
    ("diversity_file", "local_search", 10 ** 12, r"local_search must be an integer >= 0 and <= 1000"),
    ("diversity_file", "redundancy", "yes", r"redundancy must be True or False"),
    ("parsing_file", "max_length", 10 ** 9, r"max_length must be an integer >= 1 and <= 100000"),
    ("parsing_file", "horizontal", 10 ** 6, r"horizontal must be an integer >= 0 and <= 100"),
    ("parsing_file", "smoothing", 1e300, r"smoothing must be a finite real number >= 0 and <= 1e\+06"),
    ("parsing_file", "grammar_trees", [1, 2], r"grammar_trees\[0\]: expected a Tree"),
]


@pytest.mark.parametrize("fixture,field,value,says", PARAM_CASES,
                         ids=[f"{c[1]}={str(c[2])[:12]}" for c in PARAM_CASES])
def test_task_parameters_from_the_file_pass_the_task_checks(request, tmp_path, fixture, field,
                                                            value, says):
    """A hostile ``model_params`` value: ModelFileError naming the file and the field
    (``model_params.<field> = <value>``), then the task's own message, before any array is
    inflated or the task allocates anything."""
    src = request.getfixturevalue(fixture)
    header = _header_of(src)
    header["model_params"][field] = value
    bad = _with_header(src, tmp_path / "hostile.npz", header)
    with pytest.raises(ModelFileError, match=rf"hostile\.npz: the task cannot be rebuilt from the "
                                             rf"header \(model_params\.{field} = .*\): {says}"):
        structpred.load(bad)


class BoundedTask(Multiclass):
    """A user task with its own parameter check (``_validate_params``), run only by fit."""

    def __init__(self, n_classes=None, n_features=None, depth=3):
        super().__init__(n_classes, n_features)
        self.depth = depth

    def _validate_params(self):
        if not (isinstance(self.depth, int) and 1 <= self.depth <= 10):
            raise ValueError(f"depth must be an integer in 1..10, got {self.depth!r}")


def test_a_user_task_parameter_check_runs_on_load(tmp_path):
    """The loader runs any task's ``_validate_params`` on the rebuilt task: depth = 10**6 in
    the file is refused naming the file and ``model_params.depth``."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(20, 2))
    y = np.argmax(X, axis=1)
    StructuredSVM(BoundedTask(), C=1.0).fit(X, y).save(tmp_path / "u.npz")
    assert structpred.load(tmp_path / "u.npz", tasks=[BoundedTask]).model.depth == 3
    header = _header_of(tmp_path / "u.npz")
    header["model_params"]["depth"] = 10 ** 6
    bad = _with_header(tmp_path / "u.npz", tmp_path / "deep.npz", header)
    with pytest.raises(ModelFileError, match=r"deep\.npz: .*model_params\.depth = 1000000.*depth must"):
        structpred.load(bad, tasks=[BoundedTask])


def test_diversity_k_from_the_file_refused_by_ranker_and_cli(diversity_file, tmp_path):
    """k = 10**7 (the command line accepts 1..1000): ``DiversifiedRanker.load`` raises a
    ModelFileError naming the file and ``model_params.k``; ``structpred diversify apply``
    prints it as one line with exit status 1, without a large allocation."""
    from structpred.apps.diversity import DiversifiedRanker
    header = _header_of(diversity_file)
    header["model_params"]["k"] = 10 ** 7
    bad = _with_header(diversity_file, tmp_path / "k.npz", header)
    with pytest.raises(ModelFileError, match=r"k\.npz: .*model_params\.k = 10000000"):
        DiversifiedRanker.load(bad)
    (tmp_path / "q.jsonl").write_text(json.dumps({"id": "q1", "query": "jaguar",
                                                  "documents": ["jaguar cars", "jaguar cat"]}) + "\n")
    rc, err, grown = _cli_in_subprocess(["diversify", "apply", "q.jsonl", "-m", "k.npz",
                                         "-o", "out.tsv"], tmp_path)
    lines = err.strip().splitlines()
    assert rc == 1 and len(lines) == 1 and "k.npz" in lines[0] and "model_params.k" in lines[0], err
    assert grown < 200 * MIB


def test_parser_max_length_from_the_file_refused_by_the_cli(parsing_file, tmp_path):
    """max_length = 10**9: ``structpred parse apply`` prints one line naming the model file
    and ``model_params.max_length`` (exit status 1)."""
    header = _header_of(parsing_file)
    header["model_params"]["max_length"] = 10 ** 9
    _with_header(parsing_file, tmp_path / "pm.npz", header)
    (tmp_path / "t.mrg").write_text("( (S (NP (DT the) (NN dog)) (VP (VBD ran))) )\n")
    rc, err, _ = _cli_in_subprocess(["parse", "apply", "pm.npz", "t.mrg", "-o", "o.txt"], tmp_path)
    lines = [ln for ln in err.strip().splitlines() if "error:" in ln]
    assert rc == 1 and len(lines) == 1 and "Traceback" not in err, err
    assert "pm.npz" in lines[0] and "model_params.max_length = 1000000000" in lines[0], err


# ---------------------------------------------------------------------- 8: the header
def test_header_with_a_huge_integer_is_a_model_file_error(multiclass_file, tmp_path):
    """A header holding a 100,001-digit JSON integer (beyond Python's int conversion limit):
    ModelFileError naming the file, and one line from ``structpred classify``."""
    text = json.dumps(_header_of(multiclass_file))[:-1] + ', "x": ' + "9" * 100_001 + "}"
    bad = _with_header(multiclass_file, tmp_path / "big.npz", text=text)
    with pytest.raises(ModelFileError, match=r"big\.npz: the header is not valid JSON"):
        structpred.load(bad)
    with pytest.raises(ModelFileError, match=r"big\.npz"):
        persistence.read_header(bad)
    (tmp_path / "t.dat").write_text("1 qid:1 1:1\n")
    rc, err, _ = _cli_in_subprocess(["classify", "t.dat", "big.npz", "p.txt"], tmp_path)
    lines = err.strip().splitlines()
    assert rc == 1 and len(lines) == 1 and "big.npz" in lines[0], err


def test_header_larger_than_the_cap_is_refused(multiclass_file, tmp_path, monkeypatch):
    """A header over MAX_HEADER_BYTES (lowered here to 64 bytes): ModelFileError naming the
    file and the cap, before the header is decoded."""
    monkeypatch.setattr(persistence, "MAX_HEADER_BYTES", 64)
    with pytest.raises(ModelFileError, match=r"m\.npz: '__structpred__' holds \d+ bytes.*MAX_HEADER_BYTES"):
        structpred.load(multiclass_file)


# ----------------------------------------------------------- 10: click file costs
CLICKS = ("0 qid:1 1:0.5 2:0.8\n"
          "1 qid:1 cost:1e+300 1:0.4 2:0.3\n"
          "0 qid:1 1:0.1 2:0.7\n"
          "1 qid:2 cost:2 1:0.2 2:0.9\n"
          "0 qid:2 1:0.6 2:0.1\n")


def test_click_cost_too_large_names_file_and_line(tmp_path):
    """``cost:1e+300`` on line 2 (above PropensityRanking's largest click weight):
    ``LetorData.clicks()`` raises a DataFormatError naming the file and line 2;
    ``clicks(clip=10)`` clips it to 10."""
    from structpred.datasets.letor import load_letor
    path = tmp_path / "click.dat"
    path.write_text(CLICKS)
    data = load_letor(path, kind="proprank")
    with pytest.raises(DataFormatError, match=r"click\.dat, line 2: cost:1e\+300") as info:
        data.clicks()
    assert info.value.lineno == 2
    assert [c.weight for c in data.clicks(clip=10.0)] == [10.0, 2.0]
    assert [c.index for c in data.clicks(clip=10.0)] == [1, 0]


def test_click_cost_too_large_refused_by_learn_proprank(tmp_path):
    """``structpred learn --task proprank`` on that file: one line naming the file and line
    2, exit status 1; with ``--clip 10`` it trains."""
    (tmp_path / "click.dat").write_text(CLICKS)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    run = [sys.executable, "-m", "structpred", "learn", "--task", "proprank", "-v", "0"]
    out = subprocess.run(run + ["click.dat", "m.npz"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 1 and len(lines) == 1 and "click.dat, line 2:" in lines[0], out.stderr
    out = subprocess.run(run + ["--clip", "10", "click.dat", "m.npz"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and (tmp_path / "m.npz").exists(), out.stderr


# ----------------------------------------------------------- the table is complete
def test_state_arrays_table_covers_every_builtin_task():
    """STATE_ARRAYS names every built-in task, and each task's fitted state holds arrays
    only under the keys listed there (else its own model files would be refused)."""
    from structpred.tasks.registry import BUILTIN_TASKS, builtin_task
    assert set(persistence.STATE_ARRAYS) == set(BUILTIN_TASKS)
    for name in BUILTIN_TASKS:
        task, X, Y = builtin_task(name).tiny_example()
        task.initialize(X, Y)
        arrays = {k for k, v in task.get_state().items() if isinstance(v, np.ndarray)}
        assert arrays <= set(persistence.STATE_ARRAYS[name]), (name, arrays)


def test_the_reader_click_weight_bound_is_the_task_bound():
    """The click reader's bound (a loader imports no task) equals PropensityRanking's."""
    from structpred.datasets import letor
    from structpred.tasks.ranking import model
    assert letor.MAX_CLICK_WEIGHT == model.MAX_CLICK_WEIGHT
