"""evalb-style labeled bracket scores (COLLINS.prm)."""
import pytest

from structpred.metrics.brackets import bracket_scores, evalb_brackets, sentence_length
from structpred.tasks.parsing.trees import normalize, parse_tree


def test_punctuation_root_and_preterminals():
    t = normalize(parse_tree("((S (NP (DT the) (NN dog)) (VP (VBD ran) (, ,) (ADVP (RB fast))) (. .)))"))
    brk, words = evalb_brackets(t)
    assert words == ["the", "dog", "ran", "fast"]
    assert brk == {("S", 0, 4): 1, ("NP", 0, 2): 1, ("VP", 2, 4): 1, ("ADVP", 3, 4): 1}
    assert sentence_length(t) == 6


def test_punctuation_attachment_is_ignored_and_prt_equals_advp():
    g = normalize(parse_tree("((S (NP (NN a)) (VP (VBD b) (PRT (RP up))) (. .)))"))
    p = normalize(parse_tree("((S (NP (NN a)) (VP (VBD b) (ADVP (RP up)) (. .))))"))
    s = bracket_scores([g], [p])
    assert s["f1"] == pytest.approx(100.0) and s["exact"] == 1


def test_raw_trees_with_function_tags_and_empties():
    raw = parse_tree("( (S (NP-SBJ (-NONE- *)) (VP (VB go) (ADVP-TMP (RB now)))) )")
    brk, words = evalb_brackets(raw)
    assert words == ["go", "now"]
    assert brk == {("S", 0, 2): 1, ("VP", 0, 2): 1, ("ADVP", 1, 2): 1}
    assert sentence_length(raw) == 2


def test_precision_recall_counts():
    g = normalize(parse_tree("((S (NP (DT a) (NN b)) (VP (VB c) (NP (NN d)))))"))
    p = normalize(parse_tree("((S (NP (DT a) (NN b) (VB c)) (NP (NN d))))"))
    s = bracket_scores([g], [p])
    # gold S NP VP NP(3,4); test S NP(0,3) NP(3,4): matched S and NP(3,4)
    assert (s["matched"], s["gold"], s["test"]) == (2, 4, 3)
    assert s["precision"] == pytest.approx(200 / 3) and s["recall"] == pytest.approx(50.0)


def test_word_mismatch_is_an_error():
    g = normalize(parse_tree("((S (NN a) (NN b)))"))
    p = normalize(parse_tree("((S (NN a) (NN c)))"))
    with pytest.raises(ValueError, match="sentence 0"):
        bracket_scores([g], [p])
