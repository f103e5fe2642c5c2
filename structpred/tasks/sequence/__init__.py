"""Sequence labeling (SVM-hmm): linear-chain task, numba Viterbi kernels, CoNLL features."""
from .model import SequenceBatch, SequenceLabeling

__all__ = ["SequenceLabeling", "SequenceBatch"]
