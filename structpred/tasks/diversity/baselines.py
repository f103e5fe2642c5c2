"""Moved to :mod:`structpred.apps.diversity.baselines` (the baselines are an application,
not part of the task). This alias stays until ``structpred.bench.tasks`` imports the new
path."""
from ...apps.diversity.baselines import *  # noqa: F401,F403
from ...apps.diversity.baselines import __all__  # noqa: F401
