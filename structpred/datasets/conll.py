"""CoNLL column files (one token per line, columns separated by whitespace, a blank line
between sentences) and the CoNLL-2000 chunking corpus (``WORD POS CHUNK``, IOB2)."""
from __future__ import annotations

import os

from ..boundary.text import read_text
from ..errors import format_error
from .home import require_file

__all__ = ["read_conll", "load_conll2000"]

CONLL2000_SOURCE = ("the CoNLL-2000 shared task (Tjong Kim Sang & Buchholz 2000), e.g. "
                    "nltk_data packages/corpora/conll2000.zip, members train.txt and test.txt, "
                    "gzipped")


def read_conll(path, n_columns: int | None = None):
    """Sentences of a CoNLL column file: a list of sentences, each a list of token tuples
    (one string per column). ``.gz`` files (or gzip magic) are read through gzip. Lines
    starting with ``-DOCSTART-`` are skipped. Raises DataFormatError (a ValueError) naming
    the file and line when a token has a number of columns different from the first token's
    (or from ``n_columns``) or the text is not UTF-8, and naming the file for a truncated or
    corrupt gzip stream."""
    path = os.fspath(path)
    if n_columns is not None and (isinstance(n_columns, bool) or not isinstance(n_columns, int)
                                  or n_columns < 1):
        raise ValueError(f"n_columns must be a positive integer or None, got {n_columns!r}")
    text = read_text(path, encoding="utf-8", memory_factor=24)  # a tuple of str per token
    sentences, current = [], []
    width = n_columns
    for lineno, line in enumerate(text.split("\n"), 1):
        parts = line.split()
        if not parts:
            if current:
                sentences.append(current)
                current = []
            continue
        if parts[0] == "-DOCSTART-":
            continue
        if width is None:
            width = len(parts)
        elif len(parts) != width:
            raise format_error(path, lineno, f"{len(parts)} columns, expected {width}")
        current.append(tuple(parts))
    if current:
        sentences.append(current)
    return sentences


def load_conll2000(data_home=None):
    """(train, test): the CoNLL-2000 chunking sentences (8,936 and 2,012), each a list of
    ``(word, pos, chunk)`` tuples, read from ``conll2000/train.txt.gz`` and ``test.txt.gz``
    under the data home (argument, ``$STRUCTPRED_DATA`` or the user cache)."""
    train = read_conll(require_file(data_home, "conll2000/train.txt.gz", CONLL2000_SOURCE), 3)
    test = read_conll(require_file(data_home, "conll2000/test.txt.gz", CONLL2000_SOURCE), 3)
    return train, test
