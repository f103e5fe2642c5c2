"""ConstituencyParsing: input checks, persistence, unknown words, real-data PCFG and SSVM."""
import os
from pathlib import Path

import numpy as np
import pytest

from structpred.tasks.parsing import ConstituencyParsing, sentence
from structpred.tasks.parsing.trees import normalize, parse_tree

from test_parsing_cky import SENTS, TREES


@pytest.fixture(scope="module")
def model():
    m = ConstituencyParsing(horizontal=1, min_word_count=1)
    m.initialize(SENTS, TREES)
    return m


def test_check_input_names_the_example(model):
    with pytest.raises(ValueError, match="sentence 1 is empty"):
        model.check_input([SENTS[0], []])
    with pytest.raises(ValueError, match="sentence 0, token 1"):
        model.check_input([[("a", "DT"), ("b",)]])
    bad = normalize(parse_tree("((S (NP (DT a)) (VP (VB b))))"))
    with pytest.raises(ValueError, match="tree 1: its .* leaves differ"):
        model.check_input(SENTS[:2], [TREES[0], bad])
    with pytest.raises(ValueError, match="root label"):
        model.check_input(SENTS[:1], [parse_tree("(S (DT the) (NN dog) (VBD saw) (DT a) (NN cat) (. .))")])
    with pytest.raises(ValueError, match="features must be"):
        ConstituencyParsing(features="bogus").initialize(SENTS, TREES)


def test_not_initialized():
    with pytest.raises(RuntimeError, match="not initialized"):
        ConstituencyParsing().inference(SENTS[0], np.zeros(3))


def test_unknown_words_use_signatures(model):
    w = np.random.default_rng(0).normal(size=model.size_joint_feature)
    x = [("The", "DT"), ("Zyxwv-ing", "NN"), ("saw", "VBD"), ("a", "DT"), ("1,234", "NN"), (".", ".")]
    t = model.inference(x, w)
    assert t.pos() == x


def test_state_round_trip(model):
    import json
    state = model.get_state()
    enc = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in state.items()}
    m2 = ConstituencyParsing(**model.get_params())
    m2.set_state(json.loads(json.dumps(enc)))
    assert m2.size_joint_feature == model.size_joint_feature
    w = np.random.default_rng(3).normal(size=model.size_joint_feature)
    for x, y in zip(SENTS, TREES):
        assert m2.inference(x, w) == model.inference(x, w)
        np.testing.assert_array_equal(m2.joint_feature(x, y).toarray(), model.joint_feature(x, y).toarray())


DATA = Path(os.environ.get("STRUCTPRED_DATA", "/nonexistent")) / "ptb_wsj_sample" / "combined"


@pytest.mark.realdata
@pytest.mark.skipif(not DATA.exists(), reason=f"PTB sample not found at {DATA} (set STRUCTPRED_DATA)")
def test_ssvm_beats_pcfg_on_sentences_up_to_15_tokens():
    from structpred.datasets import load_ptb_sample
    from structpred.metrics.brackets import bracket_scores, sentence_length
    d = load_ptb_sample()
    train = [t for t in d["train"] if sentence_length(t) <= 15]
    test = [t for t in d["test"] if sentence_length(t) <= 15]
    assert len(test) == 198
    m = ConstituencyParsing(horizontal=1)
    X = [sentence(t) for t in train]
    m.initialize(X, train)
    Xt = [sentence(t) for t in test]
    pcfg = bracket_scores(test, m.batch_inference(m.make_batch(Xt), m.pcfg_weights()))["f1"]
    assert pcfg > 75.0
    try:
        from structpred import StructuredSVM
    except ImportError:
        pytest.skip("structpred.StructuredSVM not importable yet")
    svm = StructuredSVM(m, C=100.0, eps=0.3, max_iter=200).fit(X, train)
    f1 = bracket_scores(test, svm.predict(Xt))["f1"]
    assert f1 > pcfg + 1.0


@pytest.mark.realdata
@pytest.mark.skipif(not DATA.exists(), reason=f"PTB sample not found at {DATA} (set STRUCTPRED_DATA)")
def test_pcfg_matches_the_calibration():
    """Calibration measured independently: PCFG, gold tags, h = 1, evalb COLLINS.prm:
    F1 82.9 on the 77 test sentences <= 10 tokens, 81.5 on the 198 <= 15."""
    from structpred.datasets import load_ptb_sample
    from structpred.metrics.brackets import bracket_scores, sentence_length
    d = load_ptb_sample()
    m = ConstituencyParsing(horizontal=1, features="rules")
    m.initialize([sentence(t) for t in d["train"]], d["train"])
    for L, n, ref in ((10, 77, 82.9), (15, 198, 81.5)):
        test = [t for t in d["test"] if sentence_length(t) <= L]
        assert len(test) == n
        pred = m.batch_inference(m.make_batch([sentence(t) for t in test]), m.pcfg_weights())
        assert bracket_scores(test, pred)["f1"] == pytest.approx(ref, abs=0.6)
