"""Fixing files: passes of apply-then-lint-again until no chosen fix is left, checks that every
fixed text still parses, and writing only files that did not change on disk meanwhile."""

from __future__ import annotations

import ast
import io
import os
import tempfile
import tokenize
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

from nnlint.config import Config
from nnlint.diagnostics import Applicability, FileResult, Finding, TextFix
from nnlint.files import NOTEBOOK_SUFFIX, UnreadableSource, read_source
from nnlint.fixes.apply import apply_fixes
from nnlint.fixes.notebook_json import NotebookLayoutError, with_sources
from nnlint.notebook import NotNotebook, code_cells
from nnlint.rules.metadata import RULES
from nnlint.selection import FixableCodes

# Fixes that overlap wait for the next pass; a handful of passes settles every real file.
MAX_PASSES = 5

Linter = Callable[[Mapping[str, bytes]], list[FileResult]]


@dataclass(frozen=True)
class FixSettings:
    """Which fixes to apply: those of fixable codes, unsafe ones only when asked."""

    unsafe: bool = False
    fixable: Callable[[str], bool] = lambda code: True

    @classmethod
    def configured(cls, config: Config, unsafe: bool | None = None, fixable: list[str] | None = None,
                   extend_fixable: list[str] | None = None, unfixable: list[str] | None = None) -> "FixSettings":
        """The configuration's choice of fixes and options given beside it (the command line's, an
        editor's settings): `unsafe` and `fixable` replace the configuration's, the others add to it."""
        origin = str(config.path) if config.path else "options"
        chosen = fixable if fixable is not None else config.fixable
        chosen = (chosen if chosen is not None else ["ALL"]) + (extend_fixable or [])
        return cls(unsafe if unsafe is not None else config.unsafe_fixes,
                   FixableCodes(list(RULES), chosen, config.unfixable + (unfixable or []), origin))

    def applies(self, finding: Finding) -> bool:
        fix = finding.fix
        return fix is not None and self.fixable(finding.code) and (
            fix.applicability is Applicability.SAFE or self.unsafe)

    def would_apply_if_unsafe(self, finding: Finding) -> bool:
        return not self.applies(finding) and finding.fix is not None and self.fixable(finding.code)


@dataclass
class FixOutcome:
    """The fixed content of each changed file, how many findings each fix pass removed there,
    and the results of linting the fixed files."""

    contents: dict[str, bytes] = field(default_factory=dict)
    fixed: Counter[str] = field(default_factory=Counter)
    results: list[FileResult] = field(default_factory=list)


def fix_project(originals: Mapping[str, bytes], results: list[FileResult], lint: Linter,
                settings: FixSettings) -> FixOutcome:
    """Apply the chosen fixes pass after pass; `results` are the findings in `originals`, and
    `lint` lints the project with some files' content replaced."""
    outcome = FixOutcome(results=results)
    current = dict(originals)
    for _ in range(MAX_PASSES):
        changed: dict[str, bytes] = {}
        for result in outcome.results:
            chosen = [finding.fix for finding in result.findings if settings.applies(finding)]
            if not chosen or result.path not in current:
                continue
            fixed, count = fixed_content(result.path, current[result.path], chosen)
            if count:
                changed[result.path] = fixed
                outcome.fixed[result.path] += count
        if not changed:
            break
        current.update(changed)
        outcome.contents.update(changed)
        outcome.results = lint(current)
    return outcome


def fixed_content(path: str, data: bytes, fixes: Sequence[TextFix]) -> tuple[bytes, int]:
    """The content with the fixes applied that do not collide and leave it parsing, and how many."""
    document = _notebook(path, data) if path.endswith(NOTEBOOK_SUFFIX) else _PythonFile(data)
    if document is None:
        return data, 0
    texts, applied = apply_fixes(document.texts, fixes)
    fixed = document.content(texts)
    if fixed is not None and document.parses(fixed):
        return fixed, len(applied)
    kept: list[TextFix] = []  # some fix breaks the text: keep those that do not, one by one
    fixed = data
    for index in applied:
        texts, _ = apply_fixes(document.texts, [*kept, fixes[index]])
        candidate = document.content(texts)
        if candidate is not None and document.parses(candidate):
            kept.append(fixes[index])
            fixed = candidate
    return fixed, len(kept)


class _PythonFile:
    def __init__(self, data: bytes) -> None:
        try:
            self.encoding = tokenize.detect_encoding(io.BytesIO(data).readline)[0]
            self.texts: dict[int | None, str] = {None: data.decode(self.encoding)}
        except (SyntaxError, UnicodeDecodeError, LookupError):
            self.encoding, self.texts = "", {}

    def content(self, texts: Mapping[int | None, str]) -> bytes | None:
        try:
            return texts[None].encode(self.encoding)
        except (UnicodeEncodeError, KeyError):
            return None

    def parses(self, data: bytes) -> bool:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ast.parse(data)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return False
        return True


class _Notebook:
    def __init__(self, path: str, data: bytes, sources: dict[int | None, str], broken: int) -> None:
        self.path = path
        self.data = data
        self.texts = sources
        self.broken = broken

    def content(self, texts: Mapping[int | None, str]) -> bytes | None:
        changed = {cell: text for cell, text in texts.items() if cell is not None and text != self.texts[cell]}
        try:
            return with_sources(self.data, changed)
        except NotebookLayoutError:
            return None

    def parses(self, data: bytes) -> bool:
        """Still a notebook, and no cell more that does not parse."""
        try:
            return len(read_source(self.path, data).broken_cells) == self.broken
        except UnreadableSource:
            return False


def _notebook(path: str, data: bytes) -> _Notebook | None:
    try:
        broken = len(read_source(path, data).broken_cells)
        sources: dict[int | None, str] = dict(code_cells(data))
    except (UnreadableSource, NotNotebook):
        return None
    return _Notebook(path, data, sources, broken)


def write_fixed(path: str, original: bytes, fixed: bytes) -> str | None:
    """Write the fixed content in place of `original`; the reason when it is not written (the
    file changed on disk since it was read, or cannot be written)."""
    target = Path(os.path.realpath(path))
    try:
        if target.read_bytes() != original:
            return "it changed on disk while being fixed"
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".nnlint")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(fixed)
            os.chmod(temporary, target.stat().st_mode & 0o7777)
            os.replace(temporary, target)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as err:
        return f"cannot write it: {err.strerror or err}"
    return None
