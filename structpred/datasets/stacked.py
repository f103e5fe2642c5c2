"""A sequence-labeling set kept stacked, as the svm_hmm reader reads it: X as one CSR matrix
(tokens x features) cut into sequences, Y as one label array cut the same way.

``StackedSequences`` and ``StackedLabels`` are read-only sequences (``len``, indexing,
iteration, slicing) whose items are what a list of examples would hold: X[i] a CSR matrix
(T_i x n_features) whose data and indices are views of the stacked arrays, Y[i] an int64
array view. ``SequenceLabeling`` recognises them (by their ``stacked_kind``: tasks do not
import loaders) and checks and batches the whole set with a
few vectorised passes instead of one Python step per sequence (``structpred learn`` reads
CoNLL-2000's 8,936 sentences into them: about 0.3 s less per run). Items are built on
demand, and nothing can be assigned into either container, so the stacked arrays are always
what the items show. A slice is a stacked container over the same buffers (no copy); a
pickle holds only its own rows.
"""
from __future__ import annotations

import operator
from collections.abc import Sequence

import numpy as np

from ..csr_build import csr_from_arrays

__all__ = ["StackedSequences", "StackedLabels"]


class _Stacked(Sequence):
    """What both containers share: ``offsets`` cut the stack into ``len(self)`` sequences; a
    step-1 slice is the same kind of container over offsets[a:b+1] (``_over``), another step
    a list, an index the item ``_item(i)``."""

    #: ``structpred.solvers.oracle.slice_examples`` may slice it (X[a:b]) instead of listing
    slices_as_examples = True

    def __len__(self) -> int:
        return self.offsets.shape[0] - 1

    def __getitem__(self, index):
        n = len(self)
        if isinstance(index, slice):
            start, stop, step = index.indices(n)
            if step != 1:
                return [self[i] for i in range(start, stop, step)]
            return self._over(self.offsets[start:max(start, stop) + 1])
        i = operator.index(index)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"sequence index {index} out of range ({n} sequences)")
        return self._item(i)


class StackedSequences(_Stacked):
    """X of a sequence set as one stacked CSR: sequence i is rows offsets[i]:offsets[i+1] of
    (data, indices, indptr), n_features columns.

    data float64, indices int32 (column f - 1 for feature id f), indptr and offsets int64
    (indptr indexes data over all rows of the stack; offsets has len(self) + 1 entries,
    increasing). The arrays are taken as given (views, no copy): a reader builds them, and
    ``SequenceLabeling.check_input`` checks them (indices in range, indptr rising, values
    finite) before any kernel reads them."""

    #: what the sequence task looks for (with the dtypes above, checked again there)
    stacked_kind = "sequences"

    def __init__(self, data, indices, indptr, offsets, n_features):
        self.data = np.asarray(data)
        self.indices = np.asarray(indices)
        self.indptr = np.asarray(indptr)
        self.offsets = np.asarray(offsets)
        self.n_features = int(n_features)
        if self.data.dtype != np.float64 or self.indices.dtype != np.int32 \
                or self.indptr.dtype != np.int64 or self.offsets.dtype != np.int64 \
                or self.data.ndim != 1 or self.indices.shape != self.data.shape \
                or self.indptr.ndim != 1 or self.offsets.ndim != 1 or self.offsets.shape[0] < 1:
            raise ValueError("StackedSequences: data float64, indices int32 of the same length, "
                             "indptr and offsets 1-D int64")

    @property
    def n_tokens(self) -> int:
        """Number of tokens (rows) of all sequences together."""
        return int(self.offsets[-1] - self.offsets[0])

    def _over(self, offsets):
        return StackedSequences(self.data, self.indices, self.indptr, offsets, self.n_features)

    def _item(self, i):
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        lo, hi = int(self.indptr[a]), int(self.indptr[b])
        return csr_from_arrays(self.data[lo:hi], self.indices[lo:hi],
                               (self.indptr[a:b + 1] - lo).astype(np.int32),
                               (b - a, self.n_features))

    def stacked_rows(self):
        """(indptr from 0, indices, data, offsets from 0) of this container's rows: views of
        the stack except the two rebased int64 arrays."""
        a, b = int(self.offsets[0]), int(self.offsets[-1])
        lo, hi = int(self.indptr[a]), int(self.indptr[b])
        return (self.indptr[a:b + 1] - lo, self.indices[lo:hi], self.data[lo:hi],
                self.offsets - a)

    def __reduce__(self):
        # views of the stack: pickle writes only their own bytes (no copy made first)
        indptr, indices, data, offsets = self.stacked_rows()
        return (StackedSequences, (data, indices, indptr, offsets, self.n_features))


class StackedLabels(_Stacked):
    """Y of a sequence set as one int64 label array: Y[i] = labels[offsets[i]:offsets[i+1]]
    (a view)."""

    stacked_kind = "labels"

    def __init__(self, labels, offsets):
        self.labels = np.asarray(labels)
        self.offsets = np.asarray(offsets)
        if self.labels.dtype != np.int64 or self.labels.ndim != 1 \
                or self.offsets.dtype != np.int64 or self.offsets.ndim != 1 \
                or self.offsets.shape[0] < 1:
            raise ValueError("StackedLabels: labels and offsets 1-D int64")

    def _over(self, offsets):
        return StackedLabels(self.labels, offsets)

    def _item(self, i):
        return self.labels[self.offsets[i]:self.offsets[i + 1]]

    def stacked_rows(self):
        """(labels of this container's sequences, offsets from 0)."""
        a, b = int(self.offsets[0]), int(self.offsets[-1])
        return self.labels[a:b], self.offsets - a

    def __reduce__(self):
        labels, offsets = self.stacked_rows()      # a view: pickled as its own bytes
        return (StackedLabels, (labels, offsets))
