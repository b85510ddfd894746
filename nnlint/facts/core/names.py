"""Qualified names through every import spelling: `F.softmax` -> torch.nn.functional.softmax.

The import table is read from the `ast` tree (the engine parses every file with `ast` first:
it is the syntax check, and ten times cheaper than libcst), so the project planner can know
every file's imports before any file is analysed. Lookups take libcst expressions."""

from __future__ import annotations

import ast
from typing import Iterator, Mapping

import libcst as cst

from nnlint.facts.core.syntax import dotted_name, walk_statements

_BLOCK_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")


def _import_statements(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    for statement in body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            yield statement
        for field in _BLOCK_FIELDS:
            inner = getattr(statement, field, None)
            if inner:
                yield from _import_statements(inner)


def import_aliases(tree: ast.Module) -> dict[str, str]:
    """Local alias -> qualified name for every import in a module, at any nesting level.

    Relative imports keep their leading dots (`.models.Net`); the project index resolves them.
    """
    aliases: dict[str, str] = {}
    for node in _import_statements(tree.body):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    aliases.setdefault(top, top)
        else:
            base = "." * node.level + (node.module or "")
            for alias in node.names:
                if alias.name == "*":
                    continue
                full = f"{base}.{alias.name}" if base and not base.endswith(".") else f"{base}{alias.name}"
                aliases[alias.asname or alias.name] = full
    return aliases


class ImportTable:
    def __init__(self, aliases: Mapping[str, str]) -> None:
        self.aliases = dict(aliases)

    def qualname(self, expr: cst.BaseExpression) -> str | None:
        """The imported thing `expr` names, or None when it is not rooted in an import."""
        name = dotted_name(expr)
        if name is None:
            return None
        root, _, rest = name.partition(".")
        full = self.aliases.get(root)
        if full is None:
            return None
        return f"{full}.{rest}" if rest else full

    def imports_any(self, prefixes: tuple[str, ...]) -> bool:
        return any(full == p or full.startswith(p + ".") for full in self.aliases.values() for p in prefixes)


def first_import(module: cst.Module, package: str) -> cst.Import | cst.ImportFrom | None:
    """The first statement that imports from `package` (`import torch`, `from torch import nn`)."""
    for statement in walk_statements(module.body):
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Import):
                names = [dotted_name(alias.name) or "" for alias in small.names]
            elif isinstance(small, cst.ImportFrom) and not small.relative and small.module is not None:
                names = [dotted_name(small.module) or ""]
            else:
                continue
            if any(name == package or name.startswith(package + ".") for name in names):
                return small
    return None
