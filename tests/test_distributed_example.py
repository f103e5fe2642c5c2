"""examples/distributed.py runs on a LocalCluster it starts, with two workers (CoCoA+ rounds)
and with one (the local solver on the worker), and reports certified gaps within C·eps and
a cluster primal that agrees with the local one."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "distributed.py"
ROOT = EXAMPLE.parents[1]


def _run(n_workers, C=10.0, eps=0.01):
    out = subprocess.run([sys.executable, str(EXAMPLE), "--n-workers", str(n_workers),
                          "--C", str(C), "--eps", str(eps)], capture_output=True, text=True,
                         timeout=300, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    cluster = re.search(r"primal ([0-9.]+), certified gap ([0-9.e+-]+)", out.stdout)
    local = re.search(r"local: .*primal ([0-9.]+), gap ([0-9.e+-]+)", out.stdout)
    assert cluster and local, out.stdout
    return out.stdout, float(cluster[1]), float(cluster[2]), float(local[1]), float(local[2])


@pytest.mark.slow
@pytest.mark.parametrize("n_workers", [1, 2])
def test_distributed_example(n_workers):
    pytest.importorskip("distributed")
    C, eps = 10.0, 0.01
    text, primal, gap, local_primal, local_gap = _run(n_workers, C, eps)
    assert 0 <= gap <= C * eps and 0 <= local_gap <= C * eps
    # both primals are within their certified gaps of the same optimum
    assert abs(primal - local_primal) <= C * eps + 1e-4
    if n_workers == 1:
        # the local solver ran on the worker: the same w, so the same primal
        assert "1 partition, the local n-slack solver ran on the worker" in text
        assert primal == local_primal
    else:
        assert "cluster: 2 partitions" in text and "bytes to each worker" in text
