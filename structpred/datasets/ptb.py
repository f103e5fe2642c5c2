"""The NLTK 10% sample of the Penn Treebank WSJ (``ptb_wsj_sample/combined/wsj_*.mrg``)."""
from __future__ import annotations

from pathlib import Path

from ..boundary.text import read_text
from .home import get_data_home, require_file

__all__ = ["load_ptb_sample", "read_mrg_file", "PTB_SOURCE"]

PTB_SOURCE = ("the NLTK data package 'treebank' (nltk/nltk_data, packages/corpora/treebank.zip, "
              "members treebank/combined/wsj_*.mrg)")
N_TRAIN = 3000


def read_mrg_file(path) -> list:
    """All trees of one .mrg file (plain or gzip), raw (function tags and -NONE- kept).

    Raises TreeError (a :class:`structpred.errors.DataFormatError`) naming the file and line
    for unbalanced brackets, empty brackets, text outside brackets, a node mixing words and
    subtrees, nesting deeper than ``MAX_TREE_DEPTH`` or bytes that are not UTF-8."""
    from ..tasks.parsing.trees import read_trees
    path = Path(path)
    return list(read_trees(read_text(path, encoding="utf-8", memory_factor=32), source=str(path)))


def load_ptb_sample(data_home=None, normalized: bool = True) -> dict:
    """Load the 3,914 trees of the WSJ sample in file order (wsj_0001 ... wsj_0199).

    Returns a dict with ``trees`` (all, normalised by
    :func:`structpred.tasks.parsing.trees.normalize` unless ``normalized=False``),
    ``train`` (trees 1-3000), ``test`` (trees 3001-3914), and ``files`` (the file of each
    tree). FileNotFoundError names the public source when the folder is missing.
    """
    from ..tasks.parsing.trees import normalize
    folder = require_file(data_home, "ptb_wsj_sample/combined", PTB_SOURCE)
    files = sorted(folder.glob("wsj_*.mrg"))
    if not files:
        raise FileNotFoundError(f"no wsj_*.mrg files in {folder}; they come from {PTB_SOURCE}")
    trees, origin = [], []
    for f in files:
        for t in read_mrg_file(f):
            trees.append(normalize(t, index=len(trees)) if normalized else t)
            origin.append(f.name)
    return {"trees": trees, "train": trees[:N_TRAIN], "test": trees[N_TRAIN:], "files": origin,
            "data_home": str(get_data_home(data_home))}
