"""Labeled-bracket precision / recall / F1 as evalb computes them with COLLINS.prm.

What is counted (evalb, COLLINS.prm):

* words tagged ``-NONE-`` and the punctuation tags ``,`` ``:`` `````` ``''`` ``.`` are deleted
  (DELETE_LABEL); bracket spans are measured over the remaining words, and a bracket left
  spanning no word is dropped. Other punctuation (``-LRB-``, ``$``, ``#``) is kept;
* preterminals (POS tags) are not brackets; the root bracket is deleted only when it is the
  ``TOP`` wrapper or the unlabeled outer bracket of .mrg files (DELETE_LABEL TOP); a tree
  without a wrapper keeps its root (S) bracket;
* labels are cut at the first ``-`` or ``=`` (``NP-SBJ-1`` -> ``NP``), ``ADVP`` equals ``PRT``
  (EQ_LABEL ADVP PRT);
* matching is one-to-one over multisets of (label, start, end);
* sentence length (for the length cut-offs) counts every word except ``-NONE-``
  (DELETE_LABEL_FOR_LENGTH), punctuation included.

P = matched / test brackets, R = matched / gold brackets, F1 = 2PR / (P + R), micro-averaged
over the corpus (evalb's "Bracketing FMeasure").
"""
from __future__ import annotations

from collections import Counter
from typing import Iterable


from ..errors import InvalidInputError

__all__ = ["evalb_brackets", "bracket_scores", "sentence_length", "DELETE_TAGS"]

DELETE_TAGS = frozenset({",", ":", "``", "''", ".", "-NONE-"})
_EQ = {"PRT": "ADVP"}


def _label(label: str) -> str:
    if label[:1] != "-":
        for k, ch in enumerate(label):
            if ch in "-=":
                label = label[:k]
                break
    return _EQ.get(label, label)


def sentence_length(tree) -> int:
    """Words except -NONE- (evalb's length for CUTOFF_LEN)."""
    return sum(1 for _, t in tree.pos() if t != "-NONE-")


def evalb_brackets(tree) -> tuple:
    """(Counter of (label, start, end), words kept): the brackets evalb scores.

    Brackets labeled ``TOP`` and the unlabeled outer bracket of .mrg files are deleted; any
    other root (a tree ``(S ...)`` without a wrapper) keeps its bracket, as in evalb.
    Iterative, so any depth works.
    """
    out: Counter = Counter()
    words = []
    stack = [(tree, False, 0)]   # (node, children_done, start)
    while stack:
        t, done, start = stack.pop()
        if t.is_preterminal():
            if t.label not in DELETE_TAGS:
                words.append(t.children[0])
            continue
        if not done:
            stack.append((t, True, len(words)))
            stack.extend((c, False, 0) for c in reversed(t.children) if not isinstance(c, str))
            continue
        end = len(words)
        lab = _label(t.label)
        if end > start and lab and lab != "TOP":
            out[(lab, start, end)] += 1
    return out, words


def _check_pairs(gold, test, what="trees"):
    out = []
    for name, v in (("gold_trees", gold), ("test_trees", test)):
        if v is None or isinstance(v, (str, bytes)) or not hasattr(v, "__iter__"):
            raise InvalidInputError(f"{name} must be a list of {what}, got {type(v).__name__}")
        out.append(list(v))
    gold, test = out
    if len(gold) != len(test):
        raise InvalidInputError(f"gold_trees has {len(gold)} {what} but test_trees has "
                                f"{len(test)}: the lists must pair one to one")
    if not gold:
        raise InvalidInputError(f"gold_trees is empty: no {what} to score")
    return gold, test


def bracket_scores(gold_trees: Iterable, test_trees: Iterable) -> dict:
    """Corpus evalb scores: precision, recall, f1 (percent), counts, sentences, exact match.

    Raises ValueError when the two lists have different lengths, and naming the sentence
    when the kept words of gold and test differ.
    """
    gold_trees, test_trees = _check_pairs(gold_trees, test_trees)
    match = n_gold = n_test = n = exact = 0
    from ..tasks.parsing.trees import Tree
    for idx, (g, t) in enumerate(zip(gold_trees, test_trees)):
        if not (isinstance(g, Tree) and isinstance(t, Tree)):
            raise InvalidInputError(f"sentence {idx}: gold_trees and test_trees hold Trees, got "
                             f"{type(g).__name__} and {type(t).__name__}")
        gb, gw = evalb_brackets(g)
        tb, tw = evalb_brackets(t)
        if gw != tw:
            raise InvalidInputError(f"sentence {idx}: gold_trees and test_trees words differ "
                             f"({len(gw)} vs {len(tw)} scored words)")
        m = sum((gb & tb).values())
        match += m
        n_gold += sum(gb.values())
        n_test += sum(tb.values())
        exact += int(m == sum(gb.values()) == sum(tb.values()))
        n += 1
    p = 100.0 * match / n_test if n_test else 0.0
    r = 100.0 * match / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "matched": match, "gold": n_gold,
            "test": n_test, "sentences": n, "exact": exact}
