"""Sequence model files of the former label-major emission layout (w[l*F + f], structpred up to
9ebb09e) load with the current feature-major code and predict exactly as before."""
import io
import json
from pathlib import Path

import numpy as np
import pytest

import structpred
from structpred import GibbsPolicy, StructuredSVM
from structpred.datasets import make_hmm_sequences
from structpred.errors import ModelFileError
from structpred.tasks.sequence.model import EMISSION_LAYOUT, SequenceLabeling

# Fixtures written by structpred 9ebb09e itself (label-major), with
# `PYTHONPATH=<9ebb09e checkout> python tests/data/make_label_major_sequence_models.py tests/data`
DATA = Path(__file__).parent / "data"
MODELS = ("order1", "order2", "crf")


def _outputs(est, X):
    """(predictions, w·Ψ(x, ŷ), log π(ŷ|x)) of a fitted sequence estimator on X."""
    pred = est.predict(X)
    score = np.array([est.model.joint_feature(x, p).toarray().ravel() @ est.w_
                      for x, p in zip(X, pred)])
    return pred, score, np.asarray(est.log_prob(X, pred), dtype=np.float64)


@pytest.fixture(scope="module")
def expected():
    with np.load(DATA / "seq_label_major_expected.npz") as e:
        return {k: e[k] for k in e.files}


def _inputs(expected):
    import scipy.sparse as sp
    n = sum(k.startswith("X_") for k in expected)
    return [sp.csr_matrix(expected[f"X_{i}"]) for i in range(n)]


@pytest.mark.parametrize("name", MODELS)
def test_label_major_file_of_the_old_code_predicts_as_before(name, expected):
    path = DATA / f"seq_{name}_label_major.npz"
    with np.load(path) as a:
        assert "emission_layout" not in json.loads(a["__structpred__"].tobytes())["model_state"]
    est = structpred.load(path)
    assert isinstance(est, GibbsPolicy if name == "crf" else StructuredSVM)
    assert est.model.get_state()["emission_layout"] == EMISSION_LAYOUT
    X = _inputs(expected)
    pred, score, logp = _outputs(est, X)
    assert np.array_equal(np.concatenate(pred), expected[f"{name}_pred"])
    np.testing.assert_allclose(score, expected[f"{name}_score"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(logp, expected[f"{name}_log_prob"], rtol=0, atol=1e-12)
    # the permutation matters: the file's w read as feature-major scores differently
    with np.load(path) as a:
        raw = a["w"]
    assert not np.array_equal(raw, est.w_)
    misread = [est.model.joint_feature(x, p).toarray().ravel() @ raw for x, p in zip(X, pred)]
    assert np.max(np.abs(np.array(misread) - expected[f"{name}_score"])) > 1e-3


def test_migrated_model_saves_with_the_tag_and_reloads(tmp_path, expected):
    est = structpred.load(DATA / "seq_order2_label_major.npz")
    est.save(tmp_path / "new.npz")
    again = structpred.load(tmp_path / "new.npz")
    assert np.array_equal(again.w_, est.w_)
    X = _inputs(expected)
    assert np.array_equal(np.concatenate(again.predict(X)), expected["order2_pred"])


def _rewrite(src, dst, edit_header, edit_w):
    """Copy a model file with its JSON header and w edited."""
    with np.load(src) as a:
        arrays = {k: a[k] for k in a.files}
    header = json.loads(arrays["__structpred__"].tobytes())
    edit_header(header)
    arrays["__structpred__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    arrays["w"] = edit_w(arrays["w"], header["model_state"])
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    Path(dst).write_bytes(buf.getvalue())


def _to_label_major(w, state):
    L, F = state["n_labels_"], state["n_features_"]
    w = w.copy()
    w[:L * F] = w[:L * F].reshape(F, L).T.ravel()
    return w


@pytest.mark.parametrize("order,boundary", [(1, False), (2, True)])
def test_synthetic_label_major_file_loads_with_the_same_predictions(tmp_path, order, boundary):
    X, Y = make_hmm_sequences(n_seq=25, n_labels=4, n_features=7, random_state=3)
    Xt, _ = make_hmm_sequences(n_seq=8, n_labels=4, n_features=7, random_state=4)
    est = StructuredSVM(SequenceLabeling(transition_order=order, boundary_transitions=boundary),
                        C=1.0, eps=0.01).fit(X, Y)
    est.save(tmp_path / "new.npz")
    _rewrite(tmp_path / "new.npz", tmp_path / "old.npz",
             lambda h: h["model_state"].pop("emission_layout"), _to_label_major)
    old = structpred.load(tmp_path / "old.npz")
    np.testing.assert_array_equal(old.w_, est.w_)
    pred, score, logp = _outputs(old, Xt)
    pred0, score0, logp0 = _outputs(est, Xt)
    assert np.array_equal(np.concatenate(pred), np.concatenate(pred0))
    np.testing.assert_allclose(score, score0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(logp, logp0, rtol=0, atol=1e-12)


def test_unknown_layout_tag_and_short_w_stay_refused(tmp_path):
    src = DATA / "seq_order1_label_major.npz"
    _rewrite(src, tmp_path / "tag.npz",
             lambda h: h["model_state"].update(emission_layout="label-major"), lambda w, s: w)
    with pytest.raises(ModelFileError, match="emission_layout"):
        structpred.load(tmp_path / "tag.npz")
    _rewrite(src, tmp_path / "short.npz", lambda h: None, lambda w, s: w[:5])
    with pytest.raises(ModelFileError, match="w has length 5"):
        structpred.load(tmp_path / "short.npz")
    _rewrite(src, tmp_path / "long.npz", lambda h: None, lambda w, s: np.r_[w, w])
    with pytest.raises(ModelFileError, match="more than the 33 weights"):
        structpred.load(tmp_path / "long.npz")


def test_migrate_state_leaves_a_current_state_alone():
    m = SequenceLabeling()
    state = {"n_labels_": 2, "n_features_": 3, "tags_": None, "emission_layout": EMISSION_LAYOUT}
    w = np.arange(10.0)
    s2, w2 = m.migrate_state(state, w)
    assert s2 == state and np.array_equal(w2, w)
    s3, w3 = m.migrate_state({k: v for k, v in state.items() if k != "emission_layout"}, w)
    assert s3 == state
    # label-major (l, f) -> feature-major (f, l); the 4 bigram weights are kept
    assert w3.tolist() == [0, 3, 1, 4, 2, 5, 6, 7, 8, 9]


def test_structpred_classify_reads_an_old_model_file(tmp_path, expected, capsys):
    """The command line (svm_hmm style) predicts with a label-major file as the old code did."""
    from structpred.cli.svmstruct import classify_main
    from structpred.datasets.svmhmm import write_svmhmm
    X = _inputs(expected)
    pred = expected["order1_pred"]
    cuts = np.cumsum([x.shape[0] for x in X])[:-1]
    write_svmhmm(tmp_path / "test.dat", X, np.split(pred, cuts))
    assert classify_main([str(tmp_path / "test.dat"), str(DATA / "seq_order1_label_major.npz"),
                          str(tmp_path / "pred.txt")]) == 0
    capsys.readouterr()
    tags = np.array([int(t) for t in (tmp_path / "pred.txt").read_text().split()])
    assert np.array_equal(tags, pred + 1)
