"""structpred learn --scheduler / --n-workers: option checks and the one-line error path."""
import numpy as np
import pytest

from structpred.cli.svmstruct import learn_main
from structpred.datasets.svmhmm import write_svmhmm

pytest.importorskip("distributed")


@pytest.fixture()
def train(tmp_path):
    rng = np.random.default_rng(0)
    X = [rng.integers(0, 2, size=(4, 5)).astype(float) for _ in range(6)]
    Y = [rng.integers(1, 3, size=4) for _ in range(6)]
    path = tmp_path / "train.dat"
    write_svmhmm(path, X, Y)
    return path


@pytest.mark.parametrize("value", ["0", "-2", "two"])
def test_n_workers_must_be_a_positive_integer(train, tmp_path, capsys, value):
    assert learn_main(["-c", "1", "--n-workers", value, str(train), str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "--n-workers" in err and err.count("\n") == 1
    assert not (tmp_path / "m").exists()


def test_scheduler_and_n_workers_exclude_each_other(train, tmp_path, capsys):
    rc = learn_main(["-c", "1", "--scheduler", "tcp://127.0.0.1:1", "--n-workers", "2",
                     str(train), str(tmp_path / "m")])
    assert rc == 2 and "--scheduler and --n-workers" in capsys.readouterr().err


@pytest.mark.slow
def test_a_scheduler_that_does_not_answer_is_one_error_line(train, tmp_path, capsys):
    rc = learn_main(["-c", "1", "--scheduler", "tcp://127.0.0.1:1", str(train),
                     str(tmp_path / "m")])
    err = capsys.readouterr().err
    assert rc == 1 and err.count("\n") == 1
    assert "no Dask scheduler answered at 'tcp://127.0.0.1:1' within 10 s" in err
    assert not (tmp_path / "m").exists()
