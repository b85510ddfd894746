"""The text format with the flagged source line and a caret under the column, as flake8's
--show-source prints them (a notebook's line is its line in the cell), then the other places of
the bug, each on a line of its own (`= note:` as rustc and ruff print theirs)."""

from __future__ import annotations

from typing import Sequence

from dataclasses import replace

from nnlint.diagnostics import Finding, RelatedLocation
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
        lines.extend(f"  = note: {location(_at(f, place))}: {place.message}\n" for place in f.related)
    return "".join(lines)


def _at(finding: Finding, place: RelatedLocation) -> Finding:
    """The finding moved to one of its related places, to print that place's location."""
    return replace(finding, path=place.shown_path(finding.path), line=place.line, column=place.column, cell=place.cell)
