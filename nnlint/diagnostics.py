"""The finding a rule reports, and the severities it can carry."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nnlint.facts.summary import ModuleSummary
    from nnlint.rules.metadata import RuleInfo


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


class Applicability(str, Enum):
    """Whether a fix is applied by `--fix` (safe) or only with `--unsafe-fixes` (a human decides)."""

    SAFE = "safe"
    UNSAFE = "unsafe"


@dataclass(frozen=True)
class TextEdit:
    """Replace the text from (line, column) up to (end_line, end_column) with `content`;
    1-based, end exclusive. In a notebook the positions are within `cell`, as findings' are."""

    line: int
    column: int
    end_line: int
    end_column: int
    content: str
    cell: int | None = None


@dataclass(frozen=True)
class TextFix:
    """A finding's fix as text edits, applied all together or not at all."""

    applicability: Applicability
    message: str
    edits: tuple[TextEdit, ...]


@dataclass(frozen=True)
class RelatedLocation:
    """Another place that is part of a finding's bug (where the softmax is made, where the helper
    computes the loss), positioned as findings are: in the finding's file, or in the file `path`
    names (absolute: a helper of another file of the project)."""

    line: int
    column: int
    end_line: int
    end_column: int
    message: str
    cell: int | None = None
    path: str | None = None

    def shown_path(self, finding_path: str) -> str:
        """The file as messages show it: relative to the working directory where it lies under it."""
        if self.path is None:
            return finding_path
        relative = os.path.relpath(self.path)
        return self.path if relative.startswith("..") else relative


@dataclass(frozen=True)
class Finding:
    """One reported problem, positioned 1-based (line and column) as flake8 does."""

    path: str
    line: int
    column: int
    code: str
    message: str
    rule_name: str
    severity: Severity
    end_line: int = 0
    end_column: int = 0
    cell: int | None = None
    fingerprint: str = field(default="", compare=False)
    # The flagged line as written (a notebook's: its line in the cell), filled with the fingerprint.
    source_line: str = field(default="", compare=False)
    fix: TextFix | None = field(default=None, compare=False)
    related: tuple[RelatedLocation, ...] = field(default=(), compare=False)

    def sort_key(self) -> tuple:
        return (self.path, self.cell or 0, self.line, self.column, self.code)


@dataclass
class FileResult:
    """What linting one file gives: its findings, its size and its summary for the project."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    lines: int = 0
    summary: "ModuleSummary | None" = None


@dataclass
class Scan:
    """The cheap first look at a file: its imports, or the findings that stop its analysis."""

    path: str
    aliases: dict[str, str] | None = None
    findings: list[Finding] = field(default_factory=list)
    lines: int = 0


def finding(rule: RuleInfo, path: str, line: int, column: int, message: str,
            end: tuple[int, int] | None = None) -> Finding:
    end_line, end_column = end if end else (line, column)
    return Finding(path, line, column, rule.code, message, rule.name, rule.severity, end_line, end_column)
