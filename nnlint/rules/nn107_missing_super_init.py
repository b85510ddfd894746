"""NN107: an nn.Module subclass whose __init__ never calls super().__init__()."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.facts.syntax import block_statements
from nnlint.rules import Report, Rule


def _does_nothing(function: cst.FunctionDef) -> bool:
    """A stub: docstring, `...`, `pass` or `raise` only."""
    for statement in block_statements(function.body):
        if not isinstance(statement, cst.SimpleStatementLine):
            return False
        for small in statement.body:
            if isinstance(small, (cst.Pass, cst.Raise)):
                continue
            if isinstance(small, cst.Expr) and isinstance(small.value, (cst.SimpleString, cst.Ellipsis,
                                                                        cst.ConcatenatedString)):
                continue
            return False
    return True


def check(facts: FileFacts) -> Iterator[Report]:
    for info in facts.modules.classes.values():
        init = info.methods.get("__init__")
        if not info.is_module or init is None or _does_nothing(init):
            continue
        reached = info.methods_reached_from("__init__")
        if any(method in reached for method, _ in info.super_init_calls):
            continue
        yield Report(
            init if not init.decorators else init.name,
            f"{info.name}.__init__ never calls super().__init__(): nn.Module's own state is never set up, so "
            "assigning a layer or parameter raises AttributeError and calling the model fails; call "
            "super().__init__() first",
        )


RULE = Rule(
    code="NN107",
    name="missing-super-init",
    severity=Severity.ERROR,
    summary="An nn.Module subclass whose __init__ never calls super().__init__().",
    check=check,
    triggers=("torch", "Module"),
    cross_file=False,
)
