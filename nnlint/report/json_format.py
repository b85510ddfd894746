"""A JSON array of findings, one object each, with end positions and the rule's name."""

from __future__ import annotations

import json
from typing import Sequence

from nnlint.diagnostics import Finding, TextFix
from nnlint.rules.metadata import RuleInfo


def as_dict(finding: Finding) -> dict:
    return {
        "path": finding.path,
        "line": finding.line,
        "column": finding.column,
        "end_line": finding.end_line,
        "end_column": finding.end_column,
        "cell": finding.cell,
        "code": finding.code,
        "rule": finding.rule_name,
        "severity": finding.severity.value,
        "message": finding.message,
        "fix": fix_as_dict(finding.fix) if finding.fix is not None else None,
        "related": [{"path": place.shown_path(finding.path), "line": place.line, "column": place.column,
                     "end_line": place.end_line, "end_column": place.end_column, "cell": place.cell,
                     "message": place.message}
                    for place in finding.related],
    }


def fix_as_dict(fix: TextFix) -> dict:
    """Applicability, what the fix does and its edits: 1-based, the end exclusive, a notebook's
    positions within the edit's cell."""
    return {
        "applicability": fix.applicability.value,
        "message": fix.message,
        "edits": [{"start": {"line": edit.line, "column": edit.column},
                   "end": {"line": edit.end_line, "column": edit.end_column},
                   "content": edit.content,
                   "cell": edit.cell} for edit in fix.edits],
    }


def render(findings: Sequence[Finding], rules: Sequence[RuleInfo], paths: Sequence[str]) -> str:
    return json.dumps([as_dict(f) for f in findings], indent=2) + "\n"
