"""Models whose train and eval modes compute the same thing: built only from layers without
Dropout, BatchNorm or anything else that reads `training`. Only what can be proven counts."""

from __future__ import annotations

from typing import Iterator, Sequence

import libcst as cst

from nnlint.facts import torch_api
from nnlint.facts.dataflow import CallEvent, Dataflow
from nnlint.facts.syntax import block_statements, dotted_name, keyword_arg, source_code
from nnlint.facts.values import Kind

# torch.nn layers that behave differently in train and eval mode.
MODE_DEPENDENT_LAYER_WORDS = ("Dropout", "BatchNorm", "InstanceNorm", "Transformer")
MODE_DEPENDENT_FUNCTION_WORDS = ("dropout", "batch_norm", "instance_norm")
RECURRENT_LAYERS = frozenset({"RNN", "LSTM", "GRU", "MultiheadAttention"})  # mode-dependent with dropout=
CONTAINERS = frozenset({"ModuleList", "ModuleDict"})
MODE_FREE_LIBRARIES = ("torch.", "math.", "numpy.")


class ModeFreeModels:
    def __init__(self, dataflow: Dataflow) -> None:
        self.dataflow = dataflow
        self._classes: dict[str, bool] = {}

    def layer(self, call: cst.Call, qualname: str) -> bool:
        """A torch.nn layer built by `call`, e.g. `nn.Sequential(nn.Linear(4, 4), nn.ReLU())`."""
        last = qualname.rsplit(".", 1)[-1]
        if any(word in last for word in MODE_DEPENDENT_LAYER_WORDS):
            return False
        if last in RECURRENT_LAYERS:
            return keyword_arg(call, "dropout") is None
        if qualname in torch_api.SEQUENTIAL_CLASSES or last in CONTAINERS:
            return all(self._built_mode_free(arg.value) for arg in call.args)
        return True

    def module_class(self, class_name: str) -> bool:
        """A module class of this file built only from mode-free layers and classes."""
        if class_name in self._classes:
            return self._classes[class_name]
        self._classes[class_name] = False  # recursion guard
        info = self.dataflow.class_of(class_name)
        result = info is not None and _closed_and_mode_blind(info.node) and all(
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

    def _call_mode_free(self, event: CallEvent) -> bool:
        qualname = event.qualname
        if qualname is not None:
            if torch_api.is_torch_module_class(qualname) and isinstance(event.node, cst.Call):
                return self.layer(event.node, qualname)
            if any(word in qualname.rsplit(".", 1)[-1] for word in MODE_DEPENDENT_FUNCTION_WORDS):
                return False
            return qualname.startswith(MODE_FREE_LIBRARIES)
        if event.callee.kind is Kind.CLASS:
            return self.module_class(event.callee.class_name)
        return True


def _closed_and_mode_blind(node: cst.ClassDef) -> bool:
    """No `self.training` read (the class switches on the mode itself) and no sub-module handed
    in from outside (`self.net = net`), which could be anything."""
    if ".training" in source_code(node):
        return False
    for statement in block_statements(node.body):
        if isinstance(statement, cst.FunctionDef) and statement.name.value == "__init__":
            params = {p.name.value for p in (*statement.params.params, *statement.params.kwonly_params)}
            for line in _simple_statements(block_statements(statement.body)):
                for small in line.body:
                    if isinstance(small, cst.Assign) and isinstance(small.value, cst.Name) \
                            and small.value.value in params \
                            and any(isinstance(target.target, cst.Attribute) for target in small.targets):
                        return False
    return True


def _simple_statements(body: Sequence[cst.BaseStatement]) -> Iterator[cst.SimpleStatementLine]:
    for statement in body:
        if isinstance(statement, cst.SimpleStatementLine):
            yield statement
        elif isinstance(statement, cst.BaseCompoundStatement):
            yield from _simple_statements(block_statements(statement.body))
