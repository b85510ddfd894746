"""flake8's `path:line:col: CODE message`; notebooks as `path:cell N:line:col`."""

from __future__ import annotations

from collections import Counter
from typing import Sequence

from nnlint.diagnostics import Applicability, Finding
from nnlint.rules.metadata import RuleInfo


def location(finding: Finding) -> str:
    if finding.cell is not None:
        return f"{finding.path}:cell {finding.cell}:{finding.line}:{finding.column}"
    return f"{finding.path}:{finding.line}:{finding.column}"


def render(findings: Sequence[Finding], rules: Sequence[RuleInfo], paths: Sequence[str],
           unsafe_fixes: bool = False) -> str:
    """One line per finding; `[*]` marks those `--fix` repairs (unsafe fixes too, with `--unsafe-fixes`)."""
    return "".join(f"{location(f)}: {f.code} {fix_mark(f, unsafe_fixes)}{f.message}\n" for f in findings)


def fix_mark(finding: Finding, unsafe_fixes: bool) -> str:
    """`[*] ` before the message of a finding that --fix (with --unsafe-fixes: also unsafe ones) repairs."""
    fix = finding.fix
    if fix is None or (fix.applicability is not Applicability.SAFE and not unsafe_fixes):
        return ""
    return "[*] "


def statistics(findings: Sequence[Finding]) -> str:
    """flake8's --statistics: count, code and the first message of each code."""
    counts = Counter(f.code for f in findings)
    first = {}
    for finding in findings:
        first.setdefault(finding.code, finding.message)
    return "".join(f"{counts[code]:<5} {code} {first[code]}\n" for code in sorted(counts))
