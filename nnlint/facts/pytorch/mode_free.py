"""Models whose train and eval modes compute the same thing: built only from layers without
Dropout, BatchNorm or anything else that reads `training`. Only what can be proven counts."""

from __future__ import annotations

from typing import Iterator, Sequence

import libcst as cst

from nnlint.facts.pytorch import torch_api
from nnlint.facts.core.dataflow import CallEvent, ClassInfo, Dataflow
from nnlint.facts.core.syntax import block_statements, dotted_name, keyword_arg, source_code
from nnlint.facts.core.values import Kind

# torch.nn layers that behave differently in train and eval mode.
MODE_DEPENDENT_LAYER_WORDS = ("Dropout", "BatchNorm", "Transformer")
MODE_DEPENDENT_FUNCTION_WORDS = ("dropout", "batch_norm", "instance_norm")
RECURRENT_LAYERS = frozenset({"RNN", "LSTM", "GRU", "MultiheadAttention"})  # mode-dependent with dropout=
CONTAINERS = frozenset({"ModuleList", "ModuleDict"})
MODE_FREE_LIBRARIES = ("torch.", "math.", "numpy.")


class ModeFreeModels:
    def __init__(self, dataflow: Dataflow) -> None:
        self.dataflow = dataflow
        self._classes: dict[str, bool] = {}
        self._functions: dict[cst.FunctionDef, bool] = {}

    def layer(self, call: cst.Call, qualname: str) -> bool:
        """A torch.nn layer built by `call`, e.g. `nn.Sequential(nn.Linear(4, 4), nn.ReLU())`."""
        last = qualname.rsplit(".", 1)[-1]
        if any(word in last for word in MODE_DEPENDENT_LAYER_WORDS):
            return False
        if last in RECURRENT_LAYERS:
            return keyword_arg(call, "dropout") is None
        if "InstanceNorm" in last:  # normalises each sample by its own statistics unless told to track them
            tracking = keyword_arg(call, "track_running_stats")
            return tracking is None or (isinstance(tracking.value, cst.Name) and tracking.value.value == "False")
        if qualname in torch_api.SEQUENTIAL_CLASSES or last in CONTAINERS:
            return all(self._built_mode_free(arg.value) for arg in call.args)
        return True

    def module_class(self, class_name: str) -> bool:
        """A module class of this file built only from mode-free layers and classes."""
        if class_name in self._classes:
            return self._classes[class_name]
        self._classes[class_name] = False  # recursion guard
        info = self.dataflow.class_of(class_name)
        result = info is not None and _closed_and_mode_blind(info, self.dataflow) and all(
            base in torch_api.MODULE_BASES or (base in self.dataflow.classes and self.module_class(base))
            for base in info.bases)
        if result and info is not None:
            result = all(self._call_mode_free(event) for method in info.methods.values()
                         for event in self.dataflow.function_events.get(method, []) if isinstance(event, CallEvent))
        self._classes[class_name] = result
        return result

    def _built_mode_free(self, expr: cst.BaseExpression) -> bool:
        if isinstance(expr, (cst.List, cst.Tuple)):
            return all(self._built_mode_free(element.value) for element in expr.elements)
        if not isinstance(expr, cst.Call):
            return False
        qualname = self.dataflow.names.qualname(expr.func)
        if qualname is not None:
            return torch_api.is_torch_module_class(qualname) and self.layer(expr, qualname)
        name = dotted_name(expr.func)
        return name in self.dataflow.classes and self.module_class(name)

    def attribute(self, class_name: str, attribute: str) -> bool:
        """`model.encoder` where the model's class sets `self.encoder` to a mode-free module."""
        info = self.dataflow.class_of(class_name)
        value = info.attrs.get(attribute) if info is not None else None
        return value is not None and value.kind is Kind.MODULE and bool(value.class_name) \
            and self.module_class(value.class_name)

    def _call_mode_free(self, event: CallEvent) -> bool:
        qualname = event.qualname
        if qualname is not None:
            if torch_api.is_torch_module_class(qualname) and isinstance(event.node, cst.Call):
                last = qualname.rsplit(".", 1)[-1]
                # What a container holds is built by calls of its own, checked one by one.
                return True if qualname in torch_api.SEQUENTIAL_CLASSES or last in CONTAINERS \
                    else self.layer(event.node, qualname)
            if any(word in qualname.rsplit(".", 1)[-1] for word in MODE_DEPENDENT_FUNCTION_WORDS):
                return False
            return qualname.startswith(MODE_FREE_LIBRARIES)
        if event.callee.kind is Kind.CLASS:
            return self.module_class(event.callee.class_name)
        if event.callee.kind is Kind.FUNCTION and isinstance(event.callee.origin, cst.FunctionDef):
            return self._function_mode_free(event.callee.origin)
        return True

    def _function_mode_free(self, function: cst.FunctionDef) -> bool:
        """A helper that builds layers for a module (`make_block(...)`): every layer it builds is mode-free."""
        if function in self._functions:
            return self._functions[function]
        self._functions[function] = False  # recursion guard
        result = all(self._call_mode_free(event) for event in self.dataflow.function_events.get(function, [])
                     if isinstance(event, CallEvent))
        self._functions[function] = result
        return result


def _closed_and_mode_blind(info: ClassInfo, dataflow: Dataflow) -> bool:
    """No `self.training` read (the class switches on the mode itself) and no sub-module handed
    in from outside (`self.net = net`, then `self.net(x)`), which could be anything."""
    if ".training" in source_code(info.node):
        return False
    handed_in = {f"self.{name}" for name in _attributes_set_from_parameters(info)}
    return not handed_in or not any(
        isinstance(event, CallEvent) and isinstance(event.node, cst.Call) and dotted_name(event.node.func) in handed_in
        for method in info.methods.values() for event in dataflow.function_events.get(method, []))


def _attributes_set_from_parameters(info: ClassInfo) -> Iterator[str]:
    init = info.methods.get("__init__")
    if init is None:
        return
    params = {p.name.value for p in (*init.params.params, *init.params.kwonly_params)}
    for line in _simple_statements(block_statements(init.body)):
        for small in line.body:
            if isinstance(small, cst.Assign) and isinstance(small.value, cst.Name) and small.value.value in params:
                for target in small.targets:
                    if isinstance(target.target, cst.Attribute):
                        yield target.target.attr.value


def _simple_statements(body: Sequence[cst.BaseStatement]) -> Iterator[cst.SimpleStatementLine]:
    for statement in body:
        if isinstance(statement, cst.SimpleStatementLine):
            yield statement
        elif isinstance(statement, cst.BaseCompoundStatement):
            yield from _simple_statements(block_statements(statement.body))
