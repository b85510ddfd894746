"""Naming a torch class in a fix the way the file can reach it, importing it where needed."""

from __future__ import annotations

import libcst as cst

from nnlint.facts.core.names import ImportTable
from nnlint.facts.core.syntax import dotted_name
from nnlint.fixes import NodeEdit, Replace
from nnlint.fixes.build import continued, without_comment


def torch_nn_spelling(names: ImportTable, module: cst.Module, name: str) -> tuple[str, tuple[NodeEdit, ...]] | None:
    """How to write `torch.nn.<name>` in this file (`nn.ModuleList`, `torch.nn.ModuleList`,
    `ModuleList`), and the edit that adds it to a `from torch.nn import ...` line when nothing
    else reaches it; None when the file imports nothing of torch.nn at module level."""
    by_qualname = {full: local for local, full in names.aliases.items()}
    if f"torch.nn.{name}" in by_qualname:
        return by_qualname[f"torch.nn.{name}"], ()
    if "torch.nn" in by_qualname:
        return f"{by_qualname['torch.nn']}.{name}", ()
    if "torch" in by_qualname:
        return f"{by_qualname['torch']}.nn.{name}", ()
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.ImportFrom) and not small.relative and dotted_name(small.module) == "torch.nn" \
                    and not isinstance(small.names, cst.ImportStar):
                return name, (Replace(small, _with_name(small, name)),)
    return None


def _with_name(statement: cst.ImportFrom, name: str) -> cst.ImportFrom:
    names = list(statement.names)
    last = names[-1]
    new = cst.ImportAlias(name=cst.Name(name))
    space = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    if isinstance(last.comma, cst.Comma):  # a trailing comma: the new name gets one too
        separator = names[-2].comma if len(names) > 1 and isinstance(names[-2].comma, cst.Comma) else space
        names[-1] = last.with_changes(comma=continued(last.comma, without_comment(separator)))
        new = new.with_changes(comma=without_comment(last.comma))
    else:
        names[-1] = last.with_changes(comma=space)
    return statement.with_changes(names=[*names, new])
