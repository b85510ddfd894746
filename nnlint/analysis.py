"""The per-file pass: decode, check syntax and read imports (ast), parse once (libcst), build
facts on demand, run the rules, position the findings. Never raises: every failure is a finding."""

from __future__ import annotations

import ast
import warnings
from dataclasses import replace
from typing import Callable, Mapping, Sequence

import libcst as cst

from nnlint.diagnostics import FileResult, Finding, RelatedLocation, Scan, TextEdit, TextFix, finding
from nnlint.facts import FileFacts
from nnlint.facts.core.names import ImportTable, import_aliases
from nnlint.facts.summary import ModuleSummary, SymbolSummary
from nnlint.files import SourceFile, UnreadableSource, read_source
from nnlint.fixes import Fix
from nnlint.fixes.materialize import text_fixes
from nnlint.notebook import CellPosition
from nnlint.parsing import parse_module
from nnlint.positions import node_positions, statement_cells
from nnlint.nesting import MAX_NESTING, too_deep
from nnlint.noqa import is_suppressed
from nnlint.rules import Report, Rule, load_rule
from nnlint.rules.metadata import BUILTIN_RULES, INTERNAL_ERROR, PARSE_ERROR, UNREADABLE, RuleInfo
from nnlint.torch_requirement import TorchRequirement

# Files mentioning one of these (and packages' __init__ files, which re-export names) are
# summarized for the project index even when no rule runs on them.
PROJECT_TRIGGERS = ("torch", "backward", "zero_grad", "softmax", "sigmoid", "Loss", "loss", "fit", "mean", "std",
                    "view", "reshape")
_BUILTIN_CODES = frozenset(rule.code for rule in BUILTIN_RULES)


def scan_text(path: str, text: str) -> Scan:
    """Python's own syntax check (clearer messages than any other parser's) and the imports."""
    lines = text.count("\n") + 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text, filename=path)
    except SyntaxError as err:
        return Scan(path, None, [_syntax_error(path, err.lineno or 1, max(err.offset or 1, 1), err.msg)], lines)
    except (RecursionError, MemoryError):
        return Scan(path, None, [finding(PARSE_ERROR, path, 1, 1, "cannot parse: expressions nested too deeply")], lines)
    except ValueError as err:
        return Scan(path, None, [finding(UNREADABLE, path, 1, 1, f"cannot read file: {err}")], lines)
    deep = too_deep(tree, text)
    if deep is not None:
        return Scan(path, None, [_too_deep(path, getattr(deep, "lineno", 1), getattr(deep, "col_offset", 0) + 1)], lines)
    return Scan(path, import_aliases(tree), [], lines)


def _syntax_error(path: str, line: int, column: int, message: str) -> Finding:
    return finding(PARSE_ERROR, path, line, column, f"cannot parse: {message}")


def _broken_cells(source: SourceFile) -> list[Finding]:
    return [_syntax_error(source.path, cell.line, cell.column, cell.message) for cell in source.broken_cells]


def _too_deep(path: str, line: int = 1, column: int = 1) -> Finding:
    return finding(PARSE_ERROR, path, line, column, f"cannot analyse: code nested more than {MAX_NESTING} levels deep")


def scan_bytes(path: str, data: bytes) -> Scan:
    try:
        source = read_source(path, data)
        scan = scan_text(path, source.text)
    except UnreadableSource as err:
        return Scan(path, None, [finding(UNREADABLE, path, 1, 1, str(err))])
    except Exception as err:  # a bug costs this file, never the run
        return Scan(path, None, [_internal_error(path, "reading the file", err)])
    if scan.aliases is None:
        scan.findings = _broken_cells(source) + scan.findings
    scan.findings = in_cells(scan.findings, source.cells)
    return scan


def in_cells(findings: list[Finding], cells: tuple[CellPosition, ...] | None) -> list[Finding]:
    """A notebook's findings placed at their cell, line in the cell and column."""
    if not cells:
        return findings
    placed = []
    for found in findings:
        start = cells[min(max(found.line, 1), len(cells)) - 1]
        end = cells[min(max(found.end_line, 1), len(cells)) - 1]
        if found.end_line and end.cell == start.cell:
            end_line, end_column = end.line, found.end_column + end.shift
        else:
            end_line, end_column = start.line, found.column + start.shift
        placed.append(replace(found, line=start.line, column=found.column + start.shift, cell=start.cell,
                              end_line=end_line, end_column=end_column,
                              fix=_fix_in_cells(found.fix, cells) if found.fix is not None else None,
                              related=tuple(_related_in_cells(related, cells) for related in found.related)))
    return placed


def _related_in_cells(related: RelatedLocation, cells: tuple[CellPosition, ...]) -> RelatedLocation:
    start = cells[min(max(related.line, 1), len(cells)) - 1]
    end = cells[min(max(related.end_line, 1), len(cells)) - 1]
    end_line, end_column = (end.line, related.end_column + end.shift) if end.cell == start.cell else (
        start.line, related.column + start.shift)
    return replace(related, line=start.line, column=related.column + start.shift, end_line=end_line,
                   end_column=end_column, cell=start.cell)


def _fix_in_cells(fix: TextFix, cells: tuple[CellPosition, ...]) -> TextFix | None:
    """The fix's edits placed in their cell, or None where an edit leaves its cell or touches a
    line that masking rewrote (a magic): such a fix is not offered."""
    edits = []
    for edit in fix.edits:
        if not (0 < edit.line <= edit.end_line <= len(cells)):
            return None
        start, end, touched = cells[edit.line - 1], cells[edit.end_line - 1], cells[edit.line - 1:edit.end_line]
        if start.cell != end.cell or any(position.rewritten for position in touched):
            return None
        if any(position.shift for position in touched) and (edit.line != edit.end_line or "\n" in edit.content
                                                            or "\r" in edit.content):
            return None
        edits.append(TextEdit(start.line, edit.column + start.shift, end.line, edit.end_column + end.shift,
                              edit.content, start.cell))
    return replace(fix, edits=tuple(edits))


def _applicable(rules: Sequence[RuleInfo], text: str, in_project: bool, notebook: bool = False) -> list[RuleInfo]:
    """The rules worth running: the file's text holds a trigger, or knowledge from the files it
    imports can stand in for one; rules about notebooks only on notebooks."""
    return [rule for rule in rules if (notebook or not rule.notebooks_only) and (
        not rule.triggers or (in_project and rule.cross_file) or any(t in text for t in rule.triggers))]


def _checks(rules: Sequence[RuleInfo]) -> list[Rule]:
    """The rules with a check among these, their modules imported."""
    return [rule for rule in map(load_rule, (info.code for info in rules if info.code not in _BUILTIN_CODES))
            if rule.check]


def _selected(findings: list[Finding], rules: Sequence[RuleInfo], ignored: tuple[str, ...]) -> list[Finding]:
    codes = {rule.code for rule in rules}
    return [f for f in findings if f.code in codes and not f.code.startswith(ignored)]


def analyse_source(
    source: SourceFile,
    rules: Sequence[RuleInfo],
    ignored: tuple[str, ...] = (),
    project: Mapping[str, SymbolSummary] | None = None,
    aliases: Mapping[str, str] | None = None,
    torch_requirement: TorchRequirement | None = None,
) -> tuple[list[Finding], ModuleSummary | None]:
    """Findings for one file, and its summary for the project index. `aliases` comes from an
    earlier scan of the same text (which then passed the syntax check); `torch_requirement` is
    what the file's project declares."""
    path, text = source.path, source.text
    if aliases is None:
        scan = scan_text(path, text)
        if scan.aliases is None:
            return _selected(scan.findings, rules, ignored), None
        aliases = scan.aliases
    active = [r for r in rules if not r.code.startswith(ignored)]
    runnable = _checks(_applicable(active, text, bool(project), source.notebook is not None))
    summarized = path.endswith("__init__.py") or any(trigger in text for trigger in PROJECT_TRIGGERS)
    if not runnable and not summarized:
        return [], None
    try:
        module = parse_module(text)
    except Exception as err:  # libcst rejects a little that CPython accepts
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        return _selected([finding(PARSE_ERROR, path, 1, 1, f"cannot parse: {reason}")], rules, ignored), None
    cells = statement_cells(module, text, [cell.cell for cell in source.cells]) if source.cells else None
    facts = FileFacts(path, text, module, ImportTable(aliases), project, cells, torch_requirement, source.notebook)
    reports: list[tuple[Rule, Report]] = []
    failures: list[Finding] = []
    for rule in runnable:
        try:
            reports.extend((rule, report) for report in rule.check(facts))
        except RecursionError:
            failures.append(_too_deep(path))
        except Exception as err:  # one broken rule must not stop the others
            failures.append(_internal_error(path, rule.code, err))
    summary = None
    if summarized:
        try:
            summary = facts.summary
        except RecursionError:
            failures.append(_too_deep(path))
        except Exception as err:
            failures.append(_internal_error(path, "the project summary", err))
    return _position(path, text, module, reports) + failures, summary


def lint_source(source: SourceFile, rules: Sequence[RuleInfo], ignored: tuple[str, ...] = (),
                torch_requirement: TorchRequirement | None = None) -> list[Finding]:
    """All findings for one file's text, noqa and per-file ignores applied."""
    try:
        return analyse_source(source, rules, ignored, torch_requirement=torch_requirement)[0]
    except RecursionError:
        return _selected([_too_deep(source.path)], rules, ignored)


def lint_bytes(
    path: str,
    data: bytes,
    rules: Sequence[RuleInfo],
    ignored: tuple[str, ...] = (),
    project: Mapping[str, SymbolSummary] | None = None,
    aliases: Mapping[str, str] | None = None,
    torch_requirement: TorchRequirement | None = None,
) -> FileResult:
    """Lint one file's raw bytes (from disk or stdin)."""
    try:
        source = read_source(path, data)
    except UnreadableSource as err:
        return FileResult(path, _selected([finding(UNREADABLE, path, 1, 1, str(err))], rules, ignored))
    except Exception as err:  # a bug costs this file, never the run
        return FileResult(path, [_internal_error(path, "reading the file", err)])
    try:
        findings, summary = analyse_source(source, rules, ignored, project, aliases, torch_requirement)
    except RecursionError:  # deeper than the nesting check foresaw: still a diagnostic, never a crash
        findings, summary = _selected([_too_deep(path)], rules, ignored), None
    except Exception as err:
        findings, summary = [_internal_error(path, "the analysis", err)], None
    findings = _selected(_broken_cells(source), rules, ignored) + findings
    return FileResult(path, in_cells(findings, source.cells), source.text.count("\n") + 1, summary)


def _internal_error(path: str, where: str, err: Exception) -> Finding:
    summary = f"{type(err).__name__}: {err}".splitlines()[0][:200]
    return finding(INTERNAL_ERROR, path, 1, 1, f"internal error in {where}: {summary}")


def _built(fix: Fix | Callable[[], Fix | None] | None) -> Fix | None:
    """The fix a report proposes; None when building it fails (the finding stands without one)."""
    if not callable(fix):
        return fix
    try:
        return fix()
    except Exception:  # RecursionError included: a fix that cannot be built is not offered
        return None


def _position(path: str, text: str, module: cst.Module, reports: list[tuple[Rule, Report]]) -> list[Finding]:
    if not reports:
        return []
    positions = node_positions(module, text, [node for _, report in reports
                                              for node in (report.node, *(related for related, _ in report.related))])
    lines = text.splitlines()
    findings: dict[tuple[int, int, str], Finding] = {}
    fixes: dict[tuple[int, int, str], Fix] = {}
    for rule, report in reports:
        where = positions.get(report.node)
        if where is None:
            continue
        line, column = where.start.line, where.start.column + 1
        physical = lines[line - 1] if 0 < line <= len(lines) else ""
        if is_suppressed(rule.code, physical):
            continue
        key = (line, column, rule.code)
        if key not in findings:
            findings[key] = replace(
                finding(rule, path, line, column, report.message, (where.end.line, where.end.column + 1)),
                related=tuple(RelatedLocation(place.start.line, place.start.column + 1, place.end.line,
                                              place.end.column + 1, message)
                              for node, message in report.related
                              if (place := positions.get(node)) is not None and place != where)
                + tuple(RelatedLocation(*other.span, message, path=other.file)
                        for other, message in report.elsewhere if other.file))
            fix = _built(report.fix)
            if fix is not None:
                fixes[key] = fix
    if fixes:
        for key, text_fix in zip(fixes, text_fixes(module, text, list(fixes.values()))):
            findings[key] = replace(findings[key], fix=text_fix)
    return list(findings.values())
