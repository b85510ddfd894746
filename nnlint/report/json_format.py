"""A JSON array of findings, one object each, with end positions and the rule's name."""

from __future__ import annotations

import json
from typing import Sequence

from nnlint.diagnostics import Finding
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
    }


def render(findings: Sequence[Finding], rules: Sequence[RuleInfo], paths: Sequence[str]) -> str:
    return json.dumps([as_dict(f) for f in findings], indent=2) + "\n"
