"""Default token features for chunking / POS tagging on CoNLL columns (word, POS, ...).

Per token t (binary indicators): bias; lower-cased word; POS; 2- and 3-letter suffixes and
3-letter prefix; shape flags (capitalised, all caps, has digit, has hyphen) and a collapsed
word shape (``Xx``, ``d``, ...); words and POS at offsets ±1 and ±2 (padding outside the
sentence); POS bigrams (t-1, t) and (t, t+1). Feature strings seen in ``fit`` are numbered;
unseen ones are dropped by ``transform``, so x_t is a CSR row of 0/1 values.
"""
from __future__ import annotations

import re

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

from ...boundary.params import check_int
from ...errors import InvalidInputError, NotFittedError

__all__ = ["ConllFeatures", "encode_tags"]

_PAD = "<PAD>"

#: widest context window accepted (offsets -window..window: 4·window + 1 features per token)
MAX_WINDOW = 20


_UPPER = re.compile("[A-Z]+")
_LOWER = re.compile("[a-z]+")
_DIGIT = re.compile("[0-9]+")
_SHAPES: dict = {}


def _shape(word: str) -> str:
    """Collapsed word shape: runs of capitals -> X, lower case -> x, digits -> d."""
    s = _SHAPES.get(word)
    if s is None:
        s = _DIGIT.sub("d", _LOWER.sub("x", _UPPER.sub("X", word)))
        if len(_SHAPES) < 200000:
            _SHAPES[word] = s
    return s


class ConllFeatures(TransformerMixin, BaseEstimator):
    """Feature extractor: ``fit(sentences)``, ``transform(sentences) -> [CSR]``.

    A scikit-learn transformer: ``make_pipeline(ConllFeatures(), StructuredSVM(SequenceLabeling()))``
    fits on sentences (lists of token tuples such as ``(word, POS)``) and their tag strings,
    and predicts tag strings; ``y`` is accepted and ignored by ``fit``/``fit_transform``.

    Parameters
    ----------
    word_column, pos_column : int
        Columns of the token tuples holding the word and the POS tag (pos_column=None: no
        POS features).
    window : int
        Context words / POS at offsets -window..window (default 2; at most ``MAX_WINDOW``).
    min_count : int
        Keep features seen at least this many times in ``fit`` (>= 1).

    The parameters are checked by ``fit``, ``transform`` and ``fit_transform`` before any
    work (InvalidInputError naming the parameter): integers (a column may count from the end,
    -1 the last, as ``encode_tags``'s), each column inside every token.
    """

    def __init__(self, word_column=0, pos_column=1, window=2, min_count=1):
        self.word_column = word_column
        self.pos_column = pos_column
        self.window = window
        self.min_count = min_count

    def _checked(self, sentences):
        """``sentences`` after checking the parameters and the sentences (``_check_sentences``),
        each column inside every token; InvalidInputError naming the parameter or X[i]."""
        check_int(self.word_column, "word_column", strict=True)
        columns = [("word_column", self.word_column)]
        if self.pos_column is not None:
            check_int(self.pos_column, "pos_column", strict=True)
            columns.append(("pos_column", self.pos_column))
        check_int(self.window, "window", 0, MAX_WINDOW, strict=True)
        check_int(self.min_count, "min_count", 1, strict=True)
        _check_sentences(sentences)
        for i, sent in enumerate(sentences):
            if any(isinstance(tok, (str, bytes)) or not hasattr(tok, "__len__") for tok in sent):
                raise InvalidInputError(f"X[{i}]: tokens must be tuples of strings such as "
                                        "(word, POS)", i)
            width = min(len(tok) for tok in sent)
            for name, col in columns:
                if not -width <= col < width:
                    raise InvalidInputError(f"{name}={col} is outside the tokens of X[{i}], "
                                            f"which have {width} columns", i)
        return sentences

    def _token_features(self, sent):
        wc, pc, k = self.word_column, self.pos_column, self.window
        words = [tok[wc] for tok in sent]
        low = [w.lower() for w in words]
        pos = [tok[pc] for tok in sent] if pc is not None else None
        T = len(sent)
        out = []
        for t in range(T):
            w, lw = words[t], low[t]
            f = ["b", "w=" + lw, "s2=" + lw[-2:], "s3=" + lw[-3:], "p3=" + lw[:3],
                 "sh=" + _shape(w)]
            if w[:1].isupper():
                f.append("cap")
            if w.isupper():
                f.append("allcap")
            if any(c.isdigit() for c in w):
                f.append("dig")
            if "-" in w:
                f.append("hyph")
            if pos is not None:
                f.append("p=" + pos[t])
            for o in range(1, k + 1):
                for sgn, name in ((-1, "-"), (1, "+")):
                    j = t + sgn * o
                    inside = 0 <= j < T
                    f.append(f"w{name}{o}=" + (low[j] if inside else _PAD))
                    if pos is not None:
                        f.append(f"p{name}{o}=" + (pos[j] if inside else _PAD))
            if pos is not None:
                f.append("pp-=" + (pos[t - 1] if t > 0 else _PAD) + "|" + pos[t])
                f.append("pp+=" + pos[t] + "|" + (pos[t + 1] if t + 1 < T else _PAD))
            out.append(f)
        return out

    def fit(self, sentences, y=None) -> "ConllFeatures":
        """Learn the feature vocabulary (features seen at least ``min_count`` times) from tokenised
        sentences; returns self."""
        return self._fit([self._token_features(s) for s in self._checked(sentences)])

    def _fit(self, feats_per_sentence) -> "ConllFeatures":
        counts: dict[str, int] = {}
        for feats_of_tokens in feats_per_sentence:
            for feats in feats_of_tokens:
                for f in feats:
                    counts[f] = counts.get(f, 0) + 1
        keep = sorted(f for f, c in counts.items() if c >= self.min_count)
        self.vocabulary_ = {f: i for i, f in enumerate(keep)}
        return self

    @property
    def n_features_(self) -> int:
        """Size of the learnt feature vocabulary (columns of the transformed matrices)."""
        return len(self.vocabulary_)

    def transform(self, sentences) -> list:
        """One CSR matrix (tokens x n_features_) per sentence."""
        if not hasattr(self, "vocabulary_"):
            raise NotFittedError("ConllFeatures is not fitted: call fit(sentences) first")
        return self._transform([self._token_features(s) for s in self._checked(sentences)])

    def _transform(self, feats_per_sentence) -> list:
        vocab = self.vocabulary_
        F = len(vocab)
        X = []
        for feats_of_tokens in feats_per_sentence:
            indptr = [0]
            cols: list[int] = []
            for feats in feats_of_tokens:
                ids = sorted({vocab[f] for f in feats if f in vocab})
                cols.extend(ids)
                indptr.append(len(cols))
            X.append(sp.csr_matrix((np.ones(len(cols)), np.asarray(cols, dtype=np.int32),
                                    np.asarray(indptr, dtype=np.int64)),
                                   shape=(len(feats_of_tokens), F)))
        return X

    def fit_transform(self, sentences, y=None) -> list:
        """fit then transform, computing the feature strings once (``y`` is ignored)."""
        feats = [self._token_features(s) for s in self._checked(sentences)]
        return self._fit(feats)._transform(feats)


def _check_sentences(sentences) -> None:
    """InvalidInputError naming X[i] for an empty sentence or a token that is not a tuple of
    strings (a sentence is a list of token tuples such as (word, POS, chunk))."""
    if isinstance(sentences, (str, bytes)) or not hasattr(sentences, "__len__"):
        raise InvalidInputError(f"X must be a list of sentences (lists of token tuples), got "
                                f"{type(sentences).__name__}")
    for i, sent in enumerate(sentences):
        if len(sent) == 0:
            raise InvalidInputError(f"X[{i}]: sentence {i} is empty", i)
        tok = sent[0]
        if isinstance(tok, str) or not all(isinstance(c, str) for c in tok):
            raise InvalidInputError(f"X[{i}]: tokens must be tuples of strings such as (word, "
                                    f"POS), got {tok!r}", i)


def encode_tags(sentences, column=-1, tags=None, unknown="error"):
    """(Y, tags): per-sentence int arrays indexing ``tags`` (sorted tags of the sentences when
    not given).

    A tag not in ``tags``: ``unknown="error"`` (default) raises InvalidInputError naming the
    sentence, token and tag; ``unknown="extra"`` gives it index len(tags) (never predicted,
    so scored wrong; map predictions back with ``tags[i]``, which never meets that index).
    Models take tag strings directly (``SequenceLabeling`` keeps them in ``tags_``), so most
    code needs no encoding at all.
    """
    if unknown not in ("error", "extra"):
        raise ValueError(f"unknown must be 'error' or 'extra', got {unknown!r}")
    if tags is None:
        tags = sorted({tok[column] for sent in sentences for tok in sent})
    index = {t: i for i, t in enumerate(tags)}
    unk = len(tags)
    Y = []
    for i, sent in enumerate(sentences):
        y = np.array([index.get(tok[column], unk) for tok in sent], dtype=np.int64)
        if unknown == "error" and y.size and y.max() == unk:
            t = int(np.argmax(y == unk))
            raise InvalidInputError(f"sentences[{i}], token {t}: tag {sent[t][column]!r} is not in "
                                    f"tags ({len(tags)} tags); pass unknown='extra' to map it to "
                                    f"index {unk}", i)
        Y.append(y)
    return Y, list(tags)
