"""The plain-text feedback format: round trips (multiclass and structures) and DataFormatError
naming file and line."""
import numpy as np
import pytest

from structpred.counterfactual import BanditFeedback, read_feedback, write_feedback
from structpred.errors import DataFormatError


def test_multiclass_round_trip_uses_vw_one_based_actions(tmp_path):
    X = np.array([[0.5, 0.0, 2.0], [0.0, 0.0, 0.0], [1.25, -3.0, 0.0]])
    fb = BanditFeedback(X, np.array([0, 2, 1]), [0.0, 1.0, -0.5], propensity=[0.25, 1.0, 1e-3],
                        logging_policy="softmax logger")
    path = tmp_path / "log.txt"
    write_feedback(fb, path)
    text = path.read_text().splitlines()
    assert text[0] == "# logging_policy: softmax logger"
    assert text[1] == "1:0.0:0.25 | 0:0.5 2:2.0"
    assert text[2] == "3:1.0:1.0 |"
    back = read_feedback(path, n_features=3)
    assert back.logging_policy == "softmax logger"
    assert np.array_equal(back.X, X) and list(back.Y) == [0, 2, 1]
    assert np.array_equal(back.loss, fb.loss)
    assert np.allclose(back.log_propensity, fb.log_propensity, rtol=0, atol=1e-15)


def test_structure_round_trip_and_tiny_propensities_in_log_form(tmp_path):
    X = np.eye(2)
    Y = [np.array([0, 1, 1, 0, 0, 0]), np.array([1, 0, 0, 0, 0, 1])]
    fb = BanditFeedback(X, Y, [2.0, 3.0], log_propensity=[-0.7, -900.0])
    path = tmp_path / "log.txt"
    write_feedback(fb, path, kind="vector")
    lines = path.read_text().splitlines()
    assert lines[0].startswith("0,1,1,0,0,0:2.0:0.49") and lines[1].startswith("1,0,0,0,0,1:3.0:L-900.0 |")
    back = read_feedback(path, kind="vector")
    assert all(np.array_equal(a, b) for a, b in zip(back.Y, Y))
    assert back.log_propensity[1] == -900.0


@pytest.mark.parametrize("line, message", [
    ("1:0:0.5 0:1", "no '|'"),
    ("1:0 | 0:1", "action:cost:probability"),
    ("0:0:0.5 | 0:1", "1-based"),
    ("1:nan:0.5 | 0:1", "cost"),
    ("1:0:0 | 0:1", "not in \\(0, 1\\]"),
    ("1:0:1.5 | 0:1", "not in \\(0, 1\\]"),
    ("1:0:L0.5 | 0:1", "> 0"),
    ("1:0:0.5 |ns 0:1", "namespaces"),
    ("1:0:0.5 | a:1", "0-based integer index"),
    ("1:0:0.5 | 3:inf", "not finite"),
    # a strict number grammar (Python's float() takes 0.2_5 and +0), no repeated index, and
    # no dense width out of proportion to the line (test_counterfactual_hostile: defect 9)
    ("1:0.5:0.2_5 | 0:1", "probability '0.2_5'"),
    ("1:0.5:L-1_000 | 0:1", "log-probability '-1_000'"),
    ("1:0.5:L+0 | 0:1", r"log-probability '\+0'"),
    ("1:0_1:0.5 | 0:1", "cost '0_1'"),
    ("1:0.5:0.5 | 0:1e50 0:1e50 0:1e50", "feature index 0 appears twice"),
    ("1:0.5:0.5 | 268435455:1", "feature index 268435455 asks for a dense X"),
])
def test_bad_lines_name_file_and_line(tmp_path, line, message):
    path = tmp_path / "bad.txt"
    path.write_text("# comment\n1:0:0.5 | 0:1\n" + line + "\n")
    with pytest.raises(DataFormatError, match=f"bad.txt, line 3: .*{message}") as info:
        read_feedback(path)
    assert info.value.lineno == 3


def test_ragged_structures_and_empty_files(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("0,1:0:0.5 | 0:1\n0,1,1:0:0.5 | 0:1\n")
    with pytest.raises(DataFormatError, match="line 2: structure has 3 entries"):
        read_feedback(path, kind="vector")
    path.write_text("# nothing\n\n")
    with pytest.raises(DataFormatError, match="no logged examples"):
        read_feedback(path)
