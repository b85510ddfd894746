"""The text format with the flagged source line and a caret under the column, as flake8's
--show-source prints them (a notebook's line is its line in the cell)."""

from __future__ import annotations

from typing import Sequence

from nnlint.diagnostics import Finding
from nnlint.report.text import fix_mark, location
from nnlint.rules.metadata import RuleInfo


def _pointer(line: str, column: int) -> str:
    """Spaces up to the column, tabs kept as tabs so that the caret lines up, then the caret."""
    return "".join(c if c.isspace() else " " for c in line[:column - 1]) + "^"


def render(findings: Sequence[Finding], rules: Sequence[RuleInfo], paths: Sequence[str],
           unsafe_fixes: bool = False) -> str:
    lines = []
    for f in findings:
        lines.append(f"{location(f)}: {f.code} {fix_mark(f, unsafe_fixes)}{f.message}\n")
        if f.source_line.strip():
            lines.append(f"{f.source_line}\n{_pointer(f.source_line, f.column)}\n")
    return "".join(lines)
