"""Multi-label classification: unary label features, a tree of label pairs, Hamming loss;
exact max-product / sum-product / sampling kernels on the tree (numba)."""
from .model import MultiLabel, MultiLabelBatch
from .tree import chow_liu_edges, mutual_information

__all__ = ["MultiLabel", "MultiLabelBatch", "chow_liu_edges", "mutual_information"]
