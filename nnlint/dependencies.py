"""What a project declares it depends on, read statically from its packaging files.

pyproject.toml ([project] dependencies and optional-dependencies, Poetry's
[tool.poetry.dependencies]), setup.cfg and setup.py (install_requires and extras_require;
setup.py through `ast`, never run) and requirements*.txt files (following their `-r`
includes). The checkout may be hostile: only regular files inside the project root and under
a size limit are read, and a file that cannot be read or parsed declares nothing."""

from __future__ import annotations

import ast
import configparser
import fnmatch
import os
import re
import sys
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from nnlint.files import read_regular_file

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

MAX_BYTES = 1_000_000
REQUIREMENTS_FILES = "requirements*.txt"
INCLUDE = re.compile(r"(?:-r|--requirement)[\s=]*(?P<path>\S+)")
# pip's per-requirement options (`--hash=...`) follow the requirement on its line.
LINE_OPTIONS = re.compile(r"\s--[a-z]")
COMMENT = re.compile(r"(^|\s)#.*$")


@dataclass(frozen=True)
class Declared:
    """One declared requirement: the package, the versions it admits, and where it is written."""

    name: str
    specifier: SpecifierSet
    text: str
    source: str


def read_text(path: Path, root: Path) -> str | None:
    """A regular file's text when it lies inside `root` and under the size limit; else None."""
    try:
        real_root = os.path.realpath(root)
        if os.path.commonpath([os.path.realpath(path), real_root]) != real_root:
            return None
        # A FIFO planted under a requirements name must not hang the run.
        return read_regular_file(path, limit=MAX_BYTES).decode("utf-8-sig", errors="replace")
    except (OSError, ValueError):
        return None


def requirements_files(folder: Path, root: Path) -> list[Declared]:
    """The requirements*.txt files of one folder, their includes followed within `root`."""
    try:
        with os.scandir(folder) as entries:
            names = sorted(entry.name for entry in entries if fnmatch.fnmatch(entry.name, REQUIREMENTS_FILES))
    except OSError:
        return []
    declared: list[Declared] = []
    pending = deque(folder / name for name in names)
    seen: set[str] = set()
    while pending:
        path = pending.popleft()
        real = os.path.realpath(path)
        if real in seen:
            continue
        seen.add(real)
        text = read_text(path, root)
        if text is None:
            continue
        source = _relative(path, root)
        for line in _logical_lines(text):
            include = INCLUDE.fullmatch(line)
            if include:
                pending.append(path.parent / include["path"])
            elif not line.startswith("-"):
                declared.extend(_parsed(LINE_OPTIONS.split(line, maxsplit=1)[0], source))
    return declared


def project_files(root: Path) -> list[Declared]:
    """The requirements declared in the root's pyproject.toml, setup.cfg and setup.py."""
    declared: list[Declared] = []
    for name, read in (("pyproject.toml", _pyproject), ("setup.cfg", _setup_cfg), ("setup.py", _setup_py)):
        text = read_text(root / name, root)
        if text is not None:
            declared.extend(read(text, name))
    return declared


def _relative(path: Path, root: Path) -> str:
    """The file as the project names it; in full where no project root was found above it."""
    if root == Path(root.anchor):
        return path.as_posix()
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _logical_lines(text: str) -> Iterator[str]:
    """Lines as pip reads them: backslash continuations joined, comments dropped."""
    joined = re.sub(r"\\\r?\n", " ", text)
    for line in joined.splitlines():
        line = COMMENT.sub("", line).strip()
        if line:
            yield line


def _parsed(text: str, source: str) -> list[Declared]:
    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        return []
    return [Declared(canonicalize_name(requirement.name), requirement.specifier, str(requirement), source)]


def _strings(value: Any) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _pyproject(text: str, source: str) -> list[Declared]:
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError, RecursionError, MemoryError):
        return []
    project = data.get("project")
    project = project if isinstance(project, dict) else {}
    lines = _strings(project.get("dependencies"))
    extras = project.get("optional-dependencies")
    if isinstance(extras, dict):
        lines += [line for group in extras.values() for line in _strings(group)]
    declared = [found for line in lines for found in _parsed(line, source)]
    tool = data.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    dependencies = poetry.get("dependencies") if isinstance(poetry, dict) else None
    if isinstance(dependencies, dict):
        declared += [found for name, spec in dependencies.items() if isinstance(name, str)
                     for found in _poetry(name, spec, source)]
    return declared


def _poetry(name: str, spec: Any, source: str) -> list[Declared]:
    """Poetry's constraints (`^2.6`, `~2.6`, `2.6.0`, `>=2.6,<3`, `a || b`, tables, lists of tables)."""
    if isinstance(spec, list):
        return [found for item in spec for found in _poetry(name, item, source)]
    if isinstance(spec, dict):
        spec = spec.get("version", "*")  # a git, url or path dependency admits any version
    if not isinstance(spec, str):
        return []
    declared = []
    for alternative in spec.split("||"):
        try:
            specifier = SpecifierSet(",".join(_pep440(part.strip()) for part in alternative.split(",")
                                              if part.strip() not in ("", "*")))
        except InvalidSpecifier:
            continue
        declared.append(Declared(canonicalize_name(name), specifier, f"{name} {alternative.strip()}", source))
    return declared


def _pep440(constraint: str) -> str:
    """One Poetry constraint as a PEP 440 specifier with the same lower bound."""
    if constraint.startswith("^") or (constraint.startswith("~") and not constraint.startswith("~=")):
        return ">=" + constraint[1:].strip()
    if constraint[:1].isdigit():
        return "==" + constraint
    return constraint


def _setup_cfg(text: str, source: str) -> list[Declared]:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except (configparser.Error, ValueError):
        return []
    values = [parser.get("options", "install_requires", fallback="")]
    if parser.has_section("options.extras_require"):
        values += [value for _, value in parser.items("options.extras_require")]
    return [found for value in values for line in _logical_lines(value) for found in _parsed(line, source)]


def _setup_py(text: str, source: str) -> list[Declared]:
    """The literal install_requires and extras_require of setup() calls; nothing is evaluated."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    lines: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or _called_name(node.func) != "setup":
            continue
        for keyword in node.keywords:
            if keyword.arg == "install_requires":
                lines += _literal_strings(keyword.value)
            elif keyword.arg == "extras_require" and isinstance(keyword.value, ast.Dict):
                lines += [line for value in keyword.value.values for line in _literal_strings(value)]
    return [found for line in lines for found in _parsed(line, source)]


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


def _literal_strings(node: ast.expr | None) -> list[str]:
    if not isinstance(node, (ast.List, ast.Tuple)):
        return []
    return [item.value for item in node.elts if isinstance(item, ast.Constant) and isinstance(item.value, str)]
