"""Old import path of the parse-tree label type: it lives in :mod:`structpred.labels.trees`
(below the loaders and metrics that use it); this module re-exports it unchanged."""
from ...labels.trees import *  # noqa: F401,F403
from ...labels.trees import (CHAIN_SEP, INTERMEDIATE, MAX_TREE_DEPTH, PARENT_SEP,  # noqa: F401
                             ROOT, tree_depth)
