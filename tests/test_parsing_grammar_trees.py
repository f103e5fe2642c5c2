"""ConstituencyParsing(grammar_trees=...): rules read off more trees than the SSVM trains on,
so that fewer sentences come back as flat fallback trees; the count is reported."""
from __future__ import annotations

import numpy as np
import pytest

import structpred
from structpred import StructuredSVM
from structpred.tasks.parsing import ConstituencyParsing, parse_tree, sentence

TRAIN = ["(TOP (S (NP (DT the) (NN dog)) (VP (VBD barked))))",
         "(TOP (S (NP (DT a) (NN cat)) (VP (VBD slept))))",
         "(TOP (S (NP (PRP it)) (VP (VBD ran))))"]
# needs an adverb rule (VP -> VBD ADVP, ADVP -> RB) that no training tree has
EXTRA = ["(TOP (S (NP (DT the) (NN cat)) (VP (VBD ran) (ADVP (RB fast)))))"]
TEST = parse_tree("(TOP (S (NP (DT a) (NN dog)) (VP (VBD slept) (ADVP (RB well)))))")


def _fit(grammar_trees=None):
    Y = [parse_tree(t) for t in TRAIN]
    X = [sentence(t) for t in Y]
    model = ConstituencyParsing(horizontal=1, grammar_trees=grammar_trees)
    return StructuredSVM(model, C=10.0, eps=0.01).fit(X, Y)


def test_grammar_trees_add_rules_and_remove_fallbacks():
    plain = _fit()
    (pred,) = plain.predict([sentence(TEST)])
    assert plain.model.fallback_count_ == 1 and "ADVP" not in plain.model.grammar_.symbols
    assert str(pred) == "(TOP (S (DT a) (NN dog) (VBD slept) (RB well)))"   # flat fallback
    extra = _fit(grammar_trees=EXTRA)
    g = extra.model.grammar_
    assert "ADVP" in g.symbols and g.n_binary > plain.model.grammar_.n_binary
    (pred,) = extra.predict([sentence(TEST)])
    assert extra.model.fallback_count_ == 0
    assert pred.pos() == TEST.pos() and "(ADVP (RB well))" in str(pred)
    # the extra trees give rules, not training examples: same gold conjunctions
    base = _fit(grammar_trees=[]).model
    assert len(extra.model.span_pairs_) == len(base.span_pairs_)
    assert len(extra.model.split_pairs_) == len(base.split_pairs_)


def test_grammar_trees_accept_trees_and_strings_and_save(tmp_path):
    a = _fit(grammar_trees=[parse_tree(t) for t in EXTRA])
    b = _fit(grammar_trees=EXTRA)
    assert a.model.grammar_.symbols == b.model.grammar_.symbols
    path = tmp_path / "p.npz"
    b.save(path)
    back = structpred.load(path)
    assert back.model.grammar_trees == EXTRA
    assert [str(t) for t in back.predict([sentence(TEST)])] == [str(t) for t in b.predict([sentence(TEST)])]


@pytest.mark.parametrize("bad,match", [(["(S (NP (DT a)))"], r"grammar_trees\[0\]: root label"),
                                       (["(TOP (S"], r"grammar_trees\[0\]"),
                                       ([3], r"grammar_trees\[0\]: expected a Tree")])
def test_bad_grammar_trees_named(bad, match):
    with pytest.raises(ValueError, match=match):
        _fit(grammar_trees=bad)


@pytest.mark.realdata
@pytest.mark.slow
def test_wsj_sample_fewer_fallbacks_with_all_training_trees():
    import os
    from structpred.metrics.brackets import sentence_length
    if not os.environ.get("STRUCTPRED_DATA"):
        pytest.skip("STRUCTPRED_DATA not set")
    from structpred.datasets import load_ptb_sample
    try:
        d = load_ptb_sample()
    except (OSError, FileNotFoundError) as exc:
        pytest.skip(f"PTB sample not found: {exc}")
    train = [t for t in d["train"] if sentence_length(t) <= 15]
    test = [t for t in d["test"] if sentence_length(t) <= 25]
    counts = []
    for extra in (None, [t.to_string() for t in d["train"]]):
        m = ConstituencyParsing(horizontal=1, grammar_trees=extra)
        m.initialize([sentence(t) for t in train], train)
        m.batch_inference(m.make_batch([sentence(t) for t in test]), m.pcfg_weights())
        counts.append(m.fallback_count_)
    assert counts[1] < counts[0]
