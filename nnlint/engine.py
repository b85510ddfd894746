"""Linting files as one project: read, scan, plan by imports, analyse, cache, in parallel.

A first, cheap pass scans every file (syntax check and imports, with `ast`). The project index
then orders the files so that each is analysed after the files it imports, and each analysis
receives the summaries of what it imports. Every file is analysed once; the outcome depends on
neither file order nor worker count. Files in an import cycle see each other's summaries only
in one direction, chosen by path order."""

from __future__ import annotations

import os
import sys
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Callable, Mapping, Sequence

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
    """The one-process stand-in for a pool: runs each call when it is submitted."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        future: Future = Future()
        future.set_result(fn(*args, **kwargs))
        return future

    def map(self, fn, *iterables, timeout=None, chunksize=1):  # type: ignore[override]
        return map(fn, *iterables)


def _pool(workers: int, files: int) -> Executor:
    if workers <= 1 or files < 2:
        _worker_init()
        return _Inline()
    return ProcessPoolExecutor(max_workers=min(workers, files), initializer=_worker_init)


def _chunk(count: int, workers: int) -> int:
    return max(1, min(16, count // (max(workers, 1) * 4)))


class _Plan:
    """Which files may be analysed now: those whose imported project files are all analysed.

    A file starts as soon as its last dependency finishes, so the workers never wait for a
    whole batch. When nothing is ready and nothing runs, the rest waits on an import cycle:
    the first waiting file by path starts without the summaries it cannot have. That state
    does not depend on timing, so neither do the views, nor the results."""

    def __init__(self, index: ProjectIndex, paths: Sequence[str], sizes: Mapping[str, int]) -> None:
        by_absolute = {index.absolute(path): path for path in paths}
        self.sizes = sizes
        self.waiting: dict[str, set[str]] = {}
        self.dependents: dict[str, list[str]] = {}
        for path in paths:
            deps = {by_absolute[d] for d in index.dependencies(path) if d in by_absolute}
            deps.discard(path)
            self.waiting[path] = deps
            for dep in deps:
                self.dependents.setdefault(dep, []).append(path)

    def __bool__(self) -> bool:
        return bool(self.waiting)

    def ready(self) -> list[str]:
        """The files free to start, largest first (a big file started last would run alone)."""
        free = [path for path, deps in self.waiting.items() if not deps]
        for path in free:
            del self.waiting[path]
        return sorted(free, key=lambda path: (-self.sizes[path], path))

    def break_cycle(self) -> str:
        path = min(self.waiting)
        del self.waiting[path]
        return path

    def finished(self, path: str) -> None:
        for dependent in self.dependents.pop(path, ()):
            if dependent in self.waiting:
                self.waiting[dependent].discard(path)


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
        plan = _Plan(index, pending, {path: len(contents[path]) for path in pending})
        running: dict[Future, tuple[str, str]] = {}

        def finish(path: str, result: FileResult, key: str) -> None:
            results[path] = result
            progress.advance()
            if result.summary is not None:
                index.add_summary(path, result.summary)
            if cache is not None and key:
                cache.put(key, result)
            plan.finished(path)

        while plan or running:
            starting = plan.ready()
            if not starting and not running:
                starting = [plan.break_cycle()]
            for path in starting:
                view = index.view_for(path)
                key = cache_key(contents[path], codes, ignored_in(path), view_key(view)) if cache is not None else ""
                hit = cache.get(key, path) if cache is not None else None
                if hit is not None:
                    finish(path, hit, "")
                    continue
                job = (path, contents[path], codes, ignored_in(path), view, scans[path].aliases)
                running[pool.submit(_analyse_job, job)] = (path, key)
            if running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=lambda f: running[f][0]):
                    path, key = running.pop(future)
                    finish(path, future.result(), key)
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


def lint_file(path: str, codes: frozenset[str] | None = None) -> FileResult:
    """Lint one file on its own (no project, no cache); every failure is a finding."""
    codes = codes if codes is not None else frozenset(r.code for r in all_rules() if r.default_enabled)
    return lint_project([path], codes, lambda _: (), workers=1)[0]


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
