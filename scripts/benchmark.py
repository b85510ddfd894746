#!/usr/bin/env python3
"""How fast nnlint is, next to the parsers it is built on, on the same files and processes.

Prints lines per second for `ast.parse`, libcst's `parse_module`, nnlint cold (`--no-cache`,
or a fresh cache directory for an nnlint without that flag) and nnlint warm (a second run
over a filled cache, when nnlint has one); the ratios of nnlint cold to the parsers; the peak
resident memory of the largest process of each; and a linearity check: throughput on a sample
of the files, on ten copies of it (ten times the files) and on files each concatenating ten of
its files (ten times the lines per file).

    python scripts/benchmark.py                      # the transformers corpus, all cores
    python scripts/benchmark.py src/ --jobs 4 --max-lines 200000
"""

from __future__ import annotations

import argparse
import ast
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

DEFAULT_DIR = Path("/tmp/corpusvenv/lib/python3.11/site-packages/transformers")
COPIES = 10


@dataclass
class Measure:
    name: str
    seconds: float
    lines: int
    peak_rss_mb: float

    @property
    def lines_per_second(self) -> float:
        return self.lines / self.seconds if self.seconds else float("inf")


# ----------------------------------------------------------------------------- parsers
def _worker_setup() -> None:
    from nnlint.engine import RECURSION_LIMIT

    sys.setrecursionlimit(RECURSION_LIMIT)
    warnings.simplefilter("ignore")


def _read(path: str) -> str | None:
    from nnlint.files import UnreadableSource, decode_source

    try:
        return decode_source(Path(path).read_bytes())
    except (OSError, UnreadableSource):
        return None


def _ast_parse(path: str) -> tuple[int, int]:
    text = _read(path)
    if text is not None:
        try:
            ast.parse(text)
        except (SyntaxError, RecursionError, ValueError, MemoryError):
            pass
    return os.getpid(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _libcst_parse(path: str) -> tuple[int, int]:
    import libcst

    text = _read(path)
    if text is not None:
        try:
            libcst.parse_module(text)
        except Exception:  # what libcst rejects, nnlint reports as NN001; the time still counts
            pass
    return os.getpid(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure_parser(name: str, function, files: list[str], lines: int, jobs: int) -> Measure:
    """Parse every file in `jobs` fresh processes; peak RSS of the largest one."""
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=jobs, initializer=_worker_setup) as pool:
        peaks: dict[int, int] = {}
        for pid, peak in pool.map(function, files, chunksize=max(1, min(16, len(files) // (jobs * 4)))):
            peaks[pid] = max(peak, peaks.get(pid, 0))
    return Measure(name, time.perf_counter() - started, lines, max(peaks.values(), default=0) / 1024)


# ----------------------------------------------------------------------------- nnlint
def has_no_cache_flag() -> bool:
    result = subprocess.run([sys.executable, "-m", "nnlint", "--help"], cwd=REPO, capture_output=True, text=True,
                            env=_env(None))
    return "--no-cache" in result.stdout


def _env(cache_dir: Path | None) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    if cache_dir is not None:
        env["NNLINT_CACHE_DIR"] = str(cache_dir)
    return env


def measure_nnlint(name: str, target: Path, lines: int, jobs: int, options: list[str], cache_dir: Path | None) -> Measure:
    """One run of the real command; peak RSS of its largest process (the run or a worker)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "nnlint", "--exit-zero", "-q", "-j", str(jobs), *options, str(target)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env(cache_dir),
    )
    _, status, usage = os.wait4(process.pid, 0)  # the rusage of the run and everything it waited for
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    errors = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if process.returncode != 0 or "Traceback" in errors:
        raise SystemExit(f"benchmark: nnlint failed on {target} ({process.returncode}):\n{errors}")
    return Measure(name, seconds, lines, usage.ru_maxrss / 1024)


# ----------------------------------------------------------------------------- inputs
def python_files(directory: Path, max_lines: int | None) -> tuple[list[str], int]:
    from nnlint.files import discover

    files, total = [], 0
    for path in sorted(p for p in discover([str(directory)], []) if isinstance(p, str) and p.endswith(".py")):
        text = _read(path)
        count = text.count("\n") + 1 if text is not None else 0
        if max_lines is not None and total + count > max_lines and files:
            break
        files.append(path)
        total += count
    return files, total


def copy_tree(files: list[str], root: Path, copies: int) -> Path:
    """`copies` copies of the files, each in its own directory (the same layout inside, from the
    directory that holds them: `transformers/...` stays `transformers/...`, so imports resolve)."""
    common = (Path(os.path.commonpath(files)) if len(files) > 1 else Path(files[0]).parent).parent
    target = root / "copies"
    for copy in range(copies):
        for path in files:
            destination = target / f"copy{copy}" / Path(path).relative_to(common)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
    return target


def concatenated_tree(files: list[str], root: Path, group: int) -> tuple[Path, int]:
    """Files that each concatenate `group` of the files (each file in `group` of them)."""
    target = root / "concatenated"
    target.mkdir(parents=True)
    texts = [_read(path) or "" for path in files]
    lines = 0
    for index in range(len(texts)):
        parts = [texts[(index + offset) % len(texts)] for offset in range(group)]
        # `from __future__` must open a module: dropped from the parts that follow the first.
        body = "\n".join(part if n == 0 else "\n".join(
            line for line in part.splitlines() if not line.startswith("from __future__")) for n, part in enumerate(parts))
        (target / f"module_{index}.py").write_text(body + "\n", encoding="utf-8")
        lines += body.count("\n") + 2
    return target, lines


# ----------------------------------------------------------------------------- report
def row(measure: Measure) -> str:
    return (f"  {measure.name:<34} {measure.lines:>10,} lines {measure.seconds:>8.1f} s "
            f"{measure.lines_per_second:>10,.0f} lines/s   peak RSS {measure.peak_rss_mb:>7.0f} MB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", nargs="?", type=Path, default=DEFAULT_DIR if DEFAULT_DIR.is_dir() else REPO)
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                        else os.cpu_count() or 1, help="processes for every measurement (default: all cores)")
    parser.add_argument("--max-lines", type=int, help="only the first files (sorted by path) up to this many lines")
    parser.add_argument("--sample-lines", type=int, default=50_000,
                        help="lines in the sample of the linearity check (default: 50000)")
    parser.add_argument("--no-linearity", action="store_true", help="skip the linearity check")
    args = parser.parse_args(argv)

    files, lines = python_files(args.directory, args.max_lines)
    if not files:
        raise SystemExit(f"benchmark: no Python files in {args.directory}")
    cache_flag = has_no_cache_flag()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"benchmark: {len(files):,} files, {lines:,} lines in {args.directory}; {args.jobs} processes each; "
          f"load average {load:.1f} on {os.cpu_count()} cores; nnlint cache flag: {'yes' if cache_flag else 'no'}")

    with tempfile.TemporaryDirectory(prefix="nnlint-bench-") as scratch:
        scratch_dir = Path(scratch)
        tree = scratch_dir / "tree"
        tree.mkdir()
        target = copy_tree(files, tree, 1)  # the same files, away from any pyproject or cache beside them
        cold_options = ["--no-cache"] if cache_flag else []
        results = [
            measure_parser("ast.parse", _ast_parse, files, lines, args.jobs),
            measure_parser("libcst.parse_module", _libcst_parse, files, lines, args.jobs),
            measure_nnlint("nnlint cold" + (" (--no-cache)" if cache_flag else " (fresh cache)"), target, lines,
                           args.jobs, cold_options, None if cache_flag else scratch_dir / "cold-cache"),
        ]
        if cache_flag:
            warm_cache = scratch_dir / "warm-cache"
            measure_nnlint("(filling the cache)", target, lines, args.jobs, [], warm_cache)
            results.append(measure_nnlint("nnlint warm (second run)", target, lines, args.jobs, [], warm_cache))
        for measure in results:
            print(row(measure))
        if not cache_flag:
            print("  nnlint warm                        skipped: this nnlint has no cache (--no-cache not in --help)")
        ast_run, cst_run, cold = results[:3]
        print(f"  ratios: nnlint cold / libcst parse = {cold.seconds / cst_run.seconds:.2f}x the time; "
              f"nnlint cold / ast.parse = {cold.seconds / ast_run.seconds:.2f}x the time")

        if not args.no_linearity:
            sample, sample_lines = python_files(args.directory, args.sample_lines)
            print(f"linearity: a sample of {len(sample):,} files, {sample_lines:,} lines; nnlint cold each time")
            base = measure_nnlint("sample", copy_tree(sample, scratch_dir / "sample", 1), sample_lines,
                                  args.jobs, cold_options, scratch_dir / "lin-cache-1")
            copies = measure_nnlint(f"{COPIES}x the files (copies)", copy_tree(sample, scratch_dir / "copies", COPIES),
                                    sample_lines * COPIES, args.jobs, cold_options, scratch_dir / "lin-cache-2")
            joined_dir, joined_lines = concatenated_tree(sample, scratch_dir / "joined", COPIES)
            joined = measure_nnlint(f"{COPIES}x the lines per file", joined_dir, joined_lines, args.jobs,
                                    cold_options, scratch_dir / "lin-cache-3")
            for measure in (base, copies, joined):
                print(row(measure))
            for measure in (copies, joined):
                slowdown = base.lines_per_second / measure.lines_per_second
                verdict = "linear" if slowdown < 1.5 else "SUPER-LINEAR"
                print(f"  {measure.name}: {slowdown:.2f}x the time per line of the sample ({verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
