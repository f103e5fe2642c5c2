"""ConstituencyParsing: the SVM-cfg task (Tsochantaridis et al. 2005; Taskar et al. 2004).

x: a sentence, a sequence of ``(word, tag)`` pairs (gold POS tags; ``sentence(tree)`` gives
   it from a tree). The grammar reads the tags; words enter only through the span and split
   features. A word is lower-cased; words seen fewer than ``min_word_count`` times in
   training, and all unseen words, are replaced by a signature (capitalisation, digits,
   hyphen, suffix), so unknown words are never an error. A tag never seen in training has
   no rule: such a sentence (like any sentence no tree of the grammar covers) gets the
   documented fallback, a flat tree ``(TOP (F tag1 ... tagn))`` with F the most frequent
   label below TOP in training (``fallback_count_`` counts them).
y: a normalised tree (:func:`.trees.normalize`: root ``TOP``, no empty elements, no
   function tags), binarized internally (unary chains collapsed, ``unary="merge"``: a chain
   above a node with >= 2 children becomes one node ``S+VP`` as in NLTK's collapse_unary,
   ``"chain"``: one unary node over the bottom node; right factoring with ``horizontal``
   markovization; optional ``parent`` annotation), with exact undo on output.

Ψ(x, y) = [counts of the binary rules | counts of the unary rules |
           span features | split features]. Each node of the binarized tree (binary node
A over (i, j), or unary node U over (i, j)) fires the templates of :mod:`structpred.tasks.parsing.features` for its
span once per feature label of its symbol (``S+VP`` -> S and VP; ``@NP|DT`` -> @NP; parent
annotation dropped), and each binary node fires the split templates of its split point k.
Only (template value, label) conjunctions seen in gold training trees get a weight
(``features="rules"`` keeps the rule counts only: a discriminative PCFG).

Δ(y, ŷ) = |brackets(y) ⊖ brackets(ŷ)| = P + G - 2M (multisets of labeled brackets
(label, i, j), root TOP and preterminals excluded, raw token positions, punctuation kept),
so Δ = (P + G)(1 - F1) and Δ = 0 iff the bracketings agree. It decomposes over the cells
of the chart, which is what loss-augmented CKY maximises exactly. Unlike evalb it keeps
punctuation positions and does not equate ADVP with PRT (evaluation uses
:mod:`structpred.metrics.brackets`, which does).

Inference returns the unbinarized tree of the best chart derivation. Inside the solvers
the oracle's output stays a :class:`Derivation`, so Ψ is always that of the derivation the
chart scored (a derivation whose markov labels are not the canonical binarization of its
own tree cannot make Ψ and the oracle disagree).
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import scipy.sparse as sp

from ...boundary.params import check_bool, check_choice, check_int, check_real, check_state
from ...errors import InvalidInputError
from ...model import StructuredModel
from ...parallel import map_threads
from .cky import cky, n_spans, span_id
from .features import (anchored_scores, collect_pairs, derivation_feature_ids, n_span_values,
                       n_split_values, symbol_scores)
from .grammar import Grammar, symbol_brackets
from ...labels.trees import ROOT, Tree, TreeError, binarize, check_tree_structure, unbinarize

__all__ = ["ConstituencyParsing", "Derivation", "sentence", "word_signature", "tree_brackets",
           "MAX_LENGTH", "MAX_HORIZONTAL", "MAX_SMOOTHING"]

#: Largest ``max_length`` (words of a sentence CKY accepts); CKY is cubic in the length.
MAX_LENGTH = 100_000
#: Largest horizontal Markov order (the command line's ``--horizontal`` bound).
MAX_HORIZONTAL = 100
#: Largest glue-rule pseudo-count (the command line's ``--smoothing`` bound).
MAX_SMOOTHING = 1e6

_SUFFIXES = ("ing", "ed", "ly", "ion", "er", "est", "al", "ity", "ies", "es", "s", "y",
             "ment", "ness", "able", "ive", "ic", "ous", "ful", "less", "an", "ist")
_SIGNATURES = None


def _signature_list():
    global _SIGNATURES
    if _SIGNATURES is None:
        sigs = []
        for shape in ("num", "cap-first", "cap", "lower", "other"):
            for hy in ("", "-hyph"):
                for suf in ("",) + _SUFFIXES:
                    sigs.append(f"UNK-{shape}{hy}{'-' + suf if suf else ''}")
        _SIGNATURES = sigs
    return _SIGNATURES


def word_signature(word: str, first: bool = False) -> str:
    """Class of an unknown word: shape (num / capitalised / lower ...), hyphen, suffix."""
    if any(ch.isdigit() for ch in word):
        shape = "num"
    elif word[:1].isupper():
        shape = "cap-first" if first else "cap"
    elif word[:1].islower():
        shape = "lower"
    else:
        shape = "other"
    hy = "-hyph" if "-" in word else ""
    low = word.lower()
    suf = ""
    if shape != "num":
        for s in _SUFFIXES:
            if low.endswith(s) and len(low) > len(s) + 2:
                suf = "-" + s
                break
    return f"UNK-{shape}{hy}{suf}"


def sentence(tree: Tree) -> list:
    """x of a tree: its [(word, tag), ...]."""
    return tree.pos()


def tree_brackets(tree: Tree) -> Counter:
    """Multiset of (label, i, j) over raw token positions: every node except the root and
    the preterminals (the brackets Δ compares)."""
    out: Counter = Counter()

    def rec(t, i, is_root):
        if t.is_preterminal():
            return i + 1
        j = i
        for c in t.children:
            j = rec(c, j, False)
        if not is_root and t.label != ROOT:
            out[(t.label, i, j)] += 1
        return j
    rec(tree, 0, True)
    return out


class Derivation:
    """A binarized tree as arrays: bnodes rows (rule, i, k, j, symbol), unodes rows
    (rule, i, j, symbol); rule or symbol is -1 when the grammar lacks it. ``tree`` is set for
    fallback trees (then the arrays describe the binarized fallback as far as known)."""

    __slots__ = ("bnodes", "unodes", "tree", "fallback", "brackets")

    def __init__(self, bnodes, unodes, tree=None, fallback=False, brackets=None):
        self.bnodes = bnodes
        self.unodes = unodes
        self.tree = tree
        self.fallback = fallback
        self.brackets = brackets


class _Batch:
    def __init__(self, X, Y, enc, gold):
        self.X = X
        self.Y = Y
        self.enc = enc          # [(n, tags, tp, wp)]
        self.gold = gold        # [Derivation] or None

    def __len__(self):
        return len(self.X)


def _check_grammar_state(state):
    """ValueError unless a saved grammar (from a model file) only names its own symbols:
    the CKY kernels index tables with these numbers unchecked."""
    g = state["grammar"]
    symbols = g["symbols"]
    if not isinstance(symbols, list) or not all(isinstance(x, str) and x for x in symbols):
        raise ValueError("grammar symbols must be non-empty strings")
    if not all(isinstance(t, str) and t in set(symbols) for t in g["tags"]):
        raise ValueError("grammar tags must be grammar symbols")
    n = len(symbols)
    for kind, rows, width in (("binary", g["binary"], 4), ("unary", g["unary"], 3)):
        for row in rows:
            ids, count = row[:-1], row[-1]
            if len(row) != width or not all(isinstance(i, int) and not isinstance(i, bool)
                                            and 0 <= i < n for i in ids) \
                    or not isinstance(count, (int, float)) or not count > 0 or count == float("inf"):
                raise ValueError(f"grammar {kind} rule {row!r}: symbol ids must lie in [0, {n}) "
                                 "and the count be a positive number")
    if not all(isinstance(v, str) for v in state["vocab"]) or state["fallback_label"] not in symbols:
        raise ValueError("vocab must be strings and fallback_label a grammar symbol")


class ConstituencyParsing(StructuredModel):
    """Weighted-CFG constituency parser trained as a structural SVM (SVM-cfg).

    Parameters
    ----------
    horizontal : int
        Horizontal markovization order h: an intermediate node of X is labeled ``@X|`` plus
        the first h labels of the children it covers (NLTK's right factoring).
    unary : {"merge", "chain"}
        How unary chains are collapsed (see above). "merge" reproduces the calibration PCFG.
    parent : bool
        Parent annotation (vertical markovization 2).
    features : {"rich", "rules"}
        "rich": rule counts + anchored span features + split features; "rules": rule counts.
    min_word_count : int
        Training words seen fewer times are replaced by their signature.
    grammar_trees : list of Tree or str, or None
        More normalised trees (or their bracketed strings) whose rules join the grammar
        besides the training trees' (e.g. every treebank tree while the SSVM trains on the
        short ones), so that fewer test sentences have no parse. Their rule counts enter
        the PCFG weights; only the training trees enter Ψ's span and split conjunctions.
        Pass strings (``tree.to_string()``) to keep the parameter small in model files.
    smoothing : float
        0: a sentence that no rule sequence covers gets the flat fallback tree. > 0: glue
        rules (:meth:`Grammar.with_glue`) join the constituents the grammar does build under
        one fallback-label node, each glue rule with this pseudo-count in the PCFG counts
        (additive smoothing for unseen rules); the SSVM learns their weights like any rule's.

    max_length : int
        Longest sentence (in words) accepted by fit and predict (default 250). CKY takes
        O(n³ |G|) time and O(n² |symbols|) memory (400 words: about 5 s and 0.7 GB), so
        longer sentences are refused with InvalidInputError naming the sentence instead of
        running until memory runs out. Raise it knowingly.

    Weight layout: ``[binary rules (n_binary) | unary rules (n_unary) | span conjunctions |
    split conjunctions]``; :meth:`pcfg_weights` gives the PCFG baseline in this layout.
    """

    def __init__(self, horizontal: int = 1, parent: bool = False, unary: str = "merge",
                 features: str = "rich", min_word_count: int = 2, grammar_trees=None,
                 smoothing: float = 0.0, max_length: int = 250):
        super().__init__()
        self.max_length = max_length
        self.horizontal = horizontal
        self.parent = parent
        self.unary = unary
        self.features = features
        self.min_word_count = min_word_count
        self.grammar_trees = grammar_trees
        self.smoothing = smoothing
        self.grammar_ = None
        self.fallback_count_ = 0

    @classmethod
    def tiny_example(cls, random_state=0):
        """A tiny valid training set (task, X, Y) for the registry-driven battery
        (tests/test_registry_battery.py): every registered task provides one, so the
        battery's hostile variants of it reach the task's checks."""
        from .trees import normalize, parse_tree
        texts = ["(S (NP (DT the) (NN dog)) (VP (VBD saw) (NP (DT a) (NN cat))))",
                 "(S (NP (DT a) (NN cat)) (VP (VBD ran)))",
                 "(S (NP (PRP it)) (VP (VBD saw) (NP (DT the) (NN dog))))"]
        Y = [normalize(parse_tree(t)) for t in texts]
        return cls(min_word_count=1), [sentence(t) for t in Y], Y

    # ------------------------------------------------------------------ set-up
    def _binarize(self, y):
        return binarize(y, int(self.horizontal), bool(self.parent), merge=self.unary == "merge")

    def _validate_params(self):
        """InvalidInputError naming the parameter (structpred.boundary.params), with the
        command line's bounds: unary and features among their choices, horizontal in
        [0, MAX_HORIZONTAL], parent a bool, min_word_count >= 0, smoothing in
        [0, MAX_SMOOTHING], max_length in [1, MAX_LENGTH], grammar_trees None or a list of
        bracketed strings / Trees (parsed only by fit). Run by fit and by ``structpred.load``
        on a model file's parameters."""
        check_choice(self.unary, "unary", ("merge", "chain"))
        check_choice(self.features, "features", ("rich", "rules"))
        check_int(self.horizontal, "horizontal", 0, MAX_HORIZONTAL)
        check_bool(self.parent, "parent")
        check_real(self.smoothing, "smoothing", 0.0, MAX_SMOOTHING)
        check_int(self.min_word_count, "min_word_count", 0)
        check_int(self.max_length, "max_length", 1, MAX_LENGTH)
        trees = self.grammar_trees
        if trees is not None and not isinstance(trees, (list, tuple)):
            raise InvalidInputError("grammar_trees must be None or a list of Trees or bracketed "
                                    f"tree strings, got {type(trees).__name__}")
        for i, t in enumerate(trees or ()):
            if not isinstance(t, (str, Tree)):
                raise InvalidInputError(f"grammar_trees[{i}]: expected a Tree or a bracketed "
                                        f"tree string, got {type(t).__name__}")

    def initialize(self, X, Y) -> None:
        """Grammar, vocabulary and the feature conjunctions seen in the gold trees."""
        self._validate_params()
        self.check_input(X, Y)
        btrees = [self._binarize(y) for y in Y]
        self.grammar_ = Grammar.from_trees(btrees + self._extra_grammar_trees())
        self.fallback_count_ = 0
        counts = Counter(w.lower() for x in X for w, _ in x)
        vocab = sorted(w for w, c in counts.items() if c >= self.min_word_count)
        under = Counter(c.label for y in Y for c in y.children if isinstance(c, Tree))
        if float(self.smoothing) > 0 and under:
            self.grammar_ = self.grammar_.with_glue(under.most_common(1)[0][0], float(self.smoothing))
        self._set_tables(vocab, under.most_common(1)[0][0] if under else "S", None, None)
        # collect gold conjunctions
        g = self.grammar_
        span_pairs, split_pairs = [], []
        rich = self.features == "rich"
        for x, b in zip(X, btrees):
            enc = self._encode(x)
            d = self._derivation_from_binarized(b)
            so, po = collect_pairs(enc[2], enc[3], self.T_, self.V_, d.bnodes, d.unodes,
                                   rich, rich, g.feat_ptr, g.feat_ids)
            span_pairs.append(so)
            split_pairs.append(po)
        sp_pairs = np.unique(np.concatenate(span_pairs), axis=0) if rich else np.zeros((0, 2), np.int64)
        pl_pairs = np.unique(np.concatenate(split_pairs), axis=0) if rich else np.zeros((0, 2), np.int64)
        self._set_tables(vocab, self.fallback_label_, sp_pairs, pl_pairs)

    def _extra_grammar_trees(self) -> list:
        """The binarized ``grammar_trees`` (TreeError / ValueError naming the tree)."""
        from ...labels.trees import parse_tree
        out = []
        for i, t in enumerate(self.grammar_trees or ()):
            if isinstance(t, str):
                try:
                    t = parse_tree(t)
                except ValueError as exc:
                    raise ValueError(f"grammar_trees[{i}]: {exc}") from None
            if not isinstance(t, Tree):
                raise ValueError(f"grammar_trees[{i}]: expected a Tree or a bracketed string, "
                                 f"got {type(t).__name__}")
            if t.label != ROOT or t.is_preterminal():
                raise ValueError(f"grammar_trees[{i}]: root label is {t.label!r}, not {ROOT!r}; "
                                 "pass trees through structpred.tasks.parsing.normalize")
            out.append(self._binarize(t))
        return out

    def _set_tables(self, vocab, fallback_label, span_pairs, split_pairs):
        g = self.grammar_
        self.vocab_ = list(vocab)
        sigs = _signature_list()
        self._word_index = {s: 1 + i for i, s in enumerate(sigs)}
        base = 1 + len(sigs)
        self._word_index.update({w: base + i for i, w in enumerate(self.vocab_)})
        self.V_ = base + len(self.vocab_)
        tags = [s for s, t in zip(g.symbols, g.is_tag) if t]
        self._tag_value = {t: 2 + i for i, t in enumerate(sorted(tags))}
        self.T_ = 2 + len(tags)
        self.fallback_label_ = fallback_label
        self.n_coarse_ = len(g.feature_labels)
        self._sym_ids = np.arange(g.n_symbols, dtype=np.int32)
        off = g.n_binary + g.n_unary
        self.span_pairs_ = np.zeros((0, 2), np.int64) if span_pairs is None else np.asarray(span_pairs, np.int64).reshape(-1, 2)
        self.split_pairs_ = np.zeros((0, 2), np.int64) if split_pairs is None else np.asarray(split_pairs, np.int64).reshape(-1, 2)
        for name, pairs, rows in (("span_pairs", self.span_pairs_, n_span_values(self.T_, self.V_)),
                                  ("split_pairs", self.split_pairs_, n_split_values(self.T_, self.V_))):
            if self.features == "rich" and pairs.size and (
                    pairs.min() < 0 or pairs[:, 0].max() >= rows or pairs[:, 1].max() >= self.n_coarse_):
                raise ValueError(f"{name}: an index is outside the feature tables "
                                 f"({rows} x {self.n_coarse_})")
        if self.features == "rich":
            self._span_table = np.full((n_span_values(self.T_, self.V_), self.n_coarse_), -1, np.int64)
            self._span_table[self.span_pairs_[:, 0], self.span_pairs_[:, 1]] = off + np.arange(len(self.span_pairs_))
            off += len(self.span_pairs_)
            self._split_table = np.full((n_split_values(self.T_, self.V_), self.n_coarse_), -1, np.int64)
            self._split_table[self.split_pairs_[:, 0], self.split_pairs_[:, 1]] = off + np.arange(len(self.split_pairs_))
            off += len(self.split_pairs_)
        else:
            self._span_table = np.zeros((0, self.n_coarse_), np.int64)
            self._split_table = np.zeros((0, self.n_coarse_), np.int64)
        self.size_joint_feature = off
        self._tag_symbol = {s: i for i, (s, t) in enumerate(zip(g.symbols, g.is_tag)) if t}
        self._brk_labels = [symbol_brackets(s, t) for s, t in zip(g.symbols, g.is_tag)]
        self._null_gold = np.zeros((1, 1), np.int32)

    def get_state(self):
        """Grammar, vocabulary and feature tables learnt by ``initialize``, for the model file."""
        if self.grammar_ is None:
            return {}
        return {"grammar": self.grammar_.to_state(), "vocab": self.vocab_,
                "fallback_label": self.fallback_label_,
                "span_pairs": self.span_pairs_, "split_pairs": self.split_pairs_}

    def set_state(self, state):
        """Restore grammar, vocabulary, fallback label and the gold conjunction tables
        (exactly the keys ``get_state`` writes, or none); InvalidInputError naming the key
        for an unknown key, a missing one, or a value of the wrong type or range."""
        keys = ("grammar", "vocab", "fallback_label", "span_pairs", "split_pairs")
        as_is = (lambda v, n: v)  # noqa: E731 -- checked together below
        state = check_state(state, "ConstituencyParsing", dict.fromkeys(keys, as_is),
                            required=keys if state else ())
        if not state:
            return
        if not isinstance(state["grammar"], dict):
            raise InvalidInputError("ConstituencyParsing state 'grammar' must be a dict, got "
                                    f"{type(state['grammar']).__name__}")
        if not isinstance(state["vocab"], list) or not isinstance(state["fallback_label"], str):
            raise InvalidInputError("ConstituencyParsing state 'vocab' must be a list of strings "
                                    "and 'fallback_label' a string")
        for key in ("span_pairs", "split_pairs"):
            arr = np.asarray(state[key])
            if arr.dtype.kind not in "iu" or (arr.size and arr.min() < 0):
                raise InvalidInputError(f"ConstituencyParsing state {key}: an index is outside "
                                        "the feature tables (negative or not an integer)")
        try:
            _check_grammar_state(state)
        except (TypeError, KeyError, AttributeError, IndexError) as exc:
            raise InvalidInputError(f"ConstituencyParsing state 'grammar' is malformed "
                                    f"({type(exc).__name__}: {exc})") from None
        except ValueError as exc:
            raise InvalidInputError(f"ConstituencyParsing state 'grammar': {exc}") from None
        self.grammar_ = Grammar.from_state(state["grammar"])
        self._set_tables(state["vocab"], state["fallback_label"],
                         np.asarray(state["span_pairs"]), np.asarray(state["split_pairs"]))

    def _require_fitted(self):
        if self.grammar_ is None:
            raise RuntimeError("ConstituencyParsing is not initialized: call initialize(X, Y) "
                               "(StructuredSVM.fit does) before inference")

    # ------------------------------------------------------------------ input checks
    def check_input(self, X, Y=None) -> None:
        """InvalidInputError (a ValueError) naming the example when a sentence or tree is
        malformed (every example is checked)."""
        if Y is not None and len(X) != len(Y):
            raise InvalidInputError(f"X has {len(X)} sentences but Y has {len(Y)} trees")
        max_length = check_int(self.max_length, "max_length", 1, MAX_LENGTH)
        for idx, x in enumerate(X):
            try:
                n = len(x)
            except TypeError:
                raise InvalidInputError(f"sentence {idx}: expected a sequence of (word, tag) pairs, "
                                 f"got {type(x).__name__}") from None
            if n == 0:
                raise InvalidInputError(f"sentence {idx} is empty", idx)
            if n > max_length:
                raise InvalidInputError(f"sentence {idx} has {n} words, more than max_length="
                                        f"{max_length} (CKY is cubic in the length; raise "
                                        "ConstituencyParsing.max_length knowingly)", idx)
            for p, tok in enumerate(x):
                if (not isinstance(tok, (tuple, list)) or len(tok) != 2
                        or not all(isinstance(s, str) and s for s in tok)):
                    raise InvalidInputError(f"sentence {idx}, token {p}: expected a (word, tag) pair of "
                                     f"non-empty strings, got {tok!r}")
            if Y is not None:
                y = Y[idx]
                if not isinstance(y, Tree):
                    raise InvalidInputError(f"tree {idx}: expected a Tree, got {type(y).__name__}")
                try:
                    check_tree_structure(y, f"tree {idx}")
                except TreeError as exc:
                    raise InvalidInputError(str(exc), idx) from None
                if y.label != ROOT or y.is_preterminal():
                    raise InvalidInputError(f"tree {idx}: root label is {y.label!r}, not {ROOT!r}; "
                                     "pass trees through structpred.tasks.parsing.normalize")
                pos = [tuple(t) for t in y.pos()]
                if pos != [tuple(t) for t in x]:
                    raise InvalidInputError(f"tree {idx}: its (word, tag) leaves differ from sentence {idx}")
                if any(t == "-NONE-" for _, t in pos):
                    raise InvalidInputError(f"tree {idx} has -NONE- leaves; normalize it first")

    # ------------------------------------------------------------------ encoding
    def _word_value(self, word, first):
        v = self._word_index.get(word.lower())
        if v is None:
            v = self._word_index[word_signature(word, first)]
        return v

    def _encode(self, x):
        n = len(x)
        tags = np.array([self._tag_symbol.get(t, -1) for _, t in x], dtype=np.int32)
        tp = np.zeros(n + 2, dtype=np.int64)
        wp = np.zeros(n + 2, dtype=np.int64)
        for i, (w, t) in enumerate(x):
            tp[i + 1] = self._tag_value.get(t, 1)
            wp[i + 1] = self._word_value(w, i == 0)
        return n, tags, tp, wp

    def _derivation_from_binarized(self, b: Tree) -> Derivation:
        g = self.grammar_
        bn, un = [], []

        def sid(label):
            return g.index.get(label, -1)

        def coarse(label):
            return sid(label)

        def rec(t, i):
            if t.is_preterminal():
                return i + 1
            kids = t.children
            if len(kids) == 1:
                j = rec(kids[0], i)
                r = g.un_index.get((sid(t.label), sid(kids[0].label)), -1)
                un.append((r, i, j, coarse(t.label)))
                return j
            k = rec(kids[0], i)
            j = rec(kids[1], k)
            r = g.bin_index.get((sid(t.label), sid(kids[0].label), sid(kids[1].label)), -1)
            bn.append((r, i, k, j, coarse(t.label)))
            return j
        rec(b, 0)
        d = Derivation(np.array(bn, dtype=np.int64).reshape(-1, 5),
                       np.array(un, dtype=np.int64).reshape(-1, 4))
        d.brackets = tree_brackets(unbinarize(b))
        return d

    def _derivation_from_tree(self, y: Tree) -> Derivation:
        return self._derivation_from_binarized(self._binarize(y))

    def _derivation_from_chart(self, bnodes, unodes) -> Derivation:
        g = self.grammar_
        bn = np.empty((len(bnodes), 5), dtype=np.int64)
        bn[:, :4] = bnodes
        bn[:, 4] = g.bin_parent[bnodes[:, 0]] if len(bnodes) else 0
        un = np.empty((len(unodes), 4), dtype=np.int64)
        un[:, :3] = unodes
        un[:, 3] = g.un_parent[unodes[:, 0]] if len(unodes) else 0
        d = Derivation(bn, un)
        brk: Counter = Counter()
        for r, i, k, j in bnodes:
            for lab in self._brk_labels[g.bin_parent[r]]:
                brk[(lab, int(i), int(j))] += 1
        for u, i, j in unodes:
            for lab in self._brk_labels[g.un_parent[u]]:
                brk[(lab, int(i), int(j))] += 1
        d.brackets = brk
        return d

    def derivation_to_tree(self, x, d: Derivation) -> Tree:
        """The (unbinarized, normalised) tree of a derivation."""
        if d.tree is not None:
            return d.tree
        g = self.grammar_
        bmap = {(int(i), int(j)): (int(r), int(k)) for r, i, k, j, _ in d.bnodes}
        umap = {(int(i), int(j)): int(u) for u, i, j, _ in d.unodes}

        def base(i, j, label=None):
            if j - i == 1:
                w, t = x[i]
                return Tree(t, [w])
            r, k = bmap[(i, j)]
            return Tree(g.symbols[g.bin_parent[r]], [top(i, k), top(k, j)])

        def top(i, j):
            u = umap.get((i, j))
            b = base(i, j)
            return b if u is None else Tree(g.symbols[g.un_parent[u]], [b])
        return unbinarize(top(0, len(x)))

    def _fallback(self, x) -> Derivation:
        tree = Tree(ROOT, [Tree(self.fallback_label_, [Tree(t, [w]) for w, t in x])])
        d = self._derivation_from_tree(tree)
        d.tree = tree
        d.fallback = True
        return d

    # ------------------------------------------------------------------ kernels
    def _weights(self, w):
        w = np.ascontiguousarray(w, dtype=np.float64)
        if w.shape != (self.size_joint_feature,):
            raise ValueError(f"w has shape {w.shape}, expected ({self.size_joint_feature},)")
        g = self.grammar_
        nb = g.n_binary
        return w, w[:nb].copy(), w[nb:nb + g.n_unary].copy()

    def _gold_counts(self, n, gold: Derivation):
        g = self.grammar_
        cnt = np.zeros((max(len(g.bracket_labels), 1), n_spans(n)), dtype=np.int32)
        for (lab, i, j), c in gold.brackets.items():
            li = g.bracket_index.get(lab)
            if li is not None:
                cnt[li, span_id(i, j, n)] += c
        return cnt

    def _run(self, enc, wparts, scale=0.0, gold_cnt=None):
        g = self.grammar_
        w, bw, uw = wparts
        n, tags, tp, wp = enc
        span_s, split_s = anchored_scores(n, tp, wp, self.T_, self.V_, self._span_table,
                                          self._split_table, w, self.n_coarse_)
        span_s = symbol_scores(span_s, g.feat_ptr, g.feat_ids)
        split_s = symbol_scores(split_s, g.feat_ptr, g.feat_ids)
        return cky(n, tags, g.n_symbols, g.bin_parent, g.bin_left, g.bin_right, g.left_ptr, bw,
                   g.un_parent, g.un_child, uw, g.is_root, self._sym_ids, span_s, split_s,
                   float(scale), g.brk_ptr, g.brk_ids,
                   self._null_gold if gold_cnt is None else gold_cnt)

    def _predict_one(self, x, enc, wparts) -> Derivation:
        ok, _, bn, un = self._run(enc, wparts)
        if not ok:
            self.fallback_count_ += 1
            return self._fallback(x)
        return self._derivation_from_chart(bn, un)

    def _augmented_one(self, enc, gold, wparts, scale=1.0):
        ok, val, bn, un = self._run(enc, wparts, scale, self._gold_counts(enc[0], gold))
        if not ok:                      # gold not derivable (foreign example): no constraint
            return gold, val
        return self._derivation_from_chart(bn, un), val

    # ------------------------------------------------------------------ single forms
    def joint_feature(self, x, y):
        """Ψ(x, y): counts of the rules and span/split features of tree y's binarized derivation."""
        self._require_fitted()
        d = y if isinstance(y, Derivation) else self._derivation_from_tree(y)
        return self._psi_row(self._encode(x), d)

    def _psi_ids(self, enc, d):
        _, _, tp, wp = enc
        return derivation_feature_ids(tp, wp, self.T_, self.V_, d.bnodes, d.unodes,
                                      self._span_table, self._split_table, self.grammar_.n_binary,
                                      self.grammar_.feat_ptr, self.grammar_.feat_ids)

    def _psi_row(self, enc, d):
        ids = self._psi_ids(enc, d)
        return sp.csr_matrix((np.ones(len(ids)), (np.zeros(len(ids), np.int64), ids)),
                             shape=(1, self.size_joint_feature))

    def _brackets(self, y):
        if isinstance(y, Derivation):
            return y.brackets if y.brackets is not None else tree_brackets(y.tree)
        return tree_brackets(y)

    def loss(self, y, y_hat) -> float:
        """Δ = P + G - 2M over labeled brackets (= (P + G)(1 - F1))."""
        a, b = self._brackets(y), self._brackets(y_hat)
        return float(sum(((a - b) + (b - a)).values()))

    def inference(self, x, w):
        """CKY argmax_y w·Ψ(x, y) over the binarized grammar; the best tree (debinarized)."""
        self._require_fitted()
        wparts = self._weights(w)
        return self.derivation_to_tree(x, self._predict_one(x, self._encode(x), wparts))

    def predict_derivation(self, x, w) -> Derivation:
        """The CKY argmax as a :class:`Derivation` (the binarized tree the chart scored).

        ``inference`` returns ``derivation_to_tree`` of it. Ψ is always computed on
        derivations inside the solvers, so a chart derivation whose markov labels are not the
        canonical binarization of its tree never makes Ψ and the oracle disagree.
        """
        self._require_fitted()
        return self._predict_one(list(map(tuple, x)), self._encode(x), self._weights(w))

    def augmented_derivation(self, x, y, w) -> Derivation:
        """The loss-augmented CKY argmax as a :class:`Derivation`."""
        self._require_fitted()
        return self._augmented_one(self._encode(x), self._derivation_from_tree(y), self._weights(w))[0]

    def derivation_of(self, y) -> Derivation:
        """y (a normalised tree) as a derivation of this grammar (unknown rules get id -1)."""
        self._require_fitted()
        return self._derivation_from_tree(y)

    def derivation_from_binarized(self, b: Tree) -> Derivation:
        """A binarized tree (labels as :func:`.trees.binarize` makes them) as a derivation."""
        self._require_fitted()
        return self._derivation_from_binarized(b)

    def loss_augmented_inference(self, x, y, w):
        """CKY argmax_ŷ Δ(y, ŷ) + w·Ψ(x, ŷ), Δ the labeled-bracket loss (decomposes over spans)."""
        self._require_fitted()
        gold = self._derivation_from_tree(y)
        d, _ = self._augmented_one(self._encode(x), gold, self._weights(w))
        return self.derivation_to_tree(x, d)

    def max_loss(self, y) -> float:
        """max over trees ŷ of the grammar of Δ(y, ŷ) (exact, by loss-augmented CKY at w = 0),
        floored at 1 so that it can divide."""
        self._require_fitted()
        x = sentence(y)
        gold = self._derivation_from_tree(y)
        wparts = self._weights(np.zeros(self.size_joint_feature))
        d, _ = self._augmented_one(self._encode(x), gold, wparts)
        return max(self.loss(gold, d), 1.0)

    # ------------------------------------------------------------------ batch forms
    def make_batch(self, X, Y=None):
        """Encode sentences (and gold derivations) once for the CKY oracle."""
        self._require_fitted()
        X = [list(map(tuple, x)) for x in X]
        enc = [self._encode(x) for x in X]
        gold = None if Y is None else [self._derivation_from_tree(y) for y in Y]
        return _Batch(X, None if Y is None else list(Y), enc, gold)

    def _map(self, func, n, n_jobs):
        return map_threads(func, range(n), n_jobs)

    def batch_inference(self, batch, w, n_jobs: int = 1) -> list:
        """CKY decoding of every sentence of the batch (threads over sentences)."""
        wparts = self._weights(w)
        ds = self._map(lambda i: self._predict_one(batch.X[i], batch.enc[i], wparts), len(batch), n_jobs)
        return [self.derivation_to_tree(x, d) for x, d in zip(batch.X, ds)]

    def batch_loss_augmented_inference(self, batch, w, n_jobs: int = 1):
        """Loss-augmented CKY of every sentence: derivations maximising Δ + w·Ψ."""
        wparts = self._weights(w)
        return self._map(lambda i: self._augmented_one(batch.enc[i], batch.gold[i], wparts)[0],
                         len(batch), n_jobs)

    def batch_loss(self, batch, Y_hat) -> np.ndarray:
        """Labeled-bracket losses Δ(y_i, ŷ_i) = (P+G)(1−F1)."""
        gold = batch.gold if batch.gold is not None else batch.Y
        return np.array([self.loss(y, yh) for y, yh in zip(gold, Y_hat)], dtype=np.float64)

    def batch_delta_joint_feature(self, batch, Y_hat) -> sp.csr_matrix:
        """Rows Ψ(x_i, y_i) − Ψ(x_i, ŷ_i) as a CSR matrix."""
        rows, cols, vals = [], [], []
        for i, (enc, gd, yh) in enumerate(zip(batch.enc, batch.gold, Y_hat)):
            if not isinstance(yh, Derivation):
                yh = self._derivation_from_tree(yh)
            a = self._psi_ids(enc, gd)
            b = self._psi_ids(enc, yh)
            cols.append(a)
            vals.append(np.ones(len(a)))
            cols.append(b)
            vals.append(-np.ones(len(b)))
            rows.append(np.full(len(a) + len(b), i, dtype=np.int64))
        if not rows:
            return sp.csr_matrix((0, self.size_joint_feature))
        out = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                            shape=(len(batch), self.size_joint_feature))
        out.sum_duplicates()
        out.eliminate_zeros()
        return out

    # ------------------------------------------------------------------ baseline
    def pcfg_weights(self) -> np.ndarray:
        """w of the relative-frequency PCFG (log P(rule | parent)); all other weights 0."""
        self._require_fitted()
        g = self.grammar_
        bw, uw = g.pcfg_log_weights()
        w = np.zeros(self.size_joint_feature)
        w[:g.n_binary] = bw
        w[g.n_binary:g.n_binary + g.n_unary] = uw
        return w

    def augmented_value(self, x, y, w) -> float:
        """max_ŷ Δ(y, ŷ) + w·Ψ(x, ŷ) as computed by the chart (for tests)."""
        gold = self._derivation_from_tree(y)
        _, val = self._augmented_one(self._encode(x), gold, self._weights(w))
        return val + sum(gold.brackets.values())
