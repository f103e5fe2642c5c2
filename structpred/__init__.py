"""structpred: structured output prediction with structural SVMs.

Define a task by subclassing :class:`StructuredModel`, train it with :class:`StructuredSVM`
(1-slack or n-slack cutting planes, margin or slack rescaling) or, on tasks with the
probabilistic hooks, as a CRF with :class:`GibbsPolicy`; save and :func:`load` it.
"""
from .version import __version__

from .model import ExampleBatch, StructuredModel
from .path import RegularizationPath, regularization_path
from .svm import StructuredSVM, load
from .policy import GibbsPolicy

__all__ = ["StructuredModel", "ExampleBatch", "StructuredSVM", "GibbsPolicy", "load", "DiversifiedRanker",
           "regularization_path", "RegularizationPath", "__version__"]


def __getattr__(name):
    if name == "DiversifiedRanker":
        from .apps.diversity import DiversifiedRanker
        return DiversifiedRanker
    raise AttributeError(f"module 'structpred' has no attribute {name!r}")
