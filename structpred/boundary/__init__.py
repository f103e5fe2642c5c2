"""The trust boundary: every check on what crosses into structpred, written once.

Readers, ``fit``/``predict``, metrics, the click tools, model files and the command line call
these functions; none re-implements a check. Each rejection is a documented
:mod:`structpred.errors` exception whose message names the culprit (the argument, the example
index, or the file and line).

* :mod:`.arrays` -- feature matrices (dense and CSR: shape, dtype, finiteness, index ranges,
  sortedness), label arrays, score vectors; for the probabilistic, fairness and
  counterfactual code: probability and rank-marginal matrices, propensities, group labels,
  rankings (permutations), yes/no flags, scores w·Ψ that overflow, non-finite results.
* :mod:`.params` -- numeric and option parameters (finite, range, integer-ness, choices):
  probabilities, confidence levels, positive reals, sample counts, temperatures and the
  solvers' C / eps / max_iter.
* :mod:`.text` -- bounded streaming text/gzip reading (per-line and total limits, a pipe is
  opened once).
* :mod:`.paths` -- output paths (never an input, a regular writable location, checked before
  any work) and atomic writes (temporary file in the target folder, flush, rename).
"""
from .arrays import *  # noqa: F401,F403
from .arrays import __all__ as _arrays_all
from .params import *  # noqa: F401,F403
from .params import __all__ as _params_all
from .paths import *  # noqa: F401,F403
from .paths import __all__ as _paths_all
from .text import *  # noqa: F401,F403
from .text import __all__ as _text_all

__all__ = [*_arrays_all, *_params_all, *_paths_all, *_text_all]
