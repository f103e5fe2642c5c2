"""A weighted CFG over binarized trees, stored as integer rule arrays for the CKY kernels.

Symbols are the labels of binarized trees (see :mod:`structpred.labels.trees`): POS tags, original and
parent-annotated nonterminals, intermediates ``@X|...`` and collapsed unary chains ``A+B``.
Every node of a binarized tree is one of

* a preterminal (a tag over its word; tags are read from the input, never predicted),
* a binary node ``A -> B C``  (rule arrays ``bin_parent``, ``bin_left``, ``bin_right``,
  sorted by left child, ``left_ptr`` gives the rules of each left child),
* a unary chain node ``U -> B`` whose child B is a tag or a binary node
  (``un_parent``, ``un_child``).

A cell (i, j) therefore has two layers: *base* (B: a tag or a binary-rule parent) and *top*
(B itself, or one chain U over B); binary rules combine top symbols. The root cell's top
symbol must be a root symbol (its chain starts with ``TOP``), and no other cell's may be.

The PCFG weights are relative-frequency log-probabilities
log P(rule | parent) = log count(rule) / count(parent expanded by any binary or unary rule).
"""
from __future__ import annotations

from collections import Counter
from typing import Iterable, List

import numpy as np

from ...labels.trees import CHAIN_SEP, INTERMEDIATE, PARENT_SEP, ROOT, Tree

__all__ = ["Grammar", "symbol_brackets", "symbol_feature_labels", "MAX_CHAIN"]

MAX_CHAIN = 8       # labels in one collapsed unary chain (kernel buffers are sized by it)


def symbol_feature_labels(label: str, is_tag: bool) -> List[str]:
    """Labels the span features of a node conjoin with: each label of a chain (``S+VP`` ->
    ``S``, ``VP``; ``TOP`` included), ``@X`` for an intermediate of X (``@S+VP|..`` ->
    ``@VP``), the tag itself for a tag. Parent annotation is dropped."""
    base = label.split(PARENT_SEP, 1)[0]
    if is_tag:
        return [base]
    if base.startswith(INTERMEDIATE):
        return [INTERMEDIATE + base[1:].split("|", 1)[0].split(CHAIN_SEP)[-1]]
    return base.split(CHAIN_SEP)


def symbol_brackets(label: str, is_tag: bool) -> List[str]:
    """The evaluation brackets a node with this label stands for (TOP and tags excluded)."""
    if is_tag or label.startswith(INTERMEDIATE):
        return []
    return [lab for lab in label.split(PARENT_SEP, 1)[0].split(CHAIN_SEP) if lab != ROOT]


class Grammar:
    """Symbols and rules read off binarized trees, with rule counts.

    The arrays are numpy int32 unless said otherwise.

    Attributes
    ----------
    symbols : list of str; ``index`` maps a symbol to its id
    is_tag, is_root : bool arrays over symbols
    bin_parent, bin_left, bin_right, bin_count : binary rules sorted by (left, right, parent)
    left_ptr : (n_symbols + 1,) offsets: rules with left child s are left_ptr[s]:left_ptr[s+1]
    un_parent, un_child, un_count : unary rules
    feat_ptr, feat_ids : CSR of the feature labels of each symbol over ``feature_labels``
    brk_ptr, brk_ids : CSR of the evaluation brackets of each symbol over ``bracket_labels``
    """

    def __init__(self, symbols, tags, binary, unary):
        self.symbols = list(symbols)
        self.index = {s: i for i, s in enumerate(self.symbols)}
        tags = set(tags)
        S = len(self.symbols)
        self.is_tag = np.array([s in tags for s in self.symbols], dtype=np.bool_)
        self.is_root = np.array([not t and s.split(PARENT_SEP, 1)[0].split(CHAIN_SEP, 1)[0] == ROOT
                                 for s, t in zip(self.symbols, self.is_tag)], dtype=np.bool_)
        b = sorted(binary.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][0]))
        self.bin_parent = np.array([k[0] for k, _ in b], dtype=np.int32)
        self.bin_left = np.array([k[1] for k, _ in b], dtype=np.int32)
        self.bin_right = np.array([k[2] for k, _ in b], dtype=np.int32)
        self.bin_count = np.array([c for _, c in b], dtype=np.float64)
        self.left_ptr = np.searchsorted(self.bin_left, np.arange(S + 1)).astype(np.int32)
        u = sorted(unary.items(), key=lambda kv: (kv[0][1], kv[0][0]))
        self.un_parent = np.array([k[0] for k, _ in u], dtype=np.int32)
        self.un_child = np.array([k[1] for k, _ in u], dtype=np.int32)
        self.un_count = np.array([c for _, c in u], dtype=np.float64)
        self.bin_index = {k: r for r, (k, _) in enumerate(b)}
        self.un_index = {k: r for r, (k, _) in enumerate(u)}
        feats = [symbol_feature_labels(s, t) for s, t in zip(self.symbols, self.is_tag)]
        longest = max(range(S), key=lambda k: len(feats[k]), default=None)
        if longest is not None and len(feats[longest]) > MAX_CHAIN:
            raise ValueError(f"unary chain {self.symbols[longest]!r} has more than {MAX_CHAIN} "
                             "labels; the kernels support at most that many")
        self.feature_labels = sorted({f for fs in feats for f in fs})
        fi = {c: i for i, c in enumerate(self.feature_labels)}
        self.feat_ptr = np.zeros(S + 1, dtype=np.int32)
        self.feat_ptr[1:] = np.cumsum([len(f) for f in feats])
        self.feat_ids = np.array([fi[f] for fs in feats for f in fs], dtype=np.int32)
        brk = [symbol_brackets(s, t) for s, t in zip(self.symbols, self.is_tag)]
        self.bracket_labels = sorted({lab for labs in brk for lab in labs})
        bi = {c: i for i, c in enumerate(self.bracket_labels)}
        self.brk_ptr = np.zeros(S + 1, dtype=np.int32)
        self.brk_ptr[1:] = np.cumsum([len(x) for x in brk])
        self.brk_ids = np.array([bi[lab] for labs in brk for lab in labs], dtype=np.int32)
        self.bracket_index = bi

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_trees(cls, trees: Iterable[Tree]) -> "Grammar":
        """Read symbols and rule counts off binarized trees."""
        sym: dict = {}
        tags = set()
        binary: Counter = Counter()
        unary: Counter = Counter()

        def sid(label):
            if label not in sym:
                sym[label] = len(sym)
            return sym[label]

        for t in trees:
            stack = [t]
            while stack:
                node = stack.pop()
                if node.is_preterminal():
                    tags.add(node.label)
                    sid(node.label)
                    continue
                p = sid(node.label)
                kids = node.children
                if len(kids) == 2:
                    binary[(p, sid(kids[0].label), sid(kids[1].label))] += 1
                elif len(kids) == 1:
                    unary[(p, sid(kids[0].label))] += 1
                else:
                    raise ValueError(f"tree is not binarized: node {node.label} has "
                                     f"{len(kids)} children")
                stack.extend(kids)
        return cls(list(sym), tags, binary, unary)

    def with_glue(self, label: str, pseudo_count: float) -> "Grammar":
        """This grammar plus glue rules, the smoothing for sentences no rule sequence covers.

        With G = ``@label|*`` (an intermediate, spliced out on output) the new rules are
        ``label -> X G``, ``G -> X G`` for every constituent symbol X (tags, phrases and
        unary chains; not intermediates, not roots) and ``G -> B`` for every base symbol B
        (tags and binary parents): any sequence of constituents the grammar does build can
        be glued under one ``label`` node, instead of the flat tag sequence of the fallback.
        Each glue rule gets ``pseudo_count`` (additive smoothing of the rule counts), so its
        PCFG log-probability is finite and small; rules already present keep their counts.
        ``label`` must be a symbol that a root unary ``TOP -> label`` reaches.
        """
        if pseudo_count <= 0 or label not in self.index:
            return self
        glue = f"{INTERMEDIATE}{label}|*"
        symbols = list(self.symbols)
        if glue not in self.index:
            symbols.append(glue)
        index = {sym: i for i, sym in enumerate(symbols)}
        g, f = index[glue], index[label]
        binary = {(int(p), int(l), int(r)): float(c) for p, l, r, c in
                  zip(self.bin_parent, self.bin_left, self.bin_right, self.bin_count)}
        unary = {(int(p), int(c)): float(n) for p, c, n in
                 zip(self.un_parent, self.un_child, self.un_count)}
        constituents = [i for i, (sym, root) in enumerate(zip(self.symbols, self.is_root))
                        if not root and not sym.startswith(INTERMEDIATE)]
        bases = set(np.flatnonzero(self.is_tag).tolist()) | set(self.bin_parent.tolist())
        bases = [b for b in sorted(bases)
                 if not self.is_root[b] and not self.symbols[b].startswith(INTERMEDIATE)]
        for x in constituents:
            binary.setdefault((f, x, g), float(pseudo_count))
            binary.setdefault((g, x, g), float(pseudo_count))
        for b in bases:
            unary.setdefault((g, b), float(pseudo_count))
        tags = [sym for sym, t in zip(self.symbols, self.is_tag) if t]
        return Grammar(symbols, tags, binary, unary)

    @property
    def n_symbols(self) -> int:
        """Number of symbols (nonterminals and tags)."""
        return len(self.symbols)

    @property
    def n_binary(self) -> int:
        """Number of binary rules."""
        return len(self.bin_parent)

    @property
    def n_unary(self) -> int:
        """Number of unary rules."""
        return len(self.un_parent)

    def pcfg_log_weights(self) -> tuple:
        """(binary, unary) log P(rule | parent), relative frequencies over both rule kinds."""
        tot = np.zeros(self.n_symbols)
        np.add.at(tot, self.bin_parent, self.bin_count)
        np.add.at(tot, self.un_parent, self.un_count)
        return (np.log(self.bin_count / tot[self.bin_parent]),
                np.log(self.un_count / tot[self.un_parent]))

    # ---------------------------------------------------------------- persistence
    def to_state(self) -> dict:
        """The grammar as JSON-able lists (symbols, tags, rules with counts), for the model file."""
        binary = [[int(p), int(l), int(r), float(c)] for p, l, r, c in
                  zip(self.bin_parent, self.bin_left, self.bin_right, self.bin_count)]
        unary = [[int(p), int(c), float(n)] for p, c, n in zip(self.un_parent, self.un_child, self.un_count)]
        return {"symbols": self.symbols,
                "tags": [s for s, t in zip(self.symbols, self.is_tag) if t],
                "binary": binary, "unary": unary}

    @classmethod
    def from_state(cls, state: dict) -> "Grammar":
        """The grammar back from ``to_state``'s lists."""
        binary = {(int(p), int(l), int(r)): c for p, l, r, c in state["binary"]}
        unary = {(int(p), int(c)): n for p, c, n in state["unary"]}
        return cls(state["symbols"], state["tags"], binary, unary)
