"""Chunking measures as conlleval (CoNLL-2000) computes them: token accuracy and chunk
precision / recall / F1, for IOB1 and IOB2 (and IOE) tag sequences.

A tag is ``PREFIX-TYPE`` (split at the first hyphen) or a bare prefix such as ``O``. A chunk
is a maximal run that starts where conlleval's ``startOfChunk`` fires and ends where
``endOfChunk`` fires; a guessed chunk is correct when it starts and ends at the same tokens
as a true chunk of the same type. Sentence boundaries act as an ``O`` token, so no chunk spans
two sentences. P = correct / guessed, R = correct / true, F1 = 2PR / (P + R), in percent.
IOB1 and IOB2 need no switch: conlleval's start rule ("I" after "O", or a change of type)
covers both.
"""
from __future__ import annotations

from dataclasses import dataclass, field


from ..errors import InvalidInputError

__all__ = ["ChunkScore", "chunk_scores", "token_accuracy", "iob1_to_iob2", "get_chunks"]


def _pair_lists(y_true, y_pred, what="sentences"):
    """(list(y_true), list(y_pred)): sequences (not strings, not None) of the same non-zero
    length; InvalidInputError naming the argument otherwise."""
    out = []
    for name, v in (("y_true", y_true), ("y_pred", y_pred)):
        if v is None or isinstance(v, (str, bytes)) or not hasattr(v, "__iter__"):
            raise InvalidInputError(f"{name} must be a list of {what}, got {type(v).__name__}")
        out.append(list(v))
    if len(out[0]) != len(out[1]):
        raise InvalidInputError(f"y_true has {len(out[0])} {what} but y_pred has {len(out[1])}")
    if not out[0]:
        raise InvalidInputError(f"y_true is empty: no {what} to score")
    return out


def _sequence(seq, i, name):
    if isinstance(seq, (str, bytes)) or not hasattr(seq, "__len__"):
        raise InvalidInputError(f"{name}[{i}] must be a sequence of tags, got {type(seq).__name__}")
    return list(seq)


def _tags(seq, i, name):
    seq = _sequence(seq, i, name)
    bad = next((t for t in seq if not isinstance(t, str)), None)
    if bad is not None:
        raise InvalidInputError(f"{name}[{i}]: chunk tags must be strings such as 'B-NP', got {bad!r}")
    return seq


def _split(tag: str):
    prefix, sep, typ = tag.partition("-")
    return (prefix, typ) if sep else (tag, "")


def _end_of_chunk(prev, tag, prev_type, typ) -> bool:
    if (prev, tag) in (("B", "B"), ("B", "O"), ("I", "B"), ("I", "O"),
                       ("E", "E"), ("E", "I"), ("E", "O")):
        return True
    if prev not in ("O", ".") and prev_type != typ:
        return True
    return prev in ("]", "[")


def _start_of_chunk(prev, tag, prev_type, typ) -> bool:
    if (prev, tag) in (("B", "B"), ("I", "B"), ("O", "B"), ("O", "I"),
                       ("E", "E"), ("E", "I"), ("O", "E")):
        return True
    if tag not in ("O", ".") and prev_type != typ:
        return True
    return tag in ("[", "]")


def get_chunks(tags):
    """[(type, start, end_exclusive)] of one sentence, by conlleval's rules."""
    chunks = []
    prev, prev_type = "O", ""
    start = None
    for i, tag in enumerate(list(tags) + ["O"]):
        t, typ = _split(tag)
        if start is not None and _end_of_chunk(prev, t, prev_type, typ):
            chunks.append((prev_type, start, i))
            start = None
        if i < len(tags) and _start_of_chunk(prev, t, prev_type, typ):
            start = i
        prev, prev_type = t, typ
    return chunks


@dataclass
class ChunkScore:
    """conlleval's figures: counts, and P/R/F1 and accuracy in percent (per type too)."""
    n_tokens: int
    n_true: int
    n_guessed: int
    n_correct: int
    accuracy: float
    precision: float
    recall: float
    f1: float
    per_type: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return (f"processed {self.n_tokens} tokens with {self.n_true} phrases; found: "
                f"{self.n_guessed} phrases; correct: {self.n_correct}.\n"
                f"accuracy: {self.accuracy:6.2f}%; precision: {self.precision:6.2f}%; "
                f"recall: {self.recall:6.2f}%; FB1: {self.f1:6.2f}")


def _prf(correct, guessed, true):
    p = 100.0 * correct / guessed if guessed else 0.0
    r = 100.0 * correct / true if true else 0.0
    f = 2 * p * r / (p + r) if p + r > 0 else 0.0
    return p, r, f


def chunk_scores(y_true, y_pred) -> ChunkScore:
    """conlleval on lists of sentences of string tags (y_true[i][t], y_pred[i][t])."""
    y_true, y_pred = _pair_lists(y_true, y_pred)
    n_tokens = n_ok = 0
    true_c, guess_c, ok_c = {}, {}, {}
    for i, (ts, ps) in enumerate(zip(y_true, y_pred)):
        ts, ps = _tags(ts, i, "y_true"), _tags(ps, i, "y_pred")
        if len(ts) != len(ps):
            raise InvalidInputError(f"y_pred[{i}]: {len(ps)} predicted tags for {len(ts)} true tags (y_true[{i}])", i)
        n_tokens += len(ts)
        n_ok += sum(a == b for a, b in zip(ts, ps))
        tc = get_chunks(ts)
        gc = get_chunks(ps)
        for typ, _, _ in tc:
            true_c[typ] = true_c.get(typ, 0) + 1
        for typ, _, _ in gc:
            guess_c[typ] = guess_c.get(typ, 0) + 1
        for typ, _, _ in set(tc) & set(gc):
            ok_c[typ] = ok_c.get(typ, 0) + 1
    nt, ng, nc = sum(true_c.values()), sum(guess_c.values()), sum(ok_c.values())
    p, r, f = _prf(nc, ng, nt)
    per_type = {}
    for typ in sorted(set(true_c) | set(guess_c)):
        per_type[typ] = dict(zip(("precision", "recall", "f1"),
                                 _prf(ok_c.get(typ, 0), guess_c.get(typ, 0), true_c.get(typ, 0))))
        per_type[typ]["n_guessed"] = guess_c.get(typ, 0)
    acc = 100.0 * n_ok / n_tokens if n_tokens else 0.0
    return ChunkScore(n_tokens, nt, ng, nc, acc, p, r, f, per_type)


def token_accuracy(y_true, y_pred) -> float:
    """Fraction (0..1) of tokens whose predicted tag equals the true one."""
    y_true, y_pred = _pair_lists(y_true, y_pred)
    n = ok = 0
    for i, (ts, ps) in enumerate(zip(y_true, y_pred)):
        ts, ps = _sequence(ts, i, "y_true"), _sequence(ps, i, "y_pred")
        if len(ts) != len(ps):
            raise InvalidInputError(f"y_pred[{i}]: {len(ps)} predicted tags for {len(ts)} true tags (y_true[{i}])", i)
        n += len(ts)
        ok += sum(a == b for a, b in zip(ts, ps))
    return ok / n if n else 0.0


def iob1_to_iob2(tags):
    """Rewrite one sentence from IOB1 (B- only between same-type chunks) to IOB2 (B- at every
    chunk start); chunks (and so conlleval's scores) are unchanged."""
    out = list(tags)
    for typ, start, end in get_chunks(tags):
        out[start] = "B-" + typ if typ else out[start]
    return out
