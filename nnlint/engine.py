"""Linting files as one project: read, scan, plan by imports, analyse, cache, in parallel.

A first, cheap pass scans every file (syntax check and imports, with `ast`). The project index
resolves the imports and the plan (plan.py) orders the files so that each is analysed after the
files it imports, and each analysis receives the summaries of what it imports and the torch
requirement its project declares (torch_requirement.py: resolved here, once per folder). Every
file is analysed once; the outcome depends on neither file order nor worker count. An unchanged
tree is served whole from the cache."""

from __future__ import annotations

import gc
import os
import sys
from collections import OrderedDict
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import replace
from typing import Callable, Generic, Iterable, Mapping, Sequence, TypeVar

from nnlint.cache import ResultCache, cache_key, content_digest, run_key
from nnlint.diagnostics import FileResult, Scan, finding
from nnlint.facts.project import ProjectIndex, view_key
from nnlint.facts.summary import SymbolSummary
from nnlint.files import STDIN, read_regular_file
from nnlint.plan import Plan
from nnlint.progress import Progress
from nnlint.rules.metadata import RULES, UNREADABLE
from nnlint.torch_requirement import TorchRequirement, TorchRequirements

# nnlint.analysis (libcst, the facts, the rules) is imported only where a file is analysed:
# a run answered from the cache never loads it.

# Real code nests deeper than CPython's default limit allows a recursive walker to follow.
RECURSION_LIMIT = 8_000
# A file's tree and facts are millions of objects that live as long as the file's analysis;
# with CPython's default thresholds the cyclic collector walks them again and again (a sixth
# of the analysis time, more of a bare libcst parse). Larger thresholds, as mypy sets them,
# walk them a few times instead: about 10% less time, for more memory (on transformers the
# largest worker peaks at 192 MB instead of 158; on files of 50,000 lines, 330 instead of 220).
GC_THRESHOLDS = (200_000, 30, 30)

# What a worker needs for one file: path, bytes, enabled codes, ignored prefixes, project view,
# the import aliases of its scan, and the torch requirement of its project.
Job = tuple[str, bytes, frozenset[str], tuple[str, ...], Mapping[str, SymbolSummary], Mapping[str, str],
            TorchRequirement | None]


def _analyse_job(job: Job) -> FileResult:
    from nnlint.analysis import lint_bytes

    path, data, codes, ignored, view, aliases, torch_requirement = job
    return lint_bytes(path, data, [rule for rule in RULES if rule.code in codes], ignored, view, aliases,
                      torch_requirement)


def _worker_init() -> None:
    sys.setrecursionlimit(RECURSION_LIMIT)
    gc.set_threshold(*GC_THRESHOLDS)


class _Inline(Executor):
    """The one-process stand-in for a pool: runs each call when it is submitted, under the
    workers' settings (the collector's thresholds come back afterwards)."""

    def __enter__(self) -> "_Inline":
        self._thresholds = gc.get_threshold()
        _worker_init()
        return self

    def __exit__(self, *exc_info) -> bool | None:
        gc.set_threshold(*self._thresholds)
        return super().__exit__(*exc_info)

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        future: Future = Future()
        future.set_result(fn(*args, **kwargs))
        return future

    def map(self, fn, *iterables, timeout=None, chunksize=1):  # type: ignore[override]
        return map(fn, *iterables)


def _pool(workers: int, files: int) -> Executor:
    if workers <= 1 or files < 2:
        return _Inline()
    from concurrent.futures import ProcessPoolExecutor  # (multiprocessing: not for a run from the cache)

    return ProcessPoolExecutor(max_workers=min(workers, files), initializer=_worker_init)


def _chunk(count: int, workers: int) -> int:
    return max(1, min(16, count // (max(workers, 1) * 4)))


def lint_project(
    paths: Sequence[str],
    codes: frozenset[str],
    ignored_in: Callable[[str], tuple[str, ...]],
    workers: int,
    cache: ResultCache | MemoryCache | None = None,
    progress: Progress | None = None,
    sources: Mapping[str, bytes] | None = None,
) -> list[FileResult]:
    """Lint files as one project; results come back in the order of `paths`. `sources` holds
    the bytes of paths that are not read from disk (standard input)."""
    sources = sources or {}
    contents: dict[str, bytes] = {}
    results: dict[str, FileResult] = {}
    for path in paths:
        try:
            contents[path] = sources[path] if path in sources else read_regular_file(path)
        except OSError as err:
            results[path] = unlintable(path, f"cannot read file: {err.strerror or err}", codes, ignored_in(path))
    requirements = TorchRequirements()
    # Standard input without a name lies in no folder, so in no project.
    torch_requirements = {path: requirements.for_file(path) if path != STDIN else None for path in contents}
    run = _Run(contents, torch_requirements, codes, ignored_in, cache)
    served = run.from_cache()
    results.update(served if served is not None else run.lint(workers, progress or Progress()))
    return [results[p] for p in paths]


def unlintable(path: str, message: str, codes: frozenset[str], ignored: tuple[str, ...]) -> FileResult:
    """The result of a path that cannot be linted: one NN002 finding, where that code is selected."""
    reported = UNREADABLE.code in codes and not UNREADABLE.code.startswith(ignored)
    return FileResult(path, [finding(UNREADABLE, path, 1, 1, message)] if reported else [])


class _Run:
    """One lint of readable files: whole from the cache when nothing changed, else file by file."""

    def __init__(self, contents: dict[str, bytes], torch_requirements: dict[str, TorchRequirement | None],
                 codes: frozenset[str], ignored_in: Callable[[str], tuple[str, ...]],
                 cache: ResultCache | MemoryCache | None) -> None:
        self.contents = contents
        self.torch_requirements = torch_requirements
        self.codes = codes
        self.ignored_in = ignored_in
        self.cache = cache
        self.digests = {path: content_digest(data) for path, data in contents.items()} if cache is not None else {}
        self.key = run_key(((path, f"{','.join(ignored_in(path))}\0{self._requirement_key(path)}\0{digest}")
                            for path, digest in self.digests.items()), codes) if cache is not None else ""

    def from_cache(self) -> dict[str, FileResult] | None:
        if self.cache is None:
            return None
        served = self.cache.get_run(self.key, list(self.contents))
        return dict(zip(self.contents, served)) if served is not None else None

    def lint(self, workers: int, progress: Progress) -> dict[str, FileResult]:
        results: dict[str, FileResult] = {}
        with _pool(workers, len(self.contents)) as pool:
            progress.phase("scanning", len(self.contents))
            scans = _scan_all(self.contents, self.digests, pool, workers, self.cache, progress)
            for path, scan in scans.items():
                if scan.aliases is None:
                    ignored = self.ignored_in(path)
                    kept = [f for f in scan.findings if f.code in self.codes and not f.code.startswith(ignored)]
                    results[path] = self._store(FileResult(path, kept, scan.lines), self._entry_key(path, None))
            index = ProjectIndex({path: scan.aliases for path, scan in scans.items() if scan.aliases is not None})
            pending = [path for path in self.contents if path not in results]
            progress.phase("linting", len(pending))
            results.update(self._analyse(pending, index, scans, pool, workers, progress))
        if self.cache is not None:
            self.cache.put_run(self.key, [results[path] for path in self.contents])
            self.cache.save()
        return results

    def _entry_key(self, path: str, view: Mapping[str, SymbolSummary] | None) -> str:
        if self.cache is None:
            return ""
        return cache_key(self.digests[path], self.codes, self.ignored_in(path),
                         view_key(view) if view is not None else "(not analysed)", self._requirement_key(path))

    def _requirement_key(self, path: str) -> str:
        requirement = self.torch_requirements[path]
        return requirement.fingerprint() if requirement is not None else ""

    def _store(self, result: FileResult, key: str) -> FileResult:
        """A fresh result into the cache."""
        if self.cache is not None:
            self.cache.put(key, result)
        return result

    def _analyse(self, pending: list[str], index: ProjectIndex, scans: dict, pool: Executor, workers: int,
                 progress: Progress) -> dict[str, FileResult]:
        results: dict[str, FileResult] = {}
        by_absolute = {index.absolute(path): path for path in pending}
        plan = Plan({path: [by_absolute[d] for d in index.dependencies(path) if d in by_absolute] for path in pending},
                    {path: len(self.contents[path]) for path in pending})
        running: dict[Future, tuple[str, str]] = {}

        def finish(path: str, result: FileResult) -> None:
            results[path] = result
            progress.advance()
            if result.summary is not None:
                index.add_summary(path, result.summary)
            plan.finished(path)

        # A short queue, so that a file freed later can still overtake files freed earlier.
        in_flight = max(2, 2 * workers)
        while plan.has_ready() or running:
            while plan.has_ready() and len(running) < in_flight:
                path = plan.take()
                view = index.view_for(path)
                key = self._entry_key(path, view)
                hit = self.cache.get(key, path) if self.cache is not None else None
                if hit is not None:
                    finish(path, hit)
                    continue
                job = (path, self.contents[path], self.codes, self.ignored_in(path), view, scans[path].aliases,
                       self.torch_requirements[path])
                running[pool.submit(_analyse_job, job)] = (path, key)
            if running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=lambda f: running[f][0]):
                    path, key = running.pop(future)
                    finish(path, self._store(future.result(), key))
        return results


def _scan_key(digest: str) -> str:
    """A scan depends on the content alone."""
    return cache_key(digest, ("scan",), (), "", "")


def _scan_all(contents: dict[str, bytes], digests: dict[str, str], pool: Executor, workers: int,
              cache: ResultCache | MemoryCache | None, progress: Progress) -> dict:
    from nnlint.analysis import scan_bytes

    scans = {}
    misses = []
    for path in contents:
        key = _scan_key(digests[path]) if cache is not None else ""
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
    codes = codes if codes is not None else frozenset(r.code for r in RULES if r.default_enabled)
    return lint_project([path], codes, lambda _: (), workers=1)[0]


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


Entry = TypeVar("Entry")


class _Recent(Generic[Entry]):
    """At most `size` entries; the least recently used goes first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[str, Entry] = OrderedDict()

    def get(self, key: str) -> Entry | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: str, entry: Entry) -> None:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)


def _at(result: FileResult, path: str) -> FileResult:
    """A result kept for some content, given to a file of that content (the key holds no path)."""
    if result.path == path:
        return result
    return replace(result, path=path, findings=[replace(f, path=path) for f in result.findings])


class MemoryCache:
    """The disk cache's interface and keys, kept in this process's memory and bounded: what a
    process that lints again and again (the language server) reuses from one lint to the next."""

    def __init__(self, entries: int = 4096, runs: int = 8) -> None:
        self._results: _Recent[FileResult] = _Recent(entries)
        self._scans: _Recent[Scan] = _Recent(entries)
        self._runs: _Recent[list[FileResult]] = _Recent(runs)

    def get_run(self, key: str, paths: list[str]) -> list[FileResult] | None:
        results = self._runs.get(key)
        return [_at(result, path) for result, path in zip(results, paths)] if results is not None else None

    def put_run(self, key: str, results: list[FileResult]) -> None:
        self._runs.put(key, results)

    def get_scan(self, key: str, path: str) -> Scan | None:
        scan = self._scans.get(key)
        if scan is None or scan.path == path:
            return scan
        return replace(scan, path=path, findings=[replace(f, path=path) for f in scan.findings])

    def put_scan(self, key: str, scan: Scan) -> None:
        self._scans.put(key, scan)

    def get(self, key: str, path: str) -> FileResult | None:
        result = self._results.get(key)
        return _at(result, path) if result is not None else None

    def put(self, key: str, result: FileResult) -> None:
        self._results.put(key, result)

    def save(self) -> None:
        """Nothing to write: the entries live as long as the process."""


class LintSession:
    """Lints the files of one project again and again in one process, as the language server
    does. Scans and results stay in memory (MemoryCache), so that a change costs the analysis of
    the file that changed and of the files whose view of it changed. A lint covers the files asked
    for and the project's files they import, directly or not (for their summaries: what
    cross-file findings need), not the whole tree."""

    def __init__(self, project_files: Iterable[str] = ()) -> None:
        self._memory = MemoryCache()
        self._files: set[str] = set()
        self.set_files(project_files)

    def set_files(self, project_files: Iterable[str]) -> None:
        """The files that imports may name (absolute paths): the project's tree."""
        self._files = set(project_files)
        # An index of the files alone, without their imports: it only says which file an import names.
        self._finder = ProjectIndex({path: {} for path in self._files})

    def lint(self, targets: Sequence[str], codes: frozenset[str], ignored_in: Callable[[str], tuple[str, ...]],
             sources: Mapping[str, bytes]) -> list[FileResult]:
        """The results of `targets` (absolute paths), in their order; `sources` holds the content
        of files that is not read from disk (an editor's buffers)."""
        if not self._files.issuperset(targets):
            self.set_files(self._files.union(targets))
        paths, contents = self._with_imports(targets, sources)
        return lint_project(paths, codes, ignored_in, workers=1, cache=self._memory, sources=contents)[:len(targets)]

    def _with_imports(self, targets: Sequence[str], sources: Mapping[str, bytes]) -> tuple[list[str], dict[str, bytes]]:
        """The targets and the files they import, and the content of each that could be read (a
        target that cannot be read is left to the lint to report)."""
        paths = list(dict.fromkeys(targets))
        contents: dict[str, bytes] = {}
        pending = list(paths)
        while pending:
            path = pending.pop()
            try:
                data = sources[path] if path in sources else read_regular_file(path)
            except OSError:
                continue
            contents[path] = data
            scan = self._scan(path, data)
            if scan.aliases:
                found = sorted(self._finder.modules_imported(path, scan.aliases) - set(paths))
                paths.extend(found)
                pending.extend(found)
        return paths, contents

    def _scan(self, path: str, data: bytes) -> Scan:
        from nnlint.analysis import scan_bytes

        key = _scan_key(content_digest(data))
        scan = self._memory.get_scan(key, path)
        if scan is None:
            scan = scan_bytes(path, data)
            self._memory.put_scan(key, scan)
        return scan
