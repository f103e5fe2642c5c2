"""CKY and loss-augmented CKY against exhaustive enumeration of every tree of tiny grammars."""
import itertools

import numpy as np
import pytest

from structpred.testing import (exhaustive_inference, exhaustive_loss_augmented_inference,
                                score_output)
from structpred.tasks.parsing import ConstituencyParsing, sentence
from structpred.tasks.parsing.trees import Tree, normalize, parse_tree

TRAIN = [
    "((S (NP (DT the) (NN dog)) (VP (VBD saw) (NP (DT a) (NN cat))) (. .)))",
    "((S (NP (PRP it)) (VP (VBD ran) (PP (IN to) (NP (DT the) (NN cat)))) (. .)))",
    "((S (NP (NP (DT the) (NN dog)) (PP (IN to) (NP (PRP it)))) (VP (VBD ran))))",
    "((S (VP (VBD saw) (NP (DT the) (JJ big) (NN cat)))))",
    "((NP (NP (DT a) (NN dog)) (, ,) (NP (DT a) (NN cat))))",
    "((S (S (NP (PRP it)) (VP (VBD ran))) (CC and) (S (NP (PRP it)) (VP (VBD saw)))))",
    "((S (NP (PRP it)) (VP (VBD saw) (NP (NP (DT the) (NN dog)) (PP (IN to) (NP (DT the) (NN cat))))) (. .)))",
    "((S (NP (PRP it)) (VP (VBD saw) (NP (DT the) (NN dog)) (PP (IN to) (NP (PRP it)))) (. .)))",
    "((S (NP (NP (NN dog)) (CC and) (NP (NN cat))) (VP (VBD ran) (ADVP (RB up)))))",
    "((NP (NN dog)))",
    "((NP (NP (NN dog) (NN cat)) (NN dog)))",
    "((NP (NN dog) (NP (NN cat) (NN dog))))",
    "((NP (NP (NN dog)) (NP (NN cat))))",
    "((NP (NN dog) (NN cat) (NN dog) (NN cat)))",
    "((S (NP (NN dog) (NN cat)) (VP (VBD ran) (NP (NN dog)) (NP (NN cat) (NN dog)))))",
]
TREES = [normalize(parse_tree(s)) for s in TRAIN]
SENTS = [sentence(t) for t in TREES]


def all_derivations(model, x):
    """Every binarized tree of the model's grammar over the tags of x (as Derivations)."""
    g = model.grammar_
    n = len(x)
    tag_ids = [g.index.get(t, -1) for _, t in x]
    rules_by_children = {}
    for r, (p, l, rr) in enumerate(zip(g.bin_parent, g.bin_left, g.bin_right)):
        rules_by_children.setdefault((int(l), int(rr)), []).append(int(p))
    unary_by_child = {}
    for p, c in zip(g.un_parent, g.un_child):
        unary_by_child.setdefault(int(c), []).append(int(p))
    memo = {}

    def top(i, j):
        if (i, j) in memo:
            return memo[(i, j)]
        full = (i == 0 and j == n)
        bases = []
        if j - i == 1:
            if tag_ids[i] >= 0:
                w, t = x[i]
                bases.append((tag_ids[i], Tree(t, [w])))
        else:
            for k in range(i + 1, j):
                for (ls, lt), (rs, rt) in itertools.product(top(i, k), top(k, j)):
                    for p in rules_by_children.get((ls, rs), []):
                        bases.append((p, Tree(g.symbols[p], [lt, rt])))
        out = []
        for s, t in bases:
            if bool(g.is_root[s]) == full:
                out.append((s, t))
            for u in unary_by_child.get(s, []):
                if bool(g.is_root[u]) == full:
                    out.append((u, Tree(g.symbols[u], [t])))
        memo[(i, j)] = out
        return out
    return [model.derivation_from_binarized(t) for _, t in top(0, n)]


@pytest.fixture(scope="module", params=[(1, False, "rich", "merge"), (0, False, "rich", "chain"),
                                        (2, False, "rules", "merge"), (1, True, "rich", "chain")])
def model(request):
    h, parent, feats, unary = request.param
    m = ConstituencyParsing(horizontal=h, parent=parent, features=feats, unary=unary,
                            min_word_count=1)
    m.initialize(SENTS, TREES)
    return m


TEST_SENTS = [
    [("the", "DT"), ("dog", "NN"), ("ran", "VBD"), (".", ".")],
    [("it", "PRP"), ("saw", "VBD"), ("the", "DT"), ("cat", "NN"), (".", ".")],
    [("a", "DT"), ("zebra", "NN"), ("saw", "VBD"), ("it", "PRP")],
    [("dog", "NN")],
    [("it", "PRP"), ("saw", "VBD"), ("the", "DT"), ("dog", "NN"), ("to", "IN"), ("the", "DT"),
     ("cat", "NN"), ("to", "IN"), ("it", "PRP"), (".", ".")],
    [("dog", "NN"), ("and", "CC"), ("cat", "NN"), ("saw", "VBD"), ("the", "DT"), ("dog", "NN"),
     ("to", "IN"), ("it", "PRP")],
    [("dog", "NN"), ("cat", "NN"), ("dog", "NN"), ("cat", "NN"), ("zebra", "NN")],
    [("dog", "NN"), ("cat", "NN"), ("ran", "VBD"), ("cat", "NN"), ("dog", "NN"), ("dog", "NN")],
]


def test_oracles_match_enumeration(model):
    rng = np.random.default_rng(0)
    n_checked = 0
    for x in TEST_SENTS + SENTS[:3]:
        cands = all_derivations(model, x)
        if not cands:
            continue
        for trial in range(4):
            w = rng.normal(size=model.size_joint_feature)
            d = model.predict_derivation(x, w)
            best, best_v = exhaustive_inference(model, x, w, cands)
            assert score_output(model, x, d, w) == pytest.approx(best_v, abs=1e-9)
            # gold for loss augmentation: the best candidate of another w (a tree of the grammar)
            gold_d = cands[rng.integers(len(cands))]
            gold_t = model.derivation_to_tree(x, gold_d)
            da = model.augmented_derivation(x, gold_t, w)
            _, best_a = exhaustive_loss_augmented_inference(model, x, gold_t, w, cands)
            got = model.loss(gold_t, da) + score_output(model, x, da, w)
            assert got == pytest.approx(best_a, abs=1e-9)
            assert model.augmented_value(x, gold_t, w) == pytest.approx(best_a, abs=1e-9)
            n_checked += 1
    assert n_checked >= 12
    if not model.parent:
        assert max(len(all_derivations(model, x)) for x in TEST_SENTS) >= 20


def test_loss_is_symmetric_difference_and_f1(model):
    from structpred.tasks.parsing.model import tree_brackets
    x = max(TEST_SENTS, key=lambda s: len(all_derivations(model, s)))
    cands = all_derivations(model, x)
    assert len(cands) >= 2
    y = model.derivation_to_tree(x, cands[0])
    G = sum(tree_brackets(y).values())
    for d in cands:
        t = model.derivation_to_tree(x, d)
        P = sum(tree_brackets(t).values())
        M = sum((tree_brackets(t) & tree_brackets(y)).values())
        loss = model.loss(y, d)
        assert loss == model.loss(y, t) == P + G - 2 * M
        f1 = 2 * M / (P + G)
        assert loss == pytest.approx((P + G) * (1 - f1))
    assert model.loss(y, y) == 0
    assert model.max_loss(y) == max(model.loss(y, d) for d in cands)


def test_unparseable_sentence_gets_flat_fallback(model):
    x = [("foo", "XYZ"), ("dog", "NN")]          # tag never seen: no rule covers it
    w = np.zeros(model.size_joint_feature)
    before = model.fallback_count_
    t = model.inference(x, w)
    assert str(t) == f"(TOP ({model.fallback_label_} (XYZ foo) (NN dog)))"
    assert model.fallback_count_ == before + 1


def test_batch_forms_agree_with_single_forms(model):
    rng = np.random.default_rng(1)
    w = rng.normal(size=model.size_joint_feature)
    batch = model.make_batch(SENTS, TREES)
    Y1 = model.batch_loss_augmented_inference(batch, w, n_jobs=1)
    Y2 = model.batch_loss_augmented_inference(batch, w, n_jobs=2)
    D1 = model.batch_delta_joint_feature(batch, Y1)
    D2 = model.batch_delta_joint_feature(batch, Y2)
    assert (D1 != D2).nnz == 0
    np.testing.assert_array_equal(model.batch_loss(batch, Y1), model.batch_loss(batch, Y2))
    for i, (x, y, yh) in enumerate(zip(SENTS, TREES, Y1)):
        ref = (model.joint_feature(x, y) - model.joint_feature(x, yh)).toarray().ravel()
        np.testing.assert_allclose(D1[i].toarray().ravel(), ref)
        assert model.batch_loss(batch, Y1)[i] == model.loss(y, yh)
    P1 = model.batch_inference(model.make_batch(SENTS), w, n_jobs=1)
    P2 = model.batch_inference(model.make_batch(SENTS), w, n_jobs=2)
    assert P1 == P2 == [model.inference(x, w) for x in SENTS]
