#!/usr/bin/env python3
"""Fuzz nnlint: lint many generated programs and damaged real files, report every failure.

Cases come from hypothesis strategies (training-shaped programs and hypothesmith's grammar
programs, see tests/program_strategies.py) and from real files: truncated, byte-mutated,
line-mutated, spliced with other files, and wrapped into notebooks with IPython magics. Each
case is linted in a worker process with a time limit; the failures reported are an NN000
finding, an exception escaping the linter, a worker killed by a signal (a crash in native
code) and a case over the time limit (a hang). Each failing input is saved to --out.

    python scripts/fuzz.py --duration 600
    python scripts/fuzz.py --corpus path/to/code --count 5000 --jobs 4
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import random
import sys
import time
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Callable, Iterator

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

SITE_PACKAGES = Path("/tmp/corpusvenv/lib/python3.11/site-packages")
DEFAULT_CORPUS = [SITE_PACKAGES / name for name in ("transformers", "timm", "lightning")]

INSERTIONS = (
    b"(", b")", b"[", b"]", b"{", b":", b",", b"\n", b"\n    ", b"\t", b"\\\n", b'"""', b"'", b"#", b"lambda: ",
    b"yield ", b"await ", b"*", b"**", b"@", b"\x00", b"\xff", b"\r", b"\xef\xbb\xbf", b"\x0c", b"if x:\n",
    b"else:\n", b"def f(", b"class C(nn.Module):\n", b"return ", b"loss.backward()\n", b"optimizer.step()\n",
    b"F.softmax(x, dim=1)", b"criterion(", b"with torch.no_grad():\n", b"for batch in loader:\n", b"self.",
    b"nonlocal x\n", b"global y\n", b"del ", b"match x:\n    case 1:\n", b"async ", b"f'{x!r:>{w}}'",
)
MAGICS = ("%matplotlib inline", "!pip install torch", "files = !ls", "model?", "%%time", "%time loss = f(x)",
          "%%bash", "%load_ext autoreload", "?torch.nn", "pip install timm", "%% ", "%%", "!ls \\", "x = %sx ls")


@dataclass
class Case:
    kind: str
    name: str
    path: str  # the name it is linted under: its suffix picks Python or notebook
    data: bytes


@dataclass
class Problem:
    kind: str
    case: Case
    detail: str

    def signature(self) -> str:
        lines = [line for line in self.detail.strip().splitlines() if line.strip()]
        return f"{self.kind}: {lines[-1] if lines else ''}"[:300]


# ----------------------------------------------------------------------------- workers
def _worker(connection: Connection) -> None:
    from nnlint.analysis import lint_bytes
    from nnlint.engine import RECURSION_LIMIT
    from nnlint.rules import all_rules

    sys.setrecursionlimit(RECURSION_LIMIT)
    warnings.simplefilter("ignore")
    rules = list(all_rules())
    while True:
        try:
            path, data = connection.recv()
        except EOFError:
            return
        try:
            result = lint_bytes(path, data, rules)
            errors = [f"{f.line}:{f.column} {f.message}" for f in result.findings if f.code == "NN000"]
            connection.send(("NN000", "\n".join(errors)) if errors else ("ok", ""))
        except BaseException:  # everything that escapes the linter is a failure to report
            connection.send(("exception", traceback.format_exc()))


class Workers:
    """Worker processes, each linting one case at a time under a time limit."""

    def __init__(self, jobs: int, timeout: float, report: Callable[[Problem | None, Case], None]) -> None:
        self.timeout = timeout
        self.report = report
        self.context = multiprocessing.get_context("spawn")
        self.idle: list[tuple[multiprocessing.Process, Connection]] = [self._start() for _ in range(jobs)]
        self.busy: dict[Connection, tuple[multiprocessing.Process, Case, float]] = {}

    def _start(self) -> tuple[multiprocessing.Process, Connection]:
        parent, child = self.context.Pipe()
        process = self.context.Process(target=_worker, args=(child,), daemon=True)
        process.start()
        child.close()
        return process, parent

    def submit(self, case: Case) -> None:
        while not self.idle:
            self._collect()
        process, connection = self.idle.pop()
        connection.send((case.path, case.data))
        self.busy[connection] = (process, case, time.monotonic())

    def drain(self) -> None:
        while self.busy:
            self._collect()

    def _collect(self) -> None:
        now = time.monotonic()
        soonest = min(started for _, _, started in self.busy.values()) + self.timeout
        for connection in wait(list(self.busy), timeout=max(0.0, soonest - now)):
            process, case, _ = self.busy.pop(connection)
            try:
                status, detail = connection.recv()
            except (EOFError, OSError):
                process.join(5)
                self.report(Problem("crash", case, f"worker died with exit code {process.exitcode}"), case)
                self.idle.append(self._start())
                continue
            self.report(None if status == "ok" else Problem(status, case, detail), case)
            self.idle.append((process, connection))
        for connection, (process, case, started) in list(self.busy.items()):
            if time.monotonic() - started > self.timeout:
                del self.busy[connection]
                process.kill()
                process.join()
                self.report(Problem("hang", case, f"no result after {self.timeout:.0f} s"), case)
                self.idle.append(self._start())

    def close(self) -> None:
        for process, connection in self.idle + [(p, c) for c, (p, _, _) in self.busy.items()]:
            connection.close()
            process.kill()


# ----------------------------------------------------------------------------- real-file cases
def corpus_files(roots: list[Path]) -> list[Path]:
    from nnlint.files import discover

    return [Path(p) for p in discover([str(r) for r in roots if r.exists()], []) if p.endswith(".py")]


def _truncated(data: bytes, rng: random.Random) -> bytes:
    if rng.random() < 0.5:
        return data[: rng.randrange(len(data) + 1)]
    lines = data.splitlines(keepends=True)
    return b"".join(lines[: rng.randrange(len(lines) + 1)])


def _byte_mutated(data: bytes, rng: random.Random) -> bytes:
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        position = rng.randrange(len(buffer) + 1)
        operation = rng.randrange(4)
        if operation == 0 and buffer:
            buffer[min(position, len(buffer) - 1)] = rng.randrange(256)
        elif operation == 1:
            del buffer[position: position + rng.randint(1, 40)]
        elif operation == 2:
            buffer[position:position] = rng.choice(INSERTIONS)
        else:
            start = rng.randrange(len(buffer) + 1)
            buffer[position:position] = buffer[start: start + rng.randint(1, 200)]
    return bytes(buffer)


def _line_mutated(data: bytes, rng: random.Random) -> bytes:
    """Mutations that mostly keep the file valid Python: the deeper passes run on them."""
    lines = data.splitlines(keepends=True) or [b"\n"]
    for _ in range(rng.randint(1, 6)):
        index = rng.randrange(len(lines))
        operation = rng.randrange(5)
        if operation == 0:
            del lines[index]
        elif operation == 1:
            lines.insert(rng.randrange(len(lines) + 1), lines[index])
        elif operation == 2:
            other = rng.randrange(len(lines))
            lines[index], lines[other] = lines[other], lines[index]
        elif operation == 3:
            lines[index] = b"    " + lines[index]
        else:
            lines[index] = lines[index].replace(b"self.", rng.choice((b"", b"model.", b"self.self.")), 1)
        lines = lines or [b"\n"]
    return b"".join(lines)


def _spliced(data: bytes, other: bytes, rng: random.Random) -> bytes:
    lines, donor = data.splitlines(keepends=True), other.splitlines(keepends=True)
    start = rng.randrange(len(donor) + 1)
    chunk = donor[start: start + rng.randint(1, 80)]
    at = rng.randrange(len(lines) + 1)
    return b"".join(lines[:at] + chunk + lines[at:])


def _as_notebook(data: bytes, rng: random.Random) -> bytes:
    text = data.decode("utf-8", "replace")
    lines = text.splitlines(keepends=True)
    cuts = sorted(rng.sample(range(len(lines) + 1), min(len(lines) + 1, rng.randint(0, 6))))
    cells = [lines[a:b] for a, b in zip([0, *cuts], [*cuts, len(lines)]) if lines[a:b]]
    for _ in range(rng.randint(0, 3)):
        cells.insert(rng.randrange(len(cells) + 1), [rng.choice(MAGICS) + "\n", *rng.choice(cells or [[]])[:3]])
    kinds = ["code"] * len(cells)
    if cells and rng.random() < 0.2:
        kinds[rng.randrange(len(cells))] = "markdown"
    notebook = {"cells": [{"cell_type": kind, "metadata": {}, "source": cell, "outputs": []}
                          for kind, cell in zip(kinds, cells)],
                "metadata": {"language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    encoded = json.dumps(notebook).encode()
    return _byte_mutated(encoded, rng) if rng.random() < 0.1 else encoded


def real_file_cases(files: list[Path], rng: random.Random) -> Iterator[Case]:
    while True:
        path = rng.choice(files)
        try:
            data = path.read_bytes()
        except OSError:
            continue
        mode = rng.choice(("truncated", "bytes", "lines", "lines", "spliced", "notebook"))
        if mode == "truncated":
            yield Case(mode, str(path), "case.py", _truncated(data, rng))
        elif mode == "bytes":
            yield Case(mode, str(path), "case.py", _byte_mutated(data, rng))
        elif mode == "lines":
            yield Case(mode, str(path), "case.py", _line_mutated(data, rng))
        elif mode == "spliced":
            donor = rng.choice(files)
            try:
                yield Case(mode, f"{path} + {donor}", "case.py", _spliced(data, donor.read_bytes(), rng))
            except OSError:
                continue
        else:
            yield Case(mode, str(path), "case.ipynb", _as_notebook(data, rng))


# ----------------------------------------------------------------------------- generated cases
def run_generated(workers: Workers, count: int, seed: int, deadline: float) -> None:
    """Feed `count` hypothesis-generated programs to the workers (generation happens here)."""
    from hypothesis import HealthCheck, Phase, given, seed as hypothesis_seed, settings
    from hypothesis import strategies as st

    from program_strategies import grammar_programs, training_programs

    @hypothesis_seed(seed)
    @settings(max_examples=count, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(st.one_of(training_programs(), grammar_programs()))
    def feed(source: str) -> None:
        if time.monotonic() < deadline:
            workers.submit(Case("generated", "hypothesis", "generated.py", source.encode("utf-8", "surrogatepass")))

    warnings.simplefilter("ignore")
    feed()


# ----------------------------------------------------------------------------- the run
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", nargs="*", type=Path, help="directories of real code (default: the corpus)")
    parser.add_argument("--count", type=int, default=2000, help="cases from real files (default: 2000)")
    parser.add_argument("--generated", type=int, default=500, help="generated programs (default: 500)")
    parser.add_argument("--duration", type=float, help="stop after this many seconds, whatever the counts")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds one case may take (default: 30)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("fuzz-failures"), help="where failing inputs are saved")
    args = parser.parse_args(argv)

    roots = args.corpus if args.corpus else [r for r in DEFAULT_CORPUS if r.exists()] or [REPO / "fixtures"]
    files = corpus_files(roots)
    deadline = time.monotonic() + args.duration if args.duration else float("inf")
    counts: Counter[str] = Counter()
    problems: list[Problem] = []

    def report(problem: Problem | None, case: Case) -> None:
        counts[case.kind] += 1
        if problem is None:
            return
        problems.append(problem)
        args.out.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha1(case.data).hexdigest()[:10]
        stem = args.out / f"{problem.kind}-{case.kind}-{digest}"
        stem.with_suffix(Path(case.path).suffix).write_bytes(case.data)
        stem.with_suffix(".txt").write_text(f"{case.kind} from {case.name}\n\n{problem.detail}\n", encoding="utf-8")
        print(f"  {problem.signature()}  [{case.kind}: {stem}{Path(case.path).suffix}]", flush=True)

    started = time.monotonic()
    workers = Workers(args.jobs, args.timeout, report)
    try:
        print(f"fuzz: {len(files)} real files from {', '.join(map(str, roots))}; seed {args.seed}", flush=True)
        if files:
            cases = real_file_cases(files, random.Random(args.seed))
            for _ in range(args.count):
                if time.monotonic() >= deadline:
                    break
                workers.submit(next(cases))
        if args.generated and time.monotonic() < deadline:
            run_generated(workers, args.generated, args.seed, deadline)
        workers.drain()
    except KeyboardInterrupt:
        print("fuzz: interrupted", flush=True)
    finally:
        workers.close()

    elapsed = time.monotonic() - started
    print(f"fuzz: {sum(counts.values())} cases in {elapsed:.0f} s ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))})")
    by_signature = Counter(problem.signature() for problem in problems)
    if not problems:
        print("fuzz: no NN000, no exception, no crash, no hang")
        return 0
    print(f"fuzz: {len(problems)} failures, {len(by_signature)} distinct (inputs in {args.out}/):")
    for signature, number in by_signature.most_common():
        print(f"  {number:>5}  {signature}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
