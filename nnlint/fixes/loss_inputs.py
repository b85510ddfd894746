"""Fixes shared by the rules on what reaches a loss (NN201, NN202, NN203): drop an activation
the loss applies itself, remove a model's last activation layer, give the loss what it expects."""

from __future__ import annotations

from typing import Collection

import libcst as cst

from nnlint.facts import FileFacts
from nnlint.facts.pytorch.loss_inputs import LossInput
from nnlint.facts.core.syntax import descendants, keyword_arg, positional_args, walk_statements
from nnlint.fixes import Fix, Remove, Replace, safe_fix, unsafe_fix
from nnlint.fixes.build import hoisted, without_argument

SEQUENTIAL = "torch.nn.Sequential"


def loss_input(call: cst.CSTNode) -> cst.BaseExpression | None:
    """The expression a loss call receives as its input (first argument, or `input=`)."""
    if not isinstance(call, cst.Call):
        return None
    given = keyword_arg(call, "input")
    if given is not None:
        return given.value
    positional = positional_args(call)
    return positional[0].value if positional else None


def activation_input(activation: cst.CSTNode, functions: Collection[str], method: str,
                     facts: FileFacts) -> cst.BaseExpression | None:
    """`z` in `F.softmax(z, dim)`, `torch.sigmoid(z)` or `z.softmax(dim)`; None for another call."""
    if not isinstance(activation, cst.Call) or any(arg.star for arg in activation.args):
        return None
    func = activation.func
    if facts.names.qualname(func) in functions:
        return loss_input(activation)
    if isinstance(func, cst.Attribute) and func.attr.value == method and facts.names.qualname(func) is None:
        return func.value
    return None


def dropped_activation(activation: cst.CSTNode, argument: cst.BaseExpression | None, function: cst.FunctionDef | None,
                       loss_arguments: Collection[cst.CSTNode], functions: Collection[str], method: str,
                       facts: FileFacts, what: str) -> Fix | None:
    """The activation replaced by its own input: safe where the loss input is its only use
    (written right in the loss call, or bound to a name read nowhere but in loss inputs of this
    kind), unsafe where it is computed elsewhere or handed to the loss through a helper
    (`argument` None), which may read it for more than the loss."""
    inner = activation_input(activation, functions, method, facts)
    if inner is None:
        return None
    edit = Replace(activation, hoisted(inner, activation))
    if only_read_by_losses(activation, argument, function, loss_arguments):
        return safe_fix(f"drop the {what}: pass the raw scores", edit)
    # Computed elsewhere (a helper, a model's forward): other code may read the activation too.
    return unsafe_fix(f"drop the {what} where it is computed", edit)


def only_read_by_losses(value: cst.CSTNode, argument: cst.BaseExpression | None, function: cst.FunctionDef | None,
                        loss_arguments: Collection[cst.CSTNode]) -> bool:
    """The value reaches nothing but loss inputs: it is written in the loss call, or bound to a
    name of the loss's function that is read nowhere else."""
    if argument is None:
        return False
    return argument is value or _read_only_in(_bound_name(value, function), function, loss_arguments)


def entry_argument(entry: LossInput) -> cst.BaseExpression | None:
    """The expression a loss receives as its input, where the finding is at the loss call (None
    where the value reaches the loss through a helper)."""
    return loss_input(entry.node) if entry.helper is None else None


def entry_function(entry: LossInput, facts: FileFacts) -> cst.FunctionDef | None:
    """The function the finding's call is in."""
    line = facts.statements.line_of(entry.node)
    return facts.statements.function_of(line) if line is not None else None


def _read_only_in(name: str | None, function: cst.FunctionDef | None, loss_arguments: Collection[cst.CSTNode]) -> bool:
    """`name` is read in `function`, and only inside loss inputs."""
    if name is None or function is None:
        return False
    reads = [node for node in descendants(function) if isinstance(node, cst.Name) and node.value == name][1:]
    inside = {node for argument_node in loss_arguments for node in descendants(argument_node)}
    return bool(reads) and all(read in inside for read in reads)


def _bound_name(value: cst.CSTNode, function: cst.FunctionDef | None) -> str | None:
    """`p` where `p = value` is a statement of `function`, as the first occurrence of `p` there."""
    if function is None:
        return None
    for node in descendants(function):
        if isinstance(node, cst.Assign) and node.value is value and len(node.targets) == 1 and \
                isinstance(node.targets[0].target, cst.Name):
            name = node.targets[0].target.value
            first = next(inner for inner in descendants(function)
                         if isinstance(inner, cst.Name) and inner.value == name)
            return name if first is node.targets[0].target else None
    return None


def removed_last_layer(layer: cst.CSTNode, facts: FileFacts, what: str) -> Fix | None:
    """A model's last activation layer removed (unsafe: code that calls the model for
    predictions gets scores instead of probabilities): the last item of an `nn.Sequential`, or
    a layer stored on `self` and applied once, to what the model returns."""
    for site in facts.modules.calls:
        if site.qualname == SEQUENTIAL and len(site.node.args) > 1 and site.node.args[-1].value is layer:
            return unsafe_fix(f"remove the model's last {what} layer",
                              Replace(site.node, without_argument(site.node, site.node.args[-1])))
    for info in facts.modules.classes.values():
        for store in info.stores:
            if store.value is layer:
                return _removed_attribute_layer(info.node, store.attr, store.node, what)
    return None


def _removed_attribute_layer(owner: cst.ClassDef, attr: str, store: cst.CSTNode, what: str) -> Fix | None:
    uses = [node for node in descendants(owner) if isinstance(node, cst.Attribute) and node.attr.value == attr]
    calls = [node for node in descendants(owner) if isinstance(node, cst.Call) and node.func in uses
             and len(node.args) == 1 and not node.args[0].star]
    statement = next((line for line in walk_statements(owner.body.body)
                      if isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1
                      and line.body[0] is store), None)
    if len(uses) != 2 or len(calls) != 1 or statement is None:  # stored once, applied once, nothing else
        return None
    call = calls[0]
    return unsafe_fix(f"remove the model's last {what} layer", Remove(statement),
                      Replace(call, hoisted(call.args[0].value, call)))


def renamed_function_or_layer(node: cst.CSTNode, names: dict[str, str], facts: FileFacts) -> cst.Call | None:
    """The call with its function or class renamed after `names` (qualname -> new last name)."""
    if not isinstance(node, cst.Call) or not isinstance(node.func, cst.Attribute):
        return None
    new_name = names.get(facts.names.qualname(node.func) or "")
    if new_name is None:
        return None
    return node.with_changes(func=node.func.with_changes(attr=cst.Name(new_name)))
