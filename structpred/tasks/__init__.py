"""Built-in tasks. Each module keeps its feature map, loss and numba kernels together."""
from importlib import import_module

_LAZY = {
    "Multiclass": ".multiclass",
    "SequenceLabeling": ".sequence",
    "DiverseSubset": ".diversity",
    "ConstituencyParsing": ".parsing",
    "Ranking": ".ranking", "PropensityRanking": ".ranking",
    "MultiLabel": ".multilabel",
}

__all__ = list(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
