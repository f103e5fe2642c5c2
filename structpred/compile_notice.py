"""Numba compiles: announced once, timed, and kept out of the reported fit times.

Numba fires its "numba:compile" event only when a kernel is really compiled (not when it is
loaded from the on-disk cache of an ``@njit(cache=True)`` kernel), so a listener on it knows
that a compile is about to happen. ``install()`` registers the listener (idempotent); the first
compile of the process prints one line on stderr, and ``compile_seconds()`` is the wall time
spent compiling so far, which ``solvers.base.Timers`` subtracts from every phase it times.
"""
from __future__ import annotations

import contextlib
import sys
import time

__all__ = ["install", "compile_seconds", "mark", "seconds_since", "report_line", "waiting",
           "MESSAGE"]

MESSAGE = "compiling numba kernels, first run only (cached afterwards) ..."

_state = {"seconds": 0.0, "depth": 0, "start": 0.0, "announced": False, "installed": False}


def compile_seconds() -> float:
    """Seconds spent in numba compiles in this process so far (0.0 without numba)."""
    s = _state
    if s["depth"] > 0:
        return s["seconds"] + time.perf_counter() - s["start"]
    return s["seconds"]


def mark() -> tuple[float, float]:
    """A start for :func:`seconds_since`: (wall clock, compile seconds so far)."""
    return time.perf_counter(), compile_seconds()


def seconds_since(start: tuple[float, float]) -> float:
    """Wall seconds since ``start`` (from :func:`mark`) without the numba compiles between."""
    t0, c0 = start
    return time.perf_counter() - t0 - (compile_seconds() - c0)


def report_line() -> str:
    """The line a command prints after its timings when this process compiled ("" if not)."""
    spent = compile_seconds()
    if spent <= 0:
        return ""
    line = (f"numba compile: {spent:.2f} s (first run on this machine only; not counted in the "
            "times above)")
    helper = sys.modules.get("structpred.compile_ahead")
    if helper is not None and helper.helper_cpu_seconds() > 0:
        line += (f"; the solver's kernels compiled meanwhile by a second process "
                 f"({helper.helper_cpu_seconds():.2f} s CPU there)")
    return line


def install() -> None:
    """Register the compile listener once per process; a no-op until numba is imported (the
    lazy kernels of :mod:`structpred.jit` call it when they load numba)."""
    if _state["installed"]:
        return
    if "numba" not in sys.modules:   # nothing compiled yet; structpred.jit installs it on load
        return
    _state["installed"] = True
    try:
        from numba.core import event
    except ImportError:  # pragma: no cover - numba is a dependency
        return

    class _Listener(event.Listener):
        def on_start(self, ev):
            _begin()

        def on_end(self, ev):
            _end()

    event.register("numba:compile", _Listener())


def _begin() -> None:
    s = _state
    if s["depth"] == 0:
        s["start"] = time.perf_counter()
        if not s["announced"]:
            s["announced"] = True
            print(MESSAGE, file=sys.stderr, flush=True)
    s["depth"] += 1


def _end() -> None:
    s = _state
    s["depth"] -= 1
    if s["depth"] == 0:
        s["seconds"] += time.perf_counter() - s["start"]


@contextlib.contextmanager
def waiting():
    """Time the block as compile time: this process waits for kernels that another process
    compiles for it (:mod:`structpred.compile_ahead`)."""
    _begin()
    try:
        yield
    finally:
        _end()
