"""structpred.jit: kernels compile only when needed, and the uncompiled path computes the same."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from structpred.jit import LazyKernel, njit
from structpred.tasks.ranking import Ranking
from structpred.tasks.ranking.kernels import rank_oracle


def _small_rank_run_modules(tmp_path):
    """(exit status, numba loaded, cvxpy loaded, sklearn loaded) of a one-query
    `learn --task rank` process."""
    rng = np.random.default_rng(0)
    lines = [f"{g} qid:1 " + " ".join(f"{j + 1}:{v:.4f}" for j, v in enumerate(rng.random(5)))
             for g in (2, 1, 0, 0, 1, 0)]
    data = tmp_path / "one.dat"
    data.write_text("\n".join(lines) + "\n")
    code = textwrap.dedent(f"""
        import sys
        from structpred.cli.ranking import learn_rank
        rc = learn_rank(["-c", "1", "-v", "0", {str(data)!r}, {str(tmp_path / 'm')!r}])
        print(rc, *(m in sys.modules for m in ("numba", "cvxpy", "sklearn")))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.split(), out.stdout + out.stderr


def test_small_rank_run_imports_no_numba_cvxpy(tmp_path):
    """A one-query `learn --task rank` process needs neither numba nor cvxpy."""
    got, text = _small_rank_run_modules(tmp_path)
    assert got[:3] == ["0", "False", "False"], text


def test_small_rank_run_imports_no_sklearn(tmp_path):
    """A one-query `learn --task rank` process does not import scikit-learn: StructuredSVM
    implements the estimator protocol itself (issue 22's tests check it with scikit-learn)."""
    got, text = _small_rank_run_modules(tmp_path)
    assert got == ["0", "False", "False", "False"], text


def test_uncompiled_rank_oracle_matches_compiled():
    rng = np.random.default_rng(3)
    model = Ranking(n_features=4)
    X = [rng.normal(size=(m, 4)) for m in (2, 5, 9, 1)]
    Y = [rng.integers(0, 3, size=x.shape[0]).astype(float) for x in X]
    b = model.make_batch(X, Y)
    s = rng.normal(size=int(b.offsets[-1]))
    outs = []
    for fn in (rank_oracle.py_func, rank_oracle.compiled()):
        coef, loss = np.zeros_like(s), np.zeros(len(X))
        fn(s, b.grade_rank, b.offsets, b.n_grades, b.scale, coef, loss)
        outs.append((coef, loss))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_array_equal(outs[0][1], outs[1][1])


@njit(cache=False)
def _inner(x):
    return x * 2.0


@njit(cache=False)
def _outer(a):
    t = 0.0
    for v in a:
        t += _inner(v)
    return t


def test_lazy_kernel_calls_sibling_kernels_when_compiled():
    """A module-level kernel calling another one works uncompiled and compiled."""
    assert isinstance(_outer, LazyKernel)
    a = np.arange(5.0)
    assert _outer.py_func(a) == 20.0
    assert _outer.compiled()(a) == 20.0
    assert _outer(a) == 20.0


@njit(cache=False)
def _draw(a):
    np.random.seed(1)
    return a + np.random.random()


def test_kernel_with_random_numbers_never_runs_uncompiled():
    """Uncompiled, np.random.seed would reseed numpy's global generator: never done."""
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    _draw(np.zeros(2))
    assert not _draw._python_ok
    np.testing.assert_array_equal(np.random.get_state()[1], before)


def test_estimator_protocol_without_importing_sklearn():
    """get_params / set_params / repr / the task-dependent decision_function work in a process
    that never imports scikit-learn; scikit-learn's clone and is_classifier then accept it."""
    code = textwrap.dedent("""
        import sys
        from structpred import StructuredSVM
        from structpred.tasks import Multiclass, SequenceLabeling
        est = StructuredSVM(Multiclass(), C=2.0)
        est.set_params(eps=0.5, model__n_classes=3)
        seq = StructuredSVM(SequenceLabeling())
        print(repr(est), est.get_params()["model__n_classes"], hasattr(est, "decision_function"),
              hasattr(seq, "decision_function"), "sklearn" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["StructuredSVM(model=Multiclass(n_classes=3),", "C=2.0,",
                                  "eps=0.5)", "3", "True", "False", "False"], out.stderr
    sklearn_base = pytest.importorskip("sklearn.base")
    from structpred import StructuredSVM
    from structpred.tasks import Multiclass, SequenceLabeling
    est = StructuredSVM(Multiclass(n_classes=3), C=2.0)
    copy = sklearn_base.clone(est)
    assert copy is not est and copy.model is not est.model and copy.get_params()["C"] == 2.0
    assert sklearn_base.is_classifier(est) and not sklearn_base.is_classifier(
        StructuredSVM(SequenceLabeling()))
    with pytest.raises(AttributeError, match="decision_function"):
        StructuredSVM(SequenceLabeling()).decision_function


def test_numba_options_keeps_private_nrt_where_numba_knows_it(monkeypatch):
    """`_nrt=False` is numba's private option: kept where numba's CPU target knows it (the
    solver kernels then compile without reference counting), dropped where it does not (the
    kernel then compiles with reference counting, same results)."""
    from numba.core.cpu import CPUTargetOptions

    from structpred.jit import numba_options
    from structpred.solvers import guard
    opts = {"cache": True, "nogil": True, "_nrt": False}
    assert numba_options({"cache": True}) == {"cache": True}
    assert numba_options(opts) == opts   # the numba this project pins knows it
    assert guard._scan.compiled().targetoptions.get("_nrt") is False
    monkeypatch.setattr(CPUTargetOptions, "_nrt", None)
    assert numba_options(opts) == {"cache": True, "nogil": True}
