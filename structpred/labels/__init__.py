"""Label types shared by the loaders, the metrics and the tasks: parse trees
(:mod:`structpred.labels.trees`) and clicks (:mod:`structpred.labels.clicks`).

The ground floor of the package: these modules import nothing of structpred's but
``structpred.errors``, so a loader or a metric never imports a task to build its labels.
"""
from .clicks import Click
from .trees import Tree, TreeError, parse_tree, read_trees

__all__ = ["Click", "Tree", "TreeError", "parse_tree", "read_trees"]
