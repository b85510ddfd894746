"""NN106: F.dropout in a module without `training=self.training`: dropout stays on at evaluation."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.facts.syntax import keyword_arg, positional_args
from nnlint.rules import Report, Rule

F = "torch.nn.functional"
# Functional dropouts whose `training` argument defaults to True, with its position.
DROPOUT_FUNCTIONS = {f"{F}.{name}": 2 for name in (
    "dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout")}


def _training_given(call: cst.Call, position: int) -> bool:
    if keyword_arg(call, "training") is not None or any(arg.star for arg in call.args):
        return True
    return len(positional_args(call)) > position


def check(facts: FileFacts) -> Iterator[Report]:
    modules = facts.modules
    for site in modules.calls:
        position = DROPOUT_FUNCTIONS.get(site.qualname or "")
        if position is None or site.class_name is None or _training_given(site.node, position):
            continue
        owner = modules.class_of(site.class_name)
        if owner is None or not modules.looks_like_module(owner):
            continue
        name = site.qualname.rsplit(".", 1)[-1]
        yield Report(site.node, f"F.{name} defaults to training=True, so this dropout stays on after model.eval(): "
                                "pass training=self.training (or use an nn.Dropout layer)")


RULE = Rule(
    code="NN106",
    name="functional-dropout-always-on",
    severity=Severity.ERROR,
    summary="F.dropout in a module without training=self.training keeps dropping units at evaluation.",
    check=check,
    triggers=("dropout",),
)
