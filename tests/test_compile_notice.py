"""A numba compile is announced once and kept out of the solvers' phase times."""
import time

import numpy as np
import pytest

from structpred import compile_notice
from structpred.solvers.base import Timers

numba = pytest.importorskip("numba")


def test_a_compile_is_announced_once_and_not_in_the_phase_times(capsys):
    compile_notice.install()
    compile_notice._state["announced"] = False      # as in a fresh process
    timers = Timers()
    c0 = compile_notice.compile_seconds()
    salt = time.perf_counter_ns()                    # a new function: never in any cache

    @numba.njit(cache=False)
    def kernel(x):
        s = 0.0
        for i in range(x.shape[0]):
            s += x[i] * salt
        return s
    t0 = time.perf_counter()
    with timers("oracle"):
        kernel(np.ones(3))                           # compiles
        kernel(np.ones(4))                           # same specialisation: no compile
    wall = time.perf_counter() - t0
    compiled = compile_notice.compile_seconds() - c0
    assert compiled > 0.0
    assert timers.totals["oracle"] <= wall - compiled + 1e-6
    assert timers.totals["oracle"] >= 0.0
    err = capsys.readouterr().err
    assert err.count(compile_notice.MESSAGE) == 1
    with timers("oracle"):
        kernel(np.ones(5))                           # loaded: nothing announced, nothing compiled
    assert compile_notice.compile_seconds() - c0 == compiled
    assert compile_notice.MESSAGE not in capsys.readouterr().err
