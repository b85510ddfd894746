"""The project index: every linted file's imports and summary, and what each import reaches.

Imports resolve the way Python would find the files: relative imports from the importer's
package, absolute ones from the importer's directory and each directory above it (a
script's directory and a source root are both on sys.path), then, for layouts such as
`src/pkg`, by a unique module-name suffix among the linted files.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, replace
from pathlib import Path
from typing import Iterator, Mapping

from nnlint.facts.summary import ModuleSummary, SymbolSummary

MAX_REEXPORT_DEPTH = 3
_TRACKED_KINDS = frozenset({"probabilities", "log-probabilities", "sigmoid output", "logits", "loss function",
                            "optimizer", "scheduler", "loss tensor", "sequence", "mapping"})


def _ancestors(directory: str) -> Iterator[str]:
    """The directory and every directory above it."""
    while True:
        yield directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return
        directory = parent


def is_interesting(symbol: SymbolSummary) -> bool:
    """Worth re-analysing an importer for: known tensors (or parts of one), losses, models with known
    output, actions, checkpoints selected on a parameter."""
    value = symbol.value
    if symbol.actions or symbol.loss_parameters or symbol.selections or symbol.evaluated_parameters \
            or symbol.installed_losses or symbol.fitted_parameters \
            or symbol.viewed_parameters:
        return True
    if value is None:
        return False
    if value.kind == "module":
        return value.output is not None and (value.output.kind != "unknown" or bool(value.output.parts))
    return value.kind in _TRACKED_KINDS or bool(value.parts)


class ProjectIndex:
    """Every linted file's imports (known before analysis) and the summaries known so far."""

    def __init__(self, imports: Mapping[str, Mapping[str, str]]) -> None:
        self._absolute: dict[str, str] = {}
        self.imports = {self.absolute(path): aliases for path, aliases in imports.items()}
        self.summaries: dict[str, ModuleSummary] = {}
        self._modules: dict[tuple[str, str], str | None] = {}
        self._resolved: dict[tuple[str, str, int], tuple[str, str | None] | None] = {}
        self._by_suffix: dict[str, list[str]] = {}
        for path in self.imports:
            parts = list(Path(path).with_suffix("").parts[1:])
            if parts and parts[-1] == "__init__":
                parts.pop()
            for start in range(max(0, len(parts) - 4), len(parts)):
                self._by_suffix.setdefault(".".join(parts[start:]), []).append(path)

    def absolute(self, path: str) -> str:
        if path not in self._absolute:
            self._absolute[path] = str(Path(path).absolute())
        return self._absolute[path]

    def add_summary(self, path: str, summary: ModuleSummary) -> None:
        self.summaries[self.absolute(path)] = summary

    def _find_module(self, directory: str, dotted: str) -> str | None:
        # Files of one package import the same modules: one search per directory and name.
        key = (directory, dotted)
        if key not in self._modules:
            self._modules[key] = self._search_module(directory, dotted)
        return self._modules[key]

    def _search_module(self, importer_directory: str, dotted: str) -> str | None:
        level = len(dotted) - len(dotted.lstrip("."))
        name = dotted[level:]
        if level:
            directory = importer_directory
            for _ in range(level - 1):
                directory = os.path.dirname(directory)
            directories = [directory]
        else:
            directories = list(_ancestors(importer_directory))
        relative = os.path.join(*name.split(".")) if name else ""
        for directory in directories:
            base = os.path.join(directory, relative) if relative else directory
            for candidate in (base + ".py", os.path.join(base, "__init__.py")):
                if candidate in self.imports:
                    return candidate
        matches = self._by_suffix.get(name, []) if not level else []
        return matches[0] if len(matches) == 1 else None

    def resolve(self, importer: str, qualname: str, depth: int = 0) -> tuple[str, str | None] | None:
        """(file, name) that `qualname` reaches from `importer`, through re-exports; name None
        for a module. The name may be one the file defines but has no summary for (yet)."""
        key = (importer, qualname, depth)
        if key not in self._resolved:
            self._resolved[key] = self._resolve(importer, qualname, depth)
        return self._resolved[key]

    def _resolve(self, importer: str, qualname: str, depth: int) -> tuple[str, str | None] | None:
        module = self._module_of(importer, qualname)
        if module is None:
            return None
        found, rest = module
        if not rest:
            return found, None
        if len(rest) != 1:
            return None
        reexport = self.imports[found].get(rest[0])
        if reexport is not None and depth < MAX_REEXPORT_DEPTH:
            return self.resolve(found, reexport, depth + 1)
        return found, rest[0]

    def _module_of(self, importer: str, qualname: str) -> tuple[str, list[str]] | None:
        """The file of the longest module `qualname` names, and the parts of it that follow."""
        importer_directory = os.path.dirname(self.absolute(importer))
        level = len(qualname) - len(qualname.lstrip("."))
        parts = qualname[level:].split(".") if qualname[level:] else []
        for split in range(len(parts), -1, -1):
            if split == 0 and level == 0:
                continue
            found = self._find_module(importer_directory, "." * level + ".".join(parts[:split]))
            if found is not None:
                return found, parts[split:]
        return None

    def modules_imported(self, importer: str, aliases: Mapping[str, str]) -> set[str]:
        """The files of the index that these imports of `importer` name (for a re-exported name,
        the file that re-exports it), whether or not the index knows their own imports."""
        absolute = self.absolute(importer)
        found = {module[0] for module in (self._module_of(absolute, qualname) for qualname in aliases.values())
                 if module is not None}
        found.discard(absolute)
        return found

    def dependencies(self, path: str) -> set[str]:
        """The other files whose summaries this file's imports can reach."""
        absolute = self.absolute(path)
        found = set()
        for qualname in self.imports.get(absolute, {}).values():
            target = self.resolve(absolute, qualname)
            if target is not None and target[0] != absolute:
                found.add(target[0])
        return found

    def view_for(self, path: str) -> dict[str, SymbolSummary]:
        """The summaries a file can reach through its imports, keyed as it spells them."""
        absolute = self.absolute(path)
        view: dict[str, SymbolSummary] = {}
        for qualname in self.imports.get(absolute, {}).values():
            target = self.resolve(absolute, qualname)
            if target is None or target[0] == absolute or target[0] not in self.summaries:
                continue
            file, name = target
            symbols = self.summaries[file].symbols
            if name is not None:
                if name in symbols and is_interesting(symbols[name]):
                    view[qualname] = replace(symbols[name], file=file)
                continue
            for symbol_name, symbol in symbols.items():
                if is_interesting(symbol):
                    view[f"{qualname}.{symbol_name}"] = replace(symbol, file=file)
        return view


def view_key(view: Mapping[str, SymbolSummary]) -> str:
    """A stable fingerprint of a view, to know when an importer must be analysed again."""
    if not view:
        return ""
    data = json.dumps({name: asdict(symbol) for name, symbol in sorted(view.items())}, sort_keys=True)
    return hashlib.sha256(data.encode()).hexdigest()[:16]
