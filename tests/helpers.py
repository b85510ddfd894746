"""Shared test helpers: run the real command, read fixture expectations."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from nnlint.notebook import code_cells

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
RULE_PAGES = REPO / "rules"

EXPECT = re.compile(r"#\s*expect:\s*(?P<codes>NN\d{3}(?:\s*,\s*NN\d{3})*)")
FIXTURE_OPTIONS = re.compile(r"#\s*nnlint-fixture:\s*(?P<options>.*)$", re.MULTILINE)
# `[*]` before the message marks a finding --fix repairs.
FINDING_LINE = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<code>NN\d{3}) (?P<fixable>\[\*\] )?"
                          r"(?P<message>.*)$")


CACHE_DIR = tempfile.mkdtemp(prefix="nnlint-test-cache-")
KEY_HOME = tempfile.mkdtemp(prefix="nnlint-test-key-")  # $XDG_CACHE_HOME: the cache key, not the user's


def run_nnlint(*args: str, cwd: Path | None = None, stdin: bytes | None = None,
               env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """The real command in a subprocess; the cache and its key go to private directories unless `env` says."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "NNLINT_CACHE_DIR": CACHE_DIR, "XDG_CACHE_HOME": KEY_HOME,
           **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "nnlint", *args],
        cwd=cwd or REPO, input=stdin, capture_output=True, env=env, timeout=timeout,
    )


def expected_findings(text: str) -> set[tuple[int, str]]:
    """(line, code) for every `# expect: NNxxx[, NNyyy]` comment."""
    found = set()
    for number, line in enumerate(text.splitlines(), start=1):
        match = EXPECT.search(line)
        if match:
            found.update((number, code.strip()) for code in match.group("codes").split(","))
    return found


def expected_cell_findings(notebook: bytes) -> set[tuple[int, int, str]]:
    """(cell, line in the cell, code) for every `# expect:` comment in a notebook's code cells."""
    return {(cell, line, code) for cell, source in code_cells(notebook) for line, code in expected_findings(source)}


def fixture_options(text: str) -> list[str]:
    """Extra command-line options a fixture asks for (`# nnlint-fixture: --extend-select NN702`)."""
    match = FIXTURE_OPTIONS.search(text)
    return match.group("options").split() if match else []


def parse_text_output(stdout: str) -> list[dict]:
    results = []
    for line in stdout.splitlines():
        match = FINDING_LINE.match(line)
        assert match, f"not a finding line: {line!r}"
        results.append(dict(match.groupdict(), line=int(match["line"]), col=int(match["col"])))
    return results
