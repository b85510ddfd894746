"""NN106: F.dropout in a module without `training=self.training`: dropout stays on at evaluation."""

from __future__ import annotations

from functools import partial
from typing import Iterator

import libcst as cst

from nnlint.diagnostics import Applicability, Severity
from nnlint.facts import FileFacts
from nnlint.facts.pytorch.modules import ClassFacts, CallSite
from nnlint.facts.core.syntax import keyword_arg, positional_args, sub_nodes
from nnlint.fixes import Fix, Replace, safe_fix
from nnlint.fixes.build import expression, self_parameter, with_keyword
from nnlint.rules import Report, Rule

F = "torch.nn.functional"
# Functional dropouts whose `training` argument defaults to True, with its position
# (alpha_dropout and feature_alpha_dropout default to training=False).
DROPOUT_FUNCTIONS = {f"{F}.{name}": 2 for name in ("dropout", "dropout1d", "dropout2d", "dropout3d")}


def _training_given(call: cst.Call, position: int) -> bool:
    if keyword_arg(call, "training") is not None or any(arg.star for arg in call.args):
        return True
    return len(positional_args(call)) > position


def _mentions_training(expr: cst.CSTNode) -> bool:
    """`self.training`, `training`, `not self.training and p > 0`: the mode decides."""
    if isinstance(expr, cst.Name) and "training" in expr.value:
        return True
    if isinstance(expr, cst.Attribute) and "training" in expr.attr.value:
        return True
    return any(_mentions_training(child) for child in sub_nodes(expr))


def _fix(site: CallSite, owner: ClassFacts) -> Fix | None:
    """`training=self.training` added: the dropout follows the module's mode."""
    method = owner.methods.get(site.method or "")
    instance = self_parameter(method) if method is not None else None
    if instance is None:
        return None
    follows_mode = with_keyword(site.node, "training", expression(f"{instance}.training"))
    return safe_fix(f"pass training={instance}.training", Replace(site.node, follows_mode))


def check(facts: FileFacts) -> Iterator[Report]:
    modules = facts.modules
    for site in modules.calls:
        position = DROPOUT_FUNCTIONS.get(site.qualname or "")
        if position is None or site.class_name is None or _training_given(site.node, position):
            continue
        if any(_mentions_training(condition) for condition in facts.guards.conditions_of(site.node)):
            continue
        owner = modules.class_of(site.class_name)
        if owner is None or not modules.looks_like_module(owner):
            continue
        name = site.qualname.rsplit(".", 1)[-1]
        yield Report(site.node, f"F.{name} defaults to training=True, so this dropout stays on after model.eval(): "
                                "pass training=self.training (or use an nn.Dropout layer)", partial(_fix, site, owner))


RULE = Rule(
    code="NN106",
    name="functional-dropout-always-on",
    severity=Severity.ERROR,
    summary="F.dropout in a module without training=self.training keeps dropping units at evaluation.",
    check=check,
    triggers=("dropout",),
    cross_file=False,
    fixes=(Applicability.SAFE,),
)
