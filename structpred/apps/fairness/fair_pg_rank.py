"""Fair-PG-Rank (Singh & Joachims, "Policy Learning for Fairness in Ranking", NeurIPS 2019): a
Plackett-Luce ranking policy with scores s = h_θ(x) (the Ranking task's features and PL hooks,
tasks/ranking/plackett_luce.py), linear h_θ(x) = xw or, with ``hidden=H``, a one-hidden-layer
ReLU network h_θ(x) = relu(x W + b) a (the paper's policies are linear models and neural
networks), trained by policy gradient on

    max_θ (1/n) Σ_q [ E_{σ~π_θ(·|q)} NDCG_q(σ) - λ D_q(π_θ) ] - (l2/2) ‖θ‖²,

with exposure v_j = 1/log2(1+j) and, per query (relevances u, groups G):

* ``disparity="group"``: D = max(0, Exp(G_hi)/U(G_hi) - Exp(G_lo)/U(G_lo)) for the two groups
  ordered by merit U(G) = mean u over G, Exp(G) = mean over G of E_π[v_{rank(d)}];
* ``disparity="individual"``: D = (1/|H|) Σ_{(i,j) in H} max(0, E_π[v_i]/u_i - E_π[v_j]/u_j),
  H = {(i, j): u_i >= u_j > 0}.

The gradient (REINFORCE): both terms are E_π[f(σ)] for a per-sample f (NDCG(σ), and the linear
functional of σ's exposures that the active hinge terms define, evaluated at the Monte-Carlo
exposures), so ∇ ≈ (1/S) Σ_s (f(σ_s) - b_s) ∇ log π(σ_s) with S samples per query and the
leave-one-out baseline b_s = mean of the other samples' f (``baseline=False``: b = 0); the
score-space vector (1/S) Σ_s (f - b_s) ∂ log π(σ_s)/∂s is taken back to θ by the scorer's
Jacobian (x^T for the linear one, backpropagation for the network). Adam ascent on mini-batches
of queries, with an optional cosine learning-rate schedule lr_t = lr (1 + cos(π t/T)) / 2 over
the T = n_epochs · batches steps, and optional exponential averaging of the iterates
θ̄ ← β θ̄ + (1 - β) θ (``average=β``; θ̄ is then what is validated and returned).

Model selection: with ``validation=(X_val, relevance_val, groups_val)`` the exact validation
objective J_val(w) = mean_q [E_π NDCG_q - λ D_q(π_w)] is computed after every epoch and ``coef_``
is the w of the best epoch (early stopping after ``patience`` epochs without improvement; the
authors' code uses the same criterion, NDCG - λ D on its validation set).

Learning from clicks (Yadav, Du & Joachims, SIGIR 2021): ``ips_relevance`` turns a click log
(structpred.tasks.ranking.clicks.SessionLog) into per-document estimates
û(d) = (1/n_q) Σ_sessions click(d)/p_{rank(d)}, unbiased for P(click | examined) under the
position-based model; fitting on û uses them in both the utility and the merit of D.
"""
from __future__ import annotations

import numpy as np

from ...errors import MAX_ABS_FEATURE, InvalidInputError, InvalidInputTypeError, NotFittedError
from ...jit import prefer_compiled
from ...tasks.ranking import plackett_luce as pl
from ...tasks.ranking.clicks import check_session_log, click_weights
from ...boundary.arrays import (check_groups, check_matrix, check_probability_matrix,
                                check_scores, check_vector)
from ...boundary.params import check_bool, check_choice, check_int, check_real, check_seed
from .exposure import group_disparity, individual_disparity

__all__ = ["FairPGRank", "ips_relevance", "policy_measures", "MAX_PARAMETERS",
           "MAX_SAMPLE_ENTRIES", "MAX_EPOCHS"]

#: Most parameters θ (f·H + 2H with ``hidden``, f the input columns; Adam keeps six vectors of
#: this size): 2**24 is 128 MiB a vector.
MAX_PARAMETERS = 2 ** 24
#: Most entries of one query's sampled arrays: n_samples x documents (the rankings, their
#: exposures and score-space gradients) and documents x hidden (the activations).
MAX_SAMPLE_ENTRIES = 2 ** 24
#: Most training epochs.
MAX_EPOCHS = 10 ** 6
#: Largest learning rate and L2 weight: Adam's steps are about learning_rate per coordinate, so
#: beyond it θ leaves float64's useful range within a few steps; l2 beyond 1e12 makes the
#: objective nothing but the penalty.
MAX_LEARNING_RATE = 1e6
MAX_L2 = 1e12

#: Lists up to this length use PL's exact rank marginals for the expected exposures that decide
#: which hinge terms of D are active (and for ``policy_measures``); longer ones use the samples.
_EXACT_UP_TO = 12


def _exposures(perms, v):
    E = np.empty(perms.shape, dtype=np.float64)
    np.put_along_axis(E, perms, np.broadcast_to(v, perms.shape), axis=1)
    return E


def _penalty_coef(mean_exp, u, g, kind):
    """Coefficients c with D's active hinge terms = c · exposure (0 when D = 0 / undefined)."""
    m = u.shape[0]
    c = np.zeros(m)
    if kind == "group":
        if g is None:
            return c
        cnt = np.bincount(g, minlength=2).astype(float)
        if np.any(cnt == 0):
            return c
        merit = np.bincount(g, weights=u, minlength=2) / cnt
        if np.any(merit <= 0):
            return c
        ratio = (np.bincount(g, weights=mean_exp, minlength=2) / cnt) / merit
        hi = int(np.argmax(merit))
        lo = 1 - hi
        if ratio[hi] - ratio[lo] > 0:
            c[g == hi] = 1.0 / (cnt[hi] * merit[hi])
            c[g == lo] = -1.0 / (cnt[lo] * merit[lo])
        return c
    keep = np.flatnonzero(u > 0)
    if keep.size < 2:
        return c
    uu = u[keep]
    r = mean_exp[keep] / uu
    H = (uu[:, None] >= uu[None, :]) & ~np.eye(keep.size, dtype=bool)
    active = H & (r[:, None] - r[None, :] > 0)
    nH = H.sum()
    c[keep] += active.sum(axis=1) / uu / nH
    c[keep] -= active.sum(axis=0) / uu / nH
    return c


def _unpack(theta, f, hidden):
    """(W, b, a) views of an MLP parameter vector θ = [vec(W) (f x H), b (H), a (H)]."""
    W = theta[:f * hidden].reshape(f, hidden)
    return W, theta[f * hidden:f * hidden + hidden], theta[f * hidden + hidden:]


def _forward(theta, x, hidden):
    """Scores h_θ(x) of the documents (rows of x), and the hidden activations (None if linear)."""
    if hidden == 0:
        return x @ theta, None
    W, b, a = _unpack(theta, x.shape[1], hidden)
    H = np.maximum(x @ W + b, 0.0)
    return H @ a, H


def _backward(theta, x, H, ds, hidden):
    """J_θ(s)^T ds: the gradient in θ of ds · h_θ(x) (H: the forward pass's activations)."""
    if hidden == 0:
        return x.T @ ds
    W, b, a = _unpack(theta, x.shape[1], hidden)
    dZ = (ds[:, None] * a[None, :]) * (H > 0)
    return np.concatenate([(x.T @ dZ).ravel(), dZ.sum(axis=0), H.T @ ds])


class FairPGRank:
    """Fair-PG-Rank: a Plackett-Luce ranking policy (linear or one-hidden-layer scores) trained
    by policy gradient on E NDCG - λ D - (l2/2)‖θ‖².

    Parameters
    ----------
    lam : float >= 0, weight λ of the disparity penalty.
    disparity : "group" or "individual".
    n_samples : rankings sampled per query and step (S).
    n_epochs, batch_size, learning_rate : Adam ascent on mini-batches of queries.
    l2 : L2 penalty (l2/2)‖w‖² subtracted from the objective.
    baseline : use the leave-one-out baseline (variance reduction; unbiased either way).
    patience : with a validation set, stop after this many epochs without a better J_val
        (None: run all epochs, still keep the best).
    hidden : 0 for linear scores xw; H > 0 for relu(xW + b)·a with H hidden units (W drawn
        N(0, 1/f) from ``random_state``, b = 0, a = 0: the uniform policy at the start).
    context : with ``hidden``, also feed every document the mean feature vector of its query
        (x_d -> [x_d, mean_q x]), so that the scores can depend on the candidate set (as the
        authors' "concat_avg" pooling option; a linear score would ignore it: PL is
        shift-invariant, hence refused there).
    lr_schedule : "constant" or "cosine" (lr (1 + cos(π t/T))/2 over all T steps).
    average : None, or β in [0, 1): validate and return the exponential average of the
        iterates θ̄ ← β θ̄ + (1 - β) θ (updated every step).
    random_state : seed of the initial weights, the sampling and the query order.

    ``fit`` checks every parameter before any work (``_check_params``: finite, in range,
    integers where counts, sizes that allocate bounded by MAX_SAMPLE_ENTRIES, MAX_PARAMETERS
    and MAX_EPOCHS) and raises InvalidInputError naming it; a gradient or weight vector that
    still overflows float64 during training is an InvalidInputError naming the query and the
    parameters, never a NaN ``coef_``.

    Attributes
    ----------
    coef_ : θ (w when linear; [vec(W), b, a] with ``hidden``), the best epoch's on the
        validation set when one is given;
    history_ : per-epoch (mean sampled NDCG, mean disparity) on the training queries;
    val_history_ : per-epoch (validation NDCG, validation disparity, J_val), exact;
    best_epoch_ : 1-based epoch of coef_ (0 = the initial w = 0, the uniform policy);
    best_val_ : J_val of coef_ (-inf without a validation set).
    """

    def __init__(self, lam: float = 0.0, disparity: str = "group", n_samples: int = 16,
                 n_epochs: int = 20, batch_size: int = 16, learning_rate: float = 0.05,
                 l2: float = 0.0, baseline: bool = True, patience: int | None = None,
                 hidden: int = 0, context: bool = False, lr_schedule: str = "constant",
                 average: float | None = None, random_state=None):
        self.lam = lam
        self.disparity = disparity
        self.n_samples = n_samples
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.l2 = l2
        self.baseline = baseline
        self.patience = patience
        self.hidden = hidden
        self.context = context
        self.lr_schedule = lr_schedule
        self.average = average
        self.random_state = random_state

    def _check_params(self) -> dict:
        """Every constructor parameter, checked before any work and converted; InvalidInputError
        naming the parameter: lam a finite real >= 0; disparity "group" or "individual";
        n_samples an integer in [1, MAX_SAMPLE_ENTRIES]; n_epochs in [1, MAX_EPOCHS];
        batch_size an integer >= 1; learning_rate a real in (0, MAX_LEARNING_RATE]; l2 in
        [0, MAX_L2]; baseline and context bools (context needs hidden > 0); patience None or
        an integer >= 1; hidden an integer in [0, MAX_PARAMETERS]; lr_schedule "constant" or
        "cosine"; average None or a real in [0, 1); random_state a seed (``check_seed``)."""
        p = {"lam": check_real(self.lam, "lam", 0.0),
             "disparity": check_choice(self.disparity, "disparity", ("group", "individual")),
             "n_samples": check_int(self.n_samples, "n_samples", 1, MAX_SAMPLE_ENTRIES),
             "n_epochs": check_int(self.n_epochs, "n_epochs", 1, MAX_EPOCHS),
             "batch_size": check_int(self.batch_size, "batch_size", 1),
             "learning_rate": check_real(self.learning_rate, "learning_rate", 0.0,
                                         MAX_LEARNING_RATE, low_inclusive=False),
             "l2": check_real(self.l2, "l2", 0.0, MAX_L2),
             "baseline": check_bool(self.baseline, "baseline"),
             "patience": None if self.patience is None else check_int(self.patience,
                                                                      "patience", 1),
             "hidden": check_int(self.hidden, "hidden", 0, MAX_PARAMETERS),
             "context": check_bool(self.context, "context"),
             "lr_schedule": check_choice(self.lr_schedule, "lr_schedule",
                                         ("constant", "cosine")),
             "average": None if self.average is None else check_real(
                 self.average, "average", 0.0, 1.0, high_inclusive=False),
             "random_state": check_seed(self.random_state, "random_state")}
        if p["context"] and p["hidden"] == 0:
            raise InvalidInputError("context needs hidden > 0 (a linear PL policy ignores a "
                                    "per-query constant)")
        return p

    def _check(self, X, relevance, groups, n_features=None, where=""):
        """(inputs, relevances, group codes) per query, checked (``where`` prefixes the names,
        e.g. "validation: "): X a non-empty list of finite (documents x features) matrices with
        at least one document and one column each, the same columns in every query
        (``n_features`` when given), |x| <= MAX_ABS_FEATURE; relevance one list entry per query
        with one finite gain >= 0 (<= MAX_ABS_FEATURE) per document; groups None or one
        label array per query (two groups at most where the group disparity is trained).
        InvalidInputError naming the argument and query."""
        names = {k: f"{where}{k}" for k in ("X", "relevance", "groups")}
        for key, val in (("X", X), ("relevance", relevance), ("groups", groups)):
            if key == "groups" and val is None:
                continue
            if isinstance(val, (str, bytes)) or not hasattr(val, "__len__") \
                    or not hasattr(val, "__getitem__"):
                raise InvalidInputTypeError(f"{names[key]} must be a list with one entry per "
                                            f"query, got {type(val).__name__}")
        if len(X) == 0:
            raise InvalidInputError(f"{names['X']} has no queries")
        if len(relevance) != len(X):
            raise InvalidInputError(f"{names['relevance']} has {len(relevance)} queries but "
                                    f"{names['X']} has {len(X)} (one gain array per query)")
        if groups is not None and len(groups) != len(X):
            raise InvalidInputError(f"{names['groups']} has {len(groups)} queries but "
                                    f"{names['X']} has {len(X)} (one label array per query)")
        need = self.disparity == "group" and self.lam > 0
        if groups is None and need:
            raise InvalidInputError(f"{names['groups']} is required for the group disparity "
                                    "(lam > 0)")
        Xs, U, G = [], [], []
        for q in range(len(X)):
            x = check_matrix(X[q], f"{names['X']}[{q}]", n_features, allow_sparse=False,
                             index=q)
            if x.shape[1] < 1:
                raise InvalidInputError(f"{names['X']}[{q}] has no feature columns", q)
            n_features = x.shape[1]
            Xs.append(self._inputs(x))
            U.append(check_vector(relevance[q], f"{names['relevance']}[{q}]", x.shape[0],
                                  low=0.0, high=MAX_ABS_FEATURE,
                                  length_of=f"the rows of {names['X']}[{q}]", index=q))
            if groups is None:
                G.append(None)
                continue
            name = f"{names['groups']}[{q}]"
            G.append(_two_groups(groups[q], x.shape[0], name) if need
                     else _group_labels(groups[q], x.shape[0], name)[0])
        return Xs, U, G

    def _sizes_fit(self, Xs, p, where=""):
        """InvalidInputError naming n_samples / hidden when a query's arrays would exceed the
        memory bounds (MAX_SAMPLE_ENTRIES, MAX_PARAMETERS)."""
        m = max(x.shape[0] for x in Xs)
        f = Xs[0].shape[1]
        if p["n_samples"] * m > MAX_SAMPLE_ENTRIES:
            raise InvalidInputError(f"n_samples={p['n_samples']} rankings of {m} documents "
                                    f"({where}largest query) exceed MAX_SAMPLE_ENTRIES = "
                                    f"{MAX_SAMPLE_ENTRIES} entries")
        H = p["hidden"]
        if H and ((f + 2) * H > MAX_PARAMETERS or m * H > MAX_SAMPLE_ENTRIES):
            raise InvalidInputError(f"hidden={H} units: {(f + 2) * H} parameters for {f} inputs "
                                    f"and {m} x {H} activations; at most MAX_PARAMETERS = "
                                    f"{MAX_PARAMETERS} and MAX_SAMPLE_ENTRIES = "
                                    f"{MAX_SAMPLE_ENTRIES}")

    def fit(self, X, relevance, groups=None, validation=None):
        """X: list of (m_q x f) feature matrices; relevance: list of gains u >= 0 (e.g. grades,
        or ``ips_relevance`` estimates); groups: list of 0/1 group labels per document;
        validation: optional (X_val, relevance_val, groups_val) for early stopping on J_val."""
        p = self._check_params()
        Xs, U, G = self._check(X, relevance, groups)
        n_in = int(np.asarray(X[0]).shape[1])
        self._sizes_fit(Xs, p)
        if validation is not None:
            if isinstance(validation, (str, bytes)) or not hasattr(validation, "__len__") \
                    or len(validation) != 3:
                raise InvalidInputError("validation must be (X_val, relevance_val, groups_val)")
            Xv, Uv, Gv = self._check(*validation, n_features=n_in, where="validation: ")
            self._sizes_fit(Xv, p, "validation's ")
        prefer_compiled()   # a long loop of small PL kernel calls
        rng = np.random.default_rng(p["random_state"])
        f0, hid = Xs[0].shape[1], p["hidden"]
        if hid == 0:
            w = np.zeros(f0)
        else:
            w = np.concatenate([rng.normal(0.0, 1.0 / np.sqrt(f0), f0 * hid), np.zeros(2 * hid)])
        f = w.shape[0]
        avg = w.copy()
        beta = None if self.average is None else float(self.average)
        n_steps = int(self.n_epochs) * -(-len(Xs) // int(self.batch_size))
        self.val_history_ = []
        best_w, best_j, self.best_epoch_, since = w.copy(), -np.inf, 0, 0
        if validation is not None:
            best_j = self._val_objective(Xv, Uv, Gv, w)[2]
        m1, m2 = np.zeros(f), np.zeros(f)
        b1, b2, eps = 0.9, 0.999, 1e-8
        step = 0
        S = int(self.n_samples)
        self.history_ = []
        for epoch in range(int(self.n_epochs)):
            order = rng.permutation(len(Xs))
            stats = []
            for start in range(0, len(order), int(self.batch_size)):
                grad = np.zeros(f)
                batch = order[start:start + int(self.batch_size)]
                for q in batch:
                    gq, nd, disp = self._query_gradient(Xs[q], U[q], G[q], w, S, rng)
                    if not np.all(np.isfinite(gq)):
                        raise InvalidInputError(
                            f"query {q}: the policy gradient overflows float64 at epoch "
                            f"{epoch + 1} (lam, learning_rate or the features / relevances "
                            "too large, or a group's merit too small)", int(q))
                    grad += gq
                    stats.append((nd, disp))
                grad = grad / len(batch) - self.l2 * w
                lr = self.learning_rate
                if self.lr_schedule == "cosine":
                    lr = lr * 0.5 * (1.0 + np.cos(np.pi * step / n_steps))
                step += 1
                m1 = b1 * m1 + (1 - b1) * grad
                m2 = b2 * m2 + (1 - b2) * grad ** 2
                w = w + lr * (m1 / (1 - b1 ** step)) / (np.sqrt(m2 / (1 - b2 ** step)) + eps)
                if not np.all(np.isfinite(w)):
                    raise InvalidInputError(f"the weights overflow float64 at epoch {epoch + 1} "
                                            "(learning_rate or l2 too large for the data)")
                avg = w if beta is None else beta * avg + (1 - beta) * w
            self.history_.append(tuple(np.mean(stats, axis=0)))
            if validation is not None:
                vals = self._val_objective(Xv, Uv, Gv, avg)
                self.val_history_.append(vals)
                if vals[2] > best_j:
                    best_w, best_j, self.best_epoch_, since = avg.copy(), vals[2], epoch + 1, 0
                else:
                    since += 1
                    if self.patience is not None and since >= int(self.patience):
                        break
        self.coef_ = best_w if validation is not None else avg
        self.n_features_in_ = n_in
        self._fitted_hidden = (hid, p["context"])
        self.best_val_ = best_j
        if validation is None:
            self.best_epoch_ = len(self.history_)
        return self

    def _val_objective(self, X, U, G, w):
        """(mean NDCG, mean disparity, mean NDCG - λ mean disparity) of π_w, exact for lists of
        <= 12 documents."""
        S = [_forward(w, x, int(self.hidden))[0] for x in X]
        if self.disparity == "group" and all(g is not None for g in G):
            meas = policy_measures(S, U, G, random_state=0)
            nd, disp = meas["ndcg"], meas["disparity"]
        else:
            nd = policy_measures(S, U, [None] * len(U), random_state=0)["ndcg"]
            disp = (policy_measures(S, U, None, random_state=0, individual=True)["disparity"]
                    if self.disparity == "individual" else 0.0)
        return nd, disp, nd - self.lam * disp

    def _query_gradient(self, x, u, g, w, S, rng):
        """(REINFORCE estimate of ∇_θ [NDCG_q - λ·(D_q's active hinge terms)], the samples'
        mean NDCG, the sampled disparity) at θ = w for query (x, u, g) with S rankings."""
        s, H = _forward(w, x, int(self.hidden))
        m = s.shape[0]
        v = pl.position_discount(m)
        ideal = np.sort(u)[::-1] @ v
        perms = pl.sample_permutations(s, S, rng)
        E = _exposures(perms, v)
        f = E @ u / ideal if ideal > 0 else np.zeros(S)
        nd = f.mean()
        disp = 0.0
        if self.lam > 0 and (g is not None or self.disparity == "individual"):
            mean_exp = (pl.rank_marginals(s) @ v if m <= _EXACT_UP_TO else E.mean(axis=0))
            c = _penalty_coef(mean_exp, u, g, self.disparity)
            pen = E @ c
            disp = max(0.0, pen.mean())
            f = f - self.lam * pen
        if self.baseline and S > 1:
            b = (f.sum() - f) / (S - 1)
        else:
            b = 0.0
        _, Gs = pl.log_prob_grads(s, perms)
        coef = ((f - b)[:, None] * Gs).mean(axis=0)
        return _backward(w, x, H, coef, int(self.hidden)), nd, disp

    def _inputs(self, x):
        """The scorer's input rows: x, or [x, mean of x's rows] with ``context``."""
        if not self.context:
            return x
        return np.hstack([x, np.broadcast_to(x.mean(axis=0), x.shape)])

    def scores(self, X):
        """Per-query PL scores h_θ(x) (xw when linear) with the fitted θ = ``coef_``.

        NotFittedError before ``fit``; X a list of finite (documents x features) matrices with
        the training data's number of columns (InvalidInputError naming X[q] otherwise, and
        when the scores overflow float64)."""
        if getattr(self, "coef_", None) is None or not hasattr(self, "_fitted_hidden"):
            raise NotFittedError("this FairPGRank is not fitted yet: call fit before scores")
        hidden, context = self._fitted_hidden
        if isinstance(X, (str, bytes)) or not hasattr(X, "__len__") \
                or not hasattr(X, "__getitem__"):
            raise InvalidInputTypeError(f"X must be a list with one matrix per query, got "
                                        f"{type(X).__name__}")
        out = []
        for q in range(len(X)):
            x = check_matrix(X[q], f"X[{q}]", self.n_features_in_, allow_sparse=False, index=q)
            if context:
                x = np.hstack([x, np.broadcast_to(x.mean(axis=0), x.shape)])
            with np.errstate(over="ignore", invalid="ignore"):
                sq = _forward(self.coef_, x, hidden)[0]
            if not np.all(np.isfinite(sq)):
                raise InvalidInputError(f"X[{q}]: the scores h_θ(x) overflow float64 (features "
                                        "too large for coef_)", q)
            out.append(sq)
        return out


def _group_labels(labels, m, name):
    """(codes, number of groups) of a query's m group labels (InvalidInputError naming it)."""
    return check_groups(labels, name, m, min_groups=1 if m else 0)


def _two_groups(labels, m, name):
    g, K = _group_labels(labels, m, name)
    if K > 2:
        raise InvalidInputError(f"{name} has {K} groups; the group disparity needs two")
    return g


def _per_query(value, name, n=None):
    """``value`` as a list with one entry per query (``n`` of them when given)."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") \
            or not hasattr(value, "__getitem__"):
        raise InvalidInputTypeError(f"{name} must be a list with one entry per query, got "
                                    f"{type(value).__name__}")
    if n is not None and len(value) != n:
        raise InvalidInputError(f"{name} has {len(value)} queries but relevance has {n} (one "
                                "entry per query)")
    return value


def policy_measures(S, relevance, groups, n_samples: int = 200, random_state=None,
                    P=None, individual: bool = False):
    """Mean over queries of the policy's expected NDCG and group disparity, for PL policies with
    scores ``S`` (list; exact from PL's rank marginals for lists of <= 12 documents, else
    Monte-Carlo with ``n_samples`` rankings, NDCG with its standard error, exposure from the same
    samples), or for given rank-marginal matrices ``P`` (list; exact). A query whose candidates
    form a single group (or ``groups`` None) counts with disparity 0, as in the authors'
    evaluation; ``individual=True`` reports the individual disparity instead.

    Per query, with v_j = 1/log2(1+j) and exposures e = P_q v (P_q PL's rank marginals, their
    sample mean, or the given matrix): NDCG = uᵀe / (u sorted)ᵀv, in [0, 1] because P_q is
    doubly stochastic; ndcg_se = √(Σ_q se_q²)/n (se_q = 0 when exact); disparity_se the
    standard error of the per-query disparities (0 for one query).

    Everything is checked before any work; InvalidInputError naming the argument and query q:
    ``relevance`` a non-empty list of per-query gains (finite, >= 0, <= 1e50, one document at
    least); ``S`` (when P is None) one finite score per document; ``P`` (when given) per query
    an n_q x n_q doubly stochastic matrix within 1e-6 (``check_probability_matrix``: another
    matrix is no policy, and its "NDCG" can exceed 1); ``groups`` None or one entry per
    query, None or one label per document, at most two groups for the group disparity;
    ``n_samples`` an integer >= 2 (the Monte-Carlo standard error needs two), n_samples x
    documents <= MAX_SAMPLE_ENTRIES; ``random_state`` a seed; ``individual`` a bool."""
    individual = check_bool(individual, "individual")
    random_state = check_seed(random_state, "random_state")
    try:
        n_samples = check_int(n_samples, "n_samples", 2, MAX_SAMPLE_ENTRIES)
    except InvalidInputError:
        raise InvalidInputError(f"n_samples must be an integer in [2, {MAX_SAMPLE_ENTRIES}] (the "
                                f"Monte-Carlo standard error needs two samples), got "
                                f"{n_samples!r}") from None
    relevance = _per_query(relevance, "relevance")
    nq = len(relevance)
    if nq == 0:
        raise InvalidInputError("relevance has no queries: a mean over no query is undefined")
    if P is None:
        S = _per_query(S, "S", nq)
    else:
        P = _per_query(P, "P", nq)
    if groups is not None:
        groups = _per_query(groups, "groups", nq)
    checked = []
    for q in range(nq):
        u = check_vector(relevance[q], f"relevance[{q}]", low=0.0, high=MAX_ABS_FEATURE,
                         min_length=1, index=q)
        m = u.shape[0]
        if P is None:
            x = check_scores(S[q], f"S[{q}]", m, index=q)
            if m > _EXACT_UP_TO and n_samples * m > MAX_SAMPLE_ENTRIES:
                raise InvalidInputError(f"n_samples={n_samples} rankings of {m} documents (query "
                                        f"{q}) exceed MAX_SAMPLE_ENTRIES = {MAX_SAMPLE_ENTRIES}",
                                        q)
        else:
            x = check_probability_matrix(P[q], f"P[{q}]", doubly_stochastic=True)
            if x.shape[0] != m:
                raise InvalidInputError(f"P[{q}] is {x.shape[0]} x {x.shape[0]} but relevance[{q}] "
                                        f"has {m} documents", q)
        g = None
        if not individual and groups is not None and groups[q] is not None:
            g, K = _group_labels(groups[q], m, f"groups[{q}]")
            if K > 2:
                raise InvalidInputError(f"groups[{q}] has {K} groups; the group disparity needs "
                                        "two", q)
            g = g if K == 2 else None
        checked.append((u, x, g))
    rng = np.random.default_rng(random_state)
    nd, disp, se2 = [], [], []
    for q, (u, x, g) in enumerate(checked):
        m = u.shape[0]
        v = pl.position_discount(m)
        ideal = np.sort(u)[::-1] @ v
        if P is None and m <= _EXACT_UP_TO:
            e = pl.rank_marginals(x) @ v
            nd.append(min(1.0, e @ u / ideal) if ideal > 0 else 0.0)
            se2.append(0.0)
        elif P is None:
            perms = pl.sample_permutations(x, n_samples, rng)
            E = _exposures(perms, v)
            vals = E @ u / ideal if ideal > 0 else np.zeros(n_samples)
            nd.append(vals.mean())
            se2.append(vals.var(ddof=1) / n_samples)
            e = E.mean(axis=0)
        else:
            e = x @ v
            nd.append(min(1.0, e @ u / ideal) if ideal > 0 else 0.0)
            se2.append(0.0)
        if not np.all(np.isfinite(e)):
            raise InvalidInputError(f"S[{q}]: the policy's exposures are not finite (scores too "
                                    "large for float64)", q)
        if individual:
            disp.append(individual_disparity(e, u))
        elif g is None:
            disp.append(0.0)
        else:
            disp.append(group_disparity(e, u, g))
    n = len(nd)
    return {"ndcg": float(np.mean(nd)), "ndcg_se": float(np.sqrt(np.sum(se2)) / n),
            "disparity": float(np.mean(disp)),
            "disparity_se": float(np.std(disp, ddof=1) / np.sqrt(n))
            if n > 1 else 0.0}


def _query_sizes(sizes) -> np.ndarray:
    """``sizes`` (documents per query) as int64: a non-empty 1-D list of integers >= 1
    (InvalidInputError naming ``sizes[q]``)."""
    if isinstance(sizes, (str, bytes)) or np.ndim(sizes) != 1 or len(sizes) == 0:
        raise InvalidInputError(f"sizes must be a non-empty list of document counts, one per "
                                f"query, got {sizes!r:.60}")
    return np.array([check_int(m, f"sizes[{q}]", 1, index=q) for q, m in enumerate(sizes)],
                    dtype=np.int64)


def ips_relevance(log, sizes, propensities, clip: float | None = None):
    """Per-query arrays û_q(d) = (1/n_q) Σ_{sessions of q} click(d) · min(1/p_{rank(d)}, clip)
    from a SessionLog (documents never shown get 0; n_q = the sessions of query q, a query
    without sessions gets zeros); ``propensities[r-1]`` = p_r; ``clip`` caps 1/p (None or inf:
    no cap).

    Checked before any work; InvalidInputError naming the argument: ``sizes`` one integer >= 1
    (documents) per query; ``log`` a consistent SessionLog whose queries are < len(sizes) and
    documents < their query's size (``check_session_log``); ``propensities`` finite, > 0, one
    per rank shown, and without ``clip`` no weight 1/p above MAX_CLICK_WEIGHT (a propensity of
    1e-320 would give inf); ``clip`` a positive number (0 or -1 would zero or negate the
    estimates) (``click_weights``)."""
    sizes = _query_sizes(sizes)
    if int(sizes.sum()) > MAX_SAMPLE_ENTRIES * 16:
        raise InvalidInputError(f"sizes: {int(sizes.sum())} documents in all, more than "
                                f"{MAX_SAMPLE_ENTRIES * 16}")
    check_session_log(log, "log", sizes)
    pos = np.asarray(log.position, dtype=np.int64)
    w = click_weights(propensities, int(pos.max()) if pos.size else 0, clip)
    off = np.asarray(log.offsets, dtype=np.int64)
    sess = np.repeat(np.arange(log.n_sessions), np.diff(off))
    hit = np.asarray(log.click, dtype=bool)
    q = np.asarray(log.query, dtype=np.int64)
    base = np.concatenate([[0], np.cumsum(sizes)])
    flat = np.zeros(int(base[-1]))
    np.add.at(flat, base[q[sess[hit]]] + np.asarray(log.doc, dtype=np.int64)[hit],
              w[pos[hit] - 1])
    n_q = np.bincount(q, minlength=sizes.shape[0]).astype(np.float64)
    return [flat[base[k]:base[k + 1]] / max(n_q[k], 1.0) for k in range(sizes.shape[0])]
