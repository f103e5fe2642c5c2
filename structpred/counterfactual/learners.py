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
import warnings

import numpy as np
from scipy.optimize import minimize

from .. import persistence
from ..errors import MAX_ABS_FEATURE, InvalidInputError, InvalidInputTypeError, NotFittedError
from ..model import StructuredModel, _repr_changed, _set_params
from ..parallel import limit_threads
from ..boundary.params import (check_choice, check_draws, check_grid, check_int,
                               check_n_samples, check_positive, check_probability, check_real,
                               check_seed, check_verbose)
from ..svm import _as_examples, _n_examples
from .estimators import GibbsTarget, default_clip, ips, snips
from .feedback import BanditFeedback
from .objectives import LOG_MAX_WEIGHT, OBJECTIVES, _risk_and_coef

__all__ = ["CRM"]

_HOOKS = ("log_prob", "log_prob_grad")

#: Largest max_iter accepted (L-BFGS's iteration counter is a C int).
MAX_ITER = 2 ** 31 - 1


def _grid(value):
    return list(value) if isinstance(value, (list, tuple, np.ndarray)) else [value]


def _clip_value(m, name):
    if isinstance(m, str) and m == "auto":
        return m
    return check_positive(m, name, allow_none=True, allow_inf=True)


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
        M of the clipped weights min(M, π_w/p_i). "auto": POEM's ratio p_(90)/p_(10) of the
        90th to the 10th percentile of the training propensities for "ips"/"poem"
        (Swaminathan & Joachims, ICML 2015, Sec. 7; ``default_clip``), no clipping for the
        self-normalized objectives and BanditNet; None: no clipping. POEM's rule gives M = 1
        when the two percentiles coincide (a uniform logger): every weight of the starting
        policy w0 (w = 0 is uniform too) is then at the clip, the clipped objective has a zero
        gradient and nothing is learnt; in that case (every logged weight with a non-zero
        loss clipped at w0) "auto" fits without clipping instead, with a RuntimeWarning
        naming clip (``clip_`` is then inf). An explicit clip that clips every weight at the
        start only warns. Without clipping, ips/poem/banditnet refuse a propensity below
        exp(−709.78) (its weight can exceed float64), naming the example.
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
    random_state : seed of the split and of the stochastic optimizer (None, an integer in
        [0, 2**32 − 1] or a numpy Generator)
    verbose : 0 or 1 (one line per fitted setting); a bool or an integer >= 0

    Every list given is a grid (a non-empty one); the parameters are checked at ``fit``
    before any work, InvalidInputError naming the parameter (``max_iter`` at most 2**31 − 1).
    Losses beyond ±MAX_ABS_FEATURE (1e50, after ``loss_translation``) are refused naming the
    example, and weights that grow until the policy's scores overflow float64 are reported
    naming the losses and C.

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
        if not isinstance(self.model, StructuredModel):
            raise InvalidInputTypeError(f"model must be a StructuredModel (a task such as "
                                        f"Multiclass()), got {type(self.model).__name__}")
        check_choice(self.objective, "objective", OBJECTIVES)
        check_choice(self.optimizer, "optimizer", ("lbfgs", "majorization"))
        if self.optimizer == "majorization" and self.objective not in ("ips", "poem"):
            raise InvalidInputError("optimizer='majorization' is POEM's optimizer: it serves "
                                    f"objective 'ips' or 'poem', not {self.objective!r}")
        check_grid(self.C, "C", lambda c, n: check_positive(c, n, allow_inf=True))
        check_grid(self.variance_weight, "variance_weight", lambda v, n: check_real(v, n, 0.0))
        check_grid(self.clip, "clip", _clip_value)
        if self.translation is not None:
            check_grid(self.translation, "translation", check_real)
        check_real(self.loss_translation, "loss_translation")
        check_int(self.max_iter, "max_iter", 1, MAX_ITER, strict=True)
        check_positive(self.tol, "tol")
        check_int(self.batch_size, "batch_size", 1, strict=True)
        check_positive(self.learning_rate, "learning_rate")
        check_probability(self.validation_fraction, "validation_fraction", allow_zero=False,
                          allow_one=False)
        check_seed(self.random_state)
        check_verbose(self.verbose)

    # ------------------------------------------------------------- fit
    def fit(self, feedback: BanditFeedback, validation: BanditFeedback | None = None, w0=None):
        """Learn w = argmin_w ½‖w‖² + C·R(w) from ``feedback`` (R the objective's risk on the
        losses δ_i − loss_translation); hyper-parameters given as lists are chosen on
        ``validation`` (default: a held-out ``validation_fraction`` of ``feedback``, which must
        hold out at least 2 examples and keep 1 to train on). ``w0``: the starting weights
        (default 0), ``size_joint_feature`` finite numbers. An uninitialized task is
        initialized from ``feedback`` first, as ``StructuredSVM.fit`` does."""
        self._check_params()
        if not isinstance(feedback, BanditFeedback):
            raise InvalidInputError(f"fit takes a BanditFeedback, got {type(feedback).__name__}")
        if validation is not None and not isinstance(validation, BanditFeedback):
            raise InvalidInputError(f"validation must be a BanditFeedback or None, got "
                                    f"{type(validation).__name__}")
        task = self.model
        task.check_probabilistic(needs=_HOOKS)
        if task.size_joint_feature is None:
            task.initialize(feedback.X, feedback.Y)
        feedback.check_task(task)
        d = task.size_joint_feature
        if w0 is None:
            w0 = np.zeros(d)
        else:
            try:
                w0 = np.asarray(w0, dtype=np.float64).ravel()
            except (TypeError, ValueError):
                raise InvalidInputError(f"w0 must be {d} finite weights, got "
                                        f"{type(w0).__name__} {str(w0)[:40]!r}") from None
            if w0.shape != (d,) or not np.all(np.isfinite(w0)):
                raise InvalidInputError(f"w0 must be {d} finite weights, got shape {w0.shape}")
            with np.errstate(over="ignore"):
                norm2 = float(w0 @ w0)
            if not math.isfinite(norm2):
                raise InvalidInputError("w0: ‖w0‖² overflows float64; start from smaller weights")
        shifted = feedback.translated(self.loss_translation)
        big = np.flatnonzero(~(np.abs(shifted.loss) <= MAX_ABS_FEATURE))
        if big.size:
            i = int(big[0])
            raise InvalidInputError(
                f"feedback.loss of example {i} is {float(feedback.loss[i])!r}"
                f"{' (after loss_translation)' if self.loss_translation else ''}: CRM needs "
                f"|loss| <= {MAX_ABS_FEATURE:g} (structpred.errors.MAX_ABS_FEATURE); rescale "
                "the losses", i)
        settings = self._settings(shifted)
        train = feedback
        if validation is None and len(settings) > 1:
            n = len(feedback)
            k = min(max(int(round(self.validation_fraction * n)), 1), n - 1) if n > 1 else 0
            if k < 2 or n - k < 1:
                raise InvalidInputError(
                    f"validation_fraction={self.validation_fraction:g} of {n} logged examples "
                    f"holds out {k}: choosing among {len(settings)} hyper-parameter settings "
                    "needs at least 2 held-out examples and 1 to train on; give more feedback, "
                    "a larger validation_fraction, or validation=")
            train, validation = feedback.split(self.validation_fraction, self.random_state)
        elif validation is not None:
            if len(validation) < 2:
                raise InvalidInputError("validation: held-out feedback with one example has no "
                                        "estimate to choose by (at least 2 are needed)")
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
            if not math.isfinite(obj):
                raise InvalidInputError(f"CRM {self.objective}: the objective at the learnt "
                                        f"weights is {obj!r}: feedback.loss or the importance "
                                        "weights (feedback.propensity) too large for float64")
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
        if isinstance(clip, str) and clip == "auto":
            return default_clip(feedback) if self.objective in ("ips", "poem") else math.inf
        return math.inf if clip is None else float(clip)

    def _clip_freezes(self, loss, log_w, lam, clip) -> bool:
        """True when the clip M holds every logged weight that carries a gradient at log w
        (log w_i >= log M, up to rounding): the clipped objective's gradient is then 0."""
        active = log_w < math.log(clip) - 1e-9
        if self.objective in ("snips", "norm-poem"):
            return bool(np.ptp(loss) > 0) and not active.any()
        delta = loss - lam if self.objective == "banditnet" else loss
        moving = delta != 0
        return bool(moving.any()) and not np.any(active & moving)

    def _check_start(self, train, lp0, params, clip, lam):
        """The clip and the weights at the starting point: the "auto" fallback when POEM's
        clip freezes the learner (a RuntimeWarning naming clip), the refusal of unclipped
        weights that can exceed float64. Returns the clip to use."""
        log_w0 = lp0 - train.log_propensity
        if math.isfinite(clip) and self._clip_freezes(train.loss, log_w0, lam, clip):
            auto = isinstance(params["clip"], str)
            what = ("clip='auto' (POEM's ratio of the 90th to the 10th percentile propensity)"
                    if auto else "clip")
            tail = ("; 'auto' fits without clipping instead (clip_ = inf); pass clip=M to "
                    "choose one" if auto else "; pass a larger clip or clip=None")
            warnings.warn(f"CRM {self.objective}: {what} = {clip:.6g} clips every logged "
                          "importance weight at the starting weights w0, so the clipped "
                          f"objective has a zero gradient there and nothing would be learnt"
                          f"{tail}", RuntimeWarning, stacklevel=4)
            if auto:
                clip = math.inf
        if math.isinf(clip) and self.objective in ("ips", "poem", "banditnet"):
            tiny = np.flatnonzero(-train.log_propensity > LOG_MAX_WEIGHT)
            if tiny.size:
                i = int(tiny[0])
                raise InvalidInputError(
                    f"feedback.propensity of example {i} is exp({float(train.log_propensity[i]):.6g}):"
                    f" with objective={self.objective!r} and no clipping its importance weight "
                    "π_w/p can exceed float64's largest number (1.8e308); pass clip=M or drop "
                    "the example", i)
        return clip

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
        C_given = C
        # C = inf: min_w R(w), no L2 term (l2 = 0, the risk weighted by 1)
        l2, C = (0.0, 1.0) if math.isinf(C) else (1.0, C)
        task = self.model
        batch = task.make_batch(train.X, train.Y)   # the logged structures are its labels
        lp0 = np.asarray(task.batch_log_prob(batch, w0), dtype=np.float64)
        clip = self._check_start(train, lp0, params, clip, lam)

        def fun(w):
            lp = np.asarray(task.batch_log_prob(batch, w), dtype=np.float64)
            value, coef = _risk_and_coef(self.objective, train.loss, lp - train.log_propensity,
                                         lam, clip)
            _, g = task.batch_log_prob_grad(batch, w, C * coef)
            with np.errstate(over="ignore", invalid="ignore"):
                norm2 = float(w @ w)
                f = 0.5 * l2 * norm2 + C * value
            if not math.isfinite(norm2):
                raise InvalidInputError("the weights w overflow float64 (‖w‖² is not finite)")
            if not (math.isfinite(f) and np.all(np.isfinite(g))):
                raise InvalidInputError(
                    f"CRM {self.objective}: the objective or its gradient is not finite: "
                    f"feedback.loss (max |δ| = {float(np.max(np.abs(train.loss))):g}) times the "
                    f"importance weights (feedback.propensity down to "
                    f"exp({float(np.min(train.log_propensity)):.6g})) and C={C_given:g} are too "
                    "large for float64; rescale the losses, clip the weights or lower C")
            return f, l2 * w + g

        fun(w0)     # the data's own faults, at the start, as they are
        try:
            if self.optimizer == "lbfgs":
                res = minimize(fun, w0.copy(), jac=True, method="L-BFGS-B",
                               options={"maxiter": self.max_iter, "gtol": self.tol})
                return res.x, float(res.fun), int(res.nit), clip
            w, obj, epochs = self._majorization(train, fun, C, lam, clip, w0, l2)
        except InvalidInputError as exc:
            step = (f"learning_rate={self.learning_rate:g} or " if self.optimizer ==
                    "majorization" else "")
            raise InvalidInputError(
                f"CRM {self.objective}: the optimizer's weights grew until the policy failed "
                f"({exc}); {step}the risk term is too large for float64: feedback.loss up to "
                f"|δ| = {float(np.max(np.abs(train.loss))):g} (after loss_translation) with "
                f"C={C_given:g}; rescale the losses, lower C"
                f"{' or the learning rate' if step else ''}") from None
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
        log_clip = math.log(clip) if math.isfinite(clip) else LOG_MAX_WEIGHT
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
        try:
            if self.objective in ("ips", "poem"):
                return ips(validation, target).value      # POEM: the unbiased (unclipped) IPS
            return snips(validation, target).value
        except InvalidInputError as exc:
            raise InvalidInputError(f"validation (the held-out feedback that chooses the "
                                    f"hyper-parameters): {exc}", exc.index) from None

    # ------------------------------------------------------------- use
    def _check_fitted(self):
        if getattr(self, "w_", None) is None:
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call "
                                 "fit(feedback) or CRM.load(path)")

    def target(self) -> GibbsTarget:
        """The learnt policy as an estimator target (π_w with w = w_)."""
        self._check_fitted()
        return GibbsTarget(self.model, self.w_)

    def _examples(self, X, Y=None):
        """(X, Y, n) checked: X (and Y) sequences of examples of one length, by the task's
        ``check_input``; InvalidInputError naming X or Y."""
        X = _as_examples(X)
        n = _n_examples(X, "X")
        if Y is not None:
            Y = _as_examples(Y)
            n_y = _n_examples(Y, "Y")
            if n_y != n:
                raise InvalidInputError(f"X and Y have different lengths: len(X)={n}, "
                                        f"len(Y)={n_y}")
        self.model.check_input(X, Y)
        return X, Y, n

    def predict(self, X):
        """The most probable structure argmax_y π_w(y|x) = argmax_y w·Ψ(x, y) per context
        (an empty X gives an empty result)."""
        self._check_fitted()
        X, _, n = self._examples(X)
        if n == 0:
            return []
        return self.model.batch_inference(self.model.make_batch(X), self.w_)

    def sample(self, X, n: int = 1, random_state=None) -> list:
        """n structures y ~ π_w(·|x) per context, as the task's labels (what ``predict``
        returns); ``n`` draws per context, at most MAX_DRAWS in all; ``random_state`` a seed."""
        self._check_fitted()
        check_n_samples(n, "n")
        random_state = check_seed(random_state)
        X, _, m = self._examples(X)
        n = check_draws(n, m, "n")
        if m == 0:
            return []
        return self.model.batch_sample(self.model.make_batch(X), self.w_, n, random_state)

    def log_prob(self, X, Y) -> np.ndarray:
        """log π_w(y_i|x_i) (an empty X gives an empty array)."""
        self._check_fitted()
        X, Y, n = self._examples(X, Y)
        if n == 0:
            return np.zeros(0)
        return np.asarray(self.model.batch_log_prob(self.model.make_batch(X, Y), self.w_))

    def expected_loss(self, X, Y, n_samples: int = 1000, random_state=None) -> float:
        """(1/n) Σ_i E_{y~π_w(·|x_i)}[Δ(y_i, y)] against full-information labels Y (exact
        where the task's loss decomposes over its marginals, else ``n_samples`` draws per
        example, at most MAX_DRAWS in all). An empty X has no mean: InvalidInputError naming
        X."""
        self._check_fitted()
        check_n_samples(n_samples, "n_samples")
        random_state = check_seed(random_state)
        if Y is None:
            raise InvalidInputError("Y: expected_loss needs the full-information labels Y")
        X, Y, n = self._examples(X, Y)
        if n == 0:
            raise InvalidInputError("X has no examples: the mean expected loss of an empty set "
                                    "is undefined")
        n_samples = check_draws(n_samples, n, "n_samples")
        means, _ = self.model.batch_expected_loss(self.model.make_batch(X, Y), self.w_,
                                                   n_samples, random_state)
        return float(np.mean(means))

    def score(self, X, Y) -> float:
        """−expected_loss(X, Y) (higher is better, as scikit-learn expects)."""
        return -self.expected_loss(X, Y)

    def estimate(self, feedback: BanditFeedback, estimator: str = "snips", **kwargs):
        """An off-policy estimate of the learnt policy's risk on other logged ``feedback``
        ("ips" or "snips"; the keyword arguments ``clip`` and ``level`` go to the estimator,
        any other is refused naming it)."""
        fn = {"ips": ips, "snips": snips}[check_choice(estimator, "estimator", ("ips", "snips"))]
        unknown = sorted(set(kwargs) - {"clip", "level"})
        if unknown:
            raise InvalidInputError(f"estimate: unknown keyword argument(s) "
                                    f"{', '.join(map(repr, unknown))}; {estimator} takes clip "
                                    "and level")
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
