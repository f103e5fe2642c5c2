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

from ...errors import InvalidInputError
from ...jit import prefer_compiled
from ...tasks.ranking import plackett_luce as pl
from ...boundary.arrays import check_groups, check_vector
from ...boundary.params import check_bool, check_choice, check_int, check_real
from .exposure import group_disparity, individual_disparity

__all__ = ["FairPGRank", "ips_relevance", "policy_measures"]

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

    def _check(self, X, relevance, groups):
        if not (np.isfinite(self.lam) and self.lam >= 0):
            raise InvalidInputError(f"lam must be a finite number >= 0, got {self.lam!r}")
        if self.disparity not in ("group", "individual"):
            raise InvalidInputError(f"disparity must be 'group' or 'individual', got "
                                    f"{self.disparity!r}")
        check_int(self.hidden, "hidden", 0)
        if check_bool(self.context, "context") and self.hidden == 0:
            raise InvalidInputError("context needs hidden > 0 (a linear PL policy ignores a "
                                    "per-query constant)")
        check_choice(self.lr_schedule, "lr_schedule", ("constant", "cosine"))
        if self.average is not None:
            check_real(self.average, "average", 0.0, 1.0, high_inclusive=False)
        if len(X) == 0 or len(relevance) != len(X):
            raise InvalidInputError("X and relevance must be non-empty lists of equal length")
        Xs, U, G = [], [], []
        for q, (x, u) in enumerate(zip(X, relevance)):
            x = np.asarray(x, dtype=np.float64)
            if x.ndim != 2 or not np.all(np.isfinite(x)):
                raise InvalidInputError(f"X[{q}] must be a finite documents x features matrix", q)
            Xs.append(self._inputs(x))
            U.append(check_vector(u, f"relevance[{q}]", x.shape[0], low=0.0))
            if groups is not None:
                need = self.disparity == "group" and self.lam > 0
                G.append(_two_groups(groups[q], x.shape[0], q) if need
                         else _group_labels(groups[q], x.shape[0], q)[0])
            else:
                if self.disparity == "group" and self.lam > 0:
                    raise InvalidInputError("groups is required for the group disparity")
                G.append(None)
        return Xs, U, G

    def fit(self, X, relevance, groups=None, validation=None):
        """X: list of (m_q x f) feature matrices; relevance: list of gains u >= 0 (e.g. grades,
        or ``ips_relevance`` estimates); groups: list of 0/1 group labels per document;
        validation: optional (X_val, relevance_val, groups_val) for early stopping on J_val."""
        Xs, U, G = self._check(X, relevance, groups)
        prefer_compiled()   # a long loop of small PL kernel calls
        if validation is not None:
            if len(validation) != 3:
                raise InvalidInputError("validation must be (X_val, relevance_val, groups_val)")
            Xv, Uv, Gv = self._check(*validation)
            if Xv[0].shape[1] != Xs[0].shape[1]:
                raise InvalidInputError("validation features must have as many columns as X")
        rng = np.random.default_rng(self.random_state)
        f0, hid = Xs[0].shape[1], int(self.hidden)
        if any(x.shape[1] != f0 for x in Xs):
            raise InvalidInputError("every X[q] must have the same number of columns")
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
        """Per-query PL scores h_θ(x) (xw when linear)."""
        return [_forward(self.coef_, self._inputs(np.asarray(x, dtype=np.float64)),
                         int(self.hidden))[0] for x in X]


def _group_labels(labels, m, q):
    """(codes, number of groups) of query q's m group labels (InvalidInputError naming it)."""
    return check_groups(labels, f"groups[{q}]", m, min_groups=1 if m else 0)


def _two_groups(labels, m, q):
    g, K = _group_labels(labels, m, q)
    if K > 2:
        raise InvalidInputError(f"groups[{q}] has {K} groups; the group disparity needs two")
    return g


def policy_measures(S, relevance, groups, n_samples: int = 200, random_state=None,
                    P=None, individual: bool = False):
    """Mean over queries of the policy's expected NDCG and group disparity, for PL policies with
    scores ``S`` (list; exact from PL's rank marginals for lists of <= 12 documents, else
    Monte-Carlo with ``n_samples`` rankings, NDCG with its standard error, exposure from the same
    samples), or for given rank-marginal matrices ``P`` (list; exact). A query whose candidates
    form a single group (or ``groups`` None) counts with disparity 0, as in the authors'
    evaluation; ``individual=True`` reports the individual disparity instead."""
    rng = np.random.default_rng(random_state)
    nd, disp, se2 = [], [], []
    for q in range(len(relevance)):
        u = check_vector(relevance[q], f"relevance[{q}]", low=0.0)
        m = u.shape[0]
        v = pl.position_discount(m)
        ideal = np.sort(u)[::-1] @ v
        if P is None and m <= _EXACT_UP_TO:
            e = pl.rank_marginals(S[q]) @ v
            nd.append(e @ u / ideal if ideal > 0 else 0.0)
            se2.append(0.0)
        elif P is None:
            perms = pl.sample_permutations(S[q], n_samples, rng)
            E = _exposures(perms, v)
            vals = E @ u / ideal if ideal > 0 else np.zeros(n_samples)
            nd.append(vals.mean())
            se2.append(vals.var(ddof=1) / n_samples)
            e = E.mean(axis=0)
        else:
            e = np.asarray(P[q]) @ v
            nd.append(e @ u / ideal if ideal > 0 else 0.0)
            se2.append(0.0)
        if individual:
            disp.append(individual_disparity(e, u))
        elif groups is None or groups[q] is None or len(np.unique(groups[q])) < 2:
            disp.append(0.0)
        else:
            disp.append(group_disparity(e, u, groups[q]))
    n = len(nd)
    return {"ndcg": float(np.mean(nd)), "ndcg_se": float(np.sqrt(np.sum(se2)) / n),
            "disparity": float(np.mean(disp)),
            "disparity_se": float(np.std(disp, ddof=1) / np.sqrt(n))
            if n > 1 else 0.0}


def ips_relevance(log, sizes, propensities, clip: float | None = None):
    """Per-query arrays û(d) = (1/n_q) Σ_{sessions of q} click(d) / p_{rank(d)} from a
    SessionLog (documents never shown get 0); ``propensities[r-1]`` = p_r; ``clip`` caps 1/p."""
    p = check_vector(propensities, "propensities", low=0.0)
    if np.any(p <= 0):
        raise InvalidInputError("propensities must be > 0")
    out = [np.zeros(int(m)) for m in sizes]
    n_q = np.zeros(len(sizes))
    for s in range(log.n_sessions):
        q = int(log.query[s])
        n_q[q] += 1
        a, b = log.offsets[s], log.offsets[s + 1]
        for i in range(a, b):
            if log.click[i]:
                w = 1.0 / p[log.position[i] - 1]
                out[q][log.doc[i]] += w if clip is None else min(w, clip)
    return [o / max(n, 1.0) for o, n in zip(out, n_q)]
