#!/usr/bin/env python3
"""What one file costs, as a commit hook or an editor pays it: nnlint answered from its cache and
cold, flake8 with and without nnlint's plugin, pyflakes and ruff, on the same file.

The file is copied into an empty project of its own, beside a requirements.txt (torch, numpy).
Each command runs as a fresh process, the commands take turns, and the minimum of the runs is
reported, as wall time and as the CPU time the process used (user + system: on a shared, busy
machine the wall time also counts the waits for a core, the CPU time hardly). Tools that are
not installed are skipped; ruff is looked for beside this interpreter and on PATH.

    python scripts/bench_latency.py                   # scripts/latency/train.py, 10 runs each
    python scripts/bench_latency.py my_script.py --runs 20
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_FILE = REPO / "scripts" / "latency" / "train.py"
NOT_NN = "E,F,W,C90"  # flake8's own default selection: a run that selects no NN code

# flake8 finds plugins through importlib.metadata: hiding the distributions whose entry points
# name nnlint gives flake8 exactly as it is without nnlint installed.
FLAKE8 = """
import importlib.metadata, sys
hidden = sys.argv.pop(1)
every = importlib.metadata.distributions
importlib.metadata.distributions = lambda **kw: (
    d for d in every(**kw) if not any(ep.value.startswith(hidden + ".") for ep in d.entry_points))
from flake8.main.cli import main
sys.exit(main())
"""


@dataclass
class Command:
    label: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)

    def run(self) -> None:
        # An installed package has its bytecode compiled: measure that, not a compilation of
        # every module on every start.
        environment = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        result = subprocess.run(self.argv, cwd=REPO, env={**environment, "PYTHONPATH": str(REPO), **self.env},
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.seconds.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu_seconds.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if result.returncode not in (0, 1) or "Traceback" in result.stderr:
            raise SystemExit(f"bench_latency: {self.label} failed ({result.returncode}):\n{result.stderr}")


def _ruff() -> str | None:
    beside = Path(sys.executable).parent / "ruff"
    return str(beside) if beside.is_file() else shutil.which("ruff")


def commands(target: Path, cache_dir: Path) -> list[Command]:
    python = sys.executable
    found = [
        Command("nnlint, answered from the cache", [python, "-m", "nnlint", "-q", str(target)],
                {"NNLINT_CACHE_DIR": str(cache_dir)}),
        Command("nnlint cold (--no-cache)", [python, "-m", "nnlint", "-q", "--no-cache", str(target)]),
    ]
    if importlib.util.find_spec("flake8") is not None:
        found += [
            Command("flake8 without nnlint's plugin", [python, "-c", FLAKE8, "nnlint", "--isolated", "--select",
                                                       NOT_NN, str(target)]),
            Command(f"flake8 + plugin, --select {NOT_NN}", [python, "-c", FLAKE8, "(nothing)", "--isolated",
                                                             "--select", NOT_NN, str(target)]),
            Command("flake8 + plugin, --select NN", [python, "-c", FLAKE8, "(nothing)", "--isolated", "--select",
                                                     "NN", str(target)]),
        ]
    if importlib.util.find_spec("pyflakes") is not None:
        found.append(Command("pyflakes", [python, "-m", "pyflakes", str(target)]))
    ruff = _ruff()
    if ruff is not None:
        found.append(Command("ruff check", [ruff, "check", "--isolated", "--no-cache", str(target)]))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--runs", type=int, default=10, help="runs of each command (default: 10)")
    args = parser.parse_args(argv)

    source = args.file.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="nnlint-latency-") as scratch:
        target = Path(scratch) / "project" / args.file.name  # away from any configuration beside the file
        target.parent.mkdir()
        target.write_text(source, encoding="utf-8")
        (target.parent / "requirements.txt").write_text("torch>=2.1\nnumpy>=1.24\n", encoding="utf-8")
        runs = commands(target, Path(scratch) / "cache")
        runs[0].run()  # fills the cache
        runs[0].seconds.clear()
        runs[0].cpu_seconds.clear()
        for _ in range(args.runs):
            for command in runs:
                command.run()

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"bench_latency: {args.file} ({source.count(chr(10))} lines), minimum of {args.runs} runs each; "
          f"load average {load:.1f} on {os.cpu_count()} cores; ruff: {'found' if _ruff() else 'not installed'}")
    print(f"  {'':<40} {'wall':>7} {'CPU':>7}")
    for command in runs:
        print(f"  {command.label:<40} {min(command.seconds):6.3f}s {min(command.cpu_seconds):6.3f}s")
    by_label = {command.label: command for command in runs}
    plain = by_label.get("flake8 without nnlint's plugin")
    quiet = by_label.get(f"flake8 + plugin, --select {NOT_NN}")
    for measure, best in (("wall", lambda c: min(c.seconds)), ("CPU", lambda c: min(c.cpu_seconds))):
        checks = [("cache hit <= 0.15 s", best(runs[0]) <= 0.15), ("cold <= 0.6 s", best(runs[1]) <= 0.6)]
        if plain is not None and quiet is not None:
            added = best(quiet) - best(plain)
            checks.append((f"plugin adds {added:+.3f} s <= 0.05 s", added <= 0.05))
        print(f"  targets by {measure}: " + ", ".join(f"{name}: {'met' if met else 'MISSED'}" for name, met in checks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
