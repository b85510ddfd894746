#!/usr/bin/env python3
"""Recall and precision of nnlint on re-created real bugs (fixtures/recall).

Each case is a file or a folder under fixtures/recall: a folder is linted as one project. Its
`# expect: NNxxx` comments are the ground truth; fixtures/recall/clean holds a look-alike of
each case that must stay silent. A finding on an expected line is found; an expected line
without one is missed; any other finding, in a case or in a clean look-alike, is false.
fixtures/recall/known_misses.toml lists today's misses and false findings with their reasons
(tests/test_recall.py holds the results to that list exactly).

    python scripts/recall.py             # a table per case, then the totals
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from helpers import expected_findings, run_nnlint  # noqa: E402

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

RECALL = REPO / "fixtures" / "recall"
CLEAN = RECALL / "clean"
KNOWN = RECALL / "known_misses.toml"
THREAD = re.compile(r"https://\S+")

Finding = tuple[str, int, str]  # path relative to fixtures/recall, line, code


@dataclass(frozen=True)
class Case:
    name: str
    buggy: Path
    clean: Path

    def files(self) -> set[str]:
        return {_relative(file) for file in python_files(self.buggy)}

    def clean_files(self) -> set[str]:
        return {_relative(file) for file in python_files(self.clean)}

    @property
    def thread(self) -> str:
        """The address of the reported bug, the first one a docstring of the case names."""
        for file in python_files(self.buggy):
            match = THREAD.search(file.read_text(encoding="utf-8"))
            if match:
                return match.group(0)
        return ""


@dataclass(frozen=True)
class Result:
    case: Case
    expected: frozenset[Finding]
    found: frozenset[Finding]
    clean_found: frozenset[Finding]

    @property
    def hits(self) -> frozenset[Finding]:
        return self.expected & self.found

    @property
    def missed(self) -> frozenset[Finding]:
        return self.expected - self.found

    @property
    def false(self) -> frozenset[Finding]:
        return (self.found - self.expected) | self.clean_found


def cases() -> list[Case]:
    """Every case under fixtures/recall, with its look-alike of the same name under clean/."""
    buggy = [p for p in RECALL.iterdir() if p != CLEAN and (p.is_dir() or p.suffix == ".py")]
    return [Case(p.stem, p, CLEAN / p.name) for p in sorted(buggy)]


def python_files(path: Path) -> list[Path]:
    """A case's files: the file itself, or the Python files of its folder."""
    return sorted(path.rglob("*.py")) if path.is_dir() else [path]


def _relative(path: Path) -> str:
    return path.resolve().relative_to(RECALL.resolve()).as_posix()


def expectations(path: Path) -> frozenset[Finding]:
    return frozenset((_relative(file), line, code) for file in python_files(path)
                     for line, code in expected_findings(file.read_text(encoding="utf-8")))


def lint(path: Path) -> frozenset[Finding]:
    """nnlint's findings on a file, or on a folder linted as one project."""
    result = run_nnlint("--no-cache", "--output-format", "json", str(path))
    if result.returncode not in (0, 1):
        raise RuntimeError(f"nnlint failed on {path}: {result.stderr.decode()}")
    return frozenset((_relative(REPO / f["path"]), f["line"], f["code"]) for f in json.loads(result.stdout))


def measure(case: Case) -> Result:
    return Result(case, expectations(case.buggy), lint(case.buggy), lint(case.clean))


def known() -> dict[str, dict[Finding, str]]:
    """The listed misses and false findings, each with its one-line reason."""
    data = tomllib.loads(KNOWN.read_text(encoding="utf-8"))
    return {kind: {(entry["path"], entry["line"], entry["code"]): entry["reason"] for entry in data.get(kind, [])}
            for kind in ("missed", "false")}


def _codes(findings: frozenset[Finding]) -> str:
    return ", ".join(sorted({code for _, _, code in findings}))


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "n/a"


def report(results: list[Result]) -> str:
    rows = ["| case | thread | rule | expected | found | missed | false |", "|---|---|---|---|---|---|---|"]
    for r in results:
        rows.append(f"| {r.case.name} | {r.case.thread} | {_codes(r.expected)} | {len(r.expected)} | "
                    f"{len(r.hits)} | {len(r.missed)} | {len(r.false)} |")
    expected = sum(len(r.expected) for r in results)
    hits = sum(len(r.hits) for r in results)
    false = sum(len(r.false) for r in results)
    totals = (f"{len(results)} cases, {expected} expected bug lines: {hits} found, {expected - hits} missed, "
              f"{false} false findings; recall {_percent(hits, expected)}, precision {_percent(hits, hits + false)}")
    return "\n".join([*rows, "", totals])


def main() -> int:
    print(report([measure(case) for case in cases()]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
