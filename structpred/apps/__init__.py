"""Applications built on the estimator: user-facing tools that combine a task, its input
featurizer and StructuredSVM (tasks/ holds only the tasks themselves)."""
