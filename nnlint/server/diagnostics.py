"""Findings as LSP diagnostics: at the finding's range in its document or notebook cell, with
the rule's code, severity and page, the source "nnlint", and the other places of the bug as
related information (where the softmax is made, where the helper computes the loss)."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types
from pygls.workspace import PositionCodec

from nnlint.catalog import catalog_dir
from nnlint.diagnostics import Finding, RelatedLocation, Severity
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


class Placement:
    """Where a snapshot's findings, their related places and their fixes are, in the client's
    units; each text's lines are split once."""

    def __init__(self, snapshot: Snapshot, codec: PositionCodec) -> None:
        self.snapshot = snapshot
        self.codec = codec
        self._lines: dict[int | None, Lines] = {}
        self._other_files: dict[str, Lines | None] = {}

    def lines(self, key: int | None) -> Lines | None:
        """The lines of the file (None) or of a cell (its number)."""
        part = self.snapshot.parts.get(key)
        if part is None:
            return None
        if key not in self._lines:
            self._lines[key] = Lines(part.text, self.codec)
        return self._lines[key]

    def _other_file_lines(self, path: str) -> Lines | None:
        """The lines of another file of the project, read from disk (None if it cannot be read)."""
        if path not in self._other_files:
            try:
                self._other_files[path] = Lines(Path(path).read_text(encoding="utf-8"), self.codec)
            except (OSError, UnicodeDecodeError):
                self._other_files[path] = None
        return self._other_files[path]

    def part_of(self, finding: Finding) -> tuple[int | None, Part] | None:
        """The text a finding's position refers to: the file's, or its cell's."""
        part = self.snapshot.parts.get(finding.cell)
        if part is None and self.snapshot.parts:  # a finding about the whole notebook: its first cell shows it
            key = next(iter(self.snapshot.parts))
            return key, self.snapshot.parts[key]
        return (finding.cell, part) if part is not None else None

    def range(self, finding: Finding) -> types.Range:
        placed = self.part_of(finding)
        lines = self.lines(placed[0]) if placed is not None else None
        if lines is None:
            return types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0))
        return lines.range(finding.line, finding.column, finding.end_line, finding.end_column)

    def diagnostic(self, finding: Finding) -> types.Diagnostic:
        page = rule_page(finding.code)
        return types.Diagnostic(
            range=self.range(finding),
            message=finding.message,
            severity=SEVERITIES[finding.severity],
            code=finding.code,
            code_description=types.CodeDescription(href=page) if page is not None else None,
            source=SOURCE,
            related_information=[related for related in map(self._related, finding.related) if related] or None,
        )

    def _related(self, place: RelatedLocation) -> types.DiagnosticRelatedInformation | None:
        """Another place of the finding's bug (in a notebook, maybe in another cell; or in another
        file of the project, whose text the server may not hold: positioned as nnlint counts)."""
        if place.path is not None:
            lines = self._other_file_lines(place.path)
            where = lines.range(place.line, place.column, place.end_line, place.end_column) if lines is not None else \
                types.Range(types.Position(place.line - 1, 0), types.Position(place.line - 1, 0))
            return types.DiagnosticRelatedInformation(location=types.Location(uri=Path(place.path).as_uri(), range=where),
                                                      message=place.message)
        lines, part = self.lines(place.cell), self.snapshot.parts.get(place.cell)
        if lines is None or part is None:
            return None
        where = lines.range(place.line, place.column, place.end_line, place.end_column)
        return types.DiagnosticRelatedInformation(location=types.Location(uri=part.uri, range=where),
                                                  message=place.message)


def diagnostics_by_uri(snapshot: Snapshot, findings: list[Finding], codec: PositionCodec
                       ) -> dict[str, list[types.Diagnostic]]:
    """Each part's diagnostics under its uri (an empty list for a part without findings, so that
    earlier ones are cleared)."""
    placement = Placement(snapshot, codec)
    published: dict[str, list[types.Diagnostic]] = {part.uri: [] for part in snapshot.parts.values()}
    for finding in findings:
        placed = placement.part_of(finding)
        if placed is not None:
            published[placed[1].uri].append(placement.diagnostic(finding))
    return published
