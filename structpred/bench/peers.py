"""Peer implementations run on the same split as structpred, with C converted to their
convention (structpred follows SVM-struct: ½‖w‖² + (C/n) Σ ξ_i).

Each peer runs at the same objective as structpred *and* at its own recommended or tuned
setting, labelled in ``setting`` (a peer is only an honest anchor at its own best): tuning
picks from a small grid on a seeded held-out 20% of the training set, then refits on all of it.

- ``sklearn``: ``LinearSVC(multi_class="crammer_singer", fit_intercept=False)`` with
  C_sklearn = C / n: the same objective, so its w is scored by structpred's primal; also at
  its default C = 1 and with C tuned.
- ``crfsuite``: python-crfsuite's L-BFGS CRF (first-order chain, its own label-bigram
  features) on exactly the same token feature vectors. CRFsuite minimises
  -Σ_i log p(y_i | x_i) + c2 ‖w‖²; the same-objective run uses c2 = n / (2C), the value that
  gives the summed loss the same weight against ‖w‖² as structpred's objective scaled by n / C
  ((n / 2C)‖w‖² + Σ ξ_i). That c2 is far from CRFsuite's own choice (c2 = 1) at large C, so
  CRFsuite also runs with its defaults and with c2 tuned. The losses differ (log-loss vs
  structured hinge), so its objective is not comparable; time and test quality are reported.
- ``pystruct``: ``ChainCRF`` / ``MultiClassClf`` with ``OneSlackSSVM`` and ``FrankWolfeSSVM``,
  C_pystruct = C / n, when pystruct is importable (dense features only).
- ``svm_hmm``: the binaries named by ``$SVM_HMM_LEARN`` and ``$SVM_HMM_CLASSIFY``, same C
  (svm_hmm uses the SVM-struct convention), ``-e eps``, its default ``-w 4``.

Every peer raises :class:`PeerSkip` with a one-line reason when it cannot run here.
"""
from __future__ import annotations

import os
import re
import subprocess
import tempfile

import numpy as np

__all__ = ["PeerSkip", "PEERS", "run_peer"]


class PeerSkip(Exception):
    """The peer is not installed or does not apply; the message says why."""


def _csr_items(x):
    """CRFsuite items of one sequence: per token {feature id: value}."""
    x = x.tocsr()
    ind, dat, ptr = x.indices, x.data, x.indptr
    return [{str(int(j)): float(v) for j, v in zip(ind[ptr[t]:ptr[t + 1]], dat[ptr[t]:ptr[t + 1]])}
            for t in range(x.shape[0])]


# ------------------------------------------------------------------ scikit-learn
#: C grid for the peers' own tuning (their convention), searched on a held-out split of train.
SKLEARN_C_GRID = (0.01, 0.1, 1.0, 10.0)
CRFSUITE_C2_GRID = (0.01, 0.1, 1.0, 10.0)
HELD_OUT = 0.2          # fraction of the training set held out for the peers' tuning


def _held_out_split(n, seed=0):
    """(train_idx, held_idx): a seeded 80/20 split of range(n) for tuning a peer's setting."""
    perm = np.random.default_rng(seed).permutation(n)
    n_held = max(1, int(round(HELD_OUT * n)))
    return np.sort(perm[n_held:]), np.sort(perm[:n_held])


def sklearn_peer(task, ctx):
    """LinearSVC (Crammer-Singer, no intercept) three ways: the same objective as structpred
    (C_sklearn = C / n), its default C = 1, and C tuned on a held-out 20% of train."""
    try:
        from sklearn.svm import LinearSVC
    except ImportError:
        raise PeerSkip("scikit-learn is not installed (pip install 'structpred[bench]')") from None
    if task.name != "multiclass-digits" and not task.name.startswith("multiclass"):
        raise PeerSkip("LinearSVC applies to multiclass tasks only")
    import warnings
    X, y = np.asarray(task.X_train), np.asarray(task.Y_train)
    Xte = np.asarray(task.X_test)
    n = len(y)

    def fit(C, Xf, yf):
        clf = LinearSVC(multi_class="crammer_singer", fit_intercept=False, C=C, tol=1e-4,
                        max_iter=20000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(Xf, yf)
        return clf

    def record(C, setting, note, extra=None):
        with ctx.measure() as m:
            clf = fit(C, X, y)
        w = np.asarray(clf.coef_, dtype=np.float64).ravel()
        rec = {"method": f"scikit-learn LinearSVC (crammer_singer), {setting}", "setting": setting,
               "C_peer": C, "C_note": note, "n_iter": int(np.max(clf.n_iter_)), **m.record(),
               "quality": task.evaluate(list(clf.predict(Xte)))}
        if setting == "same objective":
            rec["primal"] = ctx.primal(w)
        rec.update(extra or {})
        return rec

    out = [record(task.C / n, "same objective", "C / n"),
           record(1.0, "default C=1", "LinearSVC's default")]
    tr, held = _held_out_split(n)
    with ctx.measure() as m:
        acc = {C: float(np.mean(fit(C, X[tr], y[tr]).predict(X[held]) == y[held]))
               for C in SKLEARN_C_GRID}
    best = max(SKLEARN_C_GRID, key=lambda C: (acc[C], -C))
    out.append(record(best, "tuned C", f"best of {list(SKLEARN_C_GRID)} on a held-out 20% of "
                      "train (accuracy)", {"tuning_s": m.record()["wall_s"],
                                           "tuning_scores": {str(k): v for k, v in acc.items()}}))
    return out


# ------------------------------------------------------------------ CRFsuite
def _crfsuite_fit_predict(items, labels, test_items, params):
    """Train python-crfsuite's L-BFGS CRF with ``params`` and tag ``test_items``;
    returns (predictions, per-iteration history)."""
    import pycrfsuite
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "crf.model")
        trainer = pycrfsuite.Trainer(verbose=False)
        for it, y in zip(items, labels):
            trainer.append(pycrfsuite.ItemSequence(it), [str(int(t)) for t in y])
        trainer.set_params(params)
        trainer.train(path)
        history, t = [], 0.0
        for k, it in enumerate(trainer.logparser.iterations, 1):  # parsed from its log
            t += float(it.get("time", 0.0) or 0.0)
            history.append({"iteration": k, "time": t, "objective": it.get("loss")})
        tagger = pycrfsuite.Tagger()
        tagger.open(path)
        pred = [np.array([int(t) for t in tagger.tag(pycrfsuite.ItemSequence(it))], dtype=np.int64)
                for it in test_items]
        tagger.close()
    return pred, history


def _held_out_score(task, gold, pred) -> tuple[float, str]:
    """Chunk F1 on the held-out sentences when the task knows its tag names, else token
    accuracy (the Hamming loss both models train on)."""
    names = (task.extra or {}).get("tag_names")
    if names:
        from structpred.metrics.chunking import chunk_scores
        def tags(y):
            return [names.get(int(t), "O") for t in y]
        return float(chunk_scores([tags(y) for y in gold], [tags(p) for p in pred]).f1), "chunk F1"
    y, p = np.concatenate(gold), np.concatenate(pred)
    return float(np.mean(y == p)), "token accuracy"


def crfsuite_peer(task, ctx):
    """CRFsuite three ways on the same token features: c2 = n/(2C) (structpred's trade-off),
    CRFsuite's own defaults (L-BFGS, c1 = 0, c2 = 1, its own stopping rule), and c2 tuned on a
    held-out 20% of the training set (defaults otherwise)."""
    try:
        import pycrfsuite  # noqa: F401
    except ImportError:
        raise PeerSkip("python-crfsuite is not installed (pip install 'structpred[bench]')") \
            from None
    n = len(task.X_train)
    c2 = n / (2.0 * task.C)
    max_iter = 100 if ctx.quick else 150
    train_items = [_csr_items(x) for x in task.X_train]
    test_items = [_csr_items(x) for x in task.X_test]
    note = "own objective (CRF log-loss + c2‖w‖²); primal not comparable"
    method = "CRFsuite L-BFGS CRF (python-crfsuite)"

    def record(params, setting, c_note, extra=None):
        with ctx.measure() as m:
            pred, history = _crfsuite_fit_predict(train_items, task.Y_train, test_items, params)
        rec = {"method": f"{method}, {setting}", "setting": setting, "C_peer": params["c2"],
               "C_note": c_note, "n_iter": len(history), **m.record(),
               "objective_curve": history, "quality": task.evaluate(pred), "note": note}
        rec.update(extra or {})
        return rec

    out = [record({"c1": 0.0, "c2": c2, "max_iterations": max_iter}, "same objective",
                  f"c2 = n / (2C), max {max_iter} iterations"),
           record({"c1": 0.0, "c2": 1.0}, "CRFsuite defaults", "CRFsuite's default c2, its "
                  "own stopping rule")]
    tr, held = _held_out_split(n)
    sub_items = [train_items[i] for i in tr]
    sub_y = [task.Y_train[i] for i in tr]
    held_items = [train_items[i] for i in held]
    held_y = [np.asarray(task.Y_train[i]) for i in held]
    scores, metric = {}, "token accuracy"
    with ctx.measure() as m:
        for value in CRFSUITE_C2_GRID:
            pred, _ = _crfsuite_fit_predict(sub_items, sub_y, held_items,
                                            {"c1": 0.0, "c2": value})
            scores[value], metric = _held_out_score(task, held_y, pred)
    best = max(CRFSUITE_C2_GRID, key=lambda v: (scores[v], v))
    out.append(record({"c1": 0.0, "c2": best}, "c2 tuned",
                      f"best of {list(CRFSUITE_C2_GRID)} on a held-out 20% of train ({metric})",
                      {"tuning_s": m.record()["wall_s"],
                       "tuning_scores": {str(k): v for k, v in scores.items()}}))
    return out


# ------------------------------------------------------------------ pystruct
def pystruct_peer(task, ctx):
    """pystruct 0.3.2 on the task (MultiClassClf or ChainCRF, with OneSlackSSVM and FrankWolfeSSVM
    at pystruct's C = our C / n); PeerSkip when pystruct is not importable."""
    try:
        from pystruct import learners, models
    except Exception as exc:  # noqa: BLE001 - old pystruct fails on new numpy in many ways
        raise PeerSkip(f"pystruct is not importable ({type(exc).__name__}: {exc})") from None
    n = len(task.X_train)
    C = task.C / n
    if task.name.startswith("multiclass"):
        X = np.asarray(task.X_train)
        model = models.MultiClassClf(n_features=X.shape[1], n_classes=int(np.max(task.Y_train)) + 1)
        Xtr, Xte = X, np.asarray(task.X_test)
    else:
        F = task.X_train[0].shape[1]
        if F > 5000:
            raise PeerSkip(f"pystruct ChainCRF needs dense token features; {F} features "
                           "would not fit in memory")
        model = models.ChainCRF()
        Xtr = [x.toarray() for x in task.X_train]
        Xte = [x.toarray() for x in task.X_test]
    out = []
    for name, learner in (("OneSlackSSVM", learners.OneSlackSSVM(model, C=C, tol=task.eps)),
                          ("FrankWolfeSSVM", learners.FrankWolfeSSVM(model, C=C, max_iter=50))):
        with ctx.measure() as m:
            learner.fit(Xtr, task.Y_train)
        pred = learner.predict(Xte)
        out.append({"method": f"pystruct {name}", "C_peer": C, "C_note": "C / n", **m.record(),
                    "quality": task.evaluate(list(pred))})
    return out


# ------------------------------------------------------------------ svm_hmm
def svm_hmm_peer(task, ctx):
    """svm_hmm 3.10 on the task's svm_hmm files (binaries from $SVM_HMM_LEARN / $SVM_HMM_CLASSIFY; -c is our C); PeerSkip when they are not given."""
    learn, classify = os.environ.get("SVM_HMM_LEARN"), os.environ.get("SVM_HMM_CLASSIFY")
    if not learn or not classify:
        raise PeerSkip("svm_hmm binaries not given (set SVM_HMM_LEARN and SVM_HMM_CLASSIFY)")
    for b in (learn, classify):
        if not os.access(b, os.X_OK):
            raise PeerSkip(f"svm_hmm binary {b} is not executable")
    from structpred.datasets import write_svmhmm
    with tempfile.TemporaryDirectory() as tmp:
        tr = os.path.join(tmp, "train.dat")
        te = os.path.join(tmp, "test.dat")
        write_svmhmm(tr, task.X_train, [np.asarray(y) for y in task.Y_train])
        write_svmhmm(te, task.X_test, [np.asarray(y) for y in task.Y_test])
        model = os.path.join(tmp, "model")
        out = os.path.join(tmp, "pred")
        with ctx.measure(children=True) as m:
            run = subprocess.run([learn, "-c", str(task.C), "-e", str(task.eps), tr, model],
                                 capture_output=True, text=True)
        if run.returncode != 0:
            raise PeerSkip(f"svm_hmm_learn failed: {run.stderr.strip()[:200]}")
        subprocess.run([classify, te, model, out], capture_output=True, text=True, check=True)
        tags = np.loadtxt(out, dtype=np.int64).ravel() - 1
    pred, pos = [], 0
    for y in task.Y_test:
        pred.append(tags[pos:pos + len(y)])
        pos += len(y)
    rec = {"method": "svm_hmm 3.10 (-w 4)", "C_peer": task.C, "C_note": "same", **m.record(),
           "quality": task.evaluate(pred)}
    it = re.findall(r"(\d+)\s+iterations", run.stdout)
    if it:
        rec["n_iter"] = int(it[-1])
    p = re.findall(r"[Pp]rimal objective value:\s*pval=([-+0-9.eE]+)", run.stdout)
    if p:
        rec["primal"] = float(p[-1])
    return rec


def lightgbm_peer(task, ctx):
    """LightGBM lambdarank at its own defaults (100 trees, one thread), on the same queries
    (``group`` = the queries' sizes): a non-linear peer, so no shared objective or C."""
    if not task.name.startswith("ranking"):
        raise PeerSkip("LightGBM lambdarank applies to ranking tasks only")
    try:
        import lightgbm as lgb
    except ImportError:
        raise PeerSkip("lightgbm is not installed (pip install 'structpred[bench]')") from None
    X = np.vstack([np.asarray(x) for x in task.X_train])
    y = np.concatenate(task.Y_train).astype(int)
    group = [x.shape[0] for x in task.X_train]
    with ctx.measure() as m:
        booster = lgb.train({"objective": "lambdarank", "verbose": -1, "num_threads": 1},
                            lgb.Dataset(X, label=y, group=group), num_boost_round=100)
    pred = [booster.predict(np.asarray(x)) for x in task.X_test]
    return {"method": "LightGBM lambdarank, defaults (100 trees)", "setting": "own defaults",
            "C_peer": None, "C_note": "not a linear SVM", **m.record(),
            "quality": task.evaluate(pred)}


def svm_rank_peer(task, ctx):
    """svm_rank (Joachims) at the same C (its -c is ours), where SVM_RANK_LEARN (and
    SVM_RANK_CLASSIFY, for test scores) name the binaries."""
    if not task.name.startswith("ranking"):
        raise PeerSkip("svm_rank applies to ranking tasks only")
    learn, classify = os.environ.get("SVM_RANK_LEARN"), os.environ.get("SVM_RANK_CLASSIFY")
    if not learn or not classify:
        raise PeerSkip("svm_rank binaries not given (set SVM_RANK_LEARN and SVM_RANK_CLASSIFY)")
    for b in (learn, classify):
        if not os.access(b, os.X_OK):
            raise PeerSkip(f"svm_rank binary {b} is not executable")
    from structpred.datasets import write_letor
    with tempfile.TemporaryDirectory() as tmp:
        tr, te = os.path.join(tmp, "train.dat"), os.path.join(tmp, "test.dat")
        write_letor(tr, task.X_train, task.Y_train, np.arange(1, len(task.X_train) + 1))
        write_letor(te, task.X_test, task.Y_test, np.arange(1, len(task.X_test) + 1))
        model, out = os.path.join(tmp, "model"), os.path.join(tmp, "pred")
        with ctx.measure(children=True) as m:
            run = subprocess.run([learn, "-c", str(task.C), "-e", str(task.eps), tr, model],
                                 capture_output=True, text=True)
        if run.returncode != 0:
            raise PeerSkip(f"svm_rank_learn failed: {run.stderr.strip()[:200]}")
        subprocess.run([classify, te, model, out], capture_output=True, text=True, check=True)
        scores = np.loadtxt(out, dtype=np.float64).ravel()
    bounds = np.cumsum([0] + [x.shape[0] for x in task.X_test])
    pred = [scores[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    return {"method": "svm_rank (-c same)", "C_peer": task.C, "C_note": "same", **m.record(),
            "quality": task.evaluate(pred)}


PEERS = {"sklearn": sklearn_peer, "crfsuite": crfsuite_peer, "pystruct": pystruct_peer,
         "svm_hmm": svm_hmm_peer, "lightgbm": lightgbm_peer, "svm_rank": svm_rank_peer}


def run_peer(name, task, ctx) -> list:
    """Run one peer; returns a list of records (pystruct yields two), PeerSkip when absent."""
    rec = PEERS[name](task, ctx)
    recs = rec if isinstance(rec, list) else [rec]
    for r in recs:
        r.setdefault("kind", "peer")
        r.setdefault("peer", name)
    return recs
