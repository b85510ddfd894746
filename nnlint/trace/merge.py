"""Static findings meet runtime facts: each static finding is confirmed, not observed or not
exercised; runtime findings the linter did not make are reported as observed at runtime."""

from __future__ import annotations

import linecache
import os
from typing import Callable, Sequence

from nnlint.diagnostics import Finding, Severity
from nnlint.noqa import is_suppressed
from nnlint.rules.metadata import RuleInfo, rule_info
from nnlint.trace.findings import TraceFinding

# The static codes the tracer can confirm, with the name and severity to use while the rule
# table (rules/metadata.py) does not define one; the table's entry always wins. (NN8xx, the
# runtime-only codes, are in the table.)
CONFIRMABLE: dict[str, tuple[str, Severity]] = {
    "NN101": ("overwritten-layer-output", Severity.ERROR),
    "NN102": ("unused-submodule", Severity.WARNING),
    "NN103": ("bias-before-batchnorm", Severity.WARNING),
    "NN104": ("unregistered-submodule", Severity.ERROR),
    "NN108": ("broken-gradient-path", Severity.ERROR),
    "NN201": ("softmax-into-cross-entropy", Severity.ERROR),
    "NN202": ("nll-loss-without-log-softmax", Severity.ERROR),
    "NN203": ("sigmoid-into-bce-with-logits", Severity.ERROR),
    "NN205": ("bounded-activation-into-cross-entropy", Severity.ERROR),
    "NN206": ("single-logit-cross-entropy", Severity.ERROR),
    "NN301": ("missing-zero-grad", Severity.ERROR),
    "NN302": ("zero-grad-between-backward-and-step", Severity.ERROR),
    "NN308": ("optimizer-misses-trained-model", Severity.ERROR),
    "NN401": ("missing-eval", Severity.ERROR),
    "NN501": ("view-instead-of-permute", Severity.ERROR),
}

# Codes whose static finding sits on another line of the same function than the runtime one:
# NN101 points at the assignment that overwrites a layer's output, the tracer at the layer's call.
SAME_FUNCTION_CODES = frozenset({"NN101"})

CONFIRMED = "confirmed at runtime"
NOT_OBSERVED = "not observed at runtime"
NOT_EXERCISED = "not exercised: this code never ran"
NOT_CHECKED = "not checked at runtime"
OBSERVED = "observed at runtime"


def rule_for(code: str) -> RuleInfo:
    rule = rule_info(code)
    if rule is not None:
        return rule
    name, severity = CONFIRMABLE.get(code, ("runtime-finding", Severity.WARNING))
    return RuleInfo(code=code, name=name, severity=severity, summary=f"{code} observed by nnlint trace.")


def display_path(path: str) -> str:
    """Relative to the working directory when below it, as the linter prints paths."""
    relative = os.path.relpath(path)
    return path if relative.startswith(os.pardir) else relative


def _suppressed(finding: TraceFinding) -> bool:
    return is_suppressed(finding.code, linecache.getline(finding.path, finding.line))


def merge(static: Sequence[Finding], runtime: Sequence[TraceFinding],
          ran: Callable[[str, int, int], bool | None], keep: Callable[[str, str], bool]) -> list[Finding]:
    """One list: static findings with their runtime status, then runtime-only findings.

    `ran(path, first, last)` says whether those lines executed (None: unknown); `keep(code,
    path)` applies the user's rule selection to runtime findings.
    """
    confirmed: set[int] = set()
    merged: list[Finding] = []
    for finding in static:
        path = os.path.realpath(finding.path)
        last = max(finding.line, finding.end_line)
        match = _match(finding, path, last, runtime, confirmed)
        if match is not None:
            confirmed.add(match)
            status = CONFIRMED
        elif ran(path, finding.line, last) is False:
            status = NOT_EXERCISED
        elif finding.code in CONFIRMABLE:
            status = NOT_OBSERVED
        else:
            status = NOT_CHECKED
        merged.append(_with_status(finding, status))
    for index, found in enumerate(runtime):
        if index in confirmed or not keep(found.code, found.path) or _suppressed(found):
            continue
        rule = rule_for(found.code)
        merged.append(Finding(
            path=display_path(found.path), line=found.line, column=found.column, code=found.code,
            message=f"{found.message} ({OBSERVED})", rule_name=rule.name, severity=rule.severity,
            end_line=found.end_line, end_column=found.end_column,
        ))
    return sorted(merged, key=Finding.sort_key)


def _match(finding: Finding, path: str, last: int, runtime: Sequence[TraceFinding], taken: set[int]) -> int | None:
    """The runtime finding that is the static one's bug: at one of its lines, else (for
    SAME_FUNCTION_CODES) the nearest one before it in the same function."""
    candidates = [(i, r) for i, r in enumerate(runtime) if i not in taken and r.code == finding.code]
    exact = next((i for i, r in candidates if any(finding.line <= line <= last for line in r.lines_in(path))), None)
    if exact is not None or finding.code not in SAME_FUNCTION_CODES:
        return exact
    nearby = [(finding.line - r.line, i) for i, r in candidates
              if r.path == path and r.scope is not None and r.scope[0] <= finding.line <= r.scope[1]]
    return min(nearby, key=lambda item: (item[0] < 0, abs(item[0])))[1] if nearby else None


def _with_status(finding: Finding, status: str) -> Finding:
    return Finding(
        path=finding.path, line=finding.line, column=finding.column, code=finding.code,
        message=f"{finding.message} ({status})", rule_name=finding.rule_name, severity=finding.severity,
        end_line=finding.end_line, end_column=finding.end_column, cell=finding.cell, fingerprint=finding.fingerprint,
    )
