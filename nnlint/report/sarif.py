"""SARIF 2.1.0, as GitHub code scanning reads it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence
from urllib.parse import quote

from nnlint import __version__
from nnlint.catalog import page_text
from nnlint.diagnostics import Finding, RelatedLocation, Severity, TextFix
from nnlint.rules.metadata import RuleInfo

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "note"}


def _rule_descriptor(rule: RuleInfo) -> dict:
    help_text = page_text(rule.code) or rule.summary
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.summary},
        "help": {"text": help_text, "markdown": help_text},
        "defaultConfiguration": {"level": _LEVELS[rule.severity], "enabled": rule.default_enabled},
        "properties": {"tags": ["nnlint", "correctness"]},
    }


def _uri(path: str) -> str:
    """A file URI for an absolute path; a relative path as a relative reference, percent-encoded
    (spaces, `%`, `#`, `:`, non-ASCII) as RFC 3986 and the schema's uri-reference demand."""
    candidate = Path(path)
    return quote(candidate.as_posix(), safe="/") if not candidate.is_absolute() else candidate.as_uri()


def _result(finding: Finding, index: dict[str, int]) -> dict:
    region = {"startLine": finding.line, "startColumn": finding.column}
    if finding.end_line:
        region.update(endLine=finding.end_line, endColumn=finding.end_column)
    result = {
        "ruleId": finding.code,
        "ruleIndex": index[finding.code],
        "level": _LEVELS[finding.severity],
        "message": {"text": finding.message},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(finding.path)}, "region": region}}],
    }
    if finding.fingerprint:
        result["partialFingerprints"] = {"nnlint/v1": finding.fingerprint}
    if finding.cell is not None:
        result["properties"] = {"cell": finding.cell}
    if finding.fix is not None:
        result["fixes"] = [_fix(finding.path, finding.fix)]
    if finding.related:
        result["relatedLocations"] = [_related(finding.path, number, place)
                                      for number, place in enumerate(finding.related, start=1)]
    return result


def _related(path: str, number: int, place: RelatedLocation) -> dict:
    region = {"startLine": place.line, "startColumn": place.column, "endLine": place.end_line,
              "endColumn": place.end_column}
    location = {"id": number, "physicalLocation": {"artifactLocation": {"uri": _uri(place.shown_path(path))},
                                                   "region": region},
                "message": {"text": place.message}}
    if place.cell is not None:
        location["properties"] = {"cell": place.cell}
    return location


def _fix(path: str, fix: TextFix) -> dict:
    """A SARIF fix: one artifact change of replacements (an empty deleted region inserts)."""
    replacements = []
    for edit in fix.edits:
        replacement: dict = {
            "deletedRegion": {"startLine": edit.line, "startColumn": edit.column,
                              "endLine": edit.end_line, "endColumn": edit.end_column},
            "insertedContent": {"text": edit.content},
        }
        if edit.cell is not None:
            replacement["properties"] = {"cell": edit.cell}
        replacements.append(replacement)
    return {
        "description": {"text": fix.message},
        "artifactChanges": [{"artifactLocation": {"uri": _uri(path)}, "replacements": replacements}],
        "properties": {"applicability": fix.applicability.value},
    }


def render(findings: Sequence[Finding], rules: Sequence[RuleInfo], paths: Sequence[str]) -> str:
    index = {rule.code: position for position, rule in enumerate(rules)}
    log = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "nnlint",
                "version": __version__,
                "informationUri": "https://pypi.org/project/nnlint/",
                "rules": [_rule_descriptor(rule) for rule in rules],
            }},
            "results": [_result(f, index) for f in findings],
        }],
    }
    return json.dumps(log, indent=2) + "\n"
