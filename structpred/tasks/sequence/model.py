"""Sequence labeling (SVM-hmm): a linear chain over sparse token features, Hamming loss."""
from __future__ import annotations

import threading

import numpy as np
import scipy.sparse as sp

from ...csr_build import csr_from_arrays
from ...boundary.arrays import MAX_SIZE_JOINT_FEATURE, check_index_arrays, check_values
from ...boundary.params import check_int, check_state
from ...errors import MAX_ABS_FEATURE, InvalidInputError
from ...model import StructuredModel
from ...parallel import balanced_bounds, effective_jobs, map_chunks
from . import kernels
from .crf import ChainCRFHooks

__all__ = ["SequenceLabeling", "SequenceBatch"]

_INT32_MAX = int(np.iinfo(np.int32).max)
_SCRATCH = threading.local()  # per-thread F-sized scratch of the δΨ kernel


#: the δΨ rows of the per-example path as a CSR matrix without scipy's O(1)-but-slow (about
#: 40 µs) validation: the kernel builds them sorted and in range, and the solvers' answer check
#: (``solvers.guard.check_answer``) checks indptr and every index anyway
_rows_csr = csr_from_arrays
#: ``get_state``'s tag of the emission layout (``f*L + l``); a model file without it was
#: written with the former label-major layout (``l*F + f``): ``migrate_state`` permutes it
EMISSION_LAYOUT = "feature-major"


def _scratch(F):
    """This thread's ``slot`` scratch of ``kernels.delta_psi_rows`` (F ints, all -1; the
    kernel leaves it as found)."""
    if getattr(_SCRATCH, "F", -1) != F:
        _SCRATCH.F = F
        _SCRATCH.slot = np.full(F, -1, dtype=np.int64)
    return _SCRATCH.slot


def _decode_scratch(batch, L):
    """This thread's scratch of ``kernels.decode_rows1`` for ``batch``: emission scores
    (float64) and back-pointers (int32), (longest sequence of the batch) x L each. Kept
    across calls, so the kernel allocates no 2-D array (one numba compile less each)."""
    T = getattr(batch, "_max_len", None)
    if T is None:
        T = batch._max_len = max(int(np.diff(batch.offsets).max()) if len(batch) else 1, 1)
    if getattr(_SCRATCH, "em_shape", None) != (T, L):
        _SCRATCH.em_shape = (T, L)
        _SCRATCH.em = np.empty((T, L))
        _SCRATCH.back = np.empty((T, L), dtype=np.int32)
    return _SCRATCH.em, _SCRATCH.back


def _room(batch, y, yh, order, ub):
    """room[s] = Σ_{s' < s} the entries ``kernels.delta_psi_rows`` may write for sequence s'
    (n + 1 ints): 2 per feature of every wrong token (y_t != ŷ_t) plus 4 (order 2: 10) per
    wrong token for the bigrams (trigrams) into and out of it, plus 4 per sequence with
    boundary transitions. In numpy (a few vector passes over the tokens): one kernel less
    to compile on a first run. The per-token weights are kept on the batch."""
    weight = getattr(batch, "_room_weight", None)
    if weight is None or batch._room_order != order:
        weight = 2 * np.diff(batch.indptr).astype(np.int64) + (10 if order == 2 else 4)
        batch._room_weight, batch._room_order = weight, order
    cum = np.zeros(batch.n_tokens + 1, dtype=np.int64)
    np.cumsum(np.where(y != yh, weight, 0), out=cum[1:])
    room = cum[batch.offsets]
    if ub:
        room += 4 * np.arange(room.shape[0], dtype=np.int64)
    return room


def _size_or_none(value, name):
    """None, or an integer in [1, MAX_SIZE_JOINT_FEATURE] (a saved state's size)."""
    return None if value is None else check_int(value, name, 1, MAX_SIZE_JOINT_FEATURE)

def _check_layout(value, name):
    """The emission layout tag of a saved state: only ``EMISSION_LAYOUT`` is readable."""
    if value != EMISSION_LAYOUT:
        raise InvalidInputError(f"{name} is {value!r}; this version reads {EMISSION_LAYOUT!r} "
                                "emission weights (a file without the tag is label-major and "
                                "is converted on loading)")
    return value


class SequenceBatch:
    """A set of sequences stacked for the kernels.

    ``indptr``, ``indices``, ``data``: one CSR matrix (n_tokens x n_features) with every
    token of every sequence; ``offsets`` (n + 1): sequence i owns rows offsets[i]:offsets[i+1];
    ``y`` the labels of all tokens with the same offsets (None for prediction); ``Y`` the
    labels as a list of per-sequence arrays.
    """

    def __init__(self, indptr, indices, data, offsets, n_features, y=None, Y=None):
        self.indptr = indptr
        self.indices = indices
        self.data = data
        self.offsets = offsets
        self.n_features = n_features
        self.y = y
        self.Y = Y

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def n_tokens(self) -> int:
        """Number of tokens of all sequences together."""
        return int(self.offsets[-1])

    def split(self, flat):
        """Cut a flat per-token array into per-sequence arrays (views)."""
        return np.split(np.asarray(flat), self.offsets[1:-1])


def _as_csrs(X) -> list:
    """[_as_csr(x, i)] with the CSR index arrays of all examples checked in one vectorised
    pass (what every entry point runs before scipy or a numba kernel sees them)."""
    mats = [_as_csr(x, i, check=False) for i, x in enumerate(X)]
    csr = [i for i, x in enumerate(X) if sp.issparse(x) and x.format == "csr"]
    if not csr:
        return mats
    for i in csr:   # O(1) per example: array ranks, lengths and kinds
        m = mats[i]
        ptr, ind = m.indptr, m.indices
        if ptr.ndim != 1 or ptr.shape[0] != m.shape[0] + 1 or ind.ndim != 1 \
                or m.data.shape != ind.shape or ptr.dtype.kind not in "iu" or ind.dtype.kind not in "iu":
            raise InvalidInputError(f"X[{i}]: malformed CSR matrix (indptr, indices and data "
                                    "do not fit its shape)", i)
    ptrs = [mats[i].indptr for i in csr]
    lens = np.fromiter((p.shape[0] for p in ptrs), np.int64, len(ptrs))
    flat = np.concatenate(ptrs).astype(np.int64, copy=False)
    starts = np.cumsum(lens) - lens
    nnz = np.fromiter((mats[i].indices.shape[0] for i in csr), np.int64, len(csr))
    bad = (flat[starts] != 0) | (flat[starts + lens - 1] != nnz)
    step = np.diff(flat) < 0
    step[(starts + lens - 1)[:-1]] = False          # boundaries between examples
    if step.any():
        bad |= np.add.reduceat(np.r_[step, False], starts) > 0
    if bad.any():
        i = csr[int(np.flatnonzero(bad)[0])]
        raise InvalidInputError(f"X[{i}]: malformed CSR row pointer (indptr must rise from 0 "
                                f"to nnz={mats[i].indices.shape[0]})", i)
    if nnz.sum():
        ind = np.concatenate([mats[i].indices for i in csr]).astype(np.int64, copy=False)
        width = np.repeat(np.fromiter((mats[i].shape[1] for i in csr), np.int64, len(csr)), nnz)
        out = (ind < 0) | (ind >= width)
        if out.any():
            k = int(np.flatnonzero(out)[0])
            i = csr[int(np.searchsorted(np.cumsum(nnz), k, side="right"))]
            raise InvalidInputError(f"X[{i}]: column index {int(ind[k])} outside the matrix's "
                                    f"{mats[i].shape[1]} columns", i)
    return mats


def _is_stacked(obj, kind: str) -> bool:
    """obj is a stacked set of ``kind`` ("sequences": X, "labels": Y) such as
    ``structpred.datasets.stacked`` builds (recognised by its ``stacked_kind`` and array
    dtypes: a task does not import loaders)."""
    if getattr(obj, "stacked_kind", None) != kind:
        return False
    arrays = ((obj.data, np.float64), (obj.indices, np.int32), (obj.indptr, np.int64),
              (obj.offsets, np.int64)) if kind == "sequences" else \
        ((obj.labels, np.int64), (obj.offsets, np.int64))
    return all(isinstance(a, np.ndarray) and a.dtype == t and a.ndim == 1 for a, t in arrays) \
        and obj.offsets.shape[0] >= 1


def _stacked_pair(X, Y) -> bool:
    """X a stacked set of sequences and Y (when given) of labels of the same length (as
    ``read_svmhmm(..., stacked=True)`` returns them): the task then checks and batches the
    stacked arrays as a whole."""
    return _is_stacked(X, "sequences") and (Y is None or (_is_stacked(Y, "labels")
                                                          and len(Y) == len(X)))


def _check_stacked(X, Y) -> None:
    """``check_input`` for stacked sequences (and labels): the same checks as
    on a list, each one vectorised over the stacked arrays, with the same messages naming
    the example."""
    off = X.offsets
    if off[0] < 0 or off[-1] >= X.indptr.shape[0] or np.any(off[1:] < off[:-1]):
        raise InvalidInputError("X: malformed stacked sequences (offsets must rise within the "
                                "stacked row pointer)")
    rows = np.diff(off)
    if rows.size and rows.min() == 0:
        i = int(np.argmin(rows))
        raise InvalidInputError(f"X[{i}]: empty sequence (0 tokens); every sequence needs "
                                "at least one token", i)
    a, b = int(off[0]), int(off[-1])
    ptr = X.indptr[a:b + 1]
    lo, hi = int(ptr[0]), int(ptr[-1])
    if lo < 0 or hi > X.indices.shape[0] or np.any(ptr[1:] < ptr[:-1]):
        i = int(np.searchsorted(off, a + int(np.argmax(ptr[1:] < ptr[:-1])), side="right")) - 1
        raise InvalidInputError(f"X[{max(i, 0)}]: malformed CSR row pointer (indptr must rise "
                                "from 0 to nnz)", max(i, 0))
    ind = X.indices[lo:hi]
    if ind.size and (int(ind.min()) < 0 or int(ind.max()) >= X.n_features):
        k = int(np.flatnonzero((ind < 0) | (ind >= X.n_features))[0])
        i = int(np.searchsorted(off, int(np.searchsorted(ptr, lo + k, side="right")) - 1 + a,
                                side="right")) - 1
        raise InvalidInputError(f"X[{i}]: column index {int(ind[k])} outside the matrix's "
                                f"{X.n_features} columns", i)
    seq_nnz = ptr[off[1:] - a] - ptr[off[:-1] - a]
    check_values(X.data[lo:hi], "X", example_of=lambda k: np.searchsorted(np.cumsum(seq_nnz), k,
                                                                           side="right"))
    if Y is None:
        return
    labels, yoff = Y.stacked_rows()
    lens = np.diff(yoff)
    if lens.shape != rows.shape or np.any(lens != rows) or labels.shape[0] != yoff[-1]:
        i = int(np.argmax(lens != rows)) if lens.shape == rows.shape else 0
        raise InvalidInputError(f"X[{i}] has {int(rows[i])} tokens (rows) but Y[{i}] has "
                                f"{len(Y[i])} labels", i)
    if labels.size and labels.min() < 0:
        i = int(np.searchsorted(yoff, int(np.argmax(labels < 0)), side="right")) - 1
        raise InvalidInputError(f"Y[{i}]: negative label {int(Y[i].min())}; labels are "
                                "0..n_labels-1", i)


def _shared_buffer(inds, datas, nnz_total):
    """(indices, data) as views of one int32 and one float64 buffer when the per-sequence
    arrays ``inds`` / ``datas`` are consecutive slices of them (as ``read_svmhmm`` returns
    a file's sequences), so that a batch needs no copy of the features; None otherwise."""
    if not inds or not nnz_total:
        return None
    k = next(k for k, dat in enumerate(datas) if dat.shape[0])   # nnz_total > 0
    bi, bd = inds[k].base, datas[k].base
    if not (isinstance(bi, np.ndarray) and isinstance(bd, np.ndarray)) \
            or bi.dtype != np.int32 or bd.dtype != np.float64 or bi.ndim != 1 or bd.ndim != 1 \
            or not (bi.flags.c_contiguous and bd.flags.c_contiguous):
        return None
    pi, pd = bi.__array_interface__["data"][0], bd.__array_interface__["data"][0]
    start = (datas[k].__array_interface__["data"][0] - pd) // 8
    pos = start
    for ind, dat in zip(inds, datas):
        if not ind.shape[0] and not dat.shape[0]:
            continue   # an empty slice (its data pointer says nothing)
        if ind.base is not bi or dat.base is not bd or ind.strides != (4,) \
                or dat.strides != (8,) or ind.shape != dat.shape \
                or ind.__array_interface__["data"][0] != pi + 4 * pos \
                or dat.__array_interface__["data"][0] != pd + 8 * pos:
            return None
        pos += ind.shape[0]
    if pos - start != nnz_total or pos > bi.shape[0] or pos > bd.shape[0]:
        return None
    return bi[start:pos], bd[start:pos]


def _as_csr(x, index: int, check: bool = True) -> sp.csr_matrix:
    """x as a CSR matrix whose index arrays are checked (safe for scipy and the kernels);
    ``check=False`` leaves the CSR index check to the caller (``_as_csrs``)."""
    if sp.issparse(x):
        if x.ndim != 2:
            raise InvalidInputError(f"X[{index}]: expected a 2-D (tokens x features) matrix", index)
        if x.dtype.kind not in "biuf":
            raise InvalidInputError(f"X[{index}]: features must be real numbers, got dtype "
                                    f"{x.dtype}", index)
        if x.format == "csr":
            if check:
                _check_csr_structure(x, index)
            return x
        else:
            _check_sparse_other(x, index)
        x = x.tocsr()
    else:
        try:
            arr = np.asarray(x)
        except (ValueError, TypeError) as exc:
            raise InvalidInputError(f"X[{index}]: not a (tokens x features) matrix ({exc})",
                                    index) from None
        if arr.ndim != 2:
            raise InvalidInputError(f"X[{index}]: expected a 2-D (tokens x features) matrix, "
                                    f"got an array of shape {arr.shape}", index)
        if arr.dtype.kind not in "biuf":
            raise InvalidInputError(f"X[{index}]: features must be real numbers, got dtype "
                                    f"{arr.dtype}", index)
        x = sp.csr_matrix(arr.astype(np.float64))
    return x


def _check_csr_structure(x, index: int) -> None:
    """InvalidInputError unless indptr/indices describe a valid CSR (columns in range):
    :func:`structpred.boundary.arrays.check_index_arrays`."""
    if not isinstance(x.data, np.ndarray) or x.data.shape != np.shape(x.indices):
        raise InvalidInputError(f"X[{index}]: malformed CSR matrix (indptr, indices and data "
                                "do not fit its shape)", index)
    check_index_arrays(x.indptr, x.indices, x.shape[0], x.shape[1], f"X[{index}]", index)


def _check_sparse_other(x, index: int) -> None:
    """Column/row range check of COO (and other) sparse formats before conversion."""
    try:
        coo = x.tocoo(copy=False) if x.format != "coo" else x
    except (ValueError, IndexError) as exc:
        raise InvalidInputError(f"X[{index}]: malformed sparse matrix ({exc})", index) from None
    for name, arr, size in (("row", coo.row, x.shape[0]), ("column", coo.col, x.shape[1])):
        if arr.size and (arr.min() < 0 or arr.max() >= size):
            raise InvalidInputError(f"X[{index}]: {name} index outside the matrix's shape "
                                    f"{x.shape}", index)


def _as_labels(y, index: int) -> np.ndarray:
    try:
        arr = np.asarray(y)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(f"Y[{index}]: not an array of labels ({exc})", index) from None
    if arr.ndim != 1:
        raise InvalidInputError(f"Y[{index}]: expected a 1-D array of labels, got shape "
                                f"{arr.shape}", index)
    if arr.size and arr.dtype.kind not in "iub":
        if arr.dtype.kind != "f" or not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise InvalidInputError(f"Y[{index}]: labels must be integers 0..n_labels-1, "
                                    f"got dtype {arr.dtype}", index)
    if arr.size and arr.dtype.kind in "uf" and arr.max() > _MAX_LABEL:
        raise InvalidInputError(f"Y[{index}]: label {arr.max()} is out of range", index)
    return arr.astype(np.int64)


_MAX_LABEL = 2 ** 31 - 1


def _is_text(y) -> bool:
    """True for a sequence of tag strings (str/np.str_ elements or a unicode array)."""
    arr = y if isinstance(y, np.ndarray) else None
    if arr is not None and arr.dtype.kind == "U":
        return True
    first = next(iter(y), None) if not isinstance(y, (str, bytes)) else y
    return isinstance(first, (str, np.str_))


def _short(tags) -> str:
    """At most 10 tags for an error message."""
    items = [repr(t) for t in tags[:10].tolist()]
    return ", ".join(items) + (", ..." if tags.size > 10 else "")


class SequenceLabeling(ChainCRFHooks, StructuredModel):
    """Linear-chain structured SVM task: the SVM-hmm model of Joachims et al.

    x is a scipy CSR matrix (tokens x features), y one tag per token: the user's tag strings
    (any hashable strings: they are kept sorted in ``tags_`` and stored in the model file;
    ``predict`` returns them) or int labels 0..L-1 (svm_hmm files). Score of a labeling:

        w·Ψ(x, y) = Σ_t W[y_t]·x_t + Σ_{t≥1} A[y_{t-1}, y_t]
                    [+ Σ_{t≥2} B[y_{t-2}, y_{t-1}, y_t]]   (transition_order=2)
                    [+ S[y_0] + E[y_{T-1}]]                 (boundary_transitions=True)

    and the loss is the Hamming loss Δ(y, y') = #{t : y_t != y'_t}, max_loss = len(y).
    The probabilistic hooks (the linear-chain CRF π_w(y|x) ∝ exp(w·Ψ(x, y)): log Z, log π,
    gradient, token marginals, expected Hamming loss, sampling, all exact) come from
    :class:`~structpred.tasks.sequence.crf.ChainCRFHooks`.

    Layout of w (length d = size_joint_feature), with L = n_labels, F = n_features:

    ===========================  =================================  =======
    block                        index of the weight                size
    ===========================  =================================  =======
    emission W (feature-major)   ``f*L + l``                        L*F
    bigram transitions A         ``L*F + p*L + c``                  L*L
    trigram transitions B        ``L*F + L*L + (a*L + b)*L + c``    L**3 (order 2 only)
    start S, then end E          next ``l``, then next ``l``        2*L (if boundary)
    ===========================  =================================  =======

    Parameters
    ----------
    n_labels : int or None
        L; read off the training labels (max + 1, or the number of distinct tag strings) when
        None.
    n_features : int or None
        F; read off the training matrices (widest) when None. Test columns >= F are ignored.
    transition_order : {1, 2}
        1: label bigrams (an HMM of order 1); 2: bigrams and trigrams (svm_hmm ``--t 2``).
    boundary_transitions : bool
        Add start and end weights per label. svm_hmm has none, so they are off by default
        (same model and objective as svm_hmm on its files); they let a chain learn, e.g.,
        that I- tags do not open a sentence when no token feature says so.

    Attributes
    ----------
    tags_ : ndarray of str or None
        The sorted tag strings seen in training (label l is ``tags_[l]``), or None when the
        training labels were ints.
    n_labels_, n_features_ : int
        The sizes in use.

    Notes
    -----
    Tags not seen in training: ``predict`` never outputs them, so ``score`` counts a gold
    token with such a tag as wrong; everything that needs the tag's weights (``fit`` with
    ``initialize=False``, ``primal_objective``, ``joint_feature``) raises
    :class:`~structpred.errors.InvalidInputError` naming ``Y[i]`` and the tag.
    """

    #: Largest size_joint_feature ``initialize`` accepts (2 GiB of float64 weights): one bad
    #: label or column index must not make the solver allocate many GiB.
    max_weights = 2 ** 28

    def __init__(self, n_labels=None, n_features=None, transition_order=1,
                 boundary_transitions=False):
        super().__init__()
        self.n_labels = n_labels
        self.n_features = n_features
        self.transition_order = transition_order
        self.boundary_transitions = boundary_transitions
        self._validate_params()
        self.n_labels_ = None if n_labels is None else int(n_labels)
        self.n_features_ = None if n_features is None else int(n_features)
        self.tags_ = None
        self._set_size()

    # ---------------------------------------------------------------- tag strings
    def _labels(self, y, index: int) -> np.ndarray:
        """Y[index] as int labels: tag strings through ``tags_`` (InvalidInputError naming
        Y[index] and the tag when it was not seen in training), ints checked as before."""
        if self.tags_ is None:
            if _is_text(y):
                raise InvalidInputError(f"Y[{index}]: tag strings, but the model was trained on "
                                        "int labels", index)
            return _as_labels(y, index)
        arr = np.asarray(y)
        if arr.ndim != 1:
            raise InvalidInputError(f"Y[{index}]: expected a 1-D array of tags, got shape {arr.shape}", index)
        if arr.size and not _is_text(arr):
            raise InvalidInputError(f"Y[{index}]: int labels, but the model was trained on tag "
                                    f"strings ({_short(self.tags_)})", index)
        arr = arr.astype(str)
        idx = np.minimum(np.searchsorted(self.tags_, arr), self.tags_.size - 1)
        ok = self.tags_[idx] == arr
        if not ok.all():
            t = int(np.flatnonzero(~ok)[0])
            raise InvalidInputError(f"Y[{index}]: tag {str(arr[t])!r} (token {t}) was not seen in "
                                    f"training (tags_: {_short(self.tags_)})", index)
        return idx.astype(np.int64)

    def _tags(self, labels):
        """Int labels -> the user's tags (unchanged when the model was trained on ints)."""
        return labels if self.tags_ is None else self.tags_[labels]

    # ---------------------------------------------------------------- set-up
    def _validate_params(self):
        if self.transition_order not in (1, 2):
            raise ValueError(f"transition_order must be 1 or 2, got {self.transition_order!r}")
        for name in ("n_labels", "n_features"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer, float))
                                  or not np.isfinite(v) or int(v) != v or v < 1):
                raise ValueError(f"{name} must be a positive integer or None, got {v!r}")

    def _set_size(self):
        L, F = self.n_labels_, self.n_features_
        if L is None or F is None:
            self.size_joint_feature = None
            return
        d = L * F + L * L
        if self.transition_order == 2:
            d += L ** 3
        if self.boundary_transitions:
            d += 2 * L
        self.size_joint_feature = d

    def initialize(self, X, Y) -> None:
        """Set n_labels_ / n_features_ from the data unless given, and size_joint_feature."""
        self._validate_params()
        if len(X) == 0:
            raise InvalidInputError("X is empty: no sequences to train on")
        if len(X) != len(Y):
            raise InvalidInputError(f"X has {len(X)} sequences but Y has {len(Y)}")
        if _stacked_pair(X, Y):
            self._initialize_stacked(X, Y)
            return
        X = [_as_csr(x, i, check=False) for i, x in enumerate(X)]  # shapes only: no kernel
        for i, y in enumerate(Y):
            if y is None or isinstance(y, (str, bytes)) or not hasattr(y, "__len__"):
                raise InvalidInputError(f"Y[{i}] must be a sequence of tags (one per token), got "
                                        f"{type(y).__name__}", i)
        text = [i for i, y in enumerate(Y) if len(y) and _is_text(y)]  # runs here (check_input does)
        if text and len(text) != sum(1 for y in Y if len(y)):
            i = next(i for i, y in enumerate(Y) if len(y) and not _is_text(y))
            raise InvalidInputError(f"Y mixes label types: Y[{text[0]}] holds tag strings, Y[{i}] "
                                    "int labels; use one kind", i)
        self.tags_ = None
        if text:
            self.tags_ = np.unique(np.concatenate([np.asarray(y).astype(str) for y in Y if len(y)]))
            if self.n_labels is not None and self.tags_.size > int(self.n_labels):
                raise InvalidInputError(f"Y has {self.tags_.size} distinct tags, more than "
                                        f"n_labels={self.n_labels}")
        Y = [self._labels(y, i) for i, y in enumerate(Y)]
        neg = next((i for i, y in enumerate(Y) if y.size and y.min() < 0), None)
        if neg is not None:
            raise InvalidInputError(f"Y[{neg}]: negative label {int(Y[neg].min())}; labels are "
                                    "0..n_labels-1", neg)
        top = max((int(y.max()) for y in Y if y.size), default=-1)
        if self.n_labels is None:
            self.n_labels_ = top + 1 if self.tags_ is None else int(self.tags_.size)
        else:
            self.n_labels_ = int(self.n_labels)
            if top >= self.n_labels_:
                i = next(i for i, y in enumerate(Y) if y.size and y.max() >= self.n_labels_)
                raise InvalidInputError(f"Y[{i}]: label {int(Y[i].max())} out of range "
                                        f"(n_labels={self.n_labels_})", i)
        if self.n_features is None:
            self.n_features_ = max(int(x.shape[1]) for x in X)
        else:
            self.n_features_ = int(self.n_features)
        self._check_size(X, Y)

    def _initialize_stacked(self, X, Y) -> None:
        """``initialize`` for a stacked (sequences, labels) pair: the same
        checks and attributes, from the stacked label array in one pass."""
        self.tags_ = None
        labels, offsets = Y.stacked_rows()
        if labels.size and labels.min() < 0:
            i = int(np.searchsorted(offsets, int(np.argmax(labels < 0)), side="right")) - 1
            raise InvalidInputError(f"Y[{i}]: negative label {int(Y[i].min())}; labels are "
                                    "0..n_labels-1", i)
        top = int(labels.max()) if labels.size else -1
        if self.n_labels is None:
            self.n_labels_ = top + 1
        else:
            self.n_labels_ = int(self.n_labels)
            if top >= self.n_labels_:
                i = int(np.searchsorted(offsets, int(np.argmax(labels >= self.n_labels_)),
                                        side="right")) - 1
                raise InvalidInputError(f"Y[{i}]: label {int(Y[i].max())} out of range "
                                        f"(n_labels={self.n_labels_})", i)
        self.n_features_ = X.n_features if self.n_features is None else int(self.n_features)
        self._check_size(X, Y)

    def _check_size(self, X, Y) -> None:
        """Set size_joint_feature; InvalidInputError when it exceeds ``max_weights``."""
        self._set_size()
        if self.size_joint_feature > self.max_weights:
            L, F = self.n_labels_, self.n_features_
            i = next((i for i, y in enumerate(Y) if y.size and y.max() == L - 1), 0)
            j = next((j for j, x in enumerate(X) if x.shape[1] == F), 0)
            raise InvalidInputError(
                f"the model would need {self.size_joint_feature:,} weights "
                f"(n_labels={L} x n_features={F} + transitions), more than max_weights="
                f"{self.max_weights:,}; the largest label is in Y[{i}], the widest matrix is "
                f"X[{j}]. Renumber labels and features densely (or raise "
                "SequenceLabeling.max_weights)", i)

    def check_input(self, X, Y=None) -> None:
        """InvalidInputError (a ValueError) naming the example: not a 2-D matrix (a list of
        lists is fine), a malformed sparse matrix or a column index outside it, non-real
        dtype, an empty sequence, a feature that is NaN, infinite or larger in magnitude
        than ``structpred.errors.MAX_ABS_FEATURE``; rows != len(y), non-integer or negative
        label. Labels >= n_labels are refused by ``initialize`` (training) only: at test time
        a label never seen in training is simply never predicted, so it counts as an error.

        All examples are checked, with one vectorised pass over the stacked values, so that
        the numba kernels never read an unchecked index.
        """
        if Y is not None and len(X) != len(Y):
            raise InvalidInputError(f"X has {len(X)} sequences but Y has {len(Y)}")
        if _stacked_pair(X, Y):
            _check_stacked(X, Y)
            return
        mats = _as_csrs(X)
        if not mats:
            return
        rows = np.fromiter((m.shape[0] for m in mats), dtype=np.int64, count=len(mats))
        if rows.min() == 0:
            i = int(np.argmin(rows))
            raise InvalidInputError(f"X[{i}]: empty sequence (0 tokens); every sequence needs "
                                    "at least one token", i)
        nnz = np.fromiter((m.nnz for m in mats), dtype=np.int64, count=len(mats))
        if nnz.sum():
            data = np.concatenate([m.data for m in mats])
            check_values(data, "X", example_of=lambda k: np.searchsorted(np.cumsum(nnz), k,
                                                                          side="right"))
        if Y is None:
            return
        for i, (m, yi) in enumerate(zip(mats, Y)):
            y = self._labels(yi, i)
            if y.shape[0] != m.shape[0]:
                raise InvalidInputError(f"X[{i}] has {m.shape[0]} tokens (rows) but Y[{i}] has "
                                        f"{y.shape[0]} labels", i)
            if y.min() < 0:
                raise InvalidInputError(f"Y[{i}]: negative label {int(y.min())}; labels are "
                                        "0..n_labels-1", i)

    def max_loss(self, y) -> float:
        """Largest Hamming loss of y: its number of tokens."""
        return float(len(y))

    @classmethod
    def tiny_example(cls, random_state=0):
        """A tiny valid training set (task, X, Y) for the registry-driven battery
        (tests/test_registry_battery.py): every registered task provides one, so the
        battery's hostile variants of it reach the task's checks."""
        rng = np.random.default_rng(random_state)
        Y = [rng.integers(0, 3, size=m) for m in (4, 3, 5)]
        X = [np.eye(3)[y] + 0.1 * rng.normal(size=(len(y), 3)) for y in Y]
        return cls(), X, Y

    def get_state(self):
        """Learnt sizes (and tag names) for the model file, with the emission layout of w."""
        tags = None if self.tags_ is None else self.tags_.tolist()
        return {"n_labels_": self.n_labels_, "n_features_": self.n_features_, "tags_": tags,
                "emission_layout": EMISSION_LAYOUT}

    def migrate_state(self, state, w):
        """A model file of the former label-major layout (a fitted state without
        ``emission_layout``; emission weight of label l, feature f at w[l*F + f]) brought to
        this version's: the first L*F weights permuted to feature-major (w[f*L + l]), the tag
        set. The bigram, trigram and start/end blocks did not change layout and are kept, so
        w·Ψ(x, y) is unchanged for every (x, y). Any other state is returned as is."""
        if not isinstance(state, dict) or "emission_layout" in state \
                or state.get("n_labels_") is None:
            return state, w
        L = _size_or_none(state.get("n_labels_"), "SequenceLabeling state 'n_labels_'")
        F = _size_or_none(state.get("n_features_"), "SequenceLabeling state 'n_features_'")
        w = np.array(w, dtype=np.float64)
        if F is not None and L * F <= w.shape[0]:   # else the length check refuses the file
            w[:L * F] = w[:L * F].reshape(L, F).T.ravel()
        return dict(state, emission_layout=EMISSION_LAYOUT), w

    def set_state(self, state) -> None:
        """Restore ``get_state``'s values (sizes None or integers in [1, MAX_SIZE_JOINT_FEATURE],
        ``tags_`` None or n_labels_ sorted distinct strings, ``emission_layout``
        "feature-major"); any other key is refused (InvalidInputError naming it), and so is a
        fitted state without ``emission_layout``: such a state holds the former label-major
        emission weights (index l*F + f), which ``migrate_state`` converts (``load`` calls it)."""
        st = check_state(state, "SequenceLabeling", {"n_labels_": _size_or_none,
                                                     "n_features_": _size_or_none,
                                                     "tags_": lambda v, n: v,
                                                     "emission_layout": _check_layout})
        if st.get("n_labels_") is not None and "emission_layout" not in st:
            raise InvalidInputError("SequenceLabeling state has no 'emission_layout': the model "
                                    "was written by an earlier structpred whose emission weights "
                                    "were label-major (l*F + f); convert it and its w with "
                                    "migrate_state (structpred.load does)")
        self.n_labels_ = st.get("n_labels_")
        self.n_features_ = st.get("n_features_")
        tags = st.get("tags_")
        if tags is not None:
            tags = np.asarray(tags)
            if tags.ndim != 1 or tags.dtype.kind != "U" or tags.size != self.n_labels_ \
                    or np.any(tags[1:] <= tags[:-1]):
                raise InvalidInputError(f"SequenceLabeling state 'tags_' must be {self.n_labels_} "
                                        "sorted distinct strings")
        self.tags_ = tags
        self._set_size()

    # ---------------------------------------------------------------- weights
    def _split_w(self, w):
        """(WT, A, B, S, E): emission (F x L, feature-major as in w), bigram (L x L), trigram
        (L,L,L), start (L), end (L) blocks as views of w (no copy; zeros for absent blocks)."""
        L, F = self.n_labels_, self.n_features_
        w = np.ascontiguousarray(w, dtype=np.float64)
        if w.shape != (self.size_joint_feature,):
            raise ValueError(f"w has shape {w.shape}, expected ({self.size_joint_feature},)")
        WT = w[:L * F].reshape(F, L)
        pos = L * F
        A = w[pos:pos + L * L].reshape(L, L)
        pos += L * L
        if self.transition_order == 2:
            B = w[pos:pos + L ** 3].reshape(L, L, L)
            pos += L ** 3
        else:
            B = np.zeros((1, 1, 1))
        if self.boundary_transitions:
            S = w[pos:pos + L]
            E = w[pos + L:pos + 2 * L]
        else:
            S = np.zeros(L)
            E = np.zeros(L)
        return WT, A, B, S, E

    # ---------------------------------------------------------------- batches
    def make_batch(self, X, Y=None) -> SequenceBatch:
        """Stack X into one CSR (columns >= n_features_ dropped) and Y into one int array."""
        F = self.n_features_
        if _stacked_pair(X, Y) and (F is None or X.n_features <= F):
            batch = self._stacked_batch(X, Y)
            if batch is not None:
                return batch
        n = len(X)
        lengths = np.empty(n, dtype=np.int64)
        ptrs, inds, datas = [], [], []
        nnz_total = 0
        for i, x in enumerate(_as_csrs(X)):
            if F is not None and x.shape[1] > F:
                x = x[:, :F]
            if not x.has_canonical_format:
                x = x.copy()
                x.sum_duplicates()
            lengths[i] = x.shape[0]
            ptrs.append(x.indptr[1:].astype(np.int64) + nnz_total)
            inds.append(x.indices)
            datas.append(x.data)
            nnz_total += x.nnz
        if n and lengths.min() == 0:
            raise ValueError(f"X[{int(np.argmin(lengths))}]: empty sequence (0 tokens)")
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        indptr = np.concatenate([np.zeros(1, np.int64)] + ptrs) if n else np.zeros(1, np.int64)
        shared = _shared_buffer(inds, datas, nnz_total)
        if shared is not None:   # consecutive slices of one stacked CSR: no copy
            indices, data = shared
        else:
            indices = (np.concatenate(inds).astype(np.int32, copy=False) if nnz_total
                       else np.zeros(0, np.int32))
            data = (np.concatenate(datas).astype(np.float64, copy=False) if nnz_total
                    else np.zeros(0))
        del inds, datas
        y = Yl = None
        if Y is not None:
            Yl = [self._labels(yi, i) for i, yi in enumerate(Y)]
            y = np.concatenate(Yl) if n else np.zeros(0, np.int64)
            if y.shape[0] != offsets[-1]:
                raise ValueError("Y does not have one label per token of X")
        return SequenceBatch(indptr, indices, data, offsets, F, y, Yl)

    def _stacked_batch(self, X, Y):
        """``make_batch`` of stacked sequences (and labels): the stacked arrays
        themselves (views, indptr rebased), the same batch as from the list of its items;
        None when a row's columns are not strictly increasing (the list path then sums the
        duplicates)."""
        indptr, indices, data, offsets = X.stacked_rows()
        if indices.size > 1:
            # increasing within every row: one boolean temporary, the row boundaries exempt
            # (an int diff and two more masks took 0.06 s for half of CoNLL x 4, fresh pages)
            step = np.greater(indices[1:], indices[:-1])
            cut = indptr[1:-1]
            step[cut[(cut > 0) & (cut < indices.size)] - 1] = True   # row boundaries
            if not step.all():
                return None
        y = Yl = None
        if Y is not None:
            if self.tags_ is not None:
                return None    # tag strings: the list path maps them
            y, _ = Y.stacked_rows()
            Yl = Y
        return SequenceBatch(np.ascontiguousarray(indptr), indices, data, offsets,
                             self.n_features_, y, Yl)

    def _chunks(self, batch, n_jobs):
        """Contiguous sequence ranges with about equal token counts, 4 per thread."""
        jobs = effective_jobs(n_jobs)
        return balanced_bounds(batch.offsets, 4 * jobs if jobs > 1 else 1)

    def _decode(self, batch, w, augment, n_jobs):
        out = np.empty(batch.n_tokens, dtype=np.int64)
        views = self._split_w(w)

        def work(s0, s1):
            self._decode_rows(batch, np.arange(s0, s1, dtype=np.int64), views, augment, out)
        map_chunks(work, self._chunks(batch, n_jobs), n_jobs)
        return out

    def batch_inference(self, batch, w, n_jobs: int = 1) -> list:
        """Viterbi decoding argmax_y w·Ψ(x_i, y) of every sequence of the batch (the user's
        tags when trained on tag strings)."""
        return batch.split(self._tags(self._decode(batch, w, False, n_jobs)))

    def batch_loss_augmented_inference(self, batch, w, n_jobs: int = 1) -> np.ndarray:
        """Flat int array of ŷ (all tokens, batch offsets): argmax Δ(y_i, ·) + w·Ψ(x_i, ·)."""
        if batch.y is None:
            raise ValueError("loss-augmented inference needs labels (batch built without Y)")
        return self._decode(batch, w, True, n_jobs)

    def _flat(self, batch, Y_hat) -> np.ndarray:
        if isinstance(Y_hat, np.ndarray) and Y_hat.ndim == 1 and Y_hat.shape[0] == batch.n_tokens \
                and Y_hat.dtype.kind in "iu":
            return Y_hat.astype(np.int64, copy=False)
        if self.tags_ is not None and any(len(y) and _is_text(y) for y in Y_hat):
            return np.concatenate([self._labels(y, i) for i, y in enumerate(Y_hat)])
        return np.concatenate([np.asarray(y, dtype=np.int64) for y in Y_hat])

    def batch_loss(self, batch, Y_hat) -> np.ndarray:
        """Hamming losses Δ(y_i, ŷ_i) = number of tokens whose tag differs."""
        wrong = (batch.y != self._flat(batch, Y_hat)).astype(np.float64)
        return np.add.reduceat(wrong, batch.offsets[:-1]) if len(batch) else np.zeros(0)

    def batch_delta_joint_feature(self, batch, Y_hat, n_jobs: int = 1) -> sp.csr_matrix:
        """n x d CSR, row i = Ψ(x_i, y_i) - Ψ(x_i, ŷ_i), built by the kernels from the tokens
        and label n-grams where y and ŷ differ."""
        L, d = self.n_labels_, self.size_joint_feature
        yh = self._flat(batch, Y_hat)
        y = batch.y
        if y.size and (y.max() >= L or yh.max() >= L or min(y.min(), yh.min()) < 0):
            raise ValueError(f"labels out of range 0..{L - 1} in the δΨ of a training batch")
        order = int(self.transition_order)
        ub = bool(self.boundary_transitions)
        chunks = self._chunks(batch, n_jobs)
        room = _room(batch, y, yh, order, ub)
        if len(chunks) == 1 and d < _INT32_MAX:
            return self._delta_narrow(batch, y, yh, order, ub, room=room)
        parts = map_chunks(lambda s0, s1: self._delta_wide(batch, y, yh, order, ub, s0, s1,
                                                           room), chunks, n_jobs)
        if len(parts) == 1:
            ip, ind, dat = parts[0]
        else:
            shift = np.cumsum([0] + [p[0][-1] for p in parts[:-1]])
            ip = np.concatenate([np.zeros(1, np.int64)] + [p[0][1:] + s for p, s in zip(parts, shift)])
            ind = np.concatenate([p[1] for p in parts])
            dat = np.concatenate([p[2] for p in parts])
        if d < _INT32_MAX and ip[-1] < _INT32_MAX:
            ind, ip = ind.astype(np.int32), ip.astype(np.int32)
        return sp.csr_matrix((dat, ind, ip), shape=(len(batch), d))

    def _delta_wide(self, batch, y, yh, order, ub, s0, s1, room):
        """δΨ rows of sequences s0..s1-1 as (indptr from 0, int64 indices, values); room
        from ``_room``."""
        L, F = self.n_labels_, self.n_features_
        total = max(int(room[s1] - room[s0]), 1)
        ip = np.zeros(s1 - s0 + 1, dtype=np.int64)
        ind = np.empty(total, dtype=np.int64)
        dat = np.empty(total)
        slot = _scratch(F)
        nnz = kernels.delta_psi_rows(batch.indptr, batch.indices, batch.data, batch.offsets,
                                     np.arange(s0, s1, dtype=np.int64), y, yh, L, F, order,
                                     ub, slot, ip, ind, dat, np.empty(s1 - s0))
        return ip, ind[:nnz], dat[:nnz]

    def _delta_narrow(self, batch, y, yh, order, ub, step=512, room=None):
        """batch_delta_joint_feature's one-thread form: the rows built ``step`` sequences
        at a time in small int64 buffers (the kernel's one specialisation) and copied into
        int32 indices and float64 values of the final size, so the whole pass's δΨ never
        exists twice (int64 and int32). Same rows, bit for bit. Past int32 entries: the
        int64 form (``_delta_wide``) over the whole batch."""
        L, F, d = self.n_labels_, self.n_features_, self.size_joint_feature
        n = len(batch)
        if room is None:
            room = _room(batch, y, yh, order, ub)
        total = max(int(room[n]), 1)
        if total >= _INT32_MAX:
            ip, ind, dat = self._delta_wide(batch, y, yh, order, ub, 0, n, room)
            return sp.csr_matrix((dat, ind, ip), shape=(n, d))
        ind = np.empty(total, dtype=np.int32)
        dat = np.empty(total)
        ip = np.zeros(n + 1, dtype=np.int32)
        slot = _scratch(F)
        losses = np.empty(step)    # the kernel's Hamming losses (unused here)
        top = 0
        for s0 in range(0, n, step):
            s1 = min(n, s0 + step)
            size = max(int(room[s1] - room[s0]), 1)
            cip = np.zeros(s1 - s0 + 1, dtype=np.int64)
            cind = np.empty(size, dtype=np.int64)
            cdat = np.empty(size)
            nnz = kernels.delta_psi_rows(batch.indptr, batch.indices, batch.data, batch.offsets,
                                         np.arange(s0, s1, dtype=np.int64), y, yh, L, F, order,
                                         ub, slot, cip, cind, cdat, losses)
            ind[top:top + nnz] = cind[:nnz]
            dat[top:top + nnz] = cdat[:nnz]
            ip[s0 + 1:s1 + 1] = cip[1:] + top
            top += nnz
        return sp.csr_matrix((dat[:top], ind[:top], ip), shape=(n, d))

    # ---------------------------------------------------------------- per-example path
    def _decode_rows(self, batch, seqs, views, augment, out):
        """Labels of the sequences ``seqs`` into out (batch offsets), w given as
        ``_split_w``'s views."""
        WT, A, B, S, E = views
        y = batch.y if augment else np.zeros(1, np.int64)
        order = int(self.transition_order)
        em, back = _decode_scratch(batch, self.n_labels_) if order == 1 else (None, None)
        kernels.decode_rows(batch.indptr, batch.indices, batch.data, batch.offsets, seqs, WT, A,
                            B, S, E, y, augment, order, out, em, back)

    def _delta_rows(self, batch, seqs, yh):
        """(δΨ rows of the sequences ``seqs`` as a CSR matrix, their Hamming losses)."""
        L, F, d = self.n_labels_, self.n_features_, self.size_joint_feature
        order, ub = int(self.transition_order), bool(self.boundary_transitions)
        # the kernel's bound without a pass: 2 entries per feature of every token, 4 bigram
        # (+6 trigram) entries per token, 4 boundary entries per sequence
        r0, r1 = batch.offsets[seqs], batch.offsets[seqs + 1]
        bound = (2 * int((batch.indptr[r1] - batch.indptr[r0]).sum())
                 + (10 if order == 2 else 4) * int((r1 - r0).sum()) + 4 * len(seqs))
        # int64 in the kernel (one specialisation of its callee, shared with the chunk path),
        # int32 for scipy when it fits: spares scipy a scan of the indices
        ip = np.zeros(len(seqs) + 1, dtype=np.int64)
        ind = np.empty(max(bound, 1), dtype=np.int64)
        dat = np.empty(max(bound, 1))
        slot = _scratch(F)
        losses = np.empty(len(seqs))
        nnz = kernels.delta_psi_rows(batch.indptr, batch.indices, batch.data, batch.offsets, seqs,
                                     batch.y, yh, L, F, order, ub, slot, ip, ind, dat,
                                     losses)
        if d < _INT32_MAX and nnz < _INT32_MAX:
            ip, ind = ip.astype(np.int32), ind[:nnz].astype(np.int32)
        return _rows_csr(dat[:nnz], ind[:nnz], ip, (len(seqs), d)), losses

    def batch_oracle_rows(self, batch, index, w, rescaling="margin"):
        """(D, L) of the most violated outputs of the examples ``batch[index]`` at w, margin
        rescaling: D the len(index) x d CSR of δΨ rows, L the Hamming losses. Reads w in place
        and costs O(size of those examples), not O(d). ŷ is written into a buffer of n_tokens
        ints kept on the batch (calls for disjoint examples write disjoint tokens). Slack
        rescaling raises NotImplementedError (callers use the batch forms)."""
        if rescaling != "margin":
            raise NotImplementedError("batch_oracle_rows: margin rescaling only")
        if batch.y is None:
            raise ValueError("loss-augmented inference needs labels (batch built without Y)")
        seqs = np.ascontiguousarray(index, dtype=np.int64)
        yh = getattr(batch, "_rows_buffer", None)
        if yh is None:
            yh = batch._rows_buffer = np.empty(max(batch.n_tokens, 1), dtype=np.int64)
        self._decode_rows(batch, seqs, self._split_w(w), True, yh)
        return self._delta_rows(batch, seqs, yh)   # δΨ's kernel counts the Hamming losses

    # ---------------------------------------------------------------- single forms
    def joint_feature(self, x, y) -> sp.csr_matrix:
        """Ψ(x, y) as a 1 x d CSR row (layout in the class docstring)."""
        L, F = self.n_labels_, self.n_features_
        x = _as_csr(x, 0)
        if x.shape[1] > F:
            x = x[:, :F]
        y = self._labels(y, 0)
        coo = x.tocoo()
        cols = [coo.col * L + y[coo.row]]
        vals = [coo.data.astype(np.float64)]
        pos = L * F
        T = len(y)
        if T > 1:
            cols.append(pos + y[:-1] * L + y[1:])
            vals.append(np.ones(T - 1))
        pos += L * L
        if self.transition_order == 2:
            if T > 2:
                cols.append(pos + (y[:-2] * L + y[1:-1]) * L + y[2:])
                vals.append(np.ones(T - 2))
            pos += L ** 3
        if self.boundary_transitions and T:
            cols.append(np.array([pos + y[0], pos + L + y[-1]]))
            vals.append(np.ones(2))
        c = np.concatenate(cols)
        v = np.concatenate(vals)
        out = sp.csr_matrix((v, (np.zeros_like(c), c)), shape=(1, self.size_joint_feature))
        out.sum_duplicates()
        return out

    def loss(self, y, y_hat) -> float:
        """Hamming loss: the number of wrongly tagged tokens."""
        return float(np.sum(np.asarray(y) != np.asarray(y_hat)))

    def inference(self, x, w) -> np.ndarray:
        """Viterbi decoding argmax_y w·Ψ(x, y) of one sequence: its tags."""
        return self.batch_inference(self.make_batch([x]), w)[0]

    def loss_augmented_inference(self, x, y, w) -> np.ndarray:
        """argmax_ŷ Hamming(y, ŷ) + w·Ψ(x, ŷ) (Viterbi with the loss added to the emission scores)."""
        b = self.make_batch([x], [y])
        return self._tags(self.batch_loss_augmented_inference(b, w))
