"""The task contract: what a structured prediction task must supply to be trained.

A task is a subclass of :class:`StructuredModel`. The solvers know nothing of any task;
they only call the methods below. The maths, with w the weight vector, Ψ the joint feature
map and Δ the loss (Δ(y, y) = 0, Δ >= 0):

* prediction            h(x)  = argmax_y  w·Ψ(x, y)
* margin rescaling      ŷ     = argmax_y' Δ(y, y') + w·Ψ(x, y')
* slack rescaling       ŷ     = argmax_y' Δ(y, y') (1 + w·Ψ(x, y') - w·Ψ(x, y))

A subclass must implement ``joint_feature``, ``loss``, ``inference`` and
``loss_augmented_inference`` (plain Python is fine) and set ``size_joint_feature`` (in
``__init__`` or ``initialize``). Everything else has a working default. For speed, override
the *batch* forms: the solvers only ever call those, on a batch built once per fit by
``make_batch``, so a task can stack its data into contiguous arrays for numba kernels and
return its predictions in any internal form (``Y_hat`` is handed back unchanged to
``batch_loss`` and ``batch_delta_joint_feature``). The default batch forms run the
single-example methods over ``batch.X`` and ``batch.Y`` (an ``ExampleBatch``); a task whose
``make_batch`` returns another class overrides the batch forms it uses, else they raise
NotImplementedError naming the method. ``check_rescaling`` (called when an oracle backend is
built, before training) refuses a rescaling the task has no oracle for.

Persistence: constructor parameters (``get_params``) are saved as JSON, so keep them JSON-able
(numbers, strings, lists, dicts). State learnt by ``initialize`` that is not a constructor
parameter goes through ``get_state``/``set_state`` (JSON-able values or numpy arrays).
"""
from __future__ import annotations

import inspect
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp

from .parallel import map_threads

__all__ = ["StructuredModel", "ExampleBatch", "to_sparse_row", "has_hook"]


class ExampleBatch:
    """A training or test set as the batch methods see it: here, two plain lists.

    Tasks may return their own batch class from ``make_batch`` (stacked CSR + offsets, ...);
    it must support ``len()``; the default batch forms read ``X`` and ``Y`` (None for
    prediction), so a batch class without them goes with the task's own batch forms.
    """

    def __init__(self, X: Sequence, Y: Sequence | None = None):
        self.X = list(X)
        self.Y = None if Y is None else list(Y)

    def __len__(self) -> int:
        return len(self.X)


def to_sparse_row(v, size: int) -> sp.csr_matrix:
    """Turn a dense vector, 1-D array or 1 x d sparse matrix into a 1 x size CSR row."""
    if sp.issparse(v):
        row = sp.csr_matrix(v, dtype=np.float64)
        if row.shape[0] != 1:
            row = row.reshape(1, -1).tocsr()
    else:
        arr = np.asarray(v, dtype=np.float64).ravel()
        row = sp.csr_matrix(arr.reshape(1, -1))
    if row.shape[1] != size:
        raise ValueError(
            f"joint_feature returned a vector of length {row.shape[1]}, "
            f"but size_joint_feature is {size}")
    return row


class StructuredModel:
    """Base class of every task: joint feature map, loss and the two argmax oracles.

    Attributes
    ----------
    size_joint_feature : int or None
        d, the length of Ψ(x, y) and of w. May stay None until ``initialize``.
    approximate_inference : bool
        True when the oracles are only approximate (e.g. greedy); the solvers then report
        that their precision ε and duality gap are not certified.
    """

    size_joint_feature: int | None = None
    approximate_inference: bool = False

    # ------------------------------------------------------------------ required
    def joint_feature(self, x, y):
        """Ψ(x, y): a dense 1-D array or a sparse 1 x d matrix, d = size_joint_feature."""
        raise NotImplementedError(_missing_required(self, "joint_feature(x, y)"))

    def loss(self, y, y_hat) -> float:
        """Δ(y, ŷ) >= 0, with Δ(y, y) = 0."""
        raise NotImplementedError(_missing_required(self, "loss(y, y_hat)"))

    def inference(self, x, w):
        """argmax_y w·Ψ(x, y)."""
        raise NotImplementedError(_missing_required(self, "inference(x, w)"))

    def loss_augmented_inference(self, x, y, w):
        """Margin-rescaling oracle: argmax_y' Δ(y, y') + w·Ψ(x, y')."""
        raise NotImplementedError(_missing_required(self, "loss_augmented_inference(x, y, w)"))

    # ------------------------------------------------------------------ optional
    def slack_rescaled_inference(self, x, y, w):
        """Slack-rescaling oracle: argmax_y' Δ(y, y') (1 + w·Ψ(x, y') - w·Ψ(x, y))."""
        raise NotImplementedError(
            f"{type(self).__name__} has no slack-rescaling oracle; "
            "use rescaling='margin' or implement slack_rescaled_inference")

    def initialize(self, X, Y) -> None:
        """Read sizes (labels, features) off the training data; set size_joint_feature."""

    def check_input(self, X, Y=None) -> None:
        """Raise ValueError naming the offending example when X or Y is malformed.

        Called once per fit/predict, before any oracle. The base class checks nothing
        task-specific; tasks override it (labels out of range, NaN features, ...).
        """

    def max_loss(self, y) -> float:
        """Largest possible Δ(y, ·); used by ``score`` to normalise. Default: 1."""
        return 1.0

    def get_state(self) -> dict[str, Any]:
        """Fitted state that is not a constructor parameter (JSON-able values or arrays)."""
        return {}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore what ``get_state`` returned."""
        for key, value in state.items():
            setattr(self, key, value)

    def migrate_state(self, state: dict[str, Any], w: np.ndarray) -> tuple[dict[str, Any], np.ndarray]:
        """Bring a model file written by an earlier structpred to this version's layout.

        ``state`` is the file's task state (as ``get_state`` once returned it), ``w`` its
        finite float64 weight vector; returns ``(state, w)`` as this version's ``get_state``
        and weight layout have them, w·Ψ(x, y) unchanged for every (x, y) and ``len(w)``
        unchanged. Called by ``structpred.persistence.load`` before ``set_state``; a state
        it does not recognise is returned as is (``set_state`` refuses it). Default: identity.
        """
        return state, w

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters, read back from attributes of the same name.

        scikit-learn's protocol: ``deep`` is accepted for ``clone``/``GridSearchCV``; a
        parameter that itself has ``get_params`` adds its own as ``name__param``.
        """
        sig = inspect.signature(type(self).__init__)
        params = {}
        for name, p in sig.parameters.items():
            if name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            params[name] = getattr(self, name, p.default)
        if deep:
            for name, value in list(params.items()):
                if hasattr(value, "get_params") and not isinstance(value, type):
                    params.update({f"{name}__{k}": v for k, v in value.get_params(deep=True).items()})
        return params

    def set_params(self, **params) -> "StructuredModel":
        """Set constructor parameters (``name`` or nested ``name__param``); returns self.

        Takes effect at the next ``fit`` (``initialize`` reads them again)."""
        _set_params(self, params)
        return self

    # ------------------------------------------------------------------ probabilistic hooks
    # The Gibbs (CRF) policy over the same joint feature map:
    #     π_w(y|x) = exp(w·Ψ(x, y) − log Z(x; w)),   log Z(x; w) = log Σ_y exp(w·Ψ(x, y)).
    # Optional: a task that supplies them can be trained by conditional log-likelihood
    # (structpred.GibbsPolicy), sampled, and learnt from logged bandit feedback
    # (structpred.counterfactual). Everything is in log space. A task without a hook fails at
    # the start of a fit that needs it (``check_probabilistic``), naming the method.

    def log_partition(self, x, w) -> float:
        """log Z(x; w) = log Σ_y exp(w·Ψ(x, y)), computed in log space."""
        raise NotImplementedError(_missing_hook(self, "log_partition"))

    def log_prob(self, x, y, w) -> float:
        """log π_w(y|x) = w·Ψ(x, y) − log Z(x; w) (<= 0)."""
        raise NotImplementedError(_missing_hook(self, "log_prob"))

    def log_prob_grad(self, x, y, w) -> np.ndarray:
        """∇_w log π_w(y|x) = Ψ(x, y) − E_{y'~π_w}[Ψ(x, y')], a dense float64 vector of length d."""
        raise NotImplementedError(_missing_hook(self, "log_prob_grad"))

    def sample(self, x, w, n: int, random_state=None) -> list:
        """n structures drawn independently from π_w(·|x) (``random_state``: None, int or
        numpy Generator)."""
        raise NotImplementedError(_missing_hook(self, "sample"))

    def expected_loss(self, x, y, w, n_samples: int = 1000, random_state=None) -> tuple[float, float]:
        """(E_{y'~π_w(·|x)}[Δ(y, y')], its standard error): exact (standard error 0.0) where the
        loss decomposes over the task's marginals, else a Monte-Carlo mean of ``n_samples`` draws."""
        raise NotImplementedError(_missing_hook(self, "expected_loss"))

    def marginals(self, x, w):
        """The task's marginal probabilities under π_w(·|x) (per token and label, per label,
        per class, ...); each task documents the layout. Optional."""
        raise NotImplementedError(_missing_hook(self, "marginals"))

    # batch forms of the hooks: the default loops over the single forms (batch.X, batch.Y);
    # tasks override them with numba kernels over their stacked batch.
    def batch_log_prob(self, batch, w, Y=None, n_jobs: int = 1) -> np.ndarray:
        """[log π_w(y_i|x_i)] for the structures ``Y`` (default: the batch's own labels)."""
        X, Yb = self._examples(batch, "batch_log_prob", labels=Y is None)
        Y = Yb if Y is None else list(Y)
        return np.asarray(map_threads(lambda xy: self.log_prob(xy[0], xy[1], w),
                                      list(zip(X, Y)), n_jobs), dtype=np.float64)

    def batch_log_prob_grad(self, batch, w, coef, Y=None, n_jobs: int = 1):
        """(log_probs, g): log_probs[i] = log π_w(y_i|x_i) and g = Σ_i coef[i] ∇_w log π_w(y_i|x_i)
        (dense, length d) for the structures ``Y`` (default: the batch's own labels)."""
        X, Yb = self._examples(batch, "batch_log_prob_grad", labels=Y is None)
        Y = Yb if Y is None else list(Y)
        coef = np.asarray(coef, dtype=np.float64)
        d = self.size_joint_feature
        g = np.zeros(d)
        lp = np.empty(len(X))
        for i, (x, y) in enumerate(zip(X, Y)):
            lp[i] = self.log_prob(x, y, w)
            if coef[i] != 0.0:
                g += coef[i] * np.asarray(self.log_prob_grad(x, y, w), dtype=np.float64).ravel()
        return lp, g

    def batch_sample(self, batch, w, n: int, random_state=None, n_jobs: int = 1) -> list:
        """[list of n draws from π_w(·|x_i) for each i]; one Generator seeded from
        ``random_state`` drives all examples in order, so results repeat for a seed."""
        X, _ = self._examples(batch, "batch_sample", labels=False)
        rng = np.random.default_rng(random_state)
        return [self.sample(x, w, n, rng) for x in X]

    def batch_expected_loss(self, batch, w, n_samples: int = 1000, random_state=None):
        """(means, stderrs): E_{π_w}[Δ(y_i, ·)] per example and its standard error (0 if exact)."""
        X, Y = self._examples(batch, "batch_expected_loss")
        rng = np.random.default_rng(random_state)
        out = np.array([self.expected_loss(x, y, w, n_samples, rng) for x, y in zip(X, Y)],
                       dtype=np.float64).reshape(-1, 2)
        return out[:, 0], out[:, 1]

    def check_probabilistic(self, needs=("log_partition", "log_prob", "log_prob_grad")) -> None:
        """Raise NotImplementedError, before any training, naming the first probabilistic hook
        in ``needs`` that the task does not supply (neither the single nor the batch form)."""
        for name in needs:
            if not has_hook(self, name) and not has_hook(self, "batch_" + name):
                raise NotImplementedError(_missing_hook(self, name))

    # ------------------------------------------------------------------ batch forms
    def make_batch(self, X, Y=None):
        """Build the batch that the batch methods read. Called once per fit or predict."""
        return ExampleBatch(X, Y)

    def _examples(self, batch, method: str, labels: bool = True):
        """(batch.X, batch.Y) for a default batch form, which runs the single-example method
        on each example: NotImplementedError naming ``method`` when the task's batch class
        has no X (or Y), ValueError when labels are needed but the batch was built without."""
        if not hasattr(batch, "X") or (labels and not hasattr(batch, "Y")):
            need = "batch.X and batch.Y" if labels else "batch.X"
            raise NotImplementedError(
                f"{type(self).__name__}.{method}: the default implementation reads {need}, "
                f"which {type(batch).__name__} does not have; override {method}")
        if labels and batch.Y is None:
            raise ValueError(f"{type(self).__name__}.{method} needs labels: the batch was "
                             "built without Y")
        return batch.X, (batch.Y if labels else None)

    def batch_inference(self, batch, w, n_jobs: int = 1) -> list:
        """[argmax_y w·Ψ(x_i, y) for each i], as a list of labels.
        Default: ``inference`` on each of ``batch.X``."""
        X, _ = self._examples(batch, "batch_inference", labels=False)
        return map_threads(lambda x: self.inference(x, w), X, n_jobs)

    def batch_loss_augmented_inference(self, batch, w, n_jobs: int = 1):
        """Margin-rescaling oracle on every example of the batch.
        Default: ``loss_augmented_inference`` on each of ``zip(batch.X, batch.Y)``."""
        X, Y = self._examples(batch, "batch_loss_augmented_inference")
        return map_threads(lambda xy: self.loss_augmented_inference(xy[0], xy[1], w),
                           list(zip(X, Y)), n_jobs)

    def batch_slack_rescaled_inference(self, batch, w, n_jobs: int = 1):
        """Slack-rescaling oracle on every example of the batch.
        Default: ``slack_rescaled_inference`` on each of ``zip(batch.X, batch.Y)``."""
        X, Y = self._examples(batch, "batch_slack_rescaled_inference")
        return map_threads(lambda xy: self.slack_rescaled_inference(xy[0], xy[1], w),
                           list(zip(X, Y)), n_jobs)

    def batch_loss(self, batch, Y_hat) -> np.ndarray:
        """[Δ(y_i, ŷ_i) for each i] as a float array. Default: ``loss`` on ``batch.Y``."""
        _, Y = self._examples(batch, "batch_loss")
        return np.array([self.loss(y, yh) for y, yh in zip(Y, Y_hat)], dtype=np.float64)

    def batch_delta_joint_feature(self, batch, Y_hat) -> sp.csr_matrix:
        """n x d CSR matrix whose row i is δΨ_i = Ψ(x_i, y_i) - Ψ(x_i, ŷ_i).
        Default: ``joint_feature`` on ``batch.X``, ``batch.Y``."""
        X, Y = self._examples(batch, "batch_delta_joint_feature")
        d = self.size_joint_feature
        rows = [to_sparse_row(self.joint_feature(x, y), d) - to_sparse_row(self.joint_feature(x, yh), d)
                for x, y, yh in zip(X, Y, Y_hat)]
        if not rows:
            return sp.csr_matrix((0, d))
        out = sp.vstack(rows, format="csr")
        out.eliminate_zeros()
        return out

    def batch_oracle_rows(self, batch, index, w, rescaling: str = "margin"):
        """Optional row oracle, margin rescaling: (D, L) of the most violated outputs
        ŷ_i = argmax_y' Δ(y_i, y') + w·Ψ(x_i, y') of the examples ``index`` (increasing
        positions in ``batch``) at w; D the len(index) x d CSR matrix of the rows
        δΨ_i = Ψ(x_i, y_i) - Ψ(x_i, ŷ_i), L the losses Δ(y_i, ŷ_i).

        Declare it (override) when it costs O(size of those examples) rather than O(batch):
        the default n-slack solver then moves w after every few examples (Chang & Yih's
        fresh passes) instead of after whole passes; oracle backends detect it with
        ``has_hook`` (as slack rescaling). The task owns whatever output buffer it needs
        (e.g. one kept on the batch); calls on the same batch may run on several threads for
        disjoint ``index``. Not declared: solvers use the full-pass and block forms."""
        raise NotImplementedError(
            f"{type(self).__name__} has no batch_oracle_rows: implement it to serve "
            "per-example row calls, or train with full passes (any solver)")

    def check_rescaling(self, rescaling: str, batch=None) -> None:
        """Raise NotImplementedError, before any training, naming the method to implement
        when the task has no oracle for ``rescaling`` ("margin" or "slack"): neither the
        batch form nor the single-example form is overridden, or only the single form is and
        ``batch`` (one of ``make_batch``'s) lacks the X and Y the default batch form reads."""
        single = "loss_augmented_inference" if rescaling == "margin" else "slack_rescaled_inference"
        batched = "batch_" + single
        cls = type(self)
        if getattr(cls, batched) is not getattr(StructuredModel, batched):
            return
        if getattr(cls, single) is getattr(StructuredModel, single):
            other = "slack" if rescaling == "margin" else "margin"
            raise NotImplementedError(
                f"{cls.__name__} has no {rescaling}-rescaling oracle: implement {single} (or "
                f"{batched}), or train with rescaling={other!r}")
        if batch is not None:
            self._examples(batch, batched)

    def check_joint_feature_size(self, x, y, index: int = 0) -> None:
        """Raise ValueError when Ψ(x, y) has not length size_joint_feature."""
        if self.size_joint_feature is None:
            raise ValueError(f"{type(self).__name__}.size_joint_feature is not set "
                             "(set it in __init__ or initialize)")
        try:
            to_sparse_row(self.joint_feature(x, y), self.size_joint_feature)
        except ValueError as exc:
            raise ValueError(f"{type(self).__name__}.joint_feature on example {index}: {exc}") from None

    def __repr__(self) -> str:
        return _repr_changed(self)


def _set_params(obj, params: dict) -> None:
    """scikit-learn's set_params: plain names are set, ``a__b`` goes to ``obj.a.set_params(b=)``."""
    if not params:
        return
    valid = obj.get_params(deep=False)
    nested: dict[str, dict] = {}
    for key, value in params.items():
        name, delim, sub = key.partition("__")
        if name not in valid:
            raise ValueError(f"invalid parameter {name!r} for {type(obj).__name__}; "
                             f"valid parameters: {sorted(valid)}")
        if delim:
            nested.setdefault(name, {})[sub] = value
        else:
            setattr(obj, name, value)
            valid[name] = value
    for name, sub_params in nested.items():
        target = valid[name]
        if not hasattr(target, "set_params"):
            raise ValueError(f"parameter {name!r} of {type(obj).__name__} is a "
                             f"{type(target).__name__}, which has no nested parameters")
        target.set_params(**sub_params)


def _repr_changed(obj) -> str:
    """``Name(param=value, ...)`` listing only parameters that differ from their default
    (scikit-learn's style), so that ``repr`` stays short and round-trips by eval."""
    sig = inspect.signature(type(obj).__init__)
    parts = []
    for name, value in obj.get_params(deep=False).items():
        p = sig.parameters.get(name)
        default = p.default if p is not None and p.default is not p.empty else inspect.Parameter.empty
        try:
            same = default is not inspect.Parameter.empty and (value is default or (
                type(value) is type(default) and bool(value == default)))
        except (ValueError, TypeError):   # arrays and other values without a plain ==
            same = False
        if not same:
            parts.append(f"{name}={_short_repr(value)}")
    return f"{type(obj).__name__}({', '.join(parts)})"


def _short_repr(value, limit: int = 200) -> str:
    """repr, with long lists / arrays (e.g. thousands of grammar trees) summarised."""
    text = repr(value)
    if len(text) <= limit:
        return text
    size = getattr(value, "shape", None) or (len(value) if hasattr(value, "__len__") else None)
    return f"<{type(value).__name__} of {size}>" if size is not None else text[:limit] + "..."


def has_hook(model, name: str) -> bool:
    """True when ``model``'s class overrides the contract method ``name`` (an optional hook:
    slack rescaling, a batch form, a probabilistic hook)."""
    base = getattr(StructuredModel, name, None)
    own = getattr(type(model), name, None)
    return own is not None and own is not base


def _missing_required(model, signature: str) -> str:
    return (f"{type(model).__name__} does not implement {signature}, a required method of "
            "the task contract (structpred.model.StructuredModel)")


def _missing_hook(model, name: str) -> str:
    return (f"{type(model).__name__} has no {name}: the probabilistic reading of a task "
            f"(π_w(y|x) ∝ exp(w·Ψ(x, y))) needs it; implement {name} (or batch_{name})")
