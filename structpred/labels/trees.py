"""Penn Treebank trees: reading, normalising, and the reversible transforms CKY needs.

Pipeline (all functions return new trees, inputs are never modified)::

    raw = read_trees(text)                       # ( (S (NP-SBJ-1 ...) (-NONE- *T*)) )
    t = normalize(raw)                           # (TOP (S (NP ...))), no empties, no function tags
    b = binarize(t, horizontal=1, parent=False)  # unary chains collapsed, binary branching
    unbinarize(b) == t                           # exact inverse of binarize

``normalize`` is the lossy part (what evalb also ignores: empty elements, function tags and
indices); ``binarize`` / ``unbinarize`` are exact inverses of each other on every normalised
tree (tested on all 3,914 trees of the WSJ sample).

Binarized label syntax (labels of the input may not contain ``+`` or ``^`` nor start with ``@``):

* ``A+B+C``: a collapsed unary chain A -> B -> C -> (child); its single child is the bottom
  node of the chain (a preterminal or a node with >= 2 children).
* ``@X|Y``: an intermediate node of X from right factoring; ``Y`` lists the labels of the
  first ``h`` children it covers, separated by ``,`` (horizontal markovization h, as NLTK's
  ``chomsky_normal_form(factor="right", horzMarkov=h)``).
* with ``merge=True`` a chain A -> B -> C over a node with >= 2 children is one node
  ``A+B+C`` with C's children (NLTK's ``collapse_unary``); the root keeps its unary node.
* ``X^P``: parent annotation (vertical markovization 2): P is the parent's label.
"""
from __future__ import annotations

import re
from typing import Iterator, List, Optional, Union

from ..errors import DataFormatError

__all__ = ["Tree", "TreeError", "read_trees", "parse_tree", "normalize", "strip_label",
           "remove_empty", "binarize", "unbinarize", "collapse_unary", "expand_unary",
           "ROOT", "CHAIN_SEP", "INTERMEDIATE", "PARENT_SEP", "MAX_TREE_DEPTH", "tree_depth",
           "check_tree_structure"]

ROOT = "TOP"
CHAIN_SEP = "+"
INTERMEDIATE = "@"
PARENT_SEP = "^"
_KEEP = {"-NONE-", "-LRB-", "-RRB-"}


class TreeError(DataFormatError):
    """A malformed bracketed tree (unbalanced brackets, empty tree, bad label, nesting deeper
    than MAX_TREE_DEPTH); a :class:`structpred.errors.DataFormatError`, so a ValueError."""


#: Deepest nesting accepted (the WSJ sample's deepest tree has 30 levels): the tree
#: transforms recurse once per level, so deeper input is refused instead of ending in a
#: RecursionError.
MAX_TREE_DEPTH = 200


def tree_depth(tree) -> int:
    """Nesting depth of a tree (a preterminal has depth 1), computed without recursion.
    Stops at MAX_TREE_DEPTH + 1 (so a tree that contains itself ends instead of looping)."""
    best, stack = 0, [(tree, 1)]
    while stack:
        node, k = stack.pop()
        if k > best:
            best = k
            if best > MAX_TREE_DEPTH:
                return best
        stack.extend((c, k + 1) for c in node.children if not isinstance(c, str))
    return best


def check_tree_structure(tree, where: str = "tree") -> None:
    """TreeError unless ``tree`` is a proper tree: no node reached twice (a tree that
    contains itself, or shares a subtree), nesting at most MAX_TREE_DEPTH, every child a
    Tree or a str."""
    seen, stack = set(), [(tree, 1)]
    while stack:
        node, k = stack.pop()
        if not isinstance(node, Tree):
            raise TreeError(f"{where}: a child is a {type(node).__name__}, not a Tree or a word")
        if id(node) in seen:
            raise TreeError(f"{where}: node {node.label!r} appears twice (the tree contains "
                            "itself or shares a subtree)")
        seen.add(id(node))
        if k > MAX_TREE_DEPTH:
            raise TreeError(f"{where}: nested deeper than MAX_TREE_DEPTH={MAX_TREE_DEPTH}")
        stack.extend((c, k + 1) for c in node.children if not isinstance(c, str))


class Tree:
    """A node: ``label`` and ``children``; a preterminal has one ``str`` child (the word)."""

    __slots__ = ("label", "children")

    def __init__(self, label: str, children: List[Union["Tree", str]]):
        self.label = label
        self.children = list(children)

    # -------------------------------------------------------------- structure
    def is_preterminal(self) -> bool:
        """True for a tag over one word: (TAG word)."""
        return len(self.children) == 1 and isinstance(self.children[0], str)

    def leaves(self) -> List[str]:
        """The words, left to right."""
        out: List[str] = []
        stack = [self]
        while stack:
            node = stack.pop()
            if isinstance(node, str):
                out.append(node)
            else:
                stack.extend(reversed(node.children))
        return out

    def pos(self) -> List[tuple]:
        """[(word, tag)] in order."""
        out = []

        def rec(t):
            if t.is_preterminal():
                out.append((t.children[0], t.label))
            else:
                for c in t.children:
                    rec(c)
        rec(self)
        return out

    def copy(self) -> "Tree":
        """A deep copy of the tree."""
        return Tree(self.label, [c if isinstance(c, str) else c.copy() for c in self.children])

    def __eq__(self, other) -> bool:
        if not isinstance(other, Tree):
            return NotImplemented
        return self.label == other.label and self.children == other.children

    def __hash__(self):
        return hash(str(self))

    def __str__(self) -> str:
        parts = []

        def rec(t):
            if isinstance(t, str):
                parts.append(t)
                return
            parts.append("(" + t.label)
            for c in t.children:
                parts.append(" ")
                rec(c)
            parts.append(")")
        rec(self)
        return "".join(parts)

    __repr__ = __str__

    def to_json(self):
        """Nested lists ``[label, child, ...]`` (a word is a plain string)."""
        return [self.label] + [c if isinstance(c, str) else c.to_json() for c in self.children]

    @classmethod
    def from_json(cls, obj) -> "Tree":
        """The tree back from ``to_json``'s nested lists [label, child, ...]."""
        return cls(obj[0], [c if isinstance(c, str) else cls.from_json(c) for c in obj[1:]])


# ------------------------------------------------------------------ reading


def _tokens(text: str):
    line = 1
    for m in re.finditer(r"\n|\(|\)|[^\s()]+", text):
        tok = m.group()
        if tok == "\n":
            line += 1
            continue
        yield tok, line


def read_trees(text: str, source: str = "<string>") -> Iterator[Tree]:
    """Yield the trees of a bracketed text (one tree ends when the depth returns to 0).

    The outer unlabeled bracket of .mrg files becomes a node labeled ``""``. Raises
    TreeError naming the source and line on unbalanced brackets, an empty bracket pair,
    text outside brackets, or a node mixing words and subtrees.
    """
    stack: List[Tree] = []
    start_line = 0
    expect_label = False
    for tok, line in _tokens(text):
        if tok == "(":
            if not stack:
                start_line = line
            node = Tree("", [])
            if stack:
                stack[-1].children.append(node)
            stack.append(node)
            if len(stack) > MAX_TREE_DEPTH:
                raise TreeError(f"{source}, line {line}: brackets nested deeper than "
                                f"MAX_TREE_DEPTH={MAX_TREE_DEPTH} (tree starting at line {start_line})")
            expect_label = True
        elif tok == ")":
            if not stack:
                raise TreeError(f"{source}, line {line}: unbalanced brackets: ')' with no open '('")
            node = stack.pop()
            expect_label = False
            if not node.children:
                raise TreeError(f"{source}, line {line}: empty tree or empty bracket '({node.label})'")
            if any(isinstance(c, str) for c in node.children) and len(node.children) != 1:
                raise TreeError(f"{source}, line {line}: node '{node.label}' mixes a word with "
                                "other children")
            if not stack:
                yield node
        else:
            if not stack:
                raise TreeError(f"{source}, line {line}: text {tok!r} outside any bracket")
            if expect_label:
                stack[-1].label = tok
                expect_label = False
            else:
                stack[-1].children.append(tok)
    if stack:
        raise TreeError(f"{source}: unbalanced brackets: {len(stack)} '(' not closed at end of "
                        f"input (tree starting at line {start_line})")


def parse_tree(text: str) -> Tree:
    """The single tree of ``text`` (TreeError if there is not exactly one)."""
    trees = list(read_trees(text))
    if len(trees) != 1:
        raise TreeError(f"expected one tree, found {len(trees)}")
    return trees[0]


# ------------------------------------------------------------------ normalising
def strip_label(label: str) -> str:
    """``NP-SBJ-1`` -> ``NP``, ``NP=2`` -> ``NP``; ``-NONE-``, ``-LRB-``, ``-RRB-`` kept."""
    if label in _KEEP or not label:
        return label
    if label[0] == "-":           # other dash-delimited special labels stay intact
        return label
    cut = len(label)
    for sep in "-=":
        k = label.find(sep)
        if k > 0:
            cut = min(cut, k)
    return label[:cut]


def remove_empty(tree: Tree) -> Optional[Tree]:
    """Drop ``-NONE-`` preterminals and every node left without children (None if all go)."""
    if tree.is_preterminal():
        return None if tree.label == "-NONE-" else tree.copy()
    kids = [k for k in (remove_empty(c) for c in tree.children if not isinstance(c, str)) if k is not None]
    return Tree(tree.label, kids) if kids else None


def normalize(tree: Tree, index: Optional[int] = None) -> Tree:
    """Empties removed, function tags stripped, root relabeled ``TOP``.

    A root that is not ``TOP``/empty gets a ``TOP`` node added above it. Raises TreeError
    when every leaf is ``-NONE-`` (``index`` names the tree in the message).
    """
    where = f"tree {index}" if index is not None else "tree"
    if not isinstance(tree, Tree):
        raise TreeError(f"{where}: expected a Tree, got {type(tree).__name__}")
    check_tree_structure(tree, where)
    kept = remove_empty(tree)
    if kept is None:
        raise TreeError(f"{where}: every leaf is -NONE- (nothing left after removing empty elements)")

    def strip(t: Tree) -> Tree:
        if t.is_preterminal():
            return Tree(t.label, list(t.children))
        return Tree(strip_label(t.label), [strip(c) for c in t.children])
    out = strip(kept)
    if out.label in ("", ROOT) and not out.is_preterminal():
        out.label = ROOT
    else:
        out = Tree(ROOT, [out])
    _check_labels(out, where)
    return out


def _check_labels(tree: Tree, where: str) -> None:
    stack = [tree]
    while stack:
        t = stack.pop()
        lab = t.label
        if not lab or CHAIN_SEP in lab or PARENT_SEP in lab or lab.startswith(INTERMEDIATE):
            raise TreeError(f"{where}: label {lab!r} is empty or uses a reserved character "
                            f"({CHAIN_SEP!r}, {PARENT_SEP!r}, leading {INTERMEDIATE!r})")
        if not t.is_preterminal():
            stack.extend(t.children)


# ------------------------------------------------------------------ unary chains
def collapse_unary(tree: Tree, merge: bool = False, _root: bool = True) -> Tree:
    """Collapse every unary chain A -> B -> ... -> C (each node with one non-word child).

    ``merge=False``: one unary node ``A+B+...`` over C.  ``merge=True``: one node
    ``A+B+...+C`` with C's children (no unary left above nodes with >= 2 children), except
    that the root keeps its own unary node. A chain ending on a preterminal is always one
    unary node ``A+B+...`` over the preterminal. Preterminals stay as they are.
    """
    if tree.is_preterminal():
        return tree.copy()
    labels = [tree.label]
    node = tree
    while len(node.children) == 1 and not node.children[0].is_preterminal():
        node = node.children[0]
        labels.append(node.label)
    if len(node.children) == 1:              # chain ending on a preterminal
        return Tree(CHAIN_SEP.join(labels), [node.children[0].copy()])
    kids = [collapse_unary(c, merge, False) for c in node.children]
    if len(labels) == 1:
        return Tree(node.label, kids)
    if merge and not _root:
        return Tree(CHAIN_SEP.join(labels), kids)
    if merge:                                # root: TOP over the merged rest of the chain
        return Tree(labels[0], [Tree(CHAIN_SEP.join(labels[1:]), kids)])
    return Tree(CHAIN_SEP.join(labels[:-1]), [Tree(node.label, kids)])


def expand_unary(tree: Tree) -> Tree:
    """Inverse of ``collapse_unary``."""
    if tree.is_preterminal():
        return tree.copy()
    kids = [expand_unary(c) for c in tree.children]
    labels = tree.label.split(CHAIN_SEP)
    node = Tree(labels[-1], kids)
    for lab in reversed(labels[:-1]):
        node = Tree(lab, [node])
    return node


# ------------------------------------------------------------------ binarization
def _base(label: str) -> str:
    return label.split(PARENT_SEP, 1)[0]


def binarize(tree: Tree, horizontal: int = 1, parent: bool = False, merge: bool = False) -> Tree:
    """Collapse unary chains (``merge``: see :func:`collapse_unary`), then right-factor
    nodes with more than two children.

    A node X -> c1 c2 ... ck (k > 2) becomes X -> c1 @X|c2 ; @X|c2 -> c2 @X|c3 ... where
    an intermediate label keeps the first ``horizontal`` labels of the children it covers
    (h = 0: ``@X|``).
    ``parent``: append ``^P`` (P = parent's label, chains use their top label) to every
    non-preterminal, non-intermediate label below the root. Preterminals are never annotated.
    """
    if horizontal < 0:
        raise ValueError(f"horizontal must be >= 0, got {horizontal}")
    return _binarize(collapse_unary(tree, merge), horizontal, parent, None)


def _binarize(t: Tree, h: int, parent: bool, parent_label: Optional[str]) -> Tree:
    if t.is_preterminal():
        return t.copy()
    label = t.label
    top = label.split(CHAIN_SEP, 1)[0]
    if parent and parent_label is not None:
        label = f"{label}{PARENT_SEP}{parent_label}"
    kids = [_binarize(c, h, parent, top) for c in t.children]
    if len(kids) <= 2:
        return Tree(label, kids)
    base = t.label          # un-annotated label for intermediates
    # right factoring from the right end
    labels = [c.label for c in t.children]
    node = Tree(_inter(base, labels[-2:], h), kids[-2:])
    for i in range(len(kids) - 3, 0, -1):
        node = Tree(_inter(base, labels[i:], h), [kids[i], node])
    return Tree(label, [kids[0], node])


def _inter(base: str, covered: List[str], h: int) -> str:
    ctx = covered[:h] if h > 0 else []
    return f"{INTERMEDIATE}{base}|" + ",".join(ctx)


def unbinarize(tree: Tree) -> Tree:
    """Exact inverse of ``binarize``: splice intermediates, drop ``^P``, expand chains."""
    return expand_unary(_debinarize(tree))


def _debinarize(t: Tree) -> Tree:
    if t.is_preterminal():
        return t.copy()
    kids: List[Tree] = []
    node = t
    while True:
        first, *rest = node.children
        kids.append(_debinarize(first))
        if len(rest) == 1 and rest[0].label.startswith(INTERMEDIATE):
            node = rest[0]
            continue
        kids.extend(_debinarize(c) for c in rest)
        break
    return Tree(_base(t.label), kids)


# ------------------------------------------------------------------ nltk and string I/O
# Iterative (explicit stacks), so that a tree nested thousands deep converts without
# RecursionError. nltk is an optional extra: ``pip install 'structpred[nltk]'``.
def _require_nltk():
    try:
        import nltk.tree
    except ImportError:
        raise ImportError("nltk is not installed: pip install 'structpred[nltk]' "
                          "(or pip install nltk)") from None
    return nltk.tree


def tree_from_nltk(tree) -> Tree:
    """A :class:`Tree` from an ``nltk.Tree`` (any subclass: ParentedTree, ...).

    Labels become strings; leaves must be strings (words). Raises TreeError naming the
    node's position (nltk's tree positions, e.g. ``(0, 1)``) for an empty node, a node that
    mixes words with subtrees, or a leaf that is not a string.
    """
    nltk_tree = _require_nltk()
    if not isinstance(tree, nltk_tree.Tree):
        raise TypeError(f"expected an nltk.Tree, got {type(tree).__name__}")
    root = Tree(str(tree.label()), [])
    stack = [(tree, root, ())]
    while stack:
        src, dst, pos = stack.pop()
        if len(src) == 0:
            raise TreeError(f"nltk tree position {pos}: node {src.label()!r} has no children")
        words = [isinstance(c, str) for c in src]
        if any(words) and len(src) != 1:
            raise TreeError(f"nltk tree position {pos}: node {src.label()!r} mixes a word "
                            "with other children")
        for i, child in enumerate(src):
            if isinstance(child, nltk_tree.Tree):
                node = Tree(str(child.label()), [])
                dst.children.append(node)
                stack.append((child, node, pos + (i,)))
            elif isinstance(child, str):
                dst.children.append(child)
            else:
                raise TreeError(f"nltk tree position {pos + (i,)}: leaf of type "
                                f"{type(child).__name__}, expected a word (str)")
    return root


def tree_to_nltk(tree: Tree, cls=None):
    """The same tree as an ``nltk.Tree`` (or ``cls``, e.g. ``nltk.ParentedTree``)."""
    nltk_tree = _require_nltk()
    cls = nltk_tree.Tree if cls is None else cls
    # build bottom-up: children first (post-order over an explicit stack)
    order, stack = [], [tree]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(c for c in node.children if isinstance(c, Tree))
    built = {}
    for node in reversed(order):
        kids = [c if isinstance(c, str) else built.pop(id(c)) for c in node.children]
        built[id(node)] = cls(node.label, kids)
    return built[id(tree)]


def tree_to_string(tree: Tree) -> str:
    """``(S (NP (DT the) (NN dog)) (VP (VBD barked)))``: the bracketed form, one line; the
    exact inverse of :func:`parse_tree` (and what ``nltk.Tree.fromstring`` reads)."""
    parts: List[str] = []
    stack: list = [tree]
    while stack:
        item = stack.pop()
        if item is None:                       # end of a node
            parts.append(")")
        elif isinstance(item, str):            # a word
            parts.append(" " + item)
        else:
            parts.append((" (" if parts else "(") + item.label)
            stack.append(None)
            stack.extend(reversed(item.children))
    return "".join(parts)


def write_trees(trees, file) -> int:
    """Write trees one per line in bracketed form to ``file`` (a path or a text stream);
    returns the number written. :func:`read_trees` reads them back."""
    own = isinstance(file, (str, bytes)) or hasattr(file, "__fspath__")
    fh = open(file, "w", encoding="utf-8") if own else file
    n = 0
    try:
        for t in trees:
            fh.write(tree_to_string(t) + "\n")
            n += 1
    finally:
        if own:
            fh.close()
    return n


Tree.from_nltk = staticmethod(tree_from_nltk)
Tree.to_nltk = tree_to_nltk
Tree.fromstring = staticmethod(parse_tree)
Tree.to_string = tree_to_string
__all__ += ["tree_from_nltk", "tree_to_nltk", "tree_to_string", "write_trees"]
