"""Counterfactual risk minimization (CRM): learn a Gibbs policy π_w(y|x) ∝ exp(w·Ψ(x, y)) of
any task with probabilistic hooks from logged bandit feedback (x_i, y_i, δ_i, p_i).

    min_w  ½‖w‖² + C · R(w)

with R one of :mod:`.objectives` (clipped IPS, POEM's IPS + λ·sqrt(V̂/n), SNIPS, Norm-POEM's
SNIPS + λ·sqrt(V̂), BanditNet's translated IPS). C follows structpred's convention (½‖w‖² +
(C/n) Σ ... for a mean risk); POEM's μ‖w‖² + R(w) is C = 1/(2μ).

References: Swaminathan & Joachims, "Counterfactual Risk Minimization: Learning from Logged
Bandit Feedback", ICML 2015 / JMLR 16 (2015) (POEM, and its majorization-based stochastic
optimizer); "The Self-Normalized Estimator for Counterfactual Learning", NIPS 2015 (Norm-POEM);
Joachims, Swaminathan & de Rijke, "Deep Learning with Logged Bandit Feedback", ICLR 2018
(BanditNet).
"""
from __future__ import annotations

import copy
import inspect
import itertools
import math
import time

import numpy as np
from scipy.optimize import minimize

from .. import persistence
from ..errors import InvalidInputError, NotFittedError
from ..model import _repr_changed, _set_params
from ..parallel import limit_threads
from ..boundary.params import (check_choice, check_int, check_positive, check_probability,
                               check_real)
from .estimators import GibbsTarget, default_clip, ips, snips
from .feedback import BanditFeedback
from .objectives import OBJECTIVES, _risk_and_coef

__all__ = ["CRM"]

_HOOKS = ("log_prob", "log_prob_grad")


def _grid(value):
    return list(value) if isinstance(value, (list, tuple, np.ndarray)) else [value]


def _take(X, index):
    return X[index] if hasattr(X, "shape") else [X[i] for i in index]


class CRM:
    """Counterfactual risk minimization of a stochastic structured policy.

    Parameters
    ----------
    model : StructuredModel with probabilistic hooks (``batch_log_prob``, ``batch_log_prob_grad``)
    objective : "ips" | "poem" | "snips" | "norm-poem" | "banditnet"
    C : float or list of floats
        weight of the risk against ½‖w‖² (POEM's L2 weight μ is 1/(2C)); ``math.inf``: no L2
        term, min_w R(w) (μ = 0, what POEM's own Scene experiments ran).
    variance_weight : float or list
        λ of POEM (λ·sqrt(V̂/n)) and Norm-POEM (λ·sqrt(V̂)); ignored by the others.
    clip : "auto", None, float > 0 or list
        M of the clipped weights min(M, π_w/p_i). "auto": POEM's ratio of the 90th to the 10th
        percentile of the training propensities for "ips"/"poem", no clipping for the
        self-normalized objectives and BanditNet; None: no clipping.
    translation : float, list or None
        BanditNet's λ: the risk is (1/n) Σ (δ_i − λ) w_i. None: a sweep over the 0, 25, 50, 75
        and 100th percentiles of the training losses, chosen by SNIPS on the held-out part.
    loss_translation : float
        subtracted from every logged loss before learning (POEM's experiments learn from losses
        translated to be <= 0). Held-out estimates (``cv_results_``) are on the logged scale.
    optimizer : "lbfgs" (batch L-BFGS) or "majorization" (POEM's stochastic majorization:
        the variance term is majorized by a per-example quadratic in u_i = δ_i w̄_i at the last
        epoch's iterate, then AdaGrad over minibatches; JMLR 2015, Sec. 5)
    max_iter : L-BFGS iterations, or epochs of the majorization optimizer
    tol : L-BFGS gradient tolerance
    batch_size, learning_rate : minibatch size and AdaGrad step of the majorization optimizer
    validation_fraction : held-out part of the logged data (POEM: 0.25) used when some
        hyper-parameter is a list, unless ``fit`` is given ``validation``. The choice is made by
        the estimator's own estimate on the held-out part, as in the papers: the unbiased
        (unclipped) IPS estimate for "ips" and "poem" (ICML 2015, Sec. 7), SNIPS for "snips",
        "norm-poem" (NIPS 2015) and "banditnet" (ICLR 2018). The chosen model is the one
        trained on the rest (as in the papers; it is not refitted on everything).
    random_state : seed of the split and of the stochastic optimizer
    verbose : 0 or 1 (one line per fitted setting)

    Attributes
    ----------
    w_ : the learnt weights; best_params_ (the chosen hyper-parameters); cv_results_ (one dict
    per setting: its parameters, training objective, held-out estimate, fit time);
    objective_ (the training objective at w_); n_iter_; clip_ (the M used); fit_time_.
    """

    def __init__(self, model, objective: str = "poem", C=1.0, variance_weight=0.0, clip="auto",
                 translation=None, loss_translation: float = 0.0, optimizer: str = "lbfgs",
                 max_iter: int = 200, tol: float = 1e-6, batch_size: int = 100,
                 learning_rate: float = 0.1, validation_fraction: float = 0.25,
                 random_state=None, verbose: int = 0):
        self.model = model
        self.objective = objective
        self.C = C
        self.variance_weight = variance_weight
        self.clip = clip
        self.translation = translation
        self.loss_translation = loss_translation
        self.optimizer = optimizer
        self.max_iter = max_iter
        self.tol = tol
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------- scikit-learn protocol
    def get_params(self, deep: bool = True) -> dict:
        """Constructor parameters (``model__<param>`` for the task's own when ``deep``)."""
        sig = inspect.signature(type(self).__init__)
        params = {name: getattr(self, name) for name in sig.parameters if name != "self"}
        if deep and hasattr(self.model, "get_params"):
            params.update({f"model__{k}": v for k, v in self.model.get_params(deep=True).items()})
        return params

    def set_params(self, **params) -> "CRM":
        """Set constructor parameters (``name`` or ``model__param``); returns self."""
        _set_params(self, params)
        return self

    def __repr__(self) -> str:
        return _repr_changed(self)

    def _check_params(self):
        check_choice(self.objective, "objective", OBJECTIVES)
        check_choice(self.optimizer, "optimizer", ("lbfgs", "majorization"))
        if self.optimizer == "majorization" and self.objective not in ("ips", "poem"):
            raise InvalidInputError("optimizer='majorization' is POEM's optimizer: it serves "
                                    f"objective 'ips' or 'poem', not {self.objective!r}")
        for c in _grid(self.C):
            check_positive(c, "C", allow_inf=True)
        for lam in _grid(self.variance_weight):
            check_real(lam, "variance_weight", 0.0)
        for m in _grid(self.clip):
            if m != "auto":
                check_positive(m, "clip", allow_none=True, allow_inf=True)
        if self.translation is not None:
            for t in _grid(self.translation):
                check_real(t, "translation")
        check_real(self.loss_translation, "loss_translation")
        check_int(self.max_iter, "max_iter", 1, strict=True)
        check_positive(self.tol, "tol")
        check_int(self.batch_size, "batch_size", 1, strict=True)
        check_positive(self.learning_rate, "learning_rate")
        check_probability(self.validation_fraction, "validation_fraction", allow_zero=False,
                          allow_one=False)

    # ------------------------------------------------------------- fit
    def fit(self, feedback: BanditFeedback, validation: BanditFeedback | None = None, w0=None):
        """Learn w from ``feedback``; hyper-parameters given as lists are chosen on
        ``validation`` (default: a held-out ``validation_fraction`` of ``feedback``)."""
        self._check_params()
        if not isinstance(feedback, BanditFeedback):
            raise InvalidInputError(f"fit takes a BanditFeedback, got {type(feedback).__name__}")
        task = self.model
        task.check_probabilistic(needs=_HOOKS)
        feedback.check_task(task)
        if task.size_joint_feature is None:
            task.initialize(feedback.X, feedback.Y)
        d = task.size_joint_feature
        w0 = np.zeros(d) if w0 is None else np.asarray(w0, dtype=np.float64).ravel()
        if w0.shape != (d,) or not np.all(np.isfinite(w0)):
            raise InvalidInputError(f"w0 must be {d} finite weights, got shape {w0.shape}")
        settings = self._settings(feedback.translated(self.loss_translation))
        train = feedback
        if validation is None and len(settings) > 1:
            train, validation = feedback.split(self.validation_fraction, self.random_state)
        elif validation is not None:
            validation.check_task(task)
        # learn on the translated losses; judge on the held-out losses as logged (for IPS the
        # translation would add −shift·(mean weight − 1) of pure noise to the estimate)
        if self.loss_translation:
            train = train.translated(self.loss_translation)
        self.cv_results_ = []
        best = None
        t_start = time.perf_counter()
        for params in settings:
            t0 = time.perf_counter()
            with limit_threads(1):   # BLAS threads cost more than they give on these products
                w, obj, n_iter, clip = self._fit_one(train, params, w0)
            row = dict(params, clip=clip, objective=obj, n_iter=n_iter,
                       fit_time=time.perf_counter() - t0)
            if validation is not None:
                row["validation"] = self._select_estimate(validation, w, clip)
            self.cv_results_.append(row)
            if self.verbose:
                print(f"CRM {self.objective}: {params} clip={clip:.4g} objective={obj:.6g} "
                      f"held-out={row.get('validation', float('nan')):.6g} "
                      f"({row['fit_time']:.2f} s, {n_iter} iterations)")
            key = row.get("validation", obj)
            if best is None or key < best[0]:
                best = (key, w, row)
        _, self.w_, row = best
        self.best_params_ = {k: row[k] for k in settings[0]}
        self.clip_ = row["clip"]
        self.objective_ = row["objective"]
        self.n_iter_ = row["n_iter"]
        self.fit_time_ = time.perf_counter() - t_start
        return self

    def _settings(self, feedback):
        names = ["C"]
        grids = [_grid(self.C)]
        if self.objective in ("poem", "norm-poem"):
            names.append("variance_weight")
            grids.append(_grid(self.variance_weight))
        names.append("clip")
        grids.append(_grid(self.clip))
        if self.objective == "banditnet":
            names.append("translation")
            if self.translation is None:
                grids.append([float(v) for v in np.percentile(feedback.loss, [0, 25, 50, 75, 100])])
            else:
                grids.append(_grid(self.translation))
        return [dict(zip(names, combo)) for combo in itertools.product(*grids)]

    def _resolve_clip(self, clip, feedback):
        if clip == "auto":
            return default_clip(feedback) if self.objective in ("ips", "poem") else math.inf
        return math.inf if clip is None else float(clip)

    def _lam(self, params):
        if self.objective == "banditnet":
            return float(params["translation"])
        return float(params.get("variance_weight", 0.0))

    def _check_variance(self, feedback, params):
        if self.objective in ("poem", "norm-poem") and params.get("variance_weight", 0) > 0:
            if len(feedback) < 2:
                raise InvalidInputError(f"objective={self.objective!r} penalises a sample "
                                        "variance: the feedback needs at least 2 examples")
            if np.ptp(feedback.loss) == 0 and np.ptp(feedback.log_propensity) == 0:
                raise InvalidInputError(
                    f"feedback: every example has the same loss ({feedback.loss[0]:g}) and the "
                    f"same propensity; the variance that objective={self.objective!r} penalises "
                    "carries no information (use objective='ips' or 'snips')")

    def _fit_one(self, train, params, w0):
        self._check_variance(train, params)
        clip = self._resolve_clip(params["clip"], train)
        C, lam = float(params["C"]), self._lam(params)
        # C = inf: min_w R(w), no L2 term (l2 = 0, the risk weighted by 1)
        l2, C = (0.0, 1.0) if math.isinf(C) else (1.0, C)
        task = self.model
        batch = task.make_batch(train.X, train.Y)   # the logged structures are its labels

        def fun(w):
            lp = np.asarray(task.batch_log_prob(batch, w), dtype=np.float64)
            value, coef = _risk_and_coef(self.objective, train.loss, lp - train.log_propensity,
                                         lam, clip)
            _, g = task.batch_log_prob_grad(batch, w, C * coef)
            return 0.5 * l2 * float(w @ w) + C * value, l2 * w + g

        if self.optimizer == "lbfgs":
            res = minimize(fun, w0.copy(), jac=True, method="L-BFGS-B",
                           options={"maxiter": self.max_iter, "gtol": self.tol})
            return res.x, float(res.fun), int(res.nit), clip
        w, obj, epochs = self._majorization(train, fun, C, lam, clip, w0, l2)
        return w, obj, epochs, clip

    def _majorization(self, train, fun, C, lam, clip, w0, l2=1.0):
        """POEM's stochastic majorization (JMLR 2015, Sec. 5). At the epoch's reference w_0
        (ū_0, V̂_0 of u_i = δ_i w̄_i), λ sqrt(V̂/n) <= const + (1/n) Σ_i [B u_i² − A u_i] with
        A = λ n ū_0 / ((n−1) sqrt(n V̂_0)), B = λ n / (2 (n−1) sqrt(n V̂_0)) (concavity of the
        square root, convexity of ū²); each epoch runs AdaGrad over minibatches of the
        per-example surrogate ½‖w‖² + C (1/n) Σ_i [(1 − A) u_i + B u_i²], and keeps the best
        iterate by the true objective."""
        task = self.model
        rng = np.random.default_rng(self.random_state)
        n = len(train)
        log_clip = math.log(clip) if math.isfinite(clip) else 700.0
        w = w0.copy()
        best_obj, best_w = fun(w)[0], w.copy()
        G = np.zeros_like(w)
        Yall = train.Y if isinstance(train.Y, list) else list(train.Y)
        full = task.make_batch(train.X, train.Y)
        for epoch in range(self.max_iter):
            A, B = 0.0, 0.0
            if self.objective == "poem" and lam > 0 and n > 1:
                lp = np.asarray(task.batch_log_prob(full, w))
                u = train.loss * np.exp(np.minimum(lp - train.log_propensity, log_clip))
                sd = float(np.std(u, ddof=1))
                if sd > 0:
                    A = lam * n * u.mean() / ((n - 1) * math.sqrt(n) * sd)
                    B = lam * n / (2 * (n - 1) * math.sqrt(n) * sd)
            perm = rng.permutation(n)
            for start in range(0, n, self.batch_size):
                idx = np.sort(perm[start:start + self.batch_size])
                Xb, Yb = _take(train.X, idx), [Yall[i] for i in idx]
                batch = task.make_batch(Xb, Yb)
                lp = np.asarray(task.batch_log_prob(batch, w))
                lw = lp - train.log_propensity[idx]
                active = lw < log_clip
                u = train.loss[idx] * np.exp(np.minimum(lw, log_clip))
                coef = np.where(active, ((1 - A) + 2 * B * u) * u, 0.0) / len(idx)
                _, g = task.batch_log_prob_grad(batch, w, C * coef)
                g = g + l2 * w
                G += g * g
                w = w - self.learning_rate * g / (np.sqrt(G) + 1e-12)
            obj = fun(w)[0]
            if obj < best_obj:
                best_obj, best_w = obj, w.copy()
        return best_w, float(best_obj), self.max_iter

    def _select_estimate(self, validation, w, clip):
        target = GibbsTarget(self.model, w)
        if self.objective in ("ips", "poem"):
            return ips(validation, target).value      # POEM: the unbiased (unclipped) IPS
        return snips(validation, target).value

    # ------------------------------------------------------------- use
    def _check_fitted(self):
        if getattr(self, "w_", None) is None:
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call "
                                 "fit(feedback) or CRM.load(path)")

    def target(self) -> GibbsTarget:
        """The learnt policy as an estimator target (π_w with w = w_)."""
        self._check_fitted()
        return GibbsTarget(self.model, self.w_)

    def predict(self, X):
        """The most probable structure argmax_y π_w(y|x) = argmax_y w·Ψ(x, y) per context."""
        self._check_fitted()
        self.model.check_input(X)
        return self.model.batch_inference(self.model.make_batch(X), self.w_)

    def sample(self, X, n: int = 1, random_state=None) -> list:
        """n structures drawn from π_w(·|x) per context."""
        self._check_fitted()
        self.model.check_input(X)
        return self.model.batch_sample(self.model.make_batch(X), self.w_, n, random_state)

    def log_prob(self, X, Y) -> np.ndarray:
        """log π_w(y_i|x_i)."""
        self._check_fitted()
        self.model.check_input(X, Y)
        return np.asarray(self.model.batch_log_prob(self.model.make_batch(X, Y), self.w_))

    def expected_loss(self, X, Y, n_samples: int = 1000, random_state=None) -> float:
        """(1/n) Σ_i E_{y~π_w(·|x_i)}[Δ(y_i, y)] against full-information labels Y (exact
        where the task's loss decomposes over its marginals)."""
        self._check_fitted()
        self.model.check_input(X, Y)
        means, _ = self.model.batch_expected_loss(self.model.make_batch(X, Y), self.w_,
                                                   n_samples, random_state)
        return float(np.mean(means))

    def score(self, X, Y) -> float:
        """−expected_loss(X, Y) (higher is better, as scikit-learn expects)."""
        return -self.expected_loss(X, Y)

    def estimate(self, feedback: BanditFeedback, estimator: str = "snips", **kwargs):
        """An off-policy estimate of the learnt policy's risk on other logged ``feedback``
        ("ips" or "snips"; keyword arguments go to the estimator)."""
        fn = {"ips": ips, "snips": snips}[check_choice(estimator, "estimator", ("ips", "snips"))]
        return fn(feedback, self.target(), **kwargs)

    # ------------------------------------------------------------- model files
    def save(self, path) -> None:
        """Write the task, parameters and w_ to ``path`` (structpred's .npz model file). A
        model fitted over a grid is saved with the chosen hyper-parameters (``best_params_``,
        the clip as resolved) in place of the lists."""
        self._check_fitted()
        chosen = copy.copy(self)
        for key, value in getattr(self, "best_params_", {}).items():
            setattr(chosen, key, None if key == "clip" and math.isinf(value) else value)
        persistence.save(chosen, path)

    @classmethod
    def load(cls, path, tasks=None) -> "CRM":
        """Read a model file written by ``CRM.save`` (``tasks``: task classes from outside
        structpred that the file may name)."""
        return persistence.load(path, tasks=tasks, estimator_class=cls)
