"""NN102: a layer built in __init__ that no method of the model ever uses."""

from __future__ import annotations

from typing import Iterator

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.facts.pytorch.layers import PARAMETER_FREE_LAYERS, STATELESS_LAYERS
from nnlint.facts.pytorch.modules import AttributeRead, ClassFacts, ModuleFacts
from nnlint.facts.core.syntax import code_snippet
from nnlint.rules import Report, Rule

CALLABLE_METHODS = ("forward", "__call__")
# Bases of models restored from published checkpoints: a layer with weights left unused there
# is usually kept so that those checkpoints still load.
PUBLISHED_WEIGHTS_BASES = ("PreTrainedModel", "ModelMixin")


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
    restores_published_weights = any(
        qualname.endswith(PUBLISHED_WEIGHTS_BASES) for qualname in facts.names.aliases.values()
    ) or any(base.endswith(PUBLISHED_WEIGHTS_BASES) for info in modules.classes.values() for base in info.bases)
    for info in modules.classes.values():
        if not info.is_module or "__init__" not in info.methods or not modules.fully_visible(info):
            continue
        family = modules.family(info)
        if not any(method in member.methods for member in family for method in CALLABLE_METHODS):
            continue
        if any(member.enumerates_submodules for member in family) or info.forward_is_stub:
            continue
        used = _used_attributes(modules, family)
        init_methods = info.methods_reached_from("__init__")
        reported: set[str] = set()
        for store in info.stores:
            if store.attr in used or store.attr in reported or store.method not in init_methods:
                continue
            name = layers.layer_name(store.value)
            if not layers.builds_module(store.value) or name in STATELESS_LAYERS:
                continue
            parameter_free = name in PARAMETER_FREE_LAYERS
            if not parameter_free and restores_published_weights:
                continue
            reported.add(store.attr)
            effect = ("so it never takes effect" if parameter_free else
                      "so its weights are never trained (and DDP fails on unused parameters)")
            yield Report(
                store.node,
                f"self.{store.attr} = {code_snippet(store.value, 40)} is never used: forward and every other "
                f"method leave it out, {effect}; use it, or delete it",
            )


RULE = Rule(
    code="NN102",
    name="unused-submodule",
    severity=Severity.WARNING,
    summary="A layer created in __init__ that forward and the model's other methods never use.",
    check=check,
    triggers=("torch", "Module"),
    cross_file=False,
)
