"""structpred learn --task rank|proprank and classify on small svm_rank / svm_proprank files."""
from __future__ import annotations

import numpy as np
import pytest

from structpred import load
from structpred.cli.ranking import classify_ranking, learn_proprank, learn_rank
from structpred.datasets.letor import write_letor
from structpred.tasks.ranking import PropensityRanking, Ranking


def _data(rng, nq=30, f=5):
    w = rng.normal(size=f)
    X, Y = [], []
    for _ in range(nq):
        m = int(rng.integers(3, 8))
        x = rng.random((m, f))
        s = x @ w
        Y.append(np.digitize(s, np.quantile(s, [0.4, 0.8])).astype(float))
        X.append(x)
    return X, Y


def test_learn_and_classify_rank(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X, Y = _data(rng)
    write_letor(tmp_path / "train.dat", X, Y)
    assert learn_rank(["--task", "rank", "-c", "10", "-l", "1", str(tmp_path / "train.dat"),
                       str(tmp_path / "model.npz")]) == 0
    out = capsys.readouterr().out
    assert "Adjusted stopping criterion" in out
    svm = load(tmp_path / "model.npz")
    assert isinstance(svm.model, Ranking) and svm.C == 10
    assert classify_ranking([str(tmp_path / "train.dat"), str(tmp_path / "model.npz"),
                             str(tmp_path / "pred.txt")]) == 0
    pred = np.loadtxt(tmp_path / "pred.txt")
    assert pred.shape == (sum(x.shape[0] for x in X),)
    assert np.allclose(pred, np.concatenate([x @ svm.w_ for x in X]), atol=1e-6)
    out = capsys.readouterr().out
    frac = float(out.split("Fraction of swapped pairs: ")[1].split()[0])
    assert frac < 0.1


def test_learn_proprank_and_errors(tmp_path, capsys):
    rng = np.random.default_rng(1)
    X, _ = _data(rng, nq=20)
    Yc = []
    for x in X:
        g = np.zeros(x.shape[0])
        g[int(np.argmax(x[:, 0]))] = 1
        Yc.append(g)
    write_letor(tmp_path / "clicks.dat", X, Yc, costs=rng.uniform(1, 4, size=len(X)))
    assert learn_proprank(["--task", "proprank", "-c", "1", "--clip", "3",
                           str(tmp_path / "clicks.dat"), str(tmp_path / "m.npz")]) == 0
    svm = load(tmp_path / "m.npz")
    assert isinstance(svm.model, PropensityRanking) and svm.model.clip == 3
    (tmp_path / "bad.dat").write_text("1 qid:1 cost:-1 1:1\n0 qid:1 1:0\n")
    assert learn_proprank([str(tmp_path / "bad.dat"), str(tmp_path / "m2.npz")]) == 1
    assert f"{tmp_path / 'bad.dat'}, line 1:" in capsys.readouterr().err
    # -c is checked by name before reading
    assert learn_rank(["-c", "-1", str(tmp_path / "clicks.dat"), str(tmp_path / "m3.npz")]) == 2
    assert "-c" in capsys.readouterr().err
    assert learn_rank(["-l", "3", str(tmp_path / "clicks.dat"), str(tmp_path / "m3.npz")]) == 2


def test_structpred_learn_and_classify_dispatch_ranking(tmp_path, capsys):
    """`structpred learn --task rank` and `structpred classify` on a ranking model go to the
    ranking handlers; paths are checked before any data is read."""
    from structpred.cli import main
    rng = np.random.default_rng(3)
    X, Y = _data(rng, nq=12)
    write_letor(tmp_path / "train.dat", X, Y)
    assert main(["learn", "--task", "rank", "-c", "1", str(tmp_path / "train.dat"),
                 str(tmp_path / "m.npz")]) == 0
    assert isinstance(load(tmp_path / "m.npz").model, Ranking)
    assert main(["classify", str(tmp_path / "train.dat"), str(tmp_path / "m.npz"),
                 str(tmp_path / "scores.txt")]) == 0
    assert np.loadtxt(tmp_path / "scores.txt").shape == (sum(x.shape[0] for x in X),)
    capsys.readouterr()
    assert main(["learn", "--task", "rank", "-c", "1", str(tmp_path / "train.dat"),
                 str(tmp_path / "no" / "such" / "dir" / "m.npz")]) == 2
    assert "model file" in capsys.readouterr().err


@pytest.mark.parametrize("body", ["1 qid:7 1:0.5 2:0.1\n1 qid:7 1:0.2 2:0.3\n1 qid:7 1:0.7 2:0.9\n",
                                  "2 qid:3 1:0.5 2:0.1\n",
                                  "0 qid:1 1:0.5\n1 qid:2 1:0.25\n1 qid:2 2:0.75\n"])
def test_file_without_pairs_trains_w_zero_and_says_so(tmp_path, capsys, body):
    """One grade per query (or one document): no preference pair, so the objective is ½‖w‖²
    and its minimum w = 0, a valid run (svm_rank trains w = 0 too); the user is told why."""
    (tmp_path / "t.dat").write_text(body)
    assert learn_rank(["-c", "1", str(tmp_path / "t.dat"), str(tmp_path / "m.npz")]) == 0
    err = capsys.readouterr().err
    assert "has no preference pair" in err and "w = 0" in err
    from structpred.errors import ModelQualityWarning
    with pytest.warns(ModelQualityWarning, match="no better than an untrained one"):
        svm = load(tmp_path / "m.npz")     # the loader says the same about w = 0
    assert svm.w_.shape == (2,) and np.all(svm.w_ == 0.0) and svm.primal_objective_ == 0.0


def test_file_with_pairs_gets_no_such_note(tmp_path, capsys):
    (tmp_path / "t.dat").write_text("1 qid:1 1:0.5\n0 qid:1 1:0.25\n")
    assert learn_rank(["-c", "1", str(tmp_path / "t.dat"), str(tmp_path / "m.npz")]) == 0
    assert "no preference pair" not in capsys.readouterr().err
    assert load(tmp_path / "m.npz").w_[0] > 0
