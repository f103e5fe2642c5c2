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
"""
from __future__ import annotations

import functools
import sys

import numpy as np

__all__ = ["njit", "LazyKernel", "SMALL"]

#: Largest total number of array elements a call may pass to run uncompiled while numba is
#: not loaded.
SMALL = 8192


class LazyKernel:
    """A numba ``njit`` kernel compiled on first use; ``py_func`` is the Python function."""

    def __init__(self, func, options):
        self.py_func = func
        self._options = options
        self._compiled = None
        # numba's np.random has its own state: a kernel that draws numbers always runs
        # compiled (uncompiled it would draw from, and reseed, numpy's global generator)
        self._python_ok = not ({"random", "seed"} & set(func.__code__.co_names))
        functools.update_wrapper(self, func)

    def compiled(self):
        """The numba dispatcher (imports numba and compiles or loads from the cache)."""
        if self._compiled is None:
            import numba
            from .compile_notice import install
            install()   # announce and time a compile that is about to happen
            g = self.py_func.__globals__
            for name in self.py_func.__code__.co_names:
                dep = g.get(name)
                if isinstance(dep, LazyKernel):
                    g[name] = dep.compiled()
            self._compiled = numba.njit(**self._options)(self.py_func)
        return self._compiled

    def __call__(self, *args):
        if (self._compiled is None and self._python_ok and "numba" not in sys.modules
                and _small(args)):
            return self.py_func(*args)
        return self.compiled()(*args)


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
