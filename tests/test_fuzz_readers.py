"""Fuzzing read_svmhmm and the PTB reader against strict reference parsers written here.

Every generated file is given to the reader and to the reference: both must accept it (with
the same content, values bit for bit) or both reject it, and a rejection must be the
documented error type naming the file (and line). A few hundred examples run in CI; the
``slow`` variants (``-m slow`` or STRUCTPRED_SLOW=1) run 4,000 each.
"""
from __future__ import annotations

import gzip
import math
import os
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from structpred.datasets.svmhmm import SvmHmmFormatError, read_svmhmm
from structpred.errors import DataFormatError
from structpred.tasks.parsing.trees import MAX_TREE_DEPTH, TreeError, read_trees

FAST = settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
SLOW = settings(max_examples=4000, deadline=None, suppress_health_check=list(HealthCheck))


# ============================================================================ svm_hmm
class Reject(Exception):
    pass


_WS = "[ \t\x0b\x0c\r]"
_DIGITS = re.compile(r"[0-9]+")
_VALUE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def reference_svmhmm(text: str):
    """svm_hmm's grammar, line by line, the slow obvious way. Returns (tags, qids, rows)."""
    tags, qids, rows = [], [], []
    for line in text.split("\n"):
        body = line.split("#", 1)[0]
        toks = [t for t in re.split(_WS + "+", body) if t]
        if not toks:
            continue
        if not _DIGITS.fullmatch(toks[0]) or not 1 <= int(toks[0]) <= 2 ** 31 - 1:
            raise Reject("tag")
        if len(toks) < 2 or not toks[1].startswith("qid:") or not _DIGITS.fullmatch(toks[1][4:]):
            raise Reject("qid")
        qid = int(toks[1][4:])
        if qid > 10 ** 18 or (qids and qid < qids[-1]):
            raise Reject("qid range/order")
        row, prev = [], 0
        for tok in toks[2:]:
            fid, sep, val = tok.partition(":")
            if not sep or not _DIGITS.fullmatch(fid) or not _VALUE.fullmatch(val):
                raise Reject("feature")
            fid = int(fid)
            if not 1 <= fid <= 2 ** 31 - 1 or fid <= prev:
                raise Reject("fid")
            v = float(val)
            if not abs(v) <= 1e50:
                raise Reject("value")
            prev = fid
            row.append((fid, v))
        tags.append(int(toks[0]))
        qids.append(qid)
        rows.append(row)
    if not tags:
        raise Reject("empty")
    if max(tags) > max(1024, 4 * len(set(tags))):
        raise Reject("tag limit")
    entries = sum(len(r) for r in rows)
    if max((f for r in rows for f, _ in r), default=0) > max(2 ** 22, 64 * entries):
        raise Reject("fid limit")
    return tags, qids, rows


def check_svmhmm(tmp_path, text: str):
    path = tmp_path / "fuzz.dat"
    path.write_bytes(text.encode("latin-1"))
    try:
        expected = reference_svmhmm(text)
    except Reject:
        expected = None
    try:
        got = read_svmhmm(path)
    except SvmHmmFormatError as exc:
        assert expected is None, f"rejected a valid file: {exc}\n{text!r}"
        assert re.search(r"fuzz\.dat(, line [0-9]+)?: ", str(exc)), str(exc)
        return
    assert expected is not None, f"accepted an invalid file:\n{text!r}"
    tags, qids, rows = expected
    assert got.max_tag == max(tags)
    assert got.n_features == max((f for r in rows for f, _ in r), default=0)
    flat_rows = [(x, i) for x in got.X for i in range(x.shape[0])]
    assert len(flat_rows) == len(rows)
    k = 0
    for x, y, q in zip(got.X, got.Y, got.qids):
        assert len(set(qids[k:k + x.shape[0]])) == 1 and qids[k] == q
        np.testing.assert_array_equal(y + 1, tags[k:k + x.shape[0]])
        for i in range(x.shape[0]):
            a, b = x.indptr[i], x.indptr[i + 1]
            assert x.indices[a:b].tolist() == [f - 1 for f, _ in rows[k + i]]
            vals = x.data[a:b].tolist()
            want = [v for _, v in rows[k + i]]
            assert vals == want and [math.copysign(1, v) for v in vals] == [math.copysign(1, v) for v in want]
        k += x.shape[0]
    assert k == len(rows) and (len(got.X) == 1 or np.all(np.diff(got.qids) > 0))


def _mostly(valid, invalid, odds=40):
    """Draw from ``valid`` about odds/(odds+1) of the time, else from ``invalid``."""
    return st.integers(0, odds).flatmap(lambda k: valid if k else invalid)


_TAG = _mostly(st.sampled_from(["1", "2", "3", "22", "007", "1024"]),
               st.sampled_from(["0", "-1", "+1", "1e3", "1_0", "inf", "2.0", "1025", "2147483647",
                                "2147483648", str(2 ** 63), "", "x", "\u00b2"]))
_QID = st.sampled_from(["-1", "1e5", "1_0", "", "1000000000000000000", "1000000000000000001",
                        "99999999999999999999", "x", "1.0", "0"])
_FID = st.sampled_from(["0", "01", "-2", "+2", "1e3", "1_0", "inf", "2147483647", "2147483648",
                        "4294967297", str(2 ** 53 + 1), "4194305", "", "2.0", "x"])
_VAL = _mostly(st.one_of(
    st.sampled_from(["1", "0", "-0", "+1", ".5", "5.", "-.5e-3", "1e5", "1E+5", "1e-400", "1e50",
                     "123456789012345678", "0.1", "0.30000000000000004", "9007199254740993",
                     "1.00000000000000001e50", "4.9e-324", "2.2250738585072014e-308"]),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e50, max_value=1e50).map(repr),
    st.integers(-10 ** 20, 10 ** 20).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=12).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, min_value=-10 ** 30, max_value=10 ** 30).map(str)),
    st.sampled_from(["1e999", "1e51", "1e300", "1.7976931348623157e308", "inf", "nan", "0x1p3",
                     "1_0", "", ".", "-", "e5", "1e", "1.2.3", "2+3", "1:2", "1e+", "--1"]))
_SEP = _mostly(st.sampled_from([" ", "\t", "  ", " \t "]),
               st.sampled_from(["\x0b", "\x0c", "\r", "", "\x1c", "\u00a0", "\x00"]), odds=12)
_COMMENT = st.sampled_from(["", "", "", " # w", "#", "# 1:2 qid:3", " #\u00e9", "#\x00"])


@st.composite
def svmhmm_line(draw, qid):
    if draw(st.integers(0, 12)) == 0:
        return draw(st.sampled_from(["", "   ", "# comment", "\r", "qid:1 1:1", "1 qid:1 1:1 :", "1qid:1"]))
    q = str(qid) if draw(st.integers(0, 40)) else draw(_QID)
    parts = [draw(_SEP) if draw(st.integers(0, 5)) == 0 else "", draw(_TAG), draw(_SEP), "qid:" + q]
    fid = 0
    for _ in range(draw(st.integers(0, 5))):
        if draw(st.integers(0, 40)):
            fid += draw(st.sampled_from([1, 1, 2, 7, 1000, 1000, 5000000]))
            f = str(fid)
        else:
            f = draw(_FID)
        colon = ":" if draw(st.integers(0, 80)) else draw(st.sampled_from(["::", "", ": "]))
        parts += [draw(_SEP), f, colon, draw(_VAL)]
    parts.append(draw(_COMMENT))
    return "".join(parts)


@st.composite
def svmhmm_file(draw):
    lines, qid = [], 1
    for _ in range(draw(st.integers(0, 8))):
        qid += draw(st.sampled_from([0, 0, 1, 3]))
        lines.append(draw(svmhmm_line(qid)))
    text = "\n".join(lines) + draw(st.sampled_from(["\n", "", "\r\n"]))
    if draw(st.integers(0, 6)) == 0 and text:     # one random byte edit
        i = draw(st.integers(0, len(text) - 1))
        c = draw(st.sampled_from(list("0123456789:.+-eE #qid\t\n") + ["\x00", "\u00ff"]))
        text = text[:i] + c + text[i + draw(st.integers(0, 1)):]
    return text


@FAST
@given(text=svmhmm_file())
def test_fuzz_svmhmm(tmp_path_factory, text):
    check_svmhmm(tmp_path_factory.mktemp("f"), text)


def _require_slow(request):
    """The long runs only when asked for: ``-m slow`` or STRUCTPRED_SLOW=1 (CI runs the
    short ones)."""
    if "slow" not in (request.config.option.markexpr or "") and not os.environ.get("STRUCTPRED_SLOW"):
        pytest.skip("long fuzz run: select it with -m slow or STRUCTPRED_SLOW=1")


@pytest.mark.slow
def test_fuzz_svmhmm_slow(request, tmp_path_factory):
    _require_slow(request)

    @SLOW
    @given(text=svmhmm_file())
    def run(text):
        check_svmhmm(tmp_path_factory.mktemp("f"), text)
    run()


@FAST
@given(text=svmhmm_file(), cut=st.floats(0, 1))
def test_fuzz_svmhmm_gzip_truncation(tmp_path_factory, text, cut):
    path = tmp_path_factory.mktemp("g") / "fuzz.dat.gz"
    blob = gzip.compress(text.encode("latin-1"))
    n = int(cut * len(blob))
    path.write_bytes(blob[:n])
    if n == len(blob):
        return check_svmhmm(path.parent, text)
    with pytest.raises(DataFormatError, match=r"fuzz\.dat\.gz: "):
        read_svmhmm(path)


# ============================================================================ PTB brackets
def reference_trees(text: str):
    """Bracketed trees as nested lists [label, child, ...] (words are strings)."""
    toks, i = [], 0
    while i < len(text):
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "()":
            toks.append(c)
            i += 1
        else:
            j = i
            while j < len(text) and not text[j].isspace() and text[j] not in "()":
                j += 1
            toks.append(text[i:j])
            i = j
    out, stack, fresh = [], [], False
    for tok in toks:
        if tok == "(":
            node = [""]
            if stack:
                stack[-1].append(node)
            stack.append(node)
            if len(stack) > MAX_TREE_DEPTH:
                raise Reject("depth")
            fresh = True
        elif tok == ")":
            if not stack:
                raise Reject("unbalanced")
            node = stack.pop()
            fresh = False
            kids = node[1:]
            if not kids or (any(isinstance(k, str) for k in kids) and len(kids) != 1):
                raise Reject("empty or mixed")
            if not stack:
                out.append(node)
        else:
            if not stack:
                raise Reject("outside")
            if fresh:
                stack[-1][0] = tok
                fresh = False
            else:
                stack[-1].append(tok)
    if stack:
        raise Reject("unclosed")
    return out


def check_trees(text: str):
    try:
        expected = reference_trees(text)
    except Reject:
        expected = None
    try:
        got = [t.to_json() for t in read_trees(text, source="fuzz.mrg")]
    except TreeError as exc:
        assert expected is None, f"rejected valid trees: {exc}\n{text!r}"
        assert str(exc).startswith("fuzz.mrg"), str(exc)
        return
    assert expected is not None, f"accepted invalid trees:\n{text!r}"
    assert got == expected


_TREE_TOKENS = st.sampled_from(["(", "(", "(", ")", ")", ")", "S", "NP", "-NONE-", "*T*-1", "a",
                                "dog", " ", " ", "\n", "\t", "\u00a0", "()", "(S", "(NN x)"])


@st.composite
def bracket_text(draw):
    if draw(st.booleans()):
        return "".join(draw(st.lists(_TREE_TOKENS, max_size=40)))
    depth = draw(st.sampled_from([1, 2, 5, MAX_TREE_DEPTH - 1, MAX_TREE_DEPTH, MAX_TREE_DEPTH + 1, 5000]))
    inner = draw(st.sampled_from(["(DT a)", "a", "(DT a) (NN b)", "", "(X (Y b))"]))
    return "(X " * depth + inner + draw(st.sampled_from([")", "", "))"])) * depth


@FAST
@given(text=bracket_text())
def test_fuzz_ptb(text):
    check_trees(text)


@pytest.mark.slow
def test_fuzz_ptb_slow(request):
    _require_slow(request)

    @SLOW
    @given(text=bracket_text())
    def run(text):
        check_trees(text)
    run()
