"""The per-file pass: read, parse once, build facts on demand, run rules, position findings."""

from __future__ import annotations

import ast
import os
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable, Mapping, Sequence

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from nnlint.cache import ResultCache, cache_key
from nnlint.diagnostics import FileResult, Finding
from nnlint.facts import FileFacts
from nnlint.facts.project import ProjectIndex, view_key
from nnlint.facts.summary import ModuleSummary, SymbolSummary
from nnlint.files import SourceFile, UnreadableSource, decode_source
from nnlint.noqa import is_suppressed
from nnlint.rules import INTERNAL_ERROR, PARSE_ERROR, UNREADABLE, Report, Rule, all_rules

# Real code nests deeper than CPython's default limit allows a recursive walker to follow.
RECURSION_LIMIT = 8_000


# Files mentioning one of these (and packages' __init__ files, which re-export names) are summarized
# for the project index even when no rule runs on them.
PROJECT_TRIGGERS = ("torch", "backward", "zero_grad", "softmax", "sigmoid", "Loss", "loss")
# Rounds of re-analysis while summaries flow from file to file (a chain of imports).
MAX_PROJECT_ROUNDS = 3

# What a worker needs for one file: path, bytes, enabled codes, ignored prefixes, project view.
Job = tuple[str, bytes, frozenset[str], tuple[str, ...], Mapping[str, SymbolSummary]]


def _finding(rule: Rule, path: str, line: int, column: int, message: str,
             end: tuple[int, int] | None = None) -> Finding:
    end_line, end_column = end if end else (line, column)
    return Finding(path, line, column, rule.code, message, rule.name, rule.severity, end_line, end_column)


def _syntax_error(path: str, text: str) -> Finding | None:
    """Python's own verdict on the text, which is clearer than any parser's."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text, filename=path)
    except SyntaxError as err:
        line = err.lineno or 1
        column = err.offset or 1
        return _finding(PARSE_ERROR, path, line, max(column, 1), f"cannot parse: {err.msg}")
    except (RecursionError, MemoryError):
        return _finding(PARSE_ERROR, path, 1, 1, "cannot parse: expressions nested too deeply")
    except ValueError as err:
        return _finding(UNREADABLE, path, 1, 1, f"cannot read file: {err}")
    return None


def _applicable(rules: Sequence[Rule], text: str) -> list[Rule]:
    return [rule for rule in rules if rule.check and (not rule.triggers or any(t in text for t in rule.triggers))]


def lint_source(source: SourceFile, rules: Sequence[Rule], ignored: tuple[str, ...] = ()) -> list[Finding]:
    """All findings for one file's text, noqa and per-file ignores applied."""
    return analyse_source(source, rules, ignored)[0]


def analyse_source(
    source: SourceFile,
    rules: Sequence[Rule],
    ignored: tuple[str, ...] = (),
    project: Mapping[str, SymbolSummary] | None = None,
) -> tuple[list[Finding], ModuleSummary | None]:
    """Findings for one file, and its summary for the project index."""
    path, text = source.path, source.text
    selected = {rule.code for rule in rules}
    error = _syntax_error(path, text)
    if error is not None:
        return ([error] if error.code in selected and not error.code.startswith(ignored) else []), None
    active = [r for r in rules if not r.code.startswith(ignored)]
    # Knowledge from other files can stand where this file's text would trigger a rule.
    runnable = [r for r in active if r.check] if project else _applicable(active, text)
    summarized = path.endswith("__init__.py") or any(trigger in text for trigger in PROJECT_TRIGGERS)
    if not runnable and not summarized:
        return [], None
    try:
        module = cst.parse_module(text)
    except Exception as err:  # libcst rejects a little that CPython accepts
        if PARSE_ERROR.code not in selected:
            return [], None
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        return [_finding(PARSE_ERROR, path, 1, 1, f"cannot parse: {reason}")], None
    facts = FileFacts(path, text, module, project)
    reports: list[tuple[Rule, Report]] = []
    failures: list[Finding] = []
    for rule in runnable:
        try:
            reports.extend((rule, report) for report in rule.check(facts))
        except Exception as err:  # one broken rule must not stop the others
            failures.append(_internal_error(path, rule.code, err))
    summary = None
    if summarized:
        try:
            summary = facts.summary
        except Exception as err:
            failures.append(_internal_error(path, "the project summary", err))
    return _position(path, text, module, reports) + failures, summary


def _internal_error(path: str, where: str, err: Exception) -> Finding:
    summary = f"{type(err).__name__}: {err}".splitlines()[0][:200]
    return _finding(INTERNAL_ERROR, path, 1, 1, f"internal error in {where}: {summary}")


def _position(path: str, text: str, module: cst.Module, reports: list[tuple[Rule, Report]]) -> list[Finding]:
    if not reports:
        return []
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    lines = text.splitlines()
    findings: dict[tuple[int, int, str], Finding] = {}
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
            findings[key] = _finding(rule, path, line, column, report.message,
                                     (where.end.line, where.end.column + 1))
    return list(findings.values())


def lint_bytes(
    path: str,
    data: bytes,
    rules: Sequence[Rule],
    ignored: tuple[str, ...] = (),
    project: Mapping[str, SymbolSummary] | None = None,
) -> FileResult:
    """Lint one file's raw bytes (from disk or stdin)."""
    try:
        source = SourceFile(path, decode_source(data))
    except UnreadableSource as err:
        return FileResult(path, _unreadable(path, str(err), rules))
    findings, summary = analyse_source(source, rules, ignored, project)
    return FileResult(path, findings, source.text.count("\n") + 1, summary, view_key(project or {}))


def _unreadable(path: str, reason: str, rules: Sequence[Rule]) -> list[Finding]:
    return [_finding(UNREADABLE, path, 1, 1, reason)] if any(r.code == UNREADABLE.code for r in rules) else []


def lint_file(path: str, codes: frozenset[str] | None = None) -> FileResult:
    """Lint one file on its own (no project index, no cache); every failure is a finding."""
    codes = codes if codes is not None else frozenset(r.code for r in all_rules() if r.default_enabled)
    return lint_project([path], codes, lambda _: (), workers=1)[0]


def _lint_job(job: Job) -> FileResult:
    path, data, codes, ignored, project = job
    return lint_bytes(path, data, [rule for rule in all_rules() if rule.code in codes], ignored, project)


def _worker_init() -> None:
    sys.setrecursionlimit(RECURSION_LIMIT)


def lint_paths(jobs: Sequence[Job], workers: int) -> list[FileResult]:
    """Lint files, in parallel when asked; results come back in the order of `jobs`."""
    if workers <= 1 or len(jobs) < 2:
        _worker_init()
        return [_lint_job(job) for job in jobs]
    workers = min(workers, len(jobs))
    chunk = max(1, min(16, len(jobs) // (workers * 4)))
    with ProcessPoolExecutor(max_workers=workers, initializer=_worker_init) as pool:
        return list(pool.map(_lint_job, jobs, chunksize=chunk))


def lint_project(
    paths: Sequence[str],
    codes: frozenset[str],
    ignored_in: Callable[[str], tuple[str, ...]],
    workers: int,
    cache: ResultCache | None = None,
) -> list[FileResult]:
    """Lint files as one project: a first pass summarizes every file, then each file whose
    imports reach another file's summary is analysed again with that knowledge, until the
    summaries settle. The outcome depends on neither file order nor worker count."""
    contents: dict[str, bytes] = {}
    results: dict[str, FileResult] = {}
    rules = [rule for rule in all_rules() if rule.code in codes]
    for path in paths:
        try:
            contents[path] = Path(path).read_bytes()
        except OSError as err:
            results[path] = FileResult(path, _unreadable(path, f"cannot read file: {err.strerror or err}", rules))
    pending = {path: {} for path in contents}
    for _ in range(MAX_PROJECT_ROUNDS + 1):
        jobs = [(path, contents[path], codes, ignored_in(path), view) for path, view in pending.items()]
        results.update(_run_cached(jobs, workers, cache))
        index = ProjectIndex({p: r.summary for p, r in results.items() if r.summary is not None})
        pending = {}
        for path in contents:
            view = index.view_for(path)
            if view_key(view) != results[path].view_key:
                pending[path] = view
        if not pending:
            break
    if cache is not None:
        cache.save()
    return [results[p] for p in paths]


def _run_cached(jobs: list[Job], workers: int, cache: ResultCache | None) -> dict[str, FileResult]:
    results: dict[str, FileResult] = {}
    misses: list[tuple[Job, str]] = []
    for job in jobs:
        path, data, codes, ignored, view = job
        key = cache_key(data, codes, ignored, view_key(view)) if cache is not None else ""
        hit = cache.get(key, path) if cache is not None else None
        if hit is not None:
            results[path] = hit
        else:
            misses.append((job, key))
    for (job, key), result in zip(misses, lint_paths([job for job, _ in misses], workers)):
        results[result.path] = result
        if cache is not None:
            cache.put(key, result)
    return results


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
