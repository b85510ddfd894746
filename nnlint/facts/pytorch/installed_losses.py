"""Losses a class lets its user install: a setter (or `__init__`) stores its parameter in an
attribute that another method calls as a loss on predictions the class makes
(`model.add_loss_op(nn.NLLLoss())`, then `self.loss_op(self(x), y)` in `run_epoch()`).

Summarized for other files: there, the call that installs a loss unfit for those predictions is
where the bug enters, and it is reported there with the method's line."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from nnlint.facts.core.dataflow import Dataflow
from nnlint.facts.core.syntax import block_statements, dotted_name
from nnlint.facts.core.values import Kind

# Kinds worth carrying: what a model's head gives.
PREDICTION_KINDS = frozenset({Kind.PROBS, Kind.LOG_PROBS, Kind.SIGMOID_PROBS, Kind.LOGITS, Kind.ACTIVATED})

# (setter method, its parameter, the parameter's position after self, the attribute, the kind of the
# predictions the attribute is called with, their producer, the method that calls it, the call).
InstalledLoss = tuple[str, str, int, str, str, str, str, cst.Call]


def _stored_parameters(dataflow: Dataflow, class_name: str) -> Iterator[tuple[str, str, int, str]]:
    """(method, parameter, position after self, attribute) for `self.attr = param` at a method's top level."""
    info = dataflow.classes[class_name]
    for method, node in info.methods.items():
        function = dataflow.functions.get(node)
        if function is None or len(function.params) < 2:
            continue
        receiver, params = function.params[0], function.params[1:]
        for statement in block_statements(node.body):
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if isinstance(small, cst.Assign) and len(small.targets) == 1 \
                        and isinstance(small.value, cst.Name) and small.value.value in params:
                    target = dotted_name(small.targets[0].target)
                    if target is not None and target.startswith(receiver + ".") and target.count(".") == 1:
                        yield method, small.value.value, params.index(small.value.value), target.split(".", 1)[1]


def installed_losses(dataflow: Dataflow) -> dict[str, tuple[InstalledLoss, ...]]:
    """For each class of the file, the losses its user installs through a parameter."""
    calls: dict[tuple[str, str], tuple[str, str, str, cst.Call]] = {}
    for event in dataflow.calls():
        function = event.function
        if event.specialized or function.class_name is None or not function.params \
                or event.callee.kind not in (Kind.UNKNOWN, Kind.NONE) or not isinstance(event.node, cst.Call):
            continue
        called = dotted_name(event.node.func)
        receiver = function.params[0]
        if called is None or not called.startswith(receiver + ".") or called.count(".") != 1:
            continue
        predictions = event.arg(0, "input")
        if predictions.kind in PREDICTION_KINDS:
            calls.setdefault((function.class_name, called.split(".", 1)[1]),
                             (predictions.kind.value, predictions.producer, function.name, event.node))
    found: dict[str, tuple[InstalledLoss, ...]] = {}
    for class_name in {class_name for class_name, _ in calls}:
        found[class_name] = tuple(sorted(
            ((method, param, position, attribute, *calls[class_name, attribute])
             for method, param, position, attribute in _stored_parameters(dataflow, class_name)
             if (class_name, attribute) in calls), key=lambda loss: loss[:7]))
    return {name: losses for name, losses in found.items() if losses}
