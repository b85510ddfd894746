"""Linting files as one project: read, scan, plan by imports, analyse, cache, in parallel.

A first, cheap pass scans every file (syntax check and imports, with `ast`). The project index
then orders the files so that each is analysed after the files it imports, and each analysis
receives the summaries of what it imports. Every file is analysed once; the outcome depends on
neither file order nor worker count. Files in an import cycle see each other's summaries only
in one direction, chosen by path order."""

from __future__ import annotations

import os
import sys
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

from nnlint.analysis import finding, lint_bytes, scan_bytes
from nnlint.cache import ResultCache, cache_key
from nnlint.diagnostics import FileResult
from nnlint.facts.project import ProjectIndex, view_key
from nnlint.facts.summary import SymbolSummary
from nnlint.progress import Progress
from nnlint.rules import UNREADABLE, all_rules

# Real code nests deeper than CPython's default limit allows a recursive walker to follow.
RECURSION_LIMIT = 8_000

# What a worker needs for one file: path, bytes, enabled codes, ignored prefixes, project view,
# and the import aliases of its scan.
Job = tuple[str, bytes, frozenset[str], tuple[str, ...], Mapping[str, SymbolSummary], Mapping[str, str]]


def _analyse_job(job: Job) -> FileResult:
    path, data, codes, ignored, view, aliases = job
    return lint_bytes(path, data, [rule for rule in all_rules() if rule.code in codes], ignored, view, aliases)


def _worker_init() -> None:
    sys.setrecursionlimit(RECURSION_LIMIT)


class _Inline(Executor):
    """The one-process stand-in for a pool."""

    def map(self, fn, *iterables, timeout=None, chunksize=1):  # type: ignore[override]
        return map(fn, *iterables)


def _pool(workers: int, files: int) -> Executor:
    if workers <= 1 or files < 2:
        _worker_init()
        return _Inline()
    return ProcessPoolExecutor(max_workers=min(workers, files), initializer=_worker_init)


def _chunk(count: int, workers: int) -> int:
    return max(1, min(16, count // (max(workers, 1) * 4)))


def _waves(index: ProjectIndex, paths: Sequence[str]) -> Iterator[list[str]]:
    """Groups of files, each group importing only from earlier groups (cycles broken by path)."""
    absolute = {path: str(Path(path).absolute()) for path in paths}
    by_absolute = {a: p for p, a in absolute.items()}
    waiting = {path: {by_absolute[d] for d in index.dependencies(path) if d in by_absolute} for path in paths}
    while waiting:
        ready = sorted(path for path, deps in waiting.items() if not deps)
        if not ready:
            ready = [min(waiting)]
        yield ready
        for path in ready:
            del waiting[path]
        done = set(ready)
        for deps in waiting.values():
            deps -= done


def lint_project(
    paths: Sequence[str],
    codes: frozenset[str],
    ignored_in: Callable[[str], tuple[str, ...]],
    workers: int,
    cache: ResultCache | None = None,
    progress: Progress | None = None,
) -> list[FileResult]:
    """Lint files as one project; results come back in the order of `paths`."""
    progress = progress or Progress()
    rules = [rule for rule in all_rules() if rule.code in codes]
    contents: dict[str, bytes] = {}
    results: dict[str, FileResult] = {}
    for path in paths:
        try:
            contents[path] = Path(path).read_bytes()
        except OSError as err:
            unreadable = [finding(UNREADABLE, path, 1, 1, f"cannot read file: {err.strerror or err}")]
            results[path] = FileResult(path, unreadable if UNREADABLE in rules else [])
    with _pool(workers, len(contents)) as pool:
        progress.phase("scanning", len(contents))
        scans = _scan_all(contents, pool, workers, cache, progress)
        for path, scan in scans.items():
            if scan.aliases is None:
                ignored = ignored_in(path)
                kept = [f for f in scan.findings if f.code in codes and not f.code.startswith(ignored)]
                results[path] = FileResult(path, kept, scan.lines)
        index = ProjectIndex({path: scan.aliases for path, scan in scans.items() if scan.aliases is not None})
        pending = [path for path in contents if path not in results]
        progress.phase("linting", len(pending))
        for wave in _waves(index, pending):
            jobs = [(p, contents[p], codes, ignored_in(p), index.view_for(p), scans[p].aliases) for p in wave]
            for result in _analyse_cached(jobs, pool, workers, cache, progress):
                results[result.path] = result
                if result.summary is not None:
                    index.add_summary(result.path, result.summary)
    if cache is not None:
        cache.save()
    return [results[p] for p in paths]


def _scan_all(contents: dict[str, bytes], pool: Executor, workers: int, cache: ResultCache | None,
              progress: Progress) -> dict:
    scans = {}
    misses = []
    for path, data in contents.items():
        key = cache_key(data, ("scan",), (), "") if cache is not None else ""
        hit = cache.get_scan(key, path) if cache is not None else None
        if hit is not None:
            scans[path] = hit
            progress.advance()
        else:
            misses.append((path, key))
    found = pool.map(scan_bytes, [p for p, _ in misses], [contents[p] for p, _ in misses],
                     chunksize=_chunk(len(misses), workers))
    for (path, key), scan in zip(misses, found):
        scans[path] = scan
        progress.advance()
        if cache is not None:
            cache.put_scan(key, scan)
    return scans


def _analyse_cached(jobs: list[Job], pool: Executor, workers: int, cache: ResultCache | None,
                    progress: Progress) -> list[FileResult]:
    results: list[FileResult] = []
    misses: list[tuple[Job, str]] = []
    for job in jobs:
        path, data, codes, ignored, view, _ = job
        key = cache_key(data, codes, ignored, view_key(view)) if cache is not None else ""
        hit = cache.get(key, path) if cache is not None else None
        if hit is not None:
            results.append(hit)
            progress.advance()
        else:
            misses.append((job, key))
    analysed = pool.map(_analyse_job, [job for job, _ in misses], chunksize=_chunk(len(misses), workers))
    for (job, key), result in zip(misses, analysed):
        results.append(result)
        progress.advance()
        if cache is not None:
            cache.put(key, result)
    return results


def lint_file(path: str, codes: frozenset[str] | None = None) -> FileResult:
    """Lint one file on its own (no project, no cache); every failure is a finding."""
    codes = codes if codes is not None else frozenset(r.code for r in all_rules() if r.default_enabled)
    return lint_project([path], codes, lambda _: (), workers=1)[0]


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
