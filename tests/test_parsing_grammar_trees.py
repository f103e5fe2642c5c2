"""ConstituencyParsing(grammar_trees=..., smoothing=...): rules read off more trees than the
SSVM trains on, and glue rules for sentences no rule sequence covers, so that fewer
sentences come back as flat fallback trees; the count is reported."""
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


def test_smoothing_glues_constituents_instead_of_a_flat_tree():
    # all tags are known, but no rule puts VP before NP under S
    test = parse_tree("(TOP (S (VP (VBD slept)) (NP (DT the) (NN cat)) (NP (PRP it))))")
    flat = _fit()
    (pred,) = flat.predict([sentence(test)])
    assert flat.model.fallback_count_ == 1 and str(pred) == "(TOP (S (VBD slept) (DT the) (NN cat) (PRP it)))"
    Y = [parse_tree(t) for t in TRAIN]
    X = [sentence(t) for t in Y]
    glued = StructuredSVM(ConstituencyParsing(smoothing=0.01), C=10.0, eps=0.01).fit(X, Y)
    (pred,) = glued.predict([sentence(test)])
    assert glued.model.fallback_count_ == 0
    assert str(pred) == "(TOP (S (VP (VBD slept)) (NP (DT the) (NN cat)) (PRP it)))"
    assert glued.score(X, Y) == 1.0                  # training trees still parse exactly
    g, base = glued.model.grammar_, flat.model.grammar_
    assert "@S|*" in g.symbols and g.n_binary > base.n_binary and g.n_unary > base.n_unary
    # additive smoothing: glue rules carry the pseudo-count, PCFG weights stay finite
    bw, uw = g.pcfg_log_weights()
    assert np.all(np.isfinite(bw)) and np.all(np.isfinite(uw))
    glue = g.index["@S|*"]
    assert np.all(g.bin_count[g.bin_parent == glue] == 0.01)
    # every original rule keeps its count
    orig = {(base.symbols[p], base.symbols[l], base.symbols[r]): c for p, l, r, c in
            zip(base.bin_parent, base.bin_left, base.bin_right, base.bin_count)}
    new = {(g.symbols[p], g.symbols[l], g.symbols[r]): c for p, l, r, c in
           zip(g.bin_parent, g.bin_left, g.bin_right, g.bin_count)}
    assert all(new[k] == c for k, c in orig.items())
    with pytest.raises(ValueError, match="smoothing must be"):
        StructuredSVM(ConstituencyParsing(smoothing=float("nan"))).fit(X, Y)


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
    counts = {}
    every = [t.to_string() for t in d["train"]]
    for extra, sm in ((None, 0.0), (every, 0.0), (None, 1e-3)):
        m = ConstituencyParsing(horizontal=1, grammar_trees=extra, smoothing=sm)
        m.initialize([sentence(t) for t in train], train)
        m.batch_inference(m.make_batch([sentence(t) for t in test]), m.pcfg_weights())
        counts[extra is not None, sm] = m.fallback_count_
    assert counts[True, 0.0] < counts[False, 0.0] and counts[False, 1e-3] < counts[False, 0.0]
