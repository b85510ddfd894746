"""Which code is the user's, and where in it a call was made.

A `Site` is captured cheaply on a hot path (the code object, the instruction being run and
its line) and resolved into a path, line and column only when a finding is reported.
"""

from __future__ import annotations

import itertools
import os
import site
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from types import CodeType, FrameType
from typing import NamedTuple

import nnlint

_LIBRARY_PARTS = frozenset({"site-packages", "dist-packages"})


class Site(NamedTuple):
    code: CodeType
    lasti: int
    lineno: int


@dataclass(frozen=True)
class Position:
    path: str
    line: int
    column: int
    end_line: int
    end_column: int


def _library_dirs(extra: tuple[str, ...]) -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    dirs = {paths.get(key) for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    dirs.update(site.getsitepackages() if hasattr(site, "getsitepackages") else ())
    dirs.add(str(Path(nnlint.__file__).resolve().parent))
    dirs.update(extra)
    return tuple(sorted(os.path.join(os.path.realpath(d), "") for d in dirs if d))


class UserCode:
    """Decides, per file name, whether code belongs to the user's project.

    With a `root`, the project is the files under it; without one (notebooks, tests), any
    real file outside the standard library, installed packages, torch and nnlint.
    """

    def __init__(self, root: str | os.PathLike[str] | None = None, library_dirs: tuple[str, ...] = ()) -> None:
        self.root = os.path.join(os.path.realpath(root), "") if root is not None else None
        self._library = _library_dirs(library_dirs)
        self._cache: dict[str, bool] = {}

    def __call__(self, filename: str) -> bool:
        known = self._cache.get(filename)
        if known is None:
            known = self._cache[filename] = self._classify(filename)
        return known

    def _classify(self, filename: str) -> bool:
        if filename.startswith("<"):
            return self.root is None and filename.startswith("<ipython-input")
        path = os.path.realpath(filename)
        if path.startswith(self._library) or _LIBRARY_PARTS.intersection(Path(path).parts):
            return False
        return self.root is None or path.startswith(self.root)

    def site(self, frame: FrameType | None) -> Site | None:
        """The innermost user frame at or above `frame`, as a Site."""
        while frame is not None:
            code = frame.f_code
            if self(code.co_filename):
                return Site(code, frame.f_lasti, frame.f_lineno)
            frame = frame.f_back
        return None

    def caller_is_user(self, frame: FrameType | None, skip_file: str) -> bool:
        """True when the first frame above `frame` that is not in `skip_file` is user code."""
        while frame is not None and frame.f_code.co_filename == skip_file:
            frame = frame.f_back
        return frame is not None and self(frame.f_code.co_filename)


def scope(where: Site) -> tuple[int, int]:
    """The first and last line of the function (or module) a Site is in."""
    lines = [line for _, _, line in where.code.co_lines() if line is not None]
    return where.code.co_firstlineno, max(lines, default=where.code.co_firstlineno)


def resolve(where: Site) -> Position:
    """Path, line and column (1-based, as flake8) of the expression being run at a Site."""
    code, lasti, lineno = where
    path = os.path.realpath(code.co_filename)
    positions = getattr(code, "co_positions", None)
    if positions is not None and lasti >= 0:
        found = next(itertools.islice(positions(), lasti // 2, None), None)
        if found is not None and found[0] is not None and found[2] is not None:
            line, end_line, column, end_column = found
            return Position(path, line, column + 1, end_line or line, (end_column or column) + 1)
    return Position(path, lineno or 1, 1, lineno or 1, 1)
