"""Peer implementations run on the same split as structpred, with C converted to their
convention (structpred follows SVM-struct: ½‖w‖² + (C/n) Σ ξ_i).

- ``sklearn``: ``LinearSVC(multi_class="crammer_singer", fit_intercept=False)`` with
  C_sklearn = C / n: the same objective, so its w is scored by structpred's primal.
- ``crfsuite``: python-crfsuite's L-BFGS CRF (first-order chain, its own label-bigram
  features) on exactly the same token feature vectors. CRFsuite minimises
  -Σ_i log p(y_i | x_i) + c2 ‖w‖²; we use c2 = n / (2C), the value that gives the summed
  loss the same weight against ‖w‖² as structpred's objective scaled by n / C
  ((n / 2C)‖w‖² + Σ ξ_i). The losses differ (log-loss vs structured hinge), so its
  objective is not comparable and only time and test quality are reported.
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
def sklearn_peer(task, ctx):
    try:
        from sklearn.svm import LinearSVC
    except ImportError:
        raise PeerSkip("scikit-learn is not installed (pip install 'structpred[bench]')") from None
    if task.name != "multiclass-digits" and not task.name.startswith("multiclass"):
        raise PeerSkip("LinearSVC applies to multiclass tasks only")
    X, y = np.asarray(task.X_train), np.asarray(task.Y_train)
    n = len(y)
    C = task.C / n
    clf = LinearSVC(multi_class="crammer_singer", fit_intercept=False, C=C, tol=1e-4,
                    max_iter=20000)
    import warnings
    with ctx.measure() as m, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    pred = clf.predict(np.asarray(task.X_test))
    w = np.asarray(clf.coef_, dtype=np.float64).ravel()
    return {"method": "scikit-learn LinearSVC (crammer_singer)", "C_peer": C,
            "C_note": "C / n", "n_iter": int(np.max(clf.n_iter_)), **m.record(),
            "primal": ctx.primal(w), "quality": task.evaluate(list(pred))}


# ------------------------------------------------------------------ CRFsuite
def crfsuite_peer(task, ctx):
    try:
        import pycrfsuite
    except ImportError:
        raise PeerSkip("python-crfsuite is not installed (pip install 'structpred[bench]')") \
            from None
    n = len(task.X_train)
    c2 = n / (2.0 * task.C)
    max_iter = 100 if ctx.quick else 150
    train_items = [_csr_items(x) for x in task.X_train]
    test_items = [_csr_items(x) for x in task.X_test]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "crf.model")
        trainer = pycrfsuite.Trainer(verbose=False)
        with ctx.measure() as m:
            for items, y in zip(train_items, task.Y_train):
                trainer.append(pycrfsuite.ItemSequence(items), [str(int(t)) for t in y])
            trainer.set_params({"c1": 0.0, "c2": c2, "max_iterations": max_iter})
            trainer.train(path)
        history, t = [], 0.0
        for k, it in enumerate(trainer.logparser.iterations, 1):  # parsed from its log
            t += float(it.get("time", 0.0) or 0.0)
            history.append({"iteration": k, "time": t, "objective": it.get("loss")})
        tagger = pycrfsuite.Tagger()
        tagger.open(path)
        pred = [np.array([int(t) for t in tagger.tag(pycrfsuite.ItemSequence(items))])
                for items in test_items]
        tagger.close()
    return {"method": "CRFsuite L-BFGS CRF (python-crfsuite)", "C_peer": c2,
            "C_note": "c2 = n / (2C)", "n_iter": len(history), **m.record(),
            "objective_curve": history, "quality": task.evaluate(pred),
            "note": "own objective (CRF log-loss + c2‖w‖²); primal not comparable"}


# ------------------------------------------------------------------ pystruct
def pystruct_peer(task, ctx):
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


PEERS = {"sklearn": sklearn_peer, "crfsuite": crfsuite_peer, "pystruct": pystruct_peer,
         "svm_hmm": svm_hmm_peer}


def run_peer(name, task, ctx) -> list:
    """Run one peer; returns a list of records (pystruct yields two), PeerSkip when absent."""
    rec = PEERS[name](task, ctx)
    recs = rec if isinstance(rec, list) else [rec]
    for r in recs:
        r.setdefault("kind", "peer")
        r.setdefault("peer", name)
    return recs
