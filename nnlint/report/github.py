"""GitHub Actions workflow commands, which annotate the pull request's diff."""

from __future__ import annotations

from typing import Sequence

from nnlint.diagnostics import Finding, Severity
from nnlint.rules.metadata import RuleInfo

_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(findings: Sequence[Finding], rules: Sequence[RuleInfo], paths: Sequence[str]) -> str:
    lines = []
    for f in findings:
        where = f"file={_escape_property(f.path)},line={f.line},col={f.column}"
        if f.end_line:
            where += f",endLine={f.end_line},endColumn={f.end_column}"
        cell = f" (cell {f.cell})" if f.cell is not None else ""
        title = _escape_property(f"{f.code} {f.rule_name}")
        lines.append(f"::{_LEVELS[f.severity]} {where},title={title}::{_escape_data(f.code + ' ' + f.message + cell)}\n")
    return "".join(lines)
