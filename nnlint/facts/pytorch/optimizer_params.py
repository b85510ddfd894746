"""What each optimizer holds: the objects whose `.parameters()` it was built from.

`Adam(model.parameters())` holds `model`; `SGD([{"params": net.head.parameters()}, ...])`,
`Adam(list(enc.parameters()) + list(dec.parameters()))`, `AdamW(itertools.chain(a.parameters(),
b.parameters()))` and `SGD(filter(lambda p: p.requires_grad, model.parameters()))` name each
object; a local name bound once to such an expression is followed. Anything else (a list of
tensors, a helper's result, a comprehension over named_parameters with a condition on the
name) makes the sources unknown: rules then stay silent.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from nnlint.facts.core.dataflow import CallEvent, Dataflow, FunctionInfo
from nnlint.facts.core.defuse import DefUse
from nnlint.facts.pytorch.modes import (MODEL_COPIES, MODEL_FACTORY_PREFIXES, PRETRAINED_LOADERS, WRAPPER_METHODS,
                                WRAPPERS)
from nnlint.facts.core.names import ImportTable
from nnlint.facts.core.syntax import block_statements, dotted_name, positional_args, string_value, walk_statements
from nnlint.facts.core.values import UNKNOWN, Kind

PARAMETER_METHODS = frozenset({"parameters"})
# Calls that pass parameters through: list(...), itertools.chain(...), filter(cond, ...).
PASSING_CALLS = frozenset({"list", "tuple", "itertools.chain", "chain", "filter"})
MAX_FOLLOWED_NAMES = 4


@dataclass(frozen=True)
class OptimizerParams:
    """An optimizer construction and the dotted names (as spelled where it is built) whose
    parameters it holds; `complete` is False when some of what it was given is not understood."""

    construction: cst.Call
    function: cst.FunctionDef | None
    sources: tuple[str, ...]
    complete: bool


class OptimizerParamFacts:
    def __init__(self, dataflow: Dataflow, defuse: DefUse, names: ImportTable) -> None:
        self.dataflow = dataflow
        self.defuse = defuse
        self.names = names
        self._cache: dict[cst.Call, OptimizerParams] = {}

    def constructions(self) -> list[OptimizerParams]:
        """Every optimizer built in the file."""
        built = {event.node: None for event in self.dataflow.calls() if isinstance(event.node, cst.Call)
                 and event.result.kind is Kind.OPTIMIZER and event.result.origin is event.node}
        found = [self.of(node) for node in built]
        return [params for params in found if params is not None]

    def of(self, construction: cst.CSTNode | None) -> OptimizerParams | None:
        """What the optimizer built by this call holds (None if the call builds none)."""
        if not isinstance(construction, cst.Call):
            return None
        if construction not in self._cache:
            event = self.dataflow.call_event(construction)
            if event is None or event.result.kind is not Kind.OPTIMIZER:
                return None
            given = _params_argument(construction)
            sources: list[cst.BaseExpression] = []
            complete = given is not None and self._collect(given, sources, 0)
            names = tuple(dotted_name(node) or "" for node in sources)
            self._cache[construction] = OptimizerParams(construction, event.function.node, names, complete)
        return self._cache[construction]

    def of_step(self, event: CallEvent) -> OptimizerParams | None:
        """What the optimizer stepped by `optimizer.step()` (or `scaler.step(optimizer)`) holds."""
        optimizer = event.receiver
        if optimizer is None or optimizer.kind is not Kind.OPTIMIZER:
            optimizer = event.args[0] if event.args else None
        if optimizer is None or optimizer.kind is not Kind.OPTIMIZER:
            return None
        return self.of(optimizer.origin)

    def new_module(self, expr: cst.BaseExpression) -> str | None:
        """How `expr` makes a module object with parameters of its own, None if it does not:
        a construction (`Net()`, `nn.Linear(...)`, `resnet18()`, `from_pretrained(...)`) or a
        deep copy. Wrappers (`DataParallel(model)`, `torch.compile(model)`) and `.to(device)`
        keep the parameters they are given."""
        if not isinstance(expr, cst.Call):
            return None
        qualname = self.names.qualname(expr.func) or ""
        last = (qualname or dotted_name(expr.func) or "").rsplit(".", 1)[-1]
        if qualname in WRAPPERS or last in WRAPPER_METHODS:
            return None
        if qualname in MODEL_COPIES:
            copied = dotted_name(expr.args[0].value) if expr.args else None
            return f"a deep copy of `{copied}`" if copied else "a deep copy"
        if last in PRETRAINED_LOADERS or (qualname.startswith(MODEL_FACTORY_PREFIXES) and last[:1].islower()):
            return f"a new `{last}`"
        event = self.dataflow.call_event(expr)
        if event is not None and event.result.kind is Kind.MODULE and (
                event.result.origin is expr or event.callee.kind is Kind.CLASS or qualname in self.dataflow.project):
            return f"a new `{last}`"
        return None

    def stepped_in(self, function: cst.FunctionDef | None, step: CallEvent) -> tuple[str, ...] | None:
        """The objects the optimizer stepped by `step` holds, spelled as `function` spells them."""
        held = self.stepped_constructions(function, step)
        if held is None:
            return None
        return tuple(dict.fromkeys(source for _, sources in held for source in sources)) or None

    def stepped_constructions(self, function: cst.FunctionDef | None,
                              step: CallEvent) -> list[tuple[OptimizerParams, tuple[str, ...]]] | None:
        """Each construction of the optimizer that `step` steps, with what it holds spelled as
        `function` spells it: an optimizer built in the function, on `self.` in a method of the
        same class, or passed in by the file's calls of the function (each caller's argument
        mapped to the parameter). None when any of them is not understood."""
        params = self.of_step(step)
        if params is not None:
            if not params.complete:
                return None
            if params.function is function:
                return [(params, params.sources)]
            attributes = as_attributes(params) if self._same_class(params, function) else None
            return [(params, attributes)] if attributes is not None else None
        receiver = (step.receiver_name or "").split(".", 1)[0]
        if function is None or step.receiver is None or step.receiver.kind is Kind.OPTIMIZER:
            return None
        info = self.dataflow.functions.get(function)
        if info is None or receiver not in info.params:
            return None
        found: list[tuple[OptimizerParams, tuple[str, ...]]] = []
        for call in self._calls_of(function):
            mapped = self._passed_optimizer(call, info, receiver)
            if mapped is None:
                return None
            found.append(mapped)
        return found or None

    def _same_class(self, params: OptimizerParams, function: cst.FunctionDef | None) -> bool:
        here = self.dataflow.functions.get(function) if function is not None else None
        there = self.dataflow.functions.get(params.function) if params.function is not None else None
        return here is not None and there is not None and here.class_name is not None \
            and here.class_name == there.class_name and as_attributes(params) is not None

    def _calls_of(self, function: cst.FunctionDef) -> list[CallEvent]:
        nodes = dict.fromkeys(event.node for event in self.dataflow.calls()
                              if event.callee.kind is Kind.FUNCTION and event.callee.origin is function)
        events = (self.dataflow.call_event(node) for node in nodes)
        return [event for event in events if event is not None]

    def _passed_optimizer(self, call: CallEvent, info: FunctionInfo,
                          receiver: str) -> tuple[OptimizerParams, tuple[str, ...]] | None:
        """The optimizer's sources at one call, renamed to the called function's parameters."""
        node = call.node
        if not isinstance(node, cst.Call):
            return None
        names = list(info.params[1:] if info.is_method else info.params)
        positional = list(zip((a for a in node.args if a.keyword is None and not a.star), call.args))
        bound = {name: arg.value for name, (arg, _) in zip(names, positional)}
        values = {name: value for name, (_, value) in zip(names, positional)}
        for arg in node.args:
            if arg.keyword is not None:
                bound[arg.keyword.value] = arg.value
                values[arg.keyword.value] = call.kwargs.get(arg.keyword.value, UNKNOWN)
        optimizer = values.get(receiver, UNKNOWN)
        held = self.of(optimizer.origin) if optimizer.kind is Kind.OPTIMIZER else None
        if held is None or not held.complete or held.function is not call.function.node:
            return None
        renamed: list[str] = []
        for source in held.sources:
            for param, expr in bound.items():
                argument = dotted_name(expr)
                if argument is not None and (source == argument or source.startswith(argument + ".")):
                    renamed.append(param + source[len(argument):])
                    break
        return held, tuple(renamed)

    def _collect(self, expr: cst.BaseExpression, sources: list[cst.BaseExpression], followed: int) -> bool:
        """Add the objects whose parameters `expr` yields; False when some part is not understood."""
        if isinstance(expr, cst.Call):
            func = expr.func
            if isinstance(func, cst.Attribute) and func.attr.value in PARAMETER_METHODS:
                if dotted_name(func.value) is None:
                    return False
                sources.append(func.value)
                return True
            name = self.names.qualname(func) or dotted_name(func) or ""
            if name in PASSING_CALLS:
                args = positional_args(expr)
                if name == "filter":
                    args = args[1:]
                return bool(args) and all(self._collect(arg.value, sources, followed) for arg in args)
            return False
        if isinstance(expr, (cst.List, cst.Tuple)):
            return all(self._collect_element(element, sources, followed) for element in expr.elements)
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Add):
            return self._collect(expr.left, sources, followed) and self._collect(expr.right, sources, followed)
        if isinstance(expr, (cst.ListComp, cst.GeneratorExp)) and expr.for_in.inner_for_in is None:
            target, element = expr.for_in.target, expr.elt
            if isinstance(target, cst.Name) and isinstance(element, cst.Name) and element.value == target.value:
                return self._collect(expr.for_in.iter, sources, followed)
            return False
        if isinstance(expr, cst.Name) and followed < MAX_FOLLOWED_NAMES:
            read = self.defuse.read_of(expr)
            if read is None or len(read.definitions) != 1:
                return False
            (definition,) = read.definitions
            if definition.value is None or not isinstance(definition.node, (cst.Assign, cst.AnnAssign)):
                return False
            return self._collect(definition.value, sources, followed + 1)
        return False

    def _collect_element(self, element: cst.BaseElement, sources: list[cst.BaseExpression], followed: int) -> bool:
        value = element.value
        if isinstance(element, cst.StarredElement):
            return self._collect(value, sources, followed)
        if isinstance(value, cst.Dict):  # a param group
            for item in value.elements:
                if isinstance(item, cst.DictElement) and string_value(item.key) == "params":
                    return self._collect(item.value, sources, followed)
            return False
        return self._collect(value, sources, followed)


def as_attributes(params: OptimizerParams) -> tuple[str, ...] | None:
    """The sources as attributes of `self`, which every method of the class spells alike:
    `self.model`, or `model` where the method that built the optimizer stored `self.net = model`."""
    stored: dict[str, str] = {}
    if params.function is not None:
        for statement in walk_statements(block_statements(params.function.body)):
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    if isinstance(small, cst.Assign) and len(small.targets) == 1:
                        target, value = dotted_name(small.targets[0].target), dotted_name(small.value)
                        if target is not None and value is not None and target.startswith("self."):
                            stored.setdefault(value, target)
    renamed: list[str] = []
    for source in params.sources:
        root, dot, rest = source.partition(".")
        if root == "self":
            renamed.append(source)
        elif root in stored:
            renamed.append(stored[root] + dot + rest)
        else:
            return None
    return tuple(renamed)


def _params_argument(call: cst.Call) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "params":
            return arg.value
    positional = positional_args(call)
    return positional[0].value if positional else None


def related(first: str, second: str) -> bool:
    """Whether two dotted names can denote overlapping parameters: the same object, or one a
    part of the other (`model` and `model.fc`)."""
    return first == second or first.startswith(second + ".") or second.startswith(first + ".")
