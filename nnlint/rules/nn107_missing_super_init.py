"""NN107: an nn.Module subclass whose __init__ never calls super().__init__()."""

from __future__ import annotations

from functools import partial
from typing import Iterator

import libcst as cst

from nnlint.diagnostics import Applicability, Severity
from nnlint.facts import FileFacts
from nnlint.facts.pytorch.modules import ClassFacts, ModuleFacts
from nnlint.facts.core.syntax import block_statements
from nnlint.facts.pytorch.torch_api import MODULE_BASES
from nnlint.fixes import Fix, InsertAfter, InsertBefore, safe_fix
from nnlint.fixes.build import statement_line
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


def _takes_no_arguments(function: cst.FunctionDef) -> bool:
    """Every parameter after `self` has a default (or is *args / **kwargs)."""
    params = function.params
    return all(param.default is not None for param in params.params[1:]) and not \
        any(param.default is None for param in params.kwonly_params) and not params.posonly_params


def _bases_take_no_arguments(info: ClassFacts, modules: ModuleFacts, seen: set[str]) -> bool:
    """`super().__init__()` is a complete call: each base is nn.Module or a LightningModule, or a
    class of this file whose own `__init__` needs no argument."""
    for base in info.bases:
        local = modules.classes.get(base)
        if base in MODULE_BASES:
            continue
        if local is None or local is info or base in seen:
            return False
        init = local.methods.get("__init__")
        if init is not None and not _takes_no_arguments(init):
            return False
        if init is None and not _bases_take_no_arguments(local, modules, seen | {base}):
            return False
    return bool(info.bases)


def _fix(info: ClassFacts, init: cst.FunctionDef, modules: ModuleFacts) -> Fix | None:
    """`super().__init__()` first in `__init__` (after its docstring); only where the bases'
    `__init__` takes no argument: a subclass of nn.Linear has to pass the layer's sizes."""
    if not isinstance(init.body, cst.IndentedBlock) or not _bases_take_no_arguments(info, modules, set()):
        return None
    first = init.body.body[0]
    call = statement_line("super().__init__()")
    if init.get_docstring(clean=False) is not None:
        return safe_fix("call super().__init__() first", InsertAfter(first, (call,)))
    return safe_fix("call super().__init__() first", InsertBefore(first, (call,)))


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
            partial(_fix, info, init, facts.modules),
        )


RULE = Rule(
    code="NN107",
    name="missing-super-init",
    severity=Severity.ERROR,
    summary="An nn.Module subclass whose __init__ never calls super().__init__().",
    check=check,
    triggers=("torch", "Module"),
    cross_file=False,
    fixes=(Applicability.SAFE,),
)
