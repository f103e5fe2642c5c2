"""structpred: structured output prediction with structural SVMs.

Define a task by subclassing :class:`StructuredModel`, train it with :class:`StructuredSVM`
(1-slack or n-slack cutting planes, margin or slack rescaling), save and :func:`load` it.
"""
__version__ = "0.1.0"

from .model import ExampleBatch, StructuredModel
from .persistence import load
from .svm import StructuredSVM

__all__ = ["StructuredModel", "ExampleBatch", "StructuredSVM", "load", "DiversifiedRanker",
           "__version__"]


def __getattr__(name):
    if name == "DiversifiedRanker":
        from .apps.diversity import DiversifiedRanker
        return DiversifiedRanker
    raise AttributeError(f"module 'structpred' has no attribute {name!r}")
