"""Qualified names through every import spelling: `F.softmax` -> torch.nn.functional.softmax."""

from __future__ import annotations

import libcst as cst

from nnlint.facts.syntax import walk_statements


def _module_name(expr: cst.BaseExpression | None) -> str:
    if expr is None:
        return ""
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute):
        return f"{_module_name(expr.value)}.{expr.attr.value}"
    return ""


class ImportTable:
    """Local alias -> qualified name for every import in a file, at any nesting level.

    Relative imports keep their leading dots (`.models.Net`); the project index resolves them.
    """

    def __init__(self, module: cst.Module) -> None:
        self.aliases: dict[str, str] = {}
        # The first import statement of each top-level package (`torch` for `from torch import nn`).
        self.first_import: dict[str, cst.Import | cst.ImportFrom] = {}
        for statement in walk_statements(module.body):
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    if isinstance(small, cst.Import):
                        self._add_import(small)
                    elif isinstance(small, cst.ImportFrom):
                        self._add_import_from(small)

    def _add_import(self, node: cst.Import) -> None:
        for alias in node.names:
            full = _module_name(alias.name)
            self.first_import.setdefault(full.split(".")[0], node)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self.aliases[alias.asname.name.value] = full
            else:
                top = full.split(".")[0]
                self.aliases.setdefault(top, top)

    def _add_import_from(self, node: cst.ImportFrom) -> None:
        base = "." * len(node.relative) + _module_name(node.module)
        if not node.relative:
            self.first_import.setdefault(base.split(".")[0], node)
        if isinstance(node.names, cst.ImportStar):
            return
        for alias in node.names:
            name = _module_name(alias.name)
            full = f"{base}.{name}" if base and not base.endswith(".") else f"{base}{name}"
            local = alias.asname.name.value if alias.asname and isinstance(alias.asname.name, cst.Name) else name
            self.aliases[local] = full

    def qualname(self, expr: cst.BaseExpression) -> str | None:
        """The imported thing `expr` names, or None when it is not rooted in an import."""
        parts: list[str] = []
        while isinstance(expr, cst.Attribute):
            parts.append(expr.attr.value)
            expr = expr.value
        if not isinstance(expr, cst.Name):
            return None
        root = self.aliases.get(expr.value)
        if root is None:
            return None
        return ".".join([root, *reversed(parts)])

    def imports_any(self, prefixes: tuple[str, ...]) -> bool:
        return any(full == p or full.startswith(p + ".") for full in self.aliases.values() for p in prefixes)
