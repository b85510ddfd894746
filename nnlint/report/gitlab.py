"""GitLab Code Quality: the JSON report that merge requests show findings from
(docs.gitlab.com/ci/testing/code_quality/#code-quality-report-format)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Sequence

from nnlint.diagnostics import Finding, Severity
from nnlint.rules.metadata import RuleInfo

_SEVERITIES = {Severity.ERROR: "major", Severity.WARNING: "minor", Severity.NOTE: "info"}


def _repository_path(path: str) -> str:
    """Relative to the repository, which is the working directory of a CI job, without `./`."""
    candidate = Path(path)
    if candidate.is_absolute() and candidate.is_relative_to(Path.cwd()):
        candidate = candidate.relative_to(Path.cwd())
    return candidate.as_posix()


def _issue(finding: Finding) -> dict:
    path = _repository_path(finding.path)
    cell = f" (cell {finding.cell})" if finding.cell is not None else ""
    return {
        "description": f"{finding.code} {finding.message}{cell}",
        "check_name": finding.code,
        # The baseline's identity of a finding, its path and fingerprint (which survives edits
        # elsewhere in the file): GitLab wants each issue's fingerprint unique in the report.
        "fingerprint": hashlib.blake2b(f"{path}\0{finding.fingerprint}".encode(), digest_size=16).hexdigest(),
        "severity": _SEVERITIES[finding.severity],
        "location": {"path": path, "lines": {"begin": finding.line}},
    }


def render(findings: Sequence[Finding], rules: Sequence[RuleInfo], paths: Sequence[str]) -> str:
    return json.dumps([_issue(f) for f in findings], indent=2) + "\n"
