"""Writes the label-major sequence model fixtures of tests/test_sequence_model_compat.py.

Run with structpred 9ebb09e (the last commit whose SequenceLabeling stored emission weights
label-major, w[l*F + f]) on the path, e.g.::

    mkdir /tmp/old9 && git archive 9ebb09e structpred | tar -x -C /tmp/old9
    PYTHONPATH=/tmp/old9 python tests/data/make_label_major_sequence_models.py tests/data

It fits three tiny models on ``make_hmm_sequences`` data and saves them with the old code
(seq_order1_label_major.npz: StructuredSVM, first order; seq_order2_label_major.npz:
StructuredSVM, second order with start/end weights; seq_crf_label_major.npz: GibbsPolicy,
first order with start/end weights), then the old code's outputs on fixed test sequences
(seq_label_major_expected.npz): the inputs X_i (dense), and per model its predictions, the
scores w·Ψ(x, ŷ) of those predictions and their log π(ŷ|x).
"""
import sys
from pathlib import Path

import numpy as np

import structpred
from structpred import GibbsPolicy, StructuredSVM
from structpred.datasets import make_hmm_sequences
from structpred.tasks.sequence.model import SequenceLabeling

MODELS = {
    "order1": lambda: StructuredSVM(SequenceLabeling(), C=1.0, eps=0.01),
    "order2": lambda: StructuredSVM(SequenceLabeling(transition_order=2,
                                                     boundary_transitions=True), C=1.0, eps=0.01),
    "crf": lambda: GibbsPolicy(SequenceLabeling(boundary_transitions=True), C=1.0),
}


def main(out):
    out = Path(out)
    X, Y = make_hmm_sequences(n_seq=30, n_labels=3, n_features=8, random_state=0)
    Xt, _ = make_hmm_sequences(n_seq=6, n_labels=3, n_features=8, random_state=1)
    expected = {f"X_{i}": x.toarray() for i, x in enumerate(Xt)}
    expected["structpred_commit"] = np.frombuffer(b"9ebb09e", dtype=np.uint8)
    for name, make in MODELS.items():
        est = make().fit(X, Y)
        est.save(out / f"seq_{name}_label_major.npz")
        pred = est.predict(Xt)
        m, w = est.model, est.w_
        expected[f"{name}_pred"] = np.concatenate(pred)
        expected[f"{name}_score"] = np.array([m.joint_feature(x, p).toarray().ravel() @ w
                                              for x, p in zip(Xt, pred)])
        expected[f"{name}_log_prob"] = np.asarray(est.log_prob(Xt, pred), dtype=np.float64)
    np.savez_compressed(out / "seq_label_major_expected.npz", **expected)
    print("written by structpred", structpred.__file__)


if __name__ == "__main__":
    main(sys.argv[1])
