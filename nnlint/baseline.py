"""Review gating: accept the findings recorded in a baseline file and fail only on new ones.

A finding's identity has to survive edits elsewhere in its file, which move it to another
line. Its fingerprint is therefore the rule's code, the flagged line's text with whitespace
normalized, and which occurrence of that pair it is in the file, counted from the top (the
second of two identical flagged lines stays the second). The baseline records fingerprints
by path, relative to the baseline file's own directory, so it works from any directory.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Callable, Sequence

from nnlint.diagnostics import Finding
from nnlint.files import NOTEBOOK_SUFFIX, UnreadableSource, decode_source, physical_lines, read_regular_file
from nnlint.notebook import NotNotebook, code_cells

FORMAT = 1

Reader = Callable[[str], "bytes | None"]


class BaselineError(Exception):
    """A baseline file that cannot be used; the message says why (exit status 2)."""


def read_file(path: str) -> bytes | None:
    try:
        return read_regular_file(path)
    except OSError:
        return None


def _lines_of(path: str, data: bytes | None) -> dict[int | None, list[str]]:
    """The file's physical lines, by notebook cell (None for a Python file)."""
    if data is None:
        return {}
    try:
        if path.endswith(NOTEBOOK_SUFFIX):
            return {number: physical_lines(source) for number, source in code_cells(data)}
        return {None: physical_lines(decode_source(data))}
    except (UnreadableSource, NotNotebook):
        return {}


def _normalized(line: str) -> str:
    return " ".join(line.split())


def fingerprinted(findings: Sequence[Finding], read: Reader = read_file) -> list[Finding]:
    """The findings with `fingerprint` and `source_line` filled (see the module's docstring);
    order kept."""
    lines_by_path: dict[str, dict[int | None, list[str]]] = {}
    occurrences: Counter[tuple[str, str, str]] = Counter()
    filled: dict[int, Finding] = {}
    for index in sorted(range(len(findings)), key=lambda i: findings[i].sort_key()):
        finding = findings[index]
        if finding.path not in lines_by_path:
            lines_by_path[finding.path] = _lines_of(finding.path, read(finding.path))
        lines = lines_by_path[finding.path].get(finding.cell, [])
        source_line = lines[finding.line - 1] if 0 < finding.line <= len(lines) else ""
        text = _normalized(source_line)
        key = (finding.path, finding.code, text)
        occurrences[key] += 1
        digest = hashlib.blake2b(f"{finding.code}\0{text}\0{occurrences[key]}".encode(), digest_size=8)
        filled[index] = replace(finding, fingerprint=digest.hexdigest(), source_line=source_line)
    return [filled[i] for i in range(len(findings))]


def _relative(path: str, root: Path) -> str:
    if path == "-":
        return path
    try:
        return Path(os.path.relpath(os.path.abspath(path), root)).as_posix()
    except ValueError:  # another drive on Windows
        return Path(os.path.abspath(path)).as_posix()


class Baseline:
    """The accepted findings: (path relative to the baseline's directory, fingerprint)."""

    def __init__(self, root: Path, accepted: set[tuple[str, str]]) -> None:
        self.root = root
        self.accepted = accepted

    @classmethod
    def load(cls, file: str) -> "Baseline":
        path = Path(file)
        try:
            data = json.loads(path.read_bytes())
        except OSError as err:
            raise BaselineError(f"{file}: cannot read baseline: {err.strerror or err}") from None
        except ValueError as err:
            raise BaselineError(f"{file}: not a baseline file: invalid JSON ({err})") from None
        entries = data.get("findings") if isinstance(data, dict) and data.get("nnlint-baseline") == FORMAT else None
        if not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("path"), str) and isinstance(e.get("fingerprint"), str)
            for e in entries
        ):
            raise BaselineError(f"{file}: not a baseline file (write one with --write-baseline)")
        return cls(path.absolute().parent, {(e["path"], e["fingerprint"]) for e in entries})

    def new_findings(self, findings: Sequence[Finding]) -> tuple[list[Finding], int]:
        """The findings the baseline does not accept, and how many it accepted."""
        new = [f for f in findings if (_relative(f.path, self.root), f.fingerprint) not in self.accepted]
        return new, len(findings) - len(new)


def write_baseline(file: str, findings: Sequence[Finding]) -> None:
    """Record fingerprinted findings; line, cell and message are there for the reader only."""
    root = Path(file).absolute().parent
    entries = [
        {"path": _relative(f.path, root), "code": f.code, "fingerprint": f.fingerprint,
         "line": f.line, **({"cell": f.cell} if f.cell is not None else {}), "message": f.message}
        for f in findings
    ]
    text = json.dumps({"nnlint-baseline": FORMAT, "findings": entries}, indent=1) + "\n"
    try:
        Path(file).write_text(text, encoding="utf-8")
    except OSError as err:
        raise BaselineError(f"{file}: cannot write baseline: {err.strerror or err}") from None
