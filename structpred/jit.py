"""Numba kernels loaded only when needed.

``from structpred.jit import njit`` instead of ``from numba import njit``: the decorator does
not import numba. A kernel is compiled (or, with ``cache=True``, loaded from numba's cache)
on its first call, except that while numba is not yet imported in the process a call on
small arrays (at most ``SMALL`` elements in all, e.g. a one-query ranking file) runs the
plain Python function instead: the same code and the same IEEE operations, without the
0.3-0.6 s that importing numba and its typing machinery costs a short process. Once numba is
loaded (by any kernel), every call goes to the compiled kernel.

A kernel that uses ``np.random`` always runs compiled (numba's generator state is its own).
Kernels of one module that call each other work in both modes: before compiling a kernel,
the lazy kernels it names are compiled and put in its module's globals.

Numpy twins: for a problem of moderate size (e.g. MQ2008, 9,630 documents) a kernel that has
a numpy version of the same name and arguments in the module named by :data:`TWINS` runs
that version while numba is not loaded, so such a run never pays numba's start-up (about
0.5 s and 110 MB). A twin does the kernel's floating-point operations in the kernel's order,
so it returns the same numbers bit for bit (tests/test_ranking_numpy.py checks each twin and
whole fits), and says by ``accepts(*args)`` which calls it takes (default: at most
``NUMPY_MAX`` array elements in all). Twins and kernels share their data structures, so a
run may switch midway (once numba is loaded, by any kernel, every call goes to the compiled
kernel) without changing its result.
"""
from __future__ import annotations

import functools
import importlib
import sys

import numpy as np

__all__ = ["njit", "LazyKernel", "SMALL", "NUMPY_MAX", "TWINS", "prefer_compiled", "numba_options"]

#: Largest total number of array elements a call may pass to run uncompiled while numba is
#: not loaded.
SMALL = 8192
#: Default largest total number of array elements of a call a numpy twin takes.
NUMPY_MAX = 1 << 22
#: For tests: "python" runs every kernel's Python function (where allowed) and "twin" every
#: numpy twin that accepts the call, whether numba is loaded or not; None: the normal choice.
FORCE = None
#: Module of kernels -> module holding numpy twins of (some of) them, by function name.
TWINS = {
    "structpred.tasks.ranking.kernels": "structpred.tasks.ranking.kernels_numpy",
    "structpred.solvers.dcd_kernels": "structpred.solvers.numpy_twins",
    "structpred.solvers.guard": "structpred.solvers.numpy_twins",
    "structpred.solvers.objective": "structpred.solvers.numpy_twins",
}


class LazyKernel:
    """A numba ``njit`` kernel compiled on first use; ``py_func`` is the Python function."""

    def __init__(self, func, options):
        self.py_func = func
        self._options = options
        self._compiled = None
        # numba's np.random has its own state: a kernel that draws numbers always runs
        # compiled (uncompiled it would draw from, and reseed, numpy's global generator)
        self._python_ok = not ({"random", "seed"} & set(func.__code__.co_names))
        self._twin = False   # not looked up yet
        functools.update_wrapper(self, func)

    def twin(self):
        """The numpy twin (see the module docstring), or None: the function of the kernel's
        name in the twin module, if its argument names are the kernel's (None when they
        differ: the kernel changed, so the kernel runs)."""
        if self._twin is False:
            self._twin = None
            where = TWINS.get(self.py_func.__module__)
            if where is not None:
                fn = getattr(importlib.import_module(where), self.py_func.__name__, None)
                if fn is not None and _arg_names(fn) == _arg_names(self.py_func):
                    self._twin = fn
        return self._twin

    def compiled(self):
        """The numba dispatcher (imports numba and compiles or loads from the cache)."""
        if self._compiled is None:
            import numba
            from .compile_notice import install
            install()   # announce and time a compile that is about to happen
            ahead = sys.modules.get("structpred.compile_ahead")
            if ahead is not None:   # a second process may be compiling this kernel for us
                ahead.wait_for(self.py_func.__module__, self.py_func.__name__)
            g = self.py_func.__globals__
            for name in self.py_func.__code__.co_names:
                dep = g.get(name)
                if isinstance(dep, LazyKernel):
                    g[name] = dep.compiled()
            self._compiled = numba.njit(**numba_options(self._options))(self.py_func)
        return self._compiled

    def __call__(self, *args):
        if FORCE is not None:
            if FORCE == "python" and self._python_ok:
                return self.py_func(*args)
            twin = self.twin() if FORCE == "twin" else None
            if twin is not None and getattr(twin, "accepts", _moderate)(*args):
                return twin(*args)
        elif self._compiled is None and "numba" not in sys.modules:
            if self._python_ok and _small(args):
                return self.py_func(*args)
            twin = self.twin()
            if twin is not None and getattr(twin, "accepts", _moderate)(*args):
                return twin(*args)
        return self.compiled()(*args)


def numba_options(options: dict) -> dict:
    """``options`` for this numba's ``njit``: ``_nrt=False`` (emit no reference counting, for a
    kernel that allocates nothing: it compiles faster, same machine arithmetic) is numba's
    private option (``numba.core.cpu.CPUTargetOptions._nrt``); where this numba does not know it, the
    option is dropped and the kernel compiles with reference counting, with the same results."""
    if "_nrt" not in options:
        return options
    try:
        from numba.core.cpu import CPUTargetOptions
        from numba.core.options import TargetOptions
        known = isinstance(getattr(CPUTargetOptions, "_nrt", None), TargetOptions.Mapping)
    except (ImportError, AttributeError):   # pragma: no cover - a numba laid out otherwise
        known = False
    if known:
        return options
    return {k: v for k, v in options.items() if k != "_nrt"}


def prefer_compiled() -> None:
    """Load numba now, so that every later kernel call runs compiled: for a long loop of small
    calls, which would otherwise run uncompiled one by one (see the module docstring)."""
    import numba  # noqa: F401


def _arg_names(fn):
    code = fn.__code__
    return code.co_varnames[:code.co_argcount]


def _moderate(*args) -> bool:
    total = 0
    for a in args:
        if isinstance(a, np.ndarray):
            total += a.size
    return total <= NUMPY_MAX


def _small(args) -> bool:
    total = 0
    for a in args:
        if isinstance(a, np.ndarray):
            total += a.size
            if total > SMALL:
                return False
    return True


def njit(*args, **options):
    """``numba.njit`` without importing numba (see the module docstring); same options."""
    if args and callable(args[0]) and not options:
        return LazyKernel(args[0], {})
    if args:
        raise TypeError("structpred.jit.njit takes keyword options only (no signatures)")
    return lambda func: LazyKernel(func, options)
