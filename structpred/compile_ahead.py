"""First run on an empty numba cache: the solver's kernels compiled by a second process.

On a first run ``structpred learn --task sequence`` (default solver) spends its compile time
in two halves: the reader's and the task's kernels (needed first), then the solver's
(``structpred.solvers.dcd_kernels`` and the answer guard). When the solver's kernels are not
in numba's on-disk cache, :func:`start_sequence` starts one helper process that compiles them
(``python -m structpred.compile_ahead``) while this process reads the data and compiles the
task's kernels. The helper trains (two iterations) on the first lines of the same file with the same
options, the reader's and task's kernels running as plain Python there, so it compiles the
solver's kernels for exactly the argument types of the real run and writes them to numba's cache
(same numba, same machine: the same machine code this process would have built). The first
solver kernel a run calls (:data:`LOCAL_KERNELS`: the answer guard) this process compiles itself
while the helper works on the others; before the first of those others it waits for the helper
(:func:`wait_for`; the wait counts as compile time and stays out of the fit times) and then
loads them from the cache.

Nothing depends on the helper: if it fails, is slow to start, or misses a kernel, this
process compiles what is missing itself, with the same result. :func:`helper_cpu_seconds`
is the helper's CPU time, which the compile report line states beside the wall time.
"""
from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import time

__all__ = ["SOLVER_MODULES", "LOCAL_KERNELS", "start_sequence", "wait_for", "helper_cpu_seconds", "main"]

#: Modules whose kernels the helper compiles (the n-slack DCD solver and the answer guard).
SOLVER_MODULES = ("structpred.solvers.dcd_kernels", "structpred.solvers.guard")
#: Kernels of those modules that this process compiles itself: the first one a run calls (the
#: answer check of the first oracle pass), compiled here while the helper still compiles the
#: others (about 0.25 s of CPU moved off the helper, which takes longer than this process's
#: reading and task kernels); the helper runs it as Python. (The working sets' slacks, the
#: next one, are a mode of ``dcd_kernels.sweep`` and compile in the helper with it.)
LOCAL_KERNELS = ("structpred.solvers.guard._scan",)
#: Bytes of the training file the helper trains on (whole lines; a few sentences).
HEAD_BYTES = 12_000
#: The helper's outer iterations: two call every solver kernel of a run, at about 0.7 s of
#: CPU besides the compile.
HELPER_PASSES = 2
#: Longest wait for the helper (seconds) before this process compiles on its own.
TIMEOUT = 120.0

_state = {"proc": None, "cpu": 0.0, "cpu0": 0.0}


def _children_cpu() -> float:
    """CPU seconds of this process's reaped children so far (0.0 without ``resource``)."""
    try:
        import resource
    except ImportError:    # pragma: no cover - not a POSIX system
        return 0.0
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def _cached(module: str, name: str) -> bool:
    """Whether numba's on-disk cache holds an index for kernel ``module.name``."""
    import importlib

    import numba
    kernel = getattr(importlib.import_module(module), name)
    try:
        disp = numba.njit(cache=True)(kernel.py_func)
        return os.path.exists(disp._cache._cache_file._index_path)
    except Exception:      # pragma: no cover - numba internals moved: assume cached
        return True


def _usable_cpus() -> int:
    """CPUs this process may run on (its affinity where the platform says, else the count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def start_sequence(train_file: str, order: int, svm_options: dict) -> bool:
    """Start the helper for a ``learn --task sequence`` run of ``StructuredSVM(model,
    **svm_options)`` (JSON-able values) when the default n-slack DCD solver will run in this
    process and its kernels are not cached yet. Returns whether a helper was started."""
    if _state["proc"] is not None or os.environ.get("STRUCTPRED_COMPILE_AHEAD", "1") == "0":
        return False
    if svm_options.get("algorithm", "n-slack") != "n-slack" or _usable_cpus() < 2:
        return False      # (on one core a second process only competes with this one)
    try:
        from .solvers import dcd_kernels
        if dcd_kernels.sweep._compiled is not None or _cached(dcd_kernels.__name__, "sweep"):
            return False   # loaded in this process already, or in numba's cache
    except Exception:      # pragma: no cover - no numba: nothing to compile
        return False
    argv = [sys.executable, "-m", "structpred.compile_ahead", "sequence", str(train_file),
            str(int(order)), json.dumps(svm_options)]
    _state["cpu0"] = _children_cpu()
    try:
        _state["proc"] = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=_child_env())
    except OSError:
        return False
    atexit.register(_stop)
    return True


def _stop() -> None:
    """At exit: end a helper this process never waited for (e.g. after a read error)."""
    proc = _state["proc"]
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.wait()


def _child_env() -> dict:
    """This process's environment, with this copy of structpred first on the import path."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.environ.get("PYTHONPATH")
    return dict(os.environ, STRUCTPRED_COMPILE_AHEAD="0",
                PYTHONPATH=root if not path else root + os.pathsep + path)


def wait_for(module: str, name: str = "") -> float:
    """Before compiling kernel ``name`` of ``module``: if the helper is compiling it, wait for
    the helper to finish (at most :data:`TIMEOUT` s). Returns the seconds waited."""
    proc = _state["proc"]
    if proc is None or module not in SOLVER_MODULES or f"{module}.{name}" in LOCAL_KERNELS:
        return 0.0
    from .compile_notice import waiting
    t0 = time.perf_counter()
    with waiting():
        try:
            proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    _state["cpu"] = _children_cpu() - _state["cpu0"]
    _state["proc"] = None
    return time.perf_counter() - t0


def helper_cpu_seconds() -> float:
    """CPU seconds of the finished helper (0.0 when none ran)."""
    return _state["cpu"]


def _head_file(path: str, tmp: str) -> str:
    """The first whole lines (about :data:`HEAD_BYTES`, decompressed if ``path`` is gzip)
    of ``path`` written to a plain file in tmp."""
    import gzip
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    with (gzip.open if gz else open)(path, "rb") as f:
        head = f.read(HEAD_BYTES)
    cut = head.rfind(b"\n")
    out = os.path.join(tmp, "head.dat")
    with open(out, "wb") as f:
        f.write(head[:cut + 1] if cut >= 0 else head)
    return out


def _run_sequence(train_file: str, order: int, svm_options: dict) -> None:
    """Train on the head of ``train_file`` with the reader's and the sequence task's kernels
    as plain Python, so that only the solver's kernels compile (into numba's cache)."""
    import importlib
    import tempfile

    import numba  # noqa: F401  (loaded: every lazy kernel compiles)
    import numpy as np

    from . import StructuredSVM
    from .datasets import svmhmm
    from .tasks.sequence import SequenceLabeling, kernels

    for name, obj in list(vars(kernels).items()):
        if hasattr(obj, "py_func") and getattr(obj.py_func, "__module__", "") == kernels.__name__:
            setattr(kernels, name, obj.py_func)
    for qualified in LOCAL_KERNELS:         # compiled by the main process
        module, name = qualified.rsplit(".", 1)
        module = importlib.import_module(module)
        setattr(module, name, getattr(module, name).py_func)
    scan = svmhmm._scan.py_func
    # the scanner as Python: its bytes as int64 (uint8 scalars would wrap in Python)
    svmhmm._scan = lambda buf, pow10, *rest: scan(buf.astype(np.int64), pow10, *rest[:-1],
                                                  rest[-1].astype(np.int64))
    with tempfile.TemporaryDirectory() as tmp:
        data = svmhmm.read_svmhmm(_head_file(train_file, tmp), stacked=True)   # as the CLI
    model = SequenceLabeling(n_labels=data.max_tag, n_features=data.n_features,
                             transition_order=order)
    options = {k: v for k, v in svm_options.items() if v is not None}
    options.update(verbose=0, max_iter=HELPER_PASSES)
    StructuredSVM(model, **options).fit(data.X, data.Y)


def main(argv=None) -> int:
    """``python -m structpred.compile_ahead sequence TRAIN ORDER SVM_OPTIONS_JSON``."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 4 or argv[0] != "sequence":
        print(__doc__.splitlines()[0], file=sys.stderr)
        return 2
    _run_sequence(argv[1], int(argv[2]), json.loads(argv[3]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
