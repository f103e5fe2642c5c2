"""Generated sequence data (no file needed): the random-HMM sequences of ``structpred demo``
and ``examples/distributed.py``."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["make_hmm_sequences"]


def make_hmm_sequences(n_seq: int = 600, n_labels: int = 4, n_features: int = 30,
                       random_state=0):
    """(X, Y): ``n_seq`` sequences of 3-14 tokens from a random HMM (Dirichlet(0.3) transitions,
    Dirichlet(0.2) emissions); each token has 3 active binary features drawn from its tag's
    emission law. X[i] is a tokens x n_features CSR matrix, Y[i] an int array of tags."""
    rng = np.random.default_rng(random_state)
    trans = rng.dirichlet(np.ones(n_labels) * 0.3, size=n_labels)
    emit = rng.dirichlet(np.ones(n_features) * 0.2, size=n_labels)
    X, Y = [], []
    for _ in range(n_seq):
        length = int(rng.integers(3, 15))
        y = [int(rng.integers(n_labels))]
        for _ in range(length - 1):
            y.append(int(rng.choice(n_labels, p=trans[y[-1]])))
        feats = [rng.choice(n_features, size=3, replace=False, p=emit[t]) for t in y]
        rows = np.repeat(np.arange(length), 3)
        X.append(sp.csr_matrix((np.ones(3 * length), (rows, np.concatenate(feats))),
                               shape=(length, n_features)))
        Y.append(np.array(y))
    return X, Y
