"""Random clean LETOR files and the exact per-line reader, shared by the tests of the two
faster LETOR readers (numba scanner, numpy) that must read them as the exact reader does."""
import gzip

import numpy as np

from structpred.datasets import letor

#: number spellings a LETOR file may hold; the first ``n`` are drawn (the numpy reader's tests
#: use all of them, the numba scanner's the first 10)
_KINDS = [lambda rng: f"{rng.random():.6f}",
          lambda rng: repr(float(rng.normal() * 10.0 ** rng.integers(-40, 40))),
          lambda rng: f"{rng.integers(-5, 5)}", lambda rng: f"{rng.random():.3e}",
          lambda rng: "0.1", lambda rng: "123456789012345678", lambda rng: "-0",
          lambda rng: ".5", lambda rng: "5.", lambda rng: "+1.5E+3", lambda rng: "-0.000",
          lambda rng: "12345678901234567890.5", lambda rng: "0.12345678901234567890123"]


def exact(path, **kw):
    """The exact per-line reader with the fast readers' keyword arguments."""
    return letor._load_exact(path, str(path), kw.get("n_features"), "auto",
                             kw.get("pairless", "keep"), kw.get("dense"), kw.get("group_sizes"),
                             kw.get("strict_order", False))


def number_tokens(rng, k, kinds=len(_KINDS), fixed=False):
    """k feature values as text: LETOR's own fixed-point form when ``fixed``, else drawn from
    the first ``kinds`` spellings."""
    if fixed:
        return [f"{rng.random():.6f}" for _ in range(k)]
    return [_KINDS[rng.integers(kinds)](rng) for _ in range(k)]


def write_random_file(tmp_path, seed, label, min_qid_step=1, min_fids=1, kinds=len(_KINDS),
                      fixed=False, carriage_returns=False):
    """A random clean LETOR file (gzip for seed 3, no final newline for seed 4); ``label(rng)``
    gives a line's label text. Returns (path, number of features)."""
    rng = np.random.default_rng(seed)
    d = int(rng.integers(3, 30))
    sparse = seed % 2 == 1
    lines, q = [], 0
    for _ in range(int(rng.integers(1, 40))):
        q += int(rng.integers(min_qid_step, 4))
        for _ in range(int(rng.integers(1, 8))):
            fids = np.sort(rng.choice(np.arange(1, d + 1),
                                      size=int(rng.integers(min_fids, 4)) if sparse else d,
                                      replace=False))
            vals = number_tokens(rng, len(fids), kinds, fixed)
            sep = "\t" if rng.random() < 0.2 else " "
            toks = [label(rng), f"qid:{q}"] + [f"{f}:{v}" for f, v in zip(fids, vals)]
            line = sep.join(toks)
            if rng.random() < 0.5:
                line += f" # doc {rng.integers(100)}  "
            if carriage_returns:
                line += "\r" if rng.random() < 0.1 else ""
            lines.append(line)
        if rng.random() < 0.2:
            lines.append("# a comment line")
        if rng.random() < 0.2:
            lines.append("   ")
    path = tmp_path / ("f.txt.gz" if seed == 3 else "f.txt")
    text = "\n".join(lines) + ("\n" if seed != 4 else "")
    if seed == 3:
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path, d
