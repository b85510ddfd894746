"""Finding the files to lint and reading them into text, whatever their bytes."""

from __future__ import annotations

import fnmatch
import io
import os
import re
import stat
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator

if TYPE_CHECKING:
    from nnlint.notebook import BrokenCell, CellPosition

PYTHON_SUFFIXES = (".py", ".pyi")
NOTEBOOK_SUFFIX = ".ipynb"
LINTED_SUFFIXES = PYTHON_SUFFIXES + (NOTEBOOK_SUFFIX,)

DEFAULT_EXCLUDES = (
    ".git", ".hg", ".svn", ".bzr", ".venv", "venv", ".tox", ".nox", ".eggs", "*.egg-info",
    "build", "dist", "__pycache__", "node_modules", "site-packages", ".mypy_cache",
    ".pytest_cache", ".ruff_cache", ".nnlint_cache", ".ipynb_checkpoints",
)


class UnreadableSource(Exception):
    """A file whose bytes cannot become Python text; the message says why."""


@dataclass(frozen=True)
class SourceFile:
    path: str
    text: str
    # Notebooks: the cell and line each line of `text` comes from; None for Python files.
    cells: tuple[CellPosition, ...] | None = None
    # Notebooks: the cells that do not parse, left out of `text` (their lines are empty).
    broken_cells: tuple[BrokenCell, ...] = ()


def read_source(path: str, data: bytes) -> SourceFile:
    """The text to lint in a file's bytes: Python source, or a notebook's code cells."""
    if not path.endswith(NOTEBOOK_SUFFIX):
        return SourceFile(path, decode_source(data))
    from nnlint.notebook import NotNotebook, notebook_text  # notebook.py builds on this module

    try:
        notebook = notebook_text(data)
    except NotNotebook as err:
        raise UnreadableSource(str(err)) from None
    return SourceFile(path, notebook.text, notebook.positions, notebook.broken_cells)


def decode_source(data: bytes) -> str:
    """Decode Python source bytes the way the interpreter does (BOM, coding cookie)."""
    if b"\0" in data:
        raise UnreadableSource("file contains NUL bytes (binary file?)")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as err:
        encoding = "utf-8"  # the first two lines are not UTF-8, or their cookie is invalid
        if _decodes(data, encoding):
            raise UnreadableSource(f"cannot decode: {err}") from None
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise UnreadableSource(f"cannot decode as {encoding}: {err.reason} on line {line} "
                               "(save the file as UTF-8 or declare its encoding in a coding cookie)") from None
    except LookupError as err:
        raise UnreadableSource(f"cannot decode as {encoding}: {err}") from None


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def physical_lines(text: str) -> list[str]:
    """The lines as Python numbers them, without their ends (str.splitlines also splits at
    form feeds and other characters that end no line in Python)."""
    return [line.rstrip("\r\n") for line in io.StringIO(text, newline="").readlines()]


class Excluder:
    """flake8's matching: a pattern matches the base name or the whole (absolute) path. All
    patterns are compiled into one expression: a tree of thousands of files is matched fast."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self._match = re.compile("|".join(f"(?:{fnmatch.translate(pattern)})" for pattern in patterns) or "(?!)").match

    def __call__(self, path: str) -> bool:
        return bool(self._match(os.path.basename(path)) or self._match(os.path.abspath(path)))


def _is_special(path: str) -> bool:
    """A FIFO, socket or device: reading a FIFO named x.py would block forever. A path that
    cannot be examined stays in, to be reported as unreadable."""
    try:
        return not stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _is_virtualenv(directory: Path) -> bool:
    return (directory / "pyvenv.cfg").is_file()


def _excluded_by_name(given: Path, excluded: Excluder, project_root: Path) -> bool:
    """A path named on the command line that a walk from the project root would skip: by its
    name or a folder's between it and the root (the root and what is above it are the user's
    choice). A path outside the project is judged by its own name."""
    path = given.absolute()
    if project_root not in path.parents:
        return excluded(str(path))
    inside = [path, *(parent for parent in path.parents if project_root in parent.parents)]
    return any(excluded(str(part)) or (part != path and _is_virtualenv(part)) for part in inside)


def discover(paths: Iterable[str], excludes: Iterable[str], force_exclude: bool = False,
             project_root: Path | None = None) -> Iterator[str]:
    """Yield lintable files under paths in a stable order. Named files always come through,
    unless `force_exclude`: then a named path is excluded as a walk below `project_root`
    (default: the working directory) would exclude it."""
    excluded = Excluder(tuple(DEFAULT_EXCLUDES) + tuple(excludes))
    project_root = (project_root or Path.cwd()).absolute()
    seen: set[str] = set()
    for given in paths:
        root = Path(given)
        if force_exclude and _excluded_by_name(root, excluded, project_root):
            continue
        if not root.is_dir():
            if given not in seen:
                seen.add(given)
                yield given
            continue
        for directory, subdirs, files in os.walk(root):
            current = Path(directory)  # spelled as pathlib does: `./x` is `x`
            subdirs[:] = sorted(
                d for d in subdirs
                if not excluded(str(current / d)) and not _is_virtualenv(current / d)
            )
            prefix = "" if str(current) == "." else str(current) + os.sep
            for name in sorted(files):
                if not name.endswith(LINTED_SUFFIXES):
                    continue
                file_path = prefix + name
                if excluded(file_path) or _is_special(file_path):
                    continue
                if file_path not in seen:
                    seen.add(file_path)
                    yield file_path
