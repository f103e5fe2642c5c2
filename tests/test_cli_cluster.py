"""structpred learn --n-workers / --scheduler: the cluster starts on a thread while the file is
read, and the workers' warm-up (``cluster.warm_up`` on ``cluster.warm_examples``) loads every
kernel that training then runs, with the training's own array types."""
import json
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import numpy as np
import pytest

from structpred.cli.svmstruct import learn_main
from structpred.datasets.svmhmm import read_svmhmm, write_svmhmm

pytest.importorskip("distributed")


@pytest.fixture()
def train(tmp_path):
    rng = np.random.default_rng(1)
    X = [rng.integers(0, 2, size=(int(rng.integers(1, 7)), 9)).astype(float) for _ in range(30)]
    Y = [rng.integers(1, 5, size=x.shape[0]) for x in X]
    path = tmp_path / "train.dat"
    write_svmhmm(path, X, Y)
    return path


@pytest.mark.parametrize("order", [1, 2])
def test_warm_examples_have_the_readers_array_types(train, order):
    from structpred.cli.cluster import warm_examples
    model, X, Y, options = warm_examples(order, "margin")
    data = read_svmhmm(train, stacked=True)
    assert type(X) is type(data.X) and type(Y) is type(data.Y)
    assert [a.dtype for a in X.stacked_rows()] == [a.dtype for a in data.X.stacked_rows()]
    assert [a.dtype for a in Y.stacked_rows()] == [a.dtype for a in data.Y.stacked_rows()]
    assert model.transition_order == order and options["rescaling"] == "margin"
    assert len(X) == 12 and X.n_tokens > 12      # sequences of several tokens


_SIGNATURES = """
import importlib
def signatures():
    out = {}
    for name in ("structpred.tasks.sequence.kernels", "structpred.solvers.dcd_kernels",
                 "structpred.solvers.guard", "structpred.solvers.objective"):
        module = importlib.import_module(name)
        for attr, obj in sorted(vars(module).items()):
            disp = getattr(obj, "_compiled", obj)
            if hasattr(disp, "signatures") and hasattr(disp, "py_func"):
                out[name + "." + attr] = sorted(map(str, disp.signatures))
    return out
"""


@pytest.mark.slow
def test_warm_up_loads_every_kernel_training_runs(train):
    """In a fresh process: after the warm-up, training on a real file (CoCoA+ with two
    partitions, what the workers run: row calls, certifying passes, sweeps) loads or compiles
    no kernel specialisation that the warm-up had not."""
    code = _SIGNATURES + textwrap.dedent(f"""
        import json
        from structpred import StructuredSVM
        from structpred.cli.cluster import warm_examples, warm_up
        from structpred.datasets.svmhmm import read_svmhmm
        from structpred.tasks.sequence import SequenceLabeling
        seconds = warm_up(*warm_examples(1, "margin"))
        before = signatures()
        data = read_svmhmm({str(train)!r}, stacked=True)
        model = SequenceLabeling(n_labels=data.max_tag, n_features=data.n_features)
        StructuredSVM(model, C=10.0, eps=0.01, algorithm="n-slack-cocoa",
                      solver_options={{"n_partitions": 2}}).fit(data.X, data.Y)
        print(json.dumps({{"seconds": seconds, "before": before, "after": signatures()}}))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["seconds"] > 0
    used = {k for k, v in got["after"].items() if v}
    assert {"structpred.tasks.sequence.kernels.decode_rows1",
            "structpred.solvers.dcd_kernels.sweep"} <= used
    assert got["after"] == got["before"]


def test_a_read_error_with_n_workers_is_one_line_and_closes_the_cluster(tmp_path, capsys):
    """The cluster is on its way while the file is read: a bad file is still its one-line
    error (file and line), and the cluster started meanwhile is closed."""
    bad = tmp_path / "bad.dat"
    bad.write_text("1 qid:1 1:1\n2 qid:1 3:1 2:1\n")
    rc = learn_main(["-c", "1", "--n-workers", "1", str(bad), str(tmp_path / "m")])
    err = capsys.readouterr().err
    assert rc == 1 and err.count("\n") == 1
    assert "bad.dat" in err and "line 2" in err
    assert not (tmp_path / "m").exists()


def test_a_scheduler_that_does_not_answer_while_reading(monkeypatch):
    """The connection's error (ClusterError naming the address) comes out of ``ready``, after
    the reading; leaving the block closes nothing that was never opened."""
    from structpred.cli import cluster
    from structpred.errors import ClusterError
    from structpred.solvers import dask_oracle

    def refuse(address, timeout=10.0):
        raise ClusterError(f"no Dask scheduler answered at {address!r}", address=address)
    monkeypatch.setattr(dask_oracle, "connect", refuse)
    with cluster.dask_cluster(SimpleNamespace(scheduler="tcp://127.0.0.1:1", n_workers=None),
                              lambda: cluster.warm_examples(1, "margin")) as pending:
        with pytest.raises(ClusterError, match="127.0.0.1:1"):
            pending.ready()


def test_no_cluster_options_no_cluster():
    from structpred.cli.cluster import dask_cluster
    with dask_cluster(SimpleNamespace(scheduler=None, n_workers=None)) as pending:
        assert pending is None


def test_a_read_error_does_not_wait_for_the_schedulers_connection(tmp_path, capsys,
                                                                   monkeypatch):
    """--scheduler with a bad file: the file's error comes while the connection is still
    being made (it is not waited for; a LocalCluster, whose processes are ours, would be)."""
    import threading

    from structpred.errors import ClusterError
    from structpred.solvers import dask_oracle
    release, done = threading.Event(), threading.Event()

    def stuck(address, timeout=10.0):
        release.wait(60)
        done.set()
        raise ClusterError(f"no Dask scheduler answered at {address!r}", address=address)
    monkeypatch.setattr(dask_oracle, "connect", stuck)
    bad = tmp_path / "bad.dat"
    bad.write_text("1 qid:1 1:1\n2 qid:1 3:1 2:1\n")
    try:
        rc = learn_main(["-c", "1", "--scheduler", "tcp://127.0.0.1:1", str(bad),
                         str(tmp_path / "m")])
        connecting = not done.is_set()
    finally:
        release.set()
    err = capsys.readouterr().err
    assert rc == 1 and "bad.dat" in err and "line 2" in err and err.count("\n") == 1
    assert connecting
