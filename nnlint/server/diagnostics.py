"""Findings as LSP diagnostics: at the finding's range in its document or notebook cell, with
the rule's code, severity and page, and the source "nnlint"."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types
from pygls.workspace import PositionCodec

from nnlint.catalog import catalog_dir
from nnlint.diagnostics import Finding, Severity
from nnlint.server.documents import Part, Snapshot
from nnlint.server.positions import Lines

SOURCE = "nnlint"
SEVERITIES = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.NOTE: types.DiagnosticSeverity.Information,
}


def rule_page(code: str) -> str | None:
    """The uri of the rule's page (`nnlint --explain CODE`) as installed with nnlint."""
    directory = catalog_dir()
    page = directory / f"{code}.md" if directory is not None else None
    return Path(page).absolute().as_uri() if page is not None and page.is_file() else None


def part_of(snapshot: Snapshot, finding: Finding) -> tuple[int | None, Part] | None:
    """The text a finding's position refers to: the file's, or its cell's."""
    part = snapshot.parts.get(finding.cell)
    if part is None and snapshot.parts:  # a finding about the whole notebook: its first cell shows it
        key = next(iter(snapshot.parts))
        return key, snapshot.parts[key]
    return (finding.cell, part) if part is not None else None


def finding_range(finding: Finding, lines: Lines) -> types.Range:
    return lines.range(finding.line, finding.column, finding.end_line, finding.end_column)


def diagnostic(finding: Finding, lines: Lines) -> types.Diagnostic:
    page = rule_page(finding.code)
    return types.Diagnostic(
        range=finding_range(finding, lines),
        message=finding.message,
        severity=SEVERITIES[finding.severity],
        code=finding.code,
        code_description=types.CodeDescription(href=page) if page is not None else None,
        source=SOURCE,
    )


def diagnostics_by_uri(snapshot: Snapshot, findings: list[Finding], codec: PositionCodec
                       ) -> dict[str, list[types.Diagnostic]]:
    """Each part's diagnostics under its uri (an empty list for a part without findings, so that
    earlier ones are cleared)."""
    lines = {key: Lines(part.text, codec) for key, part in snapshot.parts.items()}
    published: dict[str, list[types.Diagnostic]] = {part.uri: [] for part in snapshot.parts.values()}
    for finding in findings:
        placed = part_of(snapshot, finding)
        if placed is not None:
            key, part = placed
            published[part.uri].append(diagnostic(finding, lines[key]))
    return published
