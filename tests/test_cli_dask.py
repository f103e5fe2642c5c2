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


@pytest.mark.parametrize("option", [["--n-workers", "2"], ["--scheduler", "tcp://127.0.0.1:1"]])
def test_without_dask_the_cluster_options_are_one_line(train, tmp_path, capsys, monkeypatch,
                                                       option):
    """Without dask.distributed installed: one line naming the options and the extra to
    install, before the file is read (not an internal error)."""
    from structpred.cli import svmstruct
    monkeypatch.setattr(svmstruct, "_has_distributed", lambda: False)
    rc = learn_main(["-c", "1", *option, str(train), str(tmp_path / "m")])
    out, err = capsys.readouterr()
    assert rc == 2 and err.count("\n") == 1 and "Read " not in out
    assert "--n-workers" in err and "structpred[dask]" in err and "bug" not in err
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


@pytest.mark.parametrize("workers", [1, 2])
def test_learn_on_a_scheduler_ships_the_stacked_sets(train, tmp_path, monkeypatch, workers):
    """``learn --scheduler``: the reader's stacked sets go to the workers as their stacked
    arrays (not pickled sequence by sequence), and the model is the Python API's on the same
    stacked data: at one worker the local one-thread fit's, at two CoCoA+'s with 2 partitions."""
    import distributed

    from structpred import StructuredSVM, load
    from structpred.datasets.svmhmm import read_svmhmm
    from structpred.solvers import dask_oracle
    from structpred.tasks.sequence import SequenceLabeling
    shipped = []
    flat = dask_oracle._flat_stacked

    def spy(S, kind):
        out = flat(S, kind)
        shipped.append((kind, out is not None))
        return out
    monkeypatch.setattr(dask_oracle, "_flat_stacked", spy)
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=False,
                                  protocol="tcp://", dashboard_address=":0") as cluster:
        rc = learn_main(["-c", "10", "-e", "0.05", "--scheduler", cluster.scheduler_address,
                         str(train), str(tmp_path / "m")])
    assert rc == 0
    assert shipped.count(("sequences", True)) == workers == shipped.count(("labels", True))
    data = read_svmhmm(train, stacked=True)
    model = SequenceLabeling(n_labels=data.max_tag, n_features=data.n_features)
    extra = {} if workers == 1 else dict(algorithm="n-slack-cocoa",
                                         solver_options={"n_partitions": 2})
    ref = StructuredSVM(model, C=10.0, eps=0.05, n_jobs=1, **extra).fit(data.X, data.Y)
    assert np.array_equal(load(tmp_path / "m").w_, ref.w_)
