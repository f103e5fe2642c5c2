"""PTB reader and the reversible tree transforms."""
import os
from pathlib import Path

import pytest

from structpred.tasks.parsing.trees import (Tree, TreeError, binarize, collapse_unary,
                                            expand_unary, normalize, parse_tree, read_trees,
                                            remove_empty, strip_label, unbinarize)

RAW = """( (S (NP-SBJ-1 (NNP John) (-NONE- *T*-2))
   (VP (VBD said) (SBAR (-NONE- 0) (S (-NONE- *T*-1))) (NP=2 (PRP it)) (ADVP|PRT (RB up))
       (NP (DT the) (JJ big) (JJ red) (NN dog)) (PP-LOC (IN in) (NP (-LRB- -LRB-) (NNP X) (-RRB- -RRB-))))
   (. .)) )"""


def test_read_and_normalize():
    raw = parse_tree(RAW)
    assert raw.label == ""
    t = normalize(raw)
    assert t.label == "TOP"
    assert "-NONE-" not in str(t)
    assert str(t).startswith("(TOP (S (NP (NNP John)) (VP (VBD said) (NP (PRP it)) (ADVP|PRT (RB up))")
    assert "(-LRB- -LRB-)" in str(t) and "(PP (IN in)" in str(t)
    assert [w for w, _ in t.pos()] == ["John", "said", "it", "up", "the", "big", "red", "dog",
                                      "in", "-LRB-", "X", "-RRB-", "."]


@pytest.mark.parametrize("label,expected", [
    ("NP-SBJ-1", "NP"), ("NP=2", "NP"), ("PP-LOC=2", "PP"), ("NP-SBJ=1-3", "NP"), ("S", "S"),
    ("-NONE-", "-NONE-"), ("-LRB-", "-LRB-"), ("-RRB-", "-RRB-"), ("ADVP|PRT", "ADVP|PRT")])
def test_strip_label(label, expected):
    assert strip_label(label) == expected


@pytest.mark.parametrize("text,msg", [
    ("( (S (NP (NN a)) )", "unbalanced"),
    ("(S (NN a)))", "unbalanced"),
    ("()", "empty"),
    ("( )", "empty"),
    ("word (S (NN a))", "outside"),
    ("(S (NN a) b)", "mixes"),
])
def test_reader_errors(text, msg):
    with pytest.raises(TreeError, match=msg):
        list(read_trees(text))


def test_reader_error_names_line():
    with pytest.raises(TreeError, match="line 3"):
        list(read_trees("(S (NN a))\n\n(S (NN b)))"))


def test_all_none_tree():
    t = parse_tree("( (S (-NONE- *) (NP (-NONE- *T*))) )")
    assert remove_empty(t) is None
    with pytest.raises(TreeError, match="every leaf is -NONE-"):
        normalize(t, index=7)


def test_reserved_label():
    with pytest.raises(TreeError, match="reserved"):
        normalize(parse_tree("(S (A+B (NN a)) (NN b))"))


def test_collapse_unary():
    t = normalize(parse_tree("((S (VP (VB Go)) (NP (NP (NN it)) (NN x))))"))
    c = collapse_unary(t)
    assert str(c) == "(TOP (S (VP (VB Go)) (NP (NP (NN it)) (NN x))))"
    assert expand_unary(c) == t
    c2 = collapse_unary(normalize(parse_tree("((S (VP (VB Go) (NP (NN it)))))")))
    assert str(c2) == "(TOP+S (VP (VB Go) (NP (NN it))))"
    # merge: the chain becomes one node with the bottom node's children (root kept unary)
    t3 = normalize(parse_tree("((S (SBAR (S (VP (VB Go) (NP (NN it))))) (VP (VB x) (NN y))))"))
    c3 = collapse_unary(t3, merge=True)
    assert str(c3) == "(TOP (S (SBAR+S+VP (VB Go) (NP (NN it))) (VP (VB x) (NN y))))"
    assert expand_unary(c3) == t3
    c4 = collapse_unary(c2_src := normalize(parse_tree("((S (VP (VB Go) (NP (NN it)))))")), merge=True)
    assert str(c4) == "(TOP (S+VP (VB Go) (NP (NN it))))"
    assert expand_unary(c4) == c2_src


def test_binarize_markov_and_parent():
    t = normalize(parse_tree("((NP (DT a) (JJ b) (JJ c) (NN d)))"))
    b1 = binarize(t, horizontal=1)
    assert str(b1) == "(TOP (NP (DT a) (@NP|JJ (JJ b) (@NP|JJ (JJ c) (NN d)))))"
    b0 = binarize(t, horizontal=0)
    assert str(b0) == "(TOP (NP (DT a) (@NP| (JJ b) (@NP| (JJ c) (NN d)))))"
    b2 = binarize(t, horizontal=2, parent=True)
    assert str(b2) == "(TOP (NP^TOP (DT a) (@NP|JJ,JJ (JJ b) (@NP|JJ,NN (JJ c) (NN d)))))"
    b3 = binarize(normalize(parse_tree("((S (VP (VB a) (JJ b) (NN c))))")), horizontal=1, merge=True)
    assert str(b3) == "(TOP (S+VP (VB a) (@S+VP|JJ (JJ b) (NN c))))"
    for b in (b0, b1, b2):
        assert unbinarize(b) == t
        assert all(len(n.children) <= 2 for n in _nodes(b))


def _nodes(t):
    yield t
    for c in t.children:
        if isinstance(c, Tree):
            yield from _nodes(c)


def test_json_round_trip():
    t = normalize(parse_tree(RAW))
    assert Tree.from_json(t.to_json()) == t


DATA = Path(os.environ.get("STRUCTPRED_DATA", "/nonexistent")) / "ptb_wsj_sample" / "combined"


@pytest.mark.realdata
@pytest.mark.skipif(not DATA.exists(), reason=f"PTB sample not found at {DATA} (set STRUCTPRED_DATA)")
def test_round_trip_every_tree_of_the_sample():
    from structpred.datasets import load_ptb_sample
    d = load_ptb_sample()
    assert len(d["trees"]) == 3914 and len(d["train"]) == 3000 and len(d["test"]) == 914
    n_leaves = sum(len(t.leaves()) for t in d["trees"])
    assert n_leaves == 94084       # 100,676 leaves minus 6,592 -NONE-
    for idx, t in enumerate(d["trees"]):
        for h, parent, merge in ((1, False, True), (2, True, False)):
            b = binarize(t, h, parent, merge)
            assert unbinarize(b) == t, (idx, h, parent, merge)
        assert expand_unary(collapse_unary(t)) == t
        assert expand_unary(collapse_unary(t, merge=True)) == t
