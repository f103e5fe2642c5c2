"""Sphinx configuration: autodoc + numpydoc, API reference generated over the whole package.

Build (offline, warnings are errors): ``python -m sphinx -W --keep-going -b html docs docs/_build``.
"""
import os
import sys

sys.path.insert(0, os.path.abspath(".."))
sys.path.insert(0, os.path.abspath("_ext"))

import structpred  # noqa: E402

project = "structpred"
author = "structpred developers"
copyright = "structpred developers"
release = structpred.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "rstsafe",
]

# the API reference: autosummary walks structpred recursively, so a new module appears by itself
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": True}
autodoc_typehints = "none"
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()
numpydoc_xref_param_type = False

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
html_theme = "alabaster"
html_static_path = ["_static"]
html_theme_options = {"description": "Structured output prediction with structural SVMs",
                      "fixed_sidebar": True}
nitpicky = False
suppress_warnings = []
