"""Evaluation measures, one module per task: chunking (conlleval), brackets (evalb),
subtopics (weighted subtopic loss)."""
