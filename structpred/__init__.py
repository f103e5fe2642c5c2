"""structpred: structured output prediction with structural SVMs.

Define a task by subclassing :class:`StructuredModel`, train it with :class:`StructuredSVM`
(1-slack or n-slack cutting planes, margin or slack rescaling) or, on tasks with the
probabilistic hooks, as a CRF with :class:`GibbsPolicy`; save and :func:`load` it.
"""
from .version import __version__

__all__ = ["StructuredModel", "ExampleBatch", "StructuredSVM", "GibbsPolicy", "load", "DiversifiedRanker",
           "regularization_path", "RegularizationPath", "__version__"]


#: Public names imported on first use (PEP 562), so that ``import structpred`` (and the CLI)
#: does not pay for numba, scipy and the solvers before it needs them.
_LAZY = {"StructuredModel": ".model", "ExampleBatch": ".model", "StructuredSVM": ".svm",
         "load": ".svm", "regularization_path": ".path", "RegularizationPath": ".path",
         "DiversifiedRanker": ".apps.diversity", "GibbsPolicy": ".policy"}


def __getattr__(name):
    if name in _LAZY:
        from importlib import import_module
        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'structpred' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
