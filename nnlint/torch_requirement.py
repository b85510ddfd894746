"""The torch versions a linted file's project admits, for rules whose verdict depends on them.

A file's project root is the nearest folder at or above it that holds pyproject.toml, setup.py,
setup.cfg or .git (or the filesystem root); nothing above it is read. The requirements*.txt
of every folder from the file's up to the root count, and the root's packaging files. The
main process resolves this once per folder and hands each file's analysis the result."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from nnlint.dependencies import Declared, project_files, requirements_files

ROOT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")
LOWER_BOUNDS = (">=", ">", "~=", "==", "===")


@dataclass(frozen=True)
class TorchRequirement:
    """The weakest torch requirement a project declares: the lower bound of the versions it
    admits (None when it admits any), as written and where."""

    lower_bound: str | None
    text: str
    source: str

    def requires_at_least(self, version: str) -> bool:
        return self.lower_bound is not None and Version(self.lower_bound) >= Version(version)

    def fingerprint(self) -> str:
        return f"{self.source}\0{self.text}"


def lowest_version(specifier: SpecifierSet) -> Version | None:
    """The least version `specifier` admits, as its highest lower bound (an exclusive `>` bound
    counts as inclusive: no version below it is admitted either); None when unbounded below."""
    bounds = []
    for clause in specifier:
        if clause.operator in LOWER_BOUNDS:
            try:
                bounds.append(Version(clause.version.removesuffix(".*")))
            except InvalidVersion:
                continue
    return max(bounds, default=None)


def weakest(declared: list[Declared]) -> TorchRequirement | None:
    """The torch requirement that admits the oldest version; the first of equals (the nearest)."""
    bounded = [(lowest_version(requirement.specifier), requirement) for requirement in declared
               if requirement.name == "torch"]
    if not bounded:
        return None
    minimum, requirement = min(bounded, key=lambda pair: (pair[0] is not None, pair[0] or Version("0")))
    return TorchRequirement(str(minimum) if minimum is not None else None, requirement.text, requirement.source)


class TorchRequirements:
    """Each folder's project root, and what it and the folders up to the root declare, read once."""

    def __init__(self) -> None:
        self._roots: dict[Path, Path] = {}
        self._declared: dict[Path, list[Declared]] = {}
        self._resolved: dict[Path, TorchRequirement | None] = {}

    def for_file(self, path: str) -> TorchRequirement | None:
        folder = Path(os.path.abspath(path)).parent
        if folder not in self._resolved:
            root = self._root(folder)
            chain = [folder, *folder.parents]
            folders = chain[:chain.index(root) + 1]
            self._resolved[folder] = weakest([found for each in folders for found in self._declared_in(each, root)])
        return self._resolved[folder]

    def _root(self, folder: Path) -> Path:
        walked = []
        current = folder
        while current not in self._roots:
            walked.append(current)
            if current.parent == current or any(os.path.lexists(current / marker) for marker in ROOT_MARKERS):
                self._roots[current] = current
                break
            current = current.parent
        for each in walked:
            self._roots[each] = self._roots[current]
        return self._roots[folder]

    def _declared_in(self, folder: Path, root: Path) -> list[Declared]:
        if folder not in self._declared:
            self._declared[folder] = requirements_files(folder, root) + (project_files(root) if folder == root else [])
        return self._declared[folder]
