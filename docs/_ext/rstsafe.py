"""Make plain-text docstrings safe for reStructuredText before numpydoc reads them.

structpred's docstrings write maths as plain Unicode text (‖w‖², |x|, W[y]·x, ``w_``), the
way ``help()`` shows them. Read as reStructuredText, ``|x|`` is a substitution, ``w_`` a
hyperlink reference, ``*`` emphasis, and an indented formula under a sentence a block quote
that needs blank lines. This extension escapes those outside literals, so that every module
(present and future) renders as written and the build can run with warnings as errors.
"""
from __future__ import annotations

import re

_SECTION = re.compile(r"^\s*(Parameters|Returns|Yields|Receives|Raises|Warns|Warnings|Attributes|"
                      r"Methods|Other Parameters|See Also|Notes|References|Examples)\s*$")
_UNDERLINE = re.compile(r"^\s*-{3,}\s*$")
#: ``literal``, `interpreted`, :role:`target`, and already escaped characters
_LITERAL = re.compile(r"(``.+?``|:[\w:+-]+:`[^`]+`|`[^`]+`_{0,2}|\\.)")
#: names ending with "_" (w_, n_classes_, __init__): hyperlink references in rst
_TRAILING_UNDERSCORE = re.compile(r"(?<![\w`\\])(\w[\w.\[\]]*_)(?=[\s,.;:!?)\]'\"]|$)")


def _escape_text(text: str) -> str:
    text = text.replace("|", r"\|").replace("*", r"\*")
    return _TRAILING_UNDERSCORE.sub(lambda m: f"``{m.group(1)}``", text)


def escape_inline(line: str) -> str:
    """Escape |, * and trailing-underscore names outside literals and roles."""
    parts = _LITERAL.split(line)
    return "".join(p if i % 2 else _escape_text(p) for i, p in enumerate(parts))


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def make_safe(lines: list[str]) -> list[str]:
    """The docstring's lines with inline escapes and blank lines around indented blocks in
    free text (not inside numpydoc's Parameters/Returns/... sections)."""
    out: list[str] = []
    section = None          # current numpydoc section title, None in free text
    literal_indent = None   # indentation of the paragraph that opened a literal (::) block
    doctest = False
    for k, line in enumerate(lines):
        stripped = line.strip()
        nxt = lines[k + 1] if k + 1 < len(lines) else ""
        if _SECTION.match(line) and _UNDERLINE.match(nxt):
            section = stripped
            literal_indent = None
            out.append(line)
            continue
        if literal_indent is not None:
            if stripped and _indent(line) <= literal_indent:
                literal_indent = None
            else:
                out.append(line)
                continue
        if stripped.startswith(">>>"):
            doctest = True
        if doctest:
            out.append(line)
            if not stripped:
                doctest = False
            continue
        if not stripped or _UNDERLINE.match(line):
            out.append(line)
            continue
        free = section in (None, "Notes", "References", "Warnings")
        prev = out[-1] if out else ""
        if free and prev.strip() and not _UNDERLINE.match(prev) and _indent(line) != _indent(prev) \
                and not prev.rstrip().endswith("::") and not _SECTION.match(prev):
            out.append("")   # a formula indented under a sentence (or the text after it)
        safe = escape_inline(line)
        if stripped.endswith("::"):
            literal_indent = _indent(line)
        out.append(safe)
    return out


def _process(app, what, name, obj, options, lines):
    lines[:] = make_safe(lines)


def _skip(app, what, name, obj, skip, options):
    """scikit-learn's generated metadata-routing setters are not structpred's API; a class or
    function that a module only re-exports (its ``__module__`` is another structpred module)
    is documented once, where it is defined."""
    if re.fullmatch(r"set_\w+_request", name):
        return True
    if what == "module" and isinstance(obj, type) or (what == "module" and callable(obj)):
        here = app.env.temp_data.get("autodoc:module") or app.env.ref_context.get("py:module")
        home = getattr(obj, "__module__", None)
        if here and isinstance(home, str) and home.startswith("structpred") and home != here:
            return True
    return None


def setup(app):
    app.connect("autodoc-process-docstring", _process, priority=100)   # before numpydoc (500)
    app.connect("autodoc-skip-member", _skip)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
