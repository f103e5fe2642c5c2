"""Tree <-> nltk.Tree and bracketed strings, both ways, on real and deep trees."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from structpred.tasks.parsing.trees import (Tree, TreeError, normalize, parse_tree, read_trees,
                                            tree_from_nltk, tree_to_nltk, tree_to_string,
                                            write_trees)

nltk = pytest.importorskip("nltk")

TEXT = "(TOP (S (NP (DT the) (NN dog)) (VP (VBD barked) (ADVP (RB loudly))) (. .)))"


def test_round_trip_through_nltk():
    t = parse_tree(TEXT)
    n = t.to_nltk()
    assert isinstance(n, nltk.Tree) and n.label() == "TOP"
    assert n.leaves() == t.leaves() == ["the", "dog", "barked", "loudly", "."]
    assert n.pos() == [(w, tag) for w, tag in t.pos()]
    assert n[0][1][0].label() == "VBD" and n[0][1][0][0] == "barked"
    back = Tree.from_nltk(n)
    assert back == t and back is not t
    # nltk reads our string and we read nltk's
    assert nltk.Tree.fromstring(t.to_string()) == n
    assert Tree.fromstring(" ".join(n.pformat(margin=10 ** 6).split())) == t
    assert Tree.fromstring(n.pformat(margin=20)) == t     # nltk's multi-line form too
    assert tree_to_string(t) == str(t) == TEXT


def test_parented_tree_and_cls():
    t = parse_tree(TEXT)
    p = tree_to_nltk(t, cls=nltk.ParentedTree)
    assert isinstance(p, nltk.ParentedTree) and p[0][0].parent().label() == "S"
    assert tree_from_nltk(p) == t


def test_deep_tree_no_recursion_error():
    depth = 5000
    n = nltk.Tree("NN", ["w"])
    for _ in range(depth):
        n = nltk.Tree("X", [n])
    t = tree_from_nltk(n)
    s = tree_to_string(t)
    assert s.count("(") == depth + 1 and s.startswith("(X (X") and s.endswith("(NN w)" + ")" * depth)
    back = tree_to_nltk(t)
    node = back
    for _ in range(depth):
        node = node[0]
    assert node == nltk.Tree("NN", ["w"])


@pytest.mark.parametrize("bad,where", [
    (lambda: nltk.Tree("S", []), "position ()"),
    (lambda: nltk.Tree("S", [nltk.Tree("NP", ["a", nltk.Tree("NN", ["b"])])]), "position (0,)"),
    (lambda: nltk.Tree("S", [nltk.Tree("NP", [3])]), "position (0, 0)"),
])
def test_malformed_nltk_trees_named(bad, where):
    with pytest.raises(TreeError, match=r"nltk tree position " + where.split(" ", 1)[1]
                       .replace("(", r"\(").replace(")", r"\)")):
        tree_from_nltk(bad())
    with pytest.raises(TypeError, match="expected an nltk.Tree"):
        tree_from_nltk(TEXT)


def test_write_and_read_trees_file(tmp_path):
    trees = [parse_tree(TEXT), parse_tree("(TOP (NP (NNP Pierre) (NNP Vinken)))")]
    path = tmp_path / "out.trees"
    assert write_trees(trees, path) == 2
    lines = path.read_text().splitlines()
    assert lines == [str(t) for t in trees]
    assert list(read_trees(path.read_text())) == trees
    assert [Tree.from_nltk(nltk.Tree.fromstring(ln)) for ln in lines] == trees


@pytest.mark.realdata
def test_wsj_sample_round_trip_through_nltk():
    home = os.environ.get("STRUCTPRED_DATA")
    folder = Path(home or "") / "ptb_wsj_sample" / "combined"
    if not home or not folder.is_dir():
        pytest.skip("STRUCTPRED_DATA/ptb_wsj_sample/combined not found")
    files = sorted(folder.glob("wsj_*.mrg"))[:20]
    n = 0
    for f in files:
        for raw in read_trees(f.read_text(), source=str(f)):
            t = normalize(raw)
            nl = nltk.Tree.fromstring(t.to_string())
            assert Tree.from_nltk(nl) == t and Tree.from_nltk(t.to_nltk()) == t
            assert nl.leaves() == t.leaves()
            n += 1
    assert n > 200
