"""`structpred learn` / `structpred classify` on small svm_hmm files, and the Python API."""
import numpy as np
import pytest
import scipy.sparse as sp

from structpred.datasets.svmhmm import read_svmhmm, write_svmhmm

structpred = pytest.importorskip("structpred")
if not hasattr(structpred, "StructuredSVM"):
    pytest.skip("the trainer (structpred.StructuredSVM) is not importable yet",
                allow_module_level=True)

from structpred.cli.svmstruct import classify_main, learn_main  # noqa: E402
from structpred.tasks import SequenceLabeling  # noqa: E402


def toy(rng, n, L=3, F=6, max_len=7):
    """Tag of a token = the one of its columns 0..L-1 that is on; columns L.. are noise."""
    X, Y = [], []
    for _ in range(n):
        T = int(rng.integers(1, max_len + 1))
        y = rng.integers(0, L, T)
        x = np.zeros((T, F))
        x[np.arange(T), y] = 1.0
        x[:, L:] = rng.random((T, F - L)) < 0.3
        X.append(sp.csr_matrix(x))
        Y.append(y)
    return X, Y


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    Xtr, Ytr = toy(rng, 60)
    Xte, Yte = toy(rng, 20)
    # a test label (tag 5) never seen in training, and wider test features
    Yte[0] = Yte[0].copy()
    Yte[0][0] = 4
    Xte = [sp.hstack([x, sp.csr_matrix(np.ones((x.shape[0], 2)))]).tocsr() for x in Xte]
    write_svmhmm(tmp_path / "train.dat", Xtr, Ytr)
    write_svmhmm(tmp_path / "test.dat.gz", Xte, Yte)
    (tmp_path / "tags.txt").write_text("1 B-NP\n2 I-NP\n3 O\n")
    return tmp_path, Yte


@pytest.mark.parametrize("w", ["4", "3", "1"])
def test_learn_classify_roundtrip(files, capsys, w):
    d, Yte = files
    rc = learn_main(["-c", "10", "-e", "0.01", "-w", w, "-v", "1", str(d / "train.dat"),
                     str(d / "model")])
    assert rc == 0
    rc = classify_main(["--tags", str(d / "tags.txt"), str(d / "test.dat.gz"), str(d / "model"),
                        str(d / "pred.txt")])
    assert rc == 0
    out = capsys.readouterr().out
    lines = (d / "pred.txt").read_text().split("\n")[:-1]
    assert len(lines) == sum(len(y) for y in Yte)
    tags = np.array([int(t) for t in lines])
    assert tags.min() >= 1 and tags.max() <= 3
    truth = np.concatenate(Yte) + 1
    assert np.mean(tags == truth) > 0.95
    assert "Token accuracy" in out and "Chunk F1" in out


def test_learn_second_order_and_errors(files, capsys):
    d, _ = files
    assert learn_main(["-c", "5", "--t", "2", str(d / "train.dat"), str(d / "m2")]) == 0
    (d / "bad.dat").write_text("1 qid:1 2:1 1:1\n")
    assert learn_main(["-c", "1", str(d / "bad.dat"), str(d / "m3")]) == 1
    assert "bad.dat, line 1" in capsys.readouterr().err
    assert learn_main(["-c", "1", "-w", "7", str(d / "train.dat"), str(d / "m3")]) == 2


def test_python_api_fit_predict(files):
    d, _ = files
    tr = read_svmhmm(d / "train.dat")
    svm = structpred.StructuredSVM(SequenceLabeling(), C=10, eps=0.01).fit(tr.X, tr.Y)
    assert svm.score(tr.X, tr.Y) > 0.95
    path = d / "api.npz"
    svm.save(path)
    again = structpred.load(path)
    for a, b in zip(again.predict(tr.X), svm.predict(tr.X)):
        np.testing.assert_array_equal(a, b)


def test_release_large_frees_takes_on_glibc():
    """The learn command's allocator setting (mmap for large blocks) takes on glibc and is
    a no-op returning False where mallopt does not exist."""
    import platform
    from structpred.cli.svmstruct import release_large_frees
    assert release_large_frees() is (platform.libc_ver()[0] == "glibc")
