"""NN102: a layer built in __init__ that no method of the model ever uses."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.facts.layers import PARAMETER_FREE_LAYERS
from nnlint.facts.modules import AttributeRead, ClassFacts, ModuleFacts
from nnlint.rules import Report, Rule

CALLABLE_METHODS = ("forward", "__call__")
# Layers that hold nothing and do nothing: leaving one unused loses nothing.
PLACEHOLDERS = frozenset({"Identity"})
_CODE = cst.Module(body=[])


def _is_upkeep(read: AttributeRead, info: ClassFacts) -> bool:
    """`nn.init.zeros_(self.fc.bias)` while building or resetting: touching a layer is not using it."""
    if read.then is None:
        return False
    name = read.method.lower()
    return read.method in info.methods_reached_from("__init__") or "init" in name or "reset" in name


def _used_attributes(modules: ModuleFacts, family: list[ClassFacts]) -> set[str]:
    used = set(modules.foreign_attribute_reads)
    for member in family:
        used |= member.named_uses
        used.update(read.attr for read in member.reads if not _is_upkeep(read, member))
    return used


def check(facts: FileFacts) -> Iterator[Report]:
    modules, layers = facts.modules, facts.layers
    for info in modules.classes.values():
        if not info.is_module or "__init__" not in info.methods or not modules.fully_visible(info):
            continue
        family = modules.family(info)
        if not any(method in member.methods for member in family for method in CALLABLE_METHODS):
            continue
        if any(member.enumerates_submodules for member in family):
            continue
        used = _used_attributes(modules, family)
        init_methods = info.methods_reached_from("__init__")
        reported: set[str] = set()
        for store in info.stores:
            if store.attr in used or store.attr in reported or store.method not in init_methods:
                continue
            name = layers.layer_name(store.value)
            if not layers.builds_module(store.value) or name in PLACEHOLDERS:
                continue
            reported.add(store.attr)
            effect = ("so it never takes effect" if name in PARAMETER_FREE_LAYERS else
                      "so its parameters get no gradient (and DDP fails on unused parameters)")
            yield Report(
                store.node,
                f"self.{store.attr} = {_snippet(store.value)} is never used: forward and every other method leave "
                f"it out, {effect}; use it, or delete it",
            )


def _snippet(node: cst.CSTNode, limit: int = 40) -> str:
    text = " ".join(_CODE.code_for_node(node).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


RULE = Rule(
    code="NN102",
    name="unused-submodule",
    severity=Severity.WARNING,
    summary="A layer created in __init__ that forward and the model's other methods never use.",
    check=check,
    triggers=("torch", "Module"),
)
