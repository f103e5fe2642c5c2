"""examples/fair_ranking.py runs, meets its own constraints and writes its figure."""
import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "fair_ranking.py"


@pytest.mark.slow
def test_fair_ranking_example(tmp_path):
    pytest.importorskip("matplotlib", reason="the example saves a figure (matplotlib: bench extra)")
    spec = importlib.util.spec_from_file_location("fair_ranking_example", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    res = mod.main(["--out", str(tmp_path), "--trials", "2"])
    assert os.path.getsize(res["figure"]) > 1000
    assert res["lp"].gap <= 1e-9 and res["lp"].status == "optimal"
    assert res["pl_gap"] > 0.01
    assert np.allclose(res["lp"].P.sum(0), 1) and np.allclose(res["lp"].P.sum(1), 1)
