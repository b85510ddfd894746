"""Finding the files to lint and reading them into text, whatever their bytes."""

from __future__ import annotations

import errno
import fnmatch
import io
import os
import re
import stat
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Iterable, Iterator

if TYPE_CHECKING:
    from nnlint.notebook import BrokenCell, CellPosition, NotebookCells

PYTHON_SUFFIXES = (".py", ".pyi")
NOTEBOOK_SUFFIX = ".ipynb"
LINTED_SUFFIXES = PYTHON_SUFFIXES + (NOTEBOOK_SUFFIX,)
STDIN = "-"  # the path that reads standard input

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
    # Notebooks: what the analysis needs to know of the cells (None for Python files).
    notebook: NotebookCells | None = None


def read_source(path: str, data: bytes) -> SourceFile:
    """The text to lint in a file's bytes: Python source, or a notebook's code cells."""
    if not path.endswith(NOTEBOOK_SUFFIX):
        return SourceFile(path, decode_source(data))
    from nnlint.notebook import NotNotebook, notebook_text  # notebook.py builds on this module

    try:
        notebook = notebook_text(data)
    except NotNotebook as err:
        raise UnreadableSource(str(err)) from None
    return SourceFile(path, notebook.text, notebook.positions, notebook.broken_cells, notebook.cells)


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


def _kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))
    return next((name for test, name in kinds if test(mode)), "a special file")


class NotRegularFile(OSError):
    """A FIFO, socket, device or directory where a file was expected."""


def open_regular_file(path: str | Path, *, follow_symlinks: bool = True) -> BinaryIO:
    """Open a file for reading only if it is a regular file. O_NONBLOCK: opening a FIFO waits
    for a writer, which may never come; a device (/dev/zero) never ends."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(path, flags)
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(errno.EINVAL, f"not a regular file ({_kind(mode)})", str(path))
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def read_regular_file(path: str | Path, *, limit: int | None = None, follow_symlinks: bool = True) -> bytes:
    """A regular file's bytes; OSError for anything else, and for a file longer than `limit`."""
    with open_regular_file(path, follow_symlinks=follow_symlinks) as handle:
        if limit is None:
            return handle.read()
        # The size before reading (a sparse file of terabytes is made in no time), and what was
        # read after (a file can grow meanwhile).
        data = handle.read(limit + 1) if os.fstat(handle.fileno()).st_size <= limit else None
    if data is None or len(data) > limit:
        raise OSError(errno.EFBIG, f"larger than {limit} bytes", str(path))
    return data


@dataclass(frozen=True)
class Skipped:
    """A path that cannot be linted, and the NN002 message that says why. `missing`: a path
    named on the command line that does not exist."""

    path: str
    message: str
    missing: bool = False


def _is_virtualenv(directory: Path) -> bool:
    return os.path.isfile(directory / "pyvenv.cfg")  # False, not an error, inside an unreadable directory


def _excluded_by_name(given: Path, excluded: Excluder, project_root: Path) -> bool:
    """A path named on the command line that a walk from the project root would skip: by its
    name or a folder's between it and the root (the root and what is above it are the user's
    choice). A path outside the project is judged by its own name."""
    path = given.absolute()
    if project_root not in path.parents:
        return excluded(str(path))
    inside = [path, *(parent for parent in path.parents if project_root in parent.parents)]
    return any(excluded(str(part)) or (part != path and _is_virtualenv(part)) for part in inside)


def is_excluded(path: str, excludes: Iterable[str], project_root: Path) -> bool:
    """Whether a walk of the project from `project_root` skips `path` (the default excludes and
    `excludes`): a file the editor opens is judged as `--force-exclude` judges a named one."""
    return _excluded_by_name(Path(path), Excluder(tuple(DEFAULT_EXCLUDES) + tuple(excludes)), project_root.absolute())


def discover(paths: Iterable[str], excludes: Iterable[str], force_exclude: bool = False,
             project_root: Path | None = None) -> Iterator[str | Skipped]:
    """Yield lintable files under paths in a stable order, and what cannot be linted: named files
    always come through, unless they do not exist or are no regular files (a FIFO would hang
    the run), or `force_exclude` excludes them as a walk below `project_root` (default: the
    working directory) would; an unreadable directory is skipped and the walk goes on."""
    excluded = Excluder(tuple(DEFAULT_EXCLUDES) + tuple(excludes))
    project_root = (project_root or Path.cwd()).absolute()
    seen: set[str] = set()
    for given in paths:
        if force_exclude and _excluded_by_name(Path(given), excluded, project_root):
            continue
        try:
            mode = os.stat(given).st_mode
        except OSError as err:
            missing = isinstance(err, (FileNotFoundError, NotADirectoryError))
            yield Skipped(given, f"cannot read: {err.strerror or err}", missing)
            continue
        if stat.S_ISDIR(mode):
            yield from _walk(given, excluded, seen)
        elif not stat.S_ISREG(mode):
            yield Skipped(given, f"cannot read file: not a regular file ({_kind(mode)})")
        elif given not in seen:
            seen.add(given)
            yield given


def _walk(root: str, excluded: Excluder, seen: set[str]) -> Iterator[str | Skipped]:
    unreadable: list[OSError] = []  # os.walk reports a directory it cannot list here, and goes on

    def skipped() -> Iterator[Skipped]:
        while unreadable:
            err = unreadable.pop(0)
            yield Skipped(str(Path(err.filename or root)), f"cannot read directory: {err.strerror or err}")

    for directory, subdirs, files in os.walk(root, onerror=unreadable.append):
        yield from skipped()
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
    yield from skipped()
