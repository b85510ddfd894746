"""Finding the files to lint and reading them into text, whatever their bytes."""

from __future__ import annotations

import fnmatch
import io
import os
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

PYTHON_SUFFIXES = (".py", ".pyi")

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


def decode_source(data: bytes) -> str:
    """Decode Python source bytes the way the interpreter does (BOM, coding cookie)."""
    if b"\0" in data:
        raise UnreadableSource("file contains NUL bytes (binary file?)")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as err:
        raise UnreadableSource(f"cannot decode: {err}") from None
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as err:
        raise UnreadableSource(f"cannot decode as {encoding}: {err.reason if hasattr(err, 'reason') else err}") from None


def is_excluded(path: Path, patterns: Iterable[str]) -> bool:
    """flake8's matching: a pattern matches the base name or the whole (absolute) path."""
    name = path.name
    absolute = str(path.absolute())
    return any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(absolute, p) for p in patterns)


def _is_virtualenv(directory: Path) -> bool:
    return (directory / "pyvenv.cfg").is_file()


def discover(paths: Iterable[str], excludes: Iterable[str]) -> Iterator[str]:
    """Yield lintable files under paths in a stable order; named files always come through."""
    patterns = tuple(DEFAULT_EXCLUDES) + tuple(excludes)
    seen: set[str] = set()
    for given in paths:
        root = Path(given)
        if not root.is_dir():
            if given not in seen:
                seen.add(given)
                yield given
            continue
        for directory, subdirs, files in os.walk(root):
            current = Path(directory)
            subdirs[:] = sorted(
                d for d in subdirs
                if not is_excluded(current / d, patterns) and not _is_virtualenv(current / d)
            )
            for name in sorted(files):
                if not name.endswith(PYTHON_SUFFIXES):
                    continue
                file_path = current / name
                if is_excluded(file_path, patterns):
                    continue
                text = str(file_path)
                if text not in seen:
                    seen.add(text)
                    yield text
