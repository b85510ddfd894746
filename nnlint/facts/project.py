"""The project index: every linted file's summary, and the imports that reach them.

Imports resolve the way Python would find the files: relative imports from the importer's
package, absolute ones from the importer's directory and each directory above it (a
script's directory and a source root are both on sys.path), then, for layouts such as
`src/pkg`, by a unique module-name suffix among the linted files.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Mapping

from nnlint.facts.summary import ModuleSummary, SymbolSummary

MAX_REEXPORT_DEPTH = 3
_TRACKED_KINDS = frozenset({"probabilities", "log-probabilities", "sigmoid output", "logits", "loss function",
                            "optimizer", "scheduler", "loss tensor", "sequence", "mapping"})


def _module_path_candidates(directory: Path, dotted: str) -> list[Path]:
    base = directory.joinpath(*dotted.split(".")) if dotted else directory
    return [base.with_suffix(".py"), base / "__init__.py"]


def is_interesting(symbol: SymbolSummary) -> bool:
    """Worth re-analysing an importer for: known tensors, losses, models with known output, actions."""
    value = symbol.value
    if symbol.actions:
        return True
    if value is None:
        return False
    if value.kind == "module":
        return value.output is not None and value.output.kind != "unknown"
    return value.kind in _TRACKED_KINDS


class ProjectIndex:
    def __init__(self, summaries: Mapping[str, ModuleSummary]) -> None:
        self.summaries = {str(Path(path).absolute()): summary for path, summary in summaries.items()}
        self._by_suffix: dict[str, list[str]] = {}
        for path in self.summaries:
            parts = list(Path(path).with_suffix("").parts[1:])
            if parts and parts[-1] == "__init__":
                parts.pop()
            for start in range(max(0, len(parts) - 4), len(parts)):
                self._by_suffix.setdefault(".".join(parts[start:]), []).append(path)

    def _find_module(self, importer: Path, dotted: str) -> str | None:
        level = len(dotted) - len(dotted.lstrip("."))
        name = dotted[level:]
        if level:
            directory = importer.parent
            for _ in range(level - 1):
                directory = directory.parent
            directories = [directory]
        else:
            directories = [importer.parent, *importer.parent.parents]
        for directory in directories:
            for candidate in _module_path_candidates(directory, name):
                if str(candidate) in self.summaries:
                    return str(candidate)
        matches = self._by_suffix.get(name, []) if not level else []
        return matches[0] if len(matches) == 1 else None

    def resolve(self, importer: str, qualname: str, depth: int = 0) -> tuple[str, str | None] | None:
        """(file, symbol) that `qualname` names from `importer`; symbol None for a module."""
        importer_path = Path(importer).absolute()
        level = len(qualname) - len(qualname.lstrip("."))
        parts = qualname[level:].split(".") if qualname[level:] else []
        for split in range(len(parts), -1, -1):
            module = "." * level + ".".join(parts[:split])
            if split == 0 and level == 0:
                continue
            found = self._find_module(importer_path, module)
            if found is None:
                continue
            rest = parts[split:]
            if not rest:
                return found, None
            if len(rest) != 1:
                return None
            summary = self.summaries[found]
            if rest[0] in summary.symbols:
                return found, rest[0]
            reexport = summary.imports.get(rest[0])
            if reexport is not None and depth < MAX_REEXPORT_DEPTH:
                return self.resolve(found, reexport, depth + 1)
            return None
        return None

    def view_for(self, path: str) -> dict[str, SymbolSummary]:
        """The summaries a file can reach through its imports, keyed as it spells them."""
        absolute = str(Path(path).absolute())
        summary = self.summaries.get(absolute)
        if summary is None:
            return {}
        view: dict[str, SymbolSummary] = {}
        for qualname in summary.imports.values():
            target = self.resolve(absolute, qualname)
            if target is None or target[0] == absolute:
                continue
            file, symbol = target
            if symbol is not None:
                found = self.summaries[file].symbols[symbol]
                if is_interesting(found):
                    view[qualname] = found
                continue
            for name, found in self.summaries[file].symbols.items():
                if is_interesting(found):
                    view[f"{qualname}.{name}"] = found
        return view


def view_key(view: Mapping[str, SymbolSummary]) -> str:
    """A stable fingerprint of a view, to know when an importer must be analysed again."""
    if not view:
        return ""
    data = json.dumps({name: asdict(symbol) for name, symbol in sorted(view.items())}, sort_keys=True)
    return hashlib.sha256(data.encode()).hexdigest()[:16]
