"""Every Python code block of the documentation runs.

Each page under docs/ is one test: its ``.. code-block:: python`` blocks run in order in one
namespace, in a temporary working directory (so files a block writes go there). A page that
needs the public datasets says so in a comment ``.. needs-data: <path under the data home>``
and is skipped with the reason when the file is absent. A page added later is collected
without an edit here.
"""
from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from conftest import data_file

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.rst") if "generated" not in p.parts and "_build" not in p.parts)

_BLOCK = re.compile(r"^(?P<indent>[ \t]*)\.\. code-block:: python[ \t]*\n((?:(?P=indent)[ \t]+:[^\n]*\n)*)\n"
                    r"(?P<body>(?:(?:(?P=indent)[ \t]+[^\n]*|[ \t]*)\n)+)", re.M)


def code_blocks(text: str) -> list[tuple[int, str]]:
    """(line number, dedented code) of every python code block of an rst text."""
    out = []
    for m in _BLOCK.finditer(text + "\n"):
        line = text.count("\n", 0, m.start("body")) + 1
        out.append((line, textwrap.dedent(m.group("body")).rstrip() + "\n"))
    return out


def test_the_collector_finds_blocks():
    text = "Intro\n\n.. code-block:: python\n   :caption: x\n\n   a = 1\n\n   b = a + 1\n\nAfter\n"
    blocks = code_blocks(text)
    assert [b for _, b in blocks] == ["a = 1\n\nb = a + 1\n"]
    assert len(PAGES) >= 10 and sum(len(code_blocks(p.read_text())) for p in PAGES) >= 10


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(DOCS)) for p in PAGES])
def test_code_blocks_run(page, tmp_path, monkeypatch):
    text = page.read_text(encoding="utf-8")
    for needed in re.findall(r"^\.\. needs-data: (\S+)", text, re.M):
        data_file(needed)
    blocks = code_blocks(text)
    if not blocks:
        pytest.skip("no code block on this page")
    monkeypatch.chdir(tmp_path)
    try:                      # figures: draw off screen
        import matplotlib
        matplotlib.use("Agg")
    except ImportError:
        pass
    namespace: dict = {"__name__": "__docs__"}
    for line, code in blocks:
        try:
            exec(compile(code, f"{page.relative_to(DOCS)}:{line}", "exec"), namespace)
        except Exception as exc:
            raise AssertionError(f"{page.relative_to(DOCS)}, code block at line {line} failed: "
                                 f"{type(exc).__name__}: {exc}\n{code}") from exc


def test_rstsafe_escapes_plain_text_maths_outside_literals():
    import sys
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        from rstsafe import make_safe
    finally:
        sys.path.pop(0)
    lines = ["Scores ‖w‖² and |x| with w_ and ``n_classes_`` kept, 2 * x.", "",
             "Objective:", "    min ½‖w‖² + C ξ", "and then.", "", ">>> a_ = 1 | 2", ""]
    out = make_safe(lines)
    assert out[0] == r"Scores ‖w‖² and \|x\| with ``w_`` and ``n_classes_`` kept, 2 \* x."
    assert out[2:6] == ["Objective:", "", "    min ½‖w‖² + C ξ", ""]  # blank lines around the formula
    assert ">>> a_ = 1 | 2" in out                                       # doctest lines untouched
