"""Built-in tasks. Each module keeps its feature map, loss and numba kernels together.

The list of built-in tasks is :data:`structpred.tasks.registry.BUILTIN_TASKS`; each is an
attribute of this package, imported on first use.
"""
from .registry import BUILTIN_TASKS, builtin_task

__all__ = list(BUILTIN_TASKS)


def __getattr__(name):
    if name in BUILTIN_TASKS:
        return builtin_task(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
