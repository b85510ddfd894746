"""NN104: layers kept in a plain list, dict or tuple attribute, which nn.Module never registers."""

from __future__ import annotations

from functools import partial
from typing import Iterator

import libcst as cst

from nnlint.diagnostics import Applicability, Severity
from nnlint.facts import FileFacts
from nnlint.facts.core.defuse import Definition
from nnlint.facts.pytorch.layers import STATELESS_LAYERS
from nnlint.facts.pytorch.modules import AttributeStore, ClassFacts
from nnlint.facts.core.syntax import dotted_name
from nnlint.fixes import Fix, Replace, unsafe_fix
from nnlint.fixes.build import expression
from nnlint.fixes.imports import torch_nn_spelling
from nnlint.rules import Report, Rule

ADDING_METHODS = frozenset({"append", "extend", "insert"})
# Calls that only look at a container: passing it to them does not register its layers.
INSPECTING_CALLS = frozenset({"len", "enumerate", "zip", "range", "reversed", "iter", "list", "tuple", "sorted",
                              "isinstance", "print", "str", "repr", "any", "all", "map", "filter", "next"})
CONTAINER_NAMES = {cst.List: "list", cst.ListComp: "list", cst.Tuple: "tuple", cst.Dict: "dict",
                   cst.DictComp: "dict", cst.GeneratorExp: "tuple"}


class _Container:
    """What a plain container expression holds, following a local list to its appends."""

    def __init__(self, facts: FileFacts) -> None:
        self.facts = facts
        self.kind: str | None = None
        self.stateful = False
        self.wrapped = False
        self._seen: set[Definition] = set()

    def add_expression(self, expr: cst.BaseExpression) -> None:
        kind = CONTAINER_NAMES.get(type(expr))
        if kind is not None:
            self.kind = self.kind or kind
            for item in _items(expr):
                self.add_item(item)
        elif isinstance(expr, cst.Name):
            read = self.facts.defuse.read_of(expr)
            for definition in read.definitions if read is not None else ():
                self.add_definition(definition)

    def add_item(self, item: cst.BaseExpression) -> None:
        layers = self.facts.layers
        name = layers.layer_name(item)
        if layers.builds_module(item) and name not in STATELESS_LAYERS and not name.endswith("Loss"):
            self.stateful = True

    def add_definition(self, definition: Definition) -> None:
        if definition in self._seen:
            return
        self._seen.add(definition)
        if isinstance(definition.node, cst.AugAssign):
            self.add_expression(definition.node.value)
            self.add_expression(definition.node.target)
        elif definition.value is not None:
            self.add_expression(definition.value)
        else:
            return
        for read in definition.reads:
            call = read.call
            if call is None:
                continue
            func = call.func
            if isinstance(func, cst.Attribute) and func.value is read.node:
                if func.attr.value in ADDING_METHODS and call.args:
                    added = call.args[-1].value
                    if func.attr.value == "extend":
                        self.add_expression(added)
                    else:
                        self.add_item(added)
            elif not _inspects(call):
                self.wrapped = True
        for store in self.facts.modules.item_stores:
            container = store.container
            if isinstance(container, cst.Name):
                read = self.facts.defuse.read_of(container)
                if read is not None and definition in read.definitions:
                    self.add_item(store.value)


def _items(expr: cst.BaseExpression) -> list[cst.BaseExpression]:
    if isinstance(expr, (cst.List, cst.Tuple)):
        return [e.value for e in expr.elements if not isinstance(e, cst.StarredElement)]
    if isinstance(expr, cst.Dict):
        return [e.value for e in expr.elements if isinstance(e, cst.DictElement)]
    if isinstance(expr, cst.DictComp):
        return [expr.value]
    if isinstance(expr, (cst.ListComp, cst.GeneratorExp)):
        return [expr.elt]
    return []


def _inspects(call: cst.Call) -> bool:
    return isinstance(call.func, cst.Name) and call.func.value in INSPECTING_CALLS


def _passed_to_a_call(facts: FileFacts, info: ClassFacts, attr: str) -> bool:
    """`nn.ModuleList(self.layers)`, `nn.Sequential(*self.layers)`: registered after all."""
    for site in facts.modules.calls:
        if site.class_name != info.name or _inspects(site.node):
            continue
        for arg in site.node.args:
            if dotted_name(arg.value) == f"self.{attr}":
                return True
    return False


def _added_through_self(facts: FileFacts, info: ClassFacts, attr: str, container: _Container) -> None:
    """`self.layers.append(nn.Linear(...))` and `self.heads[name] = nn.Linear(...)`."""
    for site in facts.modules.calls:
        func = site.node.func
        if (site.class_name == info.name and isinstance(func, cst.Attribute) and func.attr.value in ADDING_METHODS
                and dotted_name(func.value) == f"self.{attr}" and site.node.args):
            added = site.node.args[-1].value
            container.add_expression(added) if func.attr.value == "extend" else container.add_item(added)
    for store in facts.modules.item_stores:
        if store.class_name == info.name and dotted_name(store.container) == f"self.{attr}":
            container.add_item(store.value)


def _fix(store: AttributeStore, container_class: str, facts: FileFacts) -> Fix | None:
    """The stored container wrapped in nn.ModuleList / nn.ModuleDict (unsafe: the layers' weights
    join the state_dict under new keys, so checkpoints saved before load only with strict=False)."""
    spelling = torch_nn_spelling(facts.names, facts.module, container_class)
    if spelling is None:
        return None
    name, import_edits = spelling
    wrapped = expression(f"{name}()").with_changes(args=[cst.Arg(store.value)])
    return unsafe_fix(f"wrap the {container_class[6:].lower()} in nn.{container_class}",
                      Replace(store.value, wrapped), *import_edits)


def check(facts: FileFacts) -> Iterator[Report]:
    modules = facts.modules
    for info in modules.classes.values():
        if not modules.looks_like_module(info) or info.registers_submodules:
            continue
        init_methods = info.methods_reached_from("__init__")
        reported: set[str] = set()
        for store in info.stores:
            if store.method not in init_methods or store.attr in reported or isinstance(store.node, cst.AugAssign):
                continue
            container = _Container(facts)
            container.add_expression(store.value)
            if container.kind is None:
                continue
            _added_through_self(facts, info, store.attr, container)
            if not container.stateful or container.wrapped or _passed_to_a_call(facts, info, store.attr):
                continue
            reported.add(store.attr)
            replacement = "nn.ModuleDict" if container.kind == "dict" else "nn.ModuleList"
            yield Report(
                store.node,
                f"self.{store.attr} keeps layers in a plain {container.kind}, which nn.Module does not register: "
                "model.parameters() misses their weights (the optimizer never trains them), state_dict() does not "
                f"save them and .to(device) / .eval() do not reach them; use {replacement}",
                partial(_fix, store, replacement.removeprefix("nn."), facts),
            )


RULE = Rule(
    code="NN104",
    name="unregistered-submodule",
    severity=Severity.ERROR,
    summary="Layers stored in a plain list/dict/tuple attribute instead of nn.ModuleList/ModuleDict.",
    check=check,
    triggers=("torch", "Module"),
    cross_file=False,
    fixes=(Applicability.UNSAFE,),
)
