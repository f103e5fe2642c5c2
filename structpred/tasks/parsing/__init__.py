"""Constituency parsing (SVM-cfg): PTB trees, a weighted CFG, numba CKY, the task."""
from .model import ConstituencyParsing, Derivation, sentence, tree_brackets
from ...labels.trees import Tree, TreeError, binarize, normalize, parse_tree, read_trees, unbinarize
from .grammar import Grammar

__all__ = ["ConstituencyParsing", "Derivation", "Grammar", "Tree", "TreeError", "binarize",
           "normalize", "parse_tree", "read_trees", "sentence", "tree_brackets", "unbinarize"]
