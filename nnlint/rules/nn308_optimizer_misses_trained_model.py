"""NN308: the optimizer holds the parameters of another object than the model the loop trains."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import libcst as cst

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.facts.core.dataflow import CallEvent
from nnlint.facts.pytorch.layers import PARAMETER_FREE_LAYERS
from nnlint.facts.pytorch.optimizer_params import OptimizerParams, as_attributes, related
from nnlint.facts.core.syntax import descendants, dotted_name, own_statements
from nnlint.facts.pytorch.torch_api import MODULE_RETURNING_SELF
from nnlint.facts.pytorch.training import Effect
from nnlint.facts.core.values import Kind
from nnlint.rules import Report, Rule
from nnlint.facts.pytorch.semantics import grad_disabled

USING_METHODS = frozenset({"step", "zero_grad"})
CONTAINERS = frozenset({"torch.nn.Sequential", "torch.nn.ModuleList", "torch.nn.ModuleDict"})


@dataclass(frozen=True)
class _Change:
    """A statement that gives `target` a new module, made `how`."""

    target: str
    how: str


@dataclass(frozen=True)
class _Construction:
    """Where an optimizer is built: the statements of its function in source order, the index of
    the one that builds it, and the name it is bound to (`optimizer`, `self.optimizer`)."""

    statements: list[cst.BaseStatement]
    position: int
    binding: str

    @property
    def following(self) -> list[cst.BaseStatement]:
        return self.statements[self.position + 1:]


def check(facts: FileFacts) -> Iterator[Report]:
    constructions = facts.optimizer_params.constructions()
    reported: set[cst.CSTNode] = set()
    for held in constructions:
        if not held.complete or not held.sources:
            continue
        report = _replaced_after(facts, held) or _replaced_from_outside(facts, held) or _trains_a_copy(facts, held)
        if report is not None and report.node not in reported:
            reported.add(report.node)
            yield report
    for held in constructions:
        if any(other is not held and other.function is held.function for other in constructions):
            continue  # one optimizer per part (a GAN's, or per-part learning rates): not one part forgotten
        report = _holds_one_part(facts, held)
        if report is not None and report.node not in reported:
            reported.add(report.node)
            yield report


# -- the model is re-created, or a part of it replaced, after the optimizer was built ---------------

def _replaced_after(facts: FileFacts, held: OptimizerParams) -> Report | None:
    built = _located(facts, held)
    if built is None:
        return None
    for index, statement in enumerate(built.following, start=built.position + 1):
        change = _module_change(facts, statement, held)
        if change is None:
            continue
        if not _used_for_training_after(facts, held, built.statements[index + 1:], built.binding):
            return None
        if any(change.target == source or source.startswith(change.target + ".") for source in held.sources):
            what = (f"`{change.target}` is re-created after it ({change.how}): the model trained from then on is "
                    f"not the one whose parameters `{built.binding}` holds, so its weights never change")
        else:
            what = (f"`{change.target}` is replaced after it ({change.how}): the new layer's parameters are in no "
                    f"optimizer and never train")
        return Report(
            held.construction,
            f"`{built.binding}` is built from `{_sources(held)}`, but {what}; build the optimizer after the model is "
            "final",
        )
    return None


def _located(facts: FileFacts, held: OptimizerParams) -> _Construction | None:
    statements = _statements_of(facts, held.function)
    position = _position_of(statements, held.construction)
    binding = _binding_of(statements[position], held.construction) if position is not None else None
    return _Construction(statements, position, binding) if position is not None and binding is not None else None


def _statements_of(facts: FileFacts, function: cst.FunctionDef | None) -> list[cst.BaseStatement]:
    body = function.body.body if function is not None and isinstance(function.body, cst.IndentedBlock) else (
        facts.module.body if function is None else [])
    return list(own_statements(body))


def _position_of(statements: list[cst.BaseStatement], node: cst.CSTNode) -> int | None:
    for index, statement in enumerate(statements):
        if isinstance(statement, cst.SimpleStatementLine) and any(inner is node for inner in descendants(statement)):
            return index
    return None


def _binding_of(statement: cst.BaseStatement, construction: cst.Call) -> str | None:
    """The name the optimizer is assigned to (`optimizer`, `self.optimizer`)."""
    if not isinstance(statement, cst.SimpleStatementLine):
        return None
    for small in statement.body:
        if isinstance(small, (cst.Assign, cst.AnnAssign)) and small.value is construction:
            target = small.targets[0].target if isinstance(small, cst.Assign) else small.target
            return dotted_name(target)
    return None


def _module_change(facts: FileFacts, statement: cst.BaseStatement, held: OptimizerParams) -> _Change | None:
    """`model = Net()` re-creating a source (or what holds it), `model.fc = nn.Linear(...)`
    replacing a part of one: a module with parameters of its own."""
    if not isinstance(statement, cst.SimpleStatementLine):
        return None
    for small in statement.body:
        if not isinstance(small, cst.Assign) or len(small.targets) != 1:
            continue
        target = small.targets[0].target
        base = target.value if isinstance(target, cst.Subscript) else target
        name = dotted_name(base)
        value = _unwrapped(small.value)
        if name is None or facts.layers.layer_name(value) in PARAMETER_FREE_LAYERS:
            continue
        how = facts.optimizer_params.new_module(value)
        if how is not None and any(related(name, source) for source in held.sources) \
                and not _built_from_the_old(facts, value, held.sources):
            return _Change(name, how)
    return None


def _built_from_the_old(facts: FileFacts, value: cst.BaseExpression, sources: tuple[str, ...]) -> bool:
    """`nn.Sequential(*list(model.children())[:-1])`, `nn.Sequential(nn.Dropout(), model.fc)`: a
    container around the very layers the optimizer holds, plus parameter-free ones: no new
    parameters (a new layer built from an old one's weights has new parameters all the same)."""
    if not isinstance(value, cst.Call) or facts.names.qualname(value.func) not in CONTAINERS:
        return False
    for arg in value.args:
        names = (dotted_name(node) for node in descendants(arg.value) if isinstance(node, (cst.Name, cst.Attribute)))
        holds_old = any(name is not None and related(name, source) for name in names for source in sources)
        if not holds_old and facts.layers.layer_name(arg.value) not in PARAMETER_FREE_LAYERS:
            return False
    return True


def _unwrapped(expr: cst.BaseExpression) -> cst.BaseExpression:
    """`Net().to(device)` builds what `Net()` builds."""
    while isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) \
            and expr.func.attr.value in MODULE_RETURNING_SELF and isinstance(expr.func.value, cst.Call):
        expr = expr.func.value
    return expr


def _used_for_training_after(facts: FileFacts, held: OptimizerParams, statements: list[cst.BaseStatement],
                             binding: str) -> bool:
    """The optimizer, not built again, is stepped or handed to a call in `statements`; for one
    kept on `self`, the class steps it somewhere."""
    for statement in statements:
        if _assigns(statement, binding):
            return False
        for node in descendants(statement):
            if isinstance(node, cst.Call) and (_uses(node, binding) or _steps_global(facts, node, binding)):
                return True
    if binding.startswith("self.") and held.function is not None:
        owner = facts.dataflow.functions.get(held.function)
        for function_node, trace in facts.training.traces():
            info = facts.dataflow.functions.get(function_node) if function_node is not None else None
            if info is not None and owner is not None and info.class_name == owner.class_name and any(
                    action.effect is Effect.STEP and action.target == binding for action in trace):
                return True
    return False


def _steps_global(facts: FileFacts, call: cst.Call, binding: str) -> bool:
    """A call of a function of the file that steps the optimizer by its global name."""
    event = facts.dataflow.call_event(call)
    helper = event.callee.origin if event is not None and event.callee.kind is Kind.FUNCTION else None
    return isinstance(helper, cst.FunctionDef) and any(
        action.effect is Effect.STEP and action.target == binding for action in facts.training.actions_of(helper))


def _assigns(statement: cst.BaseStatement, name: str) -> bool:
    if not isinstance(statement, cst.SimpleStatementLine):
        return False
    return any(isinstance(small, cst.Assign) and any(dotted_name(t.target) == name for t in small.targets)
               for small in statement.body)


def _uses(call: cst.Call, name: str) -> bool:
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value in USING_METHODS and dotted_name(func.value) == name:
        return True
    return any(dotted_name(arg.value) == name for arg in call.args)


def _replaced_from_outside(facts: FileFacts, held: OptimizerParams) -> Report | None:
    """A class builds its optimizer in `__init__` from `self.model`, and code outside sets
    `trainer.model = <a new module>` on an instance before using it."""
    info = facts.dataflow.functions.get(held.function) if held.function is not None else None
    attributes = as_attributes(held)
    built = _located(facts, held)
    if info is None or info.name != "__init__" or info.class_name is None or attributes is None \
            or built is None or not built.binding.startswith("self."):
        return None
    binding = built.binding
    replaced = None if "self" in attributes else {source.split(".")[1] for source in attributes}
    for function in [None, *facts.dataflow.functions]:
        statements = _statements_of(facts, function)
        for index, statement in enumerate(statements):
            change = _instance_change(facts, statement, info.class_name, replaced)
            if change is None:
                continue
            instance = change.target.split(".")[0]
            rebuilt = f"{instance}.{binding.split('.', 1)[1]}"
            later = statements[index + 1:]
            if any(_assigns(other, rebuilt) for other in later) or not _instance_used_after(later, instance):
                continue
            return Report(
                held.construction,
                f"`{binding}` is built here from `{_sources(held)}`, but `{change.target}` is replaced by "
                f"{change.how} on an instance afterwards: the model that trains is not the one this optimizer "
                "holds, so its weights never change; rebuild the optimizer after replacing the model (or load the "
                "weights with load_state_dict)",
            )
    return None


def _instance_change(facts: FileFacts, statement: cst.BaseStatement, class_name: str,
                     attributes: set[str] | None) -> _Change | None:
    """`trainer.model = copy.deepcopy(net)` where `trainer` was built from the class (any
    attribute when `attributes` is None: the optimizer holds all of the instance's parameters)."""
    if not isinstance(statement, cst.SimpleStatementLine):
        return None
    for small in statement.body:
        if not isinstance(small, cst.Assign) or len(small.targets) != 1:
            continue
        target = small.targets[0].target
        if not (isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name)
                and (attributes is None or target.attr.value in attributes)):
            continue
        read = facts.defuse.read_of(target.value)
        built = read is not None and read.definitions and all(
            isinstance(d.value, cst.Call) and _constructs(facts, d.value, class_name) for d in read.definitions)
        how = facts.optimizer_params.new_module(_unwrapped(small.value))
        if built and how is not None:
            return _Change(f"{target.value.value}.{target.attr.value}", how)
    return None


def _constructs(facts: FileFacts, call: cst.Call, class_name: str) -> bool:
    event = facts.dataflow.call_event(call)
    return event is not None and event.callee.class_name == class_name


def _instance_used_after(statements: list[cst.BaseStatement], name: str) -> bool:
    for statement in statements:
        for node in descendants(statement):
            if isinstance(node, cst.Call) and (
                    (isinstance(node.func, cst.Attribute) and dotted_name(node.func.value) == name)
                    or any(dotted_name(arg.value) == name for arg in node.args)):
                return True
    return False


# -- the loop trains a deep copy of what the optimizer holds (or the reverse) ---------------------

def _trains_a_copy(facts: FileFacts, held: OptimizerParams) -> Report | None:
    """The optimizer holds `model` while the training (a loop here, or a helper given the
    optimizer) runs `local`, a deep copy of it (or the reverse)."""
    built = _located(facts, held)
    copies = _copies(facts, built.statements) if built is not None else {}
    if built is None or not copies:
        return None
    binding = built.binding
    trained = _trained_in_loop(facts, held) or _trained_by_helper(facts, held, built.following, binding)
    for name in trained:
        twin = _twin(copies, name, held.sources)
        if twin is not None:
            return Report(
                held.construction,
                f"`{binding}` holds the parameters of `{twin}`, but the training below runs `{name}`, a separate "
                f"object (`{name}` and `{twin}` are deep copies of one another): the model that trains is in no "
                f"optimizer and its weights never change; build the optimizer from `{name}.parameters()`",
            )
    return None


def _trained_in_loop(facts: FileFacts, held: OptimizerParams) -> list[str]:
    """The models a training loop of the optimizer's own function calls, when none of what the
    optimizer holds reaches its loss."""
    trace = facts.training.actions_of(held.function)
    steps = [a for a in trace if a.effect is Effect.STEP and isinstance(a.event, CallEvent)
             and facts.optimizer_params.of_step(a.event) is held]
    backwards = [a for a in trace if a.effect is Effect.BACKWARD and not a.via and isinstance(a.event, CallEvent)]
    if not steps or not backwards or any(a.effect is Effect.BACKWARD and a.via for a in trace):
        return []
    called: list[str] = []
    for backward in backwards:
        tensor = facts.gradient_flow.backpropagated(backward.event)
        provenance = facts.gradient_flow.provenance(tensor) if tensor is not None else None
        if provenance is None or not provenance.complete:
            return []
        if any(related(source.name, name) for source in provenance.sources for name in held.sources):
            return []
        called.extend(source.name for source in provenance.uncut() if source.called)
    return called


def _trained_by_helper(facts: FileFacts, held: OptimizerParams, statements: list[cst.BaseStatement],
                       binding: str) -> list[str]:
    """What a training call after the construction is given along with the optimizer, when it is
    given none of what the optimizer holds."""
    for statement in statements:
        if _assigns(statement, binding):
            return []
        for node in descendants(statement):
            if not isinstance(node, cst.Call) or not any(dotted_name(arg.value) == binding for arg in node.args):
                continue
            passed = [name for name in (dotted_name(arg.value) for arg in node.args) if name is not None]
            if not any(related(name, source) for name in passed for source in held.sources) and _trains(
                    facts, held.function, node):
                return passed
    return []


def _copies(facts: FileFacts, statements: list[cst.BaseStatement]) -> dict[str, str]:
    """Name -> the name it is a deep copy of, in this function."""
    found: dict[str, str] = {}
    for statement in statements:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Assign) and len(small.targets) == 1:
                target = dotted_name(small.targets[0].target)
                value = _unwrapped(small.value)
                how = facts.optimizer_params.new_module(value)
                if target is not None and how is not None and how.startswith("a deep copy of") and isinstance(
                        value, cst.Call) and value.args:
                    original = dotted_name(value.args[0].value)
                    if original is not None:
                        found[target] = original
    return found


def _twin(copies: dict[str, str], name: str, sources: tuple[str, ...]) -> str | None:
    for source in sources:
        if copies.get(name) == source or copies.get(source) == name:
            return source
    return None


def _trains(facts: FileFacts, function: cst.FunctionDef | None, call: cst.Call) -> bool:
    """The call runs backward() and an optimizer step (a training helper of the project)."""
    effects = {action.effect for action in facts.training.actions_of(function) if call in action.via
               or action.node is call}
    return Effect.BACKWARD in effects and (Effect.STEP in effects or Effect.MAYBE_STEP in effects)


# -- the optimizer holds one part of a model that trains whole -----------------------------------

def _holds_one_part(facts: FileFacts, held: OptimizerParams) -> Report | None:
    """`SGD(model.fc.parameters())` while the loop trains all of `model`, nothing is frozen and
    no other optimizer exists."""
    if not held.complete or facts.gradient_flow.freezes_parameters:
        return None
    for function_node, trace in facts.training.traces():
        backwards = [a for a in trace if a.effect is Effect.BACKWARD and not a.via and isinstance(a.event, CallEvent)]
        for step in (a for a in trace if a.effect is Effect.STEP and isinstance(a.event, CallEvent)):
            stepped = facts.optimizer_params.stepped_constructions(function_node, step.event)
            for params, sources in stepped or ():
                if params is not held or not sources:
                    continue
                whole = _whole_of(sources)
                run = _whole_run(facts, whole, backwards) if whole is not None else None
                left_out = _parts_left_out(facts, whole, sources, run) if run is not None else None
                if left_out is None:
                    continue
                return Report(
                    held.construction,
                    f"the optimizer holds only `{_sources(held)}`, but the training loop runs all of `{whole}`, whose "
                    f"other layers{left_out} are neither frozen nor in another optimizer: they get gradients that "
                    f"nothing applies and keep their initial weights; pass `{whole}.parameters()` (param groups "
                    "for different learning rates), or freeze the rest with requires_grad_(False)",
                )
    return None


def _whole_of(sources: tuple[str, ...]) -> str | None:
    """The one object all sources are attributes of (`model` for `model.fc` and `model.layer4`)."""
    owners = {source.rsplit(".", 1)[0] for source in sources if "." in source}
    if len(owners) != 1 or any("." not in source for source in sources):
        return None
    (owner,) = owners
    return None if owner in ("self", "cls") else owner


def _whole_run(facts: FileFacts, whole: str, backwards: list) -> CallEvent | None:
    """The call of the whole model a backpropagated loss comes from, uncut and with gradients on."""
    for backward in backwards:
        tensor = facts.gradient_flow.backpropagated(backward.event)
        if tensor is None:
            continue
        for source in facts.gradient_flow.provenance(tensor).uncut():
            event = facts.dataflow.call_event(source.node)
            if source.called and event is not None and not grad_disabled(event) and (
                    source.name == whole or whole.startswith(source.name + ".")):
                return event
    return None


def _parts_left_out(facts: FileFacts, whole: str, sources: tuple[str, ...], run: CallEvent) -> str | None:
    """Which parts of the model that hold parameters are in none of the sources (' (`fc`)'), ''
    when not known, None when nothing is left out. For a model class of this file its parts are
    known; for another, one part alone given to the optimizer is taken as the rest forgotten."""
    class_name = run.callee.class_name if run.callee.kind is Kind.MODULE else ""
    parts = facts.layers.parameterized_attributes(class_name) if class_name else None
    if parts is None:
        return "" if len(sources) == 1 else None
    missing = sorted(parts - {source[len(whole) + 1:] for source in sources})
    return f" ({', '.join(f'`{part}`' for part in missing)})" if missing else None


def _sources(held: OptimizerParams) -> str:
    return ", ".join(f"{source}.parameters()" for source in held.sources)


RULE = Rule(
    code="NN308",
    name="optimizer-misses-trained-model",
    severity=Severity.ERROR,
    summary="The optimizer holds the parameters of another object than the model the loop trains.",
    check=check,
    triggers=("optim",),
)
