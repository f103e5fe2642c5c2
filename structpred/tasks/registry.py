"""The one list of structpred's built-in tasks: registry name -> (module, class name).

``structpred.tasks`` exposes them (imported on first use), model files record a task by this
name and load it from here (never importing what a file names), and the command line and the
benchmark suite look tasks up here. A new built-in task is one line below.
"""
from __future__ import annotations

from importlib import import_module

__all__ = ["BUILTIN_TASKS", "builtin_task"]

BUILTIN_TASKS: dict[str, tuple[str, str]] = {
    "SequenceLabeling": ("structpred.tasks.sequence.model", "SequenceLabeling"),
    "Multiclass": ("structpred.tasks.multiclass", "Multiclass"),
    "ConstituencyParsing": ("structpred.tasks.parsing.model", "ConstituencyParsing"),
    "DiverseSubset": ("structpred.tasks.diversity.model", "DiverseSubset"),
    "Ranking": ("structpred.tasks.ranking.model", "Ranking"),
    "PropensityRanking": ("structpred.tasks.ranking.model", "PropensityRanking"),
    "MultiLabel": ("structpred.tasks.multilabel.model", "MultiLabel"),
}


def builtin_task(name: str) -> type:
    """The task class registered as ``name`` (KeyError naming the known names otherwise)."""
    try:
        module, attr = BUILTIN_TASKS[name]
    except KeyError:
        raise KeyError(f"no built-in task {name!r}; known: {', '.join(BUILTIN_TASKS)}") from None
    return getattr(import_module(module), attr)
