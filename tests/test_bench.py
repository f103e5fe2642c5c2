"""The benchmark suite's engine on generated data: outputs written with the expected keys,
missing data skipped with a clear reason, the log-log fit, the time/memory measure."""
import json
import os

import numpy as np
import pytest

from structpred.bench import _expand_tasks, _parser, run
from structpred.bench.report import TABLE_HEADER
from structpred.bench.runner import Measure, available_solvers
from structpred.bench.scaling import loglog_fit
from structpred.bench.tasks import TaskData
from structpred.cli.base import UsageError


def _blobs(n, seed):
    rng = np.random.default_rng(seed)
    centers = np.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0]])
    y = rng.integers(0, 3, size=n)
    return centers[y] + 0.6 * rng.normal(size=(n, 3)), y


def _generated_task(quick=False, data_home=None):
    from structpred.tasks.multiclass import Multiclass
    Xtr, ytr = _blobs(60, 0)
    Xte, yte = _blobs(40, 1)
    return TaskData(
        name="multiclass-generated", title="Multiclass: generated blobs",
        X_train=Xtr, Y_train=ytr, X_test=Xte, Y_test=yte,
        make_model=lambda: Multiclass(n_classes=3, n_features=3), C=10.0, eps=0.01,
        evaluate=lambda pred: {"accuracy": 100.0 * float(np.mean(np.asarray(pred) == yte))},
        quality="accuracy", peers=("sklearn",),
        baselines=lambda: [{"method": "majority class", "quality": {
            "accuracy": 100.0 * float(np.mean(yte == np.bincount(ytr).argmax()))}}],
        info={"n_train": 60, "n_test": 40})


def test_tiny_run_writes_json_table_and_plots(tmp_path):
    out = tmp_path / "bench"
    args = _parser().parse_args(["--quick", "--out", str(out), "--solver", "1-slack", "n-slack",
                                 "-q", "--time-limit", "30"])
    res = run(args, tasks_registry={"multiclass-generated": _generated_task})
    data = json.loads((out / "results.json").read_text())
    assert data["quick"] is True
    assert {"cpu", "cores", "ram_gb", "versions", "load_average"} <= set(data["machine"])
    assert {"python", "numpy", "scipy", "numba", "cvxpy"} <= set(data["machine"]["versions"])
    (task,) = data["tasks"]
    assert task["task"] == "multiclass-generated" and task["d"] == 9
    solvers = {r["solver"]: r for r in task["runs"] if r["kind"] == "solver"}
    assert set(solvers) == {"1-slack", "n-slack"}
    for r in solvers.values():
        for key in ("wall_s", "cpu_s", "n_iter", "oracle_calls", "qp_share", "peak_rss_mb",
                    "primal", "dual", "gap", "quality", "history", "quality_curve", "timings"):
            assert key in r, key
        assert r["converged"] and r["n_iter"] >= 1 and r["oracle_calls"] >= 60
        assert r["wall_s"] > 0 and r["peak_rss_mb"] > 0 and 0 <= r["qp_share"] <= 1
        assert r["gap"] <= 10.0 * 0.01 + 1e-6  # 1-slack / n-slack stop at gap <= C·eps
        assert r["quality"]["accuracy"] > 80  # well-separated blobs
        assert r["history"][0]["iteration"] == 1
        assert r["quality_curve"][-1]["accuracy"] == r["quality"]["accuracy"]
    # the same problem: both solvers' final primal agree within the stopping tolerance
    assert abs(solvers["1-slack"]["primal"] - solvers["n-slack"]["primal"]) <= 0.2
    kinds = [r["kind"] for r in task["runs"]]
    assert "baseline" in kinds
    peer = [r for r in task["runs"] if r["kind"] == "peer"]
    try:
        import sklearn  # noqa: F401
    except ImportError:
        assert any("scikit-learn" in s for s in task["skipped"])
    else:
        # LinearSVC solves the same objective: its primal (scored by structpred) is close
        settings = {r["setting"]: r for r in peer}
        assert sorted(settings) == ["default C=1", "same objective", "tuned C"]
        sk = settings["same objective"]
        assert sk["C_peer"] == pytest.approx(10.0 / 60, rel=1e-5)  # JSON keeps 6 digits
        assert abs(sk["primal"] - solvers["n-slack"]["primal"]) <= 0.2
        assert settings["default C=1"]["C_peer"] == 1.0
        tuned = settings["tuned C"]
        assert float(max(tuned["tuning_scores"], key=lambda c: (tuned["tuning_scores"][c],
                                                                 -float(c)))) == tuned["C_peer"]
        assert all(r["method"].endswith(r["setting"]) for r in peer)
    md = (out / "results.md").read_text()
    assert TABLE_HEADER in md and "structpred 1-slack" in md and "baseline: majority class" in md
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return
    for name in ("multiclass-generated_objective.png", "multiclass-generated_quality.png"):
        png = out / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert name in md
    assert res["plots"]["multiclass-generated"]


def test_missing_data_is_skipped_with_reason(tmp_path, capsys):
    args = _parser().parse_args(["--quick", "--task", "digits", "conll-svmhmm", "--out",
                                 str(tmp_path / "o"), "--data-home", str(tmp_path / "empty"),
                                 "--no-plots"])
    old = os.environ.get("STRUCTPRED_DATA")
    try:
        res = run(args)
    finally:
        if old is None:
            os.environ.pop("STRUCTPRED_DATA", None)
        else:
            os.environ["STRUCTPRED_DATA"] = old
    assert res["tasks"] == []
    assert len(res["skipped_tasks"]) == 2
    assert all("data not found" in s for s in res["skipped_tasks"])
    err = capsys.readouterr().err
    assert "SKIP multiclass-digits: data not found" in err
    assert "digits.csv.gz" in err
    assert (tmp_path / "o" / "results.json").exists()


def test_task_aliases_and_unknown():
    assert _expand_tasks(["conll", "digits"]) == ["conll-svmhmm", "conll-features",
                                                  "multiclass-digits"]
    with pytest.raises(UsageError, match="unknown task"):
        _expand_tasks(["nope"])
    assert available_solvers()[:2] == ["1-slack", "n-slack"]


def test_loglog_fit_recovers_the_exponent():
    n = np.array([100, 200, 400, 800])
    fit = loglog_fit(n, 3e-3 * n ** 1.0)
    assert fit["slope"] == pytest.approx(1.0) and fit["r2"] == pytest.approx(1.0)
    assert loglog_fit(n, 5 * n ** 2.0)["slope"] == pytest.approx(2.0)


def test_measure_sees_memory_and_time():
    with Measure() as m:
        block = np.ones(8 * 2 ** 20 // 8 * 8)  # 64 MiB
        block.sum()
    rec = m.record()
    assert rec["wall_s"] > 0 and rec["cpu_s"] >= 0
    assert rec["peak_rss_mb"] >= rec["rss_start_mb"]
    del block


def _generated_ranking(quick=False, data_home=None):
    from structpred.metrics.ranking import ndcg
    from structpred.tasks.ranking import Ranking
    rng = np.random.default_rng(0)
    w = rng.normal(size=4)
    X = [rng.normal(size=(int(m), 4)) for m in rng.integers(10, 16, size=40)]
    Y = [np.digitize(x @ w, [-0.5, 0.5]).astype(float) for x in X]
    return TaskData(
        name="ranking-generated", title="Ranking: generated", X_train=X[:30], Y_train=Y[:30],
        X_test=X[30:], Y_test=Y[30:], make_model=lambda: Ranking(n_features=4), C=10.0,
        eps=0.01, evaluate=lambda pred: {"ndcg10": ndcg(Y[30:], pred, 10)}, quality="ndcg10",
        peers=("lightgbm", "svm_rank"), info={"n_train": 30, "n_test": 10})


def test_ranking_task_with_lightgbm_peer_and_default_solvers(tmp_path, monkeypatch):
    from structpred.bench.runner import OPT_IN_SOLVERS, default_solvers
    from structpred.bench.tasks import TASKS
    assert "ranking-mq2008" in TASKS and _expand_tasks(["ranking"]) == ["ranking-mq2008"]
    assert "n-slack-smo" in OPT_IN_SOLVERS and "n-slack-smo" not in default_solvers()
    assert set(default_solvers()) == set(available_solvers()) - set(OPT_IN_SOLVERS)
    pytest.importorskip("lightgbm")
    monkeypatch.delenv("SVM_RANK_LEARN", raising=False)
    out = tmp_path / "bench"
    args = _parser().parse_args(["--quick", "--out", str(out), "--solver", "n-slack", "-q",
                                 "--time-limit", "30"])
    run(args, tasks_registry={"ranking-generated": _generated_ranking})
    (task,) = json.loads((out / "results.json").read_text())["tasks"]
    peers = {r["peer"]: r for r in task["runs"] if r["kind"] == "peer"}
    assert 0 < peers["lightgbm"]["quality"]["ndcg10"] <= 1
    assert any("svm_rank" in s and "SVM_RANK_LEARN" in s for s in task["skipped"])
    ours = [r for r in task["runs"] if r["kind"] == "solver"][0]
    assert ours["quality"]["ndcg10"] > 0.8          # a linear truth: SVM-rank finds it


def test_data_home_option_does_not_leak_into_the_process(tmp_path, monkeypatch):
    """--data-home is the run's data home only: $STRUCTPRED_DATA is restored afterwards (the
    CLI battery runs bench in-process before tests that read the real data)."""
    import os
    monkeypatch.setenv("STRUCTPRED_DATA", "/somewhere/else")
    args = _parser().parse_args(["--quick", "--out", str(tmp_path / "b"), "--task", "multiclass",
                                 "--solver", "n-slack", "--peer", "-q", "--data-home",
                                 str(tmp_path / "nodata")])
    run(args)
    assert os.environ["STRUCTPRED_DATA"] == "/somewhere/else"
